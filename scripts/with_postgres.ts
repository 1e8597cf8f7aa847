// Runs a command with DATABASE_URL pointing at a PostgreSQL server: the one
// DATABASE_URL already names, or else a throw-away embedded server that is
// stopped afterwards whatever the command's outcome.
//
//   tsx scripts/with_postgres.ts -- <command> [args…]
import { spawn } from "node:child_process";
import { startEmbeddedPostgres } from "./embedded_postgres.ts";

const sep = process.argv.indexOf("--");
const [cmd, ...args] = process.argv.slice(sep >= 0 ? sep + 1 : 2);
if (cmd === undefined) {
  console.error("usage: tsx scripts/with_postgres.ts -- <command> [args…]");
  process.exit(64);
}

const external = process.env.DATABASE_URL;
const server = external ? null : await startEmbeddedPostgres();
const env = { ...process.env, DATABASE_URL: external ?? server!.url };

const child = spawn(cmd, args, { stdio: "inherit", env });
const forward = (signal: NodeJS.Signals) => child.kill(signal);
process.on("SIGINT", forward);
process.on("SIGTERM", forward);
const code: number = await new Promise((resolve) => {
  child.on("exit", (c, signal) => resolve(c ?? (signal ? 1 : 0)));
  child.on("error", (e) => {
    console.error(`cannot run ${cmd}: ${e.message}`);
    resolve(127);
  });
});
await server?.stop();
process.exit(code);
