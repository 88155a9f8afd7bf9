//===- CustomCall.cpp - Sharding rules of known custom calls ----*- C++ -*-===//
//
// `Sharding` (an annotation point), `X64Combine`, `LayoutConstraint` and
// the host-offloading annotations pass shardings through pointwise. The
// manual-conversion calls `SPMDFullToShardShape`/`SPMDShardToFullShape`
// change the shape (global <-> per-shard) and are handled as data-flow
// edges by the driver (ShardingPropagation.cpp). The shard barriers
// `ShardBarrierFrom`/`ShardBarrierTo` are pointwise too, and the driver
// blocks one direction: nothing flows forward out of a ShardBarrierFrom, and
// a ShardBarrierTo only takes {replicated} from its users (SPMD only). Other
// custom calls are opaque: no rule.
//
//===----------------------------------------------------------------------===//

#include "Rules.h"

using namespace mlir;

namespace gshard::rules {

OpShardingRule buildCustomCallRule(Operation *op) {
  auto call = cast<hlo::CustomCallOp>(op);
  StringRef target = call.getCustomCallTarget();
  OpShardingRule rule;
  bool passThrough =
      llvm::is_contained({"Sharding", "X64Combine", "LayoutConstraint",
                          "ShardBarrierFrom", "ShardBarrierTo"},
                         target) ||
      (op->getNumOperands() == 1 &&
       llvm::is_contained({"MoveToHost", "MoveToDevice", "ResizeNearest",
                           "ResizeBilinear", "ResizeNearestGrad",
                           "ResizeBilinearGrad", "Cholesky"},
                          target) &&
       getShape(op->getOperand(0)).size() == getShape(op->getResult(0)).size());
  if (!passThrough || !isArray(op->getResult(0).getType()) ||
      op->getNumOperands() == 0)
    return rule;
  SmallVector<int64_t> shape = getShape(op->getResult(0));
  SmallVector<int64_t> ranks;
  for (Value operand : op->getOperands())
    ranks.push_back(getShape(operand).size());
  rule.initTensors(ranks, {static_cast<int64_t>(shape.size())});
  for (size_t i = 1; i < ranks.size(); ++i)
    rule.operandInvolved[i] = false;
  if (getShape(op->getOperand(0)) != shape)
    return OpShardingRule();
  rule.addPointwiseFactors(shape);
  rule.family = target == "ShardBarrierFrom" ? "shard-barrier-from"
                : target == "ShardBarrierTo" ? "shard-barrier-to"
                                             : "custom-call";
  rule.combine = OperandCombine::FirstOperand;
  rule.minAggressiveness = target == "Sharding" ? 0 : 1;
  rule.supportsNonSpmd = target == "Sharding";
  return rule;
}

} // namespace gshard::rules
