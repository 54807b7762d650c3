// A Server-Sent Events client for tests: fetch plus eventsource-parser, with every event kept in
// order and a wait for the first one that matches.

import type { EventSourceMessage } from 'eventsource-parser';
import { createParser } from 'eventsource-parser';

export interface SseClient {
  readonly events: EventSourceMessage[];
  /** The first event (seen already or to come) that matches, or a rejection after `timeoutMs`. */
  next(match: (event: EventSourceMessage) => boolean, timeoutMs: number): Promise<EventSourceMessage>;
  close(): void;
}

export async function openSse(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
  const abort = new AbortController();
  const response = await fetch(url, {
    headers: { accept: 'text/event-stream', ...headers },
    signal: abort.signal,
  });
  if (response.status !== 200 || response.body === null)
    throw new Error(`${url} answered ${response.status}: ${await response.text()}`);
  return readSse(response, () => abort.abort());
}

/** Events of a streaming response (from fetch, or from a Hono app's `request` in process). */
export function readSse(response: Response, close?: () => void): SseClient {
  const events: EventSourceMessage[] = [];
  const waiters = new Set<() => void>();
  const parser = createParser({
    onEvent: (event) => {
      events.push(event);
      for (const wake of waiters) wake();
    },
  });
  const decoder = new TextDecoder();
  const reader = response.body?.getReader();
  void (async () => {
    try {
      for (;;) {
        const chunk = await reader?.read();
        if (chunk === undefined || chunk.done) break;
        parser.feed(decoder.decode(chunk.value, { stream: true }));
      }
    } catch {
      // closed
    }
  })();
  return {
    events,
    next(match, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = events.find(match);
          if (found === undefined) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(found);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          const kinds = events.slice(-10).map((e) => e.event ?? 'message');
          reject(
            new Error(
              `no matching event within ${timeoutMs} ms (saw ${events.length}, the last: ${kinds.join(', ')})`,
            ),
          );
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close: () => {
      void reader?.cancel().catch(() => {});
      close?.();
    },
  };
}
