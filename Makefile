# Pownce — `make help` lists every target.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STACK := deploy/stack.sh
# Demo data for `make run`: small enough to seed in seconds.
DEMO_USERS ?= 30
DEMO_NOTES ?= 300
# The profile (deploy/profiles/NAME.env) whose ports and var/NAME/ `make test` uses.
TEST_PROFILE ?= test
# `make bench`'s mixed workload: seconds of load (0 skips it) and simulated browsers.
MIXED_SECONDS ?= 60
MIXED_USERS ?= 16
# `make profile`: the page to profile and for how many seconds.
PAGE ?= /
PROFILE_SECONDS ?= 20

.DEFAULT_GOAL := help
.PHONY: help venv run test test-busy test-down stack stack-status stack-restart stack-down stack-prometheus \
	stack-prometheus-down cluster cluster-status cluster-down bench bench-mixed profile lint check-deploy clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-22s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(VENV)/.installed: requirements.txt
	@bash deploy/install-packages.sh --build
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	@touch $@

venv: $(VENV)/.installed ## create the virtualenv and install requirements.txt

run: $(VENV)/.installed ## the embedded default: SQLite + local memory cache, demo data, http://127.0.0.1:8000/
	$(PY) manage.py migrate --noinput -v 0
	$(PY) manage.py seed_demo --users $(DEMO_USERS) --notes $(DEMO_NOTES) --if-empty
	@echo "Pownce is at http://127.0.0.1:8000/ (Ctrl-C stops it)"
	$(PY) manage.py runserver 127.0.0.1:8000

test: $(VENV)/.installed ## the whole suite on real MariaDB primary+replica (+ 2 inbox shard pairs), memcached, Redis, HAProxy
	@bash deploy/install-packages.sh wrk chromium prometheus ethtool nodejs npm
	@bash deploy/install-axe.sh
	@$(STACK) --profile $(TEST_PROFILE) up data
	@set -a && . <($(STACK) --profile $(TEST_PROFILE) test-env) && set +a && \
		POWNCE_TEST_PROFILE=$(TEST_PROFILE) $(VENV)/bin/pytest $(PYTEST_ARGS)

test-busy: $(VENV)/.installed ## the suite 3 times in a row beside a CPU hog (stress-ng), as a loaded CI machine runs it
	@bash deploy/test-under-load.sh 3

test-down: ## stop the services `make test` started
	@$(STACK) --profile $(TEST_PROFILE) down

stack: $(VENV)/.installed ## start the production shape on loopback (demo data if empty): http://127.0.0.1:8080/
	@bash deploy/install-packages.sh
	@$(STACK) up
	@set -a && . <($(STACK) env) && set +a && \
		$(PY) manage.py seed_demo --users $(DEMO_USERS) --notes $(DEMO_NOTES) --if-empty

stack-status: ## show each component of the stack up/down and the replica's lag
	@$(STACK) status

stack-restart: ## rolling restart of the stack's app servers (new code goes live, no request fails)
	@$(STACK) restart app

stack-down: ## stop every process of the stack (and its Prometheus)
	@bash deploy/prometheus.sh down --name stack
	@$(STACK) down

stack-prometheus: ## Prometheus scraping the stack, its alert rules loaded: http://127.0.0.1:9090/
	@. deploy/profiles/stack.env && apps=() && for port in $$APP_PORTS; do apps+=(--app "127.0.0.1:$$port"); done && \
		bash deploy/prometheus.sh up --name stack --listen "127.0.0.1:$$PROMETHEUS_PORT" "$${apps[@]}" \
			--haproxy "127.0.0.1:$$HAPROXY_STATS_PORT" --sampler "127.0.0.1:$$SAMPLER_METRICS_PORT"
	@bash deploy/prometheus.sh status --name stack

stack-prometheus-down: ## stop the stack's Prometheus (its data stays in var/prometheus/stack/)
	@bash deploy/prometheus.sh down --name stack

cluster: $(VENV)/.installed ## the stack across hosts: one network namespace per host of deploy/cluster/hosts.env (root)
	@bash deploy/install-packages.sh
	@deploy/cluster.sh up

cluster-status: ## each host of the cluster: linked, partitioned or slowed, and its components up/down
	@deploy/cluster.sh status

cluster-down: ## stop the cluster: every process, namespace, veth and its bridge
	@deploy/cluster.sh down

bench: $(VENV)/.installed ## measure through HAProxy on a stack of its own; var/bench/latest.json (BENCH_QUICK=1: no 1M step; MIXED_SECONDS=N; INBOX_SHARDS=0: inbox unpartitioned)
	@bash deploy/install-packages.sh wrk
	MIXED_SECONDS=$(MIXED_SECONDS) MIXED_USERS=$(MIXED_USERS) $(PY) deploy/bench.py

bench-mixed: $(VENV)/.installed ## only the bench's mixed workload: 2,000 signed-in people for MIXED_SECONDS (60) via locust
	MIXED_SECONDS=$(MIXED_SECONDS) MIXED_USERS=$(MIXED_USERS) $(PY) deploy/bench_mixed.py

profile: $(VENV)/.installed ## flame graph (py-spy) of an app server worker while wrk loads PAGE=/ signed in: var/bench/profile-*.svg
	@bash deploy/install-packages.sh wrk
	PAGE='$(PAGE)' PROFILE_SECONDS=$(PROFILE_SECONDS) $(PY) deploy/profile.py

lint: $(VENV)/.installed ## ruff: the lint rules and the formatting
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

check-deploy: $(VENV)/.installed ## Django's deployment checks with production settings
	@POWNCE_DEBUG=0 POWNCE_SECRET_KEY=$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(50))') \
		POWNCE_ALLOWED_HOSTS=pownce.example $(PY) manage.py check --deploy --fail-level WARNING

clean: ## remove the virtualenv and everything under var/ (stop the stacks first)
	rm -rf $(VENV) var
