# Entry points: make build | run | test | bench | lint | clean.  CI runs `make test` (.ci/run).
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := build

FUZZ_SECONDS ?= 20
JOBS ?= 2
# clang-14 cannot compile libstdc++ 12's <expected>; the fuzz tier needs clang 16.
FUZZ_CC ?= clang-16
FUZZ_CXX ?= clang++-16

export UBSAN_OPTIONS ?= print_stacktrace=1

banner = @printf '\n==================== %s ====================\n' "$(1)"

.PHONY: deps build run examples test test-unit test-asan test-fuzz test-format test-bench bench lint clean

deps:
	scripts/install-deps

build: deps
	@if [[ ! -f build/build.ninja ]]; then \
	  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo; \
	fi
	cmake --build build -j$(JOBS)

# The server on a demo SQLite database (created on the first run, with a password per demo user
# printed once and kept in build/demo-passwords.json). ADDRESS=0.0.0.0 to serve other machines.
ADDRESS ?= 127.0.0.1
PORT ?= 8080
run: build
	build/trial serve --demo --db build/demo.db --demo-passwords build/demo-passwords.json \
	  --address $(ADDRESS) --port $(PORT)

# Screens the FHIR example bundles (the command-line screening demo).
examples: build
	scripts/run-examples

# Tiers 1 and 2 run ctest against a throw-away PostgreSQL cluster (scripts/with-pg-cluster sets
# TRIAL_TEST_PG_URL and removes the cluster afterwards, even on failure). TRIAL_REQUIRE_PG=1 makes
# PostgreSQL tests fail, not skip, without a server (src/store/postgres/test_cluster.h).
test: export TRIAL_REQUIRE_PG := 1
test: deps
	$(call banner,tier 1: build + unit/scenario tests)
	$(MAKE) --no-print-directory build
	scripts/with-pg-cluster ctest --test-dir build --output-on-failure -j$(JOBS)
	$(call banner,tier 2: ASan + UBSan (build-asan))
	@if [[ ! -f build-asan/build.ninja ]]; then \
	  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DTRIAL_SANITIZE=ON \
	    -DTRIAL_BENCH=OFF; \
	fi
	cmake --build build-asan -j$(JOBS)
	scripts/with-pg-cluster ctest --test-dir build-asan --output-on-failure -j$(JOBS)
	$(call banner,tier 3: fuzzers ($(FUZZ_SECONDS)s each))
	@if [[ ! -f build-fuzz/build.ninja ]]; then \
	  CC=$(FUZZ_CC) CXX=$(FUZZ_CXX) cmake -S . -B build-fuzz -G Ninja \
	    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTRIAL_FUZZ=ON -DBUILD_TESTING=OFF -DTRIAL_BENCH=OFF; \
	fi
	cmake --build build-fuzz -j$(JOBS)
	scripts/run-fuzzers $(FUZZ_SECONDS)
	$(call banner,tier 4: clang-format)
	scripts/check-format
	$(call banner,benchmarks (smoke run, report only))
	@if [[ -x build/bench/trial_bench ]]; then \
	  build/bench/trial_bench --benchmark_min_time=0.05; \
	else echo "no build/bench/trial_bench"; fi
	$(call banner,make test: all tiers passed)

bench: build
	build/bench/trial_bench
	scripts/with-pg-cluster bench/http/run.sh

lint: build
	scripts/tidy

clean:
	rm -rf build build-asan build-fuzz
