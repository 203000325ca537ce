# Top-level driver: CMake does the building into $(BUILD).
#   make          build
#   make test     install missing Debian packages, build, run every test
#   make demo     install, build, run the whole product on the sample story
#   make bench    benchmarks (bench/)
#   make bench-e2e   events/s end to end against the machine's limits
#   make soak     nothing lost under repeated crashes (about 3 minutes)
#   make fuzz-smoke  every libFuzzer harness 30 s on its corpus (CI)
#   make deps     install missing Debian packages (root) or print the line
# SANITIZE=1 builds with ASan + UBSan (CI does).

BUILD ?= build
SANITIZE ?= 0
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=
ifeq ($(SANITIZE),1)
CMAKE_FLAGS += -DMASH_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
endif

MAKEFLAGS += --no-print-directory

.PHONY: all build configure deps test unit integration demo demo-console bench bench-e2e soak fuzz fuzz-smoke format clean

all: build

deps:
	@scripts/deps.sh

configure:
	@cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

test: deps build
	@ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

unit: build
	@ctest --test-dir $(BUILD) --output-on-failure -L unit -j $(JOBS)

integration: build
	@ctest --test-dir $(BUILD) --output-on-failure -L integration

demo: deps build
	@scripts/demo.sh $(BUILD)

# The demo, then its web console kept running for a person to try
# (Ctrl-C, or remove the hold file, stops everything).
demo-console: deps build
	@MASH_DEMO_HOLD=$(BUILD)/demo-hold scripts/demo.sh $(BUILD)

bench: deps build
	@scripts/bench.sh $(BUILD)

# The full path at once (issue 32, bench/bench_e2e.c): E, latency at a
# fixed rate, the machine's verify and relay limits, the ceilings, RSS;
# one "bench:" line and $(BUILD)/bench/result.json. About 3 minutes.
bench-e2e: deps build
	@mkdir -p $(BUILD)/bench
	@MASH_BIN_DIR=$(abspath $(BUILD))/bin MASH_SOURCE_DIR=$(CURDIR) \
		MASH_BENCH_OUT=$(abspath $(BUILD))/bench/result.json \
		timeout 600 $(BUILD)/bin/bench_e2e

# Nothing lost under repeated crashes (issue 30): 10,000 events, mashd
# SIGKILLed 3 times, the broker restarted once (tests/soak/soak.c).
soak: deps build
	@MASH_BIN_DIR=$(abspath $(BUILD))/bin MASH_SOURCE_DIR=$(CURDIR) \
		timeout 1200 $(BUILD)/bin/soak 10000 3

# The libFuzzer harnesses (clang); with FUZZ_SECONDS=N each also runs N s.
fuzz:
	@CC=clang cmake -S . -B build-fuzz -DMASH_FUZZ=ON -DMASH_SANITIZE=ON >/dev/null
	@cmake --build build-fuzz -j $(JOBS) --target fuzzers
	@if [ -n "$(FUZZ_SECONDS)" ]; then FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz-smoke.sh; fi

# Every harness 30 s on its seed corpus; any crash or leak fails (CI runs it).
fuzz-smoke: deps
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=
	@scripts/fuzz-smoke.sh

format:
	@git ls-files '*.c' '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD) build-fuzz
