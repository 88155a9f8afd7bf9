//===- ShapeOps.cpp - Transpose and reshape -------------------------------===//
//
// A transpose permutes the tiling; a reshape keeps each device's data in
// place when the sharded dims split or merge compatibly and evenly
// (Sharding's reshapeSharding), otherwise the operand is resharded first.
//
//===----------------------------------------------------------------------===//

#include "Spmd.h"

using namespace mlir;

namespace gshard::spmd {

static LogicalResult partitionTranspose(Operation *op, Spmd &spmd) {
  auto transpose = cast<hlo::TransposeOp>(op);
  auto type = cast<RankedTensorType>(transpose.getType());
  ShardingAttr result =
      normalizeForTensor(getResultSharding(op), type.getRank());
  if (result.isManual())
    return partitionReplicated(op, spmd);
  ArrayRef<int64_t> perm = transpose.getDimensions();
  SmallVector<int64_t> inverse(perm.size());
  for (auto [i, p] : llvm::enumerate(perm))
    inverse[p] = i;
  ShardingAttr operandTarget =
      result.isTiled() ? transposeSharding(result, inverse) : result;
  Value operand = spmd.operand(transpose.getOperand(), operandTarget);
  Operation *clone = spmd.cloneWith(op, operand, getLocalType(type, result));
  spmd.set(op->getResult(0), {clone->getResult(0), result, type});
  return success();
}

static bool evenlyTiled(ShardingAttr s, RankedTensorType type) {
  if (!s.isTiled())
    return true;
  SmallVector<int64_t> tiles = getTilesPerDim(s, type.getRank());
  for (int64_t i = 0; i < type.getRank(); ++i)
    if (type.getDimSize(i) % tiles[i] != 0)
      return false;
  return true;
}

static LogicalResult partitionReshape(Operation *op, Spmd &spmd) {
  auto type = cast<RankedTensorType>(op->getResult(0).getType());
  auto operandType = cast<RankedTensorType>(op->getOperand(0).getType());
  ShardingAttr result =
      normalizeForTensor(getResultSharding(op), type.getRank());
  if (result.isManual() || isManualSubgroup(result))
    return partitionReplicated(op, spmd);
  ShardingAttr operandTarget = result;
  if (result.isTiled()) {
    FailureOr<ShardingAttr> source =
        reshapeSharding(result, type.getShape(), operandType.getShape());
    bool ok = succeeded(source) && evenlyTiled(result, type) &&
              evenlyTiled(*source, operandType);
    if (ok) {
      FailureOr<ShardingAttr> back =
          reshapeSharding(*source, operandType.getShape(), type.getShape());
      ok = succeeded(back) && sameSharding(type, *back, result);
    }
    if (!ok) {
      // Try keeping the operand's own sharding instead.
      PValue operand = spmd.get(op->getOperand(0));
      ShardingAttr own =
          normalizeForTensor(operand.sharding, operandType.getRank());
      FailureOr<ShardingAttr> forward =
          own.isTiled()
              ? reshapeSharding(own, operandType.getShape(), type.getShape())
              : FailureOr<ShardingAttr>(failure());
      if (succeeded(forward) && evenlyTiled(own, operandType) &&
          evenlyTiled(*forward, type)) {
        Value local = spmd.reshard(operand, own);
        Operation *clone =
            spmd.cloneWith(op, local, getLocalType(type, *forward));
        spmd.set(op->getResult(0), {clone->getResult(0), *forward, type});
        return success();
      }
      return partitionReplicated(op, spmd,
                                 "the reshape moves data between devices");
    }
    operandTarget = *source;
  }
  Value operand = spmd.operand(op->getOperand(0), operandTarget);
  Operation *clone = spmd.cloneWith(op, operand, getLocalType(type, result));
  spmd.set(op->getResult(0), {clone->getResult(0), result, type});
  return success();
}

void registerShapeHandlers(HandlerMap &map) {
  map["hlo.transpose"] = partitionTranspose;
  map["hlo.reshape"] = partitionReshape;
  map["hlo.bitcast"] = partitionReshape;
}

} // namespace gshard::spmd
