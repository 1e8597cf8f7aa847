// Replicas starting at the same moment, as separate OS processes, against
// one empty database (docs/behaviour.md, "The seed").
import assert from "node:assert/strict";
import { test } from "node:test";
import { runScript, testPath } from "./_spawn.ts";
import { snapshot, withDatabase } from "./_db.ts";

const PROCESSES = 6;

test("replicas seeding at once from separate processes all succeed: one row per provider, keys and audit entries once in total", async () => {
  await withDatabase(async ({ sql, url }) => {
    const env = {
      SEED_TEST_DATABASE_URL: url,
      CODER_AIBRIDGE_OPENAI_KEY: "sk-concurrent-openai",
      CODER_AIBRIDGE_ANTHROPIC_KEY: "sk-concurrent-anthropic",
      CODER_AIBRIDGE_PROVIDER_0_TYPE: "openrouter",
      CODER_AIBRIDGE_PROVIDER_0_KEYS: "or-1,or-2,or-3",
      CODER_AIBRIDGE_PROVIDER_1_TYPE: "copilot",
    };
    const script = testPath("./fixtures/seed_process.ts");
    const results = await Promise.all(Array.from({ length: PROCESSES }, () => runScript(script, env)));
    const outcomes = results.map((r) => {
      assert.equal(r.code, 0, `a replica failed: ${r.stdout}${r.stderr}`);
      return JSON.parse(r.stdout.trim().split("\n").at(-1)!) as { ok: boolean; inserted: number; keysInserted: number; audit: string[] };
    });

    const { providers, keys } = await snapshot(sql);
    assert.deepEqual(providers.map((p) => p.name), ["anthropic", "copilot", "openai", "openrouter"]);
    assert.equal(keys.length, 5, "2 legacy keys and 3 openrouter keys, inserted once");
    assert.equal(outcomes.reduce((n, o) => n + o.inserted, 0), 4);
    assert.equal(outcomes.reduce((n, o) => n + o.keysInserted, 0), 5);
    const audited = outcomes.flatMap((o) => o.audit);
    assert.equal(audited.length, 9, "one audit entry per inserted row, in total");
    assert.deepEqual(new Set(audited), new Set([...providers.map((p) => p.id), ...keys.map((k) => k.id)]));
  });
});
