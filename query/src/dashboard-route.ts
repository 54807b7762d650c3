// GET /: the dashboard, a static page and its script, with uPlot served from node_modules (no CDN:
// sluice's machines may have no internet). The page reads the same public API as any client.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Env, Hono } from 'hono';

const require = createRequire(import.meta.url);
const read = (path: string | URL) => readFileSync(path, 'utf8');

export interface DashboardOptions {
  readonly jaegerUiUrl: string;
}

export function dashboardRoutes<E extends Env>(app: Hono<E>, options: DashboardOptions): void {
  // Read once at start: the files are part of the release, not data.
  const page = read(new URL('../public/index.html', import.meta.url)).replace(
    '%JAEGER_UI%',
    options.jaegerUiUrl.replace(/"/g, '&quot;'),
  );
  const assets: Record<string, { body: string; type: string }> = {
    'dashboard.js': {
      body: read(new URL('../public/dashboard.js', import.meta.url)),
      type: 'text/javascript',
    },
    'dashboard.css': { body: read(new URL('../public/dashboard.css', import.meta.url)), type: 'text/css' },
    'uPlot.iife.min.js': {
      body: read(require.resolve('uplot/dist/uPlot.iife.min.js')),
      type: 'text/javascript',
    },
    'uPlot.min.css': { body: read(require.resolve('uplot/dist/uPlot.min.css')), type: 'text/css' },
  };
  app.get('/', (c) => c.html(page));
  app.get('/assets/:name', (c) => {
    const asset = assets[c.req.param('name')];
    if (asset === undefined) return c.notFound();
    return c.body(asset.body, 200, {
      'content-type': `${asset.type}; charset=utf-8`,
      'cache-control': 'max-age=300',
    });
  });
}
