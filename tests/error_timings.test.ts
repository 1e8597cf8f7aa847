// Every typed error of a seed (and of a plan) carries the phase timings
// reached before it failed, `err.timings` in the shape of a report's, so a
// host can export how long a failed seed took (issue 11, point 6).
import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError, DriftError, LockTimeoutError, planSeed, seedAIProvidersFromEnv, SeedError, type SeedTimings } from "../mod.ts";
import { insertRow, withDatabase } from "./_db.ts";
import { holdSeedLock } from "./_lock.ts";

const PHASES = ["normaliseMs", "readMs", "lockWaitMs", "transactionMs", "auditMs", "totalMs"];

/** The error's timings: every phase of a report's timings, each a finite duration, `totalMs` the largest. */
function timingsOf(err: unknown): SeedTimings {
  assert.ok(err instanceof SeedError, `a SeedError, got ${String(err)}`);
  const timings = err.timings;
  assert.ok(timings !== null, `${err.name} (${err.code}) carries timings`);
  assert.deepEqual(Object.keys(timings).sort(), [...PHASES].sort(), "the shape of SeedReport's timings");
  for (const phase of PHASES) {
    const ms = timings[phase as keyof SeedTimings];
    assert.ok(Number.isFinite(ms) && ms >= 0, `${phase} is a duration, got ${ms}`);
    assert.ok(ms <= timings.totalMs, `${phase} within totalMs`);
  }
  return timings;
}

test("a ConfigError from seedAIProvidersFromEnv carries timings: configuration read, nothing sent", async () => {
  await withDatabase(async ({ sql, queries }) => {
    const err = await seedAIProvidersFromEnv(sql, { env: { CODER_AIBRIDGE_PROVIDER_0_TYPE: "nope" } }).catch((e) => e);
    assert.ok(err instanceof ConfigError);
    const timings = timingsOf(err);
    assert.deepEqual([timings.readMs, timings.lockWaitMs, timings.transactionMs], [0, 0, 0], "no phase against the database reached");
    assert.deepEqual(queries, [], "nothing sent");

    const planned = await planSeed(sql, { env: { CODER_AIBRIDGE_PROVIDER_0_TYPE: "nope" } }).catch((e) => e);
    assert.ok(planned instanceof ConfigError);
    timingsOf(planned);
  });
});

test("a DriftError from seedAIProvidersFromEnv carries timings: the reads it made before deciding", async () => {
  await withDatabase(async ({ sql }) => {
    await insertRow(sql, { name: "openai", type: "openai", base_url: "https://proxy.example.com/v1" });
    const env = { CODER_AIBRIDGE_OPENAI_KEY: "sk-timings-drift-0001" };
    const err = await seedAIProvidersFromEnv(sql, { env }).catch((e) => e);
    assert.ok(err instanceof DriftError);
    const timings = timingsOf(err);
    assert.ok(timings.readMs > 0, "the read without the lock was reached and measured");
    assert.ok(timings.totalMs >= timings.readMs);

    const planned = await planSeed(sql, { env }).catch((e) => e);
    // A plan reports drift as entries, not as an error: only the seed throws it.
    assert.equal(planned instanceof Error, false);
  });
});

test("a LockTimeoutError from seedAIProvidersFromEnv carries timings: the time it waited counts", async () => {
  await withDatabase(async (db) => {
    const held = await holdSeedLock(db);
    let err: unknown;
    try {
      err = await seedAIProvidersFromEnv(db.sql, { env: { CODER_AIBRIDGE_OPENAI_KEY: "sk-timings-lock-0001" }, lockTimeoutMs: 300 })
        .catch((e) => e);
    } finally {
      await held.release();
    }
    assert.ok(err instanceof LockTimeoutError);
    assert.equal(err.holder?.pid, held.pid);
    const timings = timingsOf(err);
    assert.ok(timings.readMs > 0, "the read without the lock was reached");
    // Generous: the wait itself was at least most of the lock timeout, and is the lock phase's.
    assert.ok(timings.lockWaitMs >= 250, `lockWaitMs ${timings.lockWaitMs} is the wait for the lock`);
    assert.ok(timings.totalMs >= timings.readMs + timings.lockWaitMs);
  });
});
