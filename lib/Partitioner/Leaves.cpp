//===- Leaves.cpp - Constant, iota, broadcast -----------------------------===//
//
// A constant is materialized whole and sliced to the local tile; an iota is
// built at the local shape plus this device's offset along the iota dim; a
// broadcast takes its operand with the result's tiling on the operand's
// dims and broadcasts locally.
//
//===----------------------------------------------------------------------===//

#include "Spmd.h"

using namespace mlir;

namespace gshard::spmd {

static LogicalResult partitionConstant(Operation *op, Spmd &spmd) {
  Operation *clone = spmd.cloneWith(op, {}, op->getResult(0).getType());
  spmd.set(op->getResult(0),
           {clone->getResult(0), ShardingAttr::getReplicated(op->getContext()),
            op->getResult(0).getType()});
  return success();
}

static LogicalResult partitionIota(Operation *op, Spmd &spmd) {
  auto iota = cast<hlo::IotaOp>(op);
  auto type = cast<RankedTensorType>(iota.getType());
  ShardingAttr result =
      normalizeForTensor(getResultSharding(op), type.getRank());
  if (!result.isTiled() || isManualSubgroup(result))
    return partitionConstant(op, spmd);
  auto localType = cast<RankedTensorType>(getLocalType(type, result));
  int64_t dim = iota.getIotaDimension();
  Value local = spmd.cloneWith(op, {}, localType)->getResult(0);
  SmallVector<int64_t> tiles = getTilesPerDim(result, type.getRank());
  if (tiles[dim] > 1) {
    Value offset = spmd.tileOffset(result, dim, type.getShape());
    offset = spmd.convert(offset, type.getElementType());
    local =
        spmd.binary("hlo.add", local, spmd.broadcastScalar(offset, localType));
  }
  spmd.set(op->getResult(0), {local, result, type});
  return success();
}

static LogicalResult partitionBroadcast(Operation *op, Spmd &spmd) {
  auto broadcast = cast<hlo::BroadcastOp>(op);
  auto type = cast<RankedTensorType>(broadcast.getType());
  auto operandType = cast<RankedTensorType>(broadcast.getOperand().getType());
  ShardingAttr result =
      normalizeForTensor(getResultSharding(op), type.getRank());
  if (result.isManual())
    return partitionReplicated(op, spmd);
  ArrayRef<int64_t> dims = broadcast.getDimensions();
  ShardingAttr operandTarget = result;
  if (result.isTiled()) {
    SmallVector<int64_t> others, toOperand(type.getRank(), -1);
    for (auto [i, d] : llvm::enumerate(dims))
      toOperand[d] = i;
    for (int64_t d = 0; d < type.getRank(); ++d)
      if (toOperand[d] < 0)
        others.push_back(d);
    ShardingAttr partial = replicateOnDims(result, others);
    operandTarget = partial.isTiled()
                        ? mapDims(partial, toOperand, operandType.getRank())
                        : partial;
  }
  Value operand = spmd.operand(broadcast.getOperand(), operandTarget);
  Operation *clone = spmd.cloneWith(op, operand, getLocalType(type, result));
  spmd.set(op->getResult(0), {clone->getResult(0), result, type});
  return success();
}

void registerLeafHandlers(HandlerMap &map) {
  map["hlo.constant"] = partitionConstant;
  map["hlo.iota"] = partitionIota;
  map["hlo.broadcast"] = partitionBroadcast;
}

} // namespace gshard::spmd
