// Webhook sources in PostgreSQL (issue 22, item 1): add (the secret is sealed before it is
// written), list (never a secret), rotate (the new secret is current, the old one verifies until
// it retires), retire (the old one stops now) and remove. Used by `./sluice webhooks` and the
// admin API (/v1/admin/webhooks). Node only.

import { and, asc, eq, isNull, sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { webhookSources } from '../db/schema.ts';
import type { AppError, Result } from '../result.ts';
import { appError, fail, ok } from '../result.ts';
import type { StreamRegistry } from '../streams/registry.ts';
import type { SecretBox } from './secret-box.ts';
import type { Provider, SourceOptions } from './source.ts';
import { newSourceId, secretProblem, sourceOptionsSchema, WEBHOOKS_STREAM } from './source.ts';

/** How long a rotated-out secret keeps verifying unless said otherwise (as Svix: 24 h). */
export const DEFAULT_ROTATION_OVERLAP_MS = 24 * 3600 * 1000;

export interface SourceSpec {
  readonly tenant: string;
  readonly provider: Provider;
  readonly secret: string;
  readonly stream?: string;
  readonly name?: string;
  /** Unparsed: checked here against sourceOptionsSchema. */
  readonly options?: unknown;
}

/** A source as listed: never a secret. */
export interface SourceInfo {
  readonly id: string;
  readonly url: string;
  readonly tenant: string;
  readonly name: string | null;
  readonly provider: string;
  readonly stream: string;
  readonly options: unknown;
  /** When the previous secret stops verifying; null without one. */
  readonly previousSecretRetiresAt: string | null;
  readonly removedAt: string | null;
  readonly createdAt: string;
}

/** The path a provider posts to, on the edge or ingest. */
export const webhookPath = (id: string): string => `/v1/webhooks/${id}`;

const iso = (d: Date | null) => (d === null ? null : d.toISOString());

function info(row: typeof webhookSources.$inferSelect): SourceInfo {
  return {
    id: row.id,
    url: webhookPath(row.id),
    tenant: row.tenant,
    name: row.name,
    provider: row.provider,
    stream: row.stream,
    options: row.options,
    previousSecretRetiresAt: row.previousSecret === null ? null : iso(row.previousRetiresAt),
    removedAt: iso(row.removedAt),
    createdAt: row.createdAt.toISOString(),
  };
}

const invalid = (message: string): Result<never, AppError> => fail(appError('validation_failed', message));

/** Checks a spec without writing: the provider's secret shape, the options, the target stream. */
export function checkSpec(spec: SourceSpec, streams: StreamRegistry): Result<SourceOptions, AppError> {
  const problem = secretProblem(spec.provider, spec.secret);
  if (problem !== undefined) return invalid(problem);
  const options = sourceOptionsSchema.safeParse(spec.options ?? {});
  if (!options.success)
    return invalid(
      `options: ${options.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  const stream = spec.stream ?? WEBHOOKS_STREAM;
  if (!streams.has(stream)) return invalid(`unknown stream '${stream}'`);
  if (stream !== WEBHOOKS_STREAM && options.data.mapping === undefined)
    return invalid(`a source for stream '${stream}' needs a mapping (event field -> JSON pointer)`);
  if (spec.provider === 'hmac' && options.data.hmac === undefined)
    return ok({ ...options.data, hmac: sourceOptionsSchema.shape.hmac.unwrap().parse({}) });
  return ok(options.data);
}

export async function addSource(
  db: Db,
  box: SecretBox,
  streams: StreamRegistry,
  spec: SourceSpec,
): Promise<Result<SourceInfo, AppError>> {
  const options = checkSpec(spec, streams);
  if (!options.ok) return options;
  const id = newSourceId();
  const [row] = await db
    .insert(webhookSources)
    .values({
      id,
      tenant: spec.tenant,
      name: spec.name ?? null,
      provider: spec.provider,
      stream: spec.stream ?? WEBHOOKS_STREAM,
      secret: box.seal(spec.secret, id),
      options: options.value,
    })
    .returning();
  if (row === undefined) throw new Error('insert into webhook_sources returned no row');
  return ok(info(row));
}

export async function listSources(db: Db, tenant?: string): Promise<SourceInfo[]> {
  const rows = await db
    .select()
    .from(webhookSources)
    .where(tenant === undefined ? undefined : eq(webhookSources.tenant, tenant))
    .orderBy(asc(webhookSources.tenant), asc(webhookSources.createdAt));
  return rows.map(info);
}

const live = (id: string, tenant: string | undefined) =>
  and(
    eq(webhookSources.id, id),
    isNull(webhookSources.removedAt),
    tenant === undefined ? undefined : eq(webhookSources.tenant, tenant),
  );

const notFound = (id: string): Result<never, AppError> =>
  fail(appError('not_found', `no webhook source '${id.slice(0, 64)}'`));

/**
 * Makes `secret` current; the current one verifies for `overlapMs` more (two secrets during a
 * rotation, issue 22). A secret rotated out earlier and still live is retired by this one.
 */
export async function rotateSource(
  db: Db,
  box: SecretBox,
  id: string,
  secret: string,
  options: { readonly tenant?: string; readonly overlapMs?: number } = {},
): Promise<Result<SourceInfo, AppError>> {
  const [found] = await db.select().from(webhookSources).where(live(id, options.tenant));
  if (found === undefined) return notFound(id);
  const problem = secretProblem(found.provider as Provider, secret);
  if (problem !== undefined) return invalid(problem);
  const overlapMs = options.overlapMs ?? DEFAULT_ROTATION_OVERLAP_MS;
  const [row] = await db
    .update(webhookSources)
    .set({
      secret: box.seal(secret, id),
      // The row's own current secret, in the same statement: two rotations at once each retire
      // the secret current when they ran, never one read earlier (still sealed with this id).
      previousSecret: sql`${webhookSources.secret}`,
      previousRetiresAt: sql`now() + ${`${overlapMs} milliseconds`}::interval`,
      updatedAt: sql`now()`,
    })
    .where(live(id, options.tenant))
    .returning();
  return row === undefined ? notFound(id) : ok(info(row));
}

/** Stops the previous secret verifying now (the end of a rotation). */
export async function retirePrevious(
  db: Db,
  id: string,
  tenant?: string,
): Promise<Result<SourceInfo, AppError>> {
  const [row] = await db
    .update(webhookSources)
    .set({ previousSecret: null, previousRetiresAt: null, updatedAt: sql`now()` })
    .where(live(id, tenant))
    .returning();
  return row === undefined ? notFound(id) : ok(info(row));
}

/** Removes a source: its URL answers 404 from the next reload (at once, by NOTIFY). */
export async function removeSource(
  db: Db,
  id: string,
  tenant?: string,
): Promise<Result<'removed', AppError>> {
  const removed = await db
    .update(webhookSources)
    .set({ removedAt: sql`now()`, updatedAt: sql`now()` })
    .where(live(id, tenant))
    .returning({ id: webhookSources.id });
  return removed.length > 0 ? ok('removed') : notFound(id);
}
