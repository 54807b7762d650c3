// A producer that replaces its client after a fatal error. An idempotent librdkafka producer that
// hits a fatal error (its sequence can no longer be kept gapless, say) refuses every send from
// then on; without a new client, ingest would answer 503 until someone restarted it, while its
// health check still said ok. Here the broken client is closed and a new one (a new producer id)
// is connected in the background, with capped backoff while Kafka is away.

import type { AppError, Result } from '../result.ts';
import { appError, fail } from '../result.ts';
import type { ProducerOptions } from './options.ts';
import type { KafkaProducer } from './port.ts';

/** A client that can tell it is broken for good (a fatal error): only a new client can send. */
export interface BreakableProducer extends KafkaProducer {
  readonly fatal: boolean;
}

/** A producer that replaces broken clients; `replacing` while no client can send. */
export interface RenewingProducer extends KafkaProducer {
  readonly replacing: boolean;
}

export interface RenewingOptions {
  /** Backoff between failed attempts to connect a new client: doubled from the first, to the cap. */
  readonly retryMs: { readonly first: number; readonly cap: number };
  readonly log?: (level: 'info' | 'warn', message: string) => void;
  /** Called each time a new client replaced a broken one (a metric counts it). */
  readonly onRenewed?: () => void;
  /** Waits `ms`, or until `signal` aborts (close): a closed producer leaves no timer behind. */
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

const defaultSleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });

function renewing(): AppError {
  // Guarantee 1: nothing is acked while no client can send; the client retries the request.
  return appError('unavailable', 'kafka producer is being replaced after a fatal error', {
    retryable: true,
    retryAfterSeconds: 1,
  });
}

/** A producer over `create`'s clients: the first is connected before this resolves. */
export async function renewingProducer(
  create: () => Promise<BreakableProducer>,
  options: RenewingOptions,
): Promise<RenewingProducer> {
  const sleep = options.sleep ?? defaultSleep;
  let current: BreakableProducer | undefined = await create();
  let renewal: Promise<void> | undefined;
  let unproven = 0;
  let closed = false;
  // Shutdown cuts a backoff wait short instead of waiting it out (and clears its timer).
  const shutdown = new AbortController();
  const closedSignal = new Promise<void>((resolve) =>
    shutdown.signal.addEventListener('abort', () => resolve(), { once: true }),
  );
  const retiring = new Set<Promise<void>>();

  function retire(broken: BreakableProducer): void {
    // Its queued records already failed (a fatal error fails them all); close it without waiting.
    const closing = broken.close().catch(() => undefined);
    retiring.add(closing);
    void closing.then(() => retiring.delete(closing));
  }

  function renew(broken: BreakableProducer): void {
    // Only the current client is replaced, once: while a renewal runs there is no current client.
    if (current !== broken) return;
    current = undefined;
    retire(broken);
    options.log?.('warn', 'kafka producer hit a fatal error; connecting a new one');
    // A client that breaks again before it ever sent is not replaced in a tight loop: renewals
    // since the last successful send count as failed attempts, each waited for.
    const first = unproven++;
    const run = (async () => {
      for (let attempt = first; !closed; attempt++) {
        if (attempt > 0) {
          const wait = Math.min(options.retryMs.cap, options.retryMs.first * 2 ** (attempt - 1));
          // An injected sleep may not heed the signal: close still cuts the wait short.
          await Promise.race([sleep(wait, shutdown.signal), closedSignal]);
          if (closed) return;
        }
        try {
          const fresh = await create();
          if (closed) {
            retire(fresh);
            return;
          }
          current = fresh;
          options.log?.('info', 'a new kafka producer replaced the broken one');
          options.onRenewed?.();
          return;
        } catch (error) {
          options.log?.('warn', `no new kafka producer yet (${String(error)}); retrying`);
        }
      }
    })();
    renewal = run;
    void run.finally(() => {
      if (renewal === run) renewal = undefined;
    });
  }

  return {
    get replacing() {
      return !closed && (current === undefined || current.fatal);
    },
    async send(records): Promise<Result<void, AppError>> {
      const client = current;
      if (client === undefined) return fail(renewing());
      if (client.fatal) {
        renew(client);
        return fail(renewing());
      }
      const sent = await client.send(records);
      if (sent.ok) unproven = 0;
      // The records of a send that failed on a broken client are not acked: 503, and a retry goes
      // to the new client (ids make it idempotent downstream).
      if (!sent.ok && client.fatal) renew(client);
      return sent;
    },
    async close() {
      closed = true;
      shutdown.abort();
      await renewal;
      const client = current;
      current = undefined;
      await Promise.all([client?.close(), ...retiring]);
    },
  };
}

/**
 * The renewing producer each Kafka adapter builds over its clients: backoff 0.5 s doubling to 10 s,
 * notices in the adapter's log sink, renewals reported to the service.
 */
export function renewingKafkaProducer(
  create: () => Promise<BreakableProducer>,
  options: Pick<ProducerOptions, 'log' | 'onRenewed'>,
): Promise<RenewingProducer> {
  return renewingProducer(create, {
    retryMs: { first: 500, cap: 10_000 },
    log: (level, message) => options.log?.(level === 'info' ? 'warn' : level, message, {}),
    ...(options.onRenewed === undefined ? {} : { onRenewed: options.onRenewed }),
  });
}
