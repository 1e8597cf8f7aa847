/**
 * Decides, for each desired provider, what the seed does with it given the
 * rows in the database. Pure: no I/O, so the seed and a dry-run plan share
 * one decision.
 *
 * @module
 */
import { computeProviderHash } from "./canonical_json.ts";
import { type DriftField, SeedError } from "./errors.ts";
import { maskSecret } from "./mask_secret.ts";
import { canonicalOf } from "./providers_from_config.ts";
import { storedBedrockRegion } from "./settings.ts";
import type { StoredProvider } from "./store.ts";
import type { AIProviderType, DesiredAIProvider } from "./types.ts";

/** What the seed does with one provider. */
export type PlanAction = "insert" | "unchanged" | "skip-deleted" | "drift";

/** The decision for one desired provider. */
export interface PlanEntry {
  /** Provider name. */
  name: string;
  /** Provider type (from the environment). */
  type: AIProviderType;
  /** What happens to it. */
  action: PlanAction;
  /** Keys stored with it when inserted; 0 otherwise. */
  keyCount: number;
  /** With `insert`: the keys it would store, masked; otherwise empty. */
  maskedKeys: string[];
  /** The existing row's id, or `null` when there is none. */
  providerId: string | null;
  /** With `drift`: every differing field with both values; otherwise empty. */
  drift: DriftField[];
}

/**
 * Plans the seed of `desired` against `rows` (every row of `ai_providers`,
 * deleted and disabled ones included). The one decision function: the
 * dry-run plan, the seed's lock-free pre-read and the seed under the lock
 * all call it.
 */
export async function planProviders(desired: DesiredAIProvider[], rows: StoredProvider[]): Promise<PlanEntry[]> {
  // A live row wins over a soft-deleted one of the same name.
  const byName = new Map<string, StoredProvider>();
  for (const row of rows) {
    const seen = byName.get(row.name);
    if (seen !== undefined && !seen.deleted && row.deleted) continue;
    byName.set(row.name, row);
  }

  const plan: PlanEntry[] = [];
  for (const dp of desired) {
    const row = byName.get(dp.name);
    const entry: PlanEntry = {
      name: dp.name,
      type: dp.type,
      action: "insert",
      keyCount: 0,
      maskedKeys: [],
      providerId: row?.id ?? null,
      drift: [],
    };
    if (row === undefined) {
      entry.maskedKeys = dp.keys.filter((k) => k !== "").map(maskSecret);
      entry.keyCount = entry.maskedKeys.length;
    } else if (row.deleted) {
      // Created here, then deleted by an operator: the deletion is sticky,
      // the environment never resurrects it.
      entry.action = "skip-deleted";
    } else {
      const region = storedRegion(row);
      const want = canonicalOf(dp.type, dp.baseURL, dp.bedrock);
      // Equal fields always hash equal, so only a difference pays for the
      // hash, which stays the authority exactly as in the reference.
      const same = row.type === want.type && row.base_url === want.baseURL && region === want.bedrockRegion;
      if (same || await computeProviderHash({ type: row.type, baseURL: row.base_url, bedrockRegion: region }) === dp.hash) {
        entry.action = "unchanged";
      } else {
        entry.action = "drift";
        if (row.type !== want.type) entry.drift.push({ field: "type", stored: row.type, desired: want.type });
        if (row.base_url !== want.baseURL) entry.drift.push({ field: "base_url", stored: row.base_url, desired: want.baseURL });
        if (region !== want.bedrockRegion) {
          entry.drift.push({ field: "bedrock_region", stored: region, desired: want.bedrockRegion });
        }
      }
    }
    plan.push(entry);
  }
  return plan;
}

function storedRegion(row: StoredProvider): string {
  // Encrypted settings (Coder's dbcrypt) cannot be read here, so the region
  // cannot be compared; refusing is safer than guessing.
  if (row.settings_key_id !== null && row.settings !== null) {
    throw new SeedError(
      "settings_unreadable",
      `AI provider ${
        JSON.stringify(row.name)
      }: its settings are encrypted (settings_key_id ${row.settings_key_id}), so the stored Bedrock region cannot be compared with the environment; manage this provider through the API or stop seeding it from the environment`,
    );
  }
  try {
    return storedBedrockRegion(row.settings);
  } catch (err) {
    throw new SeedError(
      "settings_unreadable",
      `AI provider ${JSON.stringify(row.name)}: cannot decode its stored settings (${
        (err as Error).message
      }); fix the row through the API or stop seeding it from the environment`,
    );
  }
}
