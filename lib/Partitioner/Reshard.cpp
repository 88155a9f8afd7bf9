//===- Reshard.cpp - Moving a partitioned value between shardings ---------===//
//
// `Spmd::reshard` turns a value's local shard under one sharding into its
// local shard under another with the cheapest sequence of steps it finds:
//
//   * nothing, when the shardings are equal;
//   * a local dynamic-slice, when every device's target tile lies inside the
//     tile it already holds (replicated -> tiled, partial -> finer tiling);
//     offsets from partition-id arithmetic;
//   * a collective-permute, when the data tiles are the same but the
//     devices holding them differ;
//   * an all-to-all, when a split moves from one dim to another;
//   * all-gathers along the dims whose tiling the target cannot keep
//     (partial replication), then one of the above; a maximal source is
//     broadcast with a masked all-reduce.
//
// Steps repeat (multi-step on multi-dimensional meshes) until the target is
// reached. Gathering everything when the target is not replicated is a
// full rematerialization and is reported as a warning.
//
//===----------------------------------------------------------------------===//

#include "Spmd.h"

#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace gshard::spmd {

namespace {

SmallVector<int64_t> tileIndexOrZeros(ShardingAttr s, int64_t device,
                                      int64_t rank, bool &holds) {
  holds = true;
  if (!s.isTiled())
    return SmallVector<int64_t>(rank, 0);
  auto index = getTileIndex(s, device);
  if (!index) {
    holds = false;
    return SmallVector<int64_t>(rank, 0);
  }
  return *index;
}

} // namespace

/// The manual-subgroup coordinate of each of `n` devices (-1: the device
/// holds no tile); all zeros without a manual subgroup.
static SmallVector<int64_t> manualCoordinates(ShardingAttr s, int64_t n) {
  SmallVector<int64_t> coords(n, 0);
  if (!s.isTiled())
    return coords;
  std::optional<int64_t> manualDim = getManualDim(s);
  if (!manualDim)
    return coords;
  TileAssignment ta = getTileAssignment(s);
  int64_t stride = 1;
  for (int64_t i = *manualDim + 1; i < ta.getRank(); ++i)
    stride *= ta.getDim(i);
  for (int64_t d = 0; d < n; ++d) {
    std::optional<int64_t> flat = ta.flatIndexOf(d);
    coords[d] = flat ? (*flat / stride) % ta.getDim(*manualDim) : -1;
  }
  return coords;
}

bool sameManualGroups(ShardingAttr a, ShardingAttr b, int64_t numDevices) {
  return manualCoordinates(a, numDevices) == manualCoordinates(b, numDevices);
}

/// Gathers `dims` (data dims of `from`) one at a time; updates `from`.
static Value gatherDims(Spmd &spmd, Value local, ShardingAttr &from,
                        RankedTensorType global, ArrayRef<int64_t> dims) {
  for (int64_t dim : dims) {
    SmallVector<int64_t> tiles = getTilesPerDim(from, global.getRank());
    if (!from.isTiled() || tiles[dim] == 1)
      continue;
    hlo::ReplicaGroupsAttr groups = getDeviceGroupsForDim(from, dim);
    local = spmd.allGather(local, dim, groups, "all-gather along a dim");
    auto type = cast<RankedTensorType>(local.getType());
    int64_t n = global.getDimSize(dim);
    if (type.getDimSize(dim) != n) {
      SmallVector<int64_t> start(type.getRank(), 0), limit(type.getShape());
      limit[dim] = n;
      local = spmd.slice(local, start, limit);
    }
    from = normalizeForTensor(replicateOnDims(from, {dim}), global.getRank());
  }
  return local;
}

/// A dynamic-slice from `from` to `to` when each device's `to` tile lies in
/// its `from` tile; null otherwise.
static Value sliceTo(Spmd &spmd, Value local, ShardingAttr from,
                     ShardingAttr to, RankedTensorType global) {
  int64_t rank = global.getRank();
  ArrayRef<int64_t> shape = global.getShape();
  SmallVector<int64_t> fromShard = getTileShape(from, shape);
  SmallVector<int64_t> toShard = getTileShape(to, shape);
  SmallVector<int64_t> needed(fromShard);
  SmallVector<std::optional<int64_t>> constantRel(rank);
  SmallVector<bool> varying(rank, false);
  for (int64_t d = 0; d < spmd.numPartitions(); ++d) {
    bool holdsTo, holdsFrom;
    SmallVector<int64_t> ti = tileIndexOrZeros(to, d, rank, holdsTo);
    if (!holdsTo)
      continue;
    SmallVector<int64_t> fi = tileIndexOrZeros(from, d, rank, holdsFrom);
    if (!holdsFrom)
      return nullptr;
    for (int64_t i = 0; i < rank; ++i) {
      int64_t fo = fi[i] * fromShard[i], toff = ti[i] * toShard[i];
      int64_t rel = toff - fo;
      int64_t n = shape[i];
      if (rel < 0)
        return nullptr;
      // Valid target data must come from valid source data.
      if (std::min(toff + toShard[i], n) > std::min(fo + fromShard[i], n) &&
          std::min(toff + toShard[i], n) > toff)
        return nullptr;
      needed[i] = std::max(needed[i], rel + toShard[i]);
      if (!constantRel[i])
        constantRel[i] = rel;
      else if (*constantRel[i] != rel)
        varying[i] = true;
    }
  }
  auto type = cast<RankedTensorType>(local.getType());
  SmallVector<int64_t> high(rank, 0), low(rank, 0);
  for (int64_t i = 0; i < rank; ++i)
    high[i] = std::max<int64_t>(0, needed[i] - type.getDimSize(i));
  if (llvm::any_of(high, [](int64_t h) { return h != 0; }))
    local = spmd.pad(local, spmd.constantScalar(type.getElementType(), 0), low,
                     high);
  SmallVector<Value> starts;
  bool allZero = true;
  for (int64_t i = 0; i < rank; ++i) {
    if (!varying[i]) {
      int64_t rel = constantRel[i].value_or(0);
      allZero &= rel == 0;
      starts.push_back(spmd.constantI32(rel));
      continue;
    }
    allZero = false;
    Value toOffset = spmd.tileOffset(to, i, shape);
    Value fromOffset =
        from.isTiled() ? spmd.tileOffset(from, i, shape) : spmd.constantI32(0);
    starts.push_back(spmd.binary("hlo.subtract", toOffset, fromOffset));
  }
  auto paddedType = cast<RankedTensorType>(local.getType());
  if (allZero) {
    SmallVector<int64_t> zero(rank, 0);
    if (paddedType.getShape() == ArrayRef<int64_t>(toShard))
      return local;
    return spmd.slice(local, zero, toShard);
  }
  return spmd.dynamicSlice(local, starts, toShard);
}

/// A collective-permute when both shardings have the same data tiles.
static Value permuteTo(Spmd &spmd, Value local, ShardingAttr from,
                       ShardingAttr to, RankedTensorType global) {
  int64_t rank = global.getRank();
  int64_t n = spmd.numPartitions();
  // Sources by flat tile index.
  SmallVector<int64_t> tiles = getTilesPerDim(from, rank);
  auto flatten = [&](ArrayRef<int64_t> index) {
    int64_t flat = 0;
    for (int64_t i = 0; i < rank; ++i)
      flat = flat * tiles[i] + index[i];
    return flat;
  };
  llvm::DenseMap<int64_t, SmallVector<int64_t>> sources;
  SmallVector<int64_t> fromTile(n, -1), toTile(n, -1);
  // A data tile of a manual group comes from the same manual group (the
  // source's coordinates when it has a manual subgroup, else any device).
  bool keyedByGroup = isManualSubgroup(from);
  SmallVector<int64_t> fromGroup = manualCoordinates(from, n);
  SmallVector<int64_t> toGroup = manualCoordinates(to, n);
  int64_t numTiles = flatten(tiles) + 1;
  for (int64_t d = 0; d < n; ++d) {
    bool holds;
    SmallVector<int64_t> fi = tileIndexOrZeros(from, d, rank, holds);
    if (holds)
      fromTile[d] = flatten(fi) + (keyedByGroup ? fromGroup[d] * numTiles : 0);
    SmallVector<int64_t> ti = tileIndexOrZeros(to, d, rank, holds);
    if (holds)
      toTile[d] = flatten(ti) + (keyedByGroup ? toGroup[d] * numTiles : 0);
  }
  SmallVector<bool> used(n, false);
  SmallVector<int64_t> sourceOf(n, -1);
  for (int64_t d = 0; d < n; ++d)
    if (toTile[d] >= 0 && toTile[d] == fromTile[d]) {
      sourceOf[d] = d;
      used[d] = true;
    }
  for (int64_t d = 0; d < n; ++d)
    if (fromTile[d] >= 0 && !used[d])
      sources[fromTile[d]].push_back(d);
  for (int64_t d = 0; d < n; ++d) {
    if (toTile[d] < 0 || sourceOf[d] >= 0)
      continue;
    auto &list = sources[toTile[d]];
    if (list.empty())
      return nullptr;
    sourceOf[d] = list.front();
    list.erase(list.begin());
  }
  SmallVector<int64_t> pairs;
  bool identity = true;
  for (int64_t d = 0; d < n; ++d) {
    if (sourceOf[d] < 0)
      continue;
    identity &= sourceOf[d] == d;
    pairs.push_back(sourceOf[d]);
    pairs.push_back(d);
  }
  if (identity)
    return local;
  return spmd.collectivePermute(local, pairs, "same tiles, other devices");
}

/// An all-to-all moving the split of dim `a` (k tiles) to dim `b`; returns
/// the new local value and sets `from` to the resulting sharding.
static Value allToAllMove(Spmd &spmd, Value local, ShardingAttr &from,
                          RankedTensorType global, int64_t a, int64_t b) {
  int64_t rank = global.getRank();
  SmallVector<int64_t> tiles = getTilesPerDim(from, rank);
  int64_t k = tiles[a];
  hlo::ReplicaGroupsAttr groups = getDeviceGroupsForDim(from, a);
  auto type = cast<RankedTensorType>(local.getType());
  int64_t sa = type.getDimSize(a);
  int64_t nb = global.getDimSize(b);
  int64_t cb = (nb + k - 1) / k;
  // Pad dim b to k * cb.
  SmallVector<int64_t> low(rank, 0), high(rank, 0);
  high[b] = k * cb - type.getDimSize(b);
  if (high[b] != 0)
    local = spmd.pad(local, spmd.constantScalar(type.getElementType(), 0), low,
                     high);
  // Split b into [k, cb].
  SmallVector<int64_t> split;
  for (int64_t i = 0; i < rank; ++i) {
    if (i == b) {
      split.push_back(k);
      split.push_back(cb);
    } else {
      split.push_back(type.getDimSize(i));
    }
  }
  local = spmd.reshape(local, split);
  local = spmd.allToAll(local, b, groups, "move a split between dims");
  // Move the source dim (b) right before a, then merge it into a.
  int64_t aPos = a < b ? a : a + 1;
  SmallVector<int64_t> perm;
  for (int64_t i = 0; i < rank + 1; ++i) {
    if (i == b)
      continue;
    if (i == aPos)
      perm.push_back(b);
    perm.push_back(i);
  }
  local = spmd.transpose(local, perm);
  SmallVector<int64_t> merged;
  for (int64_t i = 0; i < rank; ++i)
    merged.push_back(i == a ? k * sa : (i == b ? cb : type.getDimSize(i)));
  local = spmd.reshape(local, merged);
  if (k * sa != global.getDimSize(a)) {
    SmallVector<int64_t> start(rank, 0), limit(merged);
    limit[a] = global.getDimSize(a);
    local = spmd.slice(local, start, limit);
  }
  TileAssignment ta = getTileAssignment(from);
  SmallVector<int64_t> swap;
  for (int64_t i = 0; i < ta.getRank(); ++i)
    swap.push_back(i == a ? b : (i == b ? a : i));
  from =
      normalizeForTensor(getTiledSharding(spmd.getContext(), ta.transpose(swap),
                                          from.getReplicateOnLastTileDim(),
                                          from.getLastTileDims()),
                         rank);
  return local;
}

Value Spmd::reshardTensor(Value local, ShardingAttr from, ShardingAttr to,
                          RankedTensorType global) {
  int64_t rank = global.getRank();
  if (shardingsEqual(from, to))
    return local;
  MLIRContext *context = getContext();
  // Manual values: each device holds its own value of the full (manual)
  // shape, computed by user code. A replicated value enters a manual region
  // as it is; a manual value used by an unannotated (replicated)
  // instruction is that device's own value, as in the manual code itself.
  if (from.isManual() || to.isManual()) {
    if (from.isManual() && (to.isManual() || to.isReplicated()))
      return local;
    if (to.isManual() && from.isReplicated())
      return local;
    if (to.isManual() && from.isMaximal()) {
      local = reshardTensor(local, from, ShardingAttr::getReplicated(context),
                            global);
      return local;
    }
    error("cannot reshard between " + toString(from) + " and " + toString(to) +
          " (a tiled value enters or leaves a manual region only through "
          "SPMDFullToShardShape / SPMDShardToFullShape)");
    return local;
  }
  // Manual subgroups: within each manual group the value is an ordinary
  // SPMD value tiled over the data dims, so resharding works group by group
  // (collective groups along data dims never cross manual groups). The
  // groups must be the same devices on both sides; a value without a manual
  // subgroup (replicated or tiled) is the same in every group.
  if (isManualSubgroup(from) || isManualSubgroup(to)) {
    bool ok = isManualSubgroup(to) &&
              (!isManualSubgroup(from) ||
               sameManualGroups(from, to, numPartitions())) &&
              !from.isMaximal();
    if (!ok) {
      error("cannot reshard between " + toString(from) + " and " +
            toString(to) +
            " (the manual subgroups differ; a value leaves a manual "
            "subgroup only through SPMDShardToFullShape)");
      return local;
    }
  }
  if (from.isMaximal()) {
    // Broadcast from the owner: mask the others to zero, all-reduce.
    int64_t device = from.getDevices()[0];
    auto type = cast<RankedTensorType>(local.getType());
    Value isOwner = compare(partitionId(), constantI32(device),
                            hlo::ComparisonDirection::EQ);
    auto predType = RankedTensorType::get(type.getShape(), builder.getI1Type());
    Value masked =
        select(broadcastScalar(isOwner, predType), local, zeros(type));
    bool isPred = type.getElementType().isInteger(1);
    local =
        allReduce(masked,
                  getDeviceGroupsForDim(
                      ShardingAttr::getIotaTiled(context, {numPartitions()},
                                                 {numPartitions()}, {0}),
                      0),
                  state.getReducer(isPred ? ReduceKind::Or : ReduceKind::Add,
                                   type.getElementType()),
                  "broadcast from a single device");
    from = ShardingAttr::getReplicated(context);
    if (shardingsEqual(from, to) || to.isMaximal())
      return local;
  }
  if (to.isMaximal() || to.isReplicated()) {
    SmallVector<int64_t> dims;
    for (int64_t i = 0; i < rank; ++i)
      dims.push_back(i);
    return gatherDims(*this, local, from, global, dims);
  }
  // `to` is tiled.
  for (int step = 0; step < 8; ++step) {
    if (shardingsEqual(from, to))
      return local;
    if (from.isReplicated() || !from.isTiled()) {
      if (Value v = sliceTo(*this, local, from, to, global))
        return v;
      break;
    }
    SmallVector<int64_t> fromTiles = getTilesPerDim(from, rank);
    SmallVector<int64_t> toTiles = getTilesPerDim(to, rank);
    if (fromTiles == toTiles) {
      if (Value v = permuteTo(*this, local, from, to, global))
        return v;
    }
    // All-to-all: the split of `a` moves to `b`, other dims agree.
    bool moved = false;
    for (int64_t a = 0; a < rank && !moved; ++a) {
      for (int64_t b = 0; b < rank && !moved; ++b) {
        if (a == b || fromTiles[a] == 1 || fromTiles[b] != 1 ||
            toTiles[a] != 1 || toTiles[b] != fromTiles[a])
          continue;
        bool othersAgree = true;
        for (int64_t i = 0; i < rank; ++i)
          if (i != a && i != b && fromTiles[i] != toTiles[i])
            othersAgree = false;
        if (!othersAgree)
          continue;
        local = allToAllMove(*this, local, from, global, a, b);
        moved = true;
      }
    }
    if (moved)
      continue;
    if (Value v = sliceTo(*this, local, from, to, global))
      return v;
    // Gather the dims whose tiling the target cannot refine.
    SmallVector<int64_t> dims;
    for (int64_t i = 0; i < rank; ++i)
      if (fromTiles[i] > 1 && toTiles[i] % fromTiles[i] != 0)
        dims.push_back(i);
    if (dims.empty())
      for (int64_t i = 0; i < rank; ++i)
        if (fromTiles[i] > 1)
          dims.push_back(i);
    ShardingAttr before = from;
    local = gatherDims(*this, local, from, global, dims);
    if (from.isReplicated() && !before.isReplicated())
      warn("full rematerialization of " + std::to_string(getByteSize(global)) +
           " bytes on every device (" + toString(recordFrom) + " -> " +
           toString(recordTo) + ")");
  }
  // Last resort: everything to every device, then slice.
  SmallVector<int64_t> dims;
  for (int64_t i = 0; i < rank; ++i)
    dims.push_back(i);
  local = gatherDims(*this, local, from, global, dims);
  if (Value v = sliceTo(*this, local, from, to, global))
    return v;
  llvm_unreachable("slicing from replicated always succeeds");
}

bool sameSharding(Type type, ShardingAttr a, ShardingAttr b) {
  if (auto tuple = dyn_cast<TupleType>(type)) {
    for (int64_t i = 0, e = tuple.size(); i < e; ++i)
      if (!sameSharding(tuple.getType(i), getTupleElementSharding(a, tuple, i),
                        getTupleElementSharding(b, tuple, i)))
        return false;
    return true;
  }
  auto tensor = dyn_cast<RankedTensorType>(type);
  if (!tensor)
    return true;
  MLIRContext *context = tensor.getContext();
  ShardingAttr x = normalizeForTensor(a, tensor.getRank());
  ShardingAttr y = normalizeForTensor(b, tensor.getRank());
  if (!x)
    x = ShardingAttr::getReplicated(context);
  if (!y)
    y = ShardingAttr::getReplicated(context);
  return shardingsEqual(x, y);
}

Value Spmd::reshard(const PValue &v, ShardingAttr target) {
  if (auto tuple = dyn_cast<TupleType>(v.global)) {
    if (sameSharding(v.global, v.sharding, target))
      return v.local;
    SmallVector<Value> elements;
    for (int64_t i = 0, e = tuple.size(); i < e; ++i) {
      ShardingAttr from = getTupleElementSharding(v.sharding, tuple, i);
      ShardingAttr to = getTupleElementSharding(target, tuple, i);
      Value element = getTupleElement(v.local, i);
      elements.push_back(reshard({element, from, tuple.getType(i)}, to));
    }
    return this->tuple(elements);
  }
  auto tensor = dyn_cast<RankedTensorType>(v.global);
  if (!tensor)
    return v.local;
  ShardingAttr from = normalizeForTensor(v.sharding, tensor.getRank());
  ShardingAttr to = normalizeForTensor(target, tensor.getRank());
  if (!from)
    from = ShardingAttr::getReplicated(getContext());
  if (!to)
    to = ShardingAttr::getReplicated(getContext());
  ShardingAttr savedFrom = recordFrom, savedTo = recordTo;
  recordFrom = from;
  recordTo = to;
  Value result = reshardTensor(v.local, from, to, tensor);
  recordFrom = savedFrom;
  recordTo = savedTo;
  return result;
}

} // namespace gshard::spmd
