// Runs the whole test suite, unchanged, on each runtime named (default: all
// three, in this order) against the PostgreSQL server DATABASE_URL names,
// then prints one count per runtime and fails if any runtime failed.
//
//   tsx scripts/test_runtimes.ts [node] [deno] [bun]
//
// Each runtime runs the same files (tests/*.test.ts) with its own runner:
//   node  node --import tsx --test            (TAP on stdout)
//   deno  deno test --allow-env --allow-net --allow-read --allow-run --allow-write=$TMPDIR
//   bun   bun test                            (Bun runs node:test files natively)
// and writes a JUnit report beside. The counts come from those reports, as
// top-level tests (a test's subtests are part of it), so the three numbers
// are comparable. When Node runs too, every test that passes on Node must
// also have run on Deno and Bun: a test that a runtime never reached is a
// failure here, not a smaller number nobody reads.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

type Runtime = "node" | "deno" | "bun";
const RUNTIMES: readonly Runtime[] = ["node", "deno", "bun"];

// The test files need the network (Postgres), the environment, to read
// and spawn child processes (the multi-process tests start fixtures on the
// same runtime), and to write in the temporary folder, nowhere else
// (tests/_pgbouncer.ts writes PgBouncer's configuration there). The library
// itself needs only --allow-env and --allow-net: tests/runtime_env.test.ts
// and examples/deno.ts prove it.
const DENO_TEST_PERMISSIONS = ["--allow-env", "--allow-net", "--allow-read", "--allow-run", `--allow-write=${tmpdir()}`];

const root = fileURLToPath(new URL("..", import.meta.url));
const bin = (name: string) => join(root, "node_modules", ".bin", name);

const requested = process.argv.slice(2);
const unknown = requested.filter((r) => !RUNTIMES.includes(r as Runtime));
if (unknown.length > 0) {
  console.error(`unknown runtime ${unknown.join(", ")}; usage: tsx scripts/test_runtimes.ts [node] [deno] [bun]`);
  process.exit(64);
}
const runtimes = requested.length > 0 ? RUNTIMES.filter((r) => requested.includes(r)) : [...RUNTIMES];
if (!process.env.DATABASE_URL) {
  console.error("DATABASE_URL is not set: run `npm test` (or `npm run test:<runtime>`), which starts an embedded PostgreSQL");
  process.exit(2);
}

const files = readdirSync(join(root, "tests")).filter((f) => f.endsWith(".test.ts")).sort().map((f) => `tests/${f}`);
const reports = mkdtempSync(join(tmpdir(), "aibridge-seed-junit-"));

function command(runtime: Runtime, junit: string): [string, string[]] {
  switch (runtime) {
    case "node":
      return [process.execPath, [
        "--import",
        "tsx",
        "--test",
        "--test-reporter=tap",
        "--test-reporter-destination=stdout",
        "--test-reporter=junit",
        `--test-reporter-destination=${junit}`,
        ...files,
      ]];
    case "deno":
      return [bin("deno"), ["test", ...DENO_TEST_PERMISSIONS, `--junit-path=${junit}`, ...files]];
    case "bun":
      // `./` makes Bun take each argument as a path, not as a name filter.
      return [bin("bun"), ["test", "--reporter=junit", `--reporter-outfile=${junit}`, ...files.map((f) => `./${f}`)]];
  }
}

let current: ReturnType<typeof spawn> | null = null;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    current?.kill(signal);
    process.exitCode = 130;
  });
}

function run(cmd: string, args: string[]): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: root, stdio: ["ignore", "inherit", "inherit"] });
    current = child;
    child.on("error", (e) => {
      console.error(`cannot run ${cmd}: ${e.message}`);
      resolve(127);
    });
    child.on("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

// --- JUnit reports -----------------------------------------------------------

interface XmlNode {
  tag: string;
  attrs: Record<string, string>;
  children: XmlNode[];
}

const ENTITIES: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };
function unescapeXml(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|\w+);/gi, (m, e: string) => {
    if (e[0] === "#") return String.fromCodePoint(e[1] === "x" || e[1] === "X" ? parseInt(e.slice(2), 16) : Number(e.slice(1)));
    return ENTITIES[e] ?? m;
  });
}

// The three runners write simple JUnit: only these elements matter, and a
// raw `<` never appears in text (it is escaped), so a tag scanner will do.
function parseJUnit(xml: string): XmlNode {
  const top: XmlNode = { tag: "#document", attrs: {}, children: [] };
  const stack = [top];
  const tags = /<(\/?)(testsuites|testsuite|testcase|failure|error|skipped)\b((?:[^>"]|"[^"]*")*?)(\/?)>/g;
  for (const m of xml.matchAll(tags)) {
    const [, closing, tag, attrText, selfClosing] = m;
    if (closing) {
      while (stack.length > 1 && stack.pop()!.tag !== tag);
      continue;
    }
    const attrs: Record<string, string> = {};
    for (const a of attrText.matchAll(/([\w:-]+)="([^"]*)"/g)) attrs[a[1]] = unescapeXml(a[2]);
    const node: XmlNode = { tag, attrs, children: [] };
    stack.at(-1)!.children.push(node);
    if (!selfClosing) stack.push(node);
  }
  return top;
}

type Status = "passed" | "failed" | "skipped";
interface TopLevelTest {
  name: string;
  status: Status;
  reason?: string;
}

function hasDescendant(node: XmlNode, tags: string[]): boolean {
  return node.children.some((c) => tags.includes(c.tag) || hasDescendant(c, tags));
}

function statusOf(node: XmlNode): { status: Status; reason?: string } {
  if (hasDescendant(node, ["failure", "error"])) return { status: "failed" };
  const skipped = node.tag === "testcase" ? node.children.find((c) => c.tag === "skipped") : undefined;
  if (skipped !== undefined) return { status: "skipped", reason: skipped.attrs.message };
  return { status: "passed" };
}

const item = (node: XmlNode, name = node.attrs.name ?? ""): TopLevelTest => ({ name, ...statusOf(node) });
const isTest = (n: XmlNode) => n.tag === "testcase" || n.tag === "testsuite";

function topLevelTests(runtime: Runtime, doc: XmlNode): TopLevelTest[] {
  const suites = doc.children.filter((n) => n.tag === "testsuites").flatMap((n) => n.children);
  switch (runtime) {
    // Node: top-level tests sit directly under <testsuites>; a test with
    // subtests is a <testsuite> of its own.
    // Node 20's reporter escapes `"` twice (`&amp;quot;`): undo the second.
    case "node":
      return suites.filter(isTest).map((n) => item(n, unescapeXml(n.attrs.name ?? "")));
    // Deno: one <testsuite> per file; subtests are flattened to
    // "parent > child" testcases beside their parent.
    case "deno":
      return suites.filter((s) => s.tag === "testsuite").flatMap((file) => {
        const cases = file.children.filter((c) => c.tag === "testcase");
        const names = new Set(cases.map((c) => c.attrs.name));
        const isStep = (name: string) => [...names].some((p) => p !== name && name.startsWith(`${p} > `));
        return cases.filter((c) => !isStep(c.attrs.name)).map((c) => item(c));
      });
    // Bun: one <testsuite> per file; it reports subtests as part of their
    // parent, and a describe block as a nested <testsuite>.
    case "bun":
      return suites.filter((s) => s.tag === "testsuite").flatMap((file) => file.children.filter(isTest).map((n) => item(n)));
  }
}

// --- Run -------------------------------------------------------------------

interface Outcome {
  runtime: Runtime;
  exitCode: number;
  seconds: number;
  tests: TopLevelTest[] | null;
}

const outcomes: Outcome[] = [];
for (const runtime of runtimes) {
  const junit = join(reports, `${runtime}.xml`);
  const [cmd, args] = command(runtime, junit);
  console.log(`\n=== ${runtime}: ${[cmd === process.execPath ? "node" : runtime, ...args.filter((a) => !a.includes(reports))].join(" ")}`);
  const started = performance.now();
  const exitCode = await run(cmd, args);
  const seconds = (performance.now() - started) / 1000;
  const tests = existsSync(junit) ? topLevelTests(runtime, parseJUnit(readFileSync(junit, "utf8"))) : null;
  console.log(`=== ${runtime}: exit code ${exitCode} after ${seconds.toFixed(1)} s`);
  outcomes.push({ runtime, exitCode, seconds, tests });
  if (process.exitCode === 130) break;
}
rmSync(reports, { recursive: true, force: true });

const problems: string[] = [];
const count = (o: Outcome, s: Status) => o.tests?.filter((t) => t.status === s).length ?? 0;
for (const o of outcomes) {
  if (o.exitCode !== 0) problems.push(`${o.runtime} exited with code ${o.exitCode}`);
  if (o.tests === null) problems.push(`${o.runtime} wrote no JUnit report`);
  else if (o.tests.length === 0) problems.push(`${o.runtime} ran no test`);
  for (const t of o.tests ?? []) {
    if (t.status === "failed") problems.push(`${o.runtime}: failed: ${t.name}`);
  }
}

// Every test that passes on Node must have run, and not failed, elsewhere.
const node = outcomes.find((o) => o.runtime === "node");
if (node?.tests) {
  const tally = (tests: TopLevelTest[]) => {
    const m = new Map<string, number>();
    for (const t of tests) m.set(t.name, (m.get(t.name) ?? 0) + 1);
    return m;
  };
  const passedOnNode = tally(node.tests.filter((t) => t.status === "passed"));
  for (const other of outcomes.filter((o) => o !== node && o.tests !== null)) {
    const ran = tally(other.tests!);
    for (const [name, n] of passedOnNode) {
      const missing = n - (ran.get(name) ?? 0);
      if (missing > 0) problems.push(`${other.runtime}: did not run (passes on node): ${name}${missing > 1 ? ` (${missing} times)` : ""}`);
    }
  }
}

console.log(`\nTest summary: top-level tests per runtime (${files.length} files, one PostgreSQL server)`);
for (const o of outcomes) {
  for (const t of o.tests?.filter((t) => t.status === "skipped") ?? []) {
    console.log(`  ${o.runtime} skipped: ${t.name}${t.reason ? ` (${t.reason})` : ""}`);
  }
}
for (const o of outcomes) {
  console.log(`${o.runtime}: ${count(o, "passed")} passed, ${count(o, "failed")} failed, ${count(o, "skipped")} skipped`);
}
if (problems.length > 0) {
  console.log(`\nFAILED (${problems.length}):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  process.exitCode = 1;
} else if (process.exitCode !== 130) {
  console.log(`all ${outcomes.length === 1 ? "tests" : `${outcomes.length} runtimes`} passed`);
}
