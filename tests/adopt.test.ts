// adoptProviders (docs/behaviour.md, "Adopt and restore"): the fix for
// drift, when the environment is right; each case on a real PostgreSQL.
import assert from "node:assert/strict";
import { test } from "node:test";
import { decryptValue, encodeBase64, importEncryptionKey, keyDigest } from "../lib/_dbcrypt.ts";
import {
  adoptProviders,
  ConfigError,
  DriftError,
  LockTimeoutError,
  memoryAuditSink,
  restoreProviders,
  seedAIProvidersFromEnv,
  SeedError,
} from "../mod.ts";
import { captureLogger, snapshot, type Sql, withDatabase } from "./_db.ts";
import { holdSeedLock } from "./_lock.ts";

const OPENAI = {
  CODER_AIBRIDGE_PROVIDER_0_TYPE: "openai",
  CODER_AIBRIDGE_PROVIDER_0_NAME: "main-openai",
  CODER_AIBRIDGE_PROVIDER_0_BASE_URL: "https://proxy.example/v1",
  CODER_AIBRIDGE_PROVIDER_0_KEYS: "sk-adopt-test-key-0001,sk-adopt-test-key-0002",
};
const BEDROCK = {
  CODER_AIBRIDGE_PROVIDER_1_TYPE: "anthropic",
  CODER_AIBRIDGE_PROVIDER_1_NAME: "aws-claude",
  CODER_AIBRIDGE_PROVIDER_1_BEDROCK_REGION: "us-west-2",
  CODER_AIBRIDGE_PROVIDER_1_BEDROCK_ACCESS_KEY: "AKIAADOPTTEST0001",
  CODER_AIBRIDGE_PROVIDER_1_BEDROCK_ACCESS_KEY_SECRET: "adopt-test-bedrock-secret-0001",
  CODER_AIBRIDGE_PROVIDER_1_BEDROCK_MODEL: "anthropic.claude-adopt-test",
};
const ENV = { ...OPENAI, ...BEDROCK };
const SECRETS = [
  "sk-adopt-test-key-0001",
  "sk-adopt-test-key-0002",
  "AKIAADOPTTEST0001",
  "adopt-test-bedrock-secret-0001",
  "AKIAOLDTEST0001",
  "old-bedrock-secret-0001",
];

const K1 = encodeBase64(new Uint8Array(32).fill(0x41));
const K2 = encodeBase64(new Uint8Array(32).fill(0x42));
const raw = (k: string) => Uint8Array.from(atob(k), (c) => c.charCodeAt(0));

async function updatedAt(sql: Sql): Promise<Record<string, string>> {
  const rows = await sql<{ name: string; t: string }[]>`select name, updated_at::text as t from ai_providers order by name`;
  return Object.fromEntries(rows.map((r) => [r.name, r.t]));
}

async function auditRows(sql: Sql): Promise<number> {
  const [{ n }] = await sql<{ n: number }[]>`select count(*)::int as n from ai_provider_audit`;
  return n;
}

test("adopt fixes a drift so the next seed is unchanged, keeps the keys, and records one audit entry per provider with old and new values and no secret", async () => {
  await withDatabase(async ({ sql }) => {
    await seedAIProvidersFromEnv(sql, { env: ENV });
    // The database drifted from the environment (changed through the API, say).
    await sql`update ai_providers set base_url = 'https://api.openai.com/v1/', type = 'azure' where name = 'main-openai'`;
    await sql`update ai_providers set settings = ${'{"_type":"bedrock","_version":1,"access_key":"AKIAOLDTEST0001","access_key_secret":"old-bedrock-secret-0001","model":"old-model","region":"eu-west-1"}'} where name = 'aws-claude'`;
    const drift = await seedAIProvidersFromEnv(sql, { env: ENV }).then(() => null, (e) => e);
    assert.ok(drift instanceof DriftError);
    assert.match(drift.message, /to stop seeding it, or adopt the environment's values with adoptProviders \(/);
    const before = await snapshot(sql);
    const stamps = await updatedAt(sql);

    const audit = memoryAuditSink();
    const logger = captureLogger();
    const result = await adoptProviders(sql, ["main-openai", "aws-claude"], { env: ENV, audit, logger });
    assert.deepEqual(result.entries, [
      {
        name: "aws-claude",
        type: "anthropic",
        providerId: before.providers[0].id,
        action: "adopt",
        changes: [{ field: "bedrock_region", stored: "eu-west-1", desired: "us-west-2" }],
      },
      {
        name: "main-openai",
        type: "openai",
        providerId: before.providers[1].id,
        action: "adopt",
        changes: [
          { field: "type", stored: "azure", desired: "openai" },
          { field: "base_url", stored: "https://api.openai.com/v1/", desired: "https://proxy.example/v1" },
        ],
      },
    ]);
    assert.equal(result.written, true);
    assert.equal(result.lockTaken, true);
    assert.equal(result.auditDelivered, 2);

    const after = await snapshot(sql);
    assert.deepEqual(after.keys, before.keys, "keys untouched");
    assert.equal(after.providers[1].type, "openai");
    assert.equal(after.providers[1].base_url, "https://proxy.example/v1");
    assert.deepEqual(JSON.parse(after.providers[0].settings!), {
      _type: "bedrock",
      _version: 1,
      access_key: "AKIAADOPTTEST0001",
      access_key_secret: "adopt-test-bedrock-secret-0001",
      model: "anthropic.claude-adopt-test",
      region: "us-west-2",
    });
    for (const [name, t] of Object.entries(await updatedAt(sql))) assert.notEqual(t, stamps[name], `${name}.updated_at moved`);
    assert.deepEqual(after.providers.map((p) => [p.enabled, p.deleted, p.display_name]), [[true, false, "aws-claude"], [
      true,
      false,
      "main-openai",
    ]]);

    assert.deepEqual(audit.entries.map((e) => [e.action, e.resourceType, e.providerName]), [
      ["write", "ai_provider", "aws-claude"],
      ["write", "ai_provider", "main-openai"],
    ]);
    assert.deepEqual(audit.entries[1].fields, {
      id: before.providers[1].id,
      name: "main-openai",
      old_type: "azure",
      type: "openai",
      old_base_url: "https://api.openai.com/v1/",
      base_url: "https://proxy.example/v1",
      old_bedrock_region: "",
      bedrock_region: "",
    });
    assert.deepEqual(audit.entries[0].fields, {
      id: before.providers[0].id,
      name: "aws-claude",
      old_type: "anthropic",
      type: "anthropic",
      old_base_url: before.providers[0].base_url,
      base_url: before.providers[0].base_url,
      old_bedrock_region: "eu-west-1",
      bedrock_region: "us-west-2",
      bedrock_model: "anthropic.claude-adopt-test",
      bedrock_small_fast_model: "",
      bedrock_access_key: "AK...01",
      bedrock_access_key_secret: "adop...0001",
    });
    const outputs = JSON.stringify([result, audit.entries, logger.lines]);
    for (const secret of SECRETS) assert.ok(!outputs.includes(secret), `${secret} appears in a result, audit entry or log line`);
    assert.deepEqual(logger.lines.filter((l) => l.msg === "adopted ai provider values from environment").map((l) => l.fields.changed), [
      "bedrock_region",
      "type,base_url",
    ]);

    const next = await seedAIProvidersFromEnv(sql, { env: ENV });
    assert.deepEqual(next.entries.map((e) => e.action), ["unchanged", "unchanged"]);
    assert.equal(next.lockTaken, false);
  });
});

test("adopting an unchanged provider reports it unchanged and writes nothing", async () => {
  await withDatabase(async ({ sql }) => {
    await seedAIProvidersFromEnv(sql, { env: ENV });
    const before = await snapshot(sql);
    const stamps = await updatedAt(sql);
    const audits = await auditRows(sql);
    const audit = memoryAuditSink();
    const result = await adoptProviders(sql, ["main-openai", "aws-claude", "main-openai"], { env: ENV, audit });
    assert.deepEqual(result.entries.map((e) => [e.name, e.action, e.changes]), [["aws-claude", "unchanged", []], [
      "main-openai",
      "unchanged",
      [],
    ]]);
    assert.equal(result.written, false);
    assert.deepEqual(audit.entries, []);
    assert.deepEqual(await snapshot(sql), before);
    assert.deepEqual(await updatedAt(sql), stamps);
    assert.equal(await auditRows(sql), audits);
  });
});

test("names not configured, without a row, or soft-deleted refuse the whole adoption with not_found naming each, and nothing is written", async () => {
  await withDatabase(async ({ sql, queries }) => {
    await seedAIProvidersFromEnv(sql, { env: ENV });
    await sql`update ai_providers set base_url = 'https://drifted.example/v1' where name = 'main-openai'`;
    const before = await snapshot(sql);

    queries.length = 0;
    const unconfigured = await adoptProviders(sql, ["main-openai", "typo-openai"], { env: ENV }).then(() => null, (e) => e);
    assert.ok(unconfigured instanceof SeedError);
    assert.equal(unconfigured.code, "not_found");
    assert.match(unconfigured.message, /AI provider "typo-openai" is not configured in the environment/);
    assert.doesNotMatch(unconfigured.message, /"main-openai"/);
    assert.deepEqual(queries, [], "refused before any statement");

    // Configured, but one has no row and one was soft-deleted.
    const env = { ...ENV, CODER_AIBRIDGE_PROVIDER_2_TYPE: "google", CODER_AIBRIDGE_PROVIDER_2_NAME: "new-google" };
    await sql`update ai_providers set deleted = true, enabled = false where name = 'aws-claude'`;
    const deletedBefore = await snapshot(sql);
    const refused = await adoptProviders(sql, ["main-openai", "new-google", "aws-claude"], { env }).then(() => null, (e) => e);
    assert.ok(refused instanceof SeedError);
    assert.equal(refused.code, "not_found");
    assert.match(refused.message, /AI provider "aws-claude" was soft-deleted; bring it back with restoreProviders first/);
    assert.match(refused.message, /AI provider "new-google" has no row in the database/);
    assert.match(refused.message, /nothing was written$/);
    assert.ok(refused.timings !== null && refused.timings.lockWaitMs > 0, "the error carries the timings reached");
    assert.deepEqual(await snapshot(sql), deletedBefore, "main-openai, which drifted, was not adopted either");
    assert.equal(before.providers.find((p) => p.name === "main-openai")!.base_url, "https://drifted.example/v1");

    for (const names of [[], [""], [42 as unknown as string]]) {
      await assert.rejects(adoptProviders(sql, names, { env }), ConfigError);
    }
  });
});

test("adopting encrypts the new settings with the first configured key and registers it; the API keys stay as they were", async () => {
  await withDatabase(async ({ sql }) => {
    await seedAIProvidersFromEnv(sql, { env: ENV, encryptionKeys: [K1] });
    const [d1, d2] = [await keyDigest(raw(K1)), await keyDigest(raw(K2))];
    await sql`update ai_providers set base_url = 'https://old.example/bedrock' where name = 'aws-claude'`;
    const keysBefore = await sql`select id::text, api_key, api_key_key_id from ai_provider_keys order by id`;

    const env = { ...ENV, CODER_AIBRIDGE_PROVIDER_1_BEDROCK_REGION: "ap-south-1" };
    const result = await adoptProviders(sql, ["aws-claude"], { env, encryptionKeys: [K2, K1] });
    assert.deepEqual(result.entries[0].changes.map((c) => c.field), ["base_url", "bedrock_region"]);

    const [row] = await sql<{ settings: string; settings_key_id: string }[]>`
      select settings, settings_key_id from ai_providers where name = 'aws-claude'`;
    assert.equal(row.settings_key_id, d2, "re-encrypted with the new primary");
    assert.doesNotMatch(row.settings, /ap-south-1|adopt-test-bedrock-secret/);
    const plain = JSON.parse(await decryptValue(await importEncryptionKey(raw(K2)), row.settings));
    assert.equal(plain.region, "ap-south-1");
    assert.equal(plain.access_key_secret, "adopt-test-bedrock-secret-0001");
    const registered = await sql`select active_key_digest from dbcrypt_keys order by number`;
    assert.deepEqual(registered.map((r) => r.active_key_digest), [d1, d2]);
    assert.deepEqual([...await sql`select id::text, api_key, api_key_key_id from ai_provider_keys order by id`], [...keysBefore]);

    const next = await seedAIProvidersFromEnv(sql, { env, encryptionKeys: [K2, K1] });
    assert.deepEqual(next.entries.map((e) => e.action), ["unchanged", "unchanged"]);

    // Settings encrypted with a key that is no longer configured cannot be compared, so nothing is adopted.
    const err = await adoptProviders(sql, ["aws-claude"], {
      env: { ...env, CODER_AIBRIDGE_PROVIDER_1_BEDROCK_REGION: "eu-north-1" },
      encryptionKeys: [K1],
    })
      .then(() => null, (e) => e);
    assert.equal(err?.code, "encryption_key_missing");
  });
});

test("a dry run reads once without the lock, decides the same, and writes nothing", async () => {
  await withDatabase(async ({ sql, queries }) => {
    await seedAIProvidersFromEnv(sql, { env: ENV });
    await sql`update ai_providers set base_url = 'https://old.example/v1' where name = 'main-openai'`;
    const before = await snapshot(sql);
    queries.length = 0;
    const audit = memoryAuditSink();
    const preview = await adoptProviders(sql, ["main-openai", "aws-claude"], { env: ENV, audit, dryRun: true });
    assert.deepEqual(preview.entries.map((e) => [e.name, e.action]), [["aws-claude", "unchanged"], ["main-openai", "adopt"]]);
    assert.equal(preview.written, false);
    assert.equal(preview.lockTaken, false);
    assert.equal(preview.roundTrips, 1);
    assert.ok(!queries.some((q) => /pg_advisory_xact_lock|update ai_providers/.test(q)), queries.join("\n"));
    assert.deepEqual(audit.entries, []);
    assert.deepEqual(await snapshot(sql), before);
  });
});

test("adopt waits for lock 10 at most lockTimeoutMs and names the holder; nothing is written", async () => {
  await withDatabase(async (db) => {
    await seedAIProvidersFromEnv(db.sql, { env: ENV });
    await db.sql`update ai_providers set base_url = 'https://old.example/v1' where name = 'main-openai'`;
    const before = await snapshot(db.sql);
    const held = await holdSeedLock(db);
    try {
      const err = await adoptProviders(db.sql, ["main-openai"], { env: ENV, lockTimeoutMs: 200 }).then(() => null, (e) => e);
      assert.ok(err instanceof LockTimeoutError, String(err));
      assert.equal(err.holder?.pid, held.pid);
    } finally {
      await held.release();
    }
    assert.deepEqual(await snapshot(db.sql), before);
  });
});

test("a row the API changes while the adoption waits to write fails it with conflict, and nothing is written", async () => {
  await withDatabase(async (db) => {
    await seedAIProvidersFromEnv(db.sql, { env: ENV });
    await db.sql`update ai_providers set base_url = 'https://old.example/v1' where name = 'main-openai'`;
    // Another writer (the API takes no advisory lock) holds the row, changed but not yet committed.
    const other = db.connect({ max: 1 });
    let commit!: () => void;
    const gate = new Promise<void>((r) => (commit = r));
    let changed!: () => void;
    const ready = new Promise<void>((r) => (changed = r));
    const writer = other.begin(async (tx) => {
      await tx`update ai_providers set base_url = 'https://api-change.example/v1' where name = 'main-openai'`;
      changed();
      await gate;
    });
    await ready;
    const adopting = adoptProviders(db.sql, ["main-openai"], { env: ENV }).then(() => null, (e) => e);
    // Once the adoption's update waits for the row, let the other writer commit.
    for (let i = 0; i < 400; i++) {
      const [{ n }] = await db.sql<{ n: number }[]>`select count(*)::int as n from pg_stat_activity
        where datname = current_database() and wait_event_type = 'Lock' and query like '%update ai_providers%'`;
      if (n > 0) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    commit();
    await writer;
    const err = await adopting;
    assert.ok(err instanceof SeedError, String(err));
    assert.equal(err.code, "conflict");
    assert.match(err.message, /a row changed .* nothing was written\. Run it again$/);
    const [row] = await db.sql`select base_url from ai_providers where name = 'main-openai'`;
    assert.equal(row.base_url, "https://api-change.example/v1", "the other writer's change stands");
    const [{ n }] = await db.sql<
      { n: number }[]
    >`select count(*)::int as n from ai_provider_audit where entry::jsonb ->> 'action' = 'write'`;
    assert.equal(n, 0, "no audit entry for a write that did not happen");
  });
});

test("a deadline that passes while adopt waits for lock 10 rejects with timeout, writes nothing, and leaves the host's connection outside any transaction", async () => {
  await withDatabase(async (db) => {
    await seedAIProvidersFromEnv(db.sql, { env: ENV });
    await db.sql`update ai_providers set base_url = 'https://old.example/v1' where name = 'main-openai'`;
    const before = await snapshot(db.sql);
    const client = db.connect({ max: 1 });
    const [{ pid }] = await client<{ pid: number }[]>`select pg_backend_pid() as pid`;
    const held = await holdSeedLock(db);
    try {
      const err = await adoptProviders(client, ["main-openai"], { env: ENV, timeoutMs: 300, lockTimeoutMs: 0 }).then(() => null, (e) => e);
      assert.ok(err instanceof SeedError, String(err));
      assert.equal(err.code, "timeout");
      assert.match(err.message, /^adopt the environment's values for AI providers: did not finish within its deadline/);
    } finally {
      await held.release();
    }
    // The one connection of the host's pool comes back idle, outside the adoption's transaction and without lock 10.
    let state = "";
    for (let i = 0; i < 200 && state !== "idle"; i++) {
      const rows = await db.sql<{ state: string; locks: number }[]>`select a.state,
          (select count(*)::int from pg_locks l where l.pid = a.pid and l.locktype = 'advisory') as locks
        from pg_stat_activity a where a.pid = ${pid}`;
      state = rows[0]?.state ?? "";
      if (state === "idle") assert.equal(rows[0].locks, 0);
      else await new Promise((r) => setTimeout(r, 25));
    }
    assert.equal(state, "idle");
    const [{ same }] = await client<{ same: boolean }[]>`select pg_backend_pid() = ${pid} as same`;
    assert.equal(same, true, "the same connection serves the host's next query");
    assert.deepEqual(await snapshot(db.sql), before);
  });
});

test("adopt and restore under the seed's role need UPDATE on ai_providers: without it permission_denied naming the right, nothing written; with it both work", async () => {
  await withDatabase(async (db) => {
    await seedAIProvidersFromEnv(db.sql, { env: ENV });
    await db.sql`update ai_providers set base_url = 'https://old.example/v1' where name = 'main-openai'`;
    const before = await snapshot(db.sql);
    const seeder = `adopter_${db.name.slice(-12)}`;
    try {
      await db.sql.unsafe(`create role ${seeder} login password 'adopter';
        grant usage on schema public to ${seeder};
        grant select, insert on ai_providers, ai_provider_keys, ai_provider_audit to ${seeder};
        grant update (claim, claimed_until, delivered_at) on ai_provider_audit to ${seeder};
        grant select on dbcrypt_keys to ${seeder}`);
      const u = new URL(db.url);
      const sql = db.connect({ host: u.hostname, port: Number(u.port), database: db.name, username: seeder, password: "adopter" });
      const err = await adoptProviders(sql, ["main-openai"], { env: ENV }).then(() => null, (e) => e);
      assert.ok(err instanceof SeedError, String(err));
      assert.equal(err.code, "permission_denied");
      assert.match(err.message, /permission denied for table ai_providers .*UPDATE on ai_providers to adopt or restore/);
      assert.deepEqual(await snapshot(db.sql), before);

      await db.sql.unsafe(`grant update on ai_providers to ${seeder}`);
      assert.equal((await adoptProviders(sql, ["main-openai"], { env: ENV })).written, true);
      await db.sql`update ai_providers set deleted = true, enabled = false where name = 'aws-claude'`;
      assert.equal((await restoreProviders(sql, ["aws-claude"])).written, true);
    } finally {
      await db.sql.unsafe(`drop owned by ${seeder} cascade`).catch(() => {});
      await db.sql.unsafe(`drop role if exists ${seeder}`).catch(() => {});
    }
  });
});
