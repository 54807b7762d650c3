// GET /: the dashboard, a static page and its script, with uPlot served from node_modules (no CDN:
// sluice's machines may have no internet). The page reads the same public API as any client.
// The page and its assets hold no data and need no key; the page asks for a read key and keeps it
// in the tab's sessionStorage. So that no injected script could read that key, the page runs under
// a Content-Security-Policy allowing only its own files (no inline script, no other origin to
// send anything to) and is never framed.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Env, Hono } from 'hono';

const require = createRequire(import.meta.url);

/** The dashboard's own files only: scripts, styles and calls to this origin; never framed. */
export const DASHBOARD_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "form-action 'none'; base-uri 'none'; frame-ancestors 'none'";
const SECURITY_HEADERS = {
  'content-security-policy': DASHBOARD_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};
const read = (path: string | URL) => readFileSync(path, 'utf8');

export interface DashboardOptions {
  readonly jaegerUiUrl: string;
}

export function dashboardRoutes<E extends Env>(app: Hono<E>, options: DashboardOptions): void {
  // Read once at start: the files are part of the release, not data.
  const page = read(new URL('../../public/index.html', import.meta.url)).replace(
    '%JAEGER_UI%',
    options.jaegerUiUrl.replace(/"/g, '&quot;'),
  );
  const assets: Record<string, { body: string; type: string }> = {
    'dashboard.js': {
      body: read(new URL('../../public/dashboard.js', import.meta.url)),
      type: 'text/javascript',
    },
    // The page's own modules (dashboard.js imports them; the CSP's script-src 'self' covers them).
    ...Object.fromEntries(
      ['dashboard-format.js', 'dashboard-charts.js', 'dashboard-health.js'].map((name) => [
        name,
        { body: read(new URL(`../../public/${name}`, import.meta.url)), type: 'text/javascript' },
      ]),
    ),
    'dashboard.css': { body: read(new URL('../../public/dashboard.css', import.meta.url)), type: 'text/css' },
    'uPlot.iife.min.js': {
      body: read(require.resolve('uplot/dist/uPlot.iife.min.js')),
      type: 'text/javascript',
    },
    'uPlot.min.css': { body: read(require.resolve('uplot/dist/uPlot.min.css')), type: 'text/css' },
  };
  app.get('/', (c) => c.html(page, 200, SECURITY_HEADERS));
  app.get('/assets/:name', (c) => {
    const asset = assets[c.req.param('name')];
    if (asset === undefined) return c.notFound();
    return c.body(asset.body, 200, {
      'content-type': `${asset.type}; charset=utf-8`,
      'cache-control': 'max-age=300',
      ...SECURITY_HEADERS,
    });
  });
}
