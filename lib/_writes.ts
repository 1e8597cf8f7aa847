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

const HEX = "0123456789abcdef";

/**
 * Version 4 UUIDs, as `crypto.randomUUID()` makes them, from one call to
 * the random source for the whole batch (3 ids per provider with 2 keys:
 * one call each was a visible share of a large seed).
 */
function uuidSource(count: number): () => string {
  const bytes = crypto.getRandomValues(new Uint8Array(Math.min(65_536, Math.max(16, count * 16))));
  let at = 0;
  let pool = bytes;
  return () => {
    if (at + 16 > pool.length) {
      pool = crypto.getRandomValues(new Uint8Array(pool.length));
      at = 0;
    }
    pool[at + 6] = (pool[at + 6] & 0x0f) | 0x40;
    pool[at + 8] = (pool[at + 8] & 0x3f) | 0x80;
    let out = "";
    for (let i = 0; i < 16; i++) {
      const b = pool[at + i];
      out += HEX[b >> 4] + HEX[b & 15];
      if (i === 3 || i === 5 || i === 7 || i === 9) out += "-";
    }
    at += 16;
    return out;
  };
}

/** The rows of one seed and the audit entries that describe them, in a deterministic order. */
export interface SeedWrites {
  /** The rows, as the store inserts them. */
  writes: Writes;
  /** One entry per inserted row, made as they are read: providers in name order, then their keys. */
  entries: () => Iterable<AuditEntry>;
  /** Inserted key count and masked keys per provider name. */
  maskedKeys: Map<string, string[]>;
  /** New row id per provider name. */
  ids: Map<string, string>;
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
  const made: { dp: DesiredAIProvider; id: string; keyIds: string[]; masked: string[] }[] = [];
  const maskedKeys = new Map<string, string[]>();
  const ids = new Map<string, string>();
  const time = new Date();
  const uuid = uuidSource(plan.reduce((n, e, i) => (e.action === "insert" ? n + 2 + 2 * desired[i].keys.length : n), 0));
  for (let i = 0; i < plan.length; i++) {
    if (plan[i].action !== "insert") continue;
    const dp = desired[i];
    const id = uuid();
    ids.set(dp.name, id);
    const settings = encodeSettings(dp.bedrock);
    const row: NewProviderRow = { id, type: dp.type, name: dp.name, base_url: dp.baseURL, settings, settings_key_id: null };
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
    const masked: string[] = [];
    for (const apiKey of dp.keys) {
      if (apiKey.trim() === "") continue;
      const keyId = uuid();
      const keyRow: NewKeyRow = { id: keyId, provider_id: id, api_key: apiKey, api_key_key_id: null };
      keys.push(keyRow);
      seal(apiKey, (sealed, digest) => {
        keyRow.api_key = sealed;
        keyRow.api_key_key_id = digest;
      });
      keyIds.push(keyId);
      masked.push(maskSecret(apiKey));
      if (audit.outbox) {
        keyRow.masked = masked[masked.length - 1];
        keyRow.provider_name = dp.name;
      }
    }
    maskedKeys.set(dp.name, masked);
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
    maskedKeys,
    ids,
  };
}
