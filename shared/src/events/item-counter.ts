// Counts the events of a request body while its bytes arrive, before any of it is parsed: the
// elements of a top-level JSON array, or the non-blank lines of NDJSON. So the per-request event
// limit trips on the first byte past it, instead of after millions of values were built.
// Works on UTF-8 bytes: every structural character is ASCII, and no byte of a multi-byte sequence
// is, so no decoding is needed. Web APIs only.

export interface ItemCounter {
  /**
   * Feeds the next chunk of the body; returns the number of items begun so far, stopping early
   * once it passes `limit` (the rest of the chunk is then not looked at).
   */
  push(chunk: Uint8Array, limit: number): number;
}

const NEWLINE = 0x0a;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

/** 1 for bytes that never change the count or the depth outside a string (all but [ ] { } , "). */
const PLAIN = new Uint8Array(256).fill(1);
for (const structural of [QUOTE, COMMA, OPEN_ARRAY, CLOSE_ARRAY, OPEN_OBJECT, CLOSE_OBJECT])
  PLAIN[structural] = 0;

function isSpace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

/** Lines holding anything but whitespace, as `parse-body` splits NDJSON. */
export function ndjsonCounter(): ItemCounter {
  let count = 0;
  let lineHasContent = false;
  return {
    push(chunk, limit) {
      let at = 0;
      while (at < chunk.length && count <= limit) {
        const newline = chunk.indexOf(NEWLINE, at);
        const end = newline === -1 ? chunk.length : newline;
        // A line is counted once, when its first non-blank byte arrives.
        if (!lineHasContent) {
          for (let i = at; i < end; i += 1) {
            if (!isSpace(chunk[i] ?? 0x20)) {
              lineHasContent = true;
              count += 1;
              break;
            }
          }
        }
        if (newline === -1) break;
        lineHasContent = false;
        at = newline + 1;
      }
      return count;
    },
  };
}

/**
 * Elements of a top-level JSON array (a document that is not an array is one item). An element is
 * counted when its first byte arrives; malformed JSON is counted loosely and refused by the parser.
 */
export function jsonArrayCounter(): ItemCounter {
  // 'start': before the first value; 'array': inside the top-level array; 'single': not an array.
  let mode: 'start' | 'array' | 'single' = 'start';
  let count = 0;
  let depth = 0;
  let inString = false;
  let escaped = false;
  let expectingElement = true;
  return {
    push(chunk, limit) {
      if (mode === 'single') return count;
      let i = 0;
      const length = chunk.length;
      while (i < length && count <= limit) {
        if (inString) {
          // Tight loops over what cannot matter (string content, then plain bytes) keep this to
          // about a nanosecond a byte: most of a body is string content.
          if (escaped) {
            escaped = false;
            i += 1;
            continue;
          }
          let byte = chunk[i] ?? QUOTE;
          while (byte !== QUOTE && byte !== BACKSLASH && ++i < length) byte = chunk[i] ?? QUOTE;
          if (i === length) break;
          i += 1;
          if (byte === BACKSLASH) escaped = true;
          else inString = false;
          continue;
        }
        const byte = chunk[i] ?? 0x20;
        i += 1;
        if (mode === 'start') {
          if (isSpace(byte)) continue;
          if (byte !== OPEN_ARRAY) {
            mode = 'single';
            count = 1;
            return count;
          }
          mode = 'array';
          depth = 1;
          continue;
        }
        if (byte === QUOTE) {
          if (depth === 1 && expectingElement) {
            count += 1;
            expectingElement = false;
          }
          inString = true;
          continue;
        }
        if (PLAIN[byte] === 1 && depth > 1) continue;
        if (isSpace(byte)) continue;
        if (depth === 1) {
          if (byte === COMMA) {
            expectingElement = true;
            continue;
          }
          if (byte === CLOSE_ARRAY) {
            depth = 0;
            continue;
          }
          if (expectingElement) {
            count += 1;
            expectingElement = false;
          }
        }
        if (byte === OPEN_ARRAY || byte === OPEN_OBJECT) depth += 1;
        else if (byte === CLOSE_ARRAY || byte === CLOSE_OBJECT) depth = Math.max(0, depth - 1);
      }
      return count;
    },
  };
}
