/**
 * Internal. Go's `encoding/json` string encoder, with its HTML-safe escaping
 * on (the `json.Marshal` default): the one place that knows how Go writes a
 * string, used by the canonical form (hashed) and the settings column
 * (stored), so a Coder server and this library write the same bytes.
 *
 * @module
 */

const HEX = "0123456789abcdef";

/**
 * Quotes `s` as Go's `json.Marshal` does. It differs from `JSON.stringify`
 * on `<`, `>`, `&` (`\u003c`, `\u003e`, `\u0026`), U+2028 and U+2029
 * (escaped), and lone surrogates.
 *
 * A lone surrogate is written as U+FFFD itself, not as the escape `\ufffd`
 * Go writes for invalid UTF-8: a JavaScript string reaches Postgres (and
 * Go) as UTF-8, where a lone surrogate has already become U+FFFD, and Go
 * then writes that valid character raw. Hashing the escape instead would
 * make such a provider drift against its own row on every restart.
 */
export function goQuote(s: string): string {
  let out = '"';
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let esc: string | null = null;
    if (c < 0x20) {
      switch (c) {
        case 0x08:
          esc = "\\b";
          break;
        case 0x09:
          esc = "\\t";
          break;
        case 0x0a:
          esc = "\\n";
          break;
        case 0x0c:
          esc = "\\f";
          break;
        case 0x0d:
          esc = "\\r";
          break;
        default:
          esc = "\\u00" + HEX[c >> 4] + HEX[c & 0xf];
      }
    } else if (c === 0x22) {
      esc = '\\"';
    } else if (c === 0x5c) {
      esc = "\\\\";
    } else if (c === 0x3c || c === 0x3e || c === 0x26) {
      esc = "\\u00" + HEX[c >> 4] + HEX[c & 0xf];
    } else if (c === 0x2028 || c === 0x2029) {
      esc = "\\u202" + HEX[c & 0xf];
    } else if (c >= 0xd800 && c <= 0xdbff) {
      const next = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++; // a valid pair is written as raw UTF-8
        continue;
      }
      esc = "\ufffd";
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      esc = "\ufffd";
    }
    if (esc !== null) {
      out += s.slice(start, i) + esc;
      start = i + 1;
    }
  }
  return out + s.slice(start) + '"';
}

/** Lower-case hex of bytes. */
export function hex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += HEX[b >> 4] + HEX[b & 0xf];
  return out;
}
