# The two commands of a fresh machine:
#   make run    builds the proxy and runs it on configs/mosn.json
#   make test   installs what the tests need, then runs the whole suite
GO       ?= go
BIN      := bin/mosn
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X main.version=$(VERSION)
CONFIG   ?= configs/mosn.json

.PHONY: build run test test-deps unit check-imports lint bench bench-deps clean

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/mosn

run: build
	./$(BIN) start -c $(CONFIG)

# Everything CI runs: dependencies, layering, lint, and every test with the
# race detector.
test: test-deps check-imports lint
	$(GO) test -race -count=1 -timeout 20m ./...

# The tests' peers: Go's own net/http and net clients need nothing; the
# packages below are what later test suites and the benchmark use.
test-deps:
	./scripts/install-deps.sh test

unit:
	$(GO) test -count=1 ./pkg/...

check-imports:
	$(GO) test -count=1 -run TestImportLayering ./test/

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# End-to-end benchmark (not a test): the proxy pinned to one core, load and
# backend on the other; direct, this proxy, haproxy and nginx in one run.
bench: bench-deps
	./test/bench/run.sh
	./test/bench/bolt.sh
	./test/bench/h2.sh

bench-deps:
	./scripts/install-deps.sh bench

clean:
	rm -rf bin
