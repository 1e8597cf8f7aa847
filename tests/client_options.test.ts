// Any client the host hands in: the library's own statements give the same
// result whatever the client's transform, types, fetch_types, prepare,
// max, debug and onnotice settings, on the key paths of the behaviour
// suite (first seed, no-op restart, drift, sticky delete, lock timeout).
import assert from "node:assert/strict";
import { test } from "node:test";
import postgres from "postgres";
import { DriftError, LockTimeoutError, seedAIProvidersFromEnv } from "../mod.ts";
import { insertRow, snapshot, withDatabase } from "./_db.ts";
import { holdSeedLock } from "./_lock.ts";

const ENV = {
  CODER_AIBRIDGE_OPENAI_KEY: "sk-client-options-0001",
  CODER_AIBRIDGE_BEDROCK_REGION: "eu-west-1",
  CODER_AIBRIDGE_BEDROCK_ACCESS_KEY: "AKIACLIENTOPTIONS",
  CODER_AIBRIDGE_BEDROCK_ACCESS_KEY_SECRET: "client-options-secret",
};

// deno-lint-ignore no-explicit-any
const CLIENTS: [string, postgres.Options<any>][] = [
  ["default", {}],
  ["transform: postgres.camel", { transform: postgres.camel }],
  ["transform: column and value", {
    transform: {
      column: { from: (c: string) => c.toUpperCase() },
      value: { from: (v: unknown) => (typeof v === "string" ? `<${v}>` : v) },
    },
  }],
  ["types parsing booleans as t/f and text as objects", {
    types: {
      bool: { to: 16, from: [16], serialize: (b: unknown) => (b ? "t" : "f"), parse: (s: string) => s },
      text: { to: 25, from: [25], serialize: (s: unknown) => String(s), parse: (s: string) => ({ text: s }) },
    },
  }],
  ["fetch_types: false", { fetch_types: false }],
  ["prepare: false", { prepare: false }],
  ["max: 1", { max: 1 }],
  ["debug and onnotice hooks", { debug: () => {}, onnotice: () => {} }],
];

for (const [label, options] of CLIENTS) {
  test(`a client configured with ${label} seeds, restarts, detects drift, keeps deletions and bounds the lock wait`, async () => {
    await withDatabase(async (db) => {
      const sql = db.connect({ onnotice: () => {}, ...options });
      const first = await seedAIProvidersFromEnv(sql, { env: ENV });
      assert.deepEqual(first.entries.map((e) => [e.name, e.action]), [["anthropic", "insert"], ["openai", "insert"]]);
      const rows = await snapshot(db.sql);
      assert.equal(rows.providers.length, 2);
      assert.deepEqual(rows.keys.map((k) => k.api_key), ["sk-client-options-0001"]);

      const again = await seedAIProvidersFromEnv(sql, { env: ENV });
      assert.deepEqual(again.entries.map((e) => e.action), ["unchanged", "unchanged"]);
      assert.equal(again.lockTaken, false);
      assert.equal(again.roundTrips, 1);

      const drift = await seedAIProvidersFromEnv(sql, { env: { ...ENV, CODER_AIBRIDGE_BEDROCK_REGION: "us-east-1" } }).catch((e) => e);
      assert.ok(drift instanceof DriftError, String(drift));
      assert.deepEqual(drift.fields, [{ field: "bedrock_region", stored: "eu-west-1", desired: "us-east-1" }]);

      await db.sql`update ai_providers set deleted = true, enabled = false where name = 'openai'`;
      const sticky = await seedAIProvidersFromEnv(sql, { env: ENV });
      assert.deepEqual(sticky.entries.map((e) => e.action), ["unchanged", "skip-deleted"]);
      await insertRow(db.sql, { name: "extra", type: "openai", base_url: "https://extra.example/" });

      const held = await holdSeedLock(db);
      try {
        const err = await seedAIProvidersFromEnv(sql, { env: { ...ENV, CODER_AIBRIDGE_PROVIDER_0_TYPE: "google" }, lockTimeoutMs: 300 })
          .catch((e) => e);
        assert.ok(err instanceof LockTimeoutError, String(err));
        assert.equal(err.holder?.pid, held.pid);
      } finally {
        await held.release();
      }
      assert.equal((await snapshot(db.sql)).providers.length, 3, "nothing written by the timed-out seed");
    });
  });
}
