/**
 * Human-readable rendering of a plan or a seed's report: one row per
 * provider, keys masked.
 *
 * @module
 */
import { entriesTable } from "./_table.ts";
import type { SeedPlan, SeedReport } from "./report.ts";

/**
 * Renders a plan (from `planSeed`) or a report (from
 * `seedAIProvidersFromEnv`) as a table (provider, type, action, keys, and
 * the drifted fields when any) followed by a one-line summary in the one
 * vocabulary of actions. Keys are shown masked.
 *
 * @example
 * ```ts
 * import { formatReport } from "@aibridge/seed";
 * import assert from "node:assert/strict";
 * const text = formatReport({
 *   entries: [{ name: "openai", type: "openai", action: "insert", providerId: null, keyCount: 1, maskedKeys: ["sk...ey"], drift: [] }],
 *   counts: { insert: 1, keys: 1, unchanged: 0, skipDeleted: 0, drift: 0 },
 *   changes: true,
 *   warnings: [],
 *   timings: { normaliseMs: 0, readMs: 0, lockWaitMs: 0, transactionMs: 0, auditMs: 0, totalMs: 3 },
 * });
 * assert.match(text, /^PROVIDER\s+TYPE\s+ACTION\s+KEYS\nopenai\s+openai\s+insert\s+sk\.\.\.ey/);
 * assert.match(text, /1 insert \(1 key\), 0 unchanged, 0 skip-deleted, 0 drift/);
 * ```
 *
 * @param result A plan or a report.
 * @returns Text without a trailing newline.
 */
export function formatReport(result: SeedPlan | SeedReport): string {
  if (result.entries.length === 0) return "No AI providers configured in the environment: nothing to seed.";
  return [entriesTable(result.entries), "", summaryLine(result), ...detailLines(result)].join("\n");
}

/**
 * The summary line of a plan or report, with the counts' names:
 * `1 insert (2 keys), 3 unchanged, 0 skip-deleted, 0 drift in 12 ms`.
 */
export function summaryLine(result: SeedPlan | SeedReport): string {
  const c = result.counts;
  return `${c.insert} insert (${c.keys} ${
    c.keys === 1 ? "key" : "keys"
  }), ${c.unchanged} unchanged, ${c.skipDeleted} skip-deleted, ${c.drift} drift in ${Math.round(result.timings.totalMs)} ms`;
}

function detailLines(result: SeedPlan | SeedReport): string[] {
  const warnings = result.warnings.map((w) => `warning: ${w.msg} ${JSON.stringify(w.fields)}`);
  const failures = "auditFailures" in result
    ? result.auditFailures.map((f) => `audit failed for ${f.resourceType} ${f.resourceId}: ${f.message}`)
    : [];
  return [...warnings, ...failures];
}
