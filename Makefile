# Thin wrappers around docker compose and uv. `make help` lists them.
.DEFAULT_GOAL := help
SHELL := /bin/bash

# docker compose, refusing a stack that is up from other compose files (tools/compose.sh).
# Production: COMPOSE_FILE=compose.yaml in .env, and every target uses compose.yaml alone.
COMPOSE ?= tools/compose.sh
UV ?= uv
UV_RUN := $(UV) run --frozen --quiet
MIGRATOR := $(COMPOSE) run --rm migrator
# New revision files are written as you, not as the image's user (compose.override.yaml).
export HOST_UID := $(shell id -u)
export HOST_GID := $(shell id -g)
# The checkout's revision, baked into the api image (its api_build_info metric).
export GIT_REVISION ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
# uv compiles what it installs: machines that set PYTHONDONTWRITEBYTECODE (this project's CI)
# would otherwise compile every imported module in every process the tests start.
export UV_COMPILE_BYTECODE := 1

.PHONY: help up down logs ps migrate downgrade revision history current plan check seed psql \
	release test test-quick bench lint fmt lock docs monitoring move-passwords backup restore kube-dev-secrets \
	set-password rotate-token-key

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z.-]+:.*## / {printf "  make %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

up: move-passwords ## Build and start the whole stack; returns once the api is healthy
	$(COMPOSE) up --build --wait
	@port=$$($(COMPOSE) port proxy 8080 | sed 's/^0\.0\.0\.0/localhost/; s/^\[::\]/localhost/'); \
	  echo "API:  http://$$port"; echo "Docs: http://$$port/docs"

# An .env from before passwords moved into the secrets volume: move them there, once,
# through standard input (never the environment), and keep every other setting.
ENV_FILE ?= .env
OLD_PASSWORDS := ^(POSTGRES_PASSWORD|API_DB_PASSWORD)=.
move-passwords:
	@if [ -f $(ENV_FILE) ] && grep -qE '$(OLD_PASSWORDS)' $(ENV_FILE); then \
	  grep -E '$(OLD_PASSWORDS)' $(ENV_FILE) | $(COMPOSE) run --rm -T --no-deps secrets import \
	  && sed -i.bak -E '/$(OLD_PASSWORDS)/d' $(ENV_FILE) && rm -f $(ENV_FILE).bak \
	  && echo "moved the passwords from $(ENV_FILE) into the secrets volume; it keeps the rest"; \
	fi

down: ## Stop the stack (data and passwords stay in their volumes; `docker compose down -v` wipes them)
	$(COMPOSE) down

lines ?= 100
logs: ## Follow the logs of every service, from the last 100 lines of each: make logs [lines=all]
	$(COMPOSE) logs -f --tail=$(lines)

ps: ## Show the services and their health
	$(COMPOSE) ps -a

release: ## Release the checkout onto the running stack: plan, migrate, new api containers beside the old, drained, replaced [anyway=1]
	COMPOSE="$(COMPOSE)" ANYWAY="$(anyway)" tools/release.sh

# The plan first, stopping on a revision that would fail, block reads or writes, or
# rewrite a table; `anyway=1` goes on regardless.
PLAN_GATE = $(if $(anyway),true,$(MIGRATOR) plan --strict) \
  || { echo 'make: the plan says stop (above); fix the revision, or go on with anyway=1' >&2; exit 3; }

migrate: ## Upgrade the schema to head, after the plan says it is safe [anyway=1]
	@$(PLAN_GATE)
	$(MIGRATOR) upgrade head

downgrade: ## Roll the schema back one revision
	$(MIGRATOR) downgrade -1

revision: ## Autogenerate a revision from the models: make revision m="add post slug"
	@test -n "$(m)" || { echo 'usage: make revision m="what changes"'; exit 2; }
	$(MIGRATOR) revision --autogenerate -m "$(m)"

history: ## List the revisions
	$(MIGRATOR) history --verbose

current: ## Show the revision the database is at
	$(MIGRATOR) current --verbose

plan: ## What each pending revision will lock, and what today's rows would refuse: make plan [json=1] [strict=1]
	@# (not echoed: `make plan json=1 | jq` must read JSON alone)
	@$(MIGRATOR) plan $(if $(json),--json) $(if $(strict),--strict)

check: ## Fail if the models and the migrations disagree
	$(MIGRATOR) check

seed: ## Load demo data: 1,000 users with 10 posts each (deterministic; safe to run again)
	$(COMPOSE) run --rm --entrypoint python migrator -m migrator.steps.seed

# A command in the db container, as the superuser, on the application's database.
IN_DB = $(COMPOSE) exec -T db sh -c 'exec "$$0" -U "$${POSTGRES_USER:-postgres}" -d "$${POSTGRES_DB:-app}" "$$@"'

psql: ## Open psql in the db container, as the superuser, on the application's database
	$(COMPOSE) exec db sh -c 'exec psql -U "$${POSTGRES_USER:-postgres}" -d "$${POSTGRES_DB:-app}"'

renew-certificate: ## Sign the generated certificate anew (PUBLIC_HOSTS' names), reload the proxy
	$(COMPOSE) run --rm --no-deps secrets renew-certificate
	$(COMPOSE) kill -s USR2 proxy

set-password: ## A user's new password, printed once; ends their tokens: make set-password user=NAME [stdin=1]
	@test -n "$(user)" || { echo 'usage: make set-password user=NAME [stdin=1] (stdin=1 reads it)'; exit 2; }
	$(COMPOSE) run --rm --no-deps -T api python -m api.accounts.set_password $(if $(stdin),--stdin) -- '$(user)'

rotate-token-key: ## A new token signing key; the previous one stays accepted until its tokens expire
	$(COMPOSE) run --rm --no-deps secrets rotate-token-key
	@echo "restart the api (make release) to sign with the new key; tokens signed with the old one stay valid"

BACKUPS ?= backups
backup: ## Write a consistent dump (pg_dump, custom format) to backups/app-<UTC time>.dump
	@mkdir -p $(BACKUPS) && chmod 700 $(BACKUPS)
	@name=$(BACKUPS)/app-$$(date -u +%Y%m%dT%H%M%SZ); \
	  $(IN_DB) pg_dump --format=custom > $$name.dump.partial && mv $$name.dump.partial $$name.dump \
	  && $(COMPOSE) exec -T db sh -c 'exec pg_dumpall -U "$${POSTGRES_USER:-postgres}" --roles-only --no-role-passwords' > $$name.roles.sql \
	  && echo "wrote $$name.dump ($$(du -h $$name.dump | cut -f1)) and $$name.roles.sql"

restore: ## Restore a dump into a new, empty volume: make restore file=backups/app-<time>.dump
	@test -f "$(file)" || { echo 'usage: make restore file=backups/app-<time>.dump'; exit 2; }
	$(COMPOSE) run --rm secrets
	$(COMPOSE) up -d --wait db
	$(COMPOSE) run --rm roles
	@tables=$$($(IN_DB) psql -Atc "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"); \
	  test "$$tables" = 0 || { echo "the database already has $$tables tables: restore goes into a new volume" \
	    "(docker compose down -v first, which deletes the data and the passwords)"; exit 1; }
	@# As the superuser, owning nothing of the dump's; the roles step then hands it all to
	@# the schema owner, and the migrator grants the API role its rows.
	$(IN_DB) pg_restore --no-owner --no-acl --exit-on-error < "$(file)"
	$(COMPOSE) run --rm roles
	$(COMPOSE) up --build --wait

# The tests write bytecode (into __pycache__, which git and docker ignore) even where the
# machine says not to (PYTHONDONTWRITEBYTECODE, as this project's CI does): otherwise each
# process they start compiles the project's modules again and pytest rewrites the tests'
# asserts again (collecting the tests took 7.3 s of CPU, 3.7 s with bytecode kept).
test test-quick: export PYTHONDONTWRITEBYTECODE =

test: ## Run every test (database, API, migrations, compose end to end) and measure coverage
	$(UV_RUN) pytest --cov --cov-report=term

# pytest-xdist's workers: two per core, as the tests wait on their servers and databases
# about half of the time (docs/testing.md); a number, or auto (one per core).
# args="-p no:xdist" runs none.
workers ?= $(shell echo $$(( $$(nproc) * 2 )))
test-quick: ## The inner loop: every test that needs no Docker engine, two workers per core [workers=N] [args=...]
	$(UV_RUN) pytest -m "not docker" $(if $(findstring no:xdist,$(args)),,-n $(workers)) --no-cov $(args)

bench: ## Benchmark side by side with the tutorial app (needs wrk; minutes, not part of test)
	$(UV_RUN) python -m bench.run $(args)

# The proxy's configuration, checked by the proxy itself, in its own image, through its
# entrypoint (which checks the settings) with a test certificate: as production and as
# the developer loop (compose.override.yaml) run it.
HAPROXY_IMAGE ?= haproxy:3.2
lint: ## ruff (lint and format check), mypy, hadolint, haproxy -c, and the generated docs up to date
	$(UV_RUN) ruff check .
	$(UV_RUN) ruff format --check .
	$(UV_RUN) mypy
	$(UV_RUN) hadolint services/Dockerfile bench/baseline/Dockerfile bench/bare/Dockerfile
	tls=$$(mktemp -d) && $(UV_RUN) python -m harness.tls "$$tls" >/dev/null && status=0 && \
	for shape in production development; do \
	  docker run --rm --network none -v "$(CURDIR)/services/proxy:/usr/local/etc/haproxy:ro" \
	    -v "$$tls:/run/tls:ro" $$([ $$shape = development ] && echo --env PROXY_DEVELOPMENT=1) \
	    --entrypoint /usr/local/etc/haproxy/start.sh \
	    $(HAPROXY_IMAGE) haproxy -c -f /usr/local/etc/haproxy/haproxy.cfg || status=1; \
	done; rm -rf "$$tls"; exit $$status
	$(UV_RUN) python -m tools.docs --check

fmt: ## Format and autofix with ruff
	$(UV_RUN) ruff format .
	$(UV_RUN) ruff check --fix .

docs: ## Regenerate .env.example and the tables in docs/ from the code
	$(UV_RUN) python -m tools.docs

monitoring: ## Regenerate the SLO rules, their tests and the dashboard from services/monitoring/slo.yaml
	$(UV) run --frozen python -m tools.monitoring

kube-dev-secrets: ## Random passwords for the Kubernetes dev overlay (git-ignored, kept)
	deploy/kubernetes/overlays/dev/make-secrets.sh

lock: ## Re-resolve uv.lock after changing a pyproject.toml
	$(UV) lock
