# Thin wrappers around docker compose and uv. `make help` lists them.
.DEFAULT_GOAL := help
SHELL := /bin/bash

COMPOSE ?= docker compose
UV ?= uv
MIGRATOR := $(COMPOSE) run --rm migrator
# New revision files are written as you, not as the image's user (compose.override.yaml).
export HOST_UID := $(shell id -u)
export HOST_GID := $(shell id -g)

.PHONY: help up down logs ps migrate downgrade revision history current check psql test bench lint fmt lock

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z.-]+:.*## / {printf "  make %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

RANDOM_SECRET = $$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')

.env: ## Write .env from .env.example with fresh random passwords (never overwrites one)
	@umask 077 && sed -e "s/^POSTGRES_PASSWORD=.*/POSTGRES_PASSWORD=$(RANDOM_SECRET)/" \
	  -e "s/^API_DB_PASSWORD=.*/API_DB_PASSWORD=$(RANDOM_SECRET)/" .env.example > .env
	@echo "wrote .env with random passwords"

up: .env ## Build and start db -> migrator -> api; returns once the api is healthy
	@# An .env from before the API had its own role gets a password added, nothing replaced.
	@grep -q '^API_DB_PASSWORD=.' .env || { echo "API_DB_PASSWORD=$(RANDOM_SECRET)" >> .env; \
	  echo "added a random API_DB_PASSWORD to .env (the API's own database role)"; }
	$(COMPOSE) up --build --wait
	@port=$$($(COMPOSE) port api 8000 | sed 's/^0\.0\.0\.0/localhost/; s/^\[::\]/localhost/'); \
	  echo "API:  http://$$port"; echo "Docs: http://$$port/docs"

down: ## Stop the stack (data stays in the db-data volume; `docker compose down -v` wipes it)
	$(COMPOSE) down

logs: ## Follow the logs of every service
	$(COMPOSE) logs -f

ps: ## Show the services and their health
	$(COMPOSE) ps -a

migrate: .env ## Upgrade the schema to head
	$(MIGRATOR) upgrade head

downgrade: .env ## Roll the schema back one revision
	$(MIGRATOR) downgrade -1

revision: .env ## Autogenerate a revision from the models: make revision m="add post slug"
	@test -n "$(m)" || { echo 'usage: make revision m="what changes"'; exit 2; }
	$(MIGRATOR) revision --autogenerate -m "$(m)"

history: .env ## List the revisions
	$(MIGRATOR) history --verbose

current: .env ## Show the revision the database is at
	$(MIGRATOR) current --verbose

check: .env ## Fail if the models and the migrations disagree
	$(MIGRATOR) check

psql: ## Open psql in the db container
	$(COMPOSE) exec db sh -c 'psql -U "$$POSTGRES_USER" -d "$$POSTGRES_DB"'

test: ## Run every test: database, API, migrations and the compose stack end to end
	$(UV) run --frozen pytest

bench: ## Benchmark side by side with the tutorial app (needs wrk; minutes, not part of test)
	$(UV) run --frozen python -m bench.run $(args)

lint: ## ruff (lint and format check) and mypy
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .
	$(UV) run --frozen mypy

fmt: ## Format and autofix with ruff
	$(UV) run --frozen ruff format .
	$(UV) run --frozen ruff check --fix .

lock: ## Re-resolve uv.lock after changing a pyproject.toml
	$(UV) lock
