//===- gshard-modelgen.cpp - Writes GShard models as HLO text -------------===//
//
//   gshard-modelgen --model=moe --layers=36 --devices=2048 -o moe.hlo
//   gshard-modelgen --preset=600b -o 600b.hlo
//
// See benchmarks/ModelGen.h for the models and docs/performance.md for how
// the benchmarks use them.
//
//===----------------------------------------------------------------------===//

#include "ModelGen.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"

namespace cl = llvm::cl;
using gshard::bench::ModelConfig;
using gshard::bench::ModelKind;

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  ModelConfig defaults;
  cl::opt<std::string> preset(
      "preset",
      cl::desc("Start from a paper configuration: 600b (36 layers, 2048 "
               "experts on 2048 devices, M=1024, H=8192, 16 heads, 4M "
               "tokens, bf16); other flags override it"),
      cl::init(""));
  cl::opt<std::string> model("model", cl::desc("moe | dense | megatron-mlp"),
                             cl::init("moe"));
  cl::opt<int64_t> layers("layers", cl::desc("Transformer layers (MoE: every "
                                             "other one has an MoE FFN)"));
  cl::opt<int64_t> devices("devices", cl::desc("Devices (num_partitions)"));
  cl::opt<int64_t> modelDim("model-dim", cl::desc("M"));
  cl::opt<int64_t> hiddenDim("hidden-dim", cl::desc("H (feed-forward)"));
  cl::opt<int64_t> heads("heads", cl::desc("Attention heads"));
  cl::opt<int64_t> experts("experts", cl::desc("E (a multiple of devices)"));
  cl::opt<int64_t> batch("batch", cl::desc("Sequences per step"));
  cl::opt<int64_t> seqLen("seq-len", cl::desc("Sequence length"));
  cl::opt<int64_t> groups("groups", cl::desc("G (default: devices)"));
  cl::opt<int64_t> capacity("capacity",
                            cl::desc("Expert capacity C (default 2S/E)"));
  cl::opt<std::string> dtype("dtype", cl::desc("f32 | bf16"));
  cl::opt<bool> grads("weight-gradients",
                      cl::desc("Also emit the data-parallel weight gradients "
                               "of the replicated weights (all-reduced)"));
  cl::opt<bool> noMetadata("no-metadata",
                           cl::desc("Omit metadata={op_name=...}"));
  cl::opt<std::string> output("o", cl::desc("Output file"), cl::init("-"));
  cl::ParseCommandLineOptions(
      argc, argv, "gshard-modelgen: HLO text of the GShard paper's models\n");

  ModelConfig config = defaults;
  if (preset == "600b") {
    config = ModelConfig::paper600B();
  } else if (!preset.empty()) {
    llvm::WithColor::error()
        << "unknown preset '" << preset << "' (known: 600b)\n";
    return 2;
  }
  if (model.getNumOccurrences() || preset.empty()) {
    if (model == "moe")
      config.kind = ModelKind::MoE;
    else if (model == "dense")
      config.kind = ModelKind::Dense;
    else if (model == "megatron-mlp")
      config.kind = ModelKind::MegatronMlp;
    else {
      llvm::WithColor::error()
          << "unknown model '" << model << "' (moe, dense, megatron-mlp)\n";
      return 2;
    }
  }
  auto set = [](cl::opt<int64_t> &opt, int64_t &field) {
    if (opt.getNumOccurrences())
      field = opt;
  };
  set(layers, config.layers);
  set(devices, config.devices);
  set(modelDim, config.modelDim);
  set(hiddenDim, config.hiddenDim);
  set(heads, config.heads);
  set(experts, config.experts);
  set(batch, config.batch);
  set(seqLen, config.seqLen);
  set(groups, config.groups);
  set(capacity, config.capacity);
  if (dtype.getNumOccurrences())
    config.dtype = dtype;
  config.weightGradients = grads;
  config.metadata = !noMetadata;

  std::string error;
  std::string text = gshard::bench::generateModel(config, error);
  if (!error.empty()) {
    llvm::WithColor::error() << error << "\n";
    return 2;
  }
  std::error_code ec;
  llvm::ToolOutputFile out(output, ec, llvm::sys::fs::OF_None);
  if (ec) {
    llvm::WithColor::error() << output << ": " << ec.message() << "\n";
    return 2;
  }
  // The command line (without -o) as a comment, to regenerate the file.
  out.os() << "// Command: gshard-modelgen";
  for (int i = 1; i < argc; ++i) {
    llvm::StringRef arg = argv[i];
    if (arg == "-o" || arg == "--o") {
      ++i;
      continue;
    }
    if (arg.starts_with("-o=") || arg.starts_with("--o="))
      continue;
    out.os() << " " << arg;
  }
  out.os() << "\n" << text;
  out.keep();
  return 0;
}
