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

#include <limits>
#include <numeric>

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

/// What a dynamic-slice from `from` to `to` needs: per dim, the local size
/// to pad to and the offset into the local tile (constant, or varying by
/// device).
struct SliceAnalysis {
  SmallVector<int64_t> needed;
  SmallVector<std::optional<int64_t>> constantRel;
  SmallVector<bool> varying;
};

/// The slice analysis when each device's `to` tile lies in its `from` tile
/// (valid target data from valid source data); nullopt otherwise.
/// O(devices).
static std::optional<SliceAnalysis> analyzeSlice(ShardingAttr from,
                                                 ShardingAttr to,
                                                 RankedTensorType global,
                                                 int64_t numPartitions) {
  int64_t rank = global.getRank();
  ArrayRef<int64_t> shape = global.getShape();
  SmallVector<int64_t> fromShard = getTileShape(from, shape);
  SmallVector<int64_t> toShard = getTileShape(to, shape);
  SliceAnalysis result{fromShard, SmallVector<std::optional<int64_t>>(rank),
                       SmallVector<bool>(rank, false)};
  for (int64_t d = 0; d < numPartitions; ++d) {
    bool holdsTo, holdsFrom;
    SmallVector<int64_t> ti = tileIndexOrZeros(to, d, rank, holdsTo);
    if (!holdsTo)
      continue;
    SmallVector<int64_t> fi = tileIndexOrZeros(from, d, rank, holdsFrom);
    if (!holdsFrom)
      return std::nullopt;
    for (int64_t i = 0; i < rank; ++i) {
      int64_t fo = fi[i] * fromShard[i], toff = ti[i] * toShard[i];
      int64_t rel = toff - fo;
      int64_t n = shape[i];
      if (rel < 0)
        return std::nullopt;
      // Valid target data must come from valid source data.
      if (std::min(toff + toShard[i], n) > std::min(fo + fromShard[i], n) &&
          std::min(toff + toShard[i], n) > toff)
        return std::nullopt;
      result.needed[i] = std::max(result.needed[i], rel + toShard[i]);
      if (!result.constantRel[i])
        result.constantRel[i] = rel;
      else if (*result.constantRel[i] != rel)
        result.varying[i] = true;
    }
  }
  return result;
}

/// A dynamic-slice from `from` to `to` when each device's `to` tile lies in
/// its `from` tile; null otherwise.
static Value sliceTo(Spmd &spmd, Value local, ShardingAttr from,
                     ShardingAttr to, RankedTensorType global) {
  int64_t rank = global.getRank();
  ArrayRef<int64_t> shape = global.getShape();
  SmallVector<int64_t> toShard = getTileShape(to, shape);
  std::optional<SliceAnalysis> analysis =
      analyzeSlice(from, to, global, spmd.numPartitions());
  if (!analysis)
    return nullptr;
  ArrayRef<int64_t> needed = analysis->needed;
  ArrayRef<std::optional<int64_t>> constantRel = analysis->constantRel;
  ArrayRef<bool> varying = analysis->varying;
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

//===----------------------------------------------------------------------===//
// Multi-step plans
//
// A tiled sharding is a mesh of devices: its tile assignment with one dim
// per data dim, then the subgroup dims. The plan steps move a factor of one
// mesh dim to another, which keeps every device's data in place except
// along the moved factor:
//
//   * gather: the minor factor f of data dim d joins the replicated
//     subgroup (an all-gather over the f devices along it);
//   * all-to-all: the minor factor f of data dim a becomes the minor factor
//     of data dim b (each device sends 1/f of its tile along b to each of
//     the f devices along the factor, which concatenate along a);
//   * slice: a factor f of the replicated subgroup (major or minor part)
//     becomes the minor factor of data dim d (a local dynamic-slice).
//
// A plan is a short sequence of such steps followed by a local slice or a
// collective-permute (same data tiles, other devices) onto the target. The
// planner searches breadth-first over sequences of at most kMaxPlanSteps
// steps, only generating steps that move tile counts towards the target's,
// and keeps the cheapest plan by bytes received per device. Plans never
// pass through the fully replicated sharding: that is the full
// rematerialization the fallback reports.
//===----------------------------------------------------------------------===//

static int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/// Whether each tile of a dim of size `n` cut into `t` tiles is exactly `f`
/// consecutive tiles (same offsets, same padded size) of the `t * f`-tile
/// cut. Always true for t == 1: the padding at the end is garbage anyway.
static bool splitsEvenly(int64_t n, int64_t t, int64_t f) {
  return t == 1 || ceilDiv(n, t) == f * ceilDiv(n, t * f);
}

/// `ta` with dim `dim` viewed as [dims[dim] / f, f] (the split is a reshape:
/// the minor part is factor f).
static TileAssignment splitTileDim(const TileAssignment &ta, int64_t dim,
                                   int64_t f) {
  SmallVector<int64_t> dims(ta.getDims());
  dims[dim] /= f;
  dims.insert(dims.begin() + dim + 1, f);
  return ta.reshape(dims);
}

/// `ta` with factor `f` of dim `src` (its minor part, or its major part when
/// `!minor`) moved to be the minor part of dim `dst`.
static TileAssignment moveTileFactor(const TileAssignment &ta, int64_t src,
                                     int64_t f, bool minor, int64_t dst) {
  int64_t rank = ta.getRank();
  SmallVector<int64_t> expanded;
  for (int64_t i = 0; i < rank; ++i) {
    if (i != src) {
      expanded.push_back(ta.getDim(i));
    } else if (minor) {
      expanded.push_back(ta.getDim(i) / f);
      expanded.push_back(f);
    } else {
      expanded.push_back(f);
      expanded.push_back(ta.getDim(i) / f);
    }
  }
  int64_t piece = minor ? src + 1 : src, rest = minor ? src : src + 1;
  SmallVector<int64_t> perm;
  for (int64_t i = 0; i < rank; ++i) {
    perm.push_back(i == src ? rest : (i < src ? i : i + 1));
    if (i == dst)
      perm.push_back(piece);
  }
  SmallVector<int64_t> dims(ta.getDims());
  dims[src] /= f;
  dims[dst] *= f;
  return ta.reshape(expanded).transpose(perm).reshape(dims);
}

namespace {

/// A tiled sharding as a mesh: tile assignment, subgroup kinds of the dims
/// after the `rank` data dims, and the replicated subgroup's dim (created
/// with size 1 when absent).
struct Mesh {
  TileAssignment ta;
  SmallVector<SubgroupKind> kinds;
  int64_t replDim;

  Mesh(ShardingAttr s, int64_t rank) : ta(getTileAssignment(s)) {
    if (s.getReplicateOnLastTileDim())
      kinds.push_back(SubgroupKind::Replicated);
    else
      kinds.append(s.getLastTileDims().begin(), s.getLastTileDims().end());
    auto it = llvm::find(kinds, SubgroupKind::Replicated);
    if (it == kinds.end()) {
      SmallVector<int64_t> dims(ta.getDims());
      dims.push_back(1);
      ta = ta.reshape(dims);
      kinds.push_back(SubgroupKind::Replicated);
      replDim = ta.getRank() - 1;
    } else {
      replDim = rank + (it - kinds.begin());
    }
  }

  ShardingAttr sharding(MLIRContext *context,
                        const TileAssignment &assignment) const {
    return canonicalizeSharding(
        getSubgroupSharding(context, assignment, kinds));
  }
};

enum class StepKind { Gather, AllToAll, Slice, GatherHalo, SliceHalo };

/// One plan step: moves factor `factor` of mesh dim `src` to mesh dim `dst`
/// (gather: data dim -> replicated; all-to-all: data -> data; slice:
/// replicated -> data, its major part unless `minor`). The halo kinds are
/// the gather and the slice of a dim whose tiles do not split evenly: the
/// data each device needs comes from neighbouring tiles by
/// collective-permutes (a halo exchange), then a local slice.
struct PlanStep {
  StepKind kind;
  int64_t src, dst, factor;
  bool minor;
  ShardingAttr result;
};

struct Plan {
  SmallVector<PlanStep, 4> steps;
  double cost = std::numeric_limits<double>::infinity();
};

constexpr int kMaxPlanSteps = 4;
/// Nodes the search may expand; keeps partitioning time bounded on large
/// meshes (plans are short, the frontier small).
constexpr int kMaxPlanNodes = 256;

} // namespace

/// The divisors of `n` greater than one, ascending.
static SmallVector<int64_t> factorsOf(int64_t n) {
  SmallVector<int64_t> result;
  for (int64_t f = 2; f <= n; ++f)
    if (n % f == 0)
      result.push_back(f);
  return result;
}

/// For a halo retiling of a dim of size `n` in `k` tiles, coarsened by `f`
/// (`refine` false: tile i becomes tile i / f of k / f) or refined by `f`
/// (tile i becomes the f tiles i * f + j of k * f, fetched together): the
/// range each source tile fetches (start per tile, size, valid elements).
static int64_t haloRanges(int64_t n, int64_t k, int64_t f, bool refine,
                          SmallVectorImpl<int64_t> &start,
                          SmallVectorImpl<int64_t> &used) {
  int64_t size = refine ? f * ceilDiv(n, k * f) : ceilDiv(n, k / f);
  for (int64_t i = 0; i < k; ++i) {
    start.push_back(refine ? i * size : (i / f) * size);
    used.push_back(std::clamp<int64_t>(n - start.back(), 0, size));
  }
  return size;
}

/// Collective-permutes a halo retiling needs (one per tile offset).
static int64_t haloPermutes(int64_t n, int64_t k, int64_t f, bool refine) {
  SmallVector<int64_t> start, used;
  haloRanges(n, k, f, refine, start, used);
  auto [jmin, jmax] = haloTileOffsets(n, k, start, used);
  return jmax - jmin;
}

/// Bytes of one device's tile of `global` under `s`.
static double localBytes(ShardingAttr s, RankedTensorType global) {
  return getByteSize(getLocalType(global, s));
}

/// The cheapest plan from `from` to `to` (both tiled, same manual groups),
/// or a plan with infinite cost when none exists.
static Plan planReshard(ShardingAttr from, ShardingAttr to,
                        RankedTensorType global, int64_t numPartitions) {
  MLIRContext *context = from.getContext();
  int64_t rank = global.getRank();
  ArrayRef<int64_t> shape = global.getShape();
  SmallVector<int64_t> target = getTilesPerDim(to, rank);
  // A fixed cost per collective prefers fewer steps among equal byte counts.
  constexpr double kStepCost = 1;
  Plan best;
  struct Node {
    ShardingAttr s;
    double cost;
    SmallVector<PlanStep, 4> steps;
  };
  llvm::DenseMap<mlir::Attribute, double> seen;
  SmallVector<Node> frontier{{canonicalizeSharding(from), 0, {}}};
  seen[frontier[0].s] = 0;
  int expanded = 0;
  for (int depth = 0; depth <= kMaxPlanSteps && !frontier.empty(); ++depth) {
    SmallVector<Node> next;
    for (Node &node : frontier) {
      SmallVector<int64_t> tiles = getTilesPerDim(node.s, rank);
      double bytes = localBytes(node.s, global);
      // Finish: nothing, a local slice or a collective-permute.
      auto finish = [&](double cost) {
        if (cost < best.cost) {
          best.cost = cost;
          best.steps = node.steps;
        }
      };
      if (shardingsEqual(node.s, to)) {
        finish(node.cost);
        continue;
      }
      bool refines = true;
      for (int64_t i = 0; i < rank; ++i)
        refines &= target[i] % tiles[i] == 0;
      if (tiles == target)
        finish(node.cost + bytes + kStepCost);
      else if (refines && node.cost < best.cost &&
               analyzeSlice(node.s, to, global, numPartitions))
        finish(node.cost);
      if (depth == kMaxPlanSteps || ++expanded > kMaxPlanNodes)
        continue;
      Mesh mesh(node.s, rank);
      int64_t replicas = mesh.ta.getDim(mesh.replDim);
      auto push = [&](StepKind kind, int64_t src, int64_t dst, int64_t f,
                      bool minor, double stepCost) {
        double cost = node.cost + stepCost + kStepCost;
        if (cost >= best.cost)
          return;
        ShardingAttr result =
            mesh.sharding(context, moveTileFactor(mesh.ta, src, f, minor, dst));
        // Never through the fully replicated sharding.
        if (!result.isTiled() || isTriviallyReplicated(result))
          return;
        auto [it, inserted] = seen.try_emplace(result, cost);
        if (!inserted && it->second <= cost)
          return;
        it->second = cost;
        Node child{result, cost, node.steps};
        child.steps.push_back({kind, src, dst, f, minor, result});
        next.push_back(std::move(child));
      };
      for (int64_t a = 0; a < rank; ++a) {
        // Tiles of dim a the target does not keep.
        int64_t excess = tiles[a] / std::gcd(tiles[a], target[a]);
        // Tiles the target adds to dim a.
        int64_t missing = target[a] % tiles[a] == 0 ? target[a] / tiles[a] : 1;
        for (int64_t b = 0; b < rank && excess > 1; ++b) {
          if (b == a || target[b] % tiles[b] != 0)
            continue;
          int64_t room = std::gcd(excess, target[b] / tiles[b]);
          for (int64_t f : factorsOf(room))
            if ((tiles[a] == f || splitsEvenly(shape[a], tiles[a] / f, f)) &&
                splitsEvenly(shape[b], tiles[b], f))
              push(StepKind::AllToAll, a, b, f, true, bytes * (f - 1) / f);
        }
        // Gathers of any part of the excess: the rest may still move to
        // another dim by an all-to-all. A dim that does not split evenly
        // is coarsened by a halo exchange, or gathered whole.
        bool gatherWhole = false;
        for (int64_t f : factorsOf(excess)) {
          if (tiles[a] == f || splitsEvenly(shape[a], tiles[a] / f, f)) {
            push(StepKind::Gather, a, mesh.replDim, f, true, bytes * (f - 1));
            continue;
          }
          int64_t permutes = haloPermutes(shape[a], tiles[a], f, false);
          push(StepKind::GatherHalo, a, mesh.replDim, f, true,
               bytes * permutes + kStepCost * (permutes - 1));
          gatherWhole = true;
        }
        if (gatherWhole && excess != tiles[a])
          push(StepKind::Gather, a, mesh.replDim, tiles[a], true,
               bytes * (tiles[a] - 1));
        for (int64_t f : factorsOf(std::gcd(replicas, missing))) {
          StepKind kind = StepKind::Slice;
          double cost = 0;
          if (!splitsEvenly(shape[a], tiles[a], f)) {
            int64_t permutes = haloPermutes(shape[a], tiles[a], f, true);
            kind = StepKind::SliceHalo;
            cost = bytes * permutes + kStepCost * permutes;
          }
          push(kind, mesh.replDim, a, f, false, cost);
          if (f != replicas)
            push(kind, mesh.replDim, a, f, true, cost);
        }
      }
    }
    frontier = std::move(next);
  }
  return best;
}

/// All-gathers the minor factor `f` of data dim `dim` of `from` into its
/// replicated subgroup (`result`).
static Value gatherFactor(Spmd &spmd, Value local, ShardingAttr from,
                          ShardingAttr result, RankedTensorType global,
                          int64_t dim, int64_t f) {
  int64_t rank = global.getRank();
  TileAssignment split = splitTileDim(getTileAssignment(from), dim, f);
  ShardingAttr view = getTiledSharding(spmd.getContext(), split);
  local = spmd.allGather(local, dim, getDeviceGroupsForDim(view, dim + 1),
                         "all-gather a factor of a dim's tiles");
  auto type = cast<RankedTensorType>(local.getType());
  int64_t size = getTileShape(result, global.getShape())[dim];
  if (type.getDimSize(dim) != size) {
    SmallVector<int64_t> start(rank, 0), limit(type.getShape());
    limit[dim] = size;
    local = spmd.slice(local, start, limit);
  }
  return local;
}

/// Retiles data dim `dim` of `from` by a halo exchange: coarsened by `f`
/// (the minor factor joins the replicated subgroup) or refined by `f` (a
/// replicated factor becomes its minor factor) into `result`, for dims whose
/// tiles do not split evenly.
static Value haloRetile(Spmd &spmd, Value local, ShardingAttr from,
                        ShardingAttr result, RankedTensorType global,
                        int64_t dim, int64_t f, bool refine) {
  int64_t n = global.getDimSize(dim);
  int64_t k = getTilesPerDim(from, global.getRank())[dim];
  SmallVector<int64_t> start, used;
  int64_t size = haloRanges(n, k, f, refine, start, used);
  local = exchangeHalo(spmd, local, from, global, dim, start, size, used);
  if (!refine)
    return local;
  // The fetched range holds tiles i * f + j, j < f, of `result`: take ours.
  auto type = cast<RankedTensorType>(local.getType());
  SmallVector<Value> starts(type.getRank(), spmd.constantI32(0));
  starts[dim] = spmd.binary(
      "hlo.subtract", spmd.tileOffset(result, dim, global.getShape()),
      spmd.binary("hlo.multiply", spmd.tileIndex(from, dim),
                  spmd.constantI32(size)));
  SmallVector<int64_t> sizes(type.getShape());
  sizes[dim] = getTileShape(result, global.getShape())[dim];
  return spmd.dynamicSlice(local, starts, sizes);
}

/// An all-to-all moving the minor factor `k` of dim `a`'s tiles of `from`
/// to be the minor factor of dim `b`'s tiles (`result`).
static Value allToAllFactor(Spmd &spmd, Value local, ShardingAttr from,
                            ShardingAttr result, RankedTensorType global,
                            int64_t a, int64_t b, int64_t k) {
  int64_t rank = global.getRank();
  TileAssignment mesh = splitTileDim(getTileAssignment(from), a, k);
  hlo::ReplicaGroupsAttr groups =
      getDeviceGroupsForDim(getTiledSharding(spmd.getContext(), mesh), a + 1);
  auto type = cast<RankedTensorType>(local.getType());
  int64_t sa = type.getDimSize(a);
  // The new tile size along b; each old tile is k of them (padded at the
  // end when b was not tiled).
  int64_t cb = getTileShape(result, global.getShape())[b];
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
  // Move the received pieces (dim b) right before a, then merge them into a.
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
  int64_t size = getTileShape(result, global.getShape())[a];
  if (k * sa != size) {
    SmallVector<int64_t> start(rank, 0), limit(merged);
    limit[a] = size;
    local = spmd.slice(local, start, limit);
  }
  return local;
}

/// An all-to-all moving the whole split of dim `a` to dim `b` (not tiled);
/// sets `from` to the resulting sharding.
static Value allToAllMove(Spmd &spmd, Value local, ShardingAttr &from,
                          RankedTensorType global, int64_t a, int64_t b) {
  int64_t rank = global.getRank();
  int64_t k = getTilesPerDim(from, rank)[a];
  Mesh mesh(from, rank);
  ShardingAttr result =
      mesh.sharding(spmd.getContext(), moveTileFactor(mesh.ta, a, k, true, b));
  local = allToAllFactor(spmd, local, from, result, global, a, b, k);
  from = result;
  return local;
}

/// Runs the steps of `plan` on `local`; sets `from` to the sharding reached.
static Value runPlan(Spmd &spmd, Value local, ShardingAttr &from,
                     const Plan &plan, RankedTensorType global) {
  for (const PlanStep &step : plan.steps) {
    switch (step.kind) {
    case StepKind::Gather:
      local = gatherFactor(spmd, local, from, step.result, global, step.src,
                           step.factor);
      break;
    case StepKind::AllToAll:
      local = allToAllFactor(spmd, local, from, step.result, global, step.src,
                             step.dst, step.factor);
      break;
    case StepKind::GatherHalo:
      local = haloRetile(spmd, local, from, step.result, global, step.src,
                         step.factor, /*refine=*/false);
      break;
    case StepKind::SliceHalo:
      local = haloRetile(spmd, local, from, step.result, global, step.dst,
                         step.factor, /*refine=*/true);
      break;
    case StepKind::Slice: {
      Value sliced = sliceTo(spmd, local, from, step.result, global);
      if (!sliced) {
        spmd.error("internal error: reshard plan step " + toString(from) +
                   " -> " + toString(step.result) +
                   " is not a slice within each device's tile");
        return nullptr;
      }
      local = sliced;
      break;
    }
    }
    from = step.result;
  }
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
    // All-to-all: the whole split of `a` moves to `b`, other dims agree (a
    // check on tile counts only, before the O(devices) ones).
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
    // Multi-step plans (all-to-alls, partial gathers, slices of the
    // replicated subgroup, then a slice or a permute).
    if (isManualSubgroup(from) == isManualSubgroup(to)) {
      Plan plan = planReshard(from, to, global, numPartitions());
      if (!plan.steps.empty()) {
        Value before = local;
        local = runPlan(*this, local, from, plan, global);
        if (!local)
          return before;
        if (shardingsEqual(from, to))
          return local;
        if (Value v = sliceTo(*this, local, from, to, global))
          return v;
        if (Value v = permuteTo(*this, local, from, to, global))
          return v;
        error("internal error: the reshard plan from " + toString(recordFrom) +
              " to " + toString(recordTo) + " ends at " + toString(from) +
              ", which reaches the target neither by a slice nor by a "
              "collective-permute");
        return local;
      }
    }
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
