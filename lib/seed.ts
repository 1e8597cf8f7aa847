/**
 * The main job: reconcile the providers of the environment with the
 * database, once, under an advisory lock, however many replicas start at
 * the same time.
 *
 * @module
 */
import type { Keyring } from "./_dbcrypt.ts";
import { Deadline } from "./_deadline.ts";
import { deliverFromMemory, deliverFromTable, type Delivery, logCommitted } from "./_deliver.ts";
import { type Desired, desiredProviders } from "./_desired.ts";
import { keyringFrom } from "./_keyring.ts";
import { lockOptions } from "./_options.ts";
import { planProviders } from "./_plan.ts";
import { failure, readSnapshot } from "./_run.ts";
import { checkSchema, storedProviders } from "./_stored.ts";
import { type LockSettings, Store } from "./_store.ts";
import { errorText } from "./_transaction.ts";
import { type SeedWrites, seedWrites } from "./_writes.ts";
import type { AuditSink } from "./audit.ts";
import { DriftError, LockTimeoutError, SeedError } from "./errors.ts";
import type { Logger } from "./logger.ts";
import type { PlanOptions } from "./plan_seed.ts";
import { countEntries, emptyTimings, type PlanEntry, type SeedReport, type SeedTimings } from "./report.ts";
import type { Sql } from "./types.ts";

/** Options of {@link seedAIProvidersFromEnv}: the plan's inputs, plus audit and lock settings. */
export interface SeedOptions extends PlanOptions {
  /**
   * Receives one entry per inserted row, after commit. With the audit
   * table (`applySchema` creates it) the entries are written in the
   * seed's transaction and delivered after it, so a crash between commit
   * and delivery is made good by the next start.
   */
  audit?: AuditSink;
  /**
   * The `application_name` the seed transaction takes while it holds the
   * lock (transaction-local: the connection's own name is back after it),
   * so `pg_stat_activity` and a blocked replica's `LockTimeoutError` show
   * who holds it. Default `aibridge-seed`; `null` keeps the connection's.
   */
  applicationName?: string | null;
}

const DOING = "seed AI providers from the environment";

/** What one seed run carries from step to step. */
interface Run {
  store: Store;
  deadline: Deadline;
  desired: Desired;
  keyring: Keyring | null;
  lock: LockSettings;
  audit: AuditSink | undefined;
  timings: SeedTimings;
  /** The tables' columns, as the lock-free read found them. */
  columns: Record<string, string>;
}

/** What the seed decided, and wrote when it took the lock. */
interface Outcome {
  plan: PlanEntry[];
  lockTaken: boolean;
  written: SeedWrites | null;
  /** Whether the audit table exists. */
  outbox: boolean;
  /** Undelivered entries an earlier run left in the audit table (pre-read only). */
  backlog: number;
}

/**
 * Reads the AI providers from the environment and reconciles them with the
 * `ai_providers` and `ai_provider_keys` tables:
 *
 * - a missing provider is inserted with its keys (encrypted when keys are configured);
 * - an existing, equal provider is left alone (keys are never added to it);
 * - a provider an operator soft-deleted stays deleted;
 * - a provider whose type, base URL or Bedrock region differs rejects the
 *   whole seed with a {@link DriftError} listing every drifted provider and
 *   field, and nothing is written.
 *
 * It first reads the rows without a lock (one round trip). When that read
 * shows every provider unchanged or deleted, which is every restart after
 * the first, the seed is done: no lock, no transaction. Otherwise it takes
 * advisory lock 10 (the lock Coder takes, so both serialise) in a
 * transaction, reads the rows again and decides again on what it reads
 * under the lock: drift and inserts are only ever decided there. Three
 * round trips in all for a seed that inserts.
 *
 * Everything is bounded by `timeoutMs`: when it passes, the statements are
 * cancelled, the server ends the transaction by itself, and the seed
 * rejects with code `timeout` (or `commit_unknown` once the commit was
 * sent). Log lines and audit entries for inserted rows are emitted only
 * after the commit. Keys are never logged or reported in clear.
 *
 * @example
 * ```ts
 * import postgres from "postgres";
 * import { applySchema, memoryAuditSink, seedAIProvidersFromEnv } from "@aibridge/seed";
 * import assert from "node:assert/strict";
 *
 * const sql = postgres(Deno.env.get("DATABASE_URL")!, { onnotice: () => {} });
 * const env = { CODER_AIBRIDGE_PROVIDER_0_TYPE: "openai", CODER_AIBRIDGE_PROVIDER_0_NAME: "doc-example", CODER_AIBRIDGE_PROVIDER_0_KEY: "sk-doc-example-key" };
 * try {
 *   await applySchema(sql);
 *   const audit = memoryAuditSink();
 *   const first = await seedAIProvidersFromEnv(sql, { env, audit, lockTimeoutMs: 10_000 });
 *   assert.deepEqual(first.entries.map((e) => [e.name, e.action, e.maskedKeys]), [["doc-example", "insert", ["sk...ey"]]]);
 *   assert.deepEqual(first.counts, { insert: 1, keys: 1, unchanged: 0, skipDeleted: 0, drift: 0 });
 *   // One audit entry for the provider, one for its key, after the commit.
 *   const mine = audit.entries.filter((e) => e.providerName === "doc-example");
 *   assert.deepEqual(mine.map((e) => e.resourceType), ["ai_provider", "ai_provider_key"]);
 *
 *   const again = await seedAIProvidersFromEnv(sql, { env }); // the next start
 *   assert.equal(again.entries[0].action, "unchanged");
 *   assert.equal(again.lockTaken, false); // a restart with nothing to do takes no lock
 * } finally {
 *   await sql`delete from ai_provider_audit where entry::jsonb ->> 'providerName' = 'doc-example'`;
 *   await sql`delete from ai_providers where name = 'doc-example'`; // its keys go with it
 *   await sql.end();
 * }
 * ```
 *
 * @param sql A `postgres` client, configured as the host likes (any `transform`, `types`, `prepare`; PgBouncer in transaction mode).
 * @param options Where the configuration comes from, keys, logger, audit sink, deadline and lock settings.
 * @returns The plan it executed (`insert` entries were inserted), which path it took, round trips and timings.
 * @throws {ConfigError} when the configuration or an option is invalid, or under `strict` when it has a warning (nothing sent).
 * @throws {DriftError} when stored providers differ (nothing written).
 * @throws {LockTimeoutError} when the lock is not granted within `lockTimeoutMs` (nothing written).
 * @throws {SeedError} `timeout` (nothing written), `commit_unknown` (run again), and the codes of `SeedErrorCode`.
 */
export async function seedAIProvidersFromEnv(sql: Sql, options: SeedOptions = {}): Promise<SeedReport> {
  const started = performance.now();
  const timings = emptyTimings();
  try {
    const checked = lockOptions(options);
    const deadline = new Deadline(checked.timeoutMs);
    const desired = await desiredProviders(options);
    const keyring = await keyringFrom(options.encryptionKeys, desired.env);
    timings.normaliseMs = performance.now() - started;
    const run: Run = {
      store: new Store(sql, deadline),
      deadline,
      desired,
      keyring,
      lock: { lockTimeoutMs: checked.lockTimeoutMs, applicationName: checked.applicationName },
      audit: options.audit,
      timings,
      columns: {},
    };
    if (desired.providers.length === 0) {
      return finish(run, { plan: [], lockTaken: false, written: null, outbox: false, backlog: 0 }, { delivered: 0, failures: [] }, started);
    }
    const outcome = await preRead(run) ?? await applyUnderLock(run);
    const delivery = await afterCommit(run, outcome);
    return finish(run, outcome, delivery, started);
  } catch (err) {
    throw failure(err, DOING, timings, started);
  }
}

/**
 * Step 1, the pre-read. The seed only ever inserts and deletion is sticky,
 * so when a committed snapshot shows every provider present and equal (or
 * deleted), a run under the lock at that moment would write nothing
 * either: taking the lock would only make every restart of every replica
 * queue behind each other. Resolves to `null` when the lock is needed.
 */
async function preRead(run: Run): Promise<Outcome | null> {
  const t0 = performance.now();
  const snapshot = await readSnapshot(
    run.store,
    { columns: false, auditPending: run.audit !== undefined, lockTimeoutMs: run.lock.lockTimeoutMs },
    DOING,
  );
  run.timings.readMs = performance.now() - t0;
  // Rows that cannot be compared are decided under the lock like everything else.
  const stored = await storedProviders(snapshot, run.desired.providers, run.keyring).catch(() => null);
  // A provider with no row at all is an insert: no need to decide the rest.
  if (stored === null || run.desired.providers.some((dp) => !stored.has(dp.name))) return null;
  const plan = planProviders(run.desired.providers, stored);
  if (!plan.every((e) => e.action === "unchanged" || e.action === "skip-deleted")) return null;
  warnSkipped(plan, run.desired.logger);
  // The audit backlog is counted only when the audit table exists.
  return { plan, lockTaken: false, written: null, outbox: snapshot.auditPending !== null, backlog: snapshot.auditPending ?? 0 };
}

/**
 * Step 2, under advisory lock 10: read again, decide again, and insert
 * what is missing with its audit entries, in one transaction.
 */
async function applyUnderLock(run: Run): Promise<Outcome> {
  const t0 = performance.now();
  const encrypting = run.keyring?.primary != null;
  let tx;
  try {
    tx = await run.store.lock(run.lock, { dbcryptKeys: encrypting, auditPending: run.audit !== undefined });
  } catch (err) {
    // The wait counts in the error's timings too: a host exports how long it waited.
    run.timings.lockWaitMs = performance.now() - t0;
    if (err instanceof LockTimeoutError) throw new LockTimeoutError(err.timeoutMs, await run.store.lockHolder());
    throw err;
  }
  run.timings.lockWaitMs = performance.now() - t0;
  try {
    const snapshot = tx.snapshot;
    run.columns = snapshot.columns ?? {};
    checkSchema(run.columns, DOING);
    if (encrypting && snapshot.dbcryptKeys === null) {
      throw new SeedError(
        "schema_missing",
        `${DOING}: encryption keys are configured but the dbcrypt_keys table does not exist; create it with applySchema(sql)`,
      );
    }
    // Decide again on what the lock protects: a replica may have inserted,
    // or an operator changed a row, since the pre-read.
    const plan = planProviders(run.desired.providers, await storedProviders(snapshot, run.desired.providers, run.keyring));
    warnSkipped(plan, run.desired.logger);
    const drifts = plan.filter((e) => e.action === "drift").map((e) => ({ provider: e.name, fields: e.drift }));
    if (drifts.length > 0) throw new DriftError(drifts, run.desired.prefix);

    const outbox = hasOutbox(run);
    const written = await seedWrites(run.desired.providers, plan, run.keyring, snapshot.dbcryptKeys, {
      outbox,
      delivered: run.audit === undefined,
    });
    for (const { dp, keyIds } of written.inserted) {
      run.desired.logger.info("seeded ai provider from environment", { name: dp.name, type: dp.type, key_count: keyIds.length });
    }
    await tx.commit(written.writes);
    run.timings.transactionMs = performance.now() - t0;
    return { plan, lockTaken: true, written, outbox, backlog: snapshot.auditPending ?? 0 };
  } catch (err) {
    await tx.rollback();
    throw err;
  }
}

/**
 * Step 3, after the commit and only then: a log line or audit entry
 * emitted inside the transaction would describe a row that a rollback may
 * never have kept.
 */
async function afterCommit(run: Run, outcome: Outcome): Promise<Delivery> {
  const t0 = performance.now();
  const entries = outcome.written?.entries ?? (() => []);
  const wrote = (outcome.written?.writes.providers.length ?? 0) > 0;
  logCommitted(outcome.written?.inserted ?? [], run.desired.logger);
  let delivery: Delivery = { delivered: 0, failures: [] };
  if (run.audit !== undefined) {
    try {
      if (outcome.outbox && (wrote || outcome.backlog > 0)) {
        // The claim lasts as long as this run may still deliver, and a margin.
        const left = run.deadline.remaining();
        const leaseMs = left === Infinity ? 600_000 : left + 5_000;
        delivery = await deliverFromTable(run.store, run.audit, run.desired.logger, run.deadline, leaseMs);
      } else if (!outcome.outbox) {
        delivery = await deliverFromMemory(entries(), run.audit, run.desired.logger, run.deadline);
      }
    } catch (err) {
      // The rows are committed: a failure to deliver their entries must not
      // turn the seed into an error (which would say nothing was written).
      // With the audit table the entries stay there for the next start.
      const message = err instanceof Error ? errorText(err) : String(err);
      run.desired.logger.error("failed to deliver audit entries for env-seeded ai providers", { error: message });
      const kept = outcome.outbox ? "; the entries stay in ai_provider_audit and are delivered by the next start" : "";
      delivery = {
        delivered: delivery.delivered,
        failures: [...delivery.failures, { resourceType: "ai_provider", resourceId: "", message: `${message}${kept}` }],
      };
    }
  }
  run.timings.auditMs = performance.now() - t0;
  return delivery;
}

function finish(run: Run, outcome: Outcome, delivery: Delivery, started: number): SeedReport {
  // The plan's insert entries, now with their row ids (inserted follows the plan's order).
  const inserted = outcome.written?.inserted ?? [];
  let next = 0;
  const entries = outcome.plan.map((e) => {
    if (e.action !== "insert" || next >= inserted.length) return e;
    return { ...e, providerId: inserted[next++].id };
  });
  const counts = countEntries(entries);
  run.timings.totalMs = performance.now() - started;
  return {
    entries,
    counts,
    changes: counts.insert > 0,
    warnings: run.desired.warnings,
    timings: run.timings,
    lockTaken: outcome.lockTaken,
    auditDelivered: delivery.delivered,
    auditFailures: delivery.failures,
    statements: run.store.statements,
    roundTrips: run.store.roundTrips,
  };
}

function hasOutbox(run: Run): boolean {
  return "ai_provider_audit.entry" in run.columns;
}

function warnSkipped(plan: PlanEntry[], logger: Logger): void {
  for (const entry of plan) {
    if (entry.action === "skip-deleted") {
      logger.warn("skipping env-seeded ai provider that was previously soft-deleted", { name: entry.name });
    }
  }
}
