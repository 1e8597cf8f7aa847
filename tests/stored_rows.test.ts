// Rows the library did not write, tables it did not create, and reads
// behind another session's lock: each gets a typed error that names the
// provider, the column or the blocker, and the fix; nothing is written.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError, planSeed, seedAIProvidersFromEnv, SeedError } from "../mod.ts";
import { insertRow, snapshot, withDatabase } from "./_db.ts";

const OPENAI = { CODER_AIBRIDGE_OPENAI_KEY: "sk-stored-rows-0001", CODER_AIBRIDGE_OPENAI_BASE_URL: "https://api.openai.com/v1/" };

async function rejection(p: Promise<unknown>): Promise<SeedError> {
  const err = await p.then(() => null, (e) => e);
  assert.ok(err instanceof SeedError, `expected a SeedError, got ${err}`);
  return err;
}

test("a matching row whose base_url is NULL is a stored_row_invalid error naming the provider and the column", async () => {
  await withDatabase(async ({ sql }) => {
    await sql`alter table ai_providers alter column base_url drop not null`;
    const id = await insertRow(sql, { name: "openai", type: "openai", base_url: "x" });
    await sql`update ai_providers set base_url = null where id = ${id}`;
    for (const run of [() => seedAIProvidersFromEnv(sql, { env: OPENAI }), () => planSeed(sql, { env: OPENAI })]) {
      const err = await rejection(run());
      assert.equal(err.code, "stored_row_invalid");
      assert.match(err.message, /AI provider "openai": its base_url is NULL/);
      assert.ok(err.timings !== null && err.timings.totalMs >= 0, "the error carries the timings reached");
    }
  });
});

test("two live rows of one name are an error naming both ids, whatever their order", async () => {
  await withDatabase(async ({ sql }) => {
    await sql`drop index ai_providers_name_live_idx`;
    const a = await insertRow(sql, { name: "openai", type: "openai", base_url: "https://api.openai.com/v1/" });
    const b = await insertRow(sql, { name: "openai", type: "openai", base_url: "https://other.example/" });
    const err = await rejection(seedAIProvidersFromEnv(sql, { env: OPENAI }));
    assert.equal(err.code, "stored_row_invalid");
    assert.ok(err.message.includes(a) && err.message.includes(b), err.message);
    assert.equal((await snapshot(sql)).keys.length, 0);
  });
});

test("an ai_providers table whose type column is text is a schema_mismatch naming the column", async () => {
  await withDatabase(async ({ sql }) => {
    await sql`alter table ai_providers alter column type type text`;
    const err = await rejection(seedAIProvidersFromEnv(sql, { env: OPENAI }));
    assert.equal(err.code, "schema_mismatch");
    assert.match(err.message, /ai_providers\.type is text, expected ai_provider_type/);
  });
});

test("a database without the tables is schema_missing with the fix", async () => {
  await withDatabase(async ({ sql }) => {
    const err = await rejection(seedAIProvidersFromEnv(sql, { env: OPENAI }));
    assert.equal(err.code, "schema_missing");
    assert.match(err.message, /applySchema/);
  }, { schema: false });
});

test("a name longer than 128 characters is a ConfigError before anything is sent", async () => {
  await withDatabase(async ({ sql, queries }) => {
    const name = "a".repeat(5000);
    const err = await rejection(
      seedAIProvidersFromEnv(sql, { env: { CODER_AIBRIDGE_PROVIDER_0_TYPE: "openai", CODER_AIBRIDGE_PROVIDER_0_NAME: name } }),
    );
    assert.ok(err instanceof ConfigError);
    assert.match(err.message, /5000 characters long, at most 128/);
    assert.ok(!err.message.includes(name));
    assert.deepEqual(queries, []);
  });
});

test("reads behind a migration's ACCESS EXCLUSIVE lock fail fast with table_locked naming the blocker", async () => {
  await withDatabase(async (db) => {
    const migration = db.connect({ max: 1, connection: { application_name: "migration-test" } });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => (locked = r));
    const done = migration.begin(async (tx) => {
      await tx`lock table ai_providers in access exclusive mode`;
      locked();
      await gate;
    });
    await isLocked;
    try {
      for (
        const run of [
          () => planSeed(db.sql, { env: OPENAI, lockTimeoutMs: 300 }),
          () => seedAIProvidersFromEnv(db.sql, { env: OPENAI, lockTimeoutMs: 300 }),
        ]
      ) {
        const started = performance.now();
        const err = await rejection(run());
        const elapsed = performance.now() - started;
        assert.equal(err.code, "table_locked");
        assert.match(err.message, /application_name "migration-test"/);
        assert.ok(elapsed < 5_000, `rejected after ${elapsed} ms, bound 300 ms`);
      }
    } finally {
      release();
      await done;
    }
  });
});

test("a seed under a role with only the listed rights works, and a role without them gets permission_denied naming the right", async () => {
  await withDatabase(async (db) => {
    const suffix = db.name.slice(-12);
    const seeder = `seeder_${suffix}`;
    const stranger = `stranger_${suffix}`;
    try {
      await db.sql.unsafe(`create role ${seeder} login password 'seeder'; create role ${stranger} login password 'stranger'`);
      await db.sql.unsafe(`grant usage on schema public to ${seeder}, ${stranger};
        grant select, insert on ai_providers, ai_provider_keys, ai_provider_audit to ${seeder};
        grant update (claim, claimed_until, delivered_at) on ai_provider_audit to ${seeder};
        grant select on dbcrypt_keys to ${seeder};
        grant select on ai_providers, ai_provider_keys to ${stranger}`);
      const as = (user: string) => {
        const u = new URL(db.url);
        u.username = user;
        u.password = user.split("_")[0];
        return db.connect({ host: u.hostname, port: Number(u.port), database: db.name, username: user, password: u.password });
      };
      const audit: unknown[] = [];
      const report = await seedAIProvidersFromEnv(as(seeder), { env: OPENAI, audit: { record: (e) => void audit.push(e) } });
      assert.equal(report.counts.insert, 1);
      assert.equal(audit.length, 2);
      const err = await rejection(
        seedAIProvidersFromEnv(as(stranger), { env: { ...OPENAI, CODER_AIBRIDGE_ANTHROPIC_KEY: "sk-ant-stranger" } }),
      );
      assert.equal(err.code, "permission_denied");
      assert.match(err.message, /permission denied for table ai_provider(s|_audit)\b/);
      assert.match(err.message, /GRANT|grant/);
    } finally {
      await db.sql.unsafe(`drop owned by ${seeder}, ${stranger} cascade`).catch(() => {});
      await db.sql.unsafe(`drop role if exists ${seeder}; drop role if exists ${stranger}`).catch(() => {});
    }
  });
});
