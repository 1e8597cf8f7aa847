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
import type { DbcryptKeyRow, NewAuditRow, NewKeyRow, NewProviderRow, Writes } from "./_store.ts";
import type { AuditEntry } from "./audit.ts";
import { SeedError } from "./errors.ts";
import { maskSecret } from "./mask_secret.ts";
import type { PlanEntry } from "./report.ts";
import type { DesiredAIProvider } from "./types.ts";

/** The rows of one seed and the audit entries that describe them, in a deterministic order. */
export interface SeedWrites {
  /** The rows, as the store inserts them. */
  writes: Writes;
  /** One entry per inserted row: providers in name order, then their keys. */
  entries: AuditEntry[];
  /** Inserted key count and masked keys per provider name. */
  maskedKeys: Map<string, string[]>;
  /** New row id per provider name. */
  ids: Map<string, string>;
}

/**
 * Decides whether the primary key must be registered in `dbcrypt_keys`
 * before values encrypted with it are written.
 *
 * @throws {SeedError} `encryption_key_revoked` when it was revoked.
 */
function keyToRegister(keyring: Keyring | null, keys: DbcryptKeyRow[] | null): string | null {
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
  const seal = async (value: string): Promise<{ value: string; keyId: string | null }> =>
    primary === null || value.trim() === "" ? { value, keyId: null } : { value: await encryptValue(primary, value), keyId: primary.digest };

  const providers: NewProviderRow[] = [];
  const keys: NewKeyRow[] = [];
  const entries: AuditEntry[] = [];
  const keyEntries: AuditEntry[] = [];
  const maskedKeys = new Map<string, string[]>();
  const ids = new Map<string, string>();
  const time = new Date();
  for (let i = 0; i < plan.length; i++) {
    if (plan[i].action !== "insert") continue;
    const dp = desired[i];
    const id = crypto.randomUUID();
    ids.set(dp.name, id);
    const plainSettings = encodeSettings(dp.bedrock);
    const settings = plainSettings === null ? { value: null, keyId: null } : await seal(plainSettings);
    providers.push({ id, type: dp.type, name: dp.name, base_url: dp.baseURL, settings: settings.value, settings_key_id: settings.keyId });

    const fields: AuditEntry["fields"] = { id, name: dp.name, display_name: dp.name, type: dp.type, base_url: dp.baseURL, enabled: true };
    if (dp.bedrock !== null) {
      fields.bedrock_region = dp.bedrock.region;
      fields.bedrock_model = dp.bedrock.model;
      fields.bedrock_small_fast_model = dp.bedrock.smallFastModel;
      fields.bedrock_access_key = dp.bedrock.accessKey === undefined ? null : maskSecret(dp.bedrock.accessKey);
      fields.bedrock_access_key_secret = dp.bedrock.accessKeySecret === undefined ? null : maskSecret(dp.bedrock.accessKeySecret);
    }
    entries.push({ time, actor: "system", action: "create", resourceType: "ai_provider", resourceId: id, providerName: dp.name, fields });

    const masked: string[] = [];
    for (const apiKey of dp.keys) {
      if (apiKey.trim() === "") continue;
      const keyId = crypto.randomUUID();
      const sealed = await seal(apiKey);
      keys.push({ id: keyId, provider_id: id, api_key: sealed.value, api_key_key_id: sealed.keyId });
      masked.push(maskSecret(apiKey));
      keyEntries.push({
        time,
        actor: "system",
        action: "create",
        resourceType: "ai_provider_key",
        resourceId: keyId,
        providerName: dp.name,
        fields: { id: keyId, provider_id: id, api_key: maskSecret(apiKey) },
      });
    }
    maskedKeys.set(dp.name, masked);
  }
  entries.push(...keyEntries);

  const register = providers.length > 0 ? keyToRegister(keyring, dbcryptKeys) : null;
  const auditRows: NewAuditRow[] = audit.outbox
    ? entries.map((e, position) => ({ id: crypto.randomUUID(), position, entry: JSON.stringify(e), delivered: audit.delivered }))
    : [];
  return {
    writes: {
      providers,
      keys,
      audit: auditRows,
      dbcryptKey: register === null ? null : { digest: register, test: await encryptValue(primary!, "coder") },
    },
    entries,
    maskedKeys,
    ids,
  };
}
