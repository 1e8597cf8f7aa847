/**
 * Internal. Rows the library may not have written, made comparable: checks
 * the tables' columns, picks the row each desired provider is compared
 * with, refuses what cannot be compared (NULL columns, two live rows of one
 * name) with an error naming the provider, the column and the fix, and
 * decrypts stored settings with the key their `settings_key_id` names.
 *
 * @module
 */
import { DecryptFailure, decryptValue, type Keyring } from "./_dbcrypt.ts";
import { storedBedrockRegion } from "./_settings.ts";
import type { RawProviderRow, Snapshot } from "./_store.ts";
import { SeedError } from "./errors.ts";
import type { DesiredAIProvider } from "./types.ts";

/** A stored provider, as far as the decision needs it. */
export interface StoredProvider {
  /** Row id. */
  id: string;
  /** `true` when only soft-deleted rows have the name. */
  deleted: boolean;
  /** Stored type (live rows). */
  type: string;
  /** Stored base URL (live rows). */
  baseURL: string;
  /** Region from the stored settings, `""` without Bedrock (live rows). */
  bedrockRegion: string;
}

/** The variable that configures the encryption keys, for messages. */
export const ENCRYPTION_KEYS_VARIABLE = "CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS";

const REQUIRED: Record<string, Record<string, string>> = {
  ai_providers: {
    id: "uuid",
    type: "ai_provider_type",
    name: "text",
    display_name: "text",
    enabled: "boolean",
    deleted: "boolean",
    base_url: "text",
    settings: "text",
    settings_key_id: "text",
  },
  ai_provider_keys: { id: "uuid", provider_id: "uuid", api_key: "text", api_key_key_id: "text" },
};

const AUDIT_COLUMNS: Record<string, string> = {
  id: "uuid",
  created_at: "timestamp with time zone",
  position: "integer",
  entry: "text",
  claim: "uuid",
  claimed_until: "timestamp with time zone",
  delivered_at: "timestamp with time zone",
};

/**
 * Checks that the tables the seed writes exist with the columns it needs.
 *
 * @throws {SeedError} `schema_missing` or `schema_mismatch`, naming table and column.
 */
export function checkSchema(columns: Record<string, string>, doing: string): void {
  const missingTables = Object.keys(REQUIRED).filter((t) => !Object.keys(columns).some((c) => c.startsWith(`${t}.`)));
  if (missingTables.length > 0) {
    throw new SeedError(
      "schema_missing",
      `${doing}: the table ${missingTables.join(" and ")} does not exist in this database; create the tables with applySchema(sql) first`,
    );
  }
  const problems: string[] = [];
  const tables = { ...REQUIRED };
  // The audit table is optional; when it exists the seed writes and claims through it.
  if (Object.keys(columns).some((c) => c.startsWith("ai_provider_audit."))) tables.ai_provider_audit = AUDIT_COLUMNS;
  for (const [table, cols] of Object.entries(tables)) {
    for (const [column, type] of Object.entries(cols)) {
      const found = columns[`${table}.${column}`];
      if (found === undefined) problems.push(`${table}.${column} is missing (expected ${type})`);
      else if (found !== type && !found.endsWith(`.${type}`)) problems.push(`${table}.${column} is ${found}, expected ${type}`);
    }
  }
  if (problems.length > 0) {
    throw new SeedError(
      "schema_mismatch",
      `${doing}: the tables do not have the columns the seed needs: ${
        problems.join("; ")
      }. Fix them to match SCHEMA_SQL (a Coder database has them so)`,
    );
  }
}

function rowProblem(name: string, message: string): SeedError {
  return new SeedError("stored_row_invalid", `AI provider ${JSON.stringify(name)}: ${message}`);
}

async function decryptedSettings(row: RawProviderRow, keyring: Keyring | null): Promise<string | null> {
  if (row.settings === null || row.settings_key_id === null || row.settings_key_id === "") return row.settings;
  const key = keyring?.byDigest.get(row.settings_key_id);
  if (key === undefined) {
    throw new SeedError(
      "encryption_key_missing",
      `AI provider ${
        JSON.stringify(row.name)
      }: its settings are encrypted with key ${row.settings_key_id}, which is not configured; set ${ENCRYPTION_KEYS_VARIABLE} (or the encryptionKeys option) to a key list that includes it`,
    );
  }
  try {
    return await decryptValue(key, row.settings);
  } catch (err) {
    const reason = err instanceof DecryptFailure ? err.reason : "decryption failed";
    throw new SeedError(
      "decrypt_failed",
      `AI provider ${
        JSON.stringify(row.name)
      }: its settings do not decrypt with key ${row.settings_key_id} (${reason}); the value or its settings_key_id was changed outside Coder and this library. Restore the row, or delete the provider and seed it again`,
    );
  }
}

/**
 * The row each desired provider is compared with, by name: the live row
 * when there is one (a live row wins over soft-deleted ones), else a
 * deleted marker. Rows of names nobody asks for are not looked at.
 *
 * @throws {SeedError} `stored_row_invalid` for rows that cannot be compared,
 *   `encryption_key_missing` / `decrypt_failed` for settings that cannot be read,
 *   `settings_unreadable` for settings that are not a JSON object.
 */
export async function storedProviders(
  snapshot: Snapshot,
  desired: readonly DesiredAIProvider[],
  keyring: Keyring | null,
): Promise<Map<string, StoredProvider>> {
  const wanted = new Set(desired.map((d) => d.name));
  const byName = new Map<string, RawProviderRow[]>();
  for (const row of snapshot.rows) {
    if (!wanted.has(row.name)) continue;
    const list = byName.get(row.name);
    if (list === undefined) byName.set(row.name, [row]);
    else list.push(row);
  }
  const out = new Map<string, StoredProvider>();
  for (const [name, rows] of byName) {
    if (rows.some((r) => r.deleted === null)) {
      throw rowProblem(name, "a row has deleted = NULL, so it is neither live nor deleted; set it to true or false");
    }
    const live = rows.filter((r) => r.deleted === false).sort((a, b) => (a.id < b.id ? -1 : 1));
    if (live.length > 1) {
      throw rowProblem(
        name,
        `${live.length} live rows have this name (ids ${
          live.map((r) => r.id).join(", ")
        }), so which one the environment describes is ambiguous; soft-delete all but one (update ai_providers set deleted = true, enabled = false where id = …)`,
      );
    }
    if (live.length === 0) {
      out.set(name, { id: rows[0].id, deleted: true, type: "", baseURL: "", bedrockRegion: "" });
      continue;
    }
    const row = live[0];
    for (const column of ["type", "base_url"] as const) {
      if (row[column] === null) {
        throw rowProblem(name, `its ${column} is NULL (row ${row.id}); set it through the API or with an UPDATE, or soft-delete the row`);
      }
    }
    const settings = await decryptedSettings(row, keyring);
    let bedrockRegion: string;
    try {
      bedrockRegion = storedBedrockRegion(settings);
    } catch (err) {
      throw new SeedError(
        "settings_unreadable",
        `AI provider ${JSON.stringify(name)}: cannot decode its stored settings (${
          (err as Error).message
        }); fix the row through the API or stop seeding it from the environment`,
      );
    }
    out.set(name, { id: row.id, deleted: false, type: row.type!, baseURL: row.base_url!, bedrockRegion });
  }
  return out;
}
