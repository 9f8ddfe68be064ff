# Every target is a thin wrapper over go and npm commands; `make help` lists them.
.DEFAULT_GOAL := help
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c

GO ?= go
LINT_ENV := REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true NO_UPDATE_NOTIFIER=1

.PHONY: help
help: ## List the targets
	@# Two passes over the ## lines: the widest target name sets the column.
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_.-]+:.*## / {name[++n] = $$1; desc[n] = $$2; if (length($$1) > w) w = length($$1)} \
	  END {for (i = 1; i <= n; i++) printf "  %-" w "s  %s\n", name[i], desc[i]}' $(MAKEFILE_LIST)

.PHONY: check-help
check-help: ## Fail unless make help starts every description in one column
	@$(MAKE) -s help | awk '{ match($$0, /^  [^ ]+ +/); col[RSTART ? RLENGTH : 0]++; if (!RSTART) bad = bad "\n" $$0 } \
	  END { n = 0; for (c in col) n++; if (n != 1 || bad != "") { print "make help: descriptions start in " n " columns" bad > "/dev/stderr"; exit 1 } }'

.PHONY: check-tidy
check-tidy: ## Fail, with the diff, unless go.mod and go.sum are what go mod tidy makes them
	go mod tidy -diff

# gen/ is made by the toolchain of go.mod's go line: oapi-codegen compresses the
# embedded spec with the running Go's compress/flate, whose bytes differ from one
# Go release to another (1.27's from 1.26's), so a newer local Go would see drift
# where there is none. GOTOOLCHAIN fetches that toolchain if it is not the local one.
GEN_TOOLCHAIN := go$(shell awk '$$1 == "go" {print $$2}' go.mod)

.PHONY: generate
generate: ## Regenerate gen/ from api/openapi.yaml, with go.mod's Go (its Go files made anew)
	@# Every Go file of gen/ is generated: moved aside first, so that one the spec no
	@# longer makes, or one written by hand, shows as drift; put back if generating
	@# fails (no toolchain to fetch, a spec the generator refuses), so that a failed
	@# run leaves the module as it was. One it did not make that git does not hold
	@# is put back too, and named: dropped, it would be lost rather than shown.
	@# nullglob: an empty gen/ (rm gen/*.go, to start afresh) is filled, not refused.
	@shopt -s nullglob; aside=$$(mktemp -d) && for f in gen/*.go; do mv "$$f" "$$aside"/; done && \
	  if GOTOOLCHAIN=$(GEN_TOOLCHAIN) $(GO) generate ./...; then \
	    for f in "$$aside"/*.go; do g=gen/$${f##*/}; \
	      if [ ! -e "$$g" ] && ! git ls-files --error-unmatch -- "$$g" >/dev/null 2>&1; then \
	        mv "$$f" "$$g"; echo "$$g: not generated, and not in git: left in place" >&2; fi; \
	    done; rm -rf "$$aside"; \
	  else status=$$?; rm -f gen/*.go; for f in "$$aside"/*.go; do mv "$$f" gen/; done; rm -rf "$$aside"; \
	    echo "make generate failed: gen/ is as it was" >&2; exit $$status; fi

.PHONY: check-generated
check-generated: generate ## Fail if gen/ differs from what api/openapi.yaml generates
	@git diff --exit-code -- gen || { echo "gen/ is out of date: run make generate and commit it" >&2; exit 1; }
	@untracked=$$(git ls-files --others --exclude-standard -- gen); \
	  if [ -n "$$untracked" ]; then echo "untracked files in gen/ (commit what make generate made, remove the rest): $$untracked" >&2; exit 1; fi
	@# gen/ holds what go generate makes, gen/*.go, and the configs generate.go names:
	@# anything else there (a package under gen/, a note) was written by hand.
	@other=$$(git ls-files -- gen | grep -vE '^gen/[^/]+\.go$$' | grep -vxF -f <(grep -o 'gen/[^ ]*\.yaml' generate.go) || true); \
	  if [ -n "$$other" ]; then echo "gen/ holds files go generate does not make, nor generate.go names: $$other" >&2; exit 1; fi

.PHONY: check-generated-drift
check-generated-drift: ## Fail unless make check-generated fails on each kind of drift, and passes a clean copy (at a path with a space)
	.ci/check-generated-drift

api/node_modules/.package-lock.json: api/package.json api/package-lock.json
	cd api && npm ci --no-audit --no-fund --loglevel=error
	.ci/check-node-engines -warn

.PHONY: lint
lint: api/node_modules/.package-lock.json ## Lint the spec with Spectral and Redocly (fails on warnings too)
	cd api && $(LINT_ENV) npx --no-install spectral lint --fail-severity=warn openapi.yaml
	@# Redocly exits 0 on warnings, and prints its all-clear line with them too: only
	@# that line without "You have N warning(s)" means none. (Not through tee
	@# /dev/stderr: that reopens a log file that stderr goes to, and truncates it.)
	cd api && out=$$($(LINT_ENV) npx --no-install redocly lint openapi.yaml 2>&1) || { echo "$$out"; exit 1; }; echo "$$out"; \
	  grep -q 'Your API description is valid' <<<"$$out" && ! grep -Eq 'You have [0-9]+ warnings?' <<<"$$out"

.PHONY: vet
vet: ## go vet every package
	$(GO) vet ./...

.PHONY: staticcheck
staticcheck: ## staticcheck every package (the version tools.go pins)
	$(GO) run honnef.co/go/tools/cmd/staticcheck ./...

# Pinned here rather than in tools.go: go run PACKAGE@VERSION keeps it, and its
# dependencies, out of go.mod.
ACTIONLINT := github.com/rhysd/actionlint/cmd/actionlint@v1.7.12

.PHONY: actionlint
actionlint: ## Lint .github/ with actionlint (with shellcheck's checks of run: scripts when shellcheck is installed)
	$(GO) run $(ACTIONLINT)

.PHONY: apidoc
apidoc: ## Rewrite .ci/apidoc/, the go doc -all of every public package, after a change to the public API
	.ci/check-apidoc -w

.PHONY: check-apidoc
check-apidoc: ## Fail, with the diff, if the public API or its docs differ from .ci/apidoc/
	.ci/check-apidoc

.PHONY: check-apidoc-internal
check-apidoc-internal: ## Fail if the public packages' docs name an internal package
	.ci/check-apidoc -internal

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
test: vet ## Run every test, with the race detector; the last lines name the tests that skipped, and why
	@# go test's report, read from its JSON events, ends with what skipped (PostgreSQL,
	@# Chromium, the npm tools); pipefail keeps go test's exit status.
	$(GO) test -race -count=1 -json ./... | $(GO) run ./internal/cmd/testsummary

.PHONY: run
run: ## Run the server on 127.0.0.1:8080 (or ADDR=host:port) with plannr.db; an empty one gets the demo user
	@# Built, then run directly: go run exits 1 when the server stops on Ctrl-C.
	@echo "Building bin/plannr-server: a first build compiles every dependency, which takes minutes; later ones take seconds."
	$(GO) build -buildvcs=auto -o bin/plannr-server ./cmd/plannr-server
	exec bin/plannr-server $(if $(ADDR),-addr $(ADDR)) $(ARGS)

.PHONY: cluster
cluster: ## Three replicas on one PostgreSQL (a throwaway one unless PLANNR_DB is set), on free ports or PORT..PORT+2; ARGS go to each
	scripts/cluster.sh $(ARGS)

.PHONY: build
build: ## Build the binaries into bin/, stamped with the commit they come from (-version)
	@# -buildvcs=auto: stamped in a checkout, whatever GOFLAGS says; a tarball builds too.
	$(GO) build -buildvcs=auto -o bin/ ./cmd/...

.PHONY: dist
dist: ## Release binaries of every command for linux, darwin (amd64, arm64) and windows (amd64) into dist/, with SHA256SUMS
	scripts/dist.sh

.PHONY: check-dist-reproducible
check-dist-reproducible: ## Fail unless make dist makes the same SHA256SUMS in two other directories, one under a hostile environment
	.ci/check-dist-reproducible

BENCH_COUNT ?= 10

.PHONY: bench
bench: ## In-process benchmarks, the server beside its hand-written baseline (BENCHMARKS.md)
	scripts/bench.sh $(BENCH_COUNT)

.PHONY: bench-load
bench-load: ## Load test on loopback with wrk: plannr-server beside the baseline and the anchors, and the durable path
	scripts/bench-load.sh
