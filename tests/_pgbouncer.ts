// PgBouncer in front of the test server, for tests of the library behind a
// pooler: Debian's /usr/sbin/pgbouncer (apt-get install pgbouncer) as a
// child process in the foreground, on a free port of 127.0.0.1, with a
// wildcard database entry so every per-test database is reachable through
// it. As root it runs as the `postgres` user (`-u postgres`: PgBouncer
// refuses root); it reads its files as root before switching, and they are
// owned by that user too, so a 0700 TMPDIR does not stop it. stop() kills
// it and removes its files.
//
//   const bouncer = await startPgBouncer(serverUrl(), { poolMode: "transaction", poolSize: 1 });
//   const sql = postgres(bouncer.url(db.name), { prepare: false });
//   …
//   await bouncer.stop();
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./_port.ts";
import { type SpawnedProcess, spawnProcess } from "./_spawn.ts";

/** Where Debian's package installs it. */
export const PGBOUNCER_BINARY = "/usr/sbin/pgbouncer";

/** Options of {@link startPgBouncer}. */
export interface PgBouncerOptions {
  /** `pool_mode`; default `"transaction"`. */
  poolMode?: "session" | "transaction" | "statement";
  /** `default_pool_size`: server connections per database and user; default 5. */
  poolSize?: number;
  /** `max_client_conn`; default 200. */
  maxClientConn?: number;
  /** The binary; default {@link PGBOUNCER_BINARY}. */
  binary?: string;
}

/** A running PgBouncer. */
export interface RunningPgBouncer {
  readonly host: string;
  readonly port: number;
  /** The folder of its files (pgbouncer.ini, userlist.txt), removed by stop(). */
  readonly dir: string;
  /** The URL of database `name` through PgBouncer, with the server URL's user and password. */
  url(name: string): string;
  /** The URL of PgBouncer's admin console (`SHOW POOLS`, …; simple queries only). */
  adminUrl(): string;
  /** What PgBouncer logged so far. */
  log(): string;
  /** Stops it (SIGTERM, then SIGKILL after 5 s) and removes its files. Idempotent. */
  stop(): Promise<void>;
}

// A value of a libpq-style `key=value` list, quoted when needed.
function connValue(v: string): string {
  return /^[A-Za-z0-9._\/-]+$/.test(v) ? v : `'${v.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

// A userlist.txt field.
const userlistField = (v: string) => `"${v.replace(/"/g, '""')}"`;

// uid and gid of a local user, from /etc/passwd.
function localUser(name: string): { uid: number; gid: number } | null {
  for (const line of readFileSync("/etc/passwd", "utf8").split("\n")) {
    const [user, , uid, gid] = line.split(":");
    if (user === name) return { uid: Number(uid), gid: Number(gid) };
  }
  return null;
}

function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

async function stopChild(child: SpawnedProcess): Promise<void> {
  child.kill("SIGTERM");
  let timer: ReturnType<typeof setTimeout> | undefined;
  const killed = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      child.kill("SIGKILL");
      resolve();
    }, 5_000);
  });
  await Promise.race([child.result.then(() => {}, () => {}), killed]);
  clearTimeout(timer);
  await child.result.catch(() => {});
}

/**
 * Starts PgBouncer in front of the server `serverUrl` names (any database
 * on it, as the URL's user) and waits until it accepts connections. Fails,
 * with how to fix it, when the binary is missing.
 */
export async function startPgBouncer(serverUrl: string, options: PgBouncerOptions = {}): Promise<RunningPgBouncer> {
  const binary = options.binary ?? PGBOUNCER_BINARY;
  if (!existsSync(binary)) {
    throw new Error(`PgBouncer is not installed (${binary} is missing): install pgbouncer (apt-get install pgbouncer)`);
  }
  const server = new URL(serverUrl);
  const user = decodeURIComponent(server.username) || "postgres";
  const password = decodeURIComponent(server.password);
  let dir: string;
  try {
    dir = mkdtempSync(join(tmpdir(), "aibridge-seed-pgbouncer-"));
  } catch (e) {
    // Deno without write permission there.
    throw new Error(`cannot write PgBouncer's files in ${tmpdir()} (on Deno: --allow-write=${tmpdir()}, as npm run test:deno gives)`, {
      cause: e,
    });
  }
  try {
    // PgBouncer will not run as root: then it switches to the postgres user.
    // (Whether this process is root: the owner of the folder it just made;
    // process.getuid() would need Deno's --allow-sys.)
    const runAs = statSync(dir).uid === 0 ? "postgres" : null;
    const owner = runAs === null ? null : localUser(runAs);
    if (runAs !== null && owner === null) {
      throw new Error(
        `PgBouncer refuses to run as root and there is no ${runAs} user to run it as (apt-get install pgbouncer creates one)`,
      );
    }
    const userlist = join(dir, "userlist.txt");
    writeFileSync(userlist, `${userlistField(user)} ${userlistField(password)}\n`, { mode: 0o600 });
    const target = [
      `host=${connValue(server.hostname.replace(/^\[(.*)\]$/, "$1") || "127.0.0.1")}`,
      `port=${server.port || "5432"}`,
      `user=${connValue(user)}`,
      ...(password ? [`password=${connValue(password)}`] : []),
    ].join(" ");
    const config = (port: number) =>
      [
        "[databases]",
        // Every database name, so per-test databases work; always as the server URL's user.
        `* = ${target}`,
        "",
        "[pgbouncer]",
        "listen_addr = 127.0.0.1",
        `listen_port = ${port}`,
        // No Unix socket: nothing outside the temporary folder.
        "unix_socket_dir =",
        // The client's password is checked against the userlist; with none in the URL, no check.
        `auth_type = ${password ? "md5" : "trust"}`,
        `auth_file = ${userlist}`,
        `admin_users = ${user}`,
        `pool_mode = ${options.poolMode ?? "transaction"}`,
        `default_pool_size = ${options.poolSize ?? 5}`,
        "min_pool_size = 0",
        "reserve_pool_size = 0",
        `max_client_conn = ${options.maxClientConn ?? 200}`,
        "ignore_startup_parameters = extra_float_digits",
        "",
      ].join("\n");
    const ini = join(dir, "pgbouncer.ini");
    if (owner !== null) {
      chownSync(dir, owner.uid, owner.gid);
      chownSync(userlist, owner.uid, owner.gid);
    }

    // The port is free when chosen but may be taken before PgBouncer binds it: try again.
    for (let attempt = 1;; attempt++) {
      const port = await freePort();
      writeFileSync(ini, config(port), { mode: 0o600 });
      if (owner !== null) chownSync(ini, owner.uid, owner.gid);
      const child = spawnProcess(binary, [...(runAs ? ["-u", runAs] : []), ini]);
      let exited = false;
      child.result.then(() => (exited = true), () => (exited = true));
      const started = performance.now();
      let up = false;
      // Up: it says it listens on its port (no other process took it), and a connection gets through.
      while (!exited && performance.now() - started < 10_000) {
        if (child.stderr().includes(`listening on 127.0.0.1:${port}`) && (up = await accepts("127.0.0.1", port))) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      if (!up) {
        await stopChild(child);
        const why = child.stderr().trim();
        if (attempt < 3 && /in use/i.test(why)) continue;
        throw new Error(`PgBouncer did not start (${binary}${runAs ? ` -u ${runAs}` : ""} ${ini}):\n${why || "(no output)"}`);
      }
      let stopping: Promise<void> | undefined;
      const url = (name: string) => {
        const u = new URL(serverUrl);
        u.hostname = "127.0.0.1";
        u.port = String(port);
        u.pathname = `/${encodeURIComponent(name)}`;
        return u.toString();
      };
      return {
        host: "127.0.0.1",
        port,
        dir,
        url,
        adminUrl: () => url("pgbouncer"),
        log: () => child.stderr(),
        stop: () =>
          stopping ??= stopChild(child).finally(() => {
            rmSync(dir, { recursive: true, force: true });
          }),
      };
    }
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}
