/**
 * Internal. The one decision: for each desired provider, given the stored
 * row it is compared with, insert, leave unchanged, skip (deleted) or
 * report drift. Pure: the plan, the seed's pre-read and the seed under the
 * lock all call it.
 *
 * @module
 */
import { goQuote } from "./_go_json.ts";
import type { StoredProvider } from "./_stored.ts";
import { canonicalJSON, canonicalProvider } from "./canonical_json.ts";
import { maskSecret } from "./mask_secret.ts";
import type { PlanEntry } from "./report.ts";
import type { DesiredAIProvider } from "./types.ts";

/**
 * Plans `desired` against the stored rows, in name order.
 *
 * Equality is the canonical form's bytes: equal bytes are exactly equal
 * hashes (which is what the reference compares), without paying for a
 * digest per provider.
 */
export function planProviders(desired: readonly DesiredAIProvider[], stored: ReadonlyMap<string, StoredProvider>): PlanEntry[] {
  return desired.map((dp) => {
    const row = stored.get(dp.name);
    const entry: PlanEntry = {
      name: dp.name,
      type: dp.type,
      action: "insert",
      providerId: row?.id ?? null,
      keyCount: 0,
      maskedKeys: [],
      drift: [],
    };
    if (row === undefined) {
      entry.maskedKeys = dp.keys.filter((k) => k.trim() !== "").map(maskSecret);
      entry.keyCount = entry.maskedKeys.length;
      return entry;
    }
    if (row.deleted) {
      // Created here, then deleted by an operator: the deletion is sticky,
      // the environment never resurrects it.
      entry.action = "skip-deleted";
      return entry;
    }
    const want = canonicalProvider(dp);
    const have = { type: row.type, baseURL: row.baseURL, bedrockRegion: row.bedrockRegion };
    if (canonicalJSON(have) === canonicalJSON(want)) {
      entry.action = "unchanged";
      return entry;
    }
    // A drifted row is never overwritten: the API may have changed it on
    // purpose, so start-up stops and the operator decides which side wins.
    entry.action = "drift";
    if (goQuote(have.type) !== goQuote(want.type)) entry.drift.push({ field: "type", stored: have.type, desired: want.type });
    if (goQuote(have.baseURL) !== goQuote(want.baseURL)) {
      entry.drift.push({ field: "base_url", stored: have.baseURL, desired: want.baseURL });
    }
    if (goQuote(have.bedrockRegion) !== goQuote(want.bedrockRegion)) {
      entry.drift.push({ field: "bedrock_region", stored: have.bedrockRegion, desired: want.bedrockRegion });
    }
    return entry;
  });
}
