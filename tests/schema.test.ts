// The Coder-compatible schema (docs/behaviour.md, "The schema").
import assert from "node:assert/strict";
import { test } from "node:test";
import { AI_PROVIDER_TYPES, applySchema, seedAIProvidersFromEnv } from "../mod.ts";
import { runScript, testPath } from "./_spawn.ts";
import { insertRow, snapshot, withDatabase } from "./_db.ts";

test("applySchema is idempotent and creates the enum, tables, checks and indexes", async () => {
  await withDatabase(async ({ sql }) => {
    await applySchema(sql);
    await applySchema(sql);
    const labels = await sql<{ label: string }[]>`
      select enumlabel as label from pg_enum e join pg_type t on t.oid = e.enumtypid
      where t.typname = 'ai_provider_type' order by e.enumsortorder`;
    assert.deepEqual(labels.map((l) => l.label), [...AI_PROVIDER_TYPES]);

    const cols = await sql<{ table_name: string; column_name: string; is_nullable: string; data_type: string }[]>`
      select table_name, column_name, is_nullable, data_type from information_schema.columns
      where table_name in ('ai_providers', 'ai_provider_keys') order by table_name, ordinal_position`;
    assert.deepEqual(cols.map((c) => `${c.table_name}.${c.column_name} ${c.data_type} ${c.is_nullable === "YES" ? "null" : "not null"}`), [
      "ai_provider_keys.id uuid not null",
      "ai_provider_keys.provider_id uuid not null",
      "ai_provider_keys.api_key text not null",
      "ai_provider_keys.api_key_key_id text null",
      "ai_provider_keys.created_at timestamp with time zone not null",
      "ai_provider_keys.updated_at timestamp with time zone not null",
      "ai_providers.id uuid not null",
      "ai_providers.type USER-DEFINED not null",
      "ai_providers.name text not null",
      "ai_providers.display_name text null",
      "ai_providers.enabled boolean not null",
      "ai_providers.deleted boolean not null",
      "ai_providers.base_url text not null",
      "ai_providers.settings text null",
      "ai_providers.settings_key_id text null",
      "ai_providers.created_at timestamp with time zone not null",
      "ai_providers.updated_at timestamp with time zone not null",
      "ai_providers.icon text not null",
    ]);

    await assert.rejects(insertRow(sql, { name: "Bad_Name", type: "openai", base_url: "" }), /ai_providers_name_check/);
    await insertRow(sql, { name: "dup", type: "openai", base_url: "" });
    await assert.rejects(insertRow(sql, { name: "dup", type: "openai", base_url: "" }), /duplicate key/);
    await insertRow(sql, { name: "dup", type: "openai", base_url: "", deleted: true, enabled: false });
    const [{ id }] = await sql<{ id: string }[]>`select id::text as id from ai_providers where name = 'dup' and not deleted`;
    await sql`insert into ai_provider_keys (provider_id, api_key) values (${id}, 'k')`;
    await sql`delete from ai_providers where id = ${id}`;
    assert.equal((await snapshot(sql)).keys.length, 0, "keys cascade with their provider");
  }, { schema: false });
});

test("applySchema from several processes at once on an empty database", async () => {
  await withDatabase(async ({ sql, url }) => {
    const script = testPath("./fixtures/apply_schema_process.ts");
    const results = await Promise.all(Array.from({ length: 5 }, () => runScript(script, { SEED_TEST_DATABASE_URL: url })));
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    const [{ n }] = await sql<{ n: number }[]>`select count(*)::int as n from pg_type where typname = 'ai_provider_type'`;
    assert.equal(n, 1);
  }, { schema: false });
});

test("works on an existing Coder-style database without applySchema", async () => {
  await withDatabase(async ({ sql }) => {
    // The tables as a Coder deployment has them, created by its own
    // migrations (different constraint and index names, extra defaults).
    await sql.unsafe(`
      CREATE TYPE ai_provider_type AS ENUM ('openai', 'anthropic', 'azure', 'bedrock', 'google', 'openai-compat', 'openrouter', 'vercel', 'copilot');
      CREATE TABLE ai_providers (
        id uuid NOT NULL PRIMARY KEY DEFAULT gen_random_uuid(),
        type ai_provider_type NOT NULL,
        name text NOT NULL CHECK (name ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
        display_name text,
        enabled boolean DEFAULT true NOT NULL,
        deleted boolean DEFAULT false NOT NULL,
        base_url text NOT NULL,
        settings text,
        settings_key_id text,
        created_at timestamp with time zone DEFAULT now() NOT NULL,
        updated_at timestamp with time zone DEFAULT now() NOT NULL,
        icon text DEFAULT ''::text NOT NULL
      );
      CREATE UNIQUE INDEX idx_ai_providers_name ON ai_providers USING btree (name) WHERE (deleted = false);
      CREATE TABLE ai_provider_keys (
        id uuid NOT NULL PRIMARY KEY DEFAULT gen_random_uuid(),
        provider_id uuid NOT NULL REFERENCES ai_providers(id) ON DELETE CASCADE,
        api_key text NOT NULL,
        api_key_key_id text,
        created_at timestamp with time zone DEFAULT now() NOT NULL,
        updated_at timestamp with time zone DEFAULT now() NOT NULL
      );`);
    const report = await seedAIProvidersFromEnv(sql, { env: { CODER_AIBRIDGE_OPENAI_KEY: "sk-coder" } });
    assert.equal(report.counts.insert, 1);
    assert.deepEqual((await snapshot(sql)).keys.map((k) => k.api_key), ["sk-coder"]);
  }, { schema: false });
});
