// The load profiles of `./sluice load` as k6 options: the scenarios (k6's executors for each
// shape of traffic) and the thresholds that encode a stream's promise. k6 reads these options
// from the plan file (tools/load/stream-load.js exports them as `options`), so the profiles, their
// bounds and the figures the tests check live in one typed place.
//
// Rates are events per second. One k6 iteration is one request of `batch` events, so the
// arrival-rate executors count iterations per `batch` seconds: `rate` iterations per `batch`
// seconds send exactly `rate` events per second, evenly spaced, with no rounding of requests/s.

import type { StreamDefinition, WindowSpec } from '@sluice/shared/streams/define';

export const PROFILES = ['smoke', 'average', 'spike', 'soak'] as const;
export type ProfileName = (typeof PROFILES)[number];

interface Profile {
  /** Events per second (the spike's peak). */
  readonly rate: number;
  readonly durationS: number;
  /** Events per request. */
  readonly batch: number;
  /** The request latency p99 the profile holds intake to (ms). */
  readonly requestP99Ms: number;
}

// A smoke test checks that the path works at a trickle; average is a normal day's traffic for a
// small deployment; spike a sudden 10x; soak a long steady run that finds leaks and slow drift.
const PROFILE: Record<ProfileName, Profile> = {
  smoke: { rate: 50, durationS: 30, batch: 5, requestP99Ms: 500 },
  average: { rate: 500, durationS: 300, batch: 25, requestP99Ms: 500 },
  spike: { rate: 2_000, durationS: 120, batch: 50, requestP99Ms: 1_000 },
  soak: { rate: 200, durationS: 1_800, batch: 20, requestP99Ms: 500 },
};

/**
 * Load only targets 127.0.0.1, on the machine that runs the services: a rate far beyond what
 * two cores take only measures k6 starving them, and every run must stop by itself.
 */
export const MAX_RATE = 20_000;
export const MIN_DURATION_S = 5;
export const MAX_DURATION_S = 4 * 3_600;

export interface LoadSettings {
  readonly profile: ProfileName;
  readonly rate: number;
  readonly durationS: number;
  readonly batch: number;
  readonly requestP99Ms: number;
  readonly freshnessBoundMs: number;
}

export function isProfile(name: string): name is ProfileName {
  return (PROFILES as readonly string[]).includes(name);
}

/** A duration as k6 and the CLI write it (`20s`, `5m`, `1h`, or plain seconds), in seconds. */
export function parseDurationS(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(s|m|h)?$/.exec(text.trim());
  if (match === null) return undefined;
  const factor = match[2] === 'h' ? 3_600 : match[2] === 'm' ? 60 : 1;
  return Math.round(Number(match[1]) * factor);
}

/** How long after its end a window of this spec closes once the watermark passes: its period. */
function closingPeriodMs(window: WindowSpec): number {
  if (window.kind === 'tumbling') return window.sizeMs;
  if (window.kind === 'hopping') return window.slideMs;
  return window.gapMs;
}

/**
 * The stream's freshness promise: the watermark trails the newest event time by the declared
 * delay, and a window settles once the watermark passes its end. A pipeline that keeps up keeps
 * `now - watermark` under the delay plus one closing period of its finest window; beyond that,
 * windows settle later than a period after their end: results go stale while events pile up.
 */
export function freshnessBoundMs(stream: StreamDefinition): number {
  const periods = stream.windows.map(closingPeriodMs);
  return stream.watermarkMs + Math.min(...periods);
}

export function loadSettings(
  stream: StreamDefinition,
  profile: ProfileName,
  overrides: { rate?: number; durationS?: number; requestP99Ms?: number },
): { ok: true; value: LoadSettings } | { ok: false; error: string } {
  const base = PROFILE[profile];
  const rate = overrides.rate ?? base.rate;
  const durationS = overrides.durationS ?? base.durationS;
  if (!(Number.isFinite(rate) && rate >= 1 && rate <= MAX_RATE))
    return { ok: false, error: `--rate must be 1 to ${MAX_RATE} events per second` };
  if (!(Number.isInteger(durationS) && durationS >= MIN_DURATION_S && durationS <= MAX_DURATION_S))
    return { ok: false, error: `--duration must be ${MIN_DURATION_S}s to ${MAX_DURATION_S / 3_600}h` };
  const requestP99Ms = overrides.requestP99Ms ?? base.requestP99Ms;
  if (!(Number.isFinite(requestP99Ms) && requestP99Ms > 0))
    return { ok: false, error: '--request-p99 must be a positive number of milliseconds' };
  return {
    ok: true,
    value: {
      profile,
      rate: Math.round(rate),
      durationS,
      // A batch is never larger than a second's events: a trickle still sends every second.
      batch: Math.max(1, Math.min(base.batch, Math.floor(rate))),
      requestP99Ms,
      freshnessBoundMs: freshnessBoundMs(stream),
    },
  };
}

type Scenario = Record<string, unknown>;

/** The k6 options of a run: the events scenario of the profile, the freshness poll, thresholds. */
export function k6Options(s: LoadSettings): Record<string, unknown> {
  const timeUnit = `${s.batch}s`;
  const requestsPerSecond = s.rate / s.batch;
  // VUs for requests in flight: the arrival rate times a slow answer (1 s), within reason.
  const maxVUs = Math.min(400, Math.max(10, Math.ceil(requestsPerSecond)));
  const preAllocatedVUs = Math.min(maxVUs, Math.max(2, Math.ceil(requestsPerSecond / 10)));
  const duration = `${s.durationS}s`;
  const events: Scenario =
    s.profile === 'spike'
      ? {
          executor: 'ramping-arrival-rate',
          exec: 'send',
          startRate: Math.max(1, Math.round(s.rate / 10)),
          timeUnit,
          preAllocatedVUs,
          maxVUs,
          // A tenth of the peak, a fast ramp to it, a hold, the drop, and the recovery watched.
          stages: [
            { target: Math.max(1, Math.round(s.rate / 10)), duration: part(s.durationS, 0.2) },
            { target: s.rate, duration: part(s.durationS, 0.1) },
            { target: s.rate, duration: part(s.durationS, 0.2) },
            { target: Math.max(1, Math.round(s.rate / 10)), duration: part(s.durationS, 0.1) },
            { target: Math.max(1, Math.round(s.rate / 10)), duration: part(s.durationS, 0.4) },
          ],
        }
      : {
          executor: 'constant-arrival-rate',
          exec: 'send',
          rate: s.rate,
          timeUnit,
          duration,
          preAllocatedVUs,
          maxVUs,
        };
  return {
    scenarios: {
      events,
      // One poll a second of the stream's watermark, for as long as events go in.
      freshness: {
        executor: 'constant-arrival-rate',
        exec: 'freshness',
        rate: 1,
        timeUnit: '1s',
        duration,
        preAllocatedVUs: 1,
        maxVUs: 2,
      },
    },
    thresholds: {
      // The stream's promise: no request fails, every event of every batch is accepted...
      http_req_failed: ['rate==0'],
      checks: ['rate==1'],
      // ...intake answers fast...
      'http_req_duration{scenario:events}': [`p(99)<${s.requestP99Ms}`],
      // ...and the results keep up: the watermark within the delay plus one window period,
      sluice_freshness: [`p(99)<${s.freshnessBoundMs}`],
      // with this run's events seen by the processor (a stalled pipeline cannot pass by silence).
      sluice_caught_up: ['count>0'],
    },
    summaryTrendStats: ['avg', 'p(50)', 'p(95)', 'p(99)', 'max', 'count'],
  };
}

/** A share of the run as a k6 duration, at least a second. */
function part(durationS: number, share: number): string {
  return `${Math.max(1, Math.round(durationS * share))}s`;
}
