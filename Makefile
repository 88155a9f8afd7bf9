# gshard: the two README commands.
#   make demo   install missing Debian packages, build, run the shipped example
#   make check  install missing Debian packages, build, run every test suite
BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all deps configure build demo check fuzz clean check-sanitize check-sanitize-lit soak

all: build

deps:
	@bash scripts/install-deps.sh

$(BUILD)/build.ninja: | deps
	cmake -G Ninja -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release

configure: deps $(BUILD)/build.ninja

build: configure
	ninja -C $(BUILD) -j $(JOBS)

demo: build
	@bash scripts/demo.sh $(BUILD)

check: build
	@bash scripts/check.sh $(BUILD)

clean:
	rm -rf $(BUILD)

# libFuzzer runs (clang-19, ASan+UBSan+fuzzer), FUZZ_SECONDS each, of
#   gshard-import-fuzzer    HLO text import, print, re-import
#   gshard-proto-fuzzer     binary HloModuleProto import, export, re-import
#   gshard-pipeline-fuzzer  HLO text import, propagation, partitioning, print
# Seeds: test/fuzz/corpus{,-proto,-pipeline}, examples/ and lit inputs; new
# inputs go to $(FUZZ_BUILD)/fuzz-work*. allow_user_poisoning=0: libMLIR.so
# is not instrumented, and LLVM's allocator templates, instantiated in both,
# would otherwise report its arena writes as use-after-poison.
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_FLAGS = -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=4096 \
  -print_final_stats=1
fuzz: deps
	@test -f $(FUZZ_BUILD)/build.ninja || cmake -G Ninja -S . -B $(FUZZ_BUILD) \
	  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGSHARD_ENABLE_FUZZERS=ON \
	  -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 \
	  -DCMAKE_CXX_FLAGS="-fsanitize=address,undefined,fuzzer-no-link -fno-sanitize-recover=undefined"
	ninja -C $(FUZZ_BUILD) gshard-import-fuzzer gshard-proto-fuzzer gshard-pipeline-fuzzer
	mkdir -p $(FUZZ_BUILD)/fuzz-work $(FUZZ_BUILD)/fuzz-work-proto $(FUZZ_BUILD)/fuzz-work-pipeline
	ASAN_OPTIONS=allow_user_poisoning=0 $(FUZZ_BUILD)/bin/gshard-import-fuzzer $(FUZZ_FLAGS) \
	  -max_len=65536 $(FUZZ_BUILD)/fuzz-work test/fuzz/corpus examples test/Import test/Export
	ASAN_OPTIONS=allow_user_poisoning=0 $(FUZZ_BUILD)/bin/gshard-proto-fuzzer $(FUZZ_FLAGS) \
	  -max_len=65536 $(FUZZ_BUILD)/fuzz-work-proto test/fuzz/corpus-proto
	ASAN_OPTIONS=allow_user_poisoning=0 $(FUZZ_BUILD)/bin/gshard-pipeline-fuzzer $(FUZZ_FLAGS) \
	  -max_len=16384 $(FUZZ_BUILD)/fuzz-work-pipeline test/fuzz/corpus-pipeline \
	  test/Partitioner test/Propagation examples

# The whole test suite (lit + ctest, scripts/check.sh) on an ASan+UBSan build
# of every gshard library and tool (clang-19, no fuzzer instrumentation).
# Slow: build and run take tens of minutes on 2 cores. Any sanitizer report
# aborts the process, so it fails the test that ran it.
# allow_user_poisoning=0: see `fuzz` below.
SAN_BUILD ?= build-asan
$(SAN_BUILD)/build.ninja:
	cmake -G Ninja -S . -B $(SAN_BUILD) \
	  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 \
	  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only -DNDEBUG" \
	  -DCMAKE_CXX_FLAGS="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
SAN_ENV = ASAN_OPTIONS=allow_user_poisoning=0:detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1

check-sanitize: deps $(SAN_BUILD)/build.ninja
	ninja -C $(SAN_BUILD) -j $(JOBS)
	$(SAN_ENV) bash scripts/check.sh $(SAN_BUILD)

# The sanitizer run CI makes after `make check` (the whole check-sanitize
# build takes over an hour on 2 cores): the libraries and the tools the lit
# tests call, built with ASan+UBSan, then every lit test but the corpus-wide
# conformance and simulator runs, which run unsanitized in `make check`
# (docs/reliability.md has full-suite figures). About 10 minutes.
SAN_LIT_TOOLS = gshard-opt gshard-sim gshard-random-hlo gshard-modelgen gshard-moe-trends
check-sanitize-lit: deps $(SAN_BUILD)/build.ninja
	ninja -C $(SAN_BUILD) -j $(JOBS) $(SAN_LIT_TOOLS)
	$(SAN_ENV) GSHARD_LIT_FILTER_OUT='conformance|corpus-exec' GSHARD_RUN_CTEST=0 \
	  bash scripts/check.sh $(SAN_BUILD)

# Random differential testing (test/fuzz/differential.py): N programs from
# gshard-random-hlo, seeds SEED..SEED+N-1, each propagated, partitioned and
# checked by gshard-sim. `make check` runs seeds 0..199 (test/fuzz/random.test).
# Failing modules are copied to $(BUILD)/soak-failures.
N ?= 10000
SEED ?= 1000
soak: build
	python3 test/fuzz/differential.py --generator $(BUILD)/bin/gshard-random-hlo \
	  --gshard-opt $(BUILD)/bin/gshard-opt --gshard-sim $(BUILD)/bin/gshard-sim \
	  --seeds $(SEED):$(N) --jobs $(JOBS) --known test/fuzz/known-failures.txt \
	  --failures $(BUILD)/soak-failures
