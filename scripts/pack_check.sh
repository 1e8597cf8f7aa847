#!/usr/bin/env bash
# What a user installs from npm works: builds and packs the package, checks
# what the tarball ships, installs it into a scratch project outside the
# repository, then runs an ESM script (scripts/pack_smoke/smoke.mjs, with a
# real seed in a database of its own), a TypeScript type-check
# (scripts/pack_smoke/types.ts, moduleResolution nodenext), require() of
# the package on Node and Bun, the Node example on Node, Deno and Bun, and
# the aibridge-seed bin (dist/cli/main.js), all against the installed copy.
#
#   npm run check:pack                  (starts an embedded PostgreSQL)
#   DATABASE_URL=postgres://… bash scripts/pack_check.sh
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
: "${DATABASE_URL:?DATABASE_URL is not set: run npm run check:pack, which starts an embedded PostgreSQL}"

scratch=$(mktemp -d /tmp/aibridge-seed-pack-XXXXXX)
# Every database this check creates, on DATABASE_URL's server, through the
# suite's harness (tests/_db.ts); each is dropped after use, and on exit
# whatever the outcome.
databases=() # created and not dropped yet
database() { (cd "$repo" && node_modules/.bin/tsx scripts/database.ts "$@"); }
# new_database PREFIX: creates a database and sets $url to its URL.
new_database() {
  url=$(database create "$1")
  databases+=("$url")
}
drop_database() {
  database drop "$1"
  local d kept=()
  for d in "${databases[@]}"; do [ "$d" = "$1" ] || kept+=("$d"); done
  databases=("${kept[@]}")
}
cleanup() {
  for d in "${databases[@]}"; do database drop "$d" || true; done
  rm -rf "$scratch"
}
trap cleanup EXIT
ok() { echo "ok - $*"; }

cd "$repo"
npm run --silent build
npm pack --silent --ignore-scripts --json --pack-destination "$scratch" >"$scratch/pack.json"
tarball=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))[0].filename)' "$scratch/pack.json")

# The tarball ships the built library and nothing else: no sources, tests,
# scripts or examples.
node - "$scratch/pack.json" <<'EOF'
const { files } = JSON.parse(require("fs").readFileSync(process.argv[2], "utf8"))[0];
const paths = files.map((f) => f.path).sort();
const allowed = (p) => ["package.json", "README.md", "LICENSE"].includes(p) || /^dist\/.+\.(js|d\.ts)$/.test(p);
const stray = paths.filter((p) => !allowed(p));
const entries = ["dist/mod.js", "dist/mod.d.ts", "dist/cli/mod.js", "dist/cli/mod.d.ts", "dist/cli/main.js"];
const missing = [...entries, "LICENSE", "README.md"].filter((p) => !paths.includes(p));
if (stray.length > 0 || missing.length > 0) {
  console.error(`tarball: unexpected ${JSON.stringify(stray)}, missing ${JSON.stringify(missing)}`);
  process.exit(1);
}
console.log(`ok - the tarball ships ${paths.length} files: package.json, README.md, LICENSE and dist/ (.js and .d.ts)`);
EOF

# A user's project: ESM, installs the tarball with postgres beside it, and
# @types/node for the type-check (the repository's tsc compiles it).
cp scripts/pack_smoke/smoke.mjs scripts/pack_smoke/types.ts scripts/pack_smoke/tsconfig.json examples/node.mjs "$scratch/"
types_node=$(node -p 'require("./node_modules/@types/node/package.json").version')
postgres_range=$(node -p 'require("./package.json").dependencies.postgres')
cd "$scratch"
printf '{ "name": "pack-check", "private": true, "type": "module" }\n' >package.json
npm install --no-audit --no-fund --loglevel=error "./$tarball" "postgres@$postgres_range" "@types/node@$types_node" >/dev/null
ok "installed $tarball into $scratch"
deps=$(node -p 'Object.keys(require("./node_modules/@aibridge/seed/package.json").dependencies).join(",")')
[ "$deps" = postgres ] || {
  echo "the package depends on $deps; postgres must be the only dependency" >&2
  exit 1
}
ok "postgres is the only dependency"

# smoke.mjs seeds the database it is given.
new_database pack_smoke_
DATABASE_URL="$url" node smoke.mjs
drop_database "$url"
"$repo/node_modules/.bin/tsc" -p tsconfig.json
ok "tsc (moduleResolution nodenext) type-checks types.ts against the installed .d.ts files"

# require(): the exports' require and default conditions name the ES module
# build, which Node >= 20.19 and Bun load synchronously (require(esm)): it
# has no top-level await (the bin, dist/cli/main.js, has; it is not an
# export). Both runtimes print one line, and nothing on stderr (no warning).
require_script='
const m = require("@aibridge/seed");
const { runCli } = require("@aibridge/seed/run-cli");
const where = require.resolve("@aibridge/seed").replace(/^.*\/node_modules\//, "");
if (where !== "@aibridge/seed/dist/mod.js") throw new Error(`require.resolve: ${where}`);
if (typeof m.seedAIProvidersFromEnv !== "function" || typeof runCli !== "function") throw new Error("exports missing");
if (!(new m.ConfigError(["x"]) instanceof m.SeedError)) throw new Error("error classes");
console.log(`require("@aibridge/seed") -> ${where}: ${Object.keys(m).length} exports, seedAIProvidersFromEnv ${typeof m.seedAIProvidersFromEnv}, maskSecret("sk-ant-api03-abcdefgh") = ${m.maskSecret("sk-ant-api03-abcdefgh")}; require("@aibridge/seed/run-cli").runCli ${typeof runCli}`);
'
for runtime in node bun; do
  case $runtime in
    node) cmd=(node --input-type=commonjs -e "$require_script") version="Node $(node --version)" ;;
    bun) cmd=("$repo/node_modules/.bin/bun" -e "$require_script") version="Bun $("$repo/node_modules/.bin/bun" --version)" ;;
  esac
  code=0
  out=$("${cmd[@]}" 2>"$scratch/require.err") || code=$?
  if [ "$code" != 0 ] || [ -s "$scratch/require.err" ]; then
    printf '%s: require() failed (exit code %s):\n%s\n%s\n' "$runtime" "$code" "$out" "$(cat "$scratch/require.err")" >&2
    exit 1
  fi
  ok "$version: $out"
done

# The Node example, as a user would run it from the installed package; Deno
# (with exactly --allow-env --allow-net) and Bun run the same file from the
# same node_modules. Each gets a database of its own.
key=sk-pack-check-example-0123456789
for runtime in node deno bun; do
  case $runtime in
    node) cmd=(node node.mjs) ;;
    deno) cmd=("$repo/node_modules/.bin/deno" run --no-prompt --allow-env --allow-net node.mjs) ;;
    bun) cmd=("$repo/node_modules/.bin/bun" node.mjs) ;;
  esac
  new_database "pack_example_${runtime}_"
  code=0
  out=$(DATABASE_URL="$url" CODER_AIBRIDGE_OPENAI_KEY=$key "${cmd[@]}" 2>&1) || code=$?
  drop_database "$url"
  if [ "$code" != 0 ] || ! grep -Eq '^openai +openai +insert +sk-p\.\.\.6789$' <<<"$out" || grep -q "$key" <<<"$out"; then
    printf '%s printed (exit code %s):\n%s\n' "${cmd[*]}" "$code" "$out" >&2
    exit 1
  fi
  ok "examples/node.mjs runs on $runtime against the installed package: ${cmd[*]##*/}"
done

# The CLI: the installed `aibridge-seed` bin (dist/cli/main.js) runs on
# Node, from schema to a check that finds nothing left to do.
bin=$(node -p 'require("./node_modules/@aibridge/seed/package.json").bin?.["aibridge-seed"] ?? ""')
[ "$bin" = ./dist/cli/main.js ] || {
  echo "package.json bin aibridge-seed is \"$bin\", expected ./dist/cli/main.js" >&2
  exit 1
}
cli=node_modules/.bin/aibridge-seed
help=$("$cli" --help)
grep -q '^Usage: aibridge-seed' <<<"$help"
# --version prints the installed package's version (cli/_version.ts, kept equal to package.json by a test).
version=$("$cli" --version)
[ "$version" = "$(node -p 'require("./node_modules/@aibridge/seed/package.json").version')" ] || {
  echo "aibridge-seed --version printed \"$version\", not the package's version" >&2
  exit 1
}
# The README's commands name the package, never an unscoped aibridge-seed
# package on the registry: npx and bunx find the package's one bin.
for runner in "npx --offline" "$repo/node_modules/.bin/bun x --no-install"; do
  $runner @aibridge/seed --help | grep -q '^Usage: aibridge-seed' || {
    echo "${runner##*/} @aibridge/seed --help did not print the CLI's help" >&2
    exit 1
  }
done
ok "npx @aibridge/seed and bunx @aibridge/seed run the installed bin (offline)"
new_database pack_cli_
export CODER_AIBRIDGE_OPENAI_KEY=$key
codes=""
for command in schema check apply check; do
  code=0
  out=$("$cli" "$command" --database-url "$url" 2>&1) || code=$?
  codes="$codes $command=$code"
  if grep -q "$key" <<<"$out"; then
    echo "aibridge-seed $command printed a key in clear" >&2
    exit 1
  fi
done
unset CODER_AIBRIDGE_OPENAI_KEY
drop_database "$url"
if [ "$codes" != " schema=0 check=2 apply=0 check=0" ]; then
  echo "aibridge-seed exit codes:$codes (expected schema=0 check=2 apply=0 check=0)" >&2
  exit 1
fi
ok "the installed aibridge-seed bin: --help, --version ($version), then schema, check (2: changes pending), apply, check (0)"

echo "pack check: the npm package installs and works"
