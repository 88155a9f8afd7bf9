//===- ShardingTransforms.cpp - Derived shardings -------------------------===//
//
// Shardings derived from others for propagation and partitioning: partial
// replication, transpose, reshape, tuple elements, merging.
//
//===----------------------------------------------------------------------===//

#include "gshard/Sharding/Sharding.h"

#include "DimProduct.h"

#include "llvm/ADT/STLExtras.h"

#include <numeric>

using namespace gshard;
using namespace gshard::hlo;
using llvm::ArrayRef;
using llvm::SmallVector;
using mlir::MLIRContext;

/// Rebuilds a tiled sharding from a tile assignment laid out as
/// [data..., manual?, replicated?], normalizing like XLA's constructors.
static ShardingAttr rebuild(MLIRContext *context, const TileAssignment &ta,
                            bool hasManual, bool hasReplicated,
                            ShardingAttr like) {
  SmallVector<SubgroupKind> kinds;
  if (hasManual)
    kinds.push_back(SubgroupKind::Manual);
  if (hasReplicated)
    kinds.push_back(SubgroupKind::Replicated);
  if (!hasManual && hasReplicated)
    return getPartialTileSharding(context, ta, like);
  return getSubgroupSharding(context, ta, kinds, like);
}

//===----------------------------------------------------------------------===//
// Partial replication
//===----------------------------------------------------------------------===//

ShardingAttr gshard::replicateOnDims(ShardingAttr s, ArrayRef<int64_t> dims) {
  if (!s.isTiled())
    return s;
  MLIRContext *context = s.getContext();
  TileAssignment ta = getTileAssignment(s);
  int64_t dataRank = getTiledDataRank(s);
  std::optional<int64_t> manualDim = getManualDim(s);
  std::optional<int64_t> replDim = getReplicationDim(s);
  SmallVector<int64_t> moved;
  for (int64_t d : dims)
    if (d >= 0 && d < dataRank && ta.getDim(d) > 1 &&
        !llvm::is_contained(moved, d))
      moved.push_back(d);
  if (moved.empty())
    return s;
  // Order [kept data..., manual, moved..., replicated], then reshape to
  // [data with moved set to 1..., manual, moved * replicated].
  SmallVector<int64_t> perm, newDims;
  int64_t replicated = 1;
  for (int64_t d = 0; d < dataRank; ++d) {
    if (llvm::is_contained(moved, d)) {
      newDims.push_back(1);
      replicated *= ta.getDim(d);
    } else {
      perm.push_back(d);
      newDims.push_back(ta.getDim(d));
    }
  }
  if (manualDim) {
    perm.push_back(*manualDim);
    newDims.push_back(ta.getDim(*manualDim));
  }
  perm.append(moved.begin(), moved.end());
  if (replDim) {
    perm.push_back(*replDim);
    replicated *= ta.getDim(*replDim);
  }
  newDims.push_back(replicated);
  TileAssignment result = ta.transpose(perm).reshape(newDims);
  return rebuild(context, result, manualDim.has_value(), true, s);
}

ShardingAttr gshard::replicateAllDimsExcept(ShardingAttr s,
                                            ArrayRef<int64_t> keepDims) {
  SmallVector<int64_t> dims;
  for (int64_t d = 0; d < getTiledDataRank(s); ++d)
    if (!llvm::is_contained(keepDims, d))
      dims.push_back(d);
  return replicateOnDims(s, dims);
}

//===----------------------------------------------------------------------===//
// Transpose and reshape
//===----------------------------------------------------------------------===//

ShardingAttr gshard::transposeSharding(ShardingAttr s,
                                       ArrayRef<int64_t> permutation) {
  if (!s.isTiled())
    return s;
  TileAssignment ta = getTileAssignment(s);
  SmallVector<int64_t> perm(permutation.begin(), permutation.end());
  for (int64_t d = perm.size(); d < ta.getRank(); ++d)
    perm.push_back(d);
  return getTiledSharding(s.getContext(), ta.transpose(perm),
                          s.getReplicateOnLastTileDim(), s.getLastTileDims(),
                          s);
}

mlir::FailureOr<ShardingAttr>
gshard::reshapeSharding(ShardingAttr s, ArrayRef<int64_t> sourceShape,
                        ArrayRef<int64_t> targetShape) {
  if (!s.isTiled())
    return s;
  int64_t dataRank = getTiledDataRank(s);
  if (dataRank != int64_t(sourceShape.size()) ||
      product(sourceShape) != product(targetShape))
    return mlir::failure();
  ArrayRef<int64_t> tiles = s.getTileDims().take_front(dataRank);
  // Non-unit dims with their tile counts; a unit dim cannot hold tiles.
  SmallVector<int64_t> src, srcTiles, dst, dstIndex;
  for (auto [n, k] : llvm::zip(sourceShape, tiles)) {
    if (n == 1) {
      if (k != 1)
        return mlir::failure();
      continue;
    }
    src.push_back(n);
    srcTiles.push_back(k);
  }
  for (auto [j, n] : llvm::enumerate(targetShape))
    if (n != 1) {
      dst.push_back(n);
      dstIndex.push_back(j);
    }
  SmallVector<int64_t> newTiles(targetShape.size(), 1);
  // Walk groups of dims whose products agree.
  size_t i = 0, j = 0;
  while (i < src.size() && j < dst.size()) {
    size_t i0 = i, j0 = j;
    int64_t ps = src[i++], pd = dst[j++];
    while (ps != pd) {
      if (ps < pd)
        ps *= src[i++];
      else
        pd *= dst[j++];
    }
    // One dim to one dim keeps its tiles, even uneven ones.
    if (i - i0 == 1 && j - j0 == 1) {
      newTiles[dstIndex[j0]] = srcTiles[i0];
      continue;
    }
    // Merge the source dims: every dim before the last tiled one must be
    // fully tiled (one element per tile), and tiles must be even.
    int64_t lastTiled = -1;
    for (size_t a = i0; a < i; ++a) {
      if (src[a] % srcTiles[a] != 0)
        return mlir::failure();
      if (srcTiles[a] > 1)
        lastTiled = a;
    }
    int64_t count = 1;
    for (int64_t a = i0; a <= lastTiled; ++a) {
      if (a < lastTiled && srcTiles[a] != src[a])
        return mlir::failure();
      count *= srcTiles[a];
    }
    // Split the merged tiles over the target dims, major first.
    for (size_t b = j0; b < j; ++b) {
      int64_t size = dst[b], k = 1;
      if (count == 1) {
        k = 1;
      } else if (size % count == 0) {
        k = count;
      } else if (count % size == 0) {
        k = size;
      } else {
        return mlir::failure();
      }
      count /= k;
      newTiles[dstIndex[b]] = k;
    }
    if (count != 1)
      return mlir::failure();
  }
  SmallVector<int64_t> newDims(newTiles.begin(), newTiles.end());
  for (int64_t d : s.getTileDims().drop_front(dataRank))
    newDims.push_back(d);
  TileAssignment ta = getTileAssignment(s).reshape(newDims);
  return getTiledSharding(s.getContext(), ta, s.getReplicateOnLastTileDim(),
                          s.getLastTileDims(), s);
}

//===----------------------------------------------------------------------===//
// Tuples
//===----------------------------------------------------------------------===//

int64_t gshard::getLeafCount(mlir::Type type) {
  auto tuple = llvm::dyn_cast<mlir::TupleType>(type);
  if (!tuple)
    return 1;
  int64_t count = 0;
  for (mlir::Type t : tuple.getTypes())
    count += getLeafCount(t);
  return count;
}

ShardingAttr gshard::getTupleElementSharding(ShardingAttr s,
                                             mlir::Type tupleType,
                                             int64_t index) {
  if (!s.isTuple())
    return s;
  auto tuple = llvm::cast<mlir::TupleType>(tupleType);
  int64_t offset = 0;
  for (int64_t i = 0; i < index; ++i)
    offset += getLeafCount(tuple.getType(i));
  mlir::Type element = tuple.getType(index);
  int64_t count = getLeafCount(element);
  ArrayRef<ShardingAttr> leaves = s.getTupleElements();
  if (offset + count > int64_t(leaves.size()))
    return {};
  if (!llvm::isa<mlir::TupleType>(element))
    return leaves[offset];
  return ShardingAttr::getTuple(s.getContext(), leaves.slice(offset, count));
}

//===----------------------------------------------------------------------===//
// Merging
//===----------------------------------------------------------------------===//

static bool isLeafMoreSpecific(ShardingAttr lhs, ShardingAttr rhs) {
  if (lhs.getKind() == ShardingKind::Unknown)
    return false;
  if (rhs.getKind() == ShardingKind::Unknown)
    return true;
  bool lhsMaximal = lhs.isReplicated() || lhs.isMaximal();
  bool rhsMaximal = rhs.isReplicated() || rhs.isMaximal();
  if (lhs.isManual() && rhsMaximal)
    return true;
  if (lhs.isManual() || rhs.isManual())
    return false;
  if (!rhsMaximal)
    return getNumTiles(lhs) > getNumTiles(rhs);
  return !(rhs.isReplicated() ? lhs.isReplicated() : lhsMaximal);
}

bool gshard::isShardingMoreSpecific(ShardingAttr lhs, ShardingAttr rhs) {
  if (!lhs.isTuple() && !rhs.isTuple())
    return isLeafMoreSpecific(lhs, rhs);
  if (!lhs.isTuple() || !rhs.isTuple() ||
      lhs.getTupleElements().size() != rhs.getTupleElements().size())
    return false;
  bool better = false;
  for (auto [l, r] :
       llvm::zip(lhs.getTupleElements(), rhs.getTupleElements())) {
    if (isShardingMoreSpecific(r, l))
      return false;
    better |= isShardingMoreSpecific(l, r);
  }
  return better;
}

/// Whether `merged` coarsens to `s` by replicating the dims `s` does not
/// tile.
static bool coarsensTo(ShardingAttr merged, ShardingAttr s) {
  SmallVector<int64_t> dims;
  int64_t rank = getTiledDataRank(merged);
  SmallVector<int64_t> tiles = getTilesPerDim(s, rank);
  for (int64_t d = 0; d < rank; ++d)
    if (tiles[d] == 1)
      dims.push_back(d);
  return shardingsEqual(replicateOnDims(merged, dims), s);
}

std::optional<ShardingAttr>
gshard::mergeShardingIfCompatible(ShardingAttr toMerge, ShardingAttr dst,
                                  int64_t minimumTiles) {
  if (toMerge.isTuple() || dst.isTuple())
    return std::nullopt;
  // Subgroups in XLA's order: data..., manual, replicated (last).
  toMerge = normalizeSharding(toMerge);
  dst = normalizeSharding(dst);
  if (toMerge.isManual() || dst.isManual())
    return std::nullopt;
  if (!toMerge.isTiled())
    return std::nullopt;
  if (dst.isReplicated() || dst.isMaximal())
    return toMerge;
  if (!dst.isTiled() || !hasPartialReplication(dst))
    return std::nullopt;
  int64_t rank = getTiledDataRank(dst);
  if (getTiledDataRank(toMerge) != rank ||
      toMerge.getNumTileDevices() != dst.getNumTileDevices())
    return std::nullopt;
  std::optional<int64_t> mergeManual = getManualDim(toMerge);
  std::optional<int64_t> dstManual = getManualDim(dst);
  if (mergeManual.has_value() != dstManual.has_value())
    return std::nullopt;
  ArrayRef<int64_t> mt = toMerge.getTileDims(), dt = dst.getTileDims();
  SmallVector<int64_t> merged;
  SmallVector<int64_t> newDims; // dims only toMerge tiles
  for (int64_t d = 0; d < rank; ++d) {
    if (mt[d] == dt[d] || mt[d] == 1) {
      merged.push_back(dt[d]);
    } else if (dt[d] == 1) {
      merged.push_back(mt[d]);
      newDims.push_back(d);
    } else {
      return std::nullopt;
    }
  }
  int64_t numDevices = dst.getNumTileDevices();
  int64_t numTiles = product(merged);
  if (numDevices % numTiles != 0 || numTiles < minimumTiles)
    return std::nullopt;
  int64_t manual = 1;
  if (mergeManual) {
    manual = mt[*mergeManual];
    if (manual != dt[*dstManual] || numDevices % (numTiles * manual) != 0)
      return std::nullopt;
  }
  int64_t replication = numDevices / (numTiles * manual);
  MLIRContext *context = dst.getContext();
  TileAssignment dstTa = getTileAssignment(dst);

  auto accept = [&](TileAssignment ta) -> std::optional<ShardingAttr> {
    if (replication == 1)
      ta = ta.reshape(ta.getDims().drop_back());
    ShardingAttr candidate =
        rebuild(context, ta, mergeManual.has_value(), replication > 1, dst);
    if (candidate.isTiled() && coarsensTo(candidate, toMerge) &&
        coarsensTo(candidate, dst))
      return candidate;
    return std::nullopt;
  };

  // Fast path: split dst's replicated dim into the new tile dims and the
  // remaining replication (trying the factor orders), move the new dims into
  // place. O(rank) per candidate when everything stays iota.
  if (dstTa.isIota() && getTileAssignment(toMerge).isIota()) {
    int64_t prefix = dstTa.getRank() - 1; // data + manual dims of dst
    SmallVector<int64_t> factors;         // new dims..., replication
    for (int64_t d : newDims)
      factors.push_back(mt[d]);
    factors.push_back(replication);
    SmallVector<int64_t> order(factors.size());
    std::iota(order.begin(), order.end(), 0);
    int tries = 0;
    do {
      SmallVector<int64_t> splitDims(dt.take_front(prefix).begin(),
                                     dt.take_front(prefix).end());
      for (int64_t o : order)
        splitDims.push_back(factors[o]);
      TileAssignment split = dstTa.reshape(splitDims);
      // Result layout: [data..., manual?, replication].
      SmallVector<int64_t> perm, resultDims;
      auto position = [&](int64_t factor) {
        return prefix + (llvm::find(order, factor) - order.begin());
      };
      for (int64_t d = 0; d < rank; ++d) {
        auto it = llvm::find(newDims, d);
        perm.push_back(it == newDims.end() ? d
                                           : position(it - newDims.begin()));
        resultDims.push_back(merged[d]);
      }
      if (dstManual) {
        perm.push_back(*dstManual);
        resultDims.push_back(manual);
      }
      perm.push_back(position(factors.size() - 1));
      resultDims.push_back(replication);
      for (int64_t d : newDims)
        perm.push_back(d); // dst's unit dims, dropped by the reshape
      std::optional<TileAssignment> moved = split.transposeAsIota(perm);
      if (moved)
        if (auto result = accept(moved->reshape(resultDims)))
          return result;
    } while (++tries < 24 && std::next_permutation(order.begin(), order.end()));
  }

  // General path, O(devices): group devices by their merged tile.
  TileAssignment mergeTa = getTileAssignment(toMerge);
  int64_t groups = numTiles * manual;
  SmallVector<SmallVector<int64_t>> buckets(groups);
  for (int64_t f = 0; f < numDevices; ++f) {
    int64_t device = dstTa.deviceAt(f);
    SmallVector<int64_t> dstIndex = dstTa.unflatten(f);
    std::optional<SmallVector<int64_t>> mergeIndex = mergeTa.indexOf(device);
    if (!mergeIndex)
      return std::nullopt;
    int64_t flat = 0;
    for (int64_t d = 0; d < rank; ++d)
      flat = flat * merged[d] +
             (llvm::is_contained(newDims, d) ? (*mergeIndex)[d] : dstIndex[d]);
    if (dstManual)
      flat = flat * manual + dstIndex[*dstManual];
    if (int64_t(buckets[flat].size()) == replication)
      return std::nullopt;
    buckets[flat].push_back(device);
  }
  SmallVector<int64_t> devices;
  devices.reserve(numDevices);
  for (SmallVector<int64_t> &bucket : buckets) {
    llvm::sort(bucket);
    devices.append(bucket.begin(), bucket.end());
  }
  SmallVector<int64_t> resultDims(merged.begin(), merged.end());
  if (dstManual)
    resultDims.push_back(manual);
  resultDims.push_back(replication);
  TileAssignment ta =
      TileAssignment::getExplicit(resultDims, devices).canonicalize();
  return accept(ta);
}

bool gshard::mergeSharding(ShardingAttr toMerge, ShardingAttr &dst,
                           bool mayCombinePartial) {
  if (toMerge.isTuple()) {
    if (!dst.isTuple() ||
        dst.getTupleElements().size() != toMerge.getTupleElements().size())
      return false;
    SmallVector<ShardingAttr> elements(dst.getTupleElements().begin(),
                                       dst.getTupleElements().end());
    bool changed = false;
    for (auto [i, e] : llvm::enumerate(toMerge.getTupleElements()))
      changed |= mergeSharding(e, elements[i], mayCombinePartial);
    dst = ShardingAttr::getTuple(dst.getContext(), elements);
    return changed;
  }
  if (mayCombinePartial && hasPartialReplication(toMerge) &&
      hasPartialReplication(dst) &&
      toMerge.getNumTileDevices() == dst.getNumTileDevices()) {
    if (std::optional<ShardingAttr> merged = mergeShardingIfCompatible(
            toMerge, dst,
            std::max(getNumTiles(toMerge), getNumTiles(dst)) + 1)) {
      dst = *merged;
      return true;
    }
  }
  return isShardingMoreSpecific(dst, toMerge);
}
