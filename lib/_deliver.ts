/**
 * Internal. After the commit, and only then: the post-commit log lines and
 * the audit entries handed to the host's sink.
 *
 * With the audit table (`ai_provider_audit`, created by `applySchema`) the
 * entries were written in the seed's own transaction; here they are
 * claimed, delivered and marked delivered, together with any an earlier run
 * left undelivered (it crashed, or its connection was cut, between commit
 * and delivery), so every entry reaches the sink once. Without the table (a
 * Coder database) the entries go straight from memory to the sink.
 *
 * @module
 */
import type { Deadline } from "./_deadline.ts";
import type { Store } from "./_store.ts";
import type { InsertedProvider } from "./_writes.ts";
import type { AuditEntry, AuditSink } from "./audit.ts";
import type { Logger } from "./logger.ts";
import type { AuditFailure } from "./report.ts";

/** What delivery achieved. */
export interface Delivery {
  /** Entries the sink accepted. */
  delivered: number;
  /** Entries it refused (kept for the next start when the table exists). */
  failures: AuditFailure[];
}

async function record(sink: AuditSink, entry: AuditEntry, logger: Logger, deadline: Deadline): Promise<AuditFailure | null> {
  try {
    await deadline.race(Promise.resolve().then(() => sink.record(entry)), "deliver an audit entry");
    return null;
  } catch (err) {
    // A failing sink must not undo a committed seed: report it and go on.
    const message = err instanceof Error ? err.message : String(err);
    logger.error("failed to record audit entry for env-seeded ai provider", {
      resource_type: entry.resourceType,
      resource_id: entry.resourceId,
      error: message,
    });
    return { resourceType: entry.resourceType, resourceId: entry.resourceId, message };
  }
}

/** Logs the post-commit lines for the rows just inserted: providers, then their keys. */
export function logCommitted(inserted: readonly InsertedProvider[], logger: Logger): void {
  for (const { dp, id } of inserted) {
    logger.info("env-seeded ai provider", { provider_id: id, name: dp.name, type: dp.type, base_url: dp.baseURL });
  }
  for (const { id, keyIds, masked } of inserted) {
    for (let k = 0; k < keyIds.length; k++) {
      logger.info("env-seeded ai provider key", { key_id: keyIds[k], provider_id: id, api_key: masked[k] });
    }
  }
}

const LATE = "not delivered: the seed's deadline (timeoutMs) passed first";

/** Hands `entries` (just committed) to the sink, from memory: the path without the audit table. */
export async function deliverFromMemory(
  entries: Iterable<AuditEntry>,
  sink: AuditSink,
  logger: Logger,
  deadline: Deadline,
): Promise<Delivery> {
  const failures: AuditFailure[] = [];
  let delivered = 0;
  for (const entry of entries) {
    if (deadline.remaining() <= 0) {
      // A sink called after the deadline would finish an entry the report calls failed.
      failures.push({ resourceType: entry.resourceType, resourceId: entry.resourceId, message: LATE });
      continue;
    }
    const failure = await record(sink, entry, logger, deadline);
    if (failure !== null) failures.push(failure);
    else delivered++;
  }
  return { delivered, failures };
}

function revive(text: string): AuditEntry {
  const e = JSON.parse(text) as AuditEntry & { time: string };
  return { ...e, time: new Date(e.time) };
}

/**
 * Claims every undelivered entry of the audit table, delivers it and marks
 * it delivered; a refused entry is given back for the next start. A claim
 * older than `leaseMs` (its run died after claiming) is taken over.
 */
export async function deliverFromTable(
  store: Store,
  sink: AuditSink,
  logger: Logger,
  deadline: Deadline,
  leaseMs: number,
): Promise<Delivery> {
  const claim = crypto.randomUUID();
  const claimed = await store.claimAudit(claim, leaseMs);
  if (claimed.length === 0) return { delivered: 0, failures: [] };
  const delivered: string[] = [];
  const failed: string[] = [];
  const failures: AuditFailure[] = [];
  for (const row of claimed) {
    const entry = revive(row.entry);
    if (deadline.remaining() <= 0) {
      // Given back for the next start rather than handed to the sink late.
      failed.push(row.id);
      failures.push({ resourceType: entry.resourceType, resourceId: entry.resourceId, message: `${LATE}; kept for the next start` });
      continue;
    }
    const failure = await record(sink, entry, logger, deadline);
    if (failure === null) delivered.push(row.id);
    else {
      failed.push(row.id);
      failures.push(failure);
    }
  }
  const settled = await store.settleAudit(claim, delivered, failed);
  if (settled < delivered.length) {
    logger.error("audit entries were delivered after their claim ran out; another run may deliver them again", {
      delivered: delivered.length,
      still_claimed: settled,
    });
  }
  return { delivered: delivered.length, failures };
}
