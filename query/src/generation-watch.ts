// Pushed invalidation of the generation counters (Redis server-assisted client-side caching, the
// two-connection mode): a tracking connection asks Redis to broadcast every change of a key under
// the generations' prefix to a subscriber connection's `__redis__:invalidate` channel. While both
// connections are up and tracking is on, the watch is *armed*: an in-process answer whose
// generations were read while armed stays right until an invalidation names one of its keys, so a
// hit needs no Redis read at all.
//
// Guarantee 3 keeps holding when anything fails: any close, error or unanswered ping of either
// connection disarms the watch (and says so to the listeners), and every arming starts a new epoch,
// so what was checked under an earlier one is checked against Redis again. A connection that dies
// without a word is caught by the ping: Redis itself does not tell the subscriber when the tracking
// connection is gone.

import type { Redis } from 'ioredis';

export const INVALIDATION_CHANNEL = '__redis__:invalidate';

export interface GenerationWatch {
  /** The current epoch while armed; undefined while not (then every hit is read from Redis). */
  armedEpoch(): number | undefined;
  /** `key` changed; null: anything may have (a flush, or the watch disarmed). */
  onInvalidate(listener: (key: string | null) => void): void;
  close(): Promise<void>;
}

export interface WatchOptions {
  /** Key prefix whose changes are pushed (the generation counters'). */
  readonly prefix: string;
  /** How often both connections are pinged; one unanswered within this long disarms. */
  readonly pingIntervalMs: number;
  readonly log?: (message: string) => void;
  /** CLIENT SETNAME of both connections (CLIENT LIST shows whose they are). */
  readonly connectionName?: string;
}

// A single Redis only: tracking is per server (query/src/main.ts does not watch a cluster).
export function watchGenerations(redis: Redis, options: WatchOptions): GenerationWatch {
  const listeners: ((key: string | null) => void)[] = [];
  let epoch = 0;
  let armed = false;
  let closed = false;
  const connectionName = options.connectionName ?? 'sluice-query-generation-watch';
  // RESP2 on the subscriber: Redis then sends invalidations as messages on the channel, which
  // ioredis passes on (as RESP3 pushes of type `invalidate` it would drop them).
  const subscriber = redis.duplicate({
    autoResubscribe: false,
    enableOfflineQueue: false,
    connectionName,
    protocol: 2,
  });
  const tracker = redis.duplicate({ enableOfflineQueue: false, connectionName });

  const emit = (key: string | null) => {
    for (const listener of listeners) listener(key);
  };
  /** Connection troubles so far: an arming that saw one happen meanwhile does not arm. */
  let breaks = 0;
  const disarm = (why: string) => {
    breaks += 1;
    if (!armed) return;
    armed = false;
    epoch += 1;
    options.log?.(`generation watch disarmed: ${why}`);
    emit(null);
  };

  /** The subscriber connection's id once it is subscribed; a new connection has another. */
  let subscriberId: string | undefined;
  let arming = false;
  const arm = () => {
    if (arming || armed || closed) return;
    arming = true;
    const before = breaks;
    void (async () => {
      try {
        if (subscriber.status !== 'ready' || tracker.status !== 'ready') return;
        // The subscriber's id first: once subscribed, a RESP2 connection takes no other command.
        if (subscriberId === undefined) {
          const id = String(await subscriber.client('ID'));
          await subscriber.subscribe(INVALIDATION_CHANNEL);
          subscriberId = id;
        }
        const id = subscriberId;
        await tracker.call('CLIENT', 'TRACKING', 'OFF');
        await tracker.call('CLIENT', 'TRACKING', 'ON', 'REDIRECT', id, 'BCAST', 'PREFIX', options.prefix);
        if (breaks !== before || closed) return;
        epoch += 1;
        armed = true;
      } catch (error) {
        disarm(error instanceof Error ? error.message : String(error));
      } finally {
        arming = false;
      }
    })();
  };

  subscriber.on('messageBuffer', (channel: Buffer, message: unknown) => {
    if (channel.toString() !== INVALIDATION_CHANNEL) return;
    // RESP2 carries the changed keys as an array; null means every key (FLUSHALL, FLUSHDB): a new
    // epoch then, so every answer is read against Redis again.
    if (Array.isArray(message)) for (const key of message) emit(String(key));
    else {
      epoch += 1;
      emit(null);
    }
  });
  for (const [name, connection] of [
    ['subscriber', subscriber],
    ['tracker', tracker],
  ] as const) {
    connection.on('close', () => disarm(`${name} connection closed`));
    connection.on('error', (error: Error) => disarm(`${name}: ${error.message}`));
    // A reconnected subscriber has a new id and no subscription, a reconnected tracker no
    // tracking: arm again from scratch.
    connection.on('ready', () => {
      if (name === 'subscriber') subscriberId = undefined;
      arm();
    });
  }

  const pinger = setInterval(() => {
    if (!armed) return arm();
    const timeout = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error('ping unanswered')), options.pingIntervalMs).unref(),
    );
    Promise.race([Promise.all([subscriber.ping(), tracker.ping()]), timeout]).catch((error: unknown) => {
      disarm(error instanceof Error ? error.message : String(error));
      // A connection that does not answer is dropped; ioredis reconnects it, and 'ready' re-arms.
      subscriber.disconnect(true);
      tracker.disconnect(true);
    });
  }, options.pingIntervalMs);
  pinger.unref();

  return {
    armedEpoch: () => (armed ? epoch : undefined),
    onInvalidate(listener) {
      listeners.push(listener);
    },
    async close() {
      closed = true;
      clearInterval(pinger);
      disarm('closing');
      subscriber.disconnect();
      tracker.disconnect();
    },
  };
}
