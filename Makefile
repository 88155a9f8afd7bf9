# gshard: the two README commands.
#   make demo   install missing Debian packages, build, run the shipped example
#   make check  install missing Debian packages, build, run every test suite
BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all deps configure build demo check fuzz clean

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

# libFuzzer runs of the importer (clang-19, ASan+UBSan+fuzzer). FUZZ_SECONDS
# bounds each run; the seeds are test/fuzz/corpus, examples/ and the lit
# inputs. allow_user_poisoning=0: libMLIR.so is not instrumented, and LLVM's
# allocator templates, instantiated in both, would otherwise report its
# arena writes as use-after-poison.
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
fuzz: deps
	@test -f $(FUZZ_BUILD)/build.ninja || cmake -G Ninja -S . -B $(FUZZ_BUILD) \
	  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGSHARD_ENABLE_FUZZERS=ON \
	  -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 \
	  -DCMAKE_CXX_FLAGS="-fsanitize=address,undefined,fuzzer-no-link -fno-sanitize-recover=undefined"
	ninja -C $(FUZZ_BUILD) gshard-import-fuzzer
	mkdir -p $(FUZZ_BUILD)/fuzz-work
	ASAN_OPTIONS=allow_user_poisoning=0 $(FUZZ_BUILD)/bin/gshard-import-fuzzer -max_total_time=$(FUZZ_SECONDS) \
	  -timeout=10 -rss_limit_mb=4096 -max_len=65536 \
	  $(FUZZ_BUILD)/fuzz-work test/fuzz/corpus examples test/Import test/Export
