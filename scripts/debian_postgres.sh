#!/usr/bin/env bash
# Runs a command against a throw-away Debian PostgreSQL 15 server (the
# second server the suite is proven on), installing it when missing, and
# stops the server afterwards whatever the command's outcome.
#
#   bash scripts/debian_postgres.sh <command> [args…]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)

bin=/usr/lib/postgresql/15/bin
if [ ! -x "$bin/postgres" ]; then
  echo "installing Debian's postgresql-15" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >/dev/null
fi

run_as=()
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --home-dir /nonexistent postgres
  run_as=(runuser -u postgres --)
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/aibridge-seed-pg15-XXXXXX")
chmod 755 "$dir"
[ ${#run_as[@]} -gt 0 ] && chown postgres "$dir"
port=$("$repo/node_modules/.bin/tsx" "$repo/scripts/free_port.ts")

stop() {
  "${run_as[@]}" "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap stop EXIT

"${run_as[@]}" "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 >/dev/null
"${run_as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
  -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null

export DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
echo "Debian PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on port $port" >&2
"$@"
