// Behind PgBouncer in transaction pooling (Debian's 1.18, no prepared
// statements), with the default client: concurrent starts all succeed with
// one row per provider, and the lock timeout holds its bound although the
// pooler queues clients for a server connection.
import assert from "node:assert/strict";
import { test } from "node:test";
import postgres from "postgres";
import { LockTimeoutError, memoryAuditSink, seedAIProvidersFromEnv } from "../mod.ts";
import { serverUrl, snapshot, withDatabase } from "./_db.ts";
import { holdSeedLock } from "./_lock.ts";
import { startPgBouncer } from "./_pgbouncer.ts";

const ENV = {
  CODER_AIBRIDGE_OPENAI_KEY: "sk-pooled-openai-0001",
  CODER_AIBRIDGE_ANTHROPIC_KEY: "sk-pooled-anthropic-0002",
  CODER_AIBRIDGE_PROVIDER_0_TYPE: "openrouter",
  CODER_AIBRIDGE_PROVIDER_0_KEYS: "or-pooled-1,or-pooled-2,or-pooled-3",
};
const SEEDS = 32;

test("32 seeds at once through PgBouncer in transaction mode with the default client all succeed, one row per provider", async () => {
  const bouncer = await startPgBouncer(serverUrl(), { poolMode: "transaction", poolSize: 4 });
  try {
    await withDatabase(async (db) => {
      const clients = Array.from({ length: SEEDS }, () => postgres(bouncer.url(db.name), { onnotice: () => {} }));
      try {
        const sinks = clients.map(() => memoryAuditSink());
        const outcomes = await Promise.allSettled(clients.map((sql, i) => seedAIProvidersFromEnv(sql, { env: ENV, audit: sinks[i] })));
        const failures = outcomes.filter((o) => o.status === "rejected").map((o) => String((o as PromiseRejectedResult).reason));
        console.log(`pgbouncer: ${SEEDS - failures.length} of ${SEEDS} concurrent seeds succeeded`);
        assert.deepEqual(failures, [], "every seed succeeds");
        const { providers, keys } = await snapshot(db.sql);
        assert.deepEqual(providers.map((p) => p.name), ["anthropic", "openai", "openrouter"]);
        assert.equal(keys.length, 5);
        const reports = outcomes.map((o) => (o as PromiseFulfilledResult<Awaited<ReturnType<typeof seedAIProvidersFromEnv>>>).value);
        assert.equal(reports.reduce((n, r) => n + r.counts.insert, 0), 3, "each provider inserted once");
        const audited = sinks.flatMap((s) => s.entries.map((e) => e.resourceId));
        assert.equal(audited.length, 8, "one audit entry per row, once in total");
        assert.equal(new Set(audited).size, 8);
      } finally {
        await Promise.all(clients.map((c) => c.end({ timeout: 1 })));
      }
    });
  } finally {
    await bouncer.stop();
  }
});

test("through PgBouncer the lock timeout rejects within its bound plus a small margin, queued clients included", async () => {
  const bouncer = await startPgBouncer(serverUrl(), { poolMode: "transaction", poolSize: 2 });
  try {
    await withDatabase(async (db) => {
      const held = await holdSeedLock(db);
      const clients = Array.from({ length: 8 }, () => postgres(bouncer.url(db.name), { onnotice: () => {} }));
      try {
        const bound = 1_000;
        const timed = await Promise.all(clients.map(async (sql) => {
          const started = performance.now();
          const err = await seedAIProvidersFromEnv(sql, { env: ENV, lockTimeoutMs: bound }).then(() => null, (e) => e);
          return { err, ms: performance.now() - started };
        }));
        for (const { err, ms } of timed) {
          assert.ok(err instanceof LockTimeoutError, String(err));
          assert.ok(ms < bound + 1_500, `rejected after ${Math.round(ms)} ms, bound ${bound} ms`);
        }
        console.log(`pgbouncer lock timeout ${bound} ms: rejected after ${timed.map((t) => Math.round(t.ms)).join(", ")} ms`);
      } finally {
        await held.release();
        await Promise.all(clients.map((c) => c.end({ timeout: 1 })));
      }
      assert.deepEqual((await snapshot(db.sql)).providers, []);
    });
  } finally {
    await bouncer.stop();
  }
});
