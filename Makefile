# Every target is a thin wrapper over go and npm commands; `make help` lists them.
.DEFAULT_GOAL := help
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c

GO ?= go
LINT_ENV := REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true NO_UPDATE_NOTIFIER=1

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-17s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: generate
generate: ## Regenerate gen/ from api/openapi.yaml
	$(GO) generate ./...

.PHONY: check-generated
check-generated: generate ## Fail if gen/ differs from what api/openapi.yaml generates
	@git diff --exit-code -- gen || { echo "gen/ is out of date: run make generate and commit it" >&2; exit 1; }
	@untracked=$$(git ls-files --others --exclude-standard -- gen); \
	  if [ -n "$$untracked" ]; then echo "untracked generated files: $$untracked" >&2; exit 1; fi

api/node_modules/.package-lock.json: api/package.json api/package-lock.json
	cd api && npm ci --no-audit --no-fund --loglevel=error

.PHONY: lint
lint: api/node_modules/.package-lock.json ## Lint the spec with Spectral and Redocly (fails on warnings too)
	cd api && $(LINT_ENV) npx --no-install spectral lint --fail-severity=warn openapi.yaml
	@# Redocly exits 0 on warnings; only its all-clear line means none. (Not through
	@# tee /dev/stderr: that reopens a log file that stderr goes to, and truncates it.)
	cd api && out=$$($(LINT_ENV) npx --no-install redocly lint openapi.yaml 2>&1) || { echo "$$out"; exit 1; }; echo "$$out"; grep -q 'Your API description is valid' <<<"$$out"

.PHONY: vet
vet: ## go vet every package
	$(GO) vet ./...

.PHONY: staticcheck
staticcheck: ## staticcheck every package (the version tools.go pins)
	$(GO) run honnef.co/go/tools/cmd/staticcheck ./...

.PHONY: fuzz
fuzz: ## Run every fuzz target for FUZZTIME each (default 20s)
	.ci/fuzz

.PHONY: prism-check
prism-check: api/node_modules/.package-lock.json ## Prism in front of the real server: no response may break the spec
	.ci/prism-check

.PHONY: conformance
conformance: api/node_modules/.package-lock.json ## The conformance kit against plannr-server, memstub and plannrtest; Prism's mock must fail it
	.ci/conformance

.PHONY: bench-smoke
bench-smoke: ## Run every benchmark once, so that none rots (not a measurement)
	$(GO) test -run '^$$' -bench . -benchtime 1x ./...

.PHONY: test
test: vet ## Run every test, with the race detector
	$(GO) test -race -count=1 ./...

.PHONY: run
run: ## Run the server on 127.0.0.1:8080 with plannr.db; an empty one gets the demo user
	@# Built, then run directly: go run exits 1 when the server stops on Ctrl-C.
	$(GO) build -o bin/plannr-server ./cmd/plannr-server
	exec bin/plannr-server $(ARGS)

.PHONY: cluster
cluster: ## Three replicas on one PostgreSQL (a throwaway one unless PLANNR_DB is set); ARGS go to each
	scripts/cluster.sh $(ARGS)

.PHONY: build
build: ## Build the binaries into bin/
	$(GO) build -o bin/ ./cmd/...

BENCH_COUNT ?= 10

.PHONY: bench
bench: ## In-process benchmarks, the server beside its hand-written baseline (BENCHMARKS.md)
	scripts/bench.sh $(BENCH_COUNT)

.PHONY: bench-load
bench-load: ## Load test on loopback with wrk: plannr-server beside the baseline and the anchors, and the durable path
	scripts/bench-load.sh
