//===- ShardingUtils.cpp - Sharding arithmetic of propagation -------------===//

#include "ShardingUtils.h"

#include "mlir/IR/BuiltinTypes.h"

using namespace mlir;

namespace gshard::propagation {

bool isSpatiallyPartitioned(ShardingAttr s) {
  if (!s)
    return false;
  if (s.isTuple())
    return llvm::any_of(s.getTupleElements(), isSpatiallyPartitioned);
  return !s.isMaximal();
}

ShardingAttr projectSharding(ShardingAttr s, const OpShardingRule &rule,
                             ArrayRef<int64_t> from, ArrayRef<int64_t> to) {
  if (!s || !s.isTiled())
    return s;
  int64_t dataRank = getTiledDataRank(s);
  if (dataRank != static_cast<int64_t>(from.size()))
    return ShardingAttr();
  SmallVector<int64_t> srcToDst = mapDimsThroughFactors(rule, from, to);
  SmallVector<int64_t> dropped;
  for (int64_t d = 0; d < dataRank; ++d)
    if (srcToDst[d] < 0)
      dropped.push_back(d);
  ShardingAttr partial = dropped.empty() ? s : replicateOnDims(s, dropped);
  if (!partial || !partial.isTiled())
    return partial ? replicateAllDataDims(partial, to.size()) : partial;
  TileAssignment ta = getTileAssignment(partial);
  SmallVector<int64_t> perm, dims;
  for (int64_t j = 0, e = to.size(); j < e; ++j) {
    int64_t src = -1;
    for (int64_t d = 0; d < dataRank; ++d)
      if (srcToDst[d] == j)
        src = d;
    if (src >= 0) {
      perm.push_back(src);
      dims.push_back(ta.getDim(src));
    } else {
      dims.push_back(1);
    }
  }
  for (int64_t d = dataRank; d < ta.getRank(); ++d) {
    perm.push_back(d);
    dims.push_back(ta.getDim(d));
  }
  for (int64_t d = 0; d < dataRank; ++d)
    if (!llvm::is_contained(perm, d))
      perm.push_back(d);
  TileAssignment result = ta.transpose(perm).reshape(dims);
  SmallVector<SubgroupKind> kinds;
  for (const SubgroupDim &sub : getSubgroupDims(partial))
    kinds.push_back(sub.kind);
  return getSubgroupSharding(s.getContext(), result, kinds, partial);
}

/// A size-1 dim tiled k ways holds data in one tile only; like XLA's
/// ReshapeSharding, its tiles join the replication by reshaping the tile
/// assignment (the flat device order is kept). O(rank) for iota.
static ShardingAttr untileUnitDims(ShardingAttr s,
                                   ArrayRef<int64_t> sourceShape) {
  int64_t dataRank = getTiledDataRank(s);
  if (dataRank != static_cast<int64_t>(sourceShape.size()) ||
      !s.getLastTileDims().empty())
    return s;
  TileAssignment ta = getTileAssignment(s);
  SmallVector<int64_t> dims(ta.getDims().take_front(dataRank));
  int64_t moved = 1;
  for (int64_t d = 0; d < dataRank; ++d) {
    if (sourceShape[d] == 1 && dims[d] > 1) {
      moved *= dims[d];
      dims[d] = 1;
    }
  }
  if (moved == 1)
    return s;
  int64_t replicas =
      s.getReplicateOnLastTileDim() ? ta.getDim(ta.getRank() - 1) : 1;
  dims.push_back(replicas * moved);
  return getPartialTileSharding(s.getContext(), ta.reshape(dims), s);
}

/// When dim `dim`'s tiling cannot cross the reshape whole, the largest
/// major part of it that can (the minor part joins the replication):
/// `[6,4,5]` tiled `[6,2,1]` reshaped to `[2,4,3,5]` keeps 2 of the 6 tiles
/// of dim 0. Only the tile assignment is reshaped (O(rank) for iota).
static std::optional<ShardingAttr>
reshapeMajorPart(ShardingAttr s, int64_t dim, ArrayRef<int64_t> sourceShape,
                 ArrayRef<int64_t> targetShape) {
  ShardingAttr partial = replicateAllDimsExcept(s, {dim});
  if (!partial || !partial.isTiled() || !partial.getLastTileDims().empty())
    return std::nullopt;
  int64_t dataRank = getTiledDataRank(partial);
  TileAssignment ta = getTileAssignment(partial);
  int64_t tiles = ta.getDim(dim);
  int64_t replicas =
      partial.getReplicateOnLastTileDim() ? ta.getDim(ta.getRank() - 1) : 1;
  for (int64_t major = tiles - 1; major > 1; --major) {
    if (tiles % major != 0)
      continue;
    // Data dims other than `dim` have one tile, so the flat device order is
    // [tiles, replicas] = [major, tiles / major * replicas].
    SmallVector<int64_t> dims(dataRank, 1);
    dims[dim] = major;
    dims.push_back(tiles / major * replicas);
    ShardingAttr candidate =
        getPartialTileSharding(s.getContext(), ta.reshape(dims), partial);
    FailureOr<ShardingAttr> reshaped =
        reshapeSharding(candidate, sourceShape, targetShape);
    if (succeeded(reshaped) && *reshaped && reshaped->isTiled() &&
        getNumTiles(*reshaped) > 1)
      return *reshaped;
  }
  return std::nullopt;
}

ShardingAttr propagateThroughReshape(ShardingAttr s,
                                     ArrayRef<int64_t> sourceShape,
                                     ArrayRef<int64_t> targetShape) {
  if (!s || !s.isTiled())
    return s;
  MLIRContext *context = s.getContext();
  s = untileUnitDims(s, sourceShape);
  if (!s.isTiled())
    return replicateAllDataDims(s, targetShape.size());
  ShardingAttr result = replicateAllDataDims(s, targetShape.size());
  int64_t rank = sourceShape.size();
  int64_t start = 0;
  while (start < rank) {
    bool found = false;
    for (int64_t end = rank; end > start; --end) {
      SmallVector<int64_t> keep;
      for (int64_t d = start; d < end; ++d)
        keep.push_back(d);
      ShardingAttr partial = replicateAllDimsExcept(s, keep);
      if (!partial || !partial.isTiled() || getNumTiles(partial) == 1)
        continue;
      FailureOr<ShardingAttr> reshaped =
          reshapeSharding(partial, sourceShape, targetShape);
      if (failed(reshaped) || !*reshaped || getNumTiles(*reshaped) == 1)
        continue;
      std::optional<ShardingAttr> merged =
          mergeShardingIfCompatible(*reshaped, result, getNumTiles(result) + 1);
      if (merged) {
        result = *merged;
        start = end;
        found = true;
        break;
      }
    }
    if (!found) {
      if (std::optional<ShardingAttr> major =
              reshapeMajorPart(s, start, sourceShape, targetShape)) {
        if (std::optional<ShardingAttr> merged = mergeShardingIfCompatible(
                *major, result, getNumTiles(result) + 1))
          result = *merged;
      }
      ++start;
    }
  }
  (void)context;
  return result;
}

/// isSubTilingOrEqual when every dim divides evenly into `sub`'s tiles: the
/// tiles of `s` must then be unions of aligned tiles of `sub`, so `sub`
/// coarsened to `s`'s tile counts (the minor part of each dim's tiles joins
/// the replication) must equal `s`. Only reshapes and transposes the tile
/// assignment: O(rank) for iota. std::nullopt when it does not apply.
static std::optional<bool> isSubTilingByCoarsening(ArrayRef<int64_t> shape,
                                                   ShardingAttr sub,
                                                   ShardingAttr s) {
  if (!sub.isTiled() || !s.isTiled() || !sub.getLastTileDims().empty() ||
      !s.getLastTileDims().empty())
    return std::nullopt;
  int64_t rank = shape.size();
  SmallVector<int64_t> subTiles = getTilesPerDim(sub, rank);
  SmallVector<int64_t> tiles = getTilesPerDim(s, rank);
  for (int64_t d = 0; d < rank; ++d)
    if (shape[d] % subTiles[d] != 0)
      return std::nullopt;
  for (int64_t d = 0; d < rank; ++d)
    if (subTiles[d] % tiles[d] != 0)
      return false;
  TileAssignment ta = getTileAssignment(sub);
  int64_t replicas = sub.getReplicateOnLastTileDim() ? ta.getDim(rank) : 1;
  SmallVector<int64_t> split, perm, dims(tiles.begin(), tiles.end());
  int64_t minor = 1;
  for (int64_t d = 0; d < rank; ++d) {
    split.push_back(tiles[d]);
    split.push_back(subTiles[d] / tiles[d]);
    minor *= subTiles[d] / tiles[d];
    perm.push_back(2 * d);
  }
  for (int64_t d = 0; d < rank; ++d)
    perm.push_back(2 * d + 1);
  split.push_back(replicas);
  perm.push_back(2 * rank);
  dims.push_back(minor * replicas);
  TileAssignment coarse = ta.reshape(split).transpose(perm).reshape(dims);
  return shardingsEqual(getPartialTileSharding(s.getContext(), coarse), s);
}

bool isSubTilingOrEqual(ArrayRef<int64_t> shape, ShardingAttr sub,
                        ShardingAttr s) {
  if (isManual(sub) || isManual(s))
    return false;
  if (isTileMaximal(s))
    return true;
  if (isTileMaximal(sub))
    return false;
  if (getTiledDataRank(sub) != getTiledDataRank(s))
    return false;
  int64_t rank = getTiledDataRank(s);
  if (rank != static_cast<int64_t>(shape.size()))
    return false;
  // Equal shardings (the common case: a user proposes what is already
  // there) in O(rank) for iota; the device walk below is O(devices).
  if (shardingsEqual(sub, s))
    return true;
  if (std::optional<bool> coarse = isSubTilingByCoarsening(shape, sub, s))
    return *coarse;
  SmallVector<int64_t> subTiles = getTilesPerDim(sub, rank);
  SmallVector<int64_t> tiles = getTilesPerDim(s, rank);
  SmallVector<int64_t> subBase, base;
  for (int64_t d = 0; d < rank; ++d) {
    subBase.push_back((shape[d] + subTiles[d] - 1) / subTiles[d]);
    base.push_back((shape[d] + tiles[d] - 1) / tiles[d]);
    if (subBase[d] > base[d])
      return false;
  }
  for (int64_t device : getTileAssignment(sub).materialize()) {
    auto subIndex = getTileIndex(sub, device);
    auto index = getTileIndex(s, device);
    if (!subIndex || !index)
      return false;
    for (int64_t d = 0; d < rank; ++d) {
      int64_t subOffset = (*subIndex)[d] * subBase[d];
      int64_t offset = (*index)[d] * base[d];
      if (subOffset < offset)
        return false;
      bool isLast = subOffset + subBase[d] >= shape[d];
      if (!isLast && subOffset + subBase[d] > offset + base[d])
        return false;
    }
  }
  return true;
}

/// XLA's IsShardingStrictlyBetter: manual over tile-maximal (tuples: no
/// leaf worse, one better).
static bool isStrictlyBetter(ShardingAttr lhs, ShardingAttr rhs) {
  if (lhs.isTuple() && rhs.isTuple()) {
    auto l = lhs.getTupleElements(), r = rhs.getTupleElements();
    if (l.size() != r.size())
      return false;
    bool better = false;
    for (auto [a, b] : llvm::zip(l, r)) {
      if (isStrictlyBetter(b, a))
        return false;
      better |= isStrictlyBetter(a, b);
    }
    return better;
  }
  return lhs.isManual() && isTileMaximal(rhs);
}

std::optional<ShardingAttr>
returnImprovedSharding(ShardingAttr from, ShardingAttr toImprove, Type type,
                       bool mayCombinePartial, bool allowAggressive) {
  if (!from)
    return std::nullopt;
  if (toImprove && isStrictlyBetter(from, toImprove))
    return from;
  if (!isSpatiallyPartitioned(from))
    return std::nullopt;
  if (!toImprove)
    return from;
  if (from.isManual())
    return std::nullopt;
  if (from.isTuple() != toImprove.isTuple())
    return std::nullopt;
  int64_t tiles = from.isTuple() ? 0 : getNumTiles(from);
  ShardingAttr merged = from;
  if (!mergeSharding(toImprove, merged, mayCombinePartial))
    return std::nullopt;
  auto tensor = dyn_cast<RankedTensorType>(type);
  if (!allowAggressive && tensor && !isTileMaximal(toImprove) &&
      !merged.isTuple() && getNumTiles(merged) == tiles &&
      !isSubTilingOrEqual(tensor.getShape(), merged, toImprove))
    return std::nullopt;
  return merged;
}

ShardingAttr replicateAllDataDims(ShardingAttr s, int64_t dataRank) {
  MLIRContext *context = s.getContext();
  if (!s.isTiled() || !isManualSubgroup(s)) {
    if (s.isManual())
      return s;
    return ShardingAttr::getReplicated(context);
  }
  std::optional<int64_t> manualDim = getManualDim(s);
  int64_t manualSize = manualDim ? s.getTileDims()[*manualDim] : 1;
  int64_t rank = dataRank < 0 ? getTiledDataRank(s) : dataRank;
  // Keep the manual groups: replicate the data dims, then view the tile
  // assignment as [1 x rank, manual, replicated].
  ShardingAttr partial =
      replicateAllDimsExcept(s, /*keepDims=*/ArrayRef<int64_t>());
  TileAssignment ta = getTileAssignment(partial);
  SmallVector<int64_t> perm, dims(rank, 1);
  std::optional<int64_t> newManual = getManualDim(partial);
  if (!newManual)
    return ShardingAttr::getReplicated(context);
  int64_t total = ta.getNumDevices();
  perm.push_back(*newManual);
  for (int64_t d = 0; d < ta.getRank(); ++d)
    if (d != *newManual)
      perm.push_back(d);
  dims.push_back(manualSize);
  dims.push_back(total / manualSize);
  TileAssignment result = ta.transpose(perm).reshape(dims);
  return getSubgroupSharding(
      context, result, {SubgroupKind::Manual, SubgroupKind::Replicated}, s);
}

SmallVector<ShardingAttr> getLeaves(ShardingAttr s, Type type) {
  int64_t count = getLeafCount(type);
  if (s.isTuple()) {
    SmallVector<ShardingAttr> leaves(s.getTupleElements());
    leaves.resize(count, ShardingAttr::getReplicated(s.getContext()));
    return leaves;
  }
  return SmallVector<ShardingAttr>(count, s);
}

ShardingAttr expandToTuple(ShardingAttr s, Type type) {
  if (!isa<TupleType>(type) || s.isTuple())
    return s;
  return ShardingAttr::getTuple(s.getContext(), getLeaves(s, type));
}

ShardingAttr replaceTupleElement(ShardingAttr whole, Type type, int64_t index,
                                 ShardingAttr element) {
  auto tuple = cast<TupleType>(type);
  SmallVector<ShardingAttr> leaves = getLeaves(whole, type);
  int64_t offset = 0;
  for (int64_t i = 0; i < index; ++i)
    offset += getLeafCount(tuple.getType(i));
  SmallVector<ShardingAttr> elementLeaves =
      getLeaves(element, tuple.getType(index));
  for (auto [i, leaf] : llvm::enumerate(elementLeaves))
    leaves[offset + i] = leaf;
  return ShardingAttr::getTuple(whole.getContext(), leaves);
}

bool evenlyPartitions(Type type, ShardingAttr s) {
  if (auto tuple = dyn_cast<TupleType>(type)) {
    SmallVector<ShardingAttr> leaves = getLeaves(s, type);
    SmallVector<Type> flat;
    tuple.getFlattenedTypes(flat);
    for (auto [leafType, leaf] : llvm::zip(flat, leaves))
      if (!evenlyPartitions(leafType, leaf))
        return false;
    return true;
  }
  if (!s.isTiled())
    return true;
  auto tensor = dyn_cast<RankedTensorType>(type);
  if (!tensor)
    return true;
  SmallVector<int64_t> tiles = getTilesPerDim(s, tensor.getRank());
  for (auto [size, t] : llvm::zip(tensor.getShape(), tiles))
    if (size % t != 0)
      return false;
  return true;
}

} // namespace gshard::propagation
