// `npm run test:doc`: type-checks and runs every JSDoc @example
// (`deno test --doc`, which resolves `@aibridge/seed` and its subpaths to
// this package's own modules) in a database of its own on the server
// DATABASE_URL names, dropped afterwards whatever the outcome. The examples
// that need a database read DATABASE_URL, so they never touch the data of
// the server's other databases.
//
//   tsx scripts/with_postgres.ts -- tsx scripts/doc_test.ts   (npm run test:doc)
//
// The files are every module that may hold an example: mod.ts, lib/*.ts and
// the CLI's side-effect-free module, cli/mod.ts (cli/main.ts is the bin:
// importing it would run the CLI).
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createDatabase } from "../tests/_db.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const server = process.env.DATABASE_URL;
if (!server) {
  console.error("DATABASE_URL is not set: run `npm run test:doc`, which starts an embedded PostgreSQL");
  process.exit(2);
}

const files = ["mod.ts", ...readdirSync(join(root, "lib")).filter((f) => f.endsWith(".ts")).sort().map((f) => `lib/${f}`), "cli/mod.ts"];
const permissions = ["--allow-env", "--allow-net", "--allow-read"];

const db = await createDatabase(server, { prefix: "doc_test_" });
let code: number;
try {
  code = await new Promise<number>((resolve) => {
    const child = spawn(join(root, "node_modules", ".bin", "deno"), ["test", "--doc", ...permissions, ...files], {
      cwd: root,
      stdio: "inherit",
      env: { ...process.env, DATABASE_URL: db.url },
    });
    for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => child.kill(signal));
    child.on("error", (e) => {
      console.error(`cannot run deno: ${e.message}`);
      resolve(127);
    });
    child.on("exit", (c, signal) => resolve(c ?? (signal ? 1 : 0)));
  });
} finally {
  await db.drop();
}
process.exit(code);
