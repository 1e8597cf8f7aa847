/**
 * Internal. From the plan executed under the lock to the rows to insert
 * (ids generated here, so one statement per table carries them all; keys
 * and settings encrypted with the primary key when one is configured) and
 * the audit entries that describe them.
 *
 * @module
 */
import { encryptValue, type Keyring } from "./_dbcrypt.ts";
import { encodeSettings } from "./_settings.ts";
import type { DbcryptKeyRow, NewKeyRow, NewProviderRow, Writes } from "./_store.ts";
import type { AuditEntry } from "./audit.ts";
import { SeedError } from "./errors.ts";
import { maskSecret } from "./mask_secret.ts";
import type { PlanEntry } from "./report.ts";
import type { DesiredAIProvider } from "./types.ts";

/** The ASCII codes of the hexadecimal digits. */
const HEX = new TextEncoder().encode("0123456789abcdef");
/** Ids per call to the random source, which gives at most 65,536 bytes at once. */
const BATCH = 4_096;

/**
 * Version 4 UUIDs, as `crypto.randomUUID()` makes them, made in batches:
 * one call to the random source and one decoded text per batch, each id a
 * slice of it (3 ids per provider with 2 keys: one call, or one string
 * built digit by digit, per id was a visible share of a large seed).
 */
function uuidSource(count: number): () => string {
  let text = "";
  let at = 0;
  let left = count;
  const refill = (): void => {
    const n = Math.max(1, Math.min(BATCH, left));
    left -= n;
    const random = crypto.getRandomValues(new Uint8Array(n * 16));
    const ascii = new Uint8Array(n * 36);
    let o = 0;
    for (let r = 0; r < random.length; r++) {
      const i = r & 15;
      const b = i === 6 ? (random[r] & 0x0f) | 0x40 : i === 8 ? (random[r] & 0x3f) | 0x80 : random[r];
      ascii[o++] = HEX[b >> 4];
      ascii[o++] = HEX[b & 15];
      if (i === 3 || i === 5 || i === 7 || i === 9) ascii[o++] = 0x2d; // "-"
    }
    text = new TextDecoder().decode(ascii);
    at = 0;
  };
  return () => {
    if (at >= text.length) refill();
    at += 36;
    return text.slice(at - 36, at);
  };
}

/** The rows of one seed and the audit entries that describe them, in a deterministic order. */
export interface SeedWrites {
  /** The rows, as the store inserts them. */
  writes: Writes;
  /** One entry per inserted row, made as they are read: providers in name order, then their keys. */
  entries: () => Iterable<AuditEntry>;
  /** What was inserted, one item per provider in the order of the plan: what the log lines and the report say. */
  inserted: InsertedProvider[];
}

/** One inserted provider: its row id, and its keys' row ids and masked values. */
export interface InsertedProvider {
  /** The provider as configured. */
  dp: DesiredAIProvider;
  /** Its new row id. */
  id: string;
  /** The new key row ids, in the order of its (non-blank) keys. */
  keyIds: string[];
  /** Those keys, masked. */
  masked: readonly string[];
}

/**
 * Decides whether the primary key must be registered in `dbcrypt_keys`
 * before values encrypted with it are written (the seed's inserts, and
 * the settings `adoptProviders` rewrites).
 *
 * @throws {SeedError} `encryption_key_revoked` when it was revoked.
 */
export function keyToRegister(keyring: Keyring | null, keys: DbcryptKeyRow[] | null): string | null {
  const primary = keyring?.primary ?? null;
  if (primary === null) return null;
  const rows = keys ?? [];
  if (rows.some((r) => r.revoked_key_digest === primary.digest)) {
    throw new SeedError(
      "encryption_key_revoked",
      `encryption key ${primary.digest} (the first of the configured keys) was revoked in dbcrypt_keys and can never encrypt again; put a new key first in CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS (or encryptionKeys)`,
    );
  }
  return rows.some((r) => r.active_key_digest === primary.digest) ? null : primary.digest;
}

/**
 * Builds the rows for every `insert` entry of `plan` (in the order of
 * `desired`, which the plan follows), encrypting keys and settings with
 * the primary key when one is configured. Blank keys are never stored.
 */
export async function seedWrites(
  desired: readonly DesiredAIProvider[],
  plan: readonly PlanEntry[],
  keyring: Keyring | null,
  dbcryptKeys: DbcryptKeyRow[] | null,
  audit: { outbox: boolean; delivered: boolean },
): Promise<SeedWrites> {
  const primary = keyring?.primary ?? null;
  // Rows are built in plaintext in one synchronous pass; with a primary key
  // every non-blank value is then encrypted, all digests at once, rather
  // than one await (and one microtask round) per value.
  const sealing: Promise<void>[] = [];
  const seal = (value: string, put: (sealed: string, keyId: string) => void): void => {
    if (primary === null || value.trim() === "") return;
    sealing.push(encryptValue(primary, value).then((sealed) => put(sealed, primary.digest)));
  };

  const providers: NewProviderRow[] = [];
  const keys: NewKeyRow[] = [];
  // What the audit entries are made of, kept compact: a seed of 10,000
  // providers describes 30,000 rows, and 30,000 entry objects held at once
  // cost more than every row itself. Entries are made one at a time, when
  // they are logged, delivered or written to the audit table.
  const made: InsertedProvider[] = [];
  const time = new Date();
  const uuid = uuidSource(plan.reduce((n, e, i) => (e.action === "insert" ? n + 2 + 2 * desired[i].keys.length : n), 0));
  for (let i = 0; i < plan.length; i++) {
    if (plan[i].action !== "insert") continue;
    const dp = desired[i];
    const id = uuid();
    const settings = encodeSettings(dp.bedrock);
    // A null column is left out of the document (json_to_recordset reads it as null): less to send and to parse.
    const row: NewProviderRow = { id, type: dp.type, name: dp.name, base_url: dp.baseURL };
    if (settings !== null) row.settings = settings;
    if (audit.outbox) {
      // With the audit table the server builds each entry from its row: the row carries what the entry adds.
      row.audit_bedrock = dp.bedrock === null ? null : {
        region: dp.bedrock.region,
        model: dp.bedrock.model,
        small_fast_model: dp.bedrock.smallFastModel,
        access_key: dp.bedrock.accessKey === undefined ? null : maskSecret(dp.bedrock.accessKey),
        access_key_secret: dp.bedrock.accessKeySecret === undefined ? null : maskSecret(dp.bedrock.accessKeySecret),
      };
    }
    providers.push(row);
    if (settings !== null) {
      seal(settings, (sealed, keyId) => {
        row.settings = sealed;
        row.settings_key_id = keyId;
      });
    }
    const keyIds: string[] = [];
    // The plan masked the same keys (the non-blank ones, in order).
    const masked = plan[i].maskedKeys;
    for (const apiKey of dp.keys) {
      if (apiKey.trim() === "") continue;
      const keyId = uuid();
      const keyRow: NewKeyRow = { id: keyId, provider_id: id, api_key: apiKey };
      keys.push(keyRow);
      seal(apiKey, (sealed, digest) => {
        keyRow.api_key = sealed;
        keyRow.api_key_key_id = digest;
      });
      if (audit.outbox) {
        keyRow.masked = masked[keyIds.length];
        keyRow.provider_name = dp.name;
      }
      keyIds.push(keyId);
    }
    made.push({ dp, id, keyIds, masked });
  }
  await Promise.all(sealing);

  // Providers in name order, then their keys: the order the entries have always had.
  function* entries(): Generator<AuditEntry> {
    for (const { dp, id } of made) {
      const fields: AuditEntry["fields"] = { id, name: dp.name, display_name: dp.name, type: dp.type, base_url: dp.baseURL, enabled: true };
      if (dp.bedrock !== null) {
        fields.bedrock_region = dp.bedrock.region;
        fields.bedrock_model = dp.bedrock.model;
        fields.bedrock_small_fast_model = dp.bedrock.smallFastModel;
        fields.bedrock_access_key = dp.bedrock.accessKey === undefined ? null : maskSecret(dp.bedrock.accessKey);
        fields.bedrock_access_key_secret = dp.bedrock.accessKeySecret === undefined ? null : maskSecret(dp.bedrock.accessKeySecret);
      }
      yield { time, actor: "system", action: "create", resourceType: "ai_provider", resourceId: id, providerName: dp.name, fields };
    }
    for (const { dp, id, keyIds, masked } of made) {
      for (let k = 0; k < keyIds.length; k++) {
        yield {
          time,
          actor: "system",
          action: "create",
          resourceType: "ai_provider_key",
          resourceId: keyIds[k],
          providerName: dp.name,
          fields: { id: keyIds[k], provider_id: id, api_key: masked[k] },
        };
      }
    }
  }

  const register = providers.length > 0 ? keyToRegister(keyring, dbcryptKeys) : null;
  return {
    writes: {
      providers,
      keys,
      audit: [],
      auditInline: audit.outbox && made.length > 0 ? { time: time.toISOString(), delivered: audit.delivered } : null,
      dbcryptKey: register === null ? null : { digest: register, test: await encryptValue(primary!, "coder") },
    },
    entries,
    inserted: made,
  };
}
