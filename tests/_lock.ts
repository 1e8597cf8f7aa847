// Holding the seed's advisory lock from a test, as a replica in the middle
// of its seed (or a Coder server) would.
import { LOCK_ID_AI_PROVIDERS_ENV_SEED } from "../mod.ts";
import type { Sql, TestDb } from "./_db.ts";

/** The application_name of the session holding the lock. */
export const HOLDER_NAME = "lock-holder-test";

export interface HeldLock {
  /** The holder's backend pid. */
  pid: number;
  /** Ends the holder's transaction (commits it). */
  release(): Promise<void>;
}

/**
 * Takes advisory lock 10 on a connection of its own, in an open transaction
 * (as a replica in the middle of its seed, or Coder, would), runs `during`
 * in that transaction, and keeps the lock until `release`.
 */
export async function holdSeedLock(db: TestDb, during?: (tx: Sql) => Promise<void>): Promise<HeldLock> {
  const holder = db.connect({ max: 1, connection: { application_name: HOLDER_NAME } });
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let ready!: (pid: number) => void;
  let failed!: (err: unknown) => void;
  const pid = new Promise<number>((resolve, reject) => {
    ready = resolve;
    failed = reject;
  });
  const done = holder.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${LOCK_ID_AI_PROVIDERS_ENV_SEED})`;
    await during?.(tx as unknown as Sql);
    const [row] = await tx<{ pid: number }[]>`select pg_backend_pid() as pid`;
    ready(row.pid);
    await gate;
  }).catch(failed);
  return {
    pid: await pid,
    release: async () => {
      release();
      await done;
    },
  };
}

/** Waits until some backend of this database waits for an advisory lock; returns its application_name. */
export async function waiterAppeared(sql: Sql): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const rows = await sql<{ application_name: string }[]>`
      select a.application_name from pg_locks l join pg_stat_activity a on a.pid = l.pid
      where l.locktype = 'advisory' and not l.granted and l.database = (select oid from pg_database where datname = current_database())`;
    if (rows.length > 0) return rows[0].application_name;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error("no backend started waiting for the seed lock");
}
