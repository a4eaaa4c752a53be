#!/bin/sh
# The proxy's entrypoint: every setting of ./settings checked and given its default, then
# the image's own entrypoint. A bad value stops the proxy here, naming the setting.
set -eu
here=$(dirname "$0")
bad=""
fail() { bad="$bad$1: $2; "; }

whole() { case $1 in '' | *[!0-9]*) return 1 ;; *) return 0 ;; esac; }

while IFS='|' read -r name default kind min max _; do
  case $name in '' | '#'*) continue ;; esac
  eval "value=\${$name-}"
  [ -n "$value" ] || value=$default
  case $kind in
    int | seconds)
      if ! whole "$value"; then
        fail "$name" "must be a whole number"
      elif [ "$value" -lt "$min" ] || [ "$value" -gt "$max" ]; then
        fail "$name" "must be from $min to $max"
      fi ;;
    cidrs)
      for cidr in $(echo "$value" | tr ',' ' '); do
        case $cidr in
          *[!0-9a-fA-F:./]* | */*/*) fail "$name" "must be addresses or networks (CIDR), comma-separated" ;;
        esac
      done
      # haproxy.cfg takes the list as words: "${NAME_LIST[*]}".
      export "${name}_LIST=$(echo "$value" | tr ',' ' ')" ;;
  esac
  export "$name=$value"
done <"$here/settings"

if [ -n "$bad" ]; then
  echo "proxy: invalid configuration: ${bad%; }" >&2
  exit 2
fi
# One thread for every four CPUs (HAProxy's own default is one each, which on a small
# host contend with the api's workers for the cores they share).
if [ "$PROXY_THREADS" -eq 0 ]; then
  export PROXY_THREADS=$((($(nproc) + 3) / 4))
fi
# The certificate: the operator's (TLS_DIR), or the one the secrets step makes on the
# first `up`. The proxy waits for it rather than depend on that step (compose would
# restart the proxy whenever it recreates the step).
certificate=/run/tls/proxy.pem
until [ -s "$certificate" ]; do sleep 0.2; done
exec docker-entrypoint.sh "$@"
