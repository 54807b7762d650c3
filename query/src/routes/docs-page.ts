// GET /docs: the OpenAPI document as one plain HTML page (no script, nothing from a CDN: the
// machines sluice runs on may have no internet), each operation with its parameters and answers.

interface Operation {
  readonly summary?: string;
  /** What the operation needs (its key scope). */
  readonly description?: string;
  readonly security?: readonly Readonly<Record<string, readonly string[]>>[];
  readonly parameters?: readonly { name: string; in: string; description?: string; required?: boolean }[];
  readonly responses?: Readonly<Record<string, { description?: string }>>;
}

interface Document {
  readonly info: { readonly title: string; readonly description?: string; readonly version: string };
  readonly paths?: object;
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

export function docsPage(doc: Document): string {
  const operations = Object.entries(doc.paths ?? {}).flatMap(([path, methods]) =>
    Object.entries(methods as Record<string, Operation>).map(([method, op]) => {
      const params = (op.parameters ?? [])
        .map(
          (p) =>
            `<tr><td><code>${escapeHtml(p.name)}</code></td><td>${escapeHtml(p.in)}${p.required ? ', required' : ''}</td><td>${escapeHtml(p.description ?? '')}</td></tr>`,
        )
        .join('');
      const responses = Object.entries(op.responses ?? {})
        .map(
          ([status, r]) => `<li><code>${escapeHtml(status)}</code> ${escapeHtml(r.description ?? '')}</li>`,
        )
        .join('');
      const needs =
        op.security === undefined || op.security.length === 0
          ? '<p>Open: no key.</p>'
          : `<p><strong>Auth:</strong> ${escapeHtml(op.description ?? 'an API key')}</p>`;
      return `<section><h2><code>${method.toUpperCase()} ${escapeHtml(path)}</code></h2><p>${escapeHtml(op.summary ?? '')}</p>${needs}${
        params === '' ? '' : `<table><tr><th>parameter</th><th>in</th><th>meaning</th></tr>${params}</table>`
      }<ul>${responses}</ul></section>`;
    }),
  );
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(doc.info.title)}</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1b1f24}
table{border-collapse:collapse}td,th{border:1px solid #d0d7de;padding:.25rem .5rem;text-align:left;vertical-align:top}
section{border-top:1px solid #d0d7de;margin-top:1.5rem}code{background:#f6f8fa;padding:0 .2rem}</style></head>
<body><h1>${escapeHtml(doc.info.title)} <small>${escapeHtml(doc.info.version)}</small></h1><p>${escapeHtml(doc.info.description ?? '')}</p>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1). Dashboard: <a href="/">/</a>.</p>
<h2>API keys</h2><p>Send a key as <code>Authorization: Bearer slk_...</code>. A key belongs to one tenant and
reads that tenant's data only. Make one with <code>./sluice keys create --tenant T --scopes windows:read</code>,
or with an <code>admin</code> key: <code>curl -X POST -H "Authorization: Bearer $ADMIN_KEY" -H 'content-type: application/json'
-d '{"scopes":["windows:read"]}' /v1/admin/keys</code> (the key is shown once). No key or a bad one: 401; a key
without the scope: 403; a key over its requests per second: 429 with Retry-After and RateLimit headers.</p>
${operations.join('\n')}</body></html>`;
}
