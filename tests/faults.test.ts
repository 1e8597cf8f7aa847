// Faults in the field, each through a real TCP proxy, real processes and
// real signals: a stall while the seed holds lock 10, a cut after the
// commit was sent (FIN and RST), kill -9 of a seeding process
// mid-transaction, and pg_terminate_backend of its backend while it holds
// the lock. After each: no partial provider set, lock 10 free within
// seconds, a typed error (never a raw TypeError), and the next seed correct
// with every audit entry delivered exactly once.
import assert from "node:assert/strict";
import { test } from "node:test";
import postgres from "postgres";
import { LOCK_ID_AI_PROVIDERS_ENV_SEED, memoryAuditSink, seedAIProvidersFromEnv, SeedError } from "../mod.ts";
import { snapshot, type Sql, withDatabase } from "./_db.ts";
import { startFaultProxy } from "./_proxy.ts";
import { runtimeCommand, spawnProcess, testPath } from "./_spawn.ts";

const ENV = {
  CODER_AIBRIDGE_PROVIDER_0_TYPE: "openai",
  CODER_AIBRIDGE_PROVIDER_0_NAME: "fault-openai",
  CODER_AIBRIDGE_PROVIDER_0_KEYS: "sk-fault-key-000001,sk-fault-key-000002",
  CODER_AIBRIDGE_PROVIDER_1_TYPE: "anthropic",
  CODER_AIBRIDGE_PROVIDER_1_NAME: "fault-anthropic",
  CODER_AIBRIDGE_PROVIDER_1_KEY: "sk-ant-fault-key-0003",
};
// Two providers and three keys: five audit entries.
const ENTRIES = 5;

async function lockHolders(sql: Sql): Promise<number[]> {
  const rows = await sql<{ pid: number }[]>`
    select pid from pg_locks where locktype = 'advisory' and granted and objid = ${LOCK_ID_AI_PROVIDERS_ENV_SEED}
      and database = (select oid from pg_database where datname = current_database())`;
  return rows.map((r) => r.pid);
}

async function waitFor(what: string, ms: number, check: () => Promise<boolean>): Promise<number> {
  const started = performance.now();
  while (!(await check())) {
    if (performance.now() - started > ms) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
  return performance.now() - started;
}

/** The next seed on a direct connection: correct, and it delivers what is undelivered, once. */
async function nextSeedIsCorrect(db: { sql: Sql }, expectDelivered: number): Promise<void> {
  const audit = memoryAuditSink();
  const report = await seedAIProvidersFromEnv(db.sql, { env: ENV, audit, lockTimeoutMs: 10_000 });
  const rows = await snapshot(db.sql);
  assert.deepEqual(rows.providers.map((p) => p.name), ["fault-anthropic", "fault-openai"]);
  assert.equal(rows.keys.length, 3);
  assert.equal(report.auditDelivered, expectDelivered);
  assert.equal(audit.entries.length, expectDelivered);
  const ids = new Set([...rows.providers.map((p) => p.id), ...rows.keys.map((k) => k.id)]);
  assert.ok(audit.entries.every((e) => ids.has(e.resourceId)));
  const again = memoryAuditSink();
  const third = await seedAIProvidersFromEnv(db.sql, { env: ENV, audit: again });
  assert.equal(third.auditDelivered, 0, "each entry reaches the sink once");
  assert.equal(again.entries.length, 0);
}

test("a stall while the seed holds lock 10 rejects with timeout near its deadline, and another replica then gets the lock", async () => {
  await withDatabase(async (db) => {
    const proxy = await startFaultProxy(db.url);
    const client = postgres(proxy.url, { max: 1, onnotice: () => {} });
    try {
      const stall = proxy.arm({ fault: "stall", on: /pg_advisory_xact_lock/, forward: "after" });
      const deadline = 1_500;
      const started = performance.now();
      const err = await seedAIProvidersFromEnv(client, { env: ENV, timeoutMs: deadline }).catch((e) => e);
      const rejectedAfter = performance.now() - started;
      await stall.fired;
      assert.ok(err instanceof SeedError, String(err));
      assert.equal(err.code, "timeout");
      assert.ok(
        rejectedAfter >= deadline - 50 && rejectedAfter < deadline + 1_000,
        `rejected after ${rejectedAfter} ms, deadline ${deadline}`,
      );
      // The server lets go by itself: the stalled backend's transaction
      // idles out at the deadline and the lock is free.
      const freedAfter = await waitFor("lock 10 free", 5_000, async () => (await lockHolders(db.sql)).length === 0);
      console.log(
        `stall: rejected after ${Math.round(rejectedAfter)} ms (deadline ${deadline}); lock free ${Math.round(freedAfter)} ms later`,
      );
      assert.deepEqual((await snapshot(db.sql)).providers, [], "nothing written");
      await nextSeedIsCorrect(db, ENTRIES);
    } finally {
      await proxy.close();
      await client.end({ timeout: 0 }).catch(() => {});
    }
  });
});

for (const fault of ["fin", "rst"] as const) {
  test(`a cut (${fault}) after the commit was sent is commit_unknown, and the next start delivers every audit entry exactly once`, async () => {
    await withDatabase(async (db) => {
      const proxy = await startFaultProxy(db.url);
      const client = postgres(proxy.url, { max: 1, onnotice: () => {} });
      try {
        const cut = proxy.arm({ fault, on: /commit\s*$/i, forward: "after" });
        const audit = memoryAuditSink();
        const err = await seedAIProvidersFromEnv(client, { env: ENV, audit, timeoutMs: 10_000 }).catch((e) => e);
        await cut.fired;
        assert.ok(err instanceof SeedError, String(err));
        assert.equal(err.code, "commit_unknown");
        assert.match(err.message, /may or may not have been inserted. Run the seed again/);
        assert.equal(audit.entries.length, 0);
        await waitFor("lock 10 free", 5_000, async () => (await lockHolders(db.sql)).length === 0);
        // The commit did happen: every row is there, with its audit entries waiting.
        await nextSeedIsCorrect(db, ENTRIES);
        // The host's own client (max: 1) still works: the broken connection was replaced, not handed back.
        proxy.arm({ fault: "fin", on: /^never$/ }).disarm();
        const [{ one }] = await client<{ one: number }[]>`select 1 as one`;
        assert.equal(one, 1);
      } finally {
        await proxy.close();
        await client.end({ timeout: 0 }).catch(() => {});
      }
    });
  });
}

test("kill -9 of a seeding process mid-transaction leaves no partial provider set and frees lock 10", async () => {
  await withDatabase(async (db) => {
    const proxy = await startFaultProxy(db.url);
    try {
      // The process holds lock 10 in its transaction; its inserts and commit never reach the server.
      const stall = proxy.arm({ fault: "stall", on: /commit\s*$/i, forward: "before" });
      const [cmd, args] = runtimeCommand(testPath("fixtures/fault_seed.ts"));
      const child = spawnProcess(cmd, args, { env: { ...process.env, ...ENV, SEED_TEST_DATABASE_URL: proxy.url }, timeoutMs: 60_000 });
      const conn = await stall.fired;
      await waitFor("the process holds lock 10", 5_000, async () => (await lockHolders(db.sql)).length === 1);
      child.kill("SIGKILL");
      const result = await child.result;
      assert.equal(result.signal, "SIGKILL");
      // The dead client's connection closes: the server rolls back.
      conn.rst();
      await waitFor("lock 10 free", 5_000, async () => (await lockHolders(db.sql)).length === 0);
      assert.deepEqual((await snapshot(db.sql)).providers, [], "no partial provider set");
      await nextSeedIsCorrect(db, ENTRIES);
    } finally {
      await proxy.close();
    }
  });
});

test("pg_terminate_backend of the seed's backend while it holds the lock is a typed error with no database address", async () => {
  await withDatabase(async (db) => {
    const proxy = await startFaultProxy(db.url);
    const client = postgres(proxy.url, { max: 1, onnotice: () => {} });
    try {
      const stall = proxy.arm({ fault: "stall", on: /commit\s*$/i, forward: "before" });
      const seeding = seedAIProvidersFromEnv(client, { env: ENV, timeoutMs: 20_000 }).catch((e) => e);
      const conn = await stall.fired;
      await waitFor("the seed holds lock 10", 5_000, async () => (await lockHolders(db.sql)).length === 1);
      const [pid] = await lockHolders(db.sql);
      await db.sql`select pg_terminate_backend(${pid})`;
      conn.resume();
      const err = await seeding;
      assert.ok(err instanceof SeedError, `a typed error, got ${err}`);
      assert.ok(err.code === "commit_unknown" || err.code === "database_error", err.code);
      // Whether the server's FATAL reaches the client before the reset depends on the network.
      assert.match(err.message, /57P01|ECONNRESET|CONNECTION_CLOSED|CONNECTION_ENDED/);
      assert.ok(!err.message.includes(`:${new URL(proxy.url).port}`), `no database address in the message: ${err.message}`);
      await waitFor("lock 10 free", 5_000, async () => (await lockHolders(db.sql)).length === 0);
      assert.deepEqual((await snapshot(db.sql)).providers, [], "no partial provider set");
      await nextSeedIsCorrect(db, ENTRIES);
    } finally {
      await proxy.close();
      await client.end({ timeout: 0 }).catch(() => {});
    }
  });
});

test("pg_terminate_backend of a seed waiting for the lock is a typed database_error saying the backend may have been terminated", async () => {
  await withDatabase(async (db) => {
    const { holdSeedLock, waiterAppeared } = await import("./_lock.ts");
    const held = await holdSeedLock(db);
    const client = db.connect({ max: 1 });
    try {
      const seeding = seedAIProvidersFromEnv(client, { env: ENV, lockTimeoutMs: 20_000 }).catch((e) => e);
      await waiterAppeared(db.sql);
      await db.sql`select pg_terminate_backend(pid) from pg_locks where locktype = 'advisory' and not granted
        and database = (select oid from pg_database where datname = current_database())`;
      const err = await seeding;
      assert.ok(err instanceof SeedError, `a typed error, got ${err}`);
      assert.equal(err.code, "database_error");
      assert.match(err.message, /the connection closed before the server answered .*pg_terminate_backend, 57P01.*; nothing was written/);
      assert.ok(!/127\.0\.0\.1|localhost/.test(err.message), err.message);
      // The host's client goes on working: the dead connection was not handed back to its pool.
      // (postgres.js itself may hand the FATAL to the very next query; the one after runs.)
      await client`select 1`.catch(() => {});
      const [{ one }] = await client<{ one: number }[]>`select 1 as one`;
      assert.equal(one, 1);
    } finally {
      await held.release();
      await client.end({ timeout: 0 });
    }
    assert.deepEqual((await snapshot(db.sql)).providers, []);
    await nextSeedIsCorrect(db, ENTRIES);
  });
});
