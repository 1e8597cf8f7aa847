// Outcomes that must not be misreported, and connections that must not be
// handed back in the wrong state: the host's own client is shared with the
// seed, so what the seed leaves behind on it matters.
import assert from "node:assert/strict";
import { test } from "node:test";
import { type AuditEntry, seedAIProvidersFromEnv, SeedError } from "../mod.ts";
import { snapshot, withDatabase } from "./_db.ts";
import { holdSeedLock } from "./_lock.ts";

const ENV = { CODER_AIBRIDGE_OPENAI_KEY: "sk-outcomes-0000001", CODER_AIBRIDGE_ANTHROPIC_KEY: "sk-ant-outcomes-0002" };

test("after the deadline passes while waiting for the lock, the host's next query on the same max: 1 client runs outside the seed's transaction", async () => {
  await withDatabase(async (db) => {
    const held = await holdSeedLock(db);
    const client = db.connect({ max: 1 });
    try {
      const err = await seedAIProvidersFromEnv(client, { env: ENV, timeoutMs: 500, lockTimeoutMs: 0 }).catch((e) => e);
      assert.ok(err instanceof SeedError && err.code === "timeout", String(err));
      // The host carries on with its own work on its own client.
      await client`insert into ai_providers (type, name, display_name, base_url) values ('google', 'host-row', 'host-row', 'https://g/')`;
    } finally {
      await held.release();
    }
    const rows = await snapshot(db.sql);
    assert.deepEqual(rows.providers.map((p) => p.name), ["host-row"], "the host's insert committed, and nothing of the seed");
  });
});

test("a sink slower than the deadline does not turn a committed seed into an error; undelivered entries wait for the next start", async () => {
  await withDatabase(async ({ sql }) => {
    const slow: AuditEntry[] = [];
    const report = await seedAIProvidersFromEnv(sql, {
      env: ENV,
      timeoutMs: 1_500,
      audit: {
        async record(entry) {
          await new Promise((r) => setTimeout(r, 700));
          slow.push(entry);
        },
      },
    });
    assert.equal(report.counts.insert, 2);
    assert.equal((await snapshot(sql)).providers.length, 2, "committed");
    assert.ok(report.auditFailures.length > 0, "some entries were not delivered in time");
    assert.equal(report.auditDelivered + report.auditFailures.length, 4);
    const rest: AuditEntry[] = [];
    const next = await seedAIProvidersFromEnv(sql, { env: ENV, audit: { record: (e) => void rest.push(e) } });
    assert.equal(next.counts.unchanged, 2);
    const delivered = [...slow, ...rest].map((e) => e.resourceId).sort();
    assert.equal(new Set(delivered).size, 4, "every entry delivered, none of them twice");
    assert.equal(rest.length, report.auditFailures.length);
  });
});

test("replicas on a database whose default isolation is repeatable read still decide under the lock: all succeed, one row each", async () => {
  await withDatabase(async (db) => {
    await db.sql.unsafe(`alter database ${db.name} set default_transaction_isolation = 'repeatable read'`);
    const clients = Array.from({ length: 4 }, () => db.connect({ max: 1 }));
    const outcomes = await Promise.allSettled(clients.map((c) => seedAIProvidersFromEnv(c, { env: ENV })));
    assert.deepEqual(outcomes.filter((o) => o.status === "rejected").map((o) => String((o as PromiseRejectedResult).reason)), []);
    assert.deepEqual((await snapshot(db.sql)).providers.map((p) => p.name), ["anthropic", "openai"]);
  });
});
