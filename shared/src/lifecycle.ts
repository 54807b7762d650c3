// Graceful drain on SIGTERM/SIGINT (guarantee 6): the stop function runs once, however many
// signals arrive; a second signal while draining does not start a second drain.

export type Stop = () => Promise<void>;

export interface ShutdownOptions {
  readonly log: (message: string, fields?: Record<string, unknown>) => void;
  /** Past this the process exits anyway, so a stuck dependency cannot keep it alive forever. */
  readonly timeoutMs?: number;
}

/**
 * Ends a process whose drain did not finish. Not process.exit: it joins libuv's thread pool, and a
 * native call stuck there (librdkafka closing a consumer whose broker or rebalance never answers)
 * would keep the process alive forever. What was durable stays durable; the rest is redelivered.
 */
function killSelf(): void {
  process.kill(process.pid, 'SIGKILL');
}

export function onShutdown(stop: Stop, options: ShutdownOptions): void {
  let draining = false;
  const handle = (signal: NodeJS.Signals) => {
    if (draining) return;
    draining = true;
    options.log('draining', { signal });
    const timer = setTimeout(() => {
      options.log('drain timed out; exiting', { timeoutMs: options.timeoutMs ?? 30_000 });
      killSelf();
    }, options.timeoutMs ?? 30_000);
    timer.unref();
    stop().then(
      () => {
        options.log('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        options.log('stop failed', {
          error: error instanceof Error ? error.message : String(error),
          // closeAll's failures, each named: which close failed, not only how many.
          ...(error instanceof AggregateError
            ? {
                causes: error.errors.map((cause) => (cause instanceof Error ? cause.message : String(cause))),
              }
            : {}),
        });
        killSelf();
      },
    );
  };
  process.on('SIGTERM', handle);
  process.on('SIGINT', handle);
}

/** Runs every close even when one fails (STYLE #10: Promise.allSettled), then reports failures. */
export async function closeAll(closers: readonly (() => Promise<unknown>)[]): Promise<void> {
  const results = await Promise.allSettled(closers.map((close) => close()));
  const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failures.length > 0) {
    throw new AggregateError(
      failures.map((f) => f.reason),
      `${failures.length} close(s) failed`,
    );
  }
}

/** loadConfig's options for a Node or Bun process: argv, env, stderr, process.exit. */
export function processConfigOptions() {
  return {
    argv: process.argv,
    env: process.env,
    write: (line: string) => process.stderr.write(`${line}\n`),
    exit: (code: number): never => process.exit(code),
  };
}
