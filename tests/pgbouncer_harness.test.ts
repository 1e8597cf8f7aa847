// tests/_pgbouncer.ts: Debian's PgBouncer in front of the test server, in
// transaction mode, reaching per-test databases through its wildcard entry.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { connect } from "node:net";
import { test } from "node:test";
import postgres from "postgres";
import { serverUrl, type Sql, withDatabase } from "./_db.ts";
import { type RunningPgBouncer, startPgBouncer } from "./_pgbouncer.ts";

/** Runs `fn` with a fresh database (no schema) and PgBouncer in front of the server; stops it and closes every client. */
async function withPgBouncer(
  poolSize: number,
  fn: (
    ctx: { bouncer: RunningPgBouncer; client: (options?: postgres.Options<Record<string, never>>) => Sql; direct: Sql; name: string },
  ) => Promise<void>,
): Promise<void> {
  await withDatabase(async (db) => {
    const bouncer = await startPgBouncer(serverUrl(), { poolMode: "transaction", poolSize });
    const clients: Sql[] = [];
    // Transaction pooling: no named prepared statements (prepare: false).
    const client = (options = {}) => {
      const c = postgres(bouncer.url(db.name), { max: 1, prepare: false, onnotice: () => {}, ...options });
      clients.push(c);
      return c;
    };
    try {
      await fn({ bouncer, client, direct: db.sql, name: db.name });
    } finally {
      await Promise.all(clients.map((c) => c.end({ timeout: 5 })));
      await bouncer.stop();
    }
  }, { schema: false });
}

/** PgBouncer's SHOW POOLS row for database `name` (the admin console takes simple queries only). */
async function pool(bouncer: RunningPgBouncer, name: string): Promise<Record<string, string>> {
  const admin = postgres(bouncer.adminUrl(), { max: 1, prepare: false, fetch_types: false, onnotice: () => {} });
  try {
    const rows = await admin`show pools`.simple();
    const row = rows.find((r) => r.database === name);
    assert.ok(row, `no pool for ${name} in SHOW POOLS`);
    return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, String(v)]));
  } finally {
    await admin.end({ timeout: 5 });
  }
}

const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });

test("pgbouncer: a query through it in transaction mode with prepare: false reaches the per-test database; stop() removes it", async () => {
  let bouncer: RunningPgBouncer | undefined;
  await withPgBouncer(2, async (ctx) => {
    bouncer = ctx.bouncer;
    const sql = ctx.client();
    const [row] = await sql<{ db: string; n: number }[]>`select current_database() as db, ${41}::int + 1 as n`;
    assert.deepEqual({ ...row }, { db: ctx.name, n: 42 });
    // Parameters and a transaction work without prepared statements.
    await sql.begin(async (tx) => {
      await tx`create table t (x int)`;
      await tx`insert into t values (${1}), (${2})`;
    });
    assert.deepEqual((await ctx.direct`select x from t order by x`).map((r) => r.x), [1, 2]);
    const p = await pool(ctx.bouncer, ctx.name);
    assert.equal(p.pool_mode, "transaction");
    assert.equal(p.user, new URL(serverUrl()).username || "postgres");
  });
  assert.ok(bouncer);
  assert.equal(await accepts(bouncer.port), false, "stopped: its port accepts nothing");
  assert.equal(existsSync(bouncer.dir), false, "its files are removed");
});

test("pgbouncer: with pool size 1, two sessions share one server connection, and one waits while the other is in a transaction", async () => {
  await withPgBouncer(1, async ({ bouncer, client, direct, name }) => {
    const a = client();
    const b = client();
    const [{ pid: pidA }] = await a<{ pid: number }[]>`select pg_backend_pid() as pid`;
    const [{ pid: pidB }] = await b<{ pid: number }[]>`select pg_backend_pid() as pid`;
    assert.equal(pidB, pidA, "both sessions ran on the same server backend");

    let waiting: Promise<{ pid: number }[]> | undefined;
    await a.begin(async (tx) => {
      await tx`select 1`;
      // The one server connection is A's until its transaction ends: B queues in PgBouncer.
      waiting = b<{ pid: number }[]>`select pg_backend_pid() as pid`.execute();
      for (let i = 0; (await pool(bouncer, name)).cl_waiting !== "1"; i++) {
        assert.ok(i < 200, "B never waited for the server connection");
        await new Promise((r) => setTimeout(r, 50));
      }
      const p = await pool(bouncer, name);
      assert.equal(p.sv_active, "1");
      assert.equal(p.cl_active, "1");
    });
    const [{ pid }] = await waiting!;
    assert.equal(pid, pidA);
    const backends = await direct`select pid from pg_stat_activity where datname = ${name} and pid <> pg_backend_pid()`;
    assert.deepEqual(backends.map((r) => r.pid), [pidA], "one server connection for two client sessions");
  });
});

test("pgbouncer: a missing binary fails with how to install it", async () => {
  await assert.rejects(
    startPgBouncer(serverUrl(), { binary: "/nonexistent/pgbouncer" }),
    /install pgbouncer \(apt-get install pgbouncer\)/,
  );
});
