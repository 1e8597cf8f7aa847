/**
 * Internal. What the plan and the seed share around their statements: the
 * lock-free read that names what blocks it, and the typed error carrying
 * the timings reached.
 *
 * @module
 */
import { databaseError } from "./_db_error.ts";
import type { Snapshot, Store } from "./_store.ts";
import { LockTimeoutError, SeedError } from "./errors.ts";
import type { SeedTimings } from "./report.ts";

/** Reads the tables once and names what blocks them when the read waited too long for a lock. */
export async function readSnapshot(
  store: Store,
  options: { columns: boolean; auditPending: boolean; lockTimeoutMs: number },
  doing: string,
): Promise<Snapshot> {
  try {
    return await store.read(options);
  } catch (err) {
    if ((err as { code?: unknown })?.code === "55P03") {
      const holder = await store.tableLockHolder();
      throw new SeedError(
        "table_locked",
        `${doing}: waited more than ${options.lockTimeoutMs} ms for a lock on the ai_providers tables, held by ${
          holder ?? "another session (gone by now)"
        }, e.g. a migration; nothing was written. Retry when it is done, or raise lockTimeoutMs`,
      );
    }
    if (err instanceof LockTimeoutError && err.holder === null) throw new LockTimeoutError(err.timeoutMs, await store.lockHolder());
    throw err;
  }
}

/**
 * Attaches the phase timings reached so far to a typed error.
 *
 * @param err What was thrown.
 * @param doing What the call was doing, for a database error's message.
 * @param timings The timings so far; `totalMs` is filled in.
 * @param started When the call started (`performance.now()`).
 */
export function failure(err: unknown, doing: string, timings: SeedTimings, started: number): SeedError {
  const typed = databaseError(err, doing);
  timings.totalMs = performance.now() - started;
  typed.timings = timings;
  return typed;
}
