// Running work inside a span: started as a child of `parent` (the active context by default), made
// active for the work, ended however the work ends, with an error status when it throws. Errors
// are recorded by type and message only: no payloads in attributes.

import type { Attributes, Context, Link, Span, SpanKind, Tracer } from '@opentelemetry/api';
import { context, SpanStatusCode } from '@opentelemetry/api';

export interface SpanOptions {
  readonly kind: SpanKind;
  readonly attributes?: Attributes;
  readonly links?: Link[];
  readonly parent?: Context;
}

export function inSpan<T>(
  tracer: Tracer,
  name: string,
  options: SpanOptions,
  work: (span: Span) => Promise<T>,
): Promise<T> {
  return tracer.startActiveSpan(
    name,
    { kind: options.kind, attributes: options.attributes ?? {}, links: options.links ?? [] },
    options.parent ?? context.active(),
    async (span) => {
      try {
        return await work(span);
      } catch (error) {
        span.setStatus({
          code: SpanStatusCode.ERROR,
          message: error instanceof Error ? error.name : 'error',
        });
        if (error instanceof Error) span.recordException({ name: error.name, message: error.message });
        throw error;
      } finally {
        span.end();
      }
    },
  );
}
