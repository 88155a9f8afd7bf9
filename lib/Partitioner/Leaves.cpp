//===- Leaves.cpp - Constant, iota, broadcast, rng ------------------------===//
//
// A constant is materialized whole and sliced to the local tile; an iota is
// built at the local shape plus this device's offset along the iota dim; a
// broadcast takes its operand with the result's tiling on the operand's
// dims and broadcasts locally. An rng draws different numbers on every
// device, so a value that several devices must hold alike is drawn on one of
// them and broadcast (XLA's HandleRng).
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

/// rng: every device draws from its own stream, so copies of one value must
/// come from one device. Replicated: drawn whole on device 0 and broadcast
/// (the driver reshards the maximal{0} result: select on partition-id == 0,
/// all-reduce). Tiled: each device draws its own tile; with partial
/// replication the first device of each replication group draws the tile
/// and the group all-reduces it. Maximal and manual results run as they
/// are (one device / user code, whose values are per device by definition).
static LogicalResult partitionRng(Operation *op, Spmd &spmd) {
  MLIRContext *context = op->getContext();
  auto type = dyn_cast<RankedTensorType>(op->getResult(0).getType());
  ShardingAttr result = getResultSharding(op);
  if (!type || result.isMaximal() || isManual(result))
    return partitionReplicated(op, spmd);
  result = normalizeForTensor(result, type.getRank());
  if (isManualSubgroup(result))
    return partitionReplicated(op, spmd);
  ShardingAttr replicated = ShardingAttr::getReplicated(context);
  SmallVector<Value> operands;
  for (Value operand : op->getOperands())
    operands.push_back(spmd.operand(operand, replicated));
  if (spmd.hadError)
    return failure();
  if (!result.isTiled()) {
    Operation *clone = spmd.cloneWith(op, operands, type);
    spmd.set(op->getResult(0),
             {clone->getResult(0), ShardingAttr::getMaximal(context, 0), type});
    return success();
  }
  auto localType = cast<RankedTensorType>(getLocalType(type, result));
  Value local = spmd.cloneWith(op, operands, localType)->getResult(0);
  if (std::optional<int64_t> replication = getReplicationDim(result)) {
    Value first =
        spmd.compare(spmd.tileIndex(result, *replication), spmd.constantI32(0),
                     hlo::ComparisonDirection::EQ);
    auto predType =
        RankedTensorType::get(localType.getShape(), spmd.builder.getI1Type());
    Value masked = spmd.select(spmd.broadcastScalar(first, predType), local,
                               spmd.zeros(localType));
    bool isPred = localType.getElementType().isInteger(1);
    local = spmd.allReduce(
        masked, getDeviceGroupsForDim(result, *replication),
        spmd.state.getReducer(isPred ? ReduceKind::Or : ReduceKind::Add,
                              localType.getElementType()),
        "rng tile drawn once per replication group");
  }
  spmd.set(op->getResult(0), {local, result, type});
  return success();
}

void registerLeafHandlers(HandlerMap &map) {
  map["hlo.constant"] = partitionConstant;
  map["hlo.iota"] = partitionIota;
  map["hlo.broadcast"] = partitionBroadcast;
  map["hlo.rng"] = partitionRng;
}

} // namespace gshard::spmd
