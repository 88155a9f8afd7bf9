//===- Partitioner.h - SPMD partitioner API ---------------------*- C++ -*-===//
//
// The C++ entry points of the SPMD partitioner (the `gshard-partition`
// pass): options, the driver, and the record of every collective it
// inserts (what `--explain-collectives` prints).
//
//===----------------------------------------------------------------------===//

#ifndef GSHARD_PARTITIONER_PARTITIONER_H
#define GSHARD_PARTITIONER_PARTITIONER_H

#include "gshard/IR/HloOps.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"
#include "llvm/Support/raw_ostream.h"

#include <memory>
#include <string>
#include <vector>

namespace gshard {

#define GEN_PASS_DECL
#include "gshard/Partitioner/Passes.h.inc"

struct PartitionOptions {
  /// Number of partitions; 0 takes the module's `num_partitions` header,
  /// else the largest device named by a sharding + 1.
  int64_t numPartitions = 0;
  /// Emit a warning (with location) for every op run replicated and every
  /// full rematerialization.
  bool warnOnReplication = true;
  /// A dot whose plan gathers an operand larger than this per device (MiB)
  /// streams it around a ring in a loop instead (windowed einsum); negative
  /// disables it. 256 is XLA's SpmdPartitionerOptions default.
  int64_t windowedEinsumThresholdMiB = 256;
};

/// One collective the partitioner inserted, and why.
struct CollectiveRecord {
  /// HLO opcode: all-reduce, all-gather, all-to-all, collective-permute,
  /// reduce-scatter.
  std::string kind;
  /// The instruction being partitioned when it was inserted.
  std::string instruction;
  /// Its location.
  mlir::Location loc;
  /// The sharding the value had and the one it needed (HLO syntax), or the
  /// reason for a partial-sum reduction.
  std::string fromSharding, toSharding;
  std::string reason;
  /// Bytes each participating device receives (the collective's local
  /// output size).
  int64_t bytesPerDevice = 0;
  /// The inserted op (valid until the module changes).
  mlir::Operation *op = nullptr;
};

/// Partitions `module` in place. Returns failure (with diagnostics) if some
/// instruction cannot be partitioned; `records` (if given) receives every
/// collective inserted.
mlir::LogicalResult partitionModule(mlir::ModuleOp module,
                                    const PartitionOptions &options,
                                    std::vector<CollectiveRecord> *records);

/// Prints `records` one per line:
///   `all-reduce dot.3 (f32[8,16]): 512 B/device: partial sums over ...`
void printCollectiveRecords(llvm::ArrayRef<CollectiveRecord> records,
                            llvm::raw_ostream &os);

/// Registers the `gshard-partition` pass.
void registerPartitionerPasses();

} // namespace gshard

#endif // GSHARD_PARTITIONER_PARTITIONER_H
