import { isolate, startService } from './shared/test/services.ts';

const iso = await isolate('drainprobe');
for (const runtime of ['bun', 'node'] as const) {
  const s = await startService('ingest', { ...iso.env, SLUICE_LOG_LEVEL: 'debug' }, runtime);
  const r = await fetch(`${s.url}/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      stream: 'ecommerce',
      data: {
        transaction_id: 't1',
        user_id: 'u',
        product_category: 'c',
        product_name: 'n',
        amount: 1,
        timestamp: new Date().toISOString(),
        payment_method: 'p',
      },
    }),
  });
  console.log(runtime, 'post', r.status);
  const code = await s.stop();
  console.log(runtime, 'exit', code);
  console.log(s.output().split('\n').slice(-8).join('\n'));
}
await iso.cleanup();
