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

/// Groups of a reshape: dims whose products agree, walked like
/// reshapeSharding walks them. Unit dims form their own group (they cannot
/// hold tiles, so a tiled unit dim is always resharded away).
struct ReshapeGroups {
  SmallVector<int64_t> source, target; // group id per dim
  int64_t count = 0;
};

static ReshapeGroups getReshapeGroups(ArrayRef<int64_t> source,
                                      ArrayRef<int64_t> target) {
  ReshapeGroups g;
  g.source.assign(source.size(), -1);
  g.target.assign(target.size(), -1);
  for (auto [i, n] : llvm::enumerate(source))
    if (n == 1)
      g.source[i] = g.count++;
  for (auto [j, n] : llvm::enumerate(target))
    if (n == 1)
      g.target[j] = g.count++;
  size_t i = 0, j = 0;
  auto skipUnit = [](ArrayRef<int64_t> shape, size_t &k) {
    while (k < shape.size() && shape[k] == 1)
      ++k;
  };
  skipUnit(source, i);
  skipUnit(target, j);
  while (i < source.size() && j < target.size()) {
    int64_t id = g.count++;
    int64_t ps = source[i], pd = target[j];
    g.source[i++] = id;
    g.target[j++] = id;
    while (ps != pd) {
      if (ps < pd) {
        skipUnit(source, i);
        ps *= source[i];
        g.source[i++] = id;
      } else {
        skipUnit(target, j);
        pd *= target[j];
        g.target[j++] = id;
      }
    }
    skipUnit(source, i);
    skipUnit(target, j);
  }
  return g;
}

/// The sharding of the reshape's result when each device reshapes the tile
/// of `s` it holds, or failure when the tiles do not stay contiguous
/// (reshapeSharding, checked both ways). Uneven tiles are fine on dims that
/// map one to one: their padded local extent is the same on both sides.
static FailureOr<ShardingAttr>
mapThroughReshape(ShardingAttr s, RankedTensorType from, RankedTensorType to) {
  if (!s.isTiled())
    return s;
  FailureOr<ShardingAttr> mapped =
      reshapeSharding(s, from.getShape(), to.getShape());
  if (failed(mapped))
    return failure();
  FailureOr<ShardingAttr> back =
      reshapeSharding(*mapped, to.getShape(), from.getShape());
  if (failed(back) || !sameSharding(from, *back, s))
    return failure();
  auto elements = [](Type t) {
    return cast<RankedTensorType>(t).getNumElements();
  };
  if (elements(getLocalType(from, s)) != elements(getLocalType(to, *mapped)))
    return failure();
  return normalizeForTensor(*mapped, to.getRank());
}

/// `s` with the tiling of every group that cannot map through the reshape
/// moved to replication, so the other groups keep their tiles.
static ShardingAttr replicateUnmappableGroups(ShardingAttr s,
                                              ArrayRef<int64_t> groupOfDim,
                                              RankedTensorType from,
                                              RankedTensorType to) {
  if (!s.isTiled())
    return s;
  SmallVector<int64_t> tiles = getTilesPerDim(s, from.getRank());
  SmallVector<int64_t> drop;
  llvm::SmallDenseSet<int64_t> checked;
  for (auto [d, group] : llvm::enumerate(groupOfDim)) {
    if (tiles[d] == 1 || !checked.insert(group).second)
      continue;
    SmallVector<int64_t> keep;
    for (auto [e, other] : llvm::enumerate(groupOfDim))
      if (other == group)
        keep.push_back(e);
    ShardingAttr alone = replicateAllDimsExcept(s, keep);
    if (failed(mapThroughReshape(alone, from, to)))
      drop.append(keep);
  }
  return drop.empty() ? s : replicateOnDims(s, drop);
}

/// Bytes moved to reshard `type` from `from` to `to`: reshardCost, except
/// that coarsening a tiling (all-gathers along some dims) is counted as the
/// target's local size, not twice it, so that gathering only some dims costs
/// less than gathering everything (which reshardCost counts as the global
/// size).
static double moveCost(ShardingAttr from, ShardingAttr to,
                       RankedTensorType type) {
  if (from.isTiled() && to.isTiled() && !sameSharding(type, from, to)) {
    SmallVector<int64_t> ft = getTilesPerDim(from, type.getRank());
    SmallVector<int64_t> tt = getTilesPerDim(to, type.getRank());
    bool coarsens = true;
    for (auto [f, t] : llvm::zip(ft, tt))
      coarsens &= f % t == 0;
    if (coarsens)
      return getByteSize(getLocalType(type, to));
  }
  return reshardCost(from, to, type);
}

/// A reshape is done locally on some operand sharding that maps through it
/// (the operand resharded there first, the result resharded from the mapped
/// sharding by the driver). Candidates: the result's sharding mapped back,
/// the operand's own sharding, and both with the groups of dims that cannot
/// map replicated (only those are gathered). The cheapest by bytes moved
/// wins; the replicated fallback only when nothing maps or it is cheaper.
static LogicalResult partitionReshape(Operation *op, Spmd &spmd) {
  auto type = cast<RankedTensorType>(op->getResult(0).getType());
  auto operandType = cast<RankedTensorType>(op->getOperand(0).getType());
  ShardingAttr result =
      normalizeForTensor(getResultSharding(op), type.getRank());
  if (result.isManual() || isManualSubgroup(result))
    return partitionReplicated(op, spmd);
  if (!result.isTiled()) {
    // Whole values (replicated or on one device) on both sides.
    Value operand = spmd.operand(op->getOperand(0), result);
    Operation *clone = spmd.cloneWith(op, operand, getLocalType(type, result));
    spmd.set(op->getResult(0), {clone->getResult(0), result, type});
    return success();
  }
  PValue operand = spmd.get(op->getOperand(0));
  ShardingAttr own =
      normalizeForTensor(operand.sharding, operandType.getRank());
  ReshapeGroups groups =
      getReshapeGroups(operandType.getShape(), type.getShape());

  SmallVector<ShardingAttr> candidates;
  FailureOr<ShardingAttr> back = mapThroughReshape(result, type, operandType);
  if (succeeded(back))
    candidates.push_back(*back);
  ShardingAttr partial =
      replicateUnmappableGroups(result, groups.target, type, operandType);
  FailureOr<ShardingAttr> partialBack =
      mapThroughReshape(partial, type, operandType);
  if (succeeded(partialBack))
    candidates.push_back(*partialBack);
  if (own.isTiled() && !isManualSubgroup(own)) {
    candidates.push_back(own);
    candidates.push_back(
        replicateUnmappableGroups(own, groups.source, operandType, type));
  }
  // Reshaping whole values costs nothing more when the operand already is
  // whole on every device.
  if (isFullyReplicated(own))
    candidates.push_back(own);

  ShardingAttr bestSource, bestResult;
  double bestCost = 0;
  for (ShardingAttr source : candidates) {
    FailureOr<ShardingAttr> mapped =
        mapThroughReshape(source, operandType, type);
    if (failed(mapped) || isManualSubgroup(*mapped))
      continue;
    double cost =
        moveCost(own, source, operandType) + moveCost(*mapped, result, type);
    if (!bestSource || cost < bestCost) {
      bestSource = source;
      bestResult = *mapped;
      bestCost = cost;
    }
  }
  ShardingAttr replicated = ShardingAttr::getReplicated(op->getContext());
  double fallbackCost = moveCost(own, replicated, operandType) +
                        moveCost(replicated, result, type);
  // Gathering the whole operand is the replicated fallback, whichever
  // candidate led there: it keeps its warning.
  bool gathersAll =
      bestSource && !bestSource.isTiled() && !isFullyReplicated(own);
  if (!bestSource || gathersAll ||
      (bestSource.isTiled() && fallbackCost < bestCost))
    return partitionReplicated(op, spmd,
                               "the reshape moves data between devices");
  Value local = spmd.reshard(operand, bestSource);
  Operation *clone = spmd.cloneWith(op, local, getLocalType(type, bestResult));
  spmd.set(op->getResult(0), {clone->getResult(0), bestResult, type});
  return success();
}

void registerShapeHandlers(HandlerMap &map) {
  map["hlo.transpose"] = partitionTranspose;
  map["hlo.reshape"] = partitionReshape;
  map["hlo.bitcast"] = partitionReshape;
}

} // namespace gshard::spmd
