// Node's TracingChannel.prototype.hasSubscribers where the runtime lacks it (Bun 1.4).
//
// ioredis 6 traces each command, and pino each log line, unless the channel reports
// `hasSubscribers === false`; without the property ioredis traced every command with nobody
// listening, turning each argument into a string (an EVALSHA's packed claims, a cached answer's
// bytes) and wrapping each promise. Node's definition: a tracing channel has subscribers when any
// of its five channels has one. Imported for its effect by the modules that make those clients
// (redis/client.ts, log.ts), so it is in place before either is used.

import dc from 'node:diagnostics_channel';

const proto: object = Object.getPrototypeOf(dc.tracingChannel('sluice:probe'));
if (!('hasSubscribers' in proto)) {
  Object.defineProperty(proto, 'hasSubscribers', {
    configurable: true,
    get(this: Partial<Record<'start' | 'end' | 'asyncStart' | 'asyncEnd' | 'error', dc.Channel>>) {
      return (
        this.start?.hasSubscribers === true ||
        this.end?.hasSubscribers === true ||
        this.asyncStart?.hasSubscribers === true ||
        this.asyncEnd?.hasSubscribers === true ||
        this.error?.hasSubscribers === true
      );
    },
  });
}
