#!/usr/bin/env bash
# make release: the checkout, released onto the running stack without dropping a request.
#
#  1. build the images, and make the plan: a revision that would fail, block reads or
#     writes, or rewrite a table stops the release here (ANYWAY=1 goes on);
#  2. run the new migrator while the old api serves (expand and contract: the old code
#     works with the new schema); a failing migration stops here, with the old api serving;
#  3. start as many new api containers as there are old ones, beside them;
#  4. wait until the proxy sends them traffic (their /readyz passes its checks);
#  5. drain the old ones: /readyz says 503 (the api's DRAIN_FILE), the proxy stops
#     sending them requests, and the requests in flight finish;
#  6. stop them (SIGTERM: gunicorn finishes what it has) and remove them.
#
# Every api container is replaced, whether its image changed or not. The proxy, the
# database and the secrets stay as they are. Compose finds the stack as `docker compose`
# does (COMPOSE_FILE, COMPOSE_PROJECT_NAME, .env); run it from the repository's root.
set -euo pipefail

read -r -a compose <<<"${COMPOSE:-docker compose}"
say() { printf 'release %s: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
fail() { say "$*"; exit 1; }

old=$("${compose[@]}" ps -q api)
[ -n "$old" ] || fail "no api is running: start the stack first (make up)"
count=$(wc -l <<<"$old")

say "building the images"
"${compose[@]}" build --quiet

if [ -z "${ANYWAY:-}" ]; then
  say "planning the migration"
  "${compose[@]}" run --rm --no-deps migrator plan --strict \
    || fail "the plan says stop (above): nothing changed; fix the revision, or release with anyway=1"
fi

say "migrating (the old api serves meanwhile)"
"${compose[@]}" run --rm --no-deps migrator upgrade head \
  || fail "the migration failed: nothing else changed, the old api serves on"

say "starting $count new api container(s) beside the old"
"${compose[@]}" up --detach --no-deps --no-recreate --scale "api=$((count * 2))" api
new=$(comm -13 <(sort <<<"$old") <(sort <<<"$("${compose[@]}" ps -q api)"))
[ "$(wc -l <<<"$new")" -eq "$count" ] || fail "expected $count new containers, got: $new"

address() { docker inspect --format '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' "$1"; }

# What the proxy says of each of its api servers (address, status, last check), asked from
# a new api container: the proxy's statistics are on the internal network only.
probe=$(head -n 1 <<<"$new")
proxy_view() {
  docker exec "$probe" python -c '
import csv, io, urllib.request
rows = csv.DictReader(io.StringIO(urllib.request.urlopen(
    "http://proxy:8404/stats;csv", timeout=3).read().decode().lstrip("# ")))
for row in rows:
    if row["pxname"] == "api" and row["svname"] not in ("FRONTEND", "BACKEND") and row["addr"]:
        print(row["addr"].rsplit(":", 1)[0], row["status"].split()[0], row["check_status"])'
}
# Waits until every container in $1 has an address whose status and check match $2.
wait_for_proxy() {
  local containers=$1 wanted=$2 deadline=$((SECONDS + 90)) view container ip
  while :; do
    view=$(proxy_view 2>/dev/null || true)
    local all=1
    for container in $containers; do
      local seen=0
      for ip in $(address "$container"); do
        grep -Eq "^$ip ($wanted)\$" <<<"$view" && seen=1
      done
      [ "$seen" -eq 1 ] || all=0
    done
    [ "$all" -eq 1 ] && return 0
    [ "$SECONDS" -lt "$deadline" ] || fail "the proxy did not see them $wanted in 90 s: $view"
    sleep 0.5
  done
}

say "waiting until the proxy sends the new ones traffic"
# UP after a passed check: a server the proxy has not checked yet is UP too, "UP 1/2".
wait_for_proxy "$new" "UP L7OK"

say "draining the old ones"
for container in $old; do docker exec "$container" python -m api.drain; done
wait_for_proxy "$old" "(DOWN|MAINT) .*"

say "stopping and removing the old ones (their requests in flight finish first)"
docker stop --time 30 $old >/dev/null
docker rm $old >/dev/null
say "done: $count api container(s) replaced"
