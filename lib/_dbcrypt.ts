/**
 * Internal: not part of the public API, and may change in any release.
 *
 * Encryption at rest compatible with Coder's `enterprise/dbcrypt`, on Web
 * Crypto (`crypto.subtle`) only, so it runs unchanged on Node, Deno and Bun.
 * Pure functions: nothing here touches the database.
 *
 * The scheme, as Coder uses it:
 *
 * - `CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS` holds keys as one CSV record
 *   ({@link splitKeyList}); each key is 32 raw bytes written as standard
 *   padded base64; the first key encrypts, every key decrypts;
 * - AES-256-GCM with a random 12-byte nonce, a 16-byte tag and no additional
 *   data; the stored value is standard padded base64 of
 *   `nonce || ciphertext || tag`;
 * - a key's id ("digest", in the `*_key_id` columns and
 *   `dbcrypt_keys.active_key_digest`) is the first 7 lower-case hex
 *   characters of `SHA-256("aes256gcm" || key bytes)`.
 *
 * No message built here ever contains a key, a stored value or a plaintext.
 *
 * @module
 */
import { ConfigError } from "./errors.ts";

const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
const DIGEST_CHARS = 7;
const CIPHER_NAME = "aes256gcm";

// --- Base64 (standard alphabet, padded) ---------------------------------------

const BASE64_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const BASE64_VALUES: Int8Array = (() => {
  const values = new Int8Array(128).fill(-1);
  for (let i = 0; i < BASE64_ALPHABET.length; i++) values[BASE64_ALPHABET.charCodeAt(i)] = i;
  return values;
})();

/** Result of {@link decodeBase64}: the bytes, or why the text is not standard base64. */
export type Base64Result =
  | { ok: true; bytes: Uint8Array<ArrayBuffer> }
  | { ok: false; problem: string };

/**
 * Encodes bytes as standard base64 with padding (Go's
 * `base64.StdEncoding.EncodeToString`).
 *
 * @param bytes The bytes to encode.
 * @returns The base64 text.
 */
export function encodeBase64(bytes: Uint8Array): string {
  let out = "";
  let i = 0;
  for (; i + 3 <= bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += BASE64_ALPHABET[n >>> 18] + BASE64_ALPHABET[(n >>> 12) & 63] + BASE64_ALPHABET[(n >>> 6) & 63] + BASE64_ALPHABET[n & 63];
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i] << 16;
    out += BASE64_ALPHABET[n >>> 18] + BASE64_ALPHABET[(n >>> 12) & 63] + "==";
  } else if (rest === 2) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8);
    out += BASE64_ALPHABET[n >>> 18] + BASE64_ALPHABET[(n >>> 12) & 63] + BASE64_ALPHABET[(n >>> 6) & 63] + "=";
  }
  return out;
}

/**
 * Decodes standard base64 with padding, strictly: the URL-safe alphabet
 * (`-`, `_`), missing or misplaced padding, whitespace (including line
 * breaks) and any other character are rejected. Like Go's
 * `base64.StdEncoding` (which is not `.Strict()`), unused low bits of the
 * last character need not be zero. The empty string decodes to no bytes.
 *
 * Unlike Go, `\r` and `\n` are rejected rather than skipped.
 *
 * The problem text never quotes the input.
 *
 * @param text The base64 text.
 * @returns The decoded bytes, or a short description of the problem.
 */
export function decodeBase64(text: string): Base64Result {
  let padAt = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 128 && BASE64_VALUES[c] >= 0) {
      if (padAt >= 0) return { ok: false, problem: "data after padding" };
      continue;
    }
    if (c === 0x3d /* = */) {
      if (padAt < 0) padAt = i;
      continue;
    }
    if (/\s/.test(text[i])) return { ok: false, problem: "contains whitespace, and nothing is trimmed" };
    if (c === 0x2d /* - */ || c === 0x5f /* _ */) return { ok: false, problem: "uses the URL-safe characters - or _" };
    return { ok: false, problem: "contains a character outside the base64 alphabet" };
  }
  if (text.length % 4 !== 0) {
    return { ok: false, problem: padAt < 0 ? "missing padding (length is not a multiple of 4)" : "wrong padding" };
  }
  const pad = padAt < 0 ? 0 : text.length - padAt;
  if (pad > 2) return { ok: false, problem: "wrong padding" };

  const bytes = new Uint8Array((text.length / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < text.length; i += 4) {
    const a = BASE64_VALUES[text.charCodeAt(i)];
    const b = BASE64_VALUES[text.charCodeAt(i + 1)];
    const c = i + 2 < text.length - pad ? BASE64_VALUES[text.charCodeAt(i + 2)] : 0;
    const d = i + 3 < text.length - pad ? BASE64_VALUES[text.charCodeAt(i + 3)] : 0;
    const n = (a << 18) | (b << 12) | (c << 6) | d;
    bytes[o++] = n >>> 16;
    if (o < bytes.length) bytes[o++] = (n >>> 8) & 255;
    if (o < bytes.length) bytes[o++] = n & 255;
  }
  return { ok: true, bytes };
}

// --- Key list (one CSV record, as Go's encoding/csv reads it) -----------------

interface CsvLine {
  text: string;
  eof: boolean;
}

/** A cursor over the input, returning lines as Go's `csv.Reader.readLine` does. */
class CsvLines {
  #input: string;
  #at = 0;
  /** Lines read so far. */
  count = 0;

  constructor(input: string) {
    this.#input = input;
  }

  next(): CsvLine {
    const nl = this.#input.indexOf("\n", this.#at);
    let text: string;
    let eof = false;
    if (nl >= 0) {
      text = this.#input.slice(this.#at, nl + 1);
      this.#at = nl + 1;
    } else {
      text = this.#input.slice(this.#at);
      this.#at = this.#input.length;
      if (text.length === 0) eof = true;
      // For backwards compatibility, Go drops a trailing \r before EOF.
      else if (text.endsWith("\r")) text = text.slice(0, -1);
    }
    this.count++;
    if (text.endsWith("\r\n")) text = text.slice(0, -2) + "\n";
    return { text, eof };
  }
}

function lengthNL(s: string): number {
  return s.endsWith("\n") ? 1 : 0;
}

function runeCount(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

const BARE_QUOTE = 'bare " in non-quoted field';
const EXTRANEOUS_QUOTE = 'extraneous or missing " in quoted field';

/**
 * Splits a key list the way Coder reads `CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS`
 * (serpent's `StringArray`): the empty string is no keys; anything else is
 * exactly `csv.NewReader(strings.NewReader(value)).Read()` in Go. So fields
 * are separated by commas, `"…"` quoting (with `""` for a quote) works,
 * nothing is trimmed, blank lines before the record are skipped, `\r\n`
 * counts as `\n`, and only the first record is read: anything after its
 * line ends is ignored, as Coder ignores it.
 *
 * @param value The whole variable value.
 * @param source The variable or option name to show in the error.
 * @returns The fields, in order; `[]` for the empty string.
 * @throws {ConfigError} When Go's reader fails (a stray quote, an unclosed
 *   quote, or nothing but line breaks). The message gives the line and
 *   column, never the text.
 */
export function splitKeyList(value: string, source = "CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS"): string[] {
  if (value === "") return [];
  const fail = (what: string, line: number, column: number): never => {
    throw new ConfigError([`${source}: cannot be read as one CSV record: ${what} (line ${line}, column ${column})`]);
  };
  const lines = new CsvLines(value);

  // Skip empty lines; the end of input before any record is Go's io.EOF.
  let read: CsvLine;
  for (;;) {
    read = lines.next();
    if (read.eof) {
      throw new ConfigError([`${source}: holds only line breaks, no keys (leave it empty for no keys)`]);
    }
    if (read.text.length !== lengthNL(read.text)) break;
  }

  const fields: string[] = [];
  let line = read.text;
  let fullLine = line;
  let field = "";
  for (;;) {
    if (line.length === 0 || line[0] !== '"') {
      // Unquoted field: up to the next comma or the end of the line.
      const comma = line.indexOf(",");
      const text = comma >= 0 ? line.slice(0, comma) : line.slice(0, line.length - lengthNL(line));
      const quote = text.indexOf('"');
      if (quote >= 0) fail(BARE_QUOTE, lines.count, runeCount(fullLine.slice(0, fullLine.length - (line.length - quote))));
      fields.push(text);
      if (comma >= 0) {
        line = line.slice(comma + 1);
        continue;
      }
      return fields;
    }
    // Quoted field, which may run over several lines.
    line = line.slice(1);
    field = "";
    for (;;) {
      const quote = line.indexOf('"');
      if (quote >= 0) {
        field += line.slice(0, quote);
        line = line.slice(quote + 1);
        if (line[0] === '"') {
          field += '"';
          line = line.slice(1);
        } else if (line[0] === ",") {
          line = line.slice(1);
          fields.push(field);
          break;
        } else if (lengthNL(line) === line.length) {
          fields.push(field);
          return fields;
        } else {
          fail(EXTRANEOUS_QUOTE, lines.count, runeCount(fullLine.slice(0, fullLine.length - line.length - 1)));
        }
      } else if (line.length > 0) {
        field += line;
        line = lines.next().text;
        fullLine = line;
      } else {
        fail(EXTRANEOUS_QUOTE, lines.count, runeCount(fullLine));
      }
    }
  }
}

// --- Keys -----------------------------------------------------------------------

/** One usable key: its id and the imported AES-256-GCM key. */
export interface EncryptionKey {
  /** Key id: 7 lower-case hex characters (see {@link keyDigest}). */
  digest: string;
  /** Non-extractable AES-GCM key for `encrypt` and `decrypt`. */
  cryptoKey: CryptoKey;
}

/** Every configured key: the first encrypts, all decrypt. */
export interface Keyring {
  /** The key that encrypts; `null` when no key is configured (nothing is encrypted). */
  primary: EncryptionKey | null;
  /** Every key in configured order, primary first. */
  keys: EncryptionKey[];
  /** Every key by its digest, for reading a `*_key_id` column. */
  byDigest: Map<string, EncryptionKey>;
}

function hex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

async function sha256Hex(raw: Uint8Array): Promise<string> {
  const prefix = new TextEncoder().encode(CIPHER_NAME);
  const input = new Uint8Array(prefix.length + raw.length);
  input.set(prefix);
  input.set(raw, prefix.length);
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", input));
  input.fill(0);
  return hex(hash);
}

/**
 * Computes a key's id as Coder does: the first 7 lower-case hex characters
 * of `SHA-256("aes256gcm" || raw)`.
 *
 * @param raw The raw key bytes.
 * @returns The 7-character digest.
 */
export async function keyDigest(raw: Uint8Array): Promise<string> {
  return (await sha256Hex(raw)).slice(0, DIGEST_CHARS);
}

/**
 * Imports 32 raw bytes as an AES-256-GCM key with its digest.
 *
 * @param raw The raw key bytes; exactly 32.
 * @returns The key, ready to encrypt and decrypt.
 * @throws {RangeError} When `raw` is not 32 bytes long.
 */
export async function importEncryptionKey(raw: Uint8Array): Promise<EncryptionKey> {
  if (raw.length !== KEY_BYTES) throw new RangeError(`an encryption key must be ${KEY_BYTES} bytes, not ${raw.length}`);
  const copy = new Uint8Array(raw);
  try {
    const cryptoKey = await crypto.subtle.importKey("raw", copy, { name: "AES-GCM" }, false, ["encrypt", "decrypt"]);
    return { digest: await keyDigest(copy), cryptoKey };
  } finally {
    copy.fill(0);
  }
}

/**
 * Reads configured keys (e.g. the fields of {@link splitKeyList}). Each must
 * be standard padded base64 of exactly 32 bytes, and no key may appear twice
 * (or share its id with another key). Every problem is collected before
 * throwing, each naming `source` and the key's position, counted from 1
 * (position 1 is the primary); no problem quotes a key.
 *
 * @param keys The base64 keys, primary first; none means no encryption.
 * @param source The variable or option name to show in problems.
 * @returns The keyring.
 * @throws {ConfigError} With one problem per bad key.
 */
export async function parseEncryptionKeys(keys: readonly string[], source: string): Promise<Keyring> {
  const problems: string[] = [];
  const keyring: Keyring = { primary: null, keys: [], byDigest: new Map() };
  const seen = new Map<string, number>(); // full SHA-256 hex -> position
  const ids = new Map<string, number>(); // digest -> position
  for (const [index, text] of keys.entries()) {
    const position = index + 1;
    const where = `${source}: key at position ${position}`;
    if (text === "") {
      problems.push(`${where} is empty (a stray comma?); each key must be ${KEY_BYTES} bytes in standard base64`);
      continue;
    }
    const decoded = decodeBase64(text);
    if (!decoded.ok) {
      problems.push(`${where} is not standard base64 (${decoded.problem})`);
      continue;
    }
    const raw = decoded.bytes;
    try {
      if (raw.length !== KEY_BYTES) {
        problems.push(`${where} decodes to ${raw.length} bytes, must be ${KEY_BYTES}`);
        continue;
      }
      const full = await sha256Hex(raw);
      const digest = full.slice(0, DIGEST_CHARS);
      const same = seen.get(full);
      if (same !== undefined) {
        problems.push(`${where} is the same key as position ${same}; list each key once`);
        continue;
      }
      const clash = ids.get(digest);
      if (clash !== undefined) {
        problems.push(`${where} has the same key id ${digest} as the different key at position ${clash}; generate another key`);
        continue;
      }
      seen.set(full, position);
      ids.set(digest, position);
      if (problems.length > 0) continue; // no use importing: it will throw
      const key = await importEncryptionKey(raw);
      keyring.keys.push(key);
      keyring.byDigest.set(key.digest, key);
    } finally {
      raw.fill(0);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  keyring.primary = keyring.keys[0] ?? null;
  return keyring;
}

// --- Values ---------------------------------------------------------------------

/** Why {@link decryptValue} failed. */
export type DecryptFailureReason = "not base64" | "too short" | "authentication failed" | "not UTF-8";

/**
 * A stored value could not be decrypted. The message names the key id and
 * the reason, never the stored value or any plaintext (a value that is not
 * base64 may be a secret stored in clear).
 */
export class DecryptFailure extends Error {
  /** Short, stable reason. */
  readonly reason: DecryptFailureReason;
  /** Id of the key that was tried. */
  readonly keyDigest: string;

  /**
   * Creates the error.
   *
   * @param reason Why decryption failed.
   * @param digest Id of the key that was tried.
   */
  constructor(reason: DecryptFailureReason, digest: string) {
    super(`decrypt failed with key ${digest}: ${reason}`);
    this.name = "DecryptFailure";
    this.reason = reason;
    this.keyDigest = digest;
  }
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Encrypts a value as Coder's `encryptField` does: AES-256-GCM of the UTF-8
 * bytes under a 12-byte nonce, stored as standard base64 of
 * `nonce || ciphertext || tag`.
 *
 * @param key The key to encrypt with (the keyring's primary).
 * @param plaintext The value.
 * @param nonce The 12-byte nonce; random (`crypto.getRandomValues`) when
 *   absent. Pass one only in tests: a nonce must never be reused with a key.
 * @returns The stored value.
 * @throws {RangeError} When `nonce` is not 12 bytes.
 * @throws {TypeError} When `plaintext` holds a lone surrogate, which UTF-8
 *   cannot represent.
 */
export async function encryptValue(key: EncryptionKey, plaintext: string, nonce?: Uint8Array): Promise<string> {
  if (nonce !== undefined && nonce.length !== NONCE_BYTES) {
    throw new RangeError(`a nonce must be ${NONCE_BYTES} bytes, not ${nonce.length}`);
  }
  if (LONE_SURROGATE.test(plaintext)) throw new TypeError("plaintext holds a lone UTF-16 surrogate, which UTF-8 cannot encode");
  const iv = nonce === undefined ? crypto.getRandomValues(new Uint8Array(NONCE_BYTES)) : new Uint8Array(nonce);
  const data = new TextEncoder().encode(plaintext);
  const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv, tagLength: TAG_BYTES * 8 }, key.cryptoKey, data));
  data.fill(0);
  const stored = new Uint8Array(NONCE_BYTES + sealed.length);
  stored.set(iv);
  stored.set(sealed, NONCE_BYTES);
  return encodeBase64(stored);
}

/**
 * Decrypts a stored value as Coder's `decryptField` does.
 *
 * @param key The key whose digest is in the value's `*_key_id` column.
 * @param stored The stored value.
 * @returns The plaintext.
 * @throws {DecryptFailure} When the value is not standard base64, is too
 *   short to hold a nonce and a tag, fails authentication (wrong key or
 *   altered value), or does not decrypt to UTF-8.
 */
export async function decryptValue(key: EncryptionKey, stored: string): Promise<string> {
  const decoded = decodeBase64(stored);
  if (!decoded.ok) throw new DecryptFailure("not base64", key.digest);
  const bytes = decoded.bytes;
  if (bytes.length < NONCE_BYTES + TAG_BYTES) throw new DecryptFailure("too short", key.digest);
  let opened: Uint8Array;
  try {
    opened = new Uint8Array(
      await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: bytes.subarray(0, NONCE_BYTES), tagLength: TAG_BYTES * 8 },
        key.cryptoKey,
        bytes.subarray(NONCE_BYTES),
      ),
    );
  } catch {
    throw new DecryptFailure("authentication failed", key.digest);
  }
  try {
    // ignoreBOM keeps a leading U+FEFF, as Go's string(bytes) does.
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(opened);
  } catch {
    throw new DecryptFailure("not UTF-8", key.digest);
  } finally {
    opened.fill(0);
  }
}
