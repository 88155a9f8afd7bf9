//===- Sharding.cpp - Sharding construction, equality and queries ---------===//

#include "gshard/Sharding/Sharding.h"

#include "DimProduct.h"

#include "llvm/ADT/STLExtras.h"

#include <numeric>

using namespace gshard;
using namespace gshard::hlo;
using llvm::ArrayRef;
using llvm::SmallVector;
using mlir::MLIRContext;

static int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

//===----------------------------------------------------------------------===//
// Construction
//===----------------------------------------------------------------------===//

TileAssignment gshard::getTileAssignment(ShardingAttr s) {
  assert(s && s.isTiled() && "not a tiled sharding");
  if (s.isIota())
    return TileAssignment::getIota(s.getTileDims(), s.getIotaReshapeDims(),
                                   s.getIotaPerm());
  return TileAssignment::getExplicitRef(s.getTileDims(), s.getDevices());
}

static ShardingAttr getLeaf(MLIRContext *context, ShardingKind kind,
                            ShardingAttr like) {
  return ShardingAttr::get(context, kind, {}, {}, {}, {}, false, {}, {},
                           like ? like.getMetadata() : nullptr,
                           like ? like.getShardGroupKind()
                                : ShardGroupKind::None,
                           like ? like.getShardGroupId() : 0);
}

ShardingAttr gshard::getTiledSharding(MLIRContext *context,
                                      const TileAssignment &ta,
                                      bool replicateOnLastTileDim,
                                      ArrayRef<SubgroupKind> lastTileDims,
                                      ShardingAttr like) {
  SmallVector<int64_t> devices;
  if (!ta.isIota())
    devices.assign(ta.getExplicitDevices().begin(),
                   ta.getExplicitDevices().end());
  return ShardingAttr::get(
      context, ShardingKind::Tiled, ta.getDims(),
      ta.isIota() ? ta.getIotaReshapeDims() : ArrayRef<int64_t>(),
      ta.isIota() ? ta.getIotaPerm() : ArrayRef<int64_t>(), devices,
      replicateOnLastTileDim, lastTileDims, {},
      like ? like.getMetadata() : nullptr,
      like ? like.getShardGroupKind() : ShardGroupKind::None,
      like ? like.getShardGroupId() : 0);
}

/// Sorts the members of each group of `groupSize` consecutive devices (the
/// last dim of `ta`). Iota assignments stay iota when the group is a run of
/// whole (or split) minor transposed dims: sorting the run's reshape dims
/// ascending orders every group.
static TileAssignment sortMinorGroups(const TileAssignment &ta,
                                      int64_t groupSize) {
  if (ta.isIota()) {
    SmallVector<int64_t> reshape(ta.getIotaReshapeDims().begin(),
                                 ta.getIotaReshapeDims().end());
    SmallVector<int64_t> perm(ta.getIotaPerm().begin(), ta.getIotaPerm().end());
    // The group is the run perm[start..]; split one transposed dim if the
    // group size falls inside it.
    int64_t start = perm.size();
    int64_t remaining = groupSize;
    bool ok = true;
    while (remaining > 1) {
      if (start == 0) {
        ok = false;
        break;
      }
      int64_t j = start - 1;
      int64_t m = perm[j];
      int64_t size = reshape[m];
      if (size <= remaining) {
        if (remaining % size != 0) {
          ok = false;
          break;
        }
        remaining /= size;
        start = j;
        continue;
      }
      if (size % remaining != 0) {
        ok = false;
        break;
      }
      // Reshape dim m becomes [size / remaining, remaining]; the minor part
      // joins the group.
      reshape[m] = size / remaining;
      reshape.insert(reshape.begin() + m + 1, remaining);
      for (int64_t &p : perm)
        if (p > m)
          ++p;
      perm.insert(perm.begin() + j + 1, m + 1);
      start = j + 1;
      remaining = 1;
    }
    if (ok) {
      std::sort(perm.begin() + start, perm.end());
      simplifyIota(reshape, perm);
      return TileAssignment::getIota(ta.getDims(), reshape, perm);
    }
  }
  SmallVector<int64_t> devices = ta.materialize();
  for (size_t start = 0; start < devices.size(); start += groupSize)
    std::sort(devices.begin() + start, devices.begin() + start + groupSize);
  return TileAssignment::getExplicit(ta.getDims(), devices);
}

ShardingAttr gshard::getPartialTileSharding(MLIRContext *context,
                                            const TileAssignment &ta,
                                            ShardingAttr like) {
  int64_t last = ta.getDims().back();
  if (ta.getRank() == 1 || last == ta.getNumDevices())
    return getLeaf(context, ShardingKind::Replicated, like);
  if (last == 1)
    return getTiledSharding(context, ta.reshape(ta.getDims().drop_back()),
                            false, {}, like);
  return getTiledSharding(context, sortMinorGroups(ta, last), true, {}, like);
}

ShardingAttr gshard::getSubgroupSharding(MLIRContext *context,
                                         const TileAssignment &ta,
                                         ArrayRef<SubgroupKind> kinds,
                                         ShardingAttr like) {
  if (kinds.empty())
    return getTiledSharding(context, ta, false, {}, like);
  int64_t dataRank = ta.getRank() - int64_t(kinds.size());
  ArrayRef<int64_t> dataDims = ta.getDims().take_front(dataRank);
  bool oneKind = llvm::all_equal(kinds);
  if (oneKind && product(dataDims) == 1)
    return getLeaf(context,
                   kinds[0] == SubgroupKind::Manual ? ShardingKind::Manual
                                                    : ShardingKind::Replicated,
                   like);
  // Drop unit subgroup dims, merge dims of one kind, manual before
  // replicated.
  SmallVector<int64_t> perm(dataRank);
  std::iota(perm.begin(), perm.end(), 0);
  SmallVector<int64_t> merged(dataDims.begin(), dataDims.end());
  SmallVector<SubgroupKind> mergedKinds;
  SmallVector<int64_t> unitDims;
  for (SubgroupKind kind : {SubgroupKind::Manual, SubgroupKind::Replicated}) {
    int64_t size = 1;
    for (auto [i, k] : llvm::enumerate(kinds)) {
      int64_t dim = dataRank + i;
      if (k != kind)
        continue;
      if (ta.getDim(dim) == 1) {
        unitDims.push_back(dim);
        continue;
      }
      perm.push_back(dim);
      size *= ta.getDim(dim);
    }
    if (size > 1) {
      merged.push_back(size);
      mergedKinds.push_back(kind);
    }
  }
  perm.append(unitDims.begin(), unitDims.end());
  TileAssignment result = ta.transpose(perm).reshape(merged);
  if (mergedKinds.empty())
    return getTiledSharding(context, result, false, {}, like);
  if (mergedKinds.size() == 1 && mergedKinds[0] == SubgroupKind::Replicated)
    return getPartialTileSharding(context, result, like);
  if (mergedKinds.size() == 1 &&
      result.getNumDevices() == result.getDims().back())
    return getLeaf(context, ShardingKind::Manual, like);
  if (mergedKinds.back() == SubgroupKind::Replicated)
    result = sortMinorGroups(result, result.getDims().back());
  return getTiledSharding(context, result, false, mergedKinds, like);
}

//===----------------------------------------------------------------------===//
// Equality and canonical forms
//===----------------------------------------------------------------------===//

ShardingAttr gshard::normalizeSharding(ShardingAttr s) {
  MLIRContext *context = s.getContext();
  if (s.isTuple()) {
    SmallVector<ShardingAttr> elements;
    for (ShardingAttr e : s.getTupleElements())
      elements.push_back(normalizeSharding(e));
    return ShardingAttr::getTuple(context, elements);
  }
  if (!s.isTiled())
    return s;
  if (s.getReplicateOnLastTileDim())
    return getPartialTileSharding(context, getTileAssignment(s), s);
  if (!s.getLastTileDims().empty())
    return getSubgroupSharding(context, getTileAssignment(s),
                               s.getLastTileDims(), s);
  return s;
}

ShardingAttr gshard::canonicalizeSharding(ShardingAttr s) {
  if (s.isTuple()) {
    SmallVector<ShardingAttr> elements;
    for (ShardingAttr e : s.getTupleElements())
      elements.push_back(canonicalizeSharding(e));
    return ShardingAttr::getTuple(s.getContext(), elements);
  }
  ShardingAttr n = normalizeSharding(s);
  if (!n.isTiled())
    return n;
  return getTiledSharding(s.getContext(), getTileAssignment(n).canonicalize(),
                          n.getReplicateOnLastTileDim(), n.getLastTileDims(),
                          n);
}

bool gshard::shardingsEqual(ShardingAttr a, ShardingAttr b) {
  if (a == b)
    return true;
  if (!a || !b)
    return false;
  if (a.isTuple() || b.isTuple()) {
    if (!a.isTuple() || !b.isTuple() ||
        a.getTupleElements().size() != b.getTupleElements().size())
      return false;
    for (auto [x, y] : llvm::zip(a.getTupleElements(), b.getTupleElements()))
      if (!shardingsEqual(x, y))
        return false;
    return true;
  }
  ShardingAttr x = normalizeSharding(a), y = normalizeSharding(b);
  if (x.getKind() != y.getKind() ||
      x.getShardGroupKind() != y.getShardGroupKind() ||
      (x.getShardGroupKind() != ShardGroupKind::None &&
       x.getShardGroupId() != y.getShardGroupId()))
    return false;
  switch (x.getKind()) {
  case ShardingKind::Maximal:
    return x.getDevices()[0] == y.getDevices()[0];
  case ShardingKind::Tiled:
    return x.getReplicateOnLastTileDim() == y.getReplicateOnLastTileDim() &&
           x.getLastTileDims() == y.getLastTileDims() &&
           getTileAssignment(x) == getTileAssignment(y);
  default:
    return true;
  }
}

//===----------------------------------------------------------------------===//
// Queries
//===----------------------------------------------------------------------===//

template <typename Pred> static bool allLeaves(ShardingAttr s, Pred pred) {
  if (!s.isTuple())
    return pred(s);
  return llvm::all_of(s.getTupleElements(),
                      [&](ShardingAttr e) { return allLeaves(e, pred); });
}

bool gshard::isFullyReplicated(ShardingAttr s) {
  return allLeaves(s, [](ShardingAttr e) { return e.isReplicated(); });
}

bool gshard::isTriviallyReplicated(ShardingAttr s) {
  return allLeaves(s, [](ShardingAttr e) {
    if (e.isReplicated())
      return true;
    if (!e.isTiled())
      return false;
    std::optional<int64_t> repl = getReplicationDim(e);
    for (auto [i, d] : llvm::enumerate(e.getTileDims()))
      if (d != 1 && (!repl || int64_t(i) != *repl))
        return false;
    return true;
  });
}

bool gshard::isTileMaximal(ShardingAttr s) {
  return allLeaves(
      s, [](ShardingAttr e) { return e.isReplicated() || e.isMaximal(); });
}

bool gshard::isManual(ShardingAttr s) {
  return allLeaves(s, [](ShardingAttr e) { return e.isManual(); });
}

bool gshard::isManualSubgroup(ShardingAttr s) {
  return allLeaves(s, [](ShardingAttr e) {
    return llvm::is_contained(e.getLastTileDims(), SubgroupKind::Manual);
  });
}

bool gshard::hasPartialReplication(ShardingAttr s) {
  return s.isTiled() &&
         (s.getReplicateOnLastTileDim() ||
          llvm::is_contained(s.getLastTileDims(), SubgroupKind::Replicated));
}

std::optional<int64_t> gshard::getUniqueDevice(ShardingAttr s) {
  if (s.isMaximal())
    return s.getDevices()[0];
  if (!s.isTuple() || s.getTupleElements().empty())
    return std::nullopt;
  std::optional<int64_t> device;
  for (ShardingAttr e : s.getTupleElements()) {
    std::optional<int64_t> d = getUniqueDevice(e);
    if (!d || (device && *device != *d))
      return std::nullopt;
    device = d;
  }
  return device;
}

int64_t gshard::getTiledDataRank(ShardingAttr s) {
  if (!s.isTiled())
    return 0;
  return int64_t(s.getTileDims().size()) -
         (s.getReplicateOnLastTileDim() ? 1 : 0) -
         int64_t(s.getLastTileDims().size());
}

SmallVector<int64_t> gshard::getTilesPerDim(ShardingAttr s, int64_t rank) {
  if (!s.isTiled())
    return SmallVector<int64_t>(rank, 1);
  ArrayRef<int64_t> dims = s.getTileDims().take_front(getTiledDataRank(s));
  return SmallVector<int64_t>(dims.begin(), dims.end());
}

int64_t gshard::getNumTiles(ShardingAttr s) {
  if (!s.isTiled())
    return 1;
  return product(s.getTileDims().take_front(getTiledDataRank(s)));
}

SmallVector<SubgroupDim> gshard::getSubgroupDims(ShardingAttr s) {
  SmallVector<SubgroupDim> result;
  if (!s.isTiled())
    return result;
  int64_t dataRank = getTiledDataRank(s);
  if (s.getReplicateOnLastTileDim())
    result.push_back(
        {dataRank, SubgroupKind::Replicated, s.getTileDims()[dataRank]});
  for (auto [i, kind] : llvm::enumerate(s.getLastTileDims()))
    result.push_back(
        {dataRank + int64_t(i), kind, s.getTileDims()[dataRank + int64_t(i)]});
  return result;
}

std::optional<int64_t> gshard::getReplicationDim(ShardingAttr s) {
  for (const SubgroupDim &d : getSubgroupDims(s))
    if (d.kind == SubgroupKind::Replicated)
      return d.tileDim;
  return std::nullopt;
}

std::optional<int64_t> gshard::getManualDim(ShardingAttr s) {
  for (const SubgroupDim &d : getSubgroupDims(s))
    if (d.kind == SubgroupKind::Manual)
      return d.tileDim;
  return std::nullopt;
}

SmallVector<int64_t> gshard::getTileShape(ShardingAttr s,
                                          ArrayRef<int64_t> globalShape) {
  SmallVector<int64_t> tiles = getTilesPerDim(s, globalShape.size());
  SmallVector<int64_t> shape;
  for (auto [n, k] : llvm::zip(globalShape, tiles))
    shape.push_back(ceilDiv(n, k));
  return shape;
}

std::optional<SmallVector<int64_t>> gshard::getTileIndex(ShardingAttr s,
                                                         int64_t device) {
  if (s.isMaximal()) {
    if (device != s.getDevices()[0])
      return std::nullopt;
    return SmallVector<int64_t>();
  }
  if (!s.isTiled())
    return SmallVector<int64_t>();
  TileAssignment ta = getTileAssignment(s);
  std::optional<SmallVector<int64_t>> index;
  if (ta.isIota()) {
    index = ta.indexOf(device);
  } else {
    // One lookup: a scan is cheaper than building the inverse map.
    ArrayRef<int64_t> devices = ta.getExplicitDevices();
    const int64_t *it = llvm::find(devices, device);
    if (it != devices.end())
      index = ta.unflatten(it - devices.begin());
  }
  if (index)
    index->resize(getTiledDataRank(s));
  return index;
}

std::optional<SmallVector<int64_t>>
gshard::getTileOffset(ShardingAttr s, int64_t device,
                      ArrayRef<int64_t> globalShape) {
  std::optional<SmallVector<int64_t>> index = getTileIndex(s, device);
  if (!index)
    return std::nullopt;
  SmallVector<int64_t> offset(globalShape.size(), 0);
  if (index->empty())
    return offset;
  assert(index->size() == globalShape.size() && "sharding rank mismatch");
  SmallVector<int64_t> tile = getTileShape(s, globalShape);
  for (size_t i = 0; i < offset.size(); ++i)
    offset[i] = std::min((*index)[i] * tile[i], globalShape[i]);
  return offset;
}

std::optional<SmallVector<int64_t>>
gshard::getTileLimit(ShardingAttr s, int64_t device,
                     ArrayRef<int64_t> globalShape) {
  std::optional<SmallVector<int64_t>> offset =
      getTileOffset(s, device, globalShape);
  if (!offset)
    return std::nullopt;
  SmallVector<int64_t> tile = getTileShape(s, globalShape);
  for (size_t i = 0; i < offset->size(); ++i)
    (*offset)[i] = std::min((*offset)[i] + tile[i], globalShape[i]);
  return offset;
}

static ReplicaGroupsAttr getGroupsAttr(MLIRContext *context,
                                       const TileAssignment &grouped,
                                       int64_t numGroups, int64_t groupSize) {
  if (grouped.isIota()) {
    SmallVector<int64_t> reshape(grouped.getIotaReshapeDims().begin(),
                                 grouped.getIotaReshapeDims().end());
    SmallVector<int64_t> perm(grouped.getIotaPerm().begin(),
                              grouped.getIotaPerm().end());
    simplifyIota(reshape, perm);
    return ReplicaGroupsAttr::get(context, {}, {}, true, numGroups, groupSize,
                                  reshape, perm);
  }
  SmallVector<int64_t> sizes(numGroups, groupSize);
  return ReplicaGroupsAttr::get(context, grouped.materialize(), sizes, false,
                                numGroups, 0, {}, {});
}

ReplicaGroupsAttr gshard::getDeviceGroupsForDims(ShardingAttr s,
                                                 ArrayRef<int64_t> tileDims) {
  TileAssignment ta = getTileAssignment(s);
  SmallVector<int64_t> perm;
  int64_t numGroups = 1, groupSize = 1;
  for (int64_t d = 0; d < ta.getRank(); ++d)
    if (!llvm::is_contained(tileDims, d)) {
      perm.push_back(d);
      numGroups *= ta.getDim(d);
    }
  for (int64_t d : tileDims) {
    perm.push_back(d);
    groupSize *= ta.getDim(d);
  }
  TileAssignment grouped = ta.transpose(perm);
  return getGroupsAttr(s.getContext(), grouped, numGroups, groupSize);
}

SmallVector<int64_t> gshard::getDevicesAlongDims(ShardingAttr s, int64_t device,
                                                 ArrayRef<int64_t> tileDims) {
  TileAssignment ta = getTileAssignment(s);
  std::optional<SmallVector<int64_t>> index = ta.indexOf(device);
  if (!index)
    return {};
  SmallVector<int64_t> sizes;
  for (int64_t d : tileDims)
    sizes.push_back(ta.getDim(d));
  int64_t count = product(sizes);
  SmallVector<int64_t> result;
  result.reserve(count);
  for (int64_t n = 0; n < count; ++n) {
    int64_t rest = n;
    for (int64_t i = int64_t(tileDims.size()) - 1; i >= 0; --i) {
      (*index)[tileDims[i]] = rest % sizes[i];
      rest /= sizes[i];
    }
    result.push_back(ta.deviceAt(*index));
  }
  return result;
}

ReplicaGroupsAttr gshard::getReplicationGroups(ShardingAttr s,
                                               int64_t numDevices) {
  MLIRContext *context = s.getContext();
  if (s.isReplicated())
    return getGroupsAttr(context, TileAssignment::getIota({numDevices}), 1,
                         numDevices);
  if (s.isMaximal())
    return ReplicaGroupsAttr::get(context, s.getDevices(), {1}, false, 1, 0, {},
                                  {});
  if (!s.isTiled())
    return getGroupsAttr(context, TileAssignment::getIota({numDevices}),
                         numDevices, 1);
  if (std::optional<int64_t> dim = getReplicationDim(s))
    return getDeviceGroupsForDims(s, {*dim});
  return getDeviceGroupsForDims(s, {});
}

//===----------------------------------------------------------------------===//
// Verification
//===----------------------------------------------------------------------===//

static void collectLeafTypes(mlir::Type type,
                             llvm::SmallVectorImpl<mlir::Type> &leaves) {
  if (auto tuple = llvm::dyn_cast<mlir::TupleType>(type)) {
    for (mlir::Type t : tuple.getTypes())
      collectLeafTypes(t, leaves);
    return;
  }
  leaves.push_back(type);
}

static mlir::LogicalResult
verifyLeaf(ShardingAttr s, mlir::Type type, int64_t numDevices,
           llvm::function_ref<mlir::InFlightDiagnostic()> emitError) {
  if (llvm::isa<TokenType>(type))
    return mlir::success();
  if (s.isTuple())
    return emitError() << "tuple sharding on a value of non-tuple type "
                       << type;
  if (s.isMaximal()) {
    if (numDevices > 0 && s.getDevices()[0] >= numDevices)
      return emitError() << "sharding device " << s.getDevices()[0]
                         << " is out of range for " << numDevices << " devices";
    return mlir::success();
  }
  if (!s.isTiled())
    return mlir::success();
  auto shaped = llvm::dyn_cast<mlir::ShapedType>(type);
  if (!shaped || !shaped.hasRank())
    return emitError() << "tiled sharding on a value of type " << type
                       << " that has no rank";
  int64_t dataRank = getTiledDataRank(s);
  if (dataRank != shaped.getRank())
    return emitError() << "sharding tiles " << dataRank
                       << " dimensions but the value has rank "
                       << shaped.getRank();
  if (numDevices <= 0)
    return mlir::success();
  if (s.getNumTileDevices() > numDevices)
    return emitError() << "sharding uses " << s.getNumTileDevices()
                       << " devices but only " << numDevices
                       << " are available";
  for (int64_t device : s.getDevices())
    if (device >= numDevices)
      return emitError() << "sharding device " << device
                         << " is out of range for " << numDevices << " devices";
  return mlir::success();
}

mlir::LogicalResult gshard::verifySharding(
    ShardingAttr s, mlir::Type type, int64_t numDevices,
    llvm::function_ref<mlir::InFlightDiagnostic()> emitError) {
  if (!llvm::isa<mlir::TupleType>(type))
    return verifyLeaf(s, type, numDevices, emitError);
  SmallVector<mlir::Type> leaves;
  collectLeafTypes(type, leaves);
  if (!s.isTuple()) {
    for (mlir::Type leaf : leaves)
      if (mlir::failed(verifyLeaf(s, leaf, numDevices, emitError)))
        return mlir::failure();
    return mlir::success();
  }
  ArrayRef<ShardingAttr> elements = s.getTupleElements();
  // XLA gives an empty tuple one sharding for its root.
  if (leaves.empty() && elements.size() <= 1)
    return mlir::success();
  if (elements.size() != leaves.size())
    return emitError() << "tuple sharding has " << elements.size()
                       << " elements but the value's tuple type has "
                       << leaves.size() << " leaves";
  for (auto [e, leaf] : llvm::zip(elements, leaves))
    if (mlir::failed(verifyLeaf(e, leaf, numDevices, emitError)))
      return mlir::failure();
  return mlir::success();
}
