// restoreProviders (docs/behaviour.md, "Adopt and restore"): undo a soft
// delete; each case on a real PostgreSQL.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError, memoryAuditSink, restoreProviders, seedAIProvidersFromEnv, SeedError } from "../mod.ts";
import { captureLogger, insertRow, snapshot, type Sql, withDatabase } from "./_db.ts";

const ENV = {
  CODER_AIBRIDGE_PROVIDER_0_TYPE: "openai",
  CODER_AIBRIDGE_PROVIDER_0_NAME: "main-openai",
  CODER_AIBRIDGE_PROVIDER_0_KEYS: "sk-restore-test-key-0001,sk-restore-test-key-0002",
  CODER_AIBRIDGE_PROVIDER_1_TYPE: "google",
  CODER_AIBRIDGE_PROVIDER_1_NAME: "main-google",
  CODER_AIBRIDGE_PROVIDER_1_KEY: "g-restore-test-key-0001",
};

async function softDelete(sql: Sql, name: string): Promise<void> {
  await sql`update ai_providers set deleted = true, enabled = false, updated_at = now() where name = ${name} and not deleted`;
}

test("restore brings a soft-deleted provider back with its keys, and the next seed sees it unchanged", async () => {
  await withDatabase(async ({ sql }) => {
    await seedAIProvidersFromEnv(sql, { env: ENV });
    const seeded = await snapshot(sql);
    await softDelete(sql, "main-openai");
    const skipped = await seedAIProvidersFromEnv(sql, { env: ENV });
    assert.deepEqual(skipped.entries.map((e) => [e.name, e.action]), [["main-google", "unchanged"], ["main-openai", "skip-deleted"]]);

    const audit = memoryAuditSink();
    const logger = captureLogger();
    const result = await restoreProviders(sql, ["main-openai"], { audit, logger });
    const { id, base_url } = seeded.providers.find((p) => p.name === "main-openai")!;
    assert.deepEqual(result.entries, [{
      name: "main-openai",
      providerId: id,
      type: "openai",
      baseURL: base_url,
      wasEnabled: false,
      keyCount: 2,
      deletedRows: 1,
    }]);
    assert.equal(result.written, true);
    assert.equal(result.lockTaken, true);
    assert.deepEqual(await snapshot(sql), seeded, "the same row, live and enabled, with the same keys");

    assert.equal(audit.entries.length, 1);
    assert.deepEqual(
      { action: audit.entries[0].action, resourceId: audit.entries[0].resourceId, fields: audit.entries[0].fields },
      {
        action: "write",
        resourceId: id,
        fields: {
          id,
          name: "main-openai",
          type: "openai",
          base_url,
          old_deleted: true,
          deleted: false,
          old_enabled: false,
          enabled: true,
          key_count: 2,
        },
      },
    );
    assert.ok(!JSON.stringify([result, audit.entries, logger.lines]).includes("sk-restore-test-key"), "no key in any output");
    assert.deepEqual(logger.lines.map((l) => [l.msg, l.fields.name]), [["restored soft-deleted ai provider", "main-openai"]]);

    const next = await seedAIProvidersFromEnv(sql, { env: ENV });
    assert.deepEqual(next.entries.map((e) => [e.name, e.action]), [["main-google", "unchanged"], ["main-openai", "unchanged"]]);
    assert.equal(next.lockTaken, false);
  });
});

test("restore brings back the most recently updated of several soft-deleted rows; the others stay deleted", async () => {
  await withDatabase(async ({ sql }) => {
    const older = await insertRow(sql, { name: "main-openai", type: "openai", base_url: "https://older.example/v1", deleted: true });
    const newer = await insertRow(sql, { name: "main-openai", type: "openai", base_url: "https://newer.example/v1", deleted: true });
    await sql`update ai_providers set updated_at = now() - interval '1 day' where id = ${older}`;
    const result = await restoreProviders(sql, ["main-openai"]);
    assert.deepEqual(result.entries.map((e) => [e.providerId, e.baseURL, e.deletedRows]), [[newer, "https://newer.example/v1", 2]]);
    const rows = await sql`select id::text, deleted, enabled from ai_providers order by base_url`;
    assert.deepEqual([...rows], [{ id: newer, deleted: false, enabled: true }, { id: older, deleted: true, enabled: true }]);
  });
});

test("restore refuses with conflict when a live provider has the name and with not_found when none was deleted, naming each; nothing is written", async () => {
  await withDatabase(async ({ sql }) => {
    await seedAIProvidersFromEnv(sql, { env: ENV });
    await softDelete(sql, "main-openai");
    // A live main-google, and an old deleted one of the same name behind it.
    await insertRow(sql, { name: "main-google", type: "google", base_url: "https://old-google.example", deleted: true });
    const before = await snapshot(sql);
    const audit = memoryAuditSink();

    const err = await restoreProviders(sql, ["main-openai", "main-google", "never-existed"], { audit }).then(() => null, (e) => e);
    assert.ok(err instanceof SeedError, String(err));
    assert.equal(err.code, "conflict");
    assert.match(err.message, /AI provider "main-google" has a live row \(id [0-9a-f-]+\), so there is nothing to restore/);
    assert.match(err.message, /AI provider "never-existed" has no soft-deleted row/);
    assert.doesNotMatch(err.message, /"main-openai"/);
    assert.match(err.message, /nothing was written$/);
    assert.deepEqual(await snapshot(sql), before, "main-openai, which could be restored, was not restored either");
    assert.deepEqual(audit.entries, []);

    const missing = await restoreProviders(sql, ["never-existed"]).then(() => null, (e) => e);
    assert.equal(missing?.code, "not_found");
    await assert.rejects(restoreProviders(sql, []), ConfigError);
  });
});

test("a restore dry run reads once without the lock and writes nothing", async () => {
  await withDatabase(async ({ sql, queries }) => {
    await seedAIProvidersFromEnv(sql, { env: ENV });
    await softDelete(sql, "main-google");
    const before = await snapshot(sql);
    queries.length = 0;
    const preview = await restoreProviders(sql, ["main-google"], { dryRun: true });
    assert.deepEqual(preview.entries.map((e) => [e.name, e.keyCount, e.wasEnabled]), [["main-google", 1, false]]);
    assert.equal(preview.written, false);
    assert.equal(preview.roundTrips, 1);
    assert.ok(!queries.some((q) => /pg_advisory_xact_lock|update ai_providers/.test(q)), queries.join("\n"));
    assert.deepEqual(await snapshot(sql), before);
  });
});
