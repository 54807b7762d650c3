import type { AppError, Result } from '../../result.ts';
import { fail, ok } from '../../result.ts';
import type { ClientOptions } from '../options.ts';
import type { KafkaAdmin, TopicSpec } from '../port.ts';
import { client } from './client.ts';
import { kafkaError } from './errors.ts';

export async function createConfluentAdmin(options: ClientOptions): Promise<KafkaAdmin> {
  const admin = client(options).admin();
  await admin.connect();
  return {
    async ensureTopics(specs: readonly TopicSpec[]): Promise<Result<void, AppError>> {
      try {
        const existing = new Set(await admin.listTopics({ timeout: 5_000 }));
        const missing = specs.filter((spec) => !existing.has(spec.topic));
        if (missing.length === 0) return ok(undefined);
        await admin.createTopics({
          timeout: 10_000,
          topics: missing.map((spec) => ({
            topic: spec.topic,
            numPartitions: spec.partitions,
            replicationFactor: -1,
            configEntries: Object.entries(spec.configs ?? {}).map(([name, value]) => ({ name, value })),
          })),
        });
        return ok(undefined);
      } catch (error) {
        // Another service may have created it between list and create: that is success.
        if (error instanceof Error && /already exists/i.test(error.message)) return ok(undefined);
        return fail(kafkaError(error, 'creating topics failed'));
      }
    },
    async ping(timeoutMs: number) {
      try {
        await admin.listTopics({ timeout: timeoutMs });
        return true;
      } catch {
        return false;
      }
    },
    close: () => admin.disconnect(),
  };
}
