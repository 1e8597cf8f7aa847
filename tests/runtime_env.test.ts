// With no `env` option the library reads the environment of the runtime it
// runs on (Deno.env, Bun.env, process.env), and on Deno it needs --allow-env
// and --allow-net, nothing more (docs/behaviour.md, "Runtimes").
import assert from "node:assert/strict";
import { test } from "node:test";
import { runtimeEnv } from "../mod.ts";
import { snapshot, withDatabase } from "./_db.ts";
import { currentRuntime, runScript, testPath } from "./_spawn.ts";

const fixture = testPath("./fixtures/seed_runtime_env.ts");

interface FixtureOutput {
  ok: boolean;
  runtime: string;
  entries?: { name: string; action: string; maskedKeys: string[] }[];
  code?: string;
  message?: string;
}

function lastJSONLine(stdout: string): FixtureOutput {
  return JSON.parse(stdout.trim().split("\n").at(-1)!) as FixtureOutput;
}

test("runtimeEnv reads this runtime's own environment at call time and returns a copy", () => {
  const name = `AIBRIDGE_SEED_PROBE_${crypto.randomUUID().replaceAll("-", "").slice(0, 8).toUpperCase()}`;
  assert.equal(runtimeEnv()[name], undefined);
  process.env[name] = "from-the-runtime";
  try {
    const env = runtimeEnv();
    assert.equal(env[name], "from-the-runtime", `read on ${currentRuntime()}`);
    env[name] = "changed";
    assert.equal(process.env[name], "from-the-runtime", "the result is a copy");
  } finally {
    delete process.env[name];
  }
  assert.equal(runtimeEnv()[name], undefined, "read again at each call");
});

test("seeds from the runtime's own environment with no env option, in a child process on the same runtime", async () => {
  await withDatabase(async ({ sql, url }) => {
    const env = {
      CODER_AIBRIDGE_OPENAI_KEY: "sk-runtime-env-openai-0123456789",
      CODER_AI_GATEWAY_PROVIDER_0_TYPE: "openrouter",
      CODER_AI_GATEWAY_PROVIDER_0_KEY: "or-runtime-env-0123456789",
    };
    // On Deno, exactly the permissions the README documents.
    const r = await runScript(fixture, env, [url], { denoPermissions: ["--allow-env", "--allow-net"] });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const out = lastJSONLine(r.stdout);
    assert.equal(out.runtime, currentRuntime(), "the child ran on the suite's runtime");
    assert.deepEqual(out.entries, [
      { name: "openai", action: "insert", maskedKeys: ["sk-r...6789"] },
      { name: "openrouter", action: "insert", maskedKeys: ["or-r...6789"] },
    ]);
    const { providers, keys } = await snapshot(sql);
    assert.deepEqual(providers.map((p) => `${p.name}:${p.type}`), ["openai:openai", "openrouter:openrouter"]);
    assert.deepEqual(keys.map((k) => k.api_key), [env.CODER_AIBRIDGE_OPENAI_KEY, env.CODER_AI_GATEWAY_PROVIDER_0_KEY]);
  });
});

// Only Deno has permissions to withhold, so this child runs on Deno whatever
// runtime the suite itself runs on.
test("Deno without --allow-env or --allow-net: the seed fails and names the flag to add", async () => {
  await withDatabase(async ({ sql, url }) => {
    const env = { CODER_AIBRIDGE_OPENAI_KEY: "sk-runtime-env-denied-0123456789" };

    // The postgres client reads its own PG* variables; the library reads the
    // whole environment, which a PG*-only grant does not allow.
    const noEnv = await runScript(fixture, env, [url], { runtime: "deno", denoPermissions: ["--allow-net", "--allow-env=PG*"] });
    assert.notEqual(noEnv.code, 0);
    const e1 = lastJSONLine(noEnv.stdout);
    assert.equal(e1.code, "env_unreadable");
    assert.match(e1.message!, /--allow-env/);

    const noNet = await runScript(fixture, env, [url], { runtime: "deno", denoPermissions: ["--allow-env"] });
    assert.notEqual(noNet.code, 0);
    const e2 = lastJSONLine(noNet.stdout);
    assert.equal(e2.code, "database_error");
    assert.match(e2.message!, /--allow-net/);

    for (const r of [noEnv, noNet]) assert.ok(!(r.stdout + r.stderr).includes(env.CODER_AIBRIDGE_OPENAI_KEY), "no key in clear");
    assert.equal((await snapshot(sql)).providers.length, 0);
  });
});
