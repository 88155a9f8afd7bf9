//===- PropagationBench.cpp - Sharding propagation run time ---------------===//
//
// Propagation of a generated ~100k-instruction layer stack whose parameters
// carry iota shardings over a [N/4, 4] device mesh, for N = 8 and N = 2048:
// the run time must not depend on N (shardings stay O(rank) in iota form).
// Import is outside the timed region. See docs/performance.md.
//
//===----------------------------------------------------------------------===//

#include "SyntheticHlo.h"

#include "gshard/IR/HloOps.h"
#include "gshard/Import/HloTextImporter.h"
#include "gshard/Propagation/Propagation.h"

#include "benchmark/benchmark.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"

namespace {

std::unique_ptr<mlir::MLIRContext> makeContext() {
  mlir::DialectRegistry registry;
  registry.insert<gshard::hlo::HloDialect>();
  gshard::registerShardingRuleExternalModels(registry);
  auto context = std::make_unique<mlir::MLIRContext>(registry);
  context->loadAllAvailableDialects();
  context->disableMultithreading();
  return context;
}

int64_t countSharded(mlir::ModuleOp module) {
  int64_t count = 0;
  module.walk([&](mlir::Operation *op) {
    if (op->hasAttr("sharding"))
      ++count;
  });
  return count;
}

/// range(0): instructions; range(1): devices; range(2): record explanations.
void BM_Propagate(benchmark::State &state) {
  auto context = makeContext();
  std::string text =
      gshard::bench::generateLayeredModule(state.range(0), state.range(1));
  int64_t sharded = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto module = gshard::importHloText(text, context.get());
    if (!module) {
      state.SkipWithError("import failed");
      return;
    }
    gshard::ShardingExplanations explanations;
    state.ResumeTiming();
    if (mlir::failed(gshard::propagateShardings(
            *module, {}, state.range(2) ? &explanations : nullptr))) {
      state.SkipWithError("propagation failed");
      return;
    }
    state.PauseTiming();
    sharded = countSharded(*module);
    module = nullptr;
    state.ResumeTiming();
  }
  state.counters["sharded"] = sharded;
  state.counters["instr/s"] = benchmark::Counter(
      double(state.range(0)), benchmark::Counter::kIsIterationInvariantRate);
}

} // namespace

BENCHMARK(BM_Propagate)
    ->ArgNames({"instructions", "devices", "explain"})
    ->Args({100000, 8, 0})
    ->Args({100000, 2048, 0})
    ->Args({100000, 8, 1})
    ->Args({100000, 2048, 1})
    ->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
