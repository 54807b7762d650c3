// The cache request of a windows query string: which answer it asks for (the cache key) and which
// generation counters that answer depends on. A dashboard asks the same query strings again and
// again, and validating one (zod) is most of a cache hit's own work: the parse is kept by stream
// and raw query string, for the KEPT_QUERIES most recently asked. Only the parse: relative times
// are resolved against the clock on every request. The windows route and the hit path (which
// answers before Hono) share one lookup, so both find the same answer for a query string.
// Everything is per tenant (the key's, issue 21): a parse is kept under the tenant and the target,
// and the tenant is in every cache key, so two tenants asking the same URL never share an answer.

import { createHash } from 'node:crypto';
import type { WindowScope } from '@sluice/shared/cache/window-generations';
import { generationKeys } from '@sluice/shared/cache/window-generations';
import { lru } from '@sluice/shared/lru';
import type { StreamDefinition } from '@sluice/shared/streams/define';
import { z } from 'zod';
import { bucketEnd, bucketStart } from './time-buckets.ts';
import { resolveRange } from './time-range.ts';
import type { WindowsParams, WindowsQuery } from './windows-params.ts';
import { parseWindowsQuery, resolveWindowsParams } from './windows-params.ts';

/** Distinct valid queries whose parse a lookup keeps (the least recently asked goes first). */
export const KEPT_QUERIES = 1_000;

/** A valid query string as parsed, with what it last resolved to. */
export interface KeptQuery {
  /** The tenant that asked (its key's): its answers alone are looked up. */
  readonly tenant: string;
  readonly stream: StreamDefinition;
  readonly q: WindowsQuery;
  /** What its cache keys hold besides the range (the same for every request of it). */
  stem: string | undefined;
  /** The range it last resolved to and the resolution (relative times move it on by seconds). */
  last: { readonly from: number; readonly to: number; readonly resolved: Resolved } | undefined;
}

/** What a cached answer is looked up by (cached-answer.ts). */
export interface CacheRequest {
  readonly key: string;
  readonly scope: WindowScope;
  readonly from: number;
  readonly to: number;
  readonly generationKeys: readonly string[] | null;
}

/** A query as of a moment: its parameters with the times resolved, and its cache request. */
export interface Resolved {
  readonly params: WindowsParams;
  readonly request: CacheRequest;
}

type Parsed<T> = { success: true; data: T } | { success: false; error: z.ZodError };

/** The request target (path and query string) as sent, from a request's absolute URL. */
export const requestTarget = (url: string): string => url.slice(url.indexOf('/', url.indexOf('://') + 3));

export interface WindowsLookup {
  /** The kept parse of a request target (as sent) of a tenant; undefined if not asked lately. */
  kept(tenant: string, target: string): KeptQuery | undefined;
  /** Parses a target's query parameters for `stream`, keeping the parse when it is valid. */
  parse(
    tenant: string,
    target: string,
    stream: StreamDefinition,
    params: Record<string, string | string[]>,
  ): Parsed<KeptQuery>;
  /** The query as of `now` (relative times resolved). */
  resolve(asked: KeptQuery, now: number): Parsed<Resolved>;
}

/** The source windows' starts to read: whole buckets starting in [from, to) when rolling up. */
export function sourceRange(p: WindowsParams): { from: number; to: number } {
  if (p.rollUp === null) return { from: p.from, to: p.to };
  let first = bucketStart(p.from, p.rollUp);
  if (first < p.from) first = bucketEnd(first, p.rollUp);
  const last = bucketStart(p.to - 1, p.rollUp);
  return { from: first, to: Math.max(first, bucketEnd(last, p.rollUp)) };
}

/**
 * What a cache key holds besides the range: the same for every request of one query string.
 * INVARIANT: two queries share a key only if they ask for the same answer. The key is made from the
 * JSON of the normalised parameters, so no value can spell another query's separators: joined with
 * `|`, `filter=product_category=A%7CB` (one value `A|B`) and two filters `A`, `B` were one key, and
 * whoever asked first decided what both were served. Its SHA-256 keeps every key 43 characters
 * however long the filters (a hundred values of 1,024 characters would be a 100 KB Redis key).
 */
const keyStem = (stream: string, p: WindowsParams, tenant: string) =>
  sha256(
    JSON.stringify([
      tenant,
      stream,
      p.window,
      p.rollUp?.tz ?? null,
      p.groupBy,
      [...p.filter].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([f, v]) => [f, [...v].sort()]),
      p.aggs.map((a) => a.name),
      p.limit,
      p.cursor === null ? null : [p.cursor.start, p.cursor.key],
    ]),
  );

const sha256 = (text: string) => createHash('sha256').update(text).digest('base64url');

/** A cache key: the stem (fixed length) and the source range. */
export const cacheKey = (stem: string, from: number, to: number) => `w:${stem}:${from}:${to}`;

/** Request targets longer than this are parsed but not kept (a valid one may carry unknown junk). */
const MAX_KEPT_TARGET_CHARS = 4_096;

export function windowsLookup(cachePrefix: string): WindowsLookup {
  // Keyed by the target as sent, which names the stream and the route too: only the windows route
  // keeps parses here, so a target found here is a windows request for that stream.
  // INVARIANT (guarantee 5): keyed by client input, so bounded (least recently asked first out).
  // A tenant (TENANT_PATTERN) holds no space, so `tenant target` names one pair only.
  const kept = lru<string, KeptQuery>(KEPT_QUERIES);
  const keptKey = (tenant: string, target: string) => `${tenant} ${target}`;
  return {
    kept: (tenant, target) => kept.get(keptKey(tenant, target)),
    parse(tenant, target, stream, params) {
      const parsed = parseWindowsQuery(stream, params);
      if (!parsed.success) return parsed;
      const query: KeptQuery = { tenant, stream, q: parsed.data, stem: undefined, last: undefined };
      if (target.length <= MAX_KEPT_TARGET_CHARS) kept.set(keptKey(tenant, target), query);
      return { success: true, data: query };
    },
    resolve(asked, now) {
      // What the parameters resolve to depends on the range alone: the same range, the same
      // resolution (an absolute range is always the same; a relative one moves by whole seconds).
      const range = resolveRange(asked.q.from, asked.q.to, now);
      if (!(range instanceof z.ZodError) && asked.last?.from === range.from && asked.last.to === range.to)
        return { success: true, data: asked.last.resolved };
      const { stream } = asked;
      const parsed = resolveWindowsParams(stream, asked.q, now);
      if (!parsed.success) return parsed;
      const p = parsed.data;
      const { tenant } = asked;
      const source = sourceRange(p);
      const scope = { tenant, stream: stream.name, window: p.source.name };
      asked.stem ??= keyStem(stream.name, p, tenant);
      const request: CacheRequest = {
        key: cacheKey(asked.stem, source.from, source.to),
        scope,
        ...source,
        generationKeys: generationKeys(cachePrefix, scope, source.from, source.to),
      };
      const resolved: Resolved = { params: p, request };
      asked.last = { from: p.from, to: p.to, resolved };
      return { success: true, data: resolved };
    },
  };
}
