/**
 * The fix for drift, when the environment is right: take the
 * environment's type, base URL and Bedrock settings for named providers
 * that drifted, under the seed's lock, in one transaction. It runs only
 * when asked; the seed itself never updates a row.
 *
 * @module
 */
import {
  checkNames,
  deliverCommitted,
  lockNamed,
  type NamedSnapshot,
  NamedStore,
  type NamedWrites,
  type ProviderUpdate,
  readNamed,
  type Refusal,
  refusalError,
  runCost,
  writeFailure,
} from "./_adopt_store.ts";
import { CallDeadline } from "./_deadline.ts";
import { encryptValue, type Keyring } from "./_dbcrypt.ts";
import { desiredProviders } from "./_desired.ts";
import { keyringFrom } from "./_keyring.ts";
import { lockOptions } from "./_options.ts";
import { planProviders } from "./_plan.ts";
import { failure } from "./_run.ts";
import { encodeSettings } from "./_settings.ts";
import { checkSchema, type StoredProvider, storedProviders } from "./_stored.ts";
import type { DbcryptKeyRow } from "./_store.ts";
import { keyToRegister } from "./_writes.ts";
import type { AuditEntry, AuditSink } from "./audit.ts";
import { canonicalProvider } from "./canonical_json.ts";
import type { DriftField } from "./errors.ts";
import { maskSecret } from "./mask_secret.ts";
import type { PlanOptions } from "./plan_seed.ts";
import { type AuditFailure, emptyTimings, type SeedTimings, type SeedWarning } from "./report.ts";
import type { AIProviderType, DesiredAIProvider, Sql } from "./types.ts";

/** Options of {@link adoptProviders}: where the configuration comes from (as for the seed), the audit sink, and the dry run. */
export interface AdoptOptions extends PlanOptions {
  /**
   * Receives one entry (action `write`, old and new values, secrets
   * masked) per adopted provider, after the commit; through the
   * `ai_provider_audit` outbox when the table exists, as the seed does.
   */
  audit?: AuditSink;
  /**
   * Decide without writing: one lock-free read, the same checks and the
   * same result, `written: false`. What a confirmation prompt shows; the
   * real call decides again under the lock.
   */
  dryRun?: boolean;
}

/** What {@link adoptProviders} does to one named provider: `adopt` (it drifted; the environment's values are written) or `unchanged`. */
export type AdoptAction = "adopt" | "unchanged";

/** One named provider, as {@link adoptProviders} found and left it. */
export interface AdoptEntry {
  /** Provider name. */
  name: string;
  /** Its type in the environment (after `adopt`, in the database too). */
  type: AIProviderType;
  /** The row's id. */
  providerId: string;
  /** What was (or, in a dry run, would be) done. */
  action: AdoptAction;
  /** With `adopt`: every field that differed, database value (`stored`) and environment value (`desired`); otherwise empty. */
  changes: DriftField[];
}

/** The outcome of {@link adoptProviders}. */
export interface AdoptResult {
  /** One entry per named provider, in name order. */
  entries: AdoptEntry[];
  /** Whether anything was written: `false` in a dry run, and when every named provider was unchanged. */
  written: boolean;
  /** Whether advisory lock 10 was taken (never in a dry run). */
  lockTaken: boolean;
  /** Audit entries handed to the sink (this call's, and any an earlier run left in the outbox). */
  auditDelivered: number;
  /** Audit entries the sink refused (kept in the outbox for the next run when the table exists). */
  auditFailures: AuditFailure[];
  /** Configuration warnings, as the seed reports them. */
  warnings: SeedWarning[];
  /** Phase durations: `readMs` for a dry run; `lockWaitMs`, `transactionMs` and `auditMs` otherwise. */
  timings: SeedTimings;
  /** Statements sent. */
  statements: number;
  /** Round trips waited for: 1 for a dry run, 2 for an adoption, plus 2 when an audit sink receives entries through the outbox. */
  roundTrips: number;
}

const DOING = "adopt the environment's values for AI providers";

/** A named provider the call adopts or leaves, with what it was read as. */
interface Decided {
  entry: AdoptEntry;
  desired: DesiredAIProvider;
  stored: StoredProvider;
  row: NamedSnapshot["rows"][number];
}

/**
 * Decides every named provider on the rows read (under the lock, or for a
 * dry run without it).
 *
 * @throws {SeedError} `not_found` for names with no live row, naming each; the errors of `storedProviders`.
 */
async function decide(snapshot: NamedSnapshot, named: readonly DesiredAIProvider[], keyring: Keyring | null): Promise<Decided[]> {
  const stored = await storedProviders(snapshot, named, keyring);
  const refusals: Refusal[] = [];
  for (const d of named) {
    const s = stored.get(d.name);
    if (s === undefined) {
      refusals.push({
        code: "not_found",
        line: `AI provider ${JSON.stringify(d.name)} has no row in the database, so there is nothing to adopt; seed it instead`,
      });
    } else if (s.deleted) {
      refusals.push({
        code: "not_found",
        line: `AI provider ${
          JSON.stringify(d.name)
        } was soft-deleted; bring it back with restoreProviders first, then adopt it if it still differs`,
      });
    }
  }
  if (refusals.length > 0) throw refusalError(DOING, refusals);
  return planProviders(named, stored).map((p, i) => {
    const s = stored.get(p.name)!;
    return {
      entry: {
        name: p.name,
        type: p.type,
        providerId: s.id,
        action: p.action === "drift" ? "adopt" : "unchanged",
        changes: p.action === "drift" ? p.drift : [],
      },
      desired: named[i],
      stored: s,
      row: snapshot.rows.find((r) => r.id === s.id)!,
    };
  });
}

/** The updates, the key to register and the audit entries of the adopted providers. */
async function adoptionWrites(
  adopted: readonly Decided[],
  keyring: Keyring | null,
  dbcryptKeys: DbcryptKeyRow[] | null,
  audit: { outbox: boolean; delivered: boolean },
): Promise<{ writes: NamedWrites; entries: AuditEntry[] }> {
  const primary = keyring?.primary ?? null;
  const updates: ProviderUpdate[] = [];
  const entries: AuditEntry[] = [];
  let encrypted = false;
  const time = new Date();
  for (const { desired: dp, stored, row } of adopted) {
    const plain = encodeSettings(dp.bedrock);
    let settings = plain;
    let keyId: string | null = null;
    if (plain !== null && primary !== null && plain.trim() !== "") {
      settings = await encryptValue(primary, plain);
      keyId = primary.digest;
      encrypted = true;
    }
    updates.push({
      id: stored.id,
      type: dp.type,
      base_url: dp.baseURL,
      settings,
      settings_key_id: keyId,
      old_type: row.type!,
      old_base_url: row.base_url!,
      old_settings: row.settings,
      old_settings_key_id: row.settings_key_id,
    });
    const want = canonicalProvider(dp);
    const fields: AuditEntry["fields"] = {
      id: stored.id,
      name: dp.name,
      old_type: stored.type,
      type: want.type,
      old_base_url: stored.baseURL,
      base_url: want.baseURL,
      old_bedrock_region: stored.bedrockRegion,
      bedrock_region: want.bedrockRegion,
    };
    if (dp.bedrock !== null) {
      fields.bedrock_model = dp.bedrock.model;
      fields.bedrock_small_fast_model = dp.bedrock.smallFastModel;
      fields.bedrock_access_key = dp.bedrock.accessKey === undefined ? null : maskSecret(dp.bedrock.accessKey);
      fields.bedrock_access_key_secret = dp.bedrock.accessKeySecret === undefined ? null : maskSecret(dp.bedrock.accessKeySecret);
    }
    entries.push({
      time,
      actor: "system",
      action: "write",
      resourceType: "ai_provider",
      resourceId: stored.id,
      providerName: dp.name,
      fields,
    });
  }
  const register = encrypted ? keyToRegister(keyring, dbcryptKeys) : null;
  return {
    writes: {
      dbcryptKey: register === null ? null : { digest: register, test: await encryptValue(primary!, "coder") },
      updates,
      restores: [],
      audit: audit.outbox
        ? entries.map((e, position) => ({ id: crypto.randomUUID(), position, entry: JSON.stringify(e), delivered: audit.delivered }))
        : [],
    },
    entries,
  };
}

/**
 * For each named provider that has drifted, takes the environment's
 * values: updates the stored type, base URL and settings (the Bedrock
 * region and the rest of the Bedrock settings; encrypted with the first
 * configured key when keys are configured, `settings_key_id` set
 * accordingly) and `updated_at`. Its keys stay as they are, and so do
 * `enabled` and `display_name`. A named provider that has not drifted is
 * reported `unchanged` and not written.
 *
 * It runs under advisory lock 10 (the seed's lock) in one transaction of
 * two round trips: begin, lock and the read under it; then the updates,
 * their audit entries and the commit. Each update names the values it
 * read, so a row the API changed in between fails it (`conflict`) and
 * nothing is written. One audit entry per adopted provider (action
 * `write`, `fields` with `old_type`/`type`, `old_base_url`/`base_url`,
 * `old_bedrock_region`/`bedrock_region`, and the new Bedrock models and
 * masked credentials), after the commit.
 *
 * A name that is not configured in the environment, has no row, or is
 * soft-deleted refuses the whole call with one `not_found` error naming
 * each such provider, and nothing is written for any of them.
 *
 * @example
 * ```ts
 * import postgres from "postgres";
 * import { adoptProviders, applySchema, memoryAuditSink, seedAIProvidersFromEnv } from "@aibridge/seed";
 * import assert from "node:assert/strict";
 *
 * const sql = postgres(Deno.env.get("DATABASE_URL")!, { onnotice: () => {} });
 * const env = {
 *   CODER_AIBRIDGE_PROVIDER_0_TYPE: "openai",
 *   CODER_AIBRIDGE_PROVIDER_0_NAME: "adopt-example",
 *   CODER_AIBRIDGE_PROVIDER_0_BASE_URL: "https://proxy.example/v1",
 *   CODER_AIBRIDGE_PROVIDER_0_KEY: "sk-adopt-example",
 * };
 * try {
 *   await applySchema(sql);
 *   await seedAIProvidersFromEnv(sql, { env });
 *   // Someone changed the row; the environment is what should win.
 *   await sql`update ai_providers set base_url = 'https://old.example/v1' where name = 'adopt-example'`;
 *   const preview = await adoptProviders(sql, ["adopt-example"], { env, dryRun: true }); // writes nothing
 *   assert.deepEqual(preview.entries[0].changes, [{ field: "base_url", stored: "https://old.example/v1", desired: "https://proxy.example/v1" }]);
 *
 *   const audit = memoryAuditSink();
 *   const result = await adoptProviders(sql, ["adopt-example"], { env, audit });
 *   assert.equal(result.entries[0].action, "adopt");
 *   assert.equal(result.written, true);
 *   assert.equal(audit.entries[0].action, "write");
 *   assert.equal(audit.entries[0].fields.old_base_url, "https://old.example/v1");
 *
 *   const next = await seedAIProvidersFromEnv(sql, { env }); // the next start: no drift any more
 *   assert.equal(next.entries[0].action, "unchanged");
 * } finally {
 *   await sql`delete from ai_provider_audit where entry::jsonb ->> 'providerName' = 'adopt-example'`;
 *   await sql`delete from ai_providers where name = 'adopt-example'`;
 *   await sql.end();
 * }
 * ```
 *
 * @param sql A `postgres` client, configured as the host likes.
 * @param names The providers to adopt, by name (duplicates count once).
 * @param options Where the configuration comes from, keys, audit sink, logger, bounds, dry run.
 * @returns Per named provider, the field changes and the action; whether anything was written; audit delivery and cost.
 * @throws {ConfigError} when the configuration, a name or an option is invalid (nothing sent).
 * @throws {LockTimeoutError} when lock 10 is not granted within `lockTimeoutMs` (nothing written).
 * @throws {SeedError} `not_found` (nothing written), `conflict` (a row changed meanwhile; nothing written), `timeout`,
 *   `commit_unknown`, `table_locked`, `stored_row_invalid`, `settings_unreadable`, `encryption_key_missing`,
 *   `decrypt_failed`, `encryption_key_revoked`, `schema_missing`, `schema_mismatch`, `permission_denied`, `database_error`.
 */
export async function adoptProviders(sql: Sql, names: readonly string[], options: AdoptOptions = {}): Promise<AdoptResult> {
  const started = performance.now();
  const timings = emptyTimings();
  try {
    const checked = lockOptions(options);
    const wanted = checkNames(names, "adoptProviders");
    const desired = await desiredProviders(options);
    const keyring = await keyringFrom(options.encryptionKeys, desired.env);
    const byName = new Map(desired.providers.map((d) => [d.name, d]));
    const unconfigured = wanted.filter((n) => !byName.has(n));
    if (unconfigured.length > 0) {
      throw refusalError(
        DOING,
        unconfigured.map((n) => ({
          code: "not_found",
          line: `AI provider ${JSON.stringify(n)} is not configured in the environment (no ${desired.prefix}* variables give that name)`,
        })),
      );
    }
    const named = wanted.map((n) => byName.get(n)!);
    timings.normaliseMs = performance.now() - started;
    const deadline = new CallDeadline(checked.timeoutMs, DOING);
    const store = new NamedStore(sql, deadline);
    const result = (
      decided: Decided[],
      written: boolean,
      lockTaken: boolean,
      delivery = { delivered: 0, failures: [] as AuditFailure[], statements: 0, roundTrips: 0 },
    ): AdoptResult => {
      timings.totalMs = performance.now() - started;
      return {
        entries: decided.map((d) => d.entry),
        written,
        lockTaken,
        warnings: desired.warnings,
        timings,
        ...runCost(store, delivery),
      };
    };

    if (options.dryRun === true) {
      const snapshot = await readNamed(sql, store, deadline, wanted, checked.lockTimeoutMs, DOING, timings);
      return result(await decide(snapshot, named, keyring), false, false);
    }

    // Settings are only written for Bedrock providers, and only encrypted with a key.
    const encrypting = keyring?.primary != null && named.some((d) => d.bedrock !== null);
    const t0 = performance.now();
    const tx = await lockNamed(sql, store, deadline, checked, wanted, { dbcryptKeys: encrypting, doing: DOING });
    timings.lockWaitMs = performance.now() - t0;
    let decided: Decided[];
    let entries: AuditEntry[];
    let outbox: boolean;
    try {
      checkSchema(tx.snapshot.columns, DOING);
      decided = await decide(tx.snapshot, named, keyring);
      const adopted = decided.filter((d) => d.entry.action === "adopt");
      if (adopted.length === 0) {
        await tx.rollback();
        timings.transactionMs = performance.now() - t0;
        return result(decided, false, true);
      }
      outbox = "ai_provider_audit.entry" in tx.snapshot.columns;
      const built = await adoptionWrites(adopted, keyring, tx.snapshot.dbcryptKeys, { outbox, delivered: options.audit === undefined });
      entries = built.entries;
      await tx.commit(built.writes);
      timings.transactionMs = performance.now() - t0;
    } catch (err) {
      await tx.rollback();
      throw writeFailure(err, DOING);
    }

    // After the commit, and only then.
    const t1 = performance.now();
    for (const d of decided) {
      if (d.entry.action !== "adopt") continue;
      desired.logger.info("adopted ai provider values from environment", {
        provider_id: d.entry.providerId,
        name: d.entry.name,
        type: d.entry.type,
        changed: d.entry.changes.map((c) => c.field).join(","),
      });
    }
    const delivery = await deliverCommitted(sql, deadline, entries, outbox, options.audit, desired.logger);
    timings.auditMs = performance.now() - t1;
    return result(decided, true, true, delivery);
  } catch (err) {
    throw failure(err, DOING, timings, started);
  }
}
