/**
 * Internal. The statements of `rotateEncryptionKeys`, `decryptAtRest` and
 * `encryptionStatus`, in the style of `_store.ts`: simple protocol, no
 * parameters, every value written into the statement by `literal()` or
 * `jsonLiteral()`, and every result one `text` column of JSON built by
 * Postgres, read raw. So they behave the same whatever client the host
 * hands in. The transaction under lock 10 is `_transaction.ts`'s, as the
 * seed's is: no cancel request, the connection given back only once its
 * rollback settled (a broken one never), no commit sent after the
 * deadline.
 *
 * @module
 */
import { CountingStore, jsonLiteral, jsonOf, literal, lockConnection, Locked, lockFreeBounds } from "./_transaction.ts";
import { SeedError } from "./errors.ts";

/** Values of one key id (`null`: plaintext), with the providers they belong to. */
export interface RawUsage {
  key_id: string | null;
  keys: number;
  settings: number;
  providers: string[];
}

/** A row of `dbcrypt_keys` as read (the `test` value is ciphertext of the word `coder`). */
export interface RawDbcryptKey {
  number: number;
  active_key_digest: string | null;
  revoked_key_digest: string | null;
  created_at: string;
  revoked_at: string | null;
  test: string;
}

/** What one status read returns. */
export interface RawStatus {
  /** `table.column` → type for the tables involved. */
  columns: Record<string, string>;
  /** Values per key id, plaintext under `null`. */
  usage: RawUsage[];
  /** `null` when the `dbcrypt_keys` table does not exist. */
  dbcrypt_keys: RawDbcryptKey[] | null;
}

/** One stored secret (an API key or a provider's settings), as a batch reads it. */
export interface RawValue {
  id: string;
  /** The provider's name, for messages. */
  name: string;
  value: string | null;
  key_id: string | null;
}

/** The new content of one stored secret. */
export interface NewValue {
  id: string;
  value: string | null;
  key_id: string | null;
}

/** Which column a batch reads or writes. */
export type ValueKind = "keys" | "settings";

const TABLES = ["ai_providers", "ai_provider_keys", "dbcrypt_keys"];

const COLUMNS = `select coalesce(json_object_agg(c.relname || '.' || a.attname, format_type(a.atttypid, a.atttypmod)), '{}'::json)::text
  from pg_attribute a join pg_class c on c.oid = a.attrelid
  where a.attrelid in (${TABLES.map((t) => `to_regclass('${t}')`).join(", ")}) and a.attnum > 0 and not a.attisdropped`;

// Plaintext (a NULL or empty key id) is counted under null. NULL settings
// are no value at all; an API key is NOT NULL in Coder's schema.
const USAGE = `(select coalesce(json_agg(json_build_object('key_id', u.key_id, 'keys', u.keys, 'settings', u.settings,
      'providers', u.providers) order by u.key_id nulls first), '[]'::json)
    from (select key_id, sum(keys)::int as keys, sum(settings)::int as settings, array_agg(distinct name order by name) as providers
      from (select nullif(k.api_key_key_id, '') as key_id, 1 as keys, 0 as settings, p.name
          from ai_provider_keys k join ai_providers p on p.id = k.provider_id
        union all
        select nullif(p.settings_key_id, ''), 0, 1, p.name from ai_providers p
          where p.settings is not null or coalesce(p.settings_key_id, '') <> '') v
      group by key_id) u)`;

const DBCRYPT_KEYS = `(select coalesce(json_agg(json_build_object('number', d.number, 'active_key_digest', d.active_key_digest,
      'revoked_key_digest', d.revoked_key_digest, 'created_at', d.created_at, 'revoked_at', d.revoked_at, 'test', d.test)
      order by d.number), '[]'::json) from dbcrypt_keys d)`;

function statusStatement(dbcryptKeys: boolean): string {
  return `select json_build_object('usage', ${USAGE}, 'dbcrypt_keys', ${dbcryptKeys ? DBCRYPT_KEYS : "null"})::text`;
}

function batchStatement(kind: ValueKind, after: string | null, skipKeyId: string | null, limit: number): string {
  const [alias, keyId] = kind === "keys" ? ["k", "k.api_key_key_id"] : ["p", "p.settings_key_id"];
  const where = [kind === "keys" ? "true" : "(p.settings is not null or coalesce(p.settings_key_id, '') <> '')"];
  where.push(skipKeyId === null ? `coalesce(${keyId}, '') <> ''` : `${keyId} is distinct from ${literal(skipKeyId)}`);
  if (after !== null) where.push(`${alias}.id > ${literal(after)}::uuid`);
  const rows = kind === "keys"
    ? `select k.id, p.name, k.api_key as value, k.api_key_key_id as key_id from ai_provider_keys k join ai_providers p on p.id = k.provider_id`
    : `select p.id, p.name, p.settings as value, p.settings_key_id as key_id from ai_providers p`;
  return `select coalesce(json_agg(json_build_object('id', x.id::text, 'name', x.name, 'value', x.value, 'key_id', x.key_id)
      order by x.id), '[]'::json)::text
    from (${rows} where ${where.join(" and ")} order by ${alias}.id limit ${limit} for update of ${alias}) x`;
}

function updateStatement(kind: ValueKind, rows: NewValue[]): string {
  const [table, value, keyId] = kind === "keys"
    ? ["ai_provider_keys", "api_key", "api_key_key_id"]
    : ["ai_providers", "settings", "settings_key_id"];
  // updated_at is left alone: the value is the same, only its encryption changed.
  return `with u as (update ${table} t set ${value} = r.value, ${keyId} = r.key_id
      from json_to_recordset(${jsonLiteral(rows)}::json) as r(id uuid, value text, key_id text)
      where t.id = r.id returning 1)
    select count(*)::text from u`;
}

/** The lock-free statements of `encryptionStatus`. */
export class EncryptionStore extends CountingStore {
  /**
   * Two lock-free round trips: which tables and columns exist, then the
   * values per key id and the `dbcrypt_keys` rows (when the table exists).
   * Each bounded on the server by `lock_timeout` and `statement_timeout`.
   */
  async status(lockTimeoutMs: number): Promise<RawStatus> {
    const bounds = (): string => lockFreeBounds(this.deadline, lockTimeoutMs).settings;
    const columns = jsonOf<Record<string, string>>(await this.one(`${bounds()}; ${COLUMNS}`, 2, "read the tables' columns"));
    if (!("ai_providers.settings" in columns && "ai_provider_keys.api_key" in columns)) return { columns, usage: [], dbcrypt_keys: null };
    const status = jsonOf<Omit<RawStatus, "columns">>(
      await this.one(`${bounds()}; ${statusStatement("dbcrypt_keys.active_key_digest" in columns)}`, 2, "read the encryption status"),
    );
    return { columns, ...status };
  }

  private async one(statement: string, statements: number, doing: string): Promise<unknown> {
    const query = this.sql.unsafe(statement);
    this.statements += statements;
    this.roundTrips++;
    // Not cancelled at the deadline: the server's statement_timeout ends it
    // (see LockedConnection.abandon in _transaction.ts for why a cancel is no good).
    const results = await this.deadline.race(query.raw(), doing, () => query.catch(() => {})) as unknown as unknown[];
    // A multi-statement query resolves to one result per statement.
    return statements > 1 ? results.at(-1) : results;
  }

  /**
   * Opens a transaction on a reserved connection and, in one round trip,
   * sets its timeouts and name, takes advisory lock 10 and reads the
   * tables' columns under it (`_transaction.ts`: lockConnection). `doing`
   * names the call in the commit's errors.
   *
   * @throws {LockTimeoutError} (without its holder) when the lock is not granted in time.
   */
  async lock(settings: { lockTimeoutMs: number; applicationName: string | null }, doing: string): Promise<EncryptionTransaction> {
    return new EncryptionTransaction(
      await lockConnection(this.sql, this.deadline, this, {
        lockTimeoutMs: settings.lockTimeoutMs,
        lockBudgetEnd: Infinity,
        applicationName: settings.applicationName,
        reads: [COLUMNS],
        decode: (results) => jsonOf<Record<string, string>>(results.at(-1)),
        doing,
        ifUnknown: "the values may or may not have been rewritten. Run it again: it only rewrites what is not done yet",
      }),
    );
  }
}

/** Why a key could not be revoked, or `null` when it was. */
export type RevokeOutcome = { revoked: true } | { revoked: false; reason: string };

/** The open transaction of a rotation or decryption, holding advisory lock 10. */
export class EncryptionTransaction extends Locked<Record<string, string>> {
  /** The tables' columns, as read under the lock. */
  get columns(): Record<string, string> {
    return this.read;
  }

  private async text(statement: string, doing: string): Promise<string> {
    return new TextDecoder().decode((await this.conn.query(statement, doing) as Uint8Array[][])[0][0]);
  }

  /** Values per key id and the `dbcrypt_keys` rows, under the lock. */
  async status(): Promise<Omit<RawStatus, "columns">> {
    return JSON.parse(await this.text(statusStatement("dbcrypt_keys.active_key_digest" in this.columns), "read the encryption status"));
  }

  /**
   * Registers `digest` in `dbcrypt_keys` (number = highest + 1) unless it is
   * there; resolves to whether this call inserted it. Under lock 10 only
   * Coder itself could race, and `on conflict` absorbs that.
   */
  async register(digest: string, test: string): Promise<boolean> {
    const text = await this.text(
      `with i as (insert into dbcrypt_keys (number, active_key_digest, test)
        select coalesce(max(number), 0) + 1, ${literal(digest)}, ${literal(test)} from dbcrypt_keys
        on conflict do nothing returning 1)
      select json_build_object('inserted', (select count(*) from i) > 0,
        -- the statement's snapshot does not see its own insert
        'active', (select count(*) from i) > 0 or exists(select 1 from dbcrypt_keys where active_key_digest = ${literal(digest)}))::text`,
      "register the encryption key in dbcrypt_keys",
    );
    const { inserted, active } = JSON.parse(text) as { inserted: boolean; active: boolean };
    if (!active) {
      throw new SeedError(
        "database_error",
        `register encryption key ${digest} in dbcrypt_keys: another writer took its number at the same moment; nothing was written. Run it again`,
      );
    }
    return inserted;
  }

  /**
   * The next `limit` values of `kind` after row id `after`, in id order,
   * locked (`for update`) so no other writer changes them before the
   * update. With `skipKeyId`, rows already under that key are left out;
   * with `null`, only encrypted rows (a non-empty key id) are read.
   */
  async batch(kind: ValueKind, after: string | null, skipKeyId: string | null, limit: number): Promise<RawValue[]> {
    return JSON.parse(await this.text(batchStatement(kind, after, skipKeyId, limit), `read a batch of ${kindText(kind)}`));
  }

  /** Writes new values of `kind` in one statement. */
  async update(kind: ValueKind, rows: NewValue[]): Promise<void> {
    if (rows.length === 0) return;
    const count = Number(await this.text(updateStatement(kind, rows), `rewrite a batch of ${kindText(kind)}`));
    if (count !== rows.length) {
      throw new SeedError(
        "database_error",
        `rewrite a batch of ${kindText(kind)}: ${count} of ${rows.length} rows were updated; nothing was written`,
      );
    }
  }

  /**
   * Revokes active key `digest` as Coder's `dbcrypt rotate` does
   * (`revoked_key_digest` set, `active_key_digest` NULL, `revoked_at`
   * now), inside a savepoint: when a foreign key refuses (another table
   * still uses the key) the savepoint is rolled back, the transaction goes
   * on and the reason is returned.
   */
  async revoke(digest: string): Promise<RevokeOutcome> {
    await this.conn.query("savepoint aibridge_revoke", "revoke an encryption key");
    try {
      const text = await this.text(
        `with r as (update dbcrypt_keys set revoked_key_digest = active_key_digest, active_key_digest = null, revoked_at = now()
          where active_key_digest = ${literal(digest)} and revoked_key_digest is null returning 1)
        select count(*)::text from r`,
        "revoke an encryption key",
      );
      await this.conn.query("release savepoint aibridge_revoke", "revoke an encryption key");
      return Number(text) === 1 ? { revoked: true } : { revoked: false, reason: "its dbcrypt_keys row is no longer active" };
    } catch (err) {
      const e = err as { code?: unknown; table_name?: unknown; constraint_name?: unknown };
      if (e?.code !== "23503" && e?.code !== "23505") throw err;
      await this.conn.query("rollback to savepoint aibridge_revoke", "revoke an encryption key");
      await this.conn.query("release savepoint aibridge_revoke", "revoke an encryption key");
      if (e.code === "23505") return { revoked: false, reason: "the digest is already revoked in another dbcrypt_keys row" };
      const table = typeof e.table_name === "string" ? ` from table ${e.table_name}` : "";
      const constraint = typeof e.constraint_name === "string" ? ` (foreign key ${e.constraint_name})` : "";
      return { revoked: false, reason: `still referenced${table}${constraint}` };
    }
  }

  /**
   * Sends `commit` (with the deadline's timeouts set again), unless the
   * deadline has passed. A failure to see its outcome is `commit_unknown`:
   * the rewrite may or may not have been committed, and running it again is safe.
   */
  async commit(): Promise<void> {
    await this.conn.commit([], "commit");
  }
}

function kindText(kind: ValueKind): string {
  return kind === "keys" ? "ai_provider_keys.api_key values" : "ai_providers.settings values";
}
