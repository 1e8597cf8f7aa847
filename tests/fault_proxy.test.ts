// tests/_proxy.ts against the real server: every fault it injects, seen by
// a plain postgres.js client (one connection) and by the server.
import assert from "node:assert/strict";
import { connect } from "node:net";
import { test } from "node:test";
import postgres from "postgres";
import { type Sql, withDatabase } from "./_db.ts";
import { type FaultProxy, startFaultProxy } from "./_proxy.ts";

/** Runs `fn` with a fresh database (no schema), a proxy in front of it and a one-connection client through it; closes all three. */
async function withProxy(
  fn: (ctx: { proxy: FaultProxy; client: Sql; direct: Sql; name: string }) => Promise<void>,
  options: { delayMs?: number; application?: string } = {},
): Promise<void> {
  await withDatabase(async (db) => {
    const proxy = await startFaultProxy(db.url, { delayMs: options.delayMs });
    const client = postgres(proxy.url, {
      max: 1,
      onnotice: () => {},
      connection: { application_name: options.application ?? "fault-proxy-test" },
    });
    try {
      await fn({ proxy, client, direct: db.sql, name: db.name });
    } finally {
      await proxy.close();
      // Its sockets are gone: nothing to end gracefully.
      await client.end({ timeout: 0 });
    }
  }, { schema: false });
}

/** Polls `probe` until it returns a value that is not undefined (10 s at most). */
async function eventually<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting until ${what}`);
}

// postgres.js rejects the pending query on the socket's 'error' event, and
// sees the close a tick later; a query sent in between would be lost. Let
// the close land first.
const settle = () => new Promise((r) => setTimeout(r, 20));

test("fault proxy: a query passes through, and the proxy sees the client's SQL and its turns", async () => {
  await withProxy(async ({ proxy, client, name }) => {
    const [row] = await client<{ db: string; n: number }[]>`select current_database() as db, ${41}::int + 1 as n`;
    assert.deepEqual({ ...row }, { db: name, n: 42 });
    assert.equal(proxy.connections.length, 1);
    const [conn] = proxy.connections;
    assert.equal(conn.state, "open");
    assert.equal(conn.messages[0].type, "startup");
    assert.ok(conn.messages.some((m) => m.type === "P" && m.sql === "select current_database() as db, $1::int + 1 as n"));
    assert.ok(conn.bytes.toServer > 0 && conn.bytes.toClient > 0);

    // A simple query is one round trip: one client turn.
    const before = conn.clientTurns;
    await client`select 1`.simple();
    await client`select 2`.simple();
    assert.equal(conn.clientTurns - before, 2);
    assert.ok(conn.messages.some((m) => m.type === "Q" && m.sql === "select 2"));
  });
});

test("fault proxy: FIN before forwarding a matching statement: the client sees the connection closed, the server never ran it", async () => {
  await withProxy(async ({ proxy, client, direct }) => {
    await direct`create table marks (x int)`;
    await client`select 1`;
    const cut = proxy.arm({ fault: "fin", on: /^insert into marks/ });
    await assert.rejects(client`insert into marks values (1)`, (e: NodeJS.ErrnoException) => {
      assert.equal(e.code, "CONNECTION_CLOSED");
      return true;
    });
    assert.equal(cut.count, 1);
    assert.equal((await cut.fired).id, 1);
    assert.equal(proxy.connections[0].state, "closed");
    assert.equal((await direct`select count(*)::int as n from marks`)[0].n, 0);
    // The fault fired once: the client reconnects through the proxy.
    await settle();
    await client`insert into marks values (2)`;
    assert.equal(proxy.connections.length, 2);
    assert.deepEqual((await direct`select x from marks`).map((r) => r.x), [2]);
  });
});

test("fault proxy: RST after forwarding a matching statement: the client sees ECONNRESET", async () => {
  await withProxy(async ({ proxy, client }) => {
    await client`select 1`;
    proxy.arm({ fault: "rst", on: /pg_sleep/, forward: "after" });
    await assert.rejects(client`select pg_sleep(0.01)`, (e: NodeJS.ErrnoException) => {
      assert.equal(e.code, "ECONNRESET");
      return true;
    });
    await settle();
    assert.equal((await client`select 3 as n`)[0].n, 3);
    assert.equal(proxy.connections.length, 2);
  });
});

test("fault proxy: cuts as a client connects: FIN is an orderly end, RST an ECONNRESET (raw socket)", async () => {
  await withProxy(async ({ proxy }) => {
    const outcome = () =>
      new Promise<string>((resolve) => {
        const socket = connect(proxy.port, proxy.host);
        socket.on("error", (e: NodeJS.ErrnoException) => resolve(`error ${e.code}`));
        socket.on("end", () => resolve("end"));
        socket.on("close", () => resolve("close"));
        socket.resume();
      });
    proxy.arm({ fault: "fin", on: "connect" });
    assert.equal(await outcome(), "end");
    proxy.arm({ fault: "rst" });
    assert.equal(await outcome(), "error ECONNRESET");
    assert.deepEqual(proxy.connections.map((c) => c.state), ["closed", "closed"]);
  });
});

test("fault proxy: RST as postgres.js connects fails its query; FIN makes it connect again", async () => {
  await withProxy(async ({ proxy, client }) => {
    proxy.arm({ fault: "rst" });
    await assert.rejects(client`select 1`, (e: NodeJS.ErrnoException) => e.code === "ECONNRESET");
    await settle();
    proxy.arm({ fault: "fin" });
    // postgres.js retries a connect that ends before the startup completes.
    assert.equal((await client`select 1 as n`)[0].n, 1);
    assert.equal(proxy.connections.length, 3);
  });
});

test("fault proxy: a stall after pg_advisory_xact_lock(10) was forwarded leaves the backend holding the lock and the client waiting; close() frees it", async () => {
  await withProxy(async ({ proxy, client, direct, name }) => {
    const stall = proxy.arm({ fault: "stall", on: /pg_advisory_xact_lock\(10\)/, forward: "after" });
    // An explicit transaction on the one connection (max: 1), not
    // sql.begin(): when a query inside sql.begin() fails because the
    // connection closed, postgres.js 3.4.9 writes its ROLLBACK to the
    // closed socket from a setImmediate and throws an uncaught TypeError
    // (porsager/postgres#1208, #1154).
    await client`begin`.simple();
    let settled = false;
    const locked = client`select pg_advisory_xact_lock(10)`.execute().finally(() => (settled = true));
    locked.catch(() => {});
    const conn = await stall.fired;
    assert.equal(conn.state, "stalled");

    // From a direct connection: the proxied backend holds the lock.
    const holder = await eventually("the lock is granted", async () => {
      const rows = await direct<{ pid: number; application_name: string; state: string }[]>`
        select l.pid, a.application_name, a.state from pg_locks l join pg_stat_activity a on a.pid = l.pid
        where l.locktype = 'advisory' and l.classid = 0 and l.objid = 10 and l.granted
          and l.database = (select oid from pg_database where datname = ${name})`;
      return rows[0];
    });
    assert.equal(holder.application_name, "fault-proxy-test");
    assert.equal(holder.state, "idle in transaction");
    // Its answer is held by the proxy: the client still waits.
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(settled, false);
    assert.ok(conn.bytes.toClient > 0);

    await proxy.close();
    await assert.rejects(locked, (e: NodeJS.ErrnoException) => e.code === "CONNECTION_CLOSED");
    await Promise.all(proxy.connections.map((c) => c.closed));
    assert.deepEqual(proxy.connections.map((c) => c.state), ["closed"]);
    await eventually("the backend is gone and the lock free", async () => {
      const rows = await direct`select 1 from pg_locks where locktype = 'advisory' and objid = 10 union all
        select 1 from pg_stat_activity where pid = ${holder.pid}`;
      return rows.length === 0 ? true : undefined;
    });
  }, { application: "fault-proxy-test" });
});

test("fault proxy: a stall before an insert is forwarded: the server never sees it until resume()", async () => {
  await withProxy(async ({ proxy, client, direct }) => {
    await direct`create table marks (x int)`;
    await client`select 1`;
    const stall = proxy.arm({ fault: "stall", on: /^insert into marks/ });
    const insert = client`insert into marks values (1)`.execute();
    const conn = await stall.fired;
    const backend = await eventually("the proxied backend is idle", async () => {
      const rows = await direct<{ state: string; query: string }[]>`
        select state, query from pg_stat_activity where application_name = 'fault-proxy-test'`;
      return rows[0];
    });
    assert.equal(backend.state, "idle");
    assert.doesNotMatch(backend.query, /insert/);
    assert.equal((await direct`select count(*)::int as n from marks`)[0].n, 0);

    conn.resume();
    await insert;
    assert.equal((await direct`select count(*)::int as n from marks`)[0].n, 1);
    assert.equal(conn.state, "open");
  });
});

test("fault proxy: a delay of D ms each way makes every round trip take at least 2·D", async () => {
  await withProxy(async ({ proxy, client }) => {
    await client`select 1`;
    const turns = proxy.clientTurns;
    const started = performance.now();
    for (let i = 0; i < 3; i++) await client`select 1`.simple();
    const elapsed = performance.now() - started;
    assert.equal(proxy.clientTurns - turns, 3);
    assert.ok(elapsed >= 3 * 2 * 40 * 0.8, `3 round trips took ${elapsed} ms`);
  }, { delayMs: 40 });
});

test("fault proxy: close() destroys every socket and the listener", async () => {
  await withProxy(async ({ proxy, client }) => {
    await client`select 1`;
    const other = postgres(proxy.url, { max: 2, onnotice: () => {} });
    try {
      await Promise.all([other`select pg_sleep(0.05)`, other`select pg_sleep(0.05)`]);
      assert.equal(proxy.connections.length, 3);
      await proxy.close();
      await Promise.all(proxy.connections.map((c) => c.closed));
      assert.ok(proxy.connections.every((c) => c.state === "closed"));
      const refused = await new Promise<string>((resolve) => {
        const socket = connect(proxy.port, proxy.host);
        socket.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? "error"));
        socket.on("connect", () => {
          socket.destroy();
          resolve("connected");
        });
      });
      assert.equal(refused, "ECONNREFUSED");
      await assert.rejects(proxy.nextConnection());
    } finally {
      await other.end({ timeout: 1 });
    }
  });
});
