// The seed lock: bounded waits that name the holder, and restarts with
// nothing to do that take no lock at all. Real PostgreSQL, real lock 10.
import assert from "node:assert/strict";
import { test } from "node:test";
import { applySchema, ConfigError, DriftError, LockTimeoutError, memoryAuditSink, seedAIProvidersFromEnv } from "../mod.ts";
import { insertRow, snapshot, withDatabase } from "./_db.ts";
import { HOLDER_NAME, holdSeedLock, waiterAppeared } from "./_lock.ts";

const LEGACY_OPENAI = { CODER_AIBRIDGE_OPENAI_BASE_URL: "https://api.openai.com/v1", CODER_AIBRIDGE_OPENAI_KEY: "sk-lock-test-0001" };

test("a restart with nothing to do takes no lock and costs one round trip", async () => {
  await withDatabase(async ({ sql, queries }) => {
    const first = await seedAIProvidersFromEnv(sql, { env: LEGACY_OPENAI });
    assert.equal(first.lockTaken, true);
    assert.equal(first.roundTrips, 3);
    assert.equal(first.statements, 10);
    assert.match(queries.join(" | "), /\bbegin\b.*pg_advisory_xact_lock\(10\).*\bcommit\b/, "the first seed took the lock");

    queries.length = 0;
    const logger: string[] = [];
    const again = await seedAIProvidersFromEnv(sql, {
      env: LEGACY_OPENAI,
      logger: { debug() {}, info: (m) => logger.push(m), warn: (m) => logger.push(m), error: (m) => logger.push(m) },
    });
    assert.equal(again.lockTaken, false);
    assert.equal(again.roundTrips, 1);
    assert.equal(again.statements, 2);
    assert.equal(queries.length, 1, `one read, no begin, no lock: ${queries.join(" | ")}`);
    assert.match(queries[0], /^select set_config\('lock_timeout', .*; select json_build_object\(.* from ai_providers p\)/);
    assert.doesNotMatch(queries[0], /\bbegin\b|pg_advisory/);
    assert.equal(again.counts.unchanged, 1);
    assert.equal(again.timings.lockWaitMs, 0);
    assert.deepEqual(logger, []);
  });
});

test("a restart that only finds deleted providers takes no lock either, and still warns", async () => {
  await withDatabase(async ({ sql, queries }) => {
    await insertRow(sql, { name: "openai", type: "openai", base_url: "https://api.openai.com/v1", deleted: true, enabled: false });
    queries.length = 0;
    const warnings: string[] = [];
    const report = await seedAIProvidersFromEnv(sql, {
      env: LEGACY_OPENAI,
      logger: { debug() {}, info() {}, warn: (m) => warnings.push(m), error() {} },
    });
    assert.equal(report.lockTaken, false);
    assert.equal(report.counts.skipDeleted, 1);
    assert.equal(queries.length, 1);
    assert.deepEqual(warnings, ["skipping env-seeded ai provider that was previously soft-deleted"]);
  });
});

test("20 concurrent no-op seeds complete while another transaction holds the seed lock", async () => {
  await withDatabase(async (db) => {
    const config = {
      providers: Array.from(
        { length: 5 },
        (_, i) => ({ type: "openai", name: `p-${i}`, baseURL: `https://p-${i}.example/v1`, keys: [`k-${i}`] }),
      ),
    };
    await seedAIProvidersFromEnv(db.sql, { config });
    const held = await holdSeedLock(db);
    try {
      // Twenty replicas restarting, each with its own connection.
      const replicas = Array.from({ length: 20 }, () => db.connect({ max: 1 }));
      const started = performance.now();
      const results = await Promise.allSettled(replicas.map((r) => seedAIProvidersFromEnv(r, { config, lockTimeoutMs: 2000 })));
      const elapsed = performance.now() - started;
      for (const r of results) {
        assert.equal(r.status, "fulfilled", r.status === "rejected" ? `a replica failed: ${r.reason}` : "");
      }
      const reports = results.map((r) => (r as PromiseFulfilledResult<Awaited<ReturnType<typeof seedAIProvidersFromEnv>>>).value);
      assert.ok(reports.every((r) => r.lockTaken === false), "no replica took the lock");
      assert.ok(reports.every((r) => r.roundTrips === 1 && r.counts.unchanged === 5 && r.counts.insert === 0));
      assert.ok(elapsed < 2000, `no replica waited for the lock (took ${Math.round(elapsed)} ms)`);
      const [{ held: stillHeld }] = await db.sql<{ held: boolean }[]>`
        select exists(select 1 from pg_locks where locktype = 'advisory' and granted and pid = ${held.pid}) as held`;
      assert.equal(stillHeld, true, "the lock was held throughout");
    } finally {
      await held.release();
    }
  });
});

test("a wait for a held lock ends after lockTimeoutMs with a LockTimeoutError naming the holder; nothing written, no audit", async () => {
  await withDatabase(async (db) => {
    const held = await holdSeedLock(db);
    const audit = memoryAuditSink();
    const started = performance.now();
    let err: unknown;
    try {
      err = await seedAIProvidersFromEnv(db.sql, { env: LEGACY_OPENAI, audit, lockTimeoutMs: 500 }).then(() => null, (e) => e);
    } finally {
      await held.release().catch(() => {});
    }
    const elapsed = performance.now() - started;
    assert.ok(err instanceof LockTimeoutError, `expected LockTimeoutError, got ${err}`);
    assert.equal(err.code, "lock_timeout");
    assert.equal(err.timeoutMs, 500);
    assert.ok(err.holder !== null, "the holder is named");
    assert.equal(err.holder.pid, held.pid);
    assert.equal(err.holder.applicationName, HOLDER_NAME);
    assert.equal(err.holder.state, "idle in transaction");
    assert.ok(err.holder.heldForMs !== null && err.holder.heldForMs >= 450, `held for ${err.holder.heldForMs} ms`);
    assert.match(err.message, new RegExp(`timed out after 500 ms .*held by pid ${held.pid} \\(application_name "${HOLDER_NAME}"`));
    assert.ok(elapsed >= 450 && elapsed < 2500, `rejected after ${Math.round(elapsed)} ms`);
    assert.deepEqual(await snapshot(db.sql), { providers: [], keys: [] });
    assert.deepEqual(audit.entries, []);
  });
});

test("drift is decided under the lock: with the lock held, a drifted provider waits for it and times out", async () => {
  await withDatabase(async (db) => {
    await insertRow(db.sql, { name: "openai", type: "openai", base_url: "https://stored.example/v1" });
    const held = await holdSeedLock(db);
    try {
      await assert.rejects(seedAIProvidersFromEnv(db.sql, { env: LEGACY_OPENAI, lockTimeoutMs: 300 }), LockTimeoutError);
    } finally {
      await held.release();
    }
    await assert.rejects(seedAIProvidersFromEnv(db.sql, { env: LEGACY_OPENAI, lockTimeoutMs: 300 }), DriftError);
  });
});

test("the seed decides again under the lock: a row committed by the holder is found unchanged, not inserted twice", async () => {
  await withDatabase(async (db) => {
    // The holder is a replica that got there first: it inserts the same
    // provider and commits once our seed has read without the lock.
    const held = await holdSeedLock(db, async (tx) => {
      await tx`insert into ai_providers (type, name, display_name, base_url) values ('openai', 'openai', 'openai', 'https://api.openai.com/v1')`;
    });
    const seed = seedAIProvidersFromEnv(db.sql, { env: LEGACY_OPENAI, lockTimeoutMs: 10_000 });
    const waiting = await waiterAppeared(db.sql);
    assert.equal(waiting, "aibridge-seed", "the seed's transaction names itself in pg_stat_activity");
    await held.release();
    const report = await seed;
    assert.equal(report.lockTaken, true);
    assert.deepEqual(report.entries.map((e) => [e.name, e.action]), [["openai", "unchanged"]]);
    const { providers, keys } = await snapshot(db.sql);
    assert.equal(providers.length, 1);
    assert.deepEqual(keys, [], "an existing provider gets no keys");
  });
});

test("application_name is set only for the seed's transaction; null keeps the connection's own", async () => {
  await withDatabase(async (db) => {
    const own = db.connect({ max: 1, connection: { application_name: "host-app" } });
    await seedAIProvidersFromEnv(own, { env: LEGACY_OPENAI });
    const [{ name }] = await own<{ name: string }[]>`select current_setting('application_name') as name`;
    assert.equal(name, "host-app", "SET LOCAL ended with the transaction");

    const held = await holdSeedLock(db);
    const seed = seedAIProvidersFromEnv(own, {
      env: { ...LEGACY_OPENAI, CODER_AIBRIDGE_ANTHROPIC_KEY: "sk-ant-lock-0001" },
      applicationName: null,
      lockTimeoutMs: 10_000,
    });
    try {
      assert.equal(await waiterAppeared(db.sql), "host-app");
    } finally {
      await held.release();
    }
    assert.equal((await seed).counts.insert, 1);
  });
});

test("an invalid lockTimeoutMs is a ConfigError before any statement", async () => {
  await withDatabase(async ({ sql, queries }) => {
    for (const lockTimeoutMs of [-1, 1.5, Number.NaN, 2 ** 31]) {
      await assert.rejects(seedAIProvidersFromEnv(sql, { env: LEGACY_OPENAI, lockTimeoutMs }), ConfigError);
    }
    assert.deepEqual(queries, []);
  });
});

test("applySchema waits for the seed lock at most lockTimeoutMs too, naming the holder", async () => {
  await withDatabase(async (db) => {
    const held = await holdSeedLock(db);
    try {
      await assert.rejects(applySchema(db.sql, { lockTimeoutMs: 200 }), (e: unknown) => {
        assert.ok(e instanceof LockTimeoutError);
        assert.equal(e.holder?.pid, held.pid);
        return true;
      });
    } finally {
      await held.release();
    }
    await applySchema(db.sql, { lockTimeoutMs: 200 });
  });
});
