// The Kafka port's admin on @platformatic/kafka (TypeScript; Node and Bun).

import { Admin } from '@platformatic/kafka';
import { withinMs } from '../../deadline.ts';
import type { AppError, Result } from '../../result.ts';
import { appError, fail, ok } from '../../result.ts';
import type { ClientOptions } from '../options.ts';
import { errorMessage } from '../options.ts';
import type { KafkaAdmin, TopicSpec } from '../port.ts';
import { platformaticSecurity } from '../security.ts';

const alreadyExists = (error: unknown): boolean =>
  /already exists/i.test(errorMessage(error)) ||
  (typeof error === 'object' &&
    error !== null &&
    'errors' in error &&
    Array.isArray(error.errors) &&
    error.errors.some(alreadyExists));

export async function createPlatformaticAdmin(options: ClientOptions): Promise<KafkaAdmin> {
  const admin = new Admin({
    clientId: options.clientId,
    bootstrapBrokers: [...options.brokers],
    ...platformaticSecurity(options.security),
    timeout: 10_000,
  });
  return {
    async ensureTopics(specs: readonly TopicSpec[]): Promise<Result<void, AppError>> {
      try {
        const existing = new Set(await admin.listTopics());
        // One request per topic: a request's configs apply to all of its topics.
        for (const spec of specs.filter((s) => !existing.has(s.topic))) {
          try {
            await admin.createTopics({
              topics: [{ topic: spec.topic, partitions: spec.partitions }],
              configs: Object.entries(spec.configs ?? {}).map(([name, value]) => ({ name, value })),
            });
          } catch (error) {
            // Another service may have created it between list and create: that is success.
            if (!alreadyExists(error)) throw error;
          }
        }
        return ok(undefined);
      } catch (error) {
        return fail(
          appError('unavailable', `creating topics failed: ${errorMessage(error)}`, {
            retryable: true,
            retryAfterSeconds: 2,
          }),
        );
      }
    },
    async ping(timeoutMs: number) {
      try {
        await withinMs(admin.metadata({ topics: [], forceUpdate: true }), timeoutMs, 'kafka ping');
        return true;
      } catch {
        return false;
      }
    },
    close: () => admin.close(),
  };
}
