// Ids are generated client-side so one statement per table carries a whole
// batch: they must be version 4 UUIDs, all distinct.
import assert from "node:assert/strict";
import { test } from "node:test";
import { memoryAuditSink, seedAIProvidersFromEnv } from "../mod.ts";
import { snapshot, withDatabase } from "./_db.ts";

test("rows seeded in one batch get distinct version 4 UUIDs, providers, keys and audit entries alike", async () => {
  await withDatabase(async ({ sql }) => {
    const providers = Array.from(
      { length: 300 },
      (_, i) => ({ type: "openai", name: `ids-${i}`, keys: [`sk-ids-${i}-a`, `sk-ids-${i}-b`] }),
    );
    const audit = memoryAuditSink();
    await seedAIProvidersFromEnv(sql, { config: { providers }, audit });
    const rows = await snapshot(sql);
    const outbox = await sql<{ id: string }[]>`select id::text as id from ai_provider_audit`;
    const ids = [...rows.providers.map((p) => p.id), ...rows.keys.map((k) => k.id), ...outbox.map((a) => a.id)];
    assert.equal(ids.length, 300 + 600 + 900);
    assert.equal(new Set(ids).size, ids.length, "all distinct");
    for (const id of ids) assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(audit.entries.length, 900);
  });
});
