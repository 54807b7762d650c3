// Reads of the query service, typed by the types GENERATED from its OpenAPI document
// (generated/query-api.ts) and made with openapi-fetch: no request or answer shape is written by
// hand here, so a change to the API that the client does not follow fails to compile.

import createClient from 'openapi-fetch';
import type { components, paths } from './generated/query-api.ts';

export type { components, paths };
export type WindowRow = components['schemas']['WindowRow'];
export type WindowsResponse = components['schemas']['WindowsResponse'];
export type TopResponse = components['schemas']['TopResponse'];
export type Usage = components['schemas']['Usage'];
export type StreamDetail = components['schemas']['StreamDetail'];
export type ErrorEnvelope = components['schemas']['ErrorEnvelope'];
export type WindowsQuery = NonNullable<paths['/v1/streams/{stream}/windows']['get']['parameters']['query']>;
export type TopQuery = NonNullable<paths['/v1/streams/{stream}/top']['get']['parameters']['query']>;

export interface QueryClientOptions {
  /** The query service, e.g. http://127.0.0.1:8081. */
  readonly url: string;
  /** A key with windows:read (usage takes any key); sent as Authorization: Bearer. */
  readonly apiKey?: string;
  readonly fetch?: (input: Request) => Promise<Response>;
}

export function createQueryClient(options: QueryClientOptions) {
  const api = createClient<paths>({
    baseUrl: options.url.replace(/\/+$/, ''),
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
    ...(options.apiKey === undefined ? {} : { headers: { authorization: `Bearer ${options.apiKey}` } }),
  });
  return {
    api,
    streams: () => api.GET('/v1/streams'),
    stream: (stream: string) => api.GET('/v1/streams/{stream}', { params: { path: { stream } } }),
    /** A page of window rows; with `ifNoneMatch` (a previous ETag) an unchanged page answers 304. */
    windows: (stream: string, query: WindowsQuery = {}, init: { readonly ifNoneMatch?: string } = {}) =>
      api.GET('/v1/streams/{stream}/windows', {
        params: {
          path: { stream },
          query,
          ...(init.ifNoneMatch === undefined ? {} : { header: { 'if-none-match': init.ifNoneMatch } }),
        },
      }),
    top: (stream: string, query: TopQuery = {}) =>
      api.GET('/v1/streams/{stream}/top', { params: { path: { stream }, query } }),
    /**
     * The stream's health row (not cached): the key's tenant's rate and data quality; with a key
     * that also holds `admin`, `per_stream` (rates, lag, late and DLQ counts of all tenants), else null.
     */
    health: (stream: string) => api.GET('/v1/streams/{stream}/health', { params: { path: { stream } } }),
    usage: () => api.GET('/v1/usage'),
  };
}

export type QueryClient = ReturnType<typeof createQueryClient>;
