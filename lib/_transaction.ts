/**
 * Internal. The one implementation of the transaction under advisory lock
 * 10 that the seed (`_store.ts`), adopt and restore (`_adopt_store.ts`)
 * and the encryption rewrites (`_encryption_store.ts`) each open, and the
 * helpers their statements are written with.
 *
 * - A connection is reserved under the deadline; the lock costs one round
 *   trip: `begin isolation level read committed`, the transaction-local
 *   timeouts and `application_name`, `pg_advisory_xact_lock(10)` and the
 *   caller's reads leave in one simple-protocol Query message.
 * - Every statement is bounded on the server (`statement_timeout`,
 *   `lock_timeout`, `idle_in_transaction_session_timeout` set to what is
 *   left of the deadline), so when the client gives up it never sends a
 *   cancel request: one names a backend, not a statement, and could cancel
 *   the host's next query on a connection that was given back.
 * - The connection is given back only once its rollback (or commit)
 *   settled, so the host's next query never runs inside this transaction;
 *   a connection that broke is never given back.
 * - No commit is sent once the deadline has passed; once one is sent, a
 *   failure to see its outcome is `commit_unknown`, its cause sanitised.
 *
 * Whoever opens the transaction passes the object that counts its cost
 * (`statements`, `roundTrips`), and the connection counts on it.
 *
 * @module
 */
import type postgres from "postgres";
import type { Deadline } from "./_deadline.ts";
import { LockTimeoutError, SeedError } from "./errors.ts";
import { LOCK_ID_AI_PROVIDERS_ENV_SEED, type Sql } from "./types.ts";

/** The client's own typings, for the calls of the stores. */
// deno-lint-ignore no-explicit-any
export type Client = postgres.Sql<any>;
// deno-lint-ignore no-explicit-any
type Reserved = postgres.ReservedSql<any>;
/** A query in flight: what the transaction settles. */
type PendingQuery = PromiseLike<unknown> & { catch(f: (e: unknown) => void): unknown };

/** What statements cost: the counters of a store, which every statement sent adds to. */
export interface Cost {
  /** Statements sent. */
  statements: number;
  /** Round trips waited for. */
  roundTrips: number;
}

/** The base of each store: the host's client, the deadline of the call, and the cost of what was sent. */
export class CountingStore implements Cost {
  /** Statements sent. */
  statements = 0;
  /** Round trips waited for. */
  roundTrips = 0;
  /** The host's client, as the stores call it. */
  protected readonly sql: Client;
  /** Bounds every wait of the call. */
  protected readonly deadline: Deadline;

  /** Wraps the host's client; `deadline` bounds every call. */
  constructor(sql: Sql, deadline: Deadline) {
    this.sql = sql as unknown as Client;
    this.deadline = deadline;
  }
}

/**
 * A Postgres string literal holding `text` exactly, whatever
 * `standard_conforming_strings` says: an `E''` literal with backslashes
 * and quotes doubled. With {@link dollarQuoted} (the JSON documents), the
 * only way a value enters a statement.
 */
export function literal(text: string): string {
  // One pass, one copy: a seed's documents run to megabytes.
  return `E'${text.replace(/[\\']/g, (c) => c + c)}'`;
}

// A lone surrogate has no UTF-8 form: Postgres would store U+FFFD for it,
// but `json` rejects the escape `\ud800` JSON.stringify writes. Writing
// U+FFFD here stores exactly what a text parameter would have.
function wellFormed(text: string): string {
  return (text as string & { toWellFormed(): string }).toWellFormed();
}

/**
 * A Postgres dollar-quoted literal holding `text` exactly: no escaping, so
 * a document of megabytes is neither copied nor scanned character by
 * character by the server's lexer, whatever `standard_conforming_strings`
 * says. Its tag is one that `text` does not contain. Written after a
 * parenthesis or a space, never right after an identifier (which may
 * hold `$`).
 */
export function dollarQuoted(text: string): string {
  let tag = "$j$";
  for (let n = 0; text.includes(tag) || text.endsWith(tag.slice(0, -1)); n++) tag = `$j${n}$`;
  return `${tag}${text}${tag}`;
}

/** A JSON document as a string literal, with every string well-formed. */
export function jsonLiteral(value: unknown): string {
  const json = JSON.stringify(value);
  // JSON.stringify writes a lone surrogate, and only a lone one, as a
  // `\udXXX` escape: the rare document with one is written again with
  // each string made well-formed (a backslash before "ud" in a value
  // only costs that second pass).
  if (!json.includes("\\ud")) return dollarQuoted(json);
  return dollarQuoted(JSON.stringify(value, (_key, v) => (typeof v === "string" ? wellFormed(v) : v)));
}

/** The JSON document in the first column of the first row of a result read raw. */
export function jsonOf<T>(rows: unknown): T {
  return JSON.parse(new TextDecoder().decode((rows as Uint8Array[][])[0][0])) as T;
}

/** A Postgres timeout setting for a wait of `ms`: at least 1 ms (0 would mean none), `0ms` for an endless wait. */
export function timeoutSetting(ms: number): string {
  return `${ms === Infinity ? 0 : Math.max(1, Math.ceil(ms))}ms`;
}

/** One `select` of transaction-local `set_config` calls; a `null` value keeps the current setting. */
export function settingsStatement(values: Record<string, string | null>): string {
  const calls = Object.entries(values).map(([name, value]) =>
    value === null ? `set_config('${name}', current_setting('${name}'), true)` : `set_config('${name}', ${literal(value)}, true)`
  );
  return `select ${calls.join(", ")}`;
}

/** Prefixes `statement` with a transaction-local `statement_timeout` (a multi-statement message is one implicit transaction). */
export function bounded(statement: string, ms: number): string {
  return `select set_config('statement_timeout', '${ms}ms', true);\n${statement}`;
}

/** The last statement's rows of a multi-statement message read raw. */
export function lastRows(result: unknown): Uint8Array[][] {
  return (result as Uint8Array[][][]).at(-1)!;
}

/**
 * The bounds of a lock-free statement: `lock_timeout` (the lock wait, or
 * what is left of the deadline when less) and `statement_timeout` (what is
 * left of the deadline), and the lock wait in milliseconds.
 */
export function lockFreeBounds(deadline: Deadline, lockTimeoutMs: number): { settings: string; wait: number } {
  const wait = Math.min(lockTimeoutMs === 0 ? Infinity : lockTimeoutMs, deadline.remaining());
  const settings = settingsStatement({ lock_timeout: timeoutSetting(wait), statement_timeout: `${deadline.serverMs()}ms` });
  return { settings, wait };
}

/**
 * One lock-free read in one round trip, bounded on the server
 * ({@link lockFreeBounds}: they hold for it alone, a multi-statement simple
 * query being one implicit transaction, so a migration's `ACCESS
 * EXCLUSIVE` lock makes it fail fast) and on the client, a little over the
 * lock wait (a pooler's queue for a server connection included). Resolves
 * to the rows of `statement`, read raw.
 *
 * @throws {LockTimeoutError} (without its holder) when the client-side limit passes first.
 */
export async function lockFreeRead(
  sql: Client,
  deadline: Deadline,
  cost: Cost,
  statement: string,
  options: { lockTimeoutMs: number; doing: string },
): Promise<unknown> {
  const { settings, wait } = lockFreeBounds(deadline, options.lockTimeoutMs);
  const query = sql.unsafe(`${settings}; ${statement}`);
  cost.statements += 2;
  cost.roundTrips++;
  const limit = wait < deadline.remaining()
    ? { ms: wait + 250, error: () => new LockTimeoutError(options.lockTimeoutMs, null) }
    : undefined;
  const results = await deadline.race(query.raw(), options.doing, undefined, limit) as unknown as unknown[];
  return results.at(-1);
}

/** What {@link lockConnection} is asked for. */
export interface LockRequest<T> {
  /** `lock_timeout` in milliseconds; 0 waits forever. */
  lockTimeoutMs: number;
  /**
   * When the lock wait budget ends (`performance.now()` time), if it
   * started before this call (the seed's read counts against it);
   * `Infinity` when it starts now.
   */
  lockBudgetEnd: number;
  /** `application_name` for the transaction; `null` keeps the connection's. */
  applicationName: string | null;
  /** The statements read under the lock, in the same message. */
  reads: readonly string[];
  /** Decodes the results of `reads` (one per statement, read raw). */
  decode: (results: unknown[]) => T;
  /** How the commit's errors begin: `commit the seed`, or the call's name. */
  doing: string;
  /** What an unknown outcome of the commit means and what to do: the words after "so ". */
  ifUnknown: string;
}

/**
 * Reserves a connection under the deadline and, in one round trip, opens
 * the transaction (read committed), sets its timeouts and name, takes
 * advisory lock 10 and runs the reads under it. Bounded by the deadline
 * and, for the lock, by `lockTimeoutMs` on both sides: the server's
 * `lock_timeout`, and a client-side limit that also covers a pooler's
 * queue for a server connection.
 *
 * @throws {LockTimeoutError} (without its holder) when the lock is not granted in time.
 */
export async function lockConnection<T>(
  sql: Client,
  deadline: Deadline,
  cost: Cost,
  request: LockRequest<T>,
): Promise<{ conn: LockedConnection; read: T }> {
  const reserving = sql.reserve();
  const reserved = await deadline.race(reserving, "wait for a database connection", () => {
    reserving.then((c) => c.release(), () => {});
  });
  const lockMs = request.lockTimeoutMs === 0
    ? Infinity
    : Math.max(1, Math.min(request.lockTimeoutMs, request.lockBudgetEnd - performance.now()));
  const left = deadline.remaining();
  const serverLockMs = Math.min(lockMs, left);
  const server = deadline.serverMs();
  // One Query message: the statements leave in one write, so the lock
  // costs one round trip whatever the client's write batching.
  const query = reserved.unsafe([
    // Read committed whatever the session's default: under repeatable
    // read the snapshot would be taken before the lock is granted, and
    // the read "under the lock" would miss what the previous holder wrote.
    "begin isolation level read committed",
    settingsStatement({
      lock_timeout: timeoutSetting(serverLockMs),
      // The server lets go by itself if this client stalls or vanishes:
      // a statement may not outlive the deadline, nor may the transaction
      // sit idle (holding lock 10) past it.
      statement_timeout: `${server}ms`,
      idle_in_transaction_session_timeout: `${server}ms`,
      application_name: request.applicationName,
    }),
    `select pg_advisory_xact_lock(${LOCK_ID_AI_PROVIDERS_ENV_SEED})`,
    ...request.reads,
  ].join(";\n")).raw();
  const queries: PendingQuery[] = [query];
  cost.statements += 3 + request.reads.length;
  cost.roundTrips++;
  const conn = new LockedConnection(reserved, cost, deadline, { doing: request.doing, ifUnknown: request.ifUnknown });
  // The client-side lock limit: a little over lock_timeout, so the
  // server's own timeout (which names the holder) normally comes first.
  const limit = lockMs < left ? { ms: lockMs + 250, error: () => new LockTimeoutError(request.lockTimeoutMs, null) } : undefined;
  const results = await deadline.race(settle(queries), "wait for the AI provider seed lock", () => conn.abandon(queries), limit);
  const failure = firstFailure(results);
  if (failure !== undefined) {
    // An ERROR leaves the connection usable and the transaction to roll
    // back; after a FATAL or a broken connection there is nothing to roll
    // back, and writing to it would fail inside the client.
    if (connectionAlive(failure)) await conn.rollback();
    else conn.forget();
    if ((failure as { code?: unknown })?.code === "55P03") {
      // lock_timeout expired: the lock's own limit, or the deadline's when that came first.
      if (serverLockMs < lockMs) throw deadline.expired("wait for the AI provider seed lock");
      throw new LockTimeoutError(request.lockTimeoutMs, null);
    }
    throw failure;
  }
  try {
    return { conn, read: request.decode((results[0] as PromiseFulfilledResult<unknown[]>).value.slice(3)) };
  } catch (err) {
    await conn.rollback();
    throw err;
  }
}

/**
 * The base of each store's transaction: the connection holding lock 10 and
 * what was read under the lock; a store adds what it writes.
 */
export class Locked<T> {
  /** What the reads under the lock returned. */
  protected readonly read: T;
  /** The open transaction. */
  protected readonly conn: LockedConnection;

  /** Wraps what {@link lockConnection} opened. */
  constructor(opened: { conn: LockedConnection; read: T }) {
    this.conn = opened.conn;
    this.read = opened.read;
  }

  /** Rolls back, and gives the connection back once the server answered (a broken one never). */
  async rollback(): Promise<void> {
    await this.conn.rollback();
  }
}

/** An open transaction on a reserved connection, holding lock 10. */
export class LockedConnection {
  private readonly conn: Reserved;
  private readonly cost: Cost;
  private readonly deadline: Deadline;
  private readonly call: { doing: string; ifUnknown: string };
  private released = false;

  /** Wraps a reserved connection on which `begin` was sent; statements sent count on `cost`. */
  constructor(conn: Reserved, cost: Cost, deadline: Deadline, call: { doing: string; ifUnknown: string }) {
    this.conn = conn;
    this.cost = cost;
    this.deadline = deadline;
    this.call = call;
  }

  /** One statement in the transaction, in one round trip; resolves to its rows, read raw. */
  async query(text: string, doing: string): Promise<unknown> {
    const query = this.conn.unsafe(text).raw();
    this.cost.statements++;
    this.cost.roundTrips++;
    return await this.deadline.race(query, doing, () => this.abandon([query]));
  }

  /**
   * Sends `statements` and `commit` in one round trip. Before the commit is
   * sent a failure means nothing was written; once it is sent, a failure
   * to see its outcome is `commit_unknown`.
   */
  async commit(statements: readonly string[], doing: string): Promise<void> {
    if (this.deadline.remaining() <= 0) {
      // Sending a commit now could only end in commit_unknown.
      await this.rollback();
      throw this.deadline.expired(doing);
    }
    // One Query message: what is left of the deadline for its statements
    // (set again: statement_timeout holds per statement), the statements,
    // then the commit. If a statement fails the server skips the commit,
    // and the transaction is rolled back below.
    const server = this.deadline.serverMs();
    const sent = [settingsStatement({ statement_timeout: `${server}ms`, lock_timeout: `${server}ms` }), ...statements, "commit"];
    const query = this.conn.unsafe(sent.join(";\n"));
    const queries: PendingQuery[] = [query];
    this.cost.statements += sent.length;
    this.cost.roundTrips++;
    let result: unknown;
    try {
      result = await this.deadline.race(query, doing, () => this.abandon(queries));
    } catch (err) {
      if (connectionAlive(err)) {
        // A statement failed: the commit never ran, so nothing was written.
        await this.rollback();
        throw err;
      }
      // The commit was sent and its outcome not seen: the connection
      // failed, or the deadline passed.
      if (!this.released) {
        if (err instanceof SeedError) this.abandon();
        else this.forget();
      }
      throw commitUnknown(err, this.call);
    }
    this.release();
    const last = (Array.isArray(result) ? result.at(-1) : result) as { command?: string } | undefined;
    const tag = last?.command;
    if (tag !== undefined && tag !== "COMMIT") {
      throw new SeedError("database_error", `${this.call.doing}: the server answered ${tag} to the commit; nothing was written`);
    }
  }

  /**
   * Rolls back (bounded by the deadline) and gives the connection back
   * once the server answered: a connection handed back earlier would run
   * the host's next query inside this transaction. A connection that broke
   * is left to the client, which replaces it.
   */
  async rollback(): Promise<void> {
    if (this.released) return;
    const query = this.conn.unsafe("rollback");
    this.cost.statements++;
    this.cost.roundTrips++;
    try {
      await this.deadline.race(query, "roll back", () => this.abandon([query]));
      this.release();
    } catch (err) {
      if (err instanceof SeedError) return; // abandon() gives it back once the rollback settles
      if (connectionAlive(err)) this.release();
      else this.forget();
    }
  }

  /**
   * The deadline passed with `queries` in flight. Queue a `rollback` (it
   * runs after them, in order) and give the connection back only when it
   * settled, so the host's next query on this connection never runs inside
   * our transaction; after a commit it is a harmless no-op. The caller
   * does not wait for it.
   *
   * No cancel request is sent: it names the backend, not the statement,
   * and may arrive once the connection serves the host's next query. The
   * server ends the statements by itself (`statement_timeout` and
   * `lock_timeout` are set to the deadline).
   */
  abandon(queries: PendingQuery[] = []): void {
    for (const q of queries) q.catch(() => {});
    if (this.released) return;
    this.released = true;
    this.conn.unsafe("rollback").then(
      () => this.conn.release(),
      (err: unknown) => {
        if (connectionAlive(err)) this.conn.release();
      },
    );
  }

  /**
   * The connection broke: do not give it back. postgres.js has already
   * taken it out of service and replaces it; a dead connection handed back
   * makes the client write to a closed socket from a timer (porsager/postgres#1208).
   */
  forget(): void {
    this.released = true;
  }

  /** Gives the connection back (once). */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.conn.release();
  }
}

// Fired-and-forgotten promises must never become unhandled rejections.
function settle(queries: PendingQuery[]): Promise<PromiseSettledResult<unknown>[]> {
  return Promise.allSettled(queries);
}

// The first failure, preferring the server's own reason (an ErrorResponse
// with a SQLSTATE, e.g. 57P01) over the client's CONNECTION_CLOSED that a
// dying connection gives the statements behind it.
function firstFailure(results: PromiseSettledResult<unknown>[]): unknown {
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === "rejected").map((r) => r.reason);
  return failed.find(hasSqlState) ?? failed[0];
}

/**
 * Whether the connection survived `err`: a server ERROR leaves it usable;
 * a FATAL, a client-side CONNECTION_* error or a socket error does not.
 */
export function connectionAlive(err: unknown): boolean {
  return (err as { severity?: unknown })?.severity === "ERROR";
}

function commitUnknown(err: unknown, call: { doing: string; ifUnknown: string }): SeedError {
  const reason = err instanceof SeedError && err.code === "timeout"
    ? "the deadline passed before the server answered"
    : `the connection failed before the server answered (${errorText(err)})`;
  return new SeedError(
    "commit_unknown",
    `${call.doing}: the commit was sent but ${reason}, so ${call.ifUnknown}`,
    // The cause keeps the sanitised message and the code: postgres.js keeps
    // the statement (with its values) and the server's address on its errors.
    { cause: Object.assign(new Error(errorText(err)), { code: (err as { code?: unknown })?.code }) },
  );
}

function hasSqlState(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code);
}

// postgres.js names the server in connection errors ("connect ECONNREFUSED
// 10.0.0.5:5432", "write CONNECTION_CLOSED db.internal:5432"): the address
// is the operator's to know, not every log's.
function withoutAddress(text: string): string {
  return text
    .replace(/postgres(?:ql)?:\/\/\S+/gi, "<database url>")
    // "getaddrinfo ENOTFOUND db.internal": a host name without a port.
    .replace(/\b(ENOTFOUND|EAI_AGAIN|EAI_FAIL|ENODATA)\s+\S+/g, "$1 <database>")
    .replace(/\[[0-9a-f:.]+\](?::\d+)?/gi, "<database>")
    // IPv6 without brackets (at least two colons between hex groups), with or without a port.
    .replace(/\b(?:[0-9a-f]{1,4}:){2,7}(?::?[0-9a-f]{0,4})*(?:%\w+)?\b/gi, "<database>")
    .replace(/\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b/g, "<database>")
    .replace(/\b[a-z0-9-]+(?:\.[a-z0-9-]+)*:\d{2,5}\b/gi, "<database>")
    // 28P01 and friends name the role: `for user "admin"`, `role "admin"`.
    .replace(/\b(user|role) "[^"]*"/g, "$1 <user>")
    // TLS: "Hostname/IP does not match certificate's altnames: Host: db.internal. is not in the cert's altnames: DNS:…"
    .replace(/(Host: )\S+/g, "$1<database>")
    .replace(/(DNS:|IP Address:)\S+/g, "$1<database>");
}

/**
 * A database error's message with its SQLSTATE, without parameters, query
 * text, host, port or credentials.
 */
export function errorText(err: unknown): string {
  if (!(err instanceof Error)) return withoutAddress(String(err));
  const code = (err as { code?: unknown }).code;
  return withoutAddress(hasSqlState(err) ? `${err.message} [SQLSTATE ${code}]` : err.message);
}
