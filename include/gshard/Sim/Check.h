//===- Check.h - Differential checking of partitioned programs --*- C++ -*-===//
//
// Part of gshard, under the Apache License v2.0.
//
// The pieces of `gshard-sim --check`: deterministic random inputs for an
// ENTRY computation, splitting a global value into a device's shard by a
// sharding (uneven shards padded with garbage), reassembling per-device
// outputs, and comparing with documented tolerances.
//
//===----------------------------------------------------------------------===//

#ifndef GSHARD_SIM_CHECK_H
#define GSHARD_SIM_CHECK_H

#include "gshard/IR/HloOps.h"
#include "gshard/Sim/Literal.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LogicalResult.h"

#include <optional>
#include <string>
#include <vector>

namespace llvm {
class SourceMgr;
} // namespace llvm

namespace gshard::sim {

struct Tolerance {
  double rtol = 0;
  double atol = 0;
};

/// Default float tolerance of an element kind (see docs/simulator.md):
/// f64 1e-12/1e-12, f32 1e-5/1e-5, f16 2e-3/1e-3, bf16 1e-2/1e-2,
/// 8-bit floats 0.25/0.1; integers and pred compare exactly.
Tolerance getDefaultTolerance(ElemKind kind);

/// Deterministic random arguments for the parameters of `entry`: floats
/// uniform in [-1, 1), signed integers in [-10, 10), unsigned in [0, 10),
/// pred 50/50; integer parameters that feed gather/scatter/dynamic-slice
/// indices (through converts, reshapes, broadcasts) stay in range.
std::vector<LiteralRef> generateInputs(hlo::ComputationOp entry, uint64_t seed);

/// A random value of `type` (any HLO type) drawn from `seed` as
/// generateInputs draws a parameter that is not used as an index.
LiteralRef drawRandomValue(mlir::Type type, uint64_t seed);

/// The random value of one parameter as generateInputs draws it for device
/// 0; other devices get other values of the same kind (a manual parameter
/// holds each device's own value).
LiteralRef generateInput(hlo::ParameterOp param, uint64_t seed,
                         int64_t device = 0);

/// Reads the values of `entry`'s parameters from the `--inputs` file held
/// by `sourceMgr` (buffer `bufferId`): one `NAME = SHAPE LITERAL` statement
/// per parameter (format in lib/Sim/Inputs.cpp and docs/simulator.md).
/// Returns false with `file:line:col: error: ...` in `error`.
bool readInputs(const llvm::SourceMgr &sourceMgr, unsigned bufferId,
                hlo::ComputationOp entry, std::vector<LiteralRef> &values,
                std::string &error);

/// This device's shard of `global` under `sharding`, shaped like
/// `localType`. Tile offset = tile index * ceil(n / tiles); elements past
/// the global bound (uneven shards) get garbage. Returns null with `error`
/// if the local shape does not fit the sharding.
LiteralRef shardValue(const LiteralRef &global, hlo::ShardingAttr sharding,
                      mlir::Type localType, int64_t partition,
                      uint64_t garbageSeed, std::string &error);

/// Reassembles a global value of `globalType` from each partition's
/// local value (`perPartition[p]`) under `sharding`.
/// Manual leaves (and manual subgroups) are an error, unless `manualPaths`
/// is given: then each such leaf is partition 0's own value and its path
/// (as in LeafComparison::path) is appended, for the caller to compare
/// device by device (group by group). Null entries of `perPartition` are
/// skipped (one manual group's devices).
LiteralRef unshardValue(llvm::ArrayRef<LiteralRef> perPartition,
                        hlo::ShardingAttr sharding, mlir::Type globalType,
                        std::string &error,
                        std::vector<std::string> *manualPaths = nullptr);

/// Result of comparing one output leaf.
struct LeafComparison {
  std::string path;  // "0", "1.2" for nested tuples
  std::string shape; // f32[8,16]
  bool match = true;
  std::string note; // shape/type mismatch, replica disagreement
  int64_t numElements = 0;
  int64_t numMismatches = 0;
  llvm::SmallVector<int64_t> firstIndex;
  std::string expected, actual;
  double maxAbsError = 0;
  double maxRelError = 0;
  Tolerance tolerance;
  bool exact = false;
  /// Compared normwise (compareValues).
  bool normwise = false;
  /// A manual output, compared device by device (element counts are summed
  /// over the devices); `device` is the first device whose value differs
  /// (-1: none), which firstIndex/expected/actual describe.
  bool perDevice = false;
  int64_t device = -1;
  /// A manual-subgroup output, compared per manual group (reassembled from
  /// the group's tiles); `device` is the first device of the first group
  /// whose value differs.
  bool perManualGroup = false;
};

/// Compares `actual` against `expected` leaf by leaf. `rtol`/`atol`
/// override the per-type defaults for every float leaf. Elementwise, a float
/// element matches if |a - e| <= atol + rtol * |e|; `normwise` measures
/// every element against its leaf's largest magnitude instead:
/// |a - e| <= atol + rtol * max|e|, the usual bound for sums whose terms
/// cancel (a reassociated dot's small elements carry the rounding error of
/// its large partial sums).
std::vector<LeafComparison> compareValues(const Literal &expected,
                                          const Literal &actual,
                                          std::optional<double> rtol,
                                          std::optional<double> atol,
                                          bool normwise = false);

/// num_partitions of the module header, or 0.
int64_t getHeaderInt(mlir::ModuleOp module, llvm::StringRef key);
/// Largest device named by any sharding in the module, or -1.
int64_t getMaxShardingDevice(mlir::ModuleOp module);
/// True if the module contains collectives or SPMD custom-calls (so its
/// single-program semantics needs all devices).
bool needsAllDevices(mlir::ModuleOp module);

class Executable;

/// Options of runDifferentialCheck (`gshard-sim --check`'s flags).
struct DifferentialCheckOptions {
  /// 0: the partitioned module's num_partitions header, else the original's,
  /// else the largest device named by a sharding + 1.
  int64_t numPartitions = 0;
  /// 0: the partitioned module's replica_count header, else 1.
  int64_t numReplicas = 0;
  /// Seed of the random inputs and of `rng` instructions.
  uint64_t seed = 0;
  /// Override the per-type float tolerances (docs/simulator.md) for every
  /// output.
  std::optional<double> rtol, atol;
  /// Compare float outputs normwise (compareValues).
  bool normwise = false;
  /// A while loop running longer than this is an error, not a hang.
  int64_t maxWhileIterations = 10000000;
  /// Programs with a value larger than this are rejected up front.
  int64_t maxValueBytes = int64_t(3072) << 20;
  /// Values of the original ENTRY's parameters; random (from `seed`) if
  /// absent.
  std::optional<std::vector<LiteralRef>> inputs;
  /// Custom-call targets run as opaque pure functions of their operands
  /// (ExecOptions::opaqueCustomCalls).
  std::vector<std::string> opaqueCustomCalls;
};

/// The outcome of a differential check that ran.
struct DifferentialCheckResult {
  /// Every output matches within tolerance (and replicated outputs agree
  /// across devices).
  bool match = false;
  int64_t numPartitions = 0;
  int64_t numReplicas = 0;
  /// The original ran on every device (it has collectives, SPMD
  /// custom-calls or manual parameters/outputs) rather than on one.
  bool originalOnAllDevices = false;
  /// Wall time of the partitioned run.
  double partitionedSeconds = 0;
  /// One entry per output leaf (tuple elements flattened).
  std::vector<LeafComparison> outputs;
  /// Set when the partitioned program did not run to completion (deadlock,
  /// mismatched collectives, runaway loop); `match` is false then.
  std::string runError;
};

/// Runs `original` on one device and `partitioned` on every device of the
/// mesh on the same inputs (sharded by the partitioned ENTRY's parameter
/// shardings, else the original's), reassembles the partitioned output by
/// its ROOT sharding and compares. Both executables must have passed
/// checkExecutable and share one MLIRContext. Manual outputs are per device:
/// the original then runs on every device (partition-id = d in its manual
/// parts; manual parameters hold a different random value per device) and
/// device d's output is compared with device d's. A mismatch is a result with
/// `match == false`; failure (with `error`) means the check could not run:
/// parameter lists that differ, the original failing, a parameter or output
/// that does not fit its sharding.
mlir::FailureOr<DifferentialCheckResult>
runDifferentialCheck(const Executable &partitioned, const Executable &original,
                     const DifferentialCheckOptions &options,
                     std::string &error);

} // namespace gshard::sim

#endif // GSHARD_SIM_CHECK_H
