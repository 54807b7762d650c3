// Ingest's view of the live webhook sources: the whole table in memory, secrets opened, so a
// delivery costs a map lookup and its MACs, never a database round trip (db/live-table.ts keeps it
// current: NOTIFY at once, a version check every second as the fallback). A removal or a rotation
// takes effect within that second. Also the tenant's daily quota, which webhook deliveries count
// against like any events. Node only.

import type postgres from 'postgres';
import { startLiveTable } from '../db/live-table.ts';
import type { SecretBox } from './secret-box.ts';
import type { SourceSecret, WebhookSource } from './source.ts';
import { isProvider, secretProblem, sourceOptionsSchema } from './source.ts';

export interface LiveSource {
  readonly source: WebhookSource;
  /** The tenant's events per UTC day; undefined: none. */
  readonly dailyEvents: number | undefined;
}

export interface SourceTable {
  get(id: string): LiveSource | undefined;
  readonly size: number;
  close(): Promise<void>;
}

interface SourceRow {
  id: string;
  tenant: string;
  provider: string;
  stream: string;
  secret: string;
  previous_secret: string | null;
  previous_retires_ms: string | null;
  options: unknown;
  daily_events: string | null;
}

export interface SourceTableOptions {
  readonly sql: postgres.Sql;
  readonly box: SecretBox | undefined;
  readonly defaultDailyEvents?: number;
  readonly reloadMs?: number;
  /** A source that cannot be used (a secret that does not open, options that do not parse). */
  readonly onBadSource?: (id: string, why: string) => void;
  readonly onError?: (error: unknown) => void;
}

async function load(options: SourceTableOptions): Promise<Map<string, LiveSource>> {
  const rows = await options.sql<SourceRow[]>`
    select s.id, s.tenant, s.provider, s.stream, s.secret, s.previous_secret,
           (extract(epoch from s.previous_retires_at) * 1000)::bigint as previous_retires_ms,
           s.options, q.daily_events
    from webhook_sources s left join tenant_quotas q on q.tenant = s.tenant
    where s.removed_at is null`;
  const table = new Map<string, LiveSource>();
  for (const row of rows) {
    const why = (reason: string) => options.onBadSource?.(row.id, reason);
    if (options.box === undefined) {
      why('SLUICE_SECRETS_KEY is not set');
      continue;
    }
    const parsed = sourceOptionsSchema.safeParse(row.options);
    if (!isProvider(row.provider) || !parsed.success) {
      why('its provider or options are not valid');
      continue;
    }
    const current = options.box.open(row.secret, row.id);
    if (!current.ok) {
      why(current.error.message);
      continue;
    }
    // Fails closed: a stored secret its provider would not take (a row written past the store's
    // check) verifies nothing.
    const problem = secretProblem(row.provider, current.value);
    if (problem !== undefined) {
      why(`its secret does not suit ${row.provider}: ${problem}`);
      continue;
    }
    const secrets: SourceSecret[] = [{ value: current.value, retiresAt: null }];
    if (row.previous_secret !== null && row.previous_retires_ms !== null) {
      const previous = options.box.open(row.previous_secret, row.id);
      if (previous.ok && secretProblem(row.provider, previous.value) === undefined)
        secrets.push({ value: previous.value, retiresAt: Number(row.previous_retires_ms) });
    }
    const daily = row.daily_events === null ? options.defaultDailyEvents : Number(row.daily_events);
    table.set(row.id, {
      source: {
        id: row.id,
        tenant: row.tenant,
        provider: row.provider,
        secrets,
        stream: row.stream,
        options: parsed.data,
      },
      dailyEvents: daily === undefined || daily <= 0 ? undefined : daily,
    });
  }
  return table;
}

const versionOf = async (sql: postgres.Sql): Promise<string> => {
  const [row] = await sql<{ v: string }[]>`
    select concat_ws(':',
      (select count(*) from webhook_sources), (select max(updated_at) from webhook_sources),
      (select count(*) from tenant_quotas), (select max(updated_at) from tenant_quotas)) as v`;
  return row?.v ?? '';
};

/** The table of a service with webhooks off: every source id is unknown (404). */
export const NO_SOURCES: SourceTable = { get: () => undefined, size: 0, close: async () => {} };

export async function startSourceTable(options: SourceTableOptions): Promise<SourceTable> {
  const live = await startLiveTable({
    sql: options.sql,
    channel: 'sluice_webhooks',
    load: () => load(options),
    version: () => versionOf(options.sql),
    ...(options.reloadMs === undefined ? {} : { reloadMs: options.reloadMs }),
    ...(options.onError === undefined ? {} : { onError: options.onError }),
  });
  return {
    get: (id) => live.current.get(id),
    get size() {
      return live.current.size;
    },
    close: () => live.close(),
  };
}
