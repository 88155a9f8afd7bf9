//===- PartitionBench.cpp - Propagation + partitioning run time -----------===//
//
// `gshard-opt --partition` (propagate, then partition) on the generated
// 64-layer GShard MoE Transformer (32 MoE layers; M=1024, H=8192, 16 heads,
// 2048 experts, 2048 tokens per device, bf16) at 8, 128 and 2048 devices.
// The program is the same at every device count except for the groups
// (one per device) and the batch (2 sequences per device), so the run time
// must not grow with the device count. Import is outside the timed region.
// See docs/performance.md.
//
//===----------------------------------------------------------------------===//

#include "ModelGen.h"
#include "PipelineUtil.h"

#include "benchmark/benchmark.h"

namespace {

gshard::bench::ModelConfig moeConfig(int64_t layers, int64_t devices) {
  gshard::bench::ModelConfig config = gshard::bench::ModelConfig::paper600B();
  config.layers = layers;
  config.devices = devices;
  config.batch = 2 * devices;
  return config;
}

/// range(0): Transformer layers; range(1): devices.
void BM_PropagatePartitionMoE(benchmark::State &state) {
  auto context = gshard::bench::makeGShardContext();
  std::string error;
  std::string text = gshard::bench::generateModel(
      moeConfig(state.range(0), state.range(1)), error);
  if (text.empty()) {
    state.SkipWithError(error.c_str());
    return;
  }
  int64_t instructions = 0, collectives = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto module = gshard::bench::importModule(text, context.get());
    if (!module) {
      state.SkipWithError("import failed");
      return;
    }
    instructions = 0;
    module->walk([&](mlir::Operation *) { ++instructions; });
    std::vector<gshard::CollectiveRecord> records;
    state.ResumeTiming();
    if (!gshard::bench::propagateAndPartition(*module, &records)) {
      state.SkipWithError("propagation or partitioning failed");
      return;
    }
    collectives = records.size();
  }
  state.counters["ops"] = instructions;
  state.counters["collectives"] = collectives;
  state.counters["ops/s"] = benchmark::Counter(
      instructions, benchmark::Counter::kIsIterationInvariantRate);
}

BENCHMARK(BM_PropagatePartitionMoE)
    ->ArgNames({"layers", "devices"})
    ->Args({64, 8})
    ->Args({64, 128})
    ->Args({64, 2048})
    ->Unit(benchmark::kMillisecond);

} // namespace

BENCHMARK_MAIN();
