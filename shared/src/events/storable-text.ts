// Text every store can hold. PostgreSQL's text and jsonb refuse U+0000 (`unsupported Unicode
// escape sequence`), and a lone UTF-16 surrogate has no UTF-8 form (jsonb refuses its escape,
// Redis and Kafka would carry a replacement character instead of the client's text). Web APIs only.
//
// INVARIANT (guarantee 4): an event whose strings or object keys hold either is refused at intake
// (a per-event 400) and dead-lettered by the processor (step `validate`), so no such value ever
// reaches a window row, a key or a cache entry, where it would fail every retry of its batch.

export interface UnstorableText {
  /** Where the text is, as `data.product_category` (object keys are named as the key's parent). */
  readonly path: string;
  readonly message: string;
}

/** The first string or key in `value` that a store cannot hold, or null. Iterative: any depth. */
export function findUnstorableText(value: unknown, root = '(event)'): UnstorableText | null {
  // Most events hold none: a walk without paths first, and paths only for the one that does.
  return holdsUnstorableText(value) ? locate(value, root) : null;
}

function holdsUnstorableText(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') {
      if (unstorable(v) !== null) return true;
    } else if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) stack.push(v[i]);
    } else if (typeof v === 'object' && v !== null) {
      for (const key in v) {
        if (!Object.hasOwn(v, key)) continue;
        if (unstorable(key) !== null) return true;
        stack.push((v as Record<string, unknown>)[key]);
      }
    }
  }
  return false;
}

function locate(value: unknown, root: string): UnstorableText | null {
  const stack: { value: unknown; path: string }[] = [{ value, path: root }];
  while (stack.length > 0) {
    const top = stack.pop();
    if (top === undefined) break;
    const v = top.value;
    if (typeof v === 'string') {
      const message = unstorable(v);
      if (message !== null) return { path: top.path, message };
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ value: v[i], path: `${top.path}.${i}` });
    } else if (typeof v === 'object' && v !== null) {
      for (const [key, child] of Object.entries(v)) {
        const keyMessage = unstorable(key);
        if (keyMessage !== null) return { path: top.path, message: `a key: ${keyMessage}` };
        stack.push({ value: child, path: top.path === root ? key : `${top.path}.${key}` });
      }
    }
  }
  return null;
}

function unstorable(text: string): string | null {
  if (text.includes('\u0000')) return 'text holds a NUL character (U+0000), which PostgreSQL cannot store';
  if (!text.isWellFormed()) return 'text holds a lone UTF-16 surrogate, which has no UTF-8 form';
  return null;
}

const BACKSLASH = 0x5c;

/**
 * Whether JSON text may decode to unstorable text. Raw control characters are not JSON, and bytes
 * that are not UTF-8 decode to U+FFFD, so NUL and lone surrogates only come from `\u` escapes: a
 * value without a backslash needs no walk (most records, on the processor's path).
 */
export function mayHoldUnstorableText(json: Uint8Array | string): boolean {
  return typeof json === 'string' ? json.includes('\\') : json.includes(BACKSLASH);
}
