/**
 * Encryption at rest after the fact: re-encrypt every stored API key and
 * Bedrock settings value under the first configured key
 * ({@link rotateEncryptionKeys}), turn them all back to plaintext
 * ({@link decryptAtRest}), and see which key holds what
 * ({@link encryptionStatus}). Compatible with Coder's `dbcrypt`: same
 * format, same `dbcrypt_keys` table, same revocation.
 *
 * @module
 */
import { CallDeadline } from "./_deadline.ts";
import { databaseError } from "./_db_error.ts";
import { DecryptFailure, decryptValue, type EncryptionKey, encryptValue, type Keyring } from "./_dbcrypt.ts";
import {
  EncryptionStore,
  type EncryptionTransaction,
  type NewValue,
  type RawDbcryptKey,
  type RawStatus,
  type RawUsage,
  type RawValue,
  type ValueKind,
} from "./_encryption_store.ts";
import { keyringFrom } from "./_keyring.ts";
import { lockOptions } from "./_options.ts";
import { checkSchema, ENCRYPTION_KEYS_VARIABLE } from "./_stored.ts";
import { Store } from "./_store.ts";
import { ConfigError, LockTimeoutError, SeedError } from "./errors.ts";
import { type Logger, noopLogger } from "./logger.ts";
import { type EnvRecord, runtimeEnv } from "./runtime_env.ts";
import type { Sql } from "./types.ts";

/** Default number of rows {@link rotateEncryptionKeys} and {@link decryptAtRest} read and rewrite per statement. */
export const DEFAULT_ENCRYPTION_BATCH_SIZE = 1000;

/** Options of {@link encryptionStatus}. */
export interface EncryptionStatusOptions {
  /**
   * The configured keys (base64 of 32 bytes each), primary first. Default:
   * `CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS` (or its `_FILE` twin) in `env`.
   */
  encryptionKeys?: string[];
  /** Where the keys are read from when `encryptionKeys` is absent. Default: the runtime's environment. */
  env?: EnvRecord;
  /** Deadline of the whole call in milliseconds; `0` for none. Default 60 000. */
  timeoutMs?: number;
  /** How long a statement may wait behind another session's lock, in milliseconds; `0` waits forever. Default 30 000. */
  lockTimeoutMs?: number;
}

/** Options of {@link rotateEncryptionKeys} and {@link decryptAtRest}. */
export interface EncryptionOptions extends EncryptionStatusOptions {
  /**
   * Also bounds the wait for advisory lock 10. Default 30 000.
   */
  lockTimeoutMs?: number;
  /** Receives one line per step, after the commit; never a key or a value. Default: none. */
  logger?: Logger;
  /** Rows read and rewritten per statement, 1 to 10 000. Default {@link DEFAULT_ENCRYPTION_BATCH_SIZE}. */
  batchSize?: number;
}

/** An active key that a rewrite left active, and why. */
export interface KeyNotRevoked {
  /** The key id (`dbcrypt_keys.active_key_digest`). */
  digest: string;
  /**
   * Why: typically `still referenced from table user_links (foreign key …)`,
   * another Coder table still holding values encrypted with it. Run Coder's
   * own `dbcrypt rotate` (or `decrypt`) for those tables, then this again.
   */
  reason: string;
}

/** What {@link rotateEncryptionKeys} or {@link decryptAtRest} did, in the transaction it committed. */
export interface EncryptionRewrite {
  /** The key every value is now encrypted with; `null` after {@link decryptAtRest} (everything is plaintext). */
  primary: string | null;
  /** Whether this call registered `primary` in `dbcrypt_keys` (it was not there). */
  registered: boolean;
  /** `ai_provider_keys.api_key` values rewritten (re-encrypted, encrypted from plaintext, or decrypted). */
  keys: number;
  /** `ai_providers.settings` values rewritten. */
  settings: number;
  /** Key ids revoked in `dbcrypt_keys`, in `number` order. */
  revoked: string[];
  /** Active keys other than `primary` that could not be revoked, in `number` order. */
  notRevoked: KeyNotRevoked[];
}

/** How many values one key id holds. */
export interface KeyIdValues {
  /** The key id; `null` for plaintext. */
  keyId: string | null;
  /** `ai_provider_keys.api_key` values. */
  keys: number;
  /** `ai_providers.settings` values (providers without settings are not counted). */
  settings: number;
  /** Whether a configured key has this id; always `true` for plaintext. */
  configured: boolean;
}

/** A row of `dbcrypt_keys`. */
export interface DbcryptKeyState {
  /** Its number (the order keys were registered in). */
  number: number;
  /** Set while the key may encrypt and decrypt. */
  activeKeyDigest: string | null;
  /** Set once the key was revoked (it can never be primary again). */
  revokedKeyDigest: string | null;
  /** When it was registered, as the server's JSON timestamp. */
  createdAt: string;
  /** When it was revoked. */
  revokedAt: string | null;
  /** Whether a configured key has this row's digest. */
  configured: boolean;
  /** Whether its `test` value decrypts to `coder` with the configured key; `null` when the key is not configured. */
  testOk: boolean | null;
}

/** A key id stored values use that no configured key has. */
export interface MissingEncryptionKey {
  /** The key id. */
  keyId: string;
  /** The providers (by name) whose API keys or settings use it. */
  providers: string[];
}

/** Which key encrypts what, from {@link encryptionStatus}. */
export interface EncryptionStatus {
  /** The configured primary key's id; `null` when no key is configured. */
  primary: string | null;
  /** Every configured key's id, primary first. */
  configured: string[];
  /** Values per key id, plaintext (`keyId: null`) first, then by key id. */
  values: KeyIdValues[];
  /** The rows of `dbcrypt_keys` by number; `null` when the table does not exist. */
  dbcryptKeys: DbcryptKeyState[] | null;
  /** Key ids in use that are not configured: values nobody here can read. */
  missing: MissingEncryptionKey[];
}

function checkBatchSize(value: number | undefined): number {
  const size = value ?? DEFAULT_ENCRYPTION_BATCH_SIZE;
  if (!Number.isInteger(size) || size < 1 || size > 10_000) {
    throw new ConfigError([`batchSize must be a whole number from 1 to 10000, got ${value}`]);
  }
  return size;
}

async function configuredKeys(options: EncryptionStatusOptions): Promise<Keyring | null> {
  const env = options.encryptionKeys === undefined ? options.env ?? runtimeEnv() : {};
  return await keyringFrom(options.encryptionKeys, env);
}

function quoteList(names: string[]): string {
  const shown = names.slice(0, 5).map((n) => JSON.stringify(n)).join(", ");
  return names.length > 5 ? `${shown} and ${names.length - 5} more` : shown;
}

function missingKeys(usage: RawUsage[], keyring: Keyring | null): MissingEncryptionKey[] {
  return usage
    .filter((u) => u.key_id !== null && keyring?.byDigest.get(u.key_id) === undefined)
    .map((u) => ({ keyId: u.key_id!, providers: u.providers }));
}

function missingError(missing: MissingEncryptionKey[], doing: string): SeedError {
  const lines = missing.map((m) =>
    `AI ${m.providers.length === 1 ? "provider" : "providers"} ${
      quoteList(m.providers)
    }: API keys or settings are encrypted with key ${m.keyId}, which is not configured`
  );
  return new SeedError(
    "encryption_key_missing",
    `${doing}: ${lines.join("; ")}; set ${ENCRYPTION_KEYS_VARIABLE} (or the encryptionKeys option) to a key list that includes ${
      missing.length === 1 ? "it" : "them"
    }; nothing was written`,
  );
}

async function testDecrypts(row: RawDbcryptKey, keyring: Keyring | null): Promise<boolean | null> {
  const digest = row.active_key_digest ?? row.revoked_key_digest;
  const key = digest === null ? undefined : keyring?.byDigest.get(digest);
  if (key === undefined) return null;
  try {
    return await decryptValue(key, row.test) === "coder";
  } catch {
    return false;
  }
}

function kindName(kind: ValueKind): string {
  return kind === "keys" ? "an API key" : "its settings";
}

function rowName(kind: ValueKind, id: string): string {
  return kind === "keys" ? `ai_provider_keys row ${id}` : `ai_providers row ${id}`;
}

/** The new content of one value, or `null` when it stays as it is. */
async function rewriteValue(
  row: RawValue,
  kind: ValueKind,
  keyring: Keyring | null,
  target: EncryptionKey | null,
  doing: string,
): Promise<NewValue | null> {
  const keyId = row.key_id === "" ? null : row.key_id;
  if (row.value === null) return keyId === null ? null : { id: row.id, value: null, key_id: null };
  let plain = row.value;
  if (keyId !== null) {
    if (target !== null && keyId === target.digest) return null;
    const key = keyring?.byDigest.get(keyId);
    if (key === undefined) throw missingError([{ keyId, providers: [row.name] }], doing);
    try {
      plain = await decryptValue(key, row.value);
    } catch (err) {
      const reason = err instanceof DecryptFailure ? err.reason : "decryption failed";
      throw new SeedError(
        "decrypt_failed",
        `${doing}: AI provider ${JSON.stringify(row.name)}: ${kindName(kind)} (${
          rowName(kind, row.id)
        }) does not decrypt with key ${keyId} (${reason}); the value or its key id was changed outside Coder and this library. Restore the row, or delete it and seed it again; nothing was written`,
      );
    }
  }
  // Blank values are never encrypted: they stay (or become) plaintext with a NULL key id.
  if (target === null || plain.trim() === "") return keyId === null ? null : { id: row.id, value: plain, key_id: null };
  return { id: row.id, value: await encryptValue(target, plain), key_id: target.digest };
}

async function rewriteAll(
  tx: EncryptionTransaction,
  kind: ValueKind,
  keyring: Keyring | null,
  target: EncryptionKey | null,
  batchSize: number,
  doing: string,
): Promise<number> {
  let after: string | null = null;
  let count = 0;
  for (;;) {
    const rows = await tx.batch(kind, after, target?.digest ?? null, batchSize);
    if (rows.length === 0) return count;
    after = rows[rows.length - 1].id;
    const changes: NewValue[] = [];
    for (const row of rows) {
      const change = await rewriteValue(row, kind, keyring, target, doing);
      if (change !== null) changes.push(change);
    }
    await tx.update(kind, changes);
    count += changes.length;
    if (rows.length < batchSize) return count;
  }
}

function lockedError(err: unknown, doing: string, lockTimeoutMs: number): unknown {
  if ((err as { code?: unknown })?.code !== "55P03") return err;
  return new SeedError(
    "table_locked",
    `${doing}: waited more than ${lockTimeoutMs} ms for a lock on a row of the ai_providers tables or dbcrypt_keys held by another session; nothing was written. Retry, or raise lockTimeoutMs`,
  );
}

async function rewrite(sql: Sql, options: EncryptionOptions, mode: "rotate" | "decrypt"): Promise<EncryptionRewrite> {
  const doing = mode === "rotate" ? "rotate the encryption keys" : "decrypt the AI provider secrets";
  try {
    const checked = lockOptions({ timeoutMs: options.timeoutMs, lockTimeoutMs: options.lockTimeoutMs });
    const batchSize = checkBatchSize(options.batchSize);
    const keyring = await configuredKeys(options);
    const primary = mode === "rotate" ? keyring?.primary ?? null : null;
    if (mode === "rotate" && primary === null) {
      throw new ConfigError([
        `no encryption key is configured: set ${ENCRYPTION_KEYS_VARIABLE} (or the encryptionKeys option), new key first; to turn encryption off, decrypt instead`,
      ]);
    }
    const deadline = new CallDeadline(checked.timeoutMs, doing);
    const store = new EncryptionStore(sql, deadline);
    let tx: EncryptionTransaction;
    try {
      tx = await store.lock({ lockTimeoutMs: checked.lockTimeoutMs, applicationName: checked.applicationName }, doing);
    } catch (err) {
      if (err instanceof LockTimeoutError) throw new LockTimeoutError(err.timeoutMs, await new Store(sql, deadline).lockHolder());
      throw err;
    }
    let result: EncryptionRewrite;
    try {
      result = await rewriteLocked(tx, keyring, primary, batchSize, doing);
      await tx.commit();
    } catch (err) {
      await tx.rollback();
      throw lockedError(err, doing, checked.lockTimeoutMs);
    }
    logRewrite(options.logger ?? noopLogger, result, mode);
    return result;
  } catch (err) {
    throw databaseError(err, doing);
  }
}

async function rewriteLocked(
  tx: EncryptionTransaction,
  keyring: Keyring | null,
  primary: EncryptionKey | null,
  batchSize: number,
  doing: string,
): Promise<EncryptionRewrite> {
  checkSchema(tx.columns, doing);
  if (!("dbcrypt_keys.active_key_digest" in tx.columns)) {
    throw new SeedError("schema_missing", `${doing}: the dbcrypt_keys table does not exist; create it with applySchema(sql)`);
  }
  const before = await tx.status();
  const rows = before.dbcrypt_keys ?? [];
  if (primary !== null && rows.some((r) => r.revoked_key_digest === primary.digest)) {
    throw new SeedError(
      "encryption_key_revoked",
      `${doing}: encryption key ${primary.digest} (the first of the configured keys) was revoked in dbcrypt_keys and can never encrypt again; put a new key first in ${ENCRYPTION_KEYS_VARIABLE} (or encryptionKeys); nothing was written`,
    );
  }
  // Every value this call must read has to be readable before anything is written.
  const missing = missingKeys(before.usage, keyring);
  if (missing.length > 0) throw missingError(missing, doing);
  for (const row of rows) {
    if (row.active_key_digest !== null && await testDecrypts(row, keyring) === false) {
      throw new SeedError(
        "decrypt_failed",
        `${doing}: the test value of dbcrypt_keys row ${row.number} does not decrypt to "coder" with the configured key ${row.active_key_digest}: that key is not the one that registered the row (or the row was changed); nothing was written`,
      );
    }
  }

  let registered = false;
  if (primary !== null && !rows.some((r) => r.active_key_digest === primary.digest)) {
    registered = await tx.register(primary.digest, await encryptValue(primary, "coder"));
  }
  const keys = await rewriteAll(tx, "keys", keyring, primary, batchSize, doing);
  const settings = await rewriteAll(tx, "settings", keyring, primary, batchSize, doing);

  // Revoke every other active key nothing of ours uses any more; another
  // table's foreign key may still refuse, and that key stays active.
  const after = await tx.status();
  const inUse = new Set(after.usage.map((u) => u.key_id).filter((k) => k !== null));
  const revoked: string[] = [];
  const notRevoked: KeyNotRevoked[] = [];
  for (const row of after.dbcrypt_keys ?? []) {
    const digest = row.active_key_digest;
    if (digest === null || digest === primary?.digest) continue;
    if (inUse.has(digest)) {
      notRevoked.push({ digest, reason: "still used by ai_providers or ai_provider_keys" });
      continue;
    }
    const outcome = await tx.revoke(digest);
    if (outcome.revoked) revoked.push(digest);
    else notRevoked.push({ digest, reason: outcome.reason });
  }
  return { primary: primary?.digest ?? null, registered, keys, settings, revoked, notRevoked };
}

function logRewrite(logger: Logger, result: EncryptionRewrite, mode: "rotate" | "decrypt"): void {
  if (result.registered) logger.info("registered encryption key in dbcrypt_keys", { digest: result.primary });
  if (mode === "rotate") {
    logger.info("re-encrypted ai provider secrets", { primary: result.primary, keys: result.keys, settings: result.settings });
  } else {
    logger.info("decrypted ai provider secrets", { keys: result.keys, settings: result.settings });
  }
  for (const digest of result.revoked) logger.info("revoked encryption key", { digest });
  for (const k of result.notRevoked) logger.warn("encryption key left active", { digest: k.digest, reason: k.reason });
}

/**
 * Re-encrypts every `ai_provider_keys.api_key` and `ai_providers.settings`
 * value that is not under the first configured key (plaintext ones too;
 * blank values stay plaintext with a NULL key id), then revokes, as Coder's
 * `dbcrypt rotate` does, every other active key in `dbcrypt_keys` that no
 * value references any more.
 *
 * It runs **in one transaction under advisory lock 10** (the seed's lock,
 * so it never interleaves with a seed), reading and rewriting
 * `batchSize` rows per statement with the rows locked (`for update`)
 * against other writers. Either everything is rewritten or nothing is: a
 * value whose key is not configured (`encryption_key_missing`, naming the
 * provider, the key id and the variable), a value that does not decrypt
 * (`decrypt_failed`), a revoked primary (`encryption_key_revoked`), a
 * timeout or any database error rolls it all back. Running it again is
 * safe and does only what is left.
 *
 * The primary key is registered in `dbcrypt_keys` first when missing. A
 * key that another table (Coder's `user_links`, …) still references
 * through its foreign key cannot be revoked: each revocation runs in a
 * savepoint, and such a key is listed in `notRevoked` instead of failing
 * the rotation.
 *
 * No key, stored value or plaintext appears in any message, log line or
 * result: only key ids (digests), provider names and counts.
 *
 * @example
 * ```ts
 * import postgres from "postgres";
 * import { applySchema, decryptAtRest, encryptionStatus, rotateEncryptionKeys, seedAIProvidersFromEnv } from "@aibridge/seed";
 * import assert from "node:assert/strict";
 *
 * const sql = postgres(Deno.env.get("DATABASE_URL")!, { onnotice: () => {} });
 * // A fresh key for the example; a deployment reads CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS.
 * const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))));
 * const env = { CODER_AIBRIDGE_PROVIDER_0_TYPE: "openai", CODER_AIBRIDGE_PROVIDER_0_NAME: "rotate-example", CODER_AIBRIDGE_PROVIDER_0_KEY: "sk-rotate-example" };
 * const apiKey = async () => [
 *   ...await sql`select k.api_key, k.api_key_key_id from ai_provider_keys k join ai_providers p on p.id = k.provider_id where p.name = 'rotate-example'`,
 * ];
 * let primary: string | null = null;
 * try {
 *   await applySchema(sql);
 *   await seedAIProvidersFromEnv(sql, { env, encryptionKeys: [] }); // stored in plaintext
 *   const rotated = await rotateEncryptionKeys(sql, { encryptionKeys: [key] }); // every stored value, under lock 10
 *   primary = rotated.primary;
 *   assert.match(primary!, /^[0-9a-f]{7}$/); // the key id
 *   assert.equal(rotated.registered, true); // a new row in dbcrypt_keys
 *   assert.ok(rotated.keys >= 1);
 *   const [encrypted] = await apiKey();
 *   assert.equal(encrypted.api_key_key_id, primary);
 *   assert.notEqual(encrypted.api_key, "sk-rotate-example"); // base64 of nonce, ciphertext and tag
 *
 *   const plain = await decryptAtRest(sql, { encryptionKeys: [key] }); // back to plaintext; the key is revoked
 *   assert.equal(plain.primary, null);
 *   assert.ok(plain.revoked.includes(primary!));
 *   assert.deepEqual(await apiKey(), [{ api_key: "sk-rotate-example", api_key_key_id: null }]);
 * } finally {
 *   await sql`delete from ai_provider_audit where entry::jsonb ->> 'providerName' = 'rotate-example'`;
 *   await sql`delete from ai_providers where name = 'rotate-example'`; // its keys go with it
 *   if (primary !== null) await sql`delete from dbcrypt_keys where coalesce(active_key_digest, revoked_key_digest) = ${primary}`;
 *   await sql.end();
 * }
 * ```
 *
 * @param sql A `postgres` client, configured as the host likes.
 * @param options The keys (default `CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS` from `env`), bounds, batch size and logger.
 * @returns The counts of rewritten values and which old keys were revoked.
 * @throws {ConfigError} when no key is configured, a key is malformed (naming its position) or an option is invalid.
 * @throws {LockTimeoutError} when lock 10 is not granted within `lockTimeoutMs`.
 * @throws {SeedError} `encryption_key_missing`, `decrypt_failed`, `encryption_key_revoked`, `schema_missing`,
 *   `table_locked`, `timeout`, `commit_unknown` (run again), `database_error`; nothing was written except after `commit_unknown`.
 */
export async function rotateEncryptionKeys(sql: Sql, options: EncryptionOptions = {}): Promise<EncryptionRewrite> {
  return await rewrite(sql, options, "rotate");
}

/**
 * Turns every encrypted `ai_provider_keys.api_key` and
 * `ai_providers.settings` value back to plaintext with a NULL key id,
 * then revokes every active key in `dbcrypt_keys` that no value
 * references any more (as Coder's `dbcrypt decrypt` does; a key another
 * table still uses is listed in `notRevoked`). Same transaction, lock,
 * batches and errors as {@link rotateEncryptionKeys}; every key that
 * encrypted a stored value must be configured. Afterwards, seed without
 * keys, or the values are encrypted again.
 *
 * @example
 * ```ts
 * import postgres from "postgres";
 * import { applySchema, decryptAtRest, seedAIProvidersFromEnv } from "@aibridge/seed";
 * import assert from "node:assert/strict";
 *
 * const sql = postgres(Deno.env.get("DATABASE_URL")!, { onnotice: () => {} });
 * const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))));
 * const env = { CODER_AIBRIDGE_PROVIDER_0_TYPE: "openai", CODER_AIBRIDGE_PROVIDER_0_NAME: "decrypt-example", CODER_AIBRIDGE_PROVIDER_0_KEY: "sk-decrypt-example" };
 * const apiKey = async () => [
 *   ...await sql`select k.api_key, k.api_key_key_id from ai_provider_keys k join ai_providers p on p.id = k.provider_id where p.name = 'decrypt-example'`,
 * ];
 * let keyId: string | null = null;
 * try {
 *   await applySchema(sql);
 *   await seedAIProvidersFromEnv(sql, { env, encryptionKeys: [key] }); // the API key is stored encrypted
 *   [{ api_key_key_id: keyId }] = await apiKey();
 *   assert.match(keyId!, /^[0-9a-f]{7}$/);
 *
 *   const result = await decryptAtRest(sql, { encryptionKeys: [key] });
 *   assert.equal(result.primary, null);
 *   assert.ok(result.keys >= 1 && result.revoked.includes(keyId!));
 *   assert.deepEqual(await apiKey(), [{ api_key: "sk-decrypt-example", api_key_key_id: null }]);
 * } finally {
 *   await sql`delete from ai_provider_audit where entry::jsonb ->> 'providerName' = 'decrypt-example'`;
 *   await sql`delete from ai_providers where name = 'decrypt-example'`;
 *   if (keyId !== null) await sql`delete from dbcrypt_keys where coalesce(active_key_digest, revoked_key_digest) = ${keyId}`;
 *   await sql.end();
 * }
 * ```
 *
 * @param sql A `postgres` client.
 * @param options The keys that decrypt (default `CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS` from `env`), bounds, batch size and logger.
 * @returns The counts of decrypted values and which keys were revoked; `primary` is `null`.
 * @throws {ConfigError} when a key is malformed or an option is invalid.
 * @throws {LockTimeoutError} when lock 10 is not granted within `lockTimeoutMs`.
 * @throws {SeedError} `encryption_key_missing`, `decrypt_failed`, `schema_missing`, `table_locked`, `timeout`,
 *   `commit_unknown`, `database_error`.
 */
export async function decryptAtRest(sql: Sql, options: EncryptionOptions = {}): Promise<EncryptionRewrite> {
  return await rewrite(sql, options, "decrypt");
}

/**
 * Reports which key encrypts what: values per key id (plaintext under
 * `null`), the rows of `dbcrypt_keys` (with whether each `test` value
 * decrypts with the configured key), and the key ids in use that are not
 * configured. Read-only, lock-free (two statements, no transaction),
 * bounded by `lockTimeoutMs` and `timeoutMs`. Never fails because a key
 * is missing: that is what it reports.
 *
 * @example
 * ```ts
 * import postgres from "postgres";
 * import { applySchema, encryptionStatus } from "@aibridge/seed";
 * import assert from "node:assert/strict";
 *
 * const sql = postgres(Deno.env.get("DATABASE_URL")!, { onnotice: () => {} });
 * const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))));
 * try {
 *   await applySchema(sql);
 *   const status = await encryptionStatus(sql, { encryptionKeys: [key] }); // reads, never writes
 *   assert.match(status.primary!, /^[0-9a-f]{7}$/); // the key id: 7 hex digits of a SHA-256
 *   assert.deepEqual(status.configured, [status.primary]);
 *   assert.deepEqual(status.missing, []); // no stored value uses a key that is not configured
 *   assert.ok(status.values.every((v) => v.configured));
 * } finally {
 *   await sql.end();
 * }
 * ```
 *
 * @param sql A `postgres` client.
 * @param options The configured keys (default `CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS` from `env`) and bounds.
 * @returns The status.
 * @throws {ConfigError} when a key is malformed or an option is invalid.
 * @throws {SeedError} `schema_missing`, `schema_mismatch`, `table_locked`, `timeout`, `database_error`.
 */
export async function encryptionStatus(sql: Sql, options: EncryptionStatusOptions = {}): Promise<EncryptionStatus> {
  const doing = "read the encryption status";
  try {
    const checked = lockOptions({ timeoutMs: options.timeoutMs, lockTimeoutMs: options.lockTimeoutMs });
    const keyring = await configuredKeys(options);
    let raw: RawStatus;
    try {
      raw = await new EncryptionStore(sql, new CallDeadline(checked.timeoutMs, doing)).status(checked.lockTimeoutMs);
    } catch (err) {
      throw lockedError(err, doing, checked.lockTimeoutMs);
    }
    checkSchema(raw.columns, doing);
    const configured = (keyId: string | null): boolean => keyId === null || keyring?.byDigest.has(keyId) === true;
    const dbcryptKeys = raw.dbcrypt_keys === null ? null : await Promise.all(raw.dbcrypt_keys.map(async (r) => ({
      number: r.number,
      activeKeyDigest: r.active_key_digest,
      revokedKeyDigest: r.revoked_key_digest,
      createdAt: r.created_at,
      revokedAt: r.revoked_at,
      configured: (r.active_key_digest ?? r.revoked_key_digest) !== null && configured(r.active_key_digest ?? r.revoked_key_digest),
      testOk: await testDecrypts(r, keyring),
    })));
    return {
      primary: keyring?.primary?.digest ?? null,
      configured: keyring?.keys.map((k) => k.digest) ?? [],
      values: raw.usage.map((u) => ({ keyId: u.key_id, keys: u.keys, settings: u.settings, configured: configured(u.key_id) })),
      dbcryptKeys,
      missing: missingKeys(raw.usage, keyring),
    };
  } catch (err) {
    throw databaseError(err, doing);
  }
}
