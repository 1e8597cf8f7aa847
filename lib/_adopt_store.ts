/**
 * Internal. The statements of `adoptProviders` and `restoreProviders`, in
 * the style of `_store.ts`: simple protocol and no parameters (every value
 * travels in one JSON document written into the statement by
 * `jsonLiteral()`), every result one `text` column of JSON built by Postgres
 * and read raw, each phase one Query message (begin, settings, lock 10 and
 * the read under it; then the writes and the commit), and every statement
 * bounded on the server by what is left of the deadline, so no cancel
 * request is ever sent. The transaction is `_transaction.ts`'s, as the
 * seed's is.
 *
 * The writes are guarded: an update names the values it read under the
 * lock, and when a row no longer has them (the API changed or deleted it
 * meanwhile: the API does not take lock 10) the statement fails, the
 * server skips the commit, and nothing is written.
 *
 * Below the statements: what both calls share around them (the names
 * checked, the refusal error, the read and the lock that name what blocks
 * them, audit delivery after the commit).
 *
 * @module
 */
import type { Deadline } from "./_deadline.ts";
import { deliverFromMemory, deliverFromTable, type Delivery } from "./_deliver.ts";
import {
  COLUMNS_JSON,
  DBCRYPT_KEYS_JSON,
  type DbcryptKeyRow,
  type NewAuditRow,
  type NewDbcryptKey,
  type RawProviderRow,
  registerKeyStatement,
  Store,
} from "./_store.ts";
import { checkSchema } from "./_stored.ts";
import { CountingStore, errorText, jsonLiteral, jsonOf, literal, lockConnection, Locked, lockFreeRead } from "./_transaction.ts";
import type { AuditEntry, AuditSink } from "./audit.ts";
import { ConfigError, LockTimeoutError, SeedError } from "./errors.ts";
import type { Logger } from "./logger.ts";
import type { AuditFailure, SeedTimings } from "./report.ts";
import type { Sql } from "./types.ts";

/** A row of `ai_providers` with a name asked for, as read. */
export interface NamedRow extends RawProviderRow {
  /** `enabled`; any column may hold what another writer put there. */
  enabled: boolean | null;
  /** Its `ai_provider_keys` rows. */
  key_count: number;
}

/** What one read returns: the shape `storedProviders` takes, with the named rows only. */
export interface NamedSnapshot {
  /** `table.column` → type, for the tables the library uses. */
  columns: Record<string, string>;
  /** The rows of the names asked for, by name, then most recently updated first. */
  rows: NamedRow[];
  /** Always `null`: not read here. */
  auditPending: null;
  /** The rows of `dbcrypt_keys`; `null` when not asked for. */
  dbcryptKeys: DbcryptKeyRow[] | null;
  /** The backend that answered. */
  pid: number;
}

/** New values for a live row, with the values it was read with (the guard). */
export interface ProviderUpdate {
  id: string;
  type: string;
  base_url: string;
  settings: string | null;
  settings_key_id: string | null;
  old_type: string;
  old_base_url: string;
  old_settings: string | null;
  old_settings_key_id: string | null;
}

/** Everything one adoption or restoration writes, in one transaction. */
export interface NamedWrites {
  /** A key to register in `dbcrypt_keys` before values encrypted with it are written. */
  dbcryptKey: NewDbcryptKey | null;
  /** Live rows to update (adopt). */
  updates: ProviderUpdate[];
  /** Ids of soft-deleted rows to bring back (restore). */
  restores: string[];
  /** Rows of the audit outbox (empty without the table). */
  audit: NewAuditRow[];
}

/** The marker of the statement a guard makes fail. */
const CHANGED = "aibridge-seed: rows changed since the read under the lock";

/** Whether `err` is the failure of a guard: a row changed between the read and the write. */
export function isRowChanged(err: unknown): boolean {
  return (err as { code?: unknown })?.code === "22P02" && String((err as Error)?.message).includes(CHANGED);
}

function readStatement(names: readonly string[], dbcryptKeys: boolean): string {
  return `select json_build_object('pid', pg_backend_pid(), 'columns', ${COLUMNS_JSON},
    'providers', (select coalesce(json_agg(json_build_object('id', p.id::text, 'name', p.name, 'type', p.type::text,
        'base_url', p.base_url, 'settings', p.settings, 'settings_key_id', p.settings_key_id, 'deleted', p.deleted,
        'enabled', p.enabled, 'key_count', (select count(*) from ai_provider_keys k where k.provider_id = p.id))
        order by p.name, p.updated_at desc nulls last, p.id), '[]'::json)
      from ai_providers p where p.name in (select json_array_elements_text(${jsonLiteral(names)}::json))),
    'dbcrypt_keys', ${dbcryptKeys ? DBCRYPT_KEYS_JSON : "null"})::text`;
}

function decodeSnapshot(result: unknown): NamedSnapshot {
  const doc = jsonOf<{
    pid: number;
    columns: Record<string, string>;
    providers: NamedRow[];
    dbcrypt_keys: DbcryptKeyRow[] | null;
  }>(result);
  return { pid: doc.pid, columns: doc.columns, rows: doc.providers, auditPending: null, dbcryptKeys: doc.dbcrypt_keys };
}

// A statement that fails (so the server skips the commit behind it) when
// the statement `cte` names changed fewer rows than `n`. The failing branch
// depends on the rows, so the planner cannot fold it into an error ahead of time.
function guarded(cte: string, n: number): string {
  return `select case when (select count(*) from ${cte}) = ${n} then 'ok'
    else (${literal(`${CHANGED}: `)} || (select count(*) from ${cte}) || ' of ${n} rows still as read')::int::text end`;
}

function writeStatements(writes: NamedWrites): string[] {
  const out: string[] = [];
  if (writes.dbcryptKey !== null) {
    out.push(registerKeyStatement(writes.dbcryptKey));
  }
  if (writes.updates.length > 0) {
    out.push(`with u as (update ai_providers p set type = r.type::ai_provider_type, base_url = r.base_url, settings = r.settings,
        settings_key_id = r.settings_key_id, updated_at = now()
      from json_to_recordset(${jsonLiteral(writes.updates)}::json) as r(id uuid, type text, base_url text, settings text,
        settings_key_id text, old_type text, old_base_url text, old_settings text, old_settings_key_id text)
      where p.id = r.id and p.deleted = false and p.type::text = r.old_type and p.base_url = r.old_base_url
        and p.settings is not distinct from r.old_settings and p.settings_key_id is not distinct from r.old_settings_key_id
      returning 1)
    ${guarded("u", writes.updates.length)}`);
  }
  if (writes.restores.length > 0) {
    // The partial unique index on live names refuses a live row that appeared meanwhile (23505).
    out.push(`with u as (update ai_providers p set deleted = false, enabled = true, updated_at = now()
      from json_array_elements_text(${jsonLiteral(writes.restores)}::json) as r(id)
      where p.id = r.id::uuid and p.deleted = true
      returning 1)
    ${guarded("u", writes.restores.length)}`);
  }
  if (writes.audit.length > 0) {
    out.push(`insert into ai_provider_audit (id, position, entry, delivered_at)
      select a.id, a.position, a.entry, case when a.delivered then clock_timestamp() end
      from json_to_recordset(${jsonLiteral(writes.audit)}::json)
        as a(id uuid, position int, entry text, delivered boolean)`);
  }
  return out;
}

/** The statements of one adoption or restoration, with their cost. */
export class NamedStore extends CountingStore {
  /**
   * One lock-free read of the named rows, in one round trip (the dry run).
   * `lock_timeout` and `statement_timeout` hold for it alone, so a
   * migration's lock on the tables makes it fail fast (SQLSTATE 55P03).
   */
  async read(names: readonly string[], lockTimeoutMs: number): Promise<NamedSnapshot> {
    return decodeSnapshot(
      await lockFreeRead(this.sql, this.deadline, this, readStatement(names, false), { lockTimeoutMs, doing: "read ai_providers" }),
    );
  }

  /**
   * Opens the transaction on a reserved connection and, in one round trip,
   * sets its timeouts and name, takes advisory lock 10 and reads the named
   * rows under it (`_transaction.ts`: lockConnection; read committed, so the
   * guarded updates see what the previous holder changed).
   *
   * @throws {LockTimeoutError} (without its holder) when the lock is not granted in time.
   */
  async lock(
    settings: { lockTimeoutMs: number; applicationName: string | null },
    names: readonly string[],
    options: { dbcryptKeys: boolean; doing: string },
  ): Promise<NamedTransaction> {
    return new NamedTransaction(
      await lockConnection(this.sql, this.deadline, this, {
        lockTimeoutMs: settings.lockTimeoutMs,
        lockBudgetEnd: Infinity,
        applicationName: settings.applicationName,
        reads: [readStatement(names, options.dbcryptKeys)],
        decode: (results) => decodeSnapshot(results.at(-1)),
        doing: options.doing,
        ifUnknown:
          "the change may or may not have been written. Read the rows (planSeed), or run it again: what is done already is reported unchanged or refused, and nothing is written twice",
      }),
    );
  }
}

/** The open transaction of an adoption or restoration, holding lock 10. */
export class NamedTransaction extends Locked<NamedSnapshot> {
  /** The named rows, as read under the lock. */
  get snapshot(): NamedSnapshot {
    return this.read;
  }

  /**
   * Sends the writes and `commit` in one round trip. Before the commit is
   * sent a failure means nothing was written (a guard that fails is a
   * changed row: {@link isRowChanged}); once it is sent, a failure to see
   * its outcome is `commit_unknown`.
   */
  async commit(writes: NamedWrites): Promise<void> {
    await this.conn.commit(writeStatements(writes), "commit");
  }
}

// --- What adoptProviders and restoreProviders share around the statements ---

/**
 * The provider names a call was given: a non-empty list of strings,
 * de-duplicated and sorted (the order results list them in).
 *
 * @throws {ConfigError} when the list is empty or holds anything but non-empty strings.
 */
export function checkNames(names: readonly string[], call: string): string[] {
  if (!Array.isArray(names)) throw new ConfigError([`${call}: names must be an array of provider names`]);
  const bad = names.filter((n) => typeof n !== "string" || n === "");
  if (bad.length > 0) {
    throw new ConfigError([`${call}: every name must be a non-empty string, got ${bad.map((b) => JSON.stringify(b)).join(", ")}`]);
  }
  if (names.length === 0) throw new ConfigError([`${call}: no provider name given; name at least one`]);
  return [...new Set(names)].sort();
}

/** One provider a call refuses, and why. */
export interface Refusal {
  /** `not_found` or `conflict`. */
  code: "not_found" | "conflict";
  /** `AI provider "x" …`, with the fix. */
  line: string;
}

/** What a call's result says about its audit delivery and its cost. */
export interface RunCost {
  auditDelivered: number;
  auditFailures: AuditFailure[];
  statements: number;
  roundTrips: number;
}

/** The delivery and cost fields of a result, counting the delivery's statements with the store's. */
export function runCost(store: CountingStore, delivery: Delivery & { statements: number; roundTrips: number }): RunCost {
  return {
    auditDelivered: delivery.delivered,
    auditFailures: delivery.failures,
    statements: store.statements + delivery.statements,
    roundTrips: store.roundTrips + delivery.roundTrips,
  };
}

/**
 * The error for every refused provider at once: `conflict` when any has
 * a live row in the way, else `not_found`. Nothing was written.
 */
export function refusalError(doing: string, refusals: Refusal[]): SeedError {
  const code = refusals.some((r) => r.code === "conflict") ? "conflict" : "not_found";
  return new SeedError(code, `${doing}: ${refusals.map((r) => r.line).join("; ")}; nothing was written`);
}

/**
 * The lock-free read of a dry run (adopt's and restore's alike): timed
 * into `timings.readMs`, the tables' columns checked, and what blocks it
 * named.
 */
export async function readNamed(
  sql: Sql,
  store: NamedStore,
  deadline: Deadline,
  names: readonly string[],
  lockTimeoutMs: number,
  doing: string,
  timings: SeedTimings,
): Promise<NamedSnapshot> {
  const t0 = performance.now();
  try {
    const snapshot = await store.read(names, lockTimeoutMs);
    timings.readMs = performance.now() - t0;
    checkSchema(snapshot.columns, doing);
    return snapshot;
  } catch (err) {
    if ((err as { code?: unknown })?.code === "55P03") {
      const holder = await new Store(sql, deadline).tableLockHolder();
      throw new SeedError(
        "table_locked",
        `${doing}: waited more than ${lockTimeoutMs} ms for a lock on the ai_providers tables, held by ${
          holder ?? "another session (gone by now)"
        }, e.g. a migration; nothing was written. Retry when it is done, or raise lockTimeoutMs`,
      );
    }
    if (err instanceof LockTimeoutError && err.holder === null) {
      throw new LockTimeoutError(err.timeoutMs, await new Store(sql, deadline).lockHolder());
    }
    throw err;
  }
}

/** Takes lock 10 and reads the named rows under it; a lock timeout names the holder. */
export async function lockNamed(
  sql: Sql,
  store: NamedStore,
  deadline: Deadline,
  settings: { lockTimeoutMs: number; applicationName: string | null },
  names: readonly string[],
  options: { dbcryptKeys: boolean; doing: string },
): Promise<NamedTransaction> {
  try {
    return await store.lock(settings, names, options);
  } catch (err) {
    if (err instanceof LockTimeoutError) throw new LockTimeoutError(err.timeoutMs, await new Store(sql, deadline).lockHolder());
    throw err;
  }
}

/** What a write failure means for an adoption or restoration: a changed row or a live name is `conflict`. */
export function writeFailure(err: unknown, doing: string): unknown {
  if (isRowChanged(err)) {
    return new SeedError(
      "conflict",
      `${doing}: a row changed (another writer updated or deleted it) between the read under the lock and the write; nothing was written. Run it again`,
    );
  }
  if ((err as { code?: unknown })?.code === "23505") {
    return new SeedError("conflict", `${doing}: another writer made a live provider of that name meanwhile; nothing was written`);
  }
  return err;
}

/**
 * Audit delivery after the commit, and only then: from the outbox when it
 * exists, else from memory. Never an error: the rows are committed, so a
 * failure to deliver is an audit failure in the result (with the outbox,
 * the entries stay there for the next run).
 */
export async function deliverCommitted(
  sql: Sql,
  deadline: Deadline,
  entries: readonly AuditEntry[],
  outbox: boolean,
  sink: AuditSink | undefined,
  logger: Logger,
): Promise<Delivery & { statements: number; roundTrips: number }> {
  if (sink === undefined) return { delivered: 0, failures: [], statements: 0, roundTrips: 0 };
  const store = new Store(sql, deadline);
  try {
    if (!outbox) return { ...await deliverFromMemory(entries, sink, logger, deadline), statements: 0, roundTrips: 0 };
    // The claim lasts as long as this call may still deliver, and a margin.
    const left = deadline.remaining();
    const delivery = await deliverFromTable(store, sink, logger, deadline, left === Infinity ? 600_000 : left + 5_000);
    return { ...delivery, statements: store.statements, roundTrips: store.roundTrips };
  } catch (err) {
    const message = errorText(err);
    logger.error("failed to deliver audit entries for ai providers", { error: message });
    const kept = outbox ? "; the entries stay in ai_provider_audit and are delivered by the next run" : "";
    return {
      delivered: 0,
      failures: [{ resourceType: "ai_provider", resourceId: "", message: `${message}${kept}` }],
      statements: store.statements,
      roundTrips: store.roundTrips,
    };
  }
}
