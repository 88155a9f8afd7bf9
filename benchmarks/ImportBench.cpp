//===- ImportBench.cpp - Parse and print throughput -----------------------===//
//
// Reports bytes/s (MB/s) and instructions/s of the HLO text importer and
// printer on the largest real module of the corpus and on generated
// modules up to 1M instructions. See docs/performance.md.
//
//===----------------------------------------------------------------------===//

#include "SyntheticHlo.h"

#include "gshard/Export/HloTextExporter.h"
#include "gshard/Import/HloTextImporter.h"
#include "gshard/IR/HloOps.h"

#include "benchmark/benchmark.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cstdlib>

namespace {

std::unique_ptr<mlir::MLIRContext> makeContext() {
  mlir::DialectRegistry registry;
  registry.insert<gshard::hlo::HloDialect>();
  auto context = std::make_unique<mlir::MLIRContext>(registry);
  context->loadAllAvailableDialects();
  // Benchmarks measure the importer, not multi-threaded verification.
  context->disableMultithreading();
  return context;
}

std::string corpusPath(llvm::StringRef file) {
  const char *env = std::getenv("GSHARD_CORPUS");
  std::string root =
      env ? env : std::string(GSHARD_SOURCE_DIR) + "/../shared/corpus";
  return root + "/" + file.str();
}

int64_t countInstructions(mlir::ModuleOp module) {
  int64_t count = 0;
  module.walk([&](mlir::Operation *op) {
    if (op->getDialect() && op->getName().getStringRef() != "hlo.return" &&
        op->getName().getStringRef() != "hlo.computation" &&
        op != module.getOperation())
      ++count;
  });
  return count;
}

void runImport(benchmark::State &state, const std::string &text) {
  auto context = makeContext();
  int64_t instructions = 0;
  for (auto _ : state) {
    auto module = gshard::importHloText(text, context.get());
    if (!module) {
      state.SkipWithError("import failed");
      return;
    }
    instructions = countInstructions(*module);
    benchmark::DoNotOptimize(module.get());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * text.size());
  state.counters["instructions"] = instructions;
  state.counters["instr/s"] = benchmark::Counter(
      double(instructions), benchmark::Counter::kIsIterationInvariantRate);
}

void runPrint(benchmark::State &state, const std::string &text) {
  auto context = makeContext();
  auto module = gshard::importHloText(text, context.get());
  if (!module) {
    state.SkipWithError("import failed");
    return;
  }
  size_t bytes = 0;
  for (auto _ : state) {
    std::string out;
    out.reserve(text.size() * 2);
    llvm::raw_string_ostream os(out);
    if (mlir::failed(gshard::exportHloText(*module, os))) {
      state.SkipWithError("export failed");
      return;
    }
    bytes = out.size();
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * bytes);
}

const std::string &largestRealModule() {
  static std::string text = [] {
    auto buffer = llvm::MemoryBuffer::getFile(
        corpusPath("real/ptxla_neuron_llama2_tp8_pp4.hlo"));
    return buffer ? (*buffer)->getBuffer().str() : std::string();
  }();
  return text;
}

void BM_ImportRealLlama(benchmark::State &state) {
  if (largestRealModule().empty())
    return state.SkipWithError("corpus not found (set GSHARD_CORPUS)");
  runImport(state, largestRealModule());
}
void BM_PrintRealLlama(benchmark::State &state) {
  if (largestRealModule().empty())
    return state.SkipWithError("corpus not found (set GSHARD_CORPUS)");
  runPrint(state, largestRealModule());
}
void BM_ImportSynthetic(benchmark::State &state) {
  runImport(state, gshard::bench::generateLayeredModule(state.range(0)));
}
void BM_PrintSynthetic(benchmark::State &state) {
  runPrint(state, gshard::bench::generateLayeredModule(state.range(0)));
}

} // namespace

BENCHMARK(BM_ImportRealLlama)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_PrintRealLlama)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ImportSynthetic)
    ->Arg(10000)
    ->Arg(100000)
    ->Arg(1000000)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_PrintSynthetic)
    ->Arg(10000)
    ->Arg(1000000)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
