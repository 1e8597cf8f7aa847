/**
 * Internal. Every statement the library sends to Postgres, and the count of
 * statements and round trips they cost: the seed never counts by hand.
 *
 * Three rules make these statements give the same result whatever client
 * the host hands in (`transform: postgres.camel`, custom `types`,
 * `fetch_types: false`, `prepare`, `max: 1`, PgBouncer in transaction mode):
 *
 * - every statement is sent with the simple protocol and no parameters, so
 *   nothing is prepared (a pooler may run the next statement on another
 *   server connection) and no statement costs a separate parse/describe
 *   round trip; the values of a batch travel as one JSON document, written
 *   into the statement as one dollar-quoted literal by `jsonLiteral` (no
 *   escaping, no copy); the few short values outside it go in by `literal`;
 * - every result is one `text` column holding JSON built by Postgres, read
 *   raw (`.raw()`: bytes, no type parser, no value or column transform), so
 *   a boolean is always `true`/`false` and a column name is always ours;
 * - statements of one phase are pipelined on one reserved connection: a
 *   cold seed waits for three round trips (read; begin, settings, lock and
 *   read under it; inserts and commit).
 *
 * Every statement is bounded on the server too (`statement_timeout`,
 * `lock_timeout`, `idle_in_transaction_session_timeout` set to what is left
 * of the deadline), so when the client gives up it never sends a cancel
 * request. The transaction under lock 10, and the helpers the statements
 * are written with, are `_transaction.ts`'s, shared with adopt, restore
 * and the encryption rewrites.
 *
 * @module
 */
import { Deadline } from "./_deadline.ts";
import { bounded, CountingStore, jsonLiteral, jsonOf, lastRows, literal, lockConnection, Locked, lockFreeRead } from "./_transaction.ts";
import { LOCK_ID_AI_PROVIDERS_ENV_SEED, MAX_TIMEOUT_MS } from "./types.ts";

/** A row of `ai_providers`, as read: any column may hold what another writer put there. */
export interface RawProviderRow {
  id: string;
  name: string;
  type: string | null;
  base_url: string | null;
  settings: string | null;
  settings_key_id: string | null;
  deleted: boolean | null;
}

/** A row of `dbcrypt_keys`. */
export interface DbcryptKeyRow {
  number: number;
  active_key_digest: string | null;
  revoked_key_digest: string | null;
}

/** What one read returns. */
export interface Snapshot {
  /**
   * `table.column` → type, for the tables the library uses (absent tables
   * have no entry); `null` when not asked for (the seed's lock-free read
   * leaves them to the read under the lock: a restart that writes nothing
   * needs no more than the rows it compares).
   */
  columns: Record<string, string> | null;
  /** Every row of `ai_providers`, deleted and disabled ones included. */
  rows: RawProviderRow[];
  /** Audit entries waiting for delivery; `null` when the audit table does not exist or was not asked for. */
  auditPending: number | null;
  /** The rows of `dbcrypt_keys`; `null` when the table does not exist or was not asked for. */
  dbcryptKeys: DbcryptKeyRow[] | null;
  /** The backend that answered. */
  pid: number;
}

/** A new `ai_providers` row. */
export interface NewProviderRow {
  id: string;
  type: string;
  name: string;
  base_url: string;
  /** Absent: null. */
  settings?: string;
  /** Absent: null. */
  settings_key_id?: string;
  /** With audit entries built by the server: the Bedrock fields of the entry (secrets masked), or null. */
  audit_bedrock?: Record<string, string | null> | null;
}

/** A new `ai_provider_keys` row. */
export interface NewKeyRow {
  id: string;
  provider_id: string;
  api_key: string;
  /** Absent: null. */
  api_key_key_id?: string;
  /** With audit entries built by the server: the key masked, and its provider's name. */
  masked?: string;
  provider_name?: string;
}

/** A new row of the audit table. */
export interface NewAuditRow {
  id: string;
  position: number;
  /** The entry, as the JSON object it is stored as (its text). */
  entry: unknown;
  delivered: boolean;
}

/** A key to register in `dbcrypt_keys` before values encrypted with it are written. */
export interface NewDbcryptKey {
  digest: string;
  test: string;
}

/** Everything one seed writes, in one transaction. */
export interface Writes {
  providers: NewProviderRow[];
  keys: NewKeyRow[];
  audit: NewAuditRow[];
  /**
   * When set, the inserts of providers and keys also write their audit
   * entries to the audit table, built by the server from the rows (which
   * then carry `audit_bedrock`, `masked` and `provider_name`).
   */
  auditInline?: { time: string; delivered: boolean } | null;
  dbcryptKey: NewDbcryptKey | null;
}

/** How the locked transaction waits and names itself. */
export interface LockSettings {
  /** `lock_timeout` in milliseconds; 0 waits forever. */
  lockTimeoutMs: number;
  /** `application_name` for the transaction; `null` keeps the connection's. */
  applicationName: string | null;
}

/** How long marking audit entries delivered may take, even once the deadline has passed. */
const SETTLE_GRACE_MS = 5_000;

/** The tables whose columns a read reports. */
const TABLES = ["ai_providers", "ai_provider_keys", "ai_provider_audit", "dbcrypt_keys"] as const;

/** `table.column` → type, for {@link TABLES}, as one JSON object. */
export const COLUMNS_JSON =
  `(select coalesce(json_object_agg(a.attrelid::regclass::text || '.' || a.attname, a.atttypid::regtype::text), '{}'::json)
    from pg_attribute a
    where a.attrelid in (${TABLES.map((t) => `to_regclass('${t}')`).join(", ")}) and a.attnum > 0 and not a.attisdropped)`;

const PROVIDERS_JSON = `(select coalesce(json_agg(json_build_object('id', p.id::text, 'name', p.name, 'type', p.type::text,
      'base_url', p.base_url, 'settings', p.settings, 'settings_key_id', p.settings_key_id, 'deleted', p.deleted)), '[]'::json)
    from ai_providers p)`;

// The audit table is optional (a Coder database has none), and a static
// statement cannot name a table that may not exist: query_to_xml runs the
// count only when to_regclass found the table.
const AUDIT_PENDING = `case when to_regclass('ai_provider_audit') is null then null else
    (xpath('/row/n/text()', query_to_xml('select count(*) as n from ai_provider_audit where delivered_at is null', false, true, '')))[1]::text::int end`;

/** The rows of `dbcrypt_keys` by number, as one JSON array. */
export const DBCRYPT_KEYS_JSON = `(select coalesce(json_agg(json_build_object('number', k.number, 'active_key_digest', k.active_key_digest,
      'revoked_key_digest', k.revoked_key_digest) order by k.number), '[]'::json) from dbcrypt_keys k)`;

function readStatement(options: { columns: boolean; auditPending: boolean; dbcryptKeys: boolean }): string {
  return `select json_build_object('pid', pg_backend_pid(), 'columns', ${
    options.columns ? COLUMNS_JSON : "null"
  }, 'providers', ${PROVIDERS_JSON},
    'audit_pending', ${options.auditPending ? AUDIT_PENDING : "null"},
    'dbcrypt_keys', ${options.dbcryptKeys ? DBCRYPT_KEYS_JSON : "null"})::text`;
}

function decodeSnapshot(result: unknown): Snapshot {
  const doc = jsonOf<{
    pid: number;
    columns: Record<string, string> | null;
    providers: RawProviderRow[];
    audit_pending: number | null;
    dbcrypt_keys: DbcryptKeyRow[] | null;
  }>(result);
  return { pid: doc.pid, columns: doc.columns, rows: doc.providers, auditPending: doc.audit_pending, dbcryptKeys: doc.dbcrypt_keys };
}

/**
 * Registers a key in `dbcrypt_keys` (number = highest + 1) before any value
 * it encrypts, in the same transaction, and safe against another writer:
 * under lock 10 only Coder itself could race, and `on conflict` absorbs that.
 */
export function registerKeyStatement(key: NewDbcryptKey): string {
  return `insert into dbcrypt_keys (number, active_key_digest, test)
      select coalesce(max(number), 0) + 1, ${literal(key.digest)}, ${literal(key.test)} from dbcrypt_keys
      on conflict do nothing`;
}

/** The statements of one seed or plan, with their cost. */
export class Store extends CountingStore {
  // When the lock wait budget (lockTimeoutMs) ends: it bounds every wait
  // before the lock is granted, a pooler's queue for a server connection
  // included, which no server-side setting can see.
  private lockBudgetEnd = Infinity;

  /**
   * One lock-free read, in one round trip: the columns of the tables, every
   * provider row, and (when asked) the audit backlog. Bounded on the server
   * too: `lock_timeout` and `statement_timeout` hold for it alone (a
   * multi-statement simple query is one implicit transaction), so a
   * migration's `ACCESS EXCLUSIVE` lock makes it fail fast.
   */
  async read(options: { columns: boolean; auditPending: boolean; lockTimeoutMs: number }): Promise<Snapshot> {
    this.lockBudgetEnd = options.lockTimeoutMs === 0 ? Infinity : performance.now() + options.lockTimeoutMs;
    const statement = readStatement({ columns: options.columns, auditPending: options.auditPending, dbcryptKeys: false });
    return decodeSnapshot(
      await lockFreeRead(this.sql, this.deadline, this, statement, { lockTimeoutMs: options.lockTimeoutMs, doing: "read ai_providers" }),
    );
  }

  /**
   * Opens the seed's transaction on a reserved connection and, in one round
   * trip, sets its timeouts and name, takes advisory lock 10 and reads the
   * rows again under it (`_transaction.ts`: lockConnection). The lock wait
   * budget started with the read before it.
   *
   * @throws {LockTimeoutError} (without its holder; see {@link Store.lockHolder})
   */
  async lock(settings: LockSettings, options: { dbcryptKeys: boolean; auditPending?: boolean }): Promise<LockedTransaction> {
    return new LockedTransaction(
      await lockConnection(this.sql, this.deadline, this, {
        lockTimeoutMs: settings.lockTimeoutMs,
        lockBudgetEnd: this.lockBudgetEnd,
        applicationName: settings.applicationName,
        reads: [readStatement({ columns: true, auditPending: options.auditPending ?? false, dbcryptKeys: options.dbcryptKeys })],
        decode: (results) => decodeSnapshot(results.at(-1)),
        doing: "commit the seed",
        ifUnknown:
          "the providers may or may not have been inserted. Run the seed again: it inserts only what is missing and delivers any audit entry left undelivered",
      }),
    );
  }

  /**
   * Who holds advisory lock 10 in this database, read from `pg_locks` and
   * `pg_stat_activity` (never the holder's query text, which may carry
   * anything). `null` when nobody does any more, or it cannot be read.
   */
  async lockHolder(): Promise<
    { pid: number; applicationName: string; state: string | null; heldForMs: number | null } | null
  > {
    const doc = await this.holder<{ pid: number; application_name: string | null; state: string | null; held_for_ms: number | null }>(
      `select coalesce((select json_build_object('pid', a.pid, 'application_name', a.application_name,
          'state', a.state, 'held_for_ms', (extract(epoch from clock_timestamp() - a.xact_start) * 1000)::float8)
        from pg_locks l join pg_stat_activity a on a.pid = l.pid
        where l.locktype = 'advisory' and l.granted
          and l.database = (select oid from pg_database where datname = current_database())
          and l.classid = 0 and l.objid = ${LOCK_ID_AI_PROVIDERS_ENV_SEED} and l.objsubid = 1
        order by a.xact_start nulls last limit 1), 'null'::json)::text`,
      "read the lock holder",
    );
    if (doc === null) return null;
    return { pid: doc.pid, applicationName: doc.application_name ?? "", state: doc.state, heldForMs: doc.held_for_ms };
  }

  /**
   * Which session holds a conflicting lock on the library's tables, as a
   * short text (`pid 123 (application_name "migrate", state "idle in
   * transaction")`), for a read that timed out behind it.
   */
  async tableLockHolder(): Promise<string | null> {
    const doc = await this.holder<{ pid: number; application_name: string | null; state: string | null; mode: string }>(
      `select coalesce((select json_build_object('pid', a.pid, 'application_name', a.application_name,
          'state', a.state, 'mode', l.mode)
        from pg_locks l join pg_stat_activity a on a.pid = l.pid
        where l.locktype = 'relation' and l.granted and l.pid <> pg_backend_pid()
          and l.relation in (${TABLES.map((t) => `to_regclass('${t}')`).join(", ")})
          and l.mode in ('AccessExclusiveLock', 'ExclusiveLock')
        limit 1), 'null'::json)::text`,
      "read the table lock holder",
    );
    if (doc === null) return null;
    return `pid ${doc.pid} (application_name ${JSON.stringify(doc.application_name ?? "")}, state ${
      JSON.stringify(doc.state ?? "unknown")
    }, holding ${doc.mode})`;
  }

  // One statement naming a lock's holder, bounded to a second on both
  // sides; `null` when nobody holds it any more or it cannot be read.
  private async holder<T>(statement: string, doing: string): Promise<T | null> {
    try {
      const query = this.sql.unsafe(bounded(statement, 1_000));
      this.statements += 2;
      this.roundTrips++;
      return jsonOf(lastRows(await this.deadline.race(query.raw(), doing, undefined, { ms: 1_000, error: () => new Error("no answer") })));
    } catch {
      return null;
    }
  }

  /**
   * Claims the audit entries waiting for delivery (this seed's and any an
   * earlier run left behind), in one statement: an entry is claimed by one
   * run at a time, until `leaseMs` from now; the claimant sets its own
   * lease (its deadline and a margin), and only an expired claim (its run
   * died) may be taken over.
   */
  async claimAudit(claim: string, leaseMs: number): Promise<{ id: string; entry: string }[]> {
    const query = this.sql.unsafe(bounded(
      `with claimed as (
        update ai_provider_audit
        set claim = ${literal(claim)}::uuid, claimed_until = clock_timestamp() + interval '${Math.ceil(leaseMs)} milliseconds'
        where delivered_at is null and (claim is null or claimed_until < clock_timestamp())
        returning id, created_at, position, entry)
      select coalesce(json_agg(json_build_object('id', id::text, 'entry', entry) order by created_at, position), '[]'::json)::text from claimed`,
      this.deadline.serverMs(),
    ));
    this.statements += 2;
    this.roundTrips++;
    return jsonOf(lastRows(await this.deadline.race(query.raw(), "claim audit entries")));
  }

  /**
   * Marks claimed entries delivered, and gives the failed ones back for
   * the next start, in one statement. Resolves to how many delivered
   * entries were still this run's claim (fewer: the lease ran out and
   * another run took them over).
   */
  async settleAudit(claim: string, delivered: string[], failed: string[]): Promise<number> {
    const query = this.sql.unsafe(bounded(
      `with d as (
        update ai_provider_audit set delivered_at = clock_timestamp()
        where claim = ${literal(claim)}::uuid and id in (select value::uuid from json_array_elements_text(${
        literal(JSON.stringify(delivered))
      }::json))
        returning 1),
      f as (
        update ai_provider_audit set claim = null, claimed_until = null
        where claim = ${literal(claim)}::uuid and id in (select value::uuid from json_array_elements_text(${
        literal(JSON.stringify(failed))
      }::json))
        returning 1)
      select json_build_object('delivered', (select count(*) from d), 'failed', (select count(*) from f))::text`,
      SETTLE_GRACE_MS,
    ));
    this.statements += 2;
    this.roundTrips++;
    // Bookkeeping for what the sink already received: worth a few seconds
    // past the deadline, since without it the next start delivers those
    // entries again.
    const settling = new Deadline(Math.max(SETTLE_GRACE_MS, Math.ceil(Math.min(this.deadline.remaining(), MAX_TIMEOUT_MS))));
    return jsonOf<{ delivered: number }>(lastRows(await settling.race(query.raw(), "mark audit entries delivered"))).delivered;
  }
}

function insertStatements(writes: Writes): string[] {
  const out: string[] = [];
  if (writes.dbcryptKey !== null) out.push(registerKeyStatement(writes.dbcryptKey));
  const inline = writes.auditInline ?? null;
  if (writes.providers.length > 0 && inline === null) {
    out.push(`insert into ai_providers (id, type, name, display_name, enabled, base_url, settings, settings_key_id)
      select r.id, r.type::ai_provider_type, r.name, r.name, true, r.base_url, r.settings, r.settings_key_id
      from json_to_recordset(${jsonLiteral(writes.providers)}::json)
        as r(id uuid, type text, name text, base_url text, settings text, settings_key_id text)`);
  }
  if (writes.keys.length > 0 && inline === null) {
    out.push(`insert into ai_provider_keys (id, provider_id, api_key, api_key_key_id)
      select k.id, k.provider_id, k.api_key, k.api_key_key_id
      from json_to_recordset(${jsonLiteral(writes.keys)}::json)
        as k(id uuid, provider_id uuid, api_key text, api_key_key_id text)`);
  }
  if (inline !== null) {
    // The audit entries are built here from the rows themselves (each row
    // carries what its entry adds: masked keys, Bedrock fields), in the
    // order of the documents: providers by name, then their keys. Sending
    // 30,000 entries beside 30,000 rows would double what a large seed
    // holds in memory and sends.
    const time = literal(inline.time);
    const delivered = inline.delivered ? "clock_timestamp()" : "null";
    const base = `'id', r.id, 'name', r.name, 'display_name', r.name, 'type', r.type, 'base_url', r.base_url, 'enabled', true`;
    if (writes.providers.length > 0) {
      out.push(`with r as (
          select e.n, (e.v->>'id')::uuid as id, e.v->>'type' as type, e.v->>'name' as name, e.v->>'base_url' as base_url,
            e.v->>'settings' as settings, e.v->>'settings_key_id' as settings_key_id, e.v->'audit_bedrock' as b
          from json_array_elements(${jsonLiteral(writes.providers)}::json) with ordinality as e(v, n)),
        ins as (
          insert into ai_providers (id, type, name, display_name, enabled, base_url, settings, settings_key_id)
          select r.id, r.type::ai_provider_type, r.name, r.name, true, r.base_url, r.settings, r.settings_key_id from r)
        insert into ai_provider_audit (id, position, entry, delivered_at)
        select gen_random_uuid(), r.n - 1, json_build_object('time', ${time}, 'actor', 'system', 'action', 'create',
            'resourceType', 'ai_provider', 'resourceId', r.id, 'providerName', r.name,
            'fields', case when r.b is null or json_typeof(r.b) = 'null' then json_build_object(${base})
              else json_build_object(${base}, 'bedrock_region', r.b->'region', 'bedrock_model', r.b->'model',
                'bedrock_small_fast_model', r.b->'small_fast_model', 'bedrock_access_key', r.b->'access_key',
                'bedrock_access_key_secret', r.b->'access_key_secret') end)::text, ${delivered}
        from r`);
    }
    if (writes.keys.length > 0) {
      out.push(`with k as (
          select e.n, (e.v->>'id')::uuid as id, (e.v->>'provider_id')::uuid as provider_id, e.v->>'api_key' as api_key,
            e.v->>'api_key_key_id' as api_key_key_id, e.v->>'masked' as masked, e.v->>'provider_name' as provider_name
          from json_array_elements(${jsonLiteral(writes.keys)}::json) with ordinality as e(v, n)),
        ins as (
          insert into ai_provider_keys (id, provider_id, api_key, api_key_key_id)
          select k.id, k.provider_id, k.api_key, k.api_key_key_id from k)
        insert into ai_provider_audit (id, position, entry, delivered_at)
        select gen_random_uuid(), ${
        literal(String(writes.providers.length))
      }::int + k.n - 1, json_build_object('time', ${time}, 'actor', 'system',
            'action', 'create', 'resourceType', 'ai_provider_key', 'resourceId', k.id, 'providerName', k.provider_name,
            'fields', json_build_object('id', k.id, 'provider_id', k.provider_id, 'api_key', k.masked))::text, ${delivered}
        from k`);
    }
  }
  if (writes.audit.length > 0) {
    out.push(`insert into ai_provider_audit (id, position, entry, delivered_at)
      select a.id, a.position, a.entry::text, case when a.delivered then clock_timestamp() end
      from json_to_recordset(${jsonLiteral(writes.audit)}::json)
        as a(id uuid, position int, entry json, delivered boolean)`);
  }
  return out;
}

/** The seed's open transaction on its reserved connection, holding lock 10. */
export class LockedTransaction extends Locked<Snapshot> {
  /** The rows as read under the lock. */
  get snapshot(): Snapshot {
    return this.read;
  }

  /**
   * Sends the inserts and `commit` in one round trip. Before the commit is
   * sent a failure means nothing was written; once it is sent, a failure
   * to see its outcome is `commit_unknown`.
   */
  async commit(writes: Writes): Promise<void> {
    if (writes.providers.length === 0 && writes.keys.length === 0 && writes.audit.length === 0 && writes.dbcryptKey === null) {
      // Nothing to write (a replica inserted it all meanwhile): end the
      // transaction without a commit whose answer could be lost.
      await this.conn.rollback();
      return;
    }
    await this.conn.commit(insertStatements(writes), "commit the seed");
  }
}

export { TABLES };
