# The two commands: `make run` and `make test`. Both install what is missing
# (scripts/install-deps is idempotent and fast when nothing is missing), build,
# and go. Everything else here is a step those two use.
SHELL := /bin/bash
# Let ccache reuse objects across checkouts in different folders (CI clones).
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := true
JOBS ?= $(shell nproc)
STATE_DIR ?= $(CURDIR)/state
FUZZ_SECONDS ?= 30
# The suites with threads of their own (I/O pools, the audit writer, the
# Redis backend, fleet limits), run once more under ThreadSanitizer.
TSAN_TESTS := http_test gateway_units_test capacity_test cache_storage_test gateway_test gateway_messages_test gateway_responses_dialect_test common_test

.PHONY: run test deps build-debug build-release build-fuzz build-tsan unit fuzz api-check bench bench-ai clean

deps:
	@scripts/install-deps

build/%/build.ninja:
	cmake --preset $* >/dev/null

build-debug: deps build/debug/build.ninja
	cmake --build --preset debug -j $(JOBS)

build-release: deps build/release/build.ninja
	cmake --build --preset release -j $(JOBS) --target spectrad spectra

build-fuzz: deps build/fuzz/build.ninja
	cmake --build --preset fuzz -j $(JOBS)

build-tsan: deps build/tsan/build.ninja
	cmake --build --preset tsan -j $(JOBS) --target $(TSAN_TESTS)

run: build-release
	@scripts/run-standalone "$(CURDIR)/build/release" "$(STATE_DIR)"

unit: build-debug
	ctest --preset debug -j $(JOBS)

fuzz: build-fuzz
	@scripts/run-fuzzers "$(CURDIR)/build/fuzz" $(FUZZ_SECONDS)

api-check: build-debug
	@scripts/run-schemathesis "$(CURDIR)/build/debug"

test: build-debug build-fuzz build-tsan
	@FUZZ_SECONDS=$(FUZZ_SECONDS) TSAN_TESTS="$(TSAN_TESTS)" scripts/run-all-tests

# Benchmarks: the AI gateway (below); the network data plane needs root and
# namespaces: sudo bench/net_bench.sh (docs/network-benchmark.md).
bench: bench-ai

# The AI gateway against the direct path and Portkey: one table (docs/ai-gateway-benchmark.md).
bench-ai: deps
	@scripts/bench-ai

clean:
	rm -rf build
