// The dashboard with auth on, in headless Chromium against the real sluice-query: the page loads
// without a key and asks for one; with a read key it shows that tenant's windows (never the other
// tenant's), its health figures without the stream-wide group (an operator's, which a plain read
// key does not get: a one-line note instead) and its live updates, read by fetch with the key in a header and resumed after a cut
// connection with Last-Event-ID; the key is kept in sessionStorage only and is in no URL; a 401
// (the key revoked) brings the form back; and the page's Content-Security-Policy lets everything
// it needs run (no violation reported).

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import type { CreatedKey } from '@sluice/shared/auth/key-store';
import type { WindowUpdate } from '@sluice/shared/live/window-updates';
import { feedKey } from '@sluice/shared/live/window-updates';
import { topicNames } from '@sluice/shared/streams/registry';
import { Redis } from 'ioredis';
import { launchBrowser, screenshot } from '../../shared/test/browser.ts';
import { stackEnv } from '../../shared/test/harness.ts';
import { createTestKey, revokeTestKey, withKeyDb } from '../../shared/test/keys.ts';
import type { Isolation, ServiceHandle } from '../../shared/test/services.ts';
import { isolate, startService } from '../../shared/test/services.ts';
import type { SeededRow } from './seed-windows.ts';
import { writeWindows } from './seed-windows.ts';

const run = promisify(execFile);
const A = 'dash-a';
const B = 'dash-b';
let iso: Isolation;
let query: ServiceHandle;
let redis: Redis;
let readA: CreatedKey;

/** Twenty minutes of windows before now; tenant B's categories are named apart so a leak shows. */
function rowsOf(categories: readonly string[], scale: number): SeededRow[] {
  const first = Math.floor(Date.now() / 60_000) * 60_000 - 20 * 60_000;
  return Array.from({ length: 20 }, (_, m) =>
    categories.map((category) => ({
      start: first + m * 60_000,
      category,
      sales: [{ category, amount: scale * (m + 1), user: 'u', time: first + m * 60_000 }],
      status: 'settled' as const,
      version: 1,
    })),
  ).flat();
}

before(async () => {
  iso = await isolate('dash-auth');
  readA = await createTestKey(iso.databaseUrl, { tenant: A, scopes: ['windows:read'] });
  const group = iso.env.SLUICE_CONSUMER_GROUP ?? 'sluice-processor';
  const topic = topicNames('ecommerce', iso.topicPrefix).events;
  const watermark = Date.now() - 60_000;
  await withKeyDb(iso.databaseUrl, async (db) => {
    await writeWindows(db, rowsOf(['Books', 'Sports'], 1), { group, topic, watermark }, A);
    await writeWindows(db, rowsOf(['OtherBooks'], 100), { group, topic, watermark }, B);
  });
  redis = new Redis(stackEnv().redisUrl, { maxRetriesPerRequest: 1 });
  query = await startService('query', { ...iso.env, SLUICE_AUTH: 'on', SLUICE_QUERY_LIVE_BLOCK_MS: '500' });
});

after(async () => {
  await query?.stop();
  await redis?.quit();
  await iso?.cleanup();
});

/**
 * Cuts every TCP connection to the query service from this machine's clients (the browser's live
 * stream among them), as a network failure would: `ss -K` destroys the sockets (root only).
 */
async function cutConnectionsTo(port: number): Promise<void> {
  await run('ss', ['-K', 'dst', '127.0.0.1', 'dport', '=', `:${port}`]);
}

const update = (key: string): WindowUpdate => {
  const start = Math.floor(Date.now() / 60_000) * 60_000;
  return {
    stream: 'ecommerce',
    window: '1m',
    window_start: new Date(start).toISOString(),
    window_end: new Date(start + 60_000).toISOString(),
    key,
    values: { count: 1, sum_amount: 7 },
    status: 'provisional',
    version: 1,
    trace_id: null,
    removed: false,
  };
};

test('the dashboard asks for a read key, shows its tenant only, live, and asks again after a 401', {
  timeout: 90_000,
}, async () => {
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => {
      // The 401 that makes the page ask for a key is logged by Chromium as a failed load.
      // So is the live stream the test cuts (ERR_CONNECTION_ABORTED).
      const expected = /status of 401|ERR_CONNECTION_ABORTED/;
      if (message.type() === 'error' && !expected.test(message.text())) errors.push(message.text());
    });
    const requests: { url: string; authorization: string | undefined; lastEventId: string | undefined }[] =
      [];
    page.on('request', (request) =>
      requests.push({
        url: request.url(),
        authorization: request.headers().authorization,
        lastEventId: request.headers()['last-event-id'],
      }),
    );
    const requestsWithHeaders = requests;

    const landing = await page.goto(`${query.url}/?stream=ecommerce`);
    assert.match(landing?.headers()['content-security-policy'] ?? '', /script-src 'self'/);
    await page.waitForSelector('#key-form:not([hidden])', { timeout: 10_000 });
    await screenshot(page, 'dashboard-key-form');
    assert.equal(await page.isHidden('#data'), true, 'no data shown without a key');

    await page.fill('#key-input', readA.key);
    await page.click('#key-form button[type="submit"]');
    await page.waitForSelector('#live[data-state="open"]', { timeout: 15_000 });
    await page.waitForSelector('#chart canvas', { timeout: 15_000 });
    assert.equal(await page.isHidden('#key-form'), true);
    const keysShown = await page
      .locator('#windows tbody tr td:nth-child(2)')
      .evaluateAll((tds) => [...new Set(tds.map((td) => td.textContent))].sort());
    assert.deepEqual(keysShown, ['Books', 'Sports'], "tenant dash-a's windows only");
    // The health row: the tenant's own figures; the stream's (all tenants) not given to this key.
    await page.waitForSelector('#health[data-as-of]', { timeout: 10_000 });
    assert.equal(await page.getAttribute('#health', 'data-tenant'), A);
    assert.equal(await page.isHidden('#h-stream'), true, 'no "stream, all tenants" group');
    assert.equal(await page.isVisible('#h-stream-absent'), true, 'a note says what would show it');
    assert.match((await page.textContent('#h-stream-absent')) ?? '', /admin/);
    assert.notEqual(await page.getAttribute('#h-tenant-rate', 'data-value'), '');
    assert.equal(Number(await page.getAttribute('#chart', 'data-points')), 40);

    // Live: tenant A's commit arrives over the fetch reader; tenant B's never does.
    const prefix = iso.env.SLUICE_CACHE_PREFIX ?? '';
    await redis.xadd(feedKey(prefix, B, 'ecommerce'), '*', 'u', JSON.stringify([update('OtherLive')]));
    await redis.xadd(feedKey(prefix, A, 'ecommerce'), '*', 'u', JSON.stringify([update('LiveA')]));
    await page.waitForSelector('#windows tbody tr td:text-is("LiveA")', { timeout: 10_000 });
    await screenshot(page, 'dashboard-tenant');
    assert.equal(await page.textContent('#live-updates'), '1');
    assert.equal(await page.locator('td:text-is("OtherLive")').count(), 0);

    // The live connection drops (its socket destroyed); a commit made before the page reconnects
    // arrives after it, because the reader resends the last event id as Last-Event-ID (as
    // EventSource would): without it the server would start at the newest entry.
    await cutConnectionsTo(query.port);
    await page.waitForSelector('#live[data-state="error"]', { timeout: 5_000 });
    await redis.xadd(feedKey(prefix, A, 'ecommerce'), '*', 'u', JSON.stringify([update('WhileAway')]));
    await page.waitForSelector('#windows tbody tr td:text-is("WhileAway")', { timeout: 15_000 });
    const resumed = requestsWithHeaders.filter((r) => r.url.includes('/live') && r.lastEventId !== undefined);
    assert.ok(resumed.length >= 1, 'the reconnect sent Last-Event-ID');

    // The key: in sessionStorage only, in a header on every API call, in no URL.
    const storage = await page.evaluate(() => ({
      session: sessionStorage.getItem('sluice.readKey'),
      local: localStorage.length,
    }));
    assert.deepEqual(storage, { session: readA.key, local: 0 });
    assert.deepEqual(await page.context().cookies(), [], 'no cookie');
    assert.ok(
      requests.every((r) => !r.url.includes(readA.key)),
      'the key is in no URL',
    );
    const api = requests.filter((r) => new URL(r.url).pathname.startsWith('/v1/'));
    const afterKey = api.slice(api.findIndex((r) => r.authorization !== undefined));
    assert.ok(afterKey.length >= 3, 'streams, windows and live calls were made with the key');
    assert.ok(afterKey.every((r) => r.authorization === `Bearer ${readA.key}`));
    assert.ok(
      afterKey.some((r) => new URL(r.url).pathname.endsWith('/live')),
      'the live updates were read with the key in a header',
    );

    // Revoked: the next read is a 401, and the form is back with the key forgotten.
    await revokeTestKey(iso.databaseUrl, readA.id);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    await page.selectOption('#range', '-6h');
    await page.waitForSelector('#key-form:not([hidden])', { timeout: 10_000 });
    assert.equal(await page.evaluate(() => sessionStorage.getItem('sluice.readKey')), null);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
