#!/bin/sh
# Writes a random password into each missing file of secrets/ (git-ignored), from
# which the dev overlay's secretGenerator makes its Secrets. Never overwrites one:
# the database keeps the passwords it was initialised with.
#   make kube-dev-secrets
set -eu
cd "$(dirname "$0")"
umask 077
mkdir -p secrets
for name in postgres_password owner_db_password api_db_password; do
  if [ ! -s "secrets/$name" ]; then
    # 40 characters of [A-Za-z0-9]: about 238 bits, nothing to quote anywhere.
    LC_ALL=C tr -dc 'A-Za-z0-9' </dev/urandom | head -c 40 >"secrets/$name.new"
    mv "secrets/$name.new" "secrets/$name"
    echo "created deploy/kubernetes/overlays/dev/secrets/$name"
  fi
done
# The api's token signing key, as compose's secrets step writes it: "<kid> <key>".
if [ ! -s secrets/token_signing_keys ]; then
  kid=$(LC_ALL=C tr -dc 'a-f0-9' </dev/urandom | head -c 16)
  key=$(LC_ALL=C tr -dc 'A-Za-z0-9' </dev/urandom | head -c 43)
  printf '%s %s\n' "$kid" "$key" >secrets/token_signing_keys.new
  mv secrets/token_signing_keys.new secrets/token_signing_keys
  echo "created deploy/kubernetes/overlays/dev/secrets/token_signing_keys"
fi
