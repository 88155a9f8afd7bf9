//===- CostModel.h - Static cost model of partitioned programs --*- C++ -*-===//
//
// Part of gshard, under the Apache License v2.0.
//
// Estimates, without running it, what one step of an SPMD program costs on a
// simulated mesh (Mesh.h): per-op compute time by roofline, collective time
// from the algorithm on the torus, step time (without and with
// compute/communication overlap), bytes moved per device and the peak memory
// of a device from a liveness analysis of ENTRY. Formulas and limits:
// docs/cost-model.md.
//
//===----------------------------------------------------------------------===//

#ifndef GSHARD_SIM_COSTMODEL_H
#define GSHARD_SIM_COSTMODEL_H

#include "gshard/Sim/Mesh.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/raw_ostream.h"

#include <map>
#include <string>
#include <vector>

namespace gshard::sim {

//===----------------------------------------------------------------------===//
// Collective algorithms on the topology
//===----------------------------------------------------------------------===//

enum class CollectiveKind {
  AllReduce,
  AllGather,
  ReduceScatter,
  AllToAll,
  CollectivePermute,
  CollectiveBroadcast,
};
llvm::StringRef getCollectiveKindName(CollectiveKind kind);

struct CollectiveCost {
  double seconds = 0;
  /// Bytes each participating device sends.
  double bytesPerDevice = 0;
  /// e.g. "bidirectional ring over dims {0,1}", "bisection over dim 1".
  std::string algorithm;
};

/// Cost of one group of logical devices running collective `kind` on
/// `bytes` per device: the operand size (all-reduce, reduce-scatter,
/// all-to-all, broadcast) or the result size (all-gather).
CollectiveCost getGroupCollectiveCost(const Mesh &mesh, CollectiveKind kind,
                                      llvm::ArrayRef<int64_t> group,
                                      double bytes);

/// Cost of a collective-permute of `bytes` per sender, routed
/// dimension-ordered along shortest directions; `pairs` are (source,
/// target) logical devices. Link contention between pairs is counted.
CollectiveCost getPermuteCost(const Mesh &mesh,
                              llvm::ArrayRef<std::pair<int64_t, int64_t>> pairs,
                              double bytes);

//===----------------------------------------------------------------------===//
// Program cost
//===----------------------------------------------------------------------===//

/// One costed instruction (in ENTRY or, with a multiplicity, in a
/// computation it calls: while bodies count once per iteration).
struct OpCost {
  mlir::Operation *op = nullptr;
  std::string name;     // instruction name
  std::string opcode;   // HLO opcode
  std::string location; // file:line
  std::string computation;
  /// How often one step runs it (while trip counts multiplied in).
  double count = 1;
  /// Per execution:
  double flops = 0;
  double hbmBytes = 0;
  double seconds = 0;
  /// Collectives only.
  bool isCollective = false;
  CollectiveKind kind = CollectiveKind::AllReduce;
  double commBytes = 0; // sent per device
  int64_t groupSize = 0;
  int64_t numGroups = 0;
  std::string algorithm;
  /// The instruction a collective came from: metadata op_name, else the
  /// producer of its operand.
  std::string source;
  /// Start of the (first) execution in the serial schedule, seconds.
  double start = 0;
  double totalSeconds() const { return seconds * count; }
};

struct CostOptions {
  /// 0: the module header's num_partitions / replica_count, else inferred
  /// from the collectives' device ids (and, for partitions, the shardings),
  /// else 1.
  int64_t numPartitions = 0;
  int64_t numReplicas = 0;
  /// Trip count assumed for while loops without known_trip_count.
  int64_t defaultTripCount = 1;
};

struct CostReport {
  Mesh mesh;
  std::string meshSummary;
  std::string moduleName;
  int64_t numDevices = 0; // devices the program runs on
  int64_t meshDevices = 0;
  int64_t numReplicas = 1, numPartitions = 1;

  double flops = 0;    // per device per step
  double hbmBytes = 0; // per device per step
  double computeSeconds = 0;
  double commSeconds = 0;
  /// Serial schedule: every op after the previous one (no overlap).
  double stepSeconds = 0;
  /// Two streams (compute, collectives) ordered by data dependencies only:
  /// the lower bound with perfect overlap.
  double stepSecondsOverlapped = 0;
  struct KindTotals {
    int64_t count = 0; // executions per step
    double seconds = 0;
    double bytesPerDevice = 0;
  };
  std::map<std::string, KindTotals> collectives; // by HLO opcode
  double commBytesPerDevice = 0;

  /// Liveness of ENTRY, per device.
  int64_t parameterBytes = 0;
  int64_t outputBytes = 0;
  int64_t peakMemoryBytes = 0;
  std::string peakAt; // instruction at the peak
  int64_t hbmCapacity = 0;
  bool exceedsHbm = false;

  std::vector<OpCost> ops; // ENTRY order, called computations inline
  std::vector<std::string> notes;

  /// Ops sorted by total time (descending), at most `n`.
  std::vector<const OpCost *> getTopOps(size_t n) const;
};

/// Analyses `module` (a partitioned, per-device program). Fails (with
/// `error`) when the program needs more devices than the mesh has or has
/// no ENTRY computation.
bool analyzeCost(mlir::ModuleOp module, const Mesh &mesh,
                 const CostOptions &options, CostReport &report,
                 std::string &error);

/// Peak live bytes of one computation (parameters live throughout,
/// aliasing ops allocate nothing); exposed for tests.
int64_t getPeakMemory(mlir::Operation *computation, std::string *peakAt);

void printCostReportText(const CostReport &report, llvm::raw_ostream &os);
void printCostReportJson(const CostReport &report, llvm::raw_ostream &os);
/// Chrome/Perfetto trace-event JSON of the serial schedule.
void printCostTrace(const CostReport &report, llvm::raw_ostream &os);

} // namespace gshard::sim

#endif // GSHARD_SIM_COSTMODEL_H
