//===- Driver.h - The GSPMD propagation driver ------------------*- C++ -*-===//
//
// Internal: the state of one propagation run. ShardingPropagation.cpp holds
// the fixed-point loop and the rule-driven forward/backward steps;
// ControlFlow.cpp the data-flow edges (tuple, get-tuple-element, while,
// conditional, call, parameters, manual-conversion custom calls).
//
//===----------------------------------------------------------------------===//

#ifndef GSHARD_LIB_PROPAGATION_DRIVER_H
#define GSHARD_LIB_PROPAGATION_DRIVER_H

#include "ShardingUtils.h"
#include "gshard/Propagation/Propagation.h"

#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/SetVector.h"

#include <map>

namespace gshard::propagation {

class Driver {
public:
  Driver(mlir::ModuleOp module, const PropagationOptions &options,
         ShardingExplanations *explanations)
      : module(module), options(options), explanations(explanations) {}

  mlir::LogicalResult run();

  //===--- Sharding access ------------------------------------------------===//
  static ShardingAttr getSharding(mlir::Operation *op);
  void setSharding(mlir::Operation *op, ShardingAttr sharding, OriginKind kind,
                   mlir::Operation *source, llvm::StringRef rule);
  bool hasSharding(mlir::Operation *op) { return bool(getSharding(op)); }
  bool isPartitioned(mlir::Operation *op) {
    return isSpatiallyPartitioned(getSharding(op));
  }
  /// MaybeImproveInstructionSharding.
  bool maybeImprove(ShardingAttr sharding, mlir::Operation *op, bool mayCombine,
                    bool allowAggressive, OriginKind kind,
                    mlir::Operation *source, llvm::StringRef rule);
  /// MaybeImproveInstructionSubSharding (leaf `index` of a tuple result).
  bool maybeImproveSub(ShardingAttr sharding, mlir::Operation *op,
                       int64_t index, bool mayCombine, bool allowAggressive,
                       OriginKind kind, mlir::Operation *source,
                       llvm::StringRef rule);

  //===--- Graph queries --------------------------------------------------===//
  /// Users of op's result, excluding the hlo.return marking the root.
  llvm::SmallVector<mlir::Operation *> getUsers(mlir::Operation *op);
  bool isRoot(mlir::Operation *op);
  bool isEntryRoot(mlir::Operation *op);
  int64_t countNonRootUsers(mlir::Operation *op);
  hlo::ComputationOp lookupComputation(mlir::Attribute ref);
  hlo::ComputationOp parentComputation(mlir::Operation *op) {
    return op->getParentOfType<hlo::ComputationOp>();
  }
  const OpShardingRule &getRule(mlir::Operation *op);

  //===--- Steps ----------------------------------------------------------===//
  bool canPropagateAtLevel(mlir::Operation *op, int64_t aggressiveness);
  bool supportsSpatialPartitioning(mlir::Operation *op, bool allowToOutput,
                                   bool allowToParameters);
  bool inferFromOperands(mlir::Operation *op, int64_t aggressiveness);
  bool inferFromUsers(mlir::Operation *op, int64_t aggressiveness);
  std::optional<ShardingAttr> getShardingFromUser(mlir::Operation *op,
                                                  mlir::Operation *user,
                                                  int64_t aggressiveness);

  // Rule-driven steps (ShardingPropagation.cpp).
  bool inferWithRule(mlir::Operation *op, const OpShardingRule &rule,
                     int64_t aggressiveness, bool mayCombine);
  bool inferContraction(mlir::Operation *op, const OpShardingRule &rule,
                        bool mayCombine);
  bool inferConvolution(mlir::Operation *op, const OpShardingRule &rule,
                        bool mayCombine);
  std::optional<ShardingAttr> userShardingWithRule(mlir::Operation *op,
                                                   mlir::Operation *user,
                                                   const OpShardingRule &rule,
                                                   int64_t aggressiveness);
  std::optional<ShardingAttr> lookaheadUserSharding(mlir::Operation *op);

  // Data-flow edges (ControlFlow.cpp).
  bool isDataFlowOp(mlir::Operation *op);
  bool inferDataFlowFromOperands(mlir::Operation *op, int64_t aggressiveness,
                                 bool mayCombine);
  std::optional<ShardingAttr> dataFlowUserSharding(mlir::Operation *op,
                                                   mlir::Operation *user);
  void buildComputationMap();
  llvm::SmallVector<mlir::Operation *> getRelated(mlir::Operation *op);
  void
  propagateThroughComputations(mlir::Operation *op,
                               llvm::SetVector<mlir::Operation *> &changed);

  // shard_as / shard_like groups (ShardGroups.cpp).
  void collectShardGroups();
  bool syncShardGroups();

  // Sharding custom calls with unspecified dims (ShardingPropagation.cpp).
  bool refineUnspecifiedFromOperand(mlir::Operation *op);
  bool refineUnspecifiedFromUsers(mlir::Operation *op, int64_t aggressiveness);

  mlir::ModuleOp module;
  PropagationOptions options;
  ShardingExplanations *explanations;
  hlo::ComputationOp entry;
  llvm::DenseMap<mlir::Operation *, mlir::Operation *> computationMap;
  llvm::DenseSet<mlir::Operation *> provided;
  llvm::DenseMap<mlir::Operation *, llvm::SmallVector<int64_t>> unspecifiedDims;
  llvm::DenseMap<mlir::Operation *, OpShardingRule> ruleCache;
  llvm::StringMap<hlo::ComputationOp> computations;
  std::map<std::pair<int64_t, int64_t>, llvm::SmallVector<mlir::Operation *>>
      shardGroups;
  int64_t iteration = 0;
  int64_t currentAggressiveness = 0;
};

bool isCustomCall(mlir::Operation *op, llvm::StringRef target);

} // namespace gshard::propagation

#endif // GSHARD_LIB_PROPAGATION_DRIVER_H
