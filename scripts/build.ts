// `npm run build`: emits the npm package's dist/ (ESM .js and .d.ts) with
// tsc from the sources JSR publishes as they are (tsconfig.build.json).
//
// tsc rewrites the `.ts` import specifiers of the .js files to `.js`, but
// keeps them as written in the .d.ts files. TypeScript 5 and later resolve
// those anyway; rewriting them here too gives every consumer's compiler the
// conventional `.js` form, and the check below proves no `.ts` specifier is
// left in what npm ships.
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const dist = join(root, "dist");
const tsc = join(root, "node_modules", ".bin", "tsc");

rmSync(dist, { recursive: true, force: true });
const result = spawnSync(tsc, ["-p", "tsconfig.build.json"], { cwd: root, stdio: "inherit" });
if (result.status !== 0) process.exit(result.status ?? 1);

// Relative specifiers only: `from "./x.ts"`, `import("../x.ts")`, on code
// lines (a doc comment's example is left as written).
const relativeTs = /((?:from\s+|import\s*\(\s*)["'])(\.{1,2}\/[^"']+)\.ts(["'])/g;
const isComment = (line: string) => /^\s*(\*|\/\*|\/\/)/.test(line);
const hasTsSpecifier = (line: string) => !isComment(line) && new RegExp(relativeTs.source).test(line);

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]);
}

const emitted = files(dist);
for (const file of emitted.filter((f) => f.endsWith(".d.ts"))) {
  const text = readFileSync(file, "utf8");
  const rewritten = text.split("\n").map((l) => isComment(l) ? l : l.replace(relativeTs, "$1$2.js$3")).join("\n");
  if (rewritten !== text) writeFileSync(file, rewritten);
}

const leftovers = emitted.filter((f) => readFileSync(f, "utf8").split("\n").some(hasTsSpecifier));
if (leftovers.length > 0) {
  console.error(`build: .ts import specifiers left in ${leftovers.join(", ")}`);
  process.exit(1);
}
console.log(`build: ${emitted.length} files in dist/`);
