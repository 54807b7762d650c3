// What a key may do. Web APIs only: the edge checks scopes too.

export const SCOPES = ['events:write', 'windows:read', 'admin', 'events:relay'] as const;
export type Scope = (typeof SCOPES)[number];

/**
 * - `events:write`: POST /v1/events at the edge and ingest, for the key's own tenant.
 * - `windows:read`: windows, top, live updates, stream detail, usage, the dashboard's data.
 * - `admin`: manage the keys of the key's own tenant (/v1/admin/keys), read /metrics and health.
 * - `events:relay`: a service key (the edge's, to ingest): writes events for the tenant each event
 *   names, which the edge took from the caller's key. Never give it to a client.
 */
export const SCOPE_DESCRIPTIONS: Record<Scope, string> = {
  'events:write': "send events for the key's tenant",
  'windows:read': "read the key's tenant's windows, top-N, live updates, stream detail and usage",
  admin: "manage the tenant's keys; read metrics and health",
  'events:relay': 'service key of an edge: forward events for the tenant each event names',
};

export const isScope = (value: string): value is Scope => (SCOPES as readonly string[]).includes(value);
