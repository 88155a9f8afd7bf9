//===- Propagation.h - Sharding propagation API -----------------*- C++ -*-===//
//
// The C++ entry points of sharding propagation: the options (the same as
// the `gshard-propagate` pass options), the driver, and the explanations it
// records for every sharding it assigns.
//
//===----------------------------------------------------------------------===//

#ifndef GSHARD_PROPAGATION_PROPAGATION_H
#define GSHARD_PROPAGATION_PROPAGATION_H

#include "gshard/IR/HloOps.h"
#include "gshard/Propagation/OpShardingRule.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Pass/Pass.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/Support/raw_ostream.h"

#include <memory>
#include <string>
#include <vector>

#include "gshard/Propagation/ShardingRuleInterface.h.inc"

namespace gshard {

#define GEN_PASS_DECL
#include "gshard/Propagation/Passes.h.inc"

/// Options of XLA's ShardingPropagation pass.
struct PropagationOptions {
  bool isSpmd = true;
  bool propagateMetadata = false;
  /// One entry for all outputs, or one per element of the root tuple.
  llvm::SmallVector<bool> allowToOutput = {false};
  /// One entry for all parameters, or one per parameter (or per element of
  /// a single tuple parameter).
  llvm::SmallVector<bool> allowToParameters = {false};
  bool csePreventionOnly = false;
};

/// Parses `true;false`, `{true,false}` or `1,0` into `values`.
mlir::LogicalResult parseBoolList(llvm::StringRef text,
                                  llvm::SmallVectorImpl<bool> &values);

/// How a sharding reached an instruction.
enum class OriginKind : uint8_t {
  /// Written by the user (kept fixed).
  Annotation,
  /// From an operand (forward pass).
  Forward,
  /// From a user (backward pass).
  Backward,
  /// Copied along a while/conditional/call edge.
  ComputationEdge,
  /// From a member of its shard_as / shard_like group.
  ShardGroup,
  /// A user annotation's unspecified dims refined from a neighbour.
  Refinement,
  /// Reset by the output/parameter rules (not evenly divisible, ...).
  Reset,
};

/// One step of an explanation: `op` got its sharding from `source`.
struct ShardingOrigin {
  OriginKind kind = OriginKind::Annotation;
  mlir::Operation *source = nullptr;
  /// The rule family that moved it ("elementwise", "dot", "while", ...).
  std::string rule;
  int64_t iteration = 0;
  int64_t aggressiveness = 0;
};

/// Where each sharding came from, filled by propagateShardings.
class ShardingExplanations {
public:
  void record(mlir::Operation *op, ShardingOrigin origin) {
    origins[op] = std::move(origin);
  }
  const ShardingOrigin *lookup(mlir::Operation *op) const {
    auto it = origins.find(op);
    return it == origins.end() ? nullptr : &it->second;
  }
  /// Prints the chain from `op` back to the annotations it derives from.
  void explain(mlir::Operation *op, llvm::raw_ostream &os) const;

private:
  llvm::DenseMap<mlir::Operation *, ShardingOrigin> origins;
};

/// Runs propagation on `module`. Returns failure (with a diagnostic) on
/// inputs it cannot handle; `explanations` may be null.
mlir::LogicalResult propagateShardings(mlir::ModuleOp module,
                                       const PropagationOptions &options,
                                       ShardingExplanations *explanations);

/// The instruction named `name` (HLO instruction name, without `%`) in any
/// computation of `module`, or null.
mlir::Operation *findInstruction(mlir::ModuleOp module, llvm::StringRef name);

/// Prints `--explain=NAME` output for `name`; failure if there is no such
/// instruction.
mlir::LogicalResult explainSharding(mlir::ModuleOp module,
                                    const ShardingExplanations &explanations,
                                    llvm::StringRef name,
                                    llvm::raw_ostream &os);

/// Attaches the ShardingRuleOpInterface external models to the hlo ops.
void registerShardingRuleExternalModels(mlir::DialectRegistry &registry);

/// The sharding rule of `op`: through the interface when attached, else an
/// invalid rule.
OpShardingRule getShardingRule(mlir::Operation *op);

#define GEN_PASS_REGISTRATION
#include "gshard/Propagation/Passes.h.inc"

} // namespace gshard

#endif // GSHARD_PROPAGATION_PROPAGATION_H
