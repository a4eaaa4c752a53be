#!/usr/bin/env bash
# `docker compose` for the make targets, refusing to touch a stack that is up from other
# compose files than this command would use: a production stack (started from
# compose.yaml alone) never takes compose.override.yaml's development settings because
# a target was run without COMPOSE_FILE=compose.yaml, nor the reverse.
set -euo pipefail

# The files this command uses, as Compose picks them: COMPOSE_FILE (from the
# environment, else the project's .env), else compose.yaml and, if present, the override.
# (No .env is a fresh clone's case: under pipefail a failing sed would end the script.)
files=${COMPOSE_FILE:-}
if [ -z "$files" ] && [ -f .env ]; then
  files=$(sed -n 's/^COMPOSE_FILE=//p' .env | tail -n 1)
fi
if [ -z "$files" ]; then
  files=compose.yaml
  [ -f compose.override.yaml ] && files+=:compose.override.yaml
fi
wanted=$(tr ':' '\n' <<<"$files" | xargs -r realpath | paste -sd, -)

project=$(docker compose config --format json 2>/dev/null \
  | python3 -c 'import json, sys; print(json.load(sys.stdin)["name"])' || true)
running=$(docker compose ls --all --format json 2>/dev/null | python3 -c '
import json, sys
name = sys.argv[1]
print(next((p["ConfigFiles"] for p in json.load(sys.stdin) if p["Name"] == name), ""))
' "$project" || true)

if [ -n "$running" ] && [ "$running" != "$wanted" ]; then
  cat >&2 <<EOF
compose: the stack "$project" is up from $running,
but this command would use $wanted.
Set COMPOSE_FILE to the files it was started from (for production, COMPOSE_FILE=compose.yaml
in .env: docs/operating.md), or take it down first (make down).
EOF
  exit 2
fi
exec docker compose "$@"
