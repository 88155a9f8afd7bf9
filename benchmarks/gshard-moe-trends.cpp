//===- gshard-moe-trends.cpp - The GShard paper's trends, estimated -------===//
//
// Generates the GShard MoE Transformer (ModelGen.h), propagates and
// partitions it in-process, and prices the per-device program with the cost
// model on the TPU v3 presets:
//
//   1. per MoE layer, as the devices (= experts) grow 128 -> 2048 with
//      2048 tokens per device: the all-to-alls the partitioner inserted
//      (count, bytes, time) against the analytic minimum (2 all-to-alls of
//      2·S·M elements per device per forward MoE layer), the all-reduce of
//      the data-parallel weight gradients, and the share of dispatch and
//      combine (their einsums and all-to-alls) in the MoE layer's time;
//   2. the 600B model (36 layers, 2048 experts, tpu-v3-2048): forward time
//      and a training-step estimate to set against the paper's ~1.39 s.
//
//   gshard-moe-trends [--devices=128,256,...] [--no-600b]
//
//===----------------------------------------------------------------------===//

#include "ModelGen.h"
#include "PipelineUtil.h"

#include "gshard/Sim/CostModel.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>

namespace cl = llvm::cl;
using namespace gshard;
using llvm::outs;

namespace {

/// Time and traffic of one run, split by role.
struct Breakdown {
  int64_t devices = 0, moeLayers = 0;
  double stepSeconds = 0, computeSeconds = 0;
  double moeSeconds = 0; // everything in MoE feed-forward layers
  double allToAllSeconds = 0, allToAllBytes = 0;
  int64_t allToAllCount = 0;
  double dispatchCombineComputeSeconds = 0; // the two einsums
  double expertSeconds = 0;                 // the experts' FFN
  double allToAllOperandBytes = 0;
  double allReduceSeconds = 0, allReduceBytes = 0;
  int64_t allReduceCount = 0;
  /// Collectives in MoE layers other than all-to-all (kind -> count).
  std::map<std::string, int64_t> otherMoECollectives;
  double otherMoECollectiveSeconds = 0;
  /// Every collective inserted for the first MoE layer, as text.
  std::vector<std::string> firstMoELayerCollectives;
  int64_t peakMemory = 0;
  sim::CostReport report;
};

/// With `closeRings`, every mesh dim longer than 2 gets wraparound links
/// (the presets' sub-slices of a pod have none): a full torus at every size.
bool analyze(const bench::ModelConfig &config, llvm::StringRef meshName,
             Breakdown &out, bool closeRings = false) {
  std::string error;
  std::string text = bench::generateModel(config, error);
  if (text.empty()) {
    llvm::WithColor::error() << error << "\n";
    return false;
  }
  auto context = bench::makeGShardContext();
  auto module = bench::importModule(text, context.get());
  std::vector<CollectiveRecord> records;
  if (!module || !bench::propagateAndPartition(*module, &records))
    return false;
  llvm::DenseMap<mlir::Operation *, const CollectiveRecord *> byOp;
  for (const CollectiveRecord &r : records)
    byOp[r.op] = &r;

  sim::Mesh mesh;
  if (!sim::getMeshPreset(meshName, mesh, error)) {
    llvm::WithColor::error() << error << "\n";
    return false;
  }
  if (closeRings)
    for (int64_t d = 0; d < mesh.getRank(); ++d)
      mesh.wraparound[d] = mesh.shape[d] > 2;
  sim::CostReport &report = out.report;
  if (!sim::analyzeCost(*module, mesh, {}, report, error)) {
    llvm::WithColor::error() << error << "\n";
    return false;
  }
  bench::ModelSizes sizes;
  bench::validateModelConfig(config, sizes);
  out.devices = config.devices;
  out.moeLayers = sizes.moeLayers;
  out.stepSeconds = report.stepSeconds;
  out.computeSeconds = report.computeSeconds;
  out.peakMemory = report.peakMemoryBytes;
  for (const sim::OpCost &op : report.ops) {
    // The instruction an op belongs to: for an inserted collective, the one
    // being partitioned; otherwise its own name (the partitioner keeps the
    // names of the instructions it rewrites).
    std::string owner = op.name;
    if (auto it = byOp.find(op.op); it != byOp.end())
      owner = it->second->instruction;
    bool inMoE = owner.find(".moe.") != std::string::npos;
    double t = op.totalSeconds();
    if (inMoE)
      out.moeSeconds += t;
    if (op.isCollective && op.opcode == "all-to-all") {
      out.allToAllSeconds += t;
      out.allToAllBytes += op.commBytes * op.count;
      // all-to-all sends (N-1)/N of its operand.
      if (op.groupSize > 1)
        out.allToAllOperandBytes +=
            op.commBytes * op.groupSize / (op.groupSize - 1) * op.count;
      out.allToAllCount += op.count;
    } else if (op.isCollective && op.opcode == "all-reduce") {
      out.allReduceSeconds += t;
      out.allReduceBytes += op.commBytes * op.count;
      out.allReduceCount += op.count;
    }
    if (op.isCollective && inMoE && op.opcode != "all-to-all") {
      out.otherMoECollectives[op.opcode] += op.count;
      out.otherMoECollectiveSeconds += t;
    }
    if (!op.isCollective && inMoE &&
        (owner.find(".moe.dispatch") != std::string::npos ||
         owner.find(".moe.combine") != std::string::npos) &&
        op.opcode == "dot")
      out.dispatchCombineComputeSeconds += t;
    if (!op.isCollective && owner.find(".moe.expert_") != std::string::npos)
      out.expertSeconds += t;
    if (op.isCollective && owner.rfind("layer1.moe.", 0) == 0) {
      const CollectiveRecord *r = byOp.lookup(op.op);
      std::string line;
      llvm::raw_string_ostream os(line);
      os << op.opcode << " at " << owner << ": "
         << llvm::format("%.2f MiB", op.commBytes / (1 << 20))
         << " sent/device, groups of " << op.groupSize;
      if (r && !r->fromSharding.empty())
        os << ", " << r->fromSharding << " -> " << r->toSharding;
      else if (r && !r->reason.empty())
        os << ", " << r->reason;
      out.firstMoELayerCollectives.push_back(line);
    }
  }
  return true;
}

std::string us(double s) { return llvm::formatv("{0:F1} us", s * 1e6).str(); }
std::string mib(double b) {
  return llvm::formatv("{0:F2} MiB", b / (1 << 20)).str();
}

bench::ModelConfig scalingConfig(int64_t devices) {
  bench::ModelConfig c = bench::ModelConfig::paper600B();
  c.devices = devices;
  c.experts = devices;
  c.batch = 2 * devices; // 2048 tokens per device at every scale
  c.layers = 2;          // one dense and one MoE Transformer layer
  c.weightGradients = true;
  return c;
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::list<int64_t> devicesList("devices", cl::CommaSeparated,
                                cl::desc("Device counts (TPU v3 cores)"));
  cl::opt<bool> no600b("no-600b", cl::desc("Skip the 600B model"));
  cl::opt<bool> torus(
      "torus", cl::desc("Close every mesh dim longer than 2 into a ring (the "
                        "tpu-v3 presets below 2048 cores have no wraparound)"));
  cl::ParseCommandLineOptions(argc, argv,
                              "gshard-moe-trends: the GShard paper's scaling "
                              "trends from our partitioner and cost model\n");
  std::vector<int64_t> devices(devicesList.begin(), devicesList.end());
  if (devices.empty())
    devices = {128, 256, 512, 1024, 2048};

  outs() << "== MoE layer vs devices (experts = devices, 2048 tokens/device, "
            "M=1024, H=8192, bf16; mesh tpu-v3-N"
         << (torus ? " with every dim > 2 a ring" : "")
         << "; forward + weight-gradient "
            "all-reduce) ==\n";
  outs() << llvm::formatv(
      "{0,7} {1,5} {2,10} {3,10} {4,11} {5,11} {6,11} {7,11} {8,11} {9,6} "
      "{10,9} {11,9}\n",
      "devices", "a2a", "MiB each", "min MiB", "a2a time", "all-reduce",
      "experts", "disp+comb", "MoE layer", "a2a", "disp+comb", "no gating");
  std::vector<Breakdown> rows;
  for (int64_t d : devices) {
    bench::ModelConfig config = scalingConfig(d);
    Breakdown b;
    if (!analyze(config, "tpu-v3-" + std::to_string(d), b, torus))
      return 1;
    bench::ModelSizes sizes;
    bench::validateModelConfig(config, sizes);
    // Analytic minimum: dispatch and combine each move the local
    // [G/D, E, C, M] buffer, 2·S·M elements when C = 2S/E.
    int64_t elementBytes = config.dtype == "bf16" ? 2 : 4;
    double minBytes = (double)(sizes.groups / d) * config.experts *
                      sizes.capacity * config.modelDim * elementBytes;
    double layers = b.moeLayers;
    double count = b.allToAllCount / layers;
    outs() << llvm::formatv(
        "{0,7} {1,5} {2,10} {3,10} {4,11} {5,11} {6,11} {7,11} {8,11} "
        "{9,6:P0} {10,9:P0} {11,9:P0}\n",
        d, llvm::formatv("{0:F1}", count).str(),
        llvm::formatv("{0:F2}",
                      b.allToAllOperandBytes / layers / count / (1 << 20))
            .str(),
        llvm::formatv("{0:F2}", minBytes / (1 << 20)).str(),
        us(b.allToAllSeconds / layers), us(b.allReduceSeconds),
        us(b.expertSeconds / layers),
        us((b.allToAllSeconds + b.dispatchCombineComputeSeconds) / layers),
        us(b.moeSeconds / layers), b.allToAllSeconds / b.moeSeconds,
        (b.allToAllSeconds + b.dispatchCombineComputeSeconds) / b.moeSeconds,
        (b.allToAllSeconds + b.dispatchCombineComputeSeconds) /
            (b.allToAllSeconds + b.dispatchCombineComputeSeconds +
             b.expertSeconds));
    rows.push_back(std::move(b));
  }
  outs() << "\n(per MoE layer, forward: a2a = all-to-alls inserted, each of "
            "'MiB each' per device, min = the analytic minimum 2*S*M elements "
            "(two of them); all-reduce = every weight-gradient all-reduce of "
            "the 2-layer program; experts = the experts' FFN; disp+comb = "
            "all-to-alls + the dispatch and combine einsums; MoE layer = "
            "everything in it, gating and layer norm included; shares of the "
            "MoE layer time: a2a, disp+comb; no gating: disp+comb / "
            "(disp+comb + experts))\n";
  if (!rows.empty()) {
    const Breakdown &last = rows.back();
    outs() << "\ncollectives the partitioner inserted in the MoE layer at "
           << last.devices << " devices:\n";
    for (const std::string &line : last.firstMoELayerCollectives)
      outs() << "  " << line << "\n";
    if (rows.size() > 1)
      outs() << llvm::formatv(
          "all-to-all time {0} -> {1} devices: x{2:F2} (sqrt of the device "
          "ratio: x{3:F2}); all-reduce: x{4:F2}\n",
          rows.front().devices, last.devices,
          last.allToAllSeconds / rows.front().allToAllSeconds,
          std::sqrt((double)last.devices / rows.front().devices),
          last.allReduceSeconds / rows.front().allReduceSeconds);
  }

  // Megatron MLP: the analytic minimum is one all-reduce of the [B, M]
  // output per block.
  outs() << "\n== Megatron MLP block (x bf16[4096,1024] replicated, w1 "
            "[1024,16384] split on columns, w2 [16384,1024] on rows) ==\n";
  outs() << llvm::formatv("{0,7} {1,12} {2,12} {3,12} {4,12} {5,12}\n",
                          "devices", "all-reduces", "MiB each", "min MiB",
                          "all-reduce", "step");
  for (int64_t d : devices) {
    bench::ModelConfig c;
    c.kind = bench::ModelKind::MegatronMlp;
    c.layers = 1;
    c.devices = d;
    c.batch = 4096;
    c.modelDim = 1024;
    c.hiddenDim = 16384;
    c.dtype = "bf16";
    Breakdown b;
    if (!analyze(c, "tpu-v3-" + std::to_string(d), b))
      return 1;
    // An all-reduce sends 2(N-1)/N of its operand.
    double operand =
        b.allReduceCount && d > 1
            ? b.allReduceBytes / b.allReduceCount * d / (2.0 * (d - 1))
            : 0;
    double minBytes = 4096.0 * 1024 * 2;
    outs() << llvm::formatv("{0,7} {1,12} {2,12} {3,12} {4,12} {5,12}\n", d,
                            b.allReduceCount,
                            llvm::formatv("{0:F2}", operand / (1 << 20)).str(),
                            llvm::formatv("{0:F2}", minBytes / (1 << 20)).str(),
                            us(b.allReduceSeconds), us(b.stepSeconds));
    std::map<std::string, int64_t> kinds;
    for (const sim::OpCost &op : b.report.ops)
      if (op.isCollective && op.opcode != "all-reduce")
        kinds[op.opcode] += op.count;
    for (auto &[kind, n] : kinds)
      outs() << "        also " << n << " " << kind << "\n";
  }

  if (no600b)
    return 0;
  outs() << "\n== 600B: 36 layers (18 MoE), 2048 experts, tpu-v3-2048 ==\n";
  bench::ModelConfig config = bench::ModelConfig::paper600B();
  Breakdown fwd, grads;
  if (!analyze(config, "tpu-v3-2048", fwd))
    return 1;
  config.weightGradients = true;
  if (!analyze(config, "tpu-v3-2048", grads))
    return 1;
  // Training ~ forward + backward: the backward does twice the forward's
  // matmul work and repeats both all-to-alls of every MoE layer (the
  // gradients of dispatch and combine); the replicated weights' gradients
  // are all-reduced once.
  double train =
      3 * fwd.computeSeconds + 2 * fwd.allToAllSeconds + grads.allReduceSeconds;
  outs() << "forward step (no overlap):     " << us(fwd.stepSeconds) << " ("
         << us(fwd.computeSeconds) << " compute, " << us(fwd.allToAllSeconds)
         << " in " << fwd.allToAllCount << " all-to-alls, "
         << mib(fwd.allToAllBytes) << " sent/device)\n";
  outs() << "weight-gradient all-reduces:   " << us(grads.allReduceSeconds)
         << " (" << grads.allReduceCount << " ops, "
         << mib(grads.allReduceBytes) << " sent/device)\n";
  outs() << "peak memory/device (forward):  " << mib(fwd.peakMemory) << "\n";
  outs() << llvm::formatv(
      "training step estimate:        {0:F3} s = 3 x compute + 2 x "
      "all-to-all + gradient all-reduce; paper: 1.39 s (ratio {1:F2})\n",
      train, train / 1.39);
  return 0;
}
