//===- CustomCall.cpp - Sharding and SPMD shape custom-calls --------------===//
//
//   * `Sharding`: an identity that fixes its result's sharding: the operand
//     is resharded to it.
//   * `SPMDFullToShardShape`: enters a manual region: the result (the shard
//     shape) is the operand's local shard.
//   * `SPMDShardToFullShape`: leaves it: the local (manual) value becomes
//     the local shard of the full-shape result under its sharding.
//
// Other custom-calls run replicated (with a warning).
//
//===----------------------------------------------------------------------===//

#include "Spmd.h"

using namespace mlir;

namespace gshard::spmd {

static LogicalResult partitionCustomCall(Operation *op, Spmd &spmd) {
  auto call = cast<hlo::CustomCallOp>(op);
  StringRef target = call.getCustomCallTarget();
  Type type = op->getResult(0).getType();
  ShardingAttr result = getResultSharding(op);
  if (target == "Sharding" && op->getNumOperands() == 1) {
    Value local = spmd.operand(op->getOperand(0), result);
    spmd.set(op->getResult(0), {local, result, type});
    return success();
  }
  if (target == "SPMDFullToShardShape" && op->getNumOperands() == 1) {
    PValue operand = spmd.get(op->getOperand(0));
    Type expected = getLocalType(type, result);
    if (operand.local.getType() != expected) {
      auto a = dyn_cast<RankedTensorType>(operand.local.getType());
      auto b = dyn_cast<RankedTensorType>(expected);
      if (!a || !b || a.getShape() != b.getShape())
        return op->emitError("SPMDFullToShardShape: the operand's shard ")
               << operand.local.getType() << " does not have the shape "
               << expected << " of the manual result";
    }
    spmd.set(op->getResult(0), {operand.local, result, type});
    return success();
  }
  if (target == "SPMDShardToFullShape" && op->getNumOperands() == 1) {
    PValue operand = spmd.get(op->getOperand(0));
    Type expected = getLocalType(type, result);
    auto a = dyn_cast<RankedTensorType>(operand.local.getType());
    auto b = dyn_cast<RankedTensorType>(expected);
    if (!a || !b || a.getShape() != b.getShape())
      return op->emitError("SPMDShardToFullShape: the manual value ")
             << operand.local.getType() << " is not the shard " << expected
             << " of the result's sharding";
    spmd.set(op->getResult(0), {operand.local, result, type});
    return success();
  }
  return partitionReplicated(op, spmd,
                             ("custom-call target '" + target + "'").str());
}

void registerCustomCallHandlers(HandlerMap &map) {
  map["hlo.custom_call"] = partitionCustomCall;
}

} // namespace gshard::spmd
