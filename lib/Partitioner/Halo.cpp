//===- Halo.cpp - Exchanging neighbouring shards along a tiled dim --------===//
//
// Ops that move data along a tiled dim (a slice at an offset, later pads
// and windows) need, on the device holding output tile t, a contiguous
// range of the input that may start or end in the neighbouring input tiles.
// `exchangeHalo` brings the input shards of tiles t+j (for the few offsets
// j the ranges need) with one collective-permute each, concatenates them
// with the local shard, and slices each device's range out of that window
// (a dynamic-slice at a per-device offset). Positions outside the input
// read zeros or garbage: callers mask them (a pad's value). A reverse
// reads mirrored tiles: tile t's window is built around tile k-1-t (one
// collective-permute swaps the shards, neighbours fill uneven edges).
//
//===----------------------------------------------------------------------===//

#include "Spmd.h"

using namespace mlir;

namespace gshard::spmd {

std::pair<int64_t, int64_t> haloTileOffsets(int64_t n, int64_t k,
                                            ArrayRef<int64_t> rangeStart,
                                            ArrayRef<int64_t> rangeUsed,
                                            bool mirrored) {
  int64_t shard = (n + k - 1) / k;
  int64_t jmin = 0, jmax = 0;
  for (int64_t t = 0; t < k; ++t) {
    if (rangeUsed[t] == 0)
      continue;
    int64_t first = std::clamp<int64_t>(rangeStart[t], 0, n - 1);
    int64_t last =
        std::clamp<int64_t>(rangeStart[t] + rangeUsed[t] - 1, 0, n - 1);
    int64_t base = mirrored ? k - 1 - t : t;
    jmin = std::min(jmin, first / shard - base);
    jmax = std::max(jmax, last / shard - base);
  }
  return {jmin, jmax};
}

std::pair<int64_t, int64_t> haloPieceRows(int64_t n, int64_t k,
                                          ArrayRef<int64_t> rangeStart,
                                          ArrayRef<int64_t> rangeUsed,
                                          bool mirrored, int64_t j) {
  int64_t shard = (n + k - 1) / k;
  auto [jmin, jmax] = haloTileOffsets(n, k, rangeStart, rangeUsed, mirrored);
  // Inner pieces are whole (some range runs through them); the first piece
  // starts at the earliest row a range reads from its tile, the last ends
  // after the latest one.
  int64_t lo = j == jmin ? shard : 0, hi = j == jmax ? 0 : shard;
  for (int64_t t = 0; t < k; ++t) {
    if (rangeUsed[t] == 0)
      continue;
    int64_t first = std::clamp<int64_t>(rangeStart[t], 0, n - 1);
    int64_t last =
        std::clamp<int64_t>(rangeStart[t] + rangeUsed[t] - 1, 0, n - 1);
    int64_t base = mirrored ? k - 1 - t : t;
    if (j == jmin)
      lo = std::min(lo,
                    std::clamp<int64_t>(first - (base + j) * shard, 0, shard));
    if (j == jmax)
      hi = std::max(
          hi, std::clamp<int64_t>(last - (base + j) * shard + 1, 0, shard));
  }
  return {lo, std::max(lo, hi)};
}

bool haloIsCheaperThanGather(int64_t n, int64_t k, ArrayRef<int64_t> rangeStart,
                             ArrayRef<int64_t> rangeUsed, bool mirrored,
                             bool trimmed) {
  if (trimmed && n > 0) {
    // Rows the collective-permutes move into a device against the k - 1
    // shards an all-gather brings.
    auto [jmin, jmax] = haloTileOffsets(n, k, rangeStart, rangeUsed, mirrored);
    int64_t moved = 0;
    for (int64_t j = jmin; j <= jmax; ++j) {
      if (j == 0 && !mirrored)
        continue;
      auto [lo, hi] = haloPieceRows(n, k, rangeStart, rangeUsed, mirrored, j);
      moved += hi - lo;
    }
    return moved < (k - 1) * ((n + k - 1) / k);
  }
  // An empty input has no tiles to exchange: gather (nothing) instead.
  if (n <= 0)
    return false;
  auto [jmin, jmax] = haloTileOffsets(n, k, rangeStart, rangeUsed, mirrored);
  // One collective-permute per offset, each moving one shard; an all-gather
  // moves k - 1 shards in one collective. Past half the tiles the gather
  // wins.
  return jmax - jmin <= std::max<int64_t>(1, k / 2);
}

Value exchangeHalo(Spmd &spmd, Value local, ShardingAttr s,
                   RankedTensorType global, int64_t dim,
                   ArrayRef<int64_t> rangeStart, int64_t rangeSize,
                   ArrayRef<int64_t> rangeUsed, bool mirrored, bool trimmed) {
  int64_t n = global.getDimSize(dim);
  int64_t k = getTilesPerDim(s, global.getRank())[dim];
  int64_t shard = (n + k - 1) / k;
  assert(int64_t(rangeStart.size()) == k && "one range per tile");
  auto [jmin, jmax] = haloTileOffsets(n, k, rangeStart, rangeUsed, mirrored);
  // Tile t's window starts at input tile base(t) + jmin.
  auto base = [&](int64_t t) { return mirrored ? k - 1 - t : t; };
  // The tile index along `dim` of every device, and its group along `dim`.
  int64_t numDevices = spmd.numPartitions();
  SmallVector<int64_t> tileOf(numDevices, -1);
  for (int64_t d = 0; d < numDevices; ++d)
    if (std::optional<SmallVector<int64_t>> index = getTileIndex(s, d))
      tileOf[d] = (*index)[dim];
  SmallVector<Value> pieces;
  // Trimmed: every piece is only rows [lo, hi) of its tile's shard (the
  // same rows of every shard, so a static slice before the permute).
  int64_t windowLo = 0;
  auto trim = [&](Value v, int64_t j) {
    if (!trimmed)
      return v;
    auto [lo, hi] = haloPieceRows(n, k, rangeStart, rangeUsed, mirrored, j);
    if (j == jmin)
      windowLo = lo;
    auto type = cast<RankedTensorType>(v.getType());
    if (lo == 0 && hi == type.getDimSize(dim))
      return v;
    SmallVector<int64_t> start(type.getRank(), 0), limit(type.getShape());
    start[dim] = lo;
    limit[dim] = hi;
    return spmd.slice(v, start, limit);
  };
  for (int64_t j = jmin; j <= jmax; ++j) {
    if (j == 0 && !mirrored) {
      pieces.push_back(trim(local, j));
      continue;
    }
    // Device d (tile t) receives the shard of tile t + j from the device at
    // that position of its own group along `dim`.
    SmallVector<int64_t> pairs;
    for (int64_t d = 0; d < numDevices; ++d) {
      int64_t t = tileOf[d];
      if (t < 0 || base(t) + j < 0 || base(t) + j >= k)
        continue;
      SmallVector<int64_t> group = getDevicesAlongDims(s, d, {dim});
      pairs.push_back(group[base(t) + j]);
      pairs.push_back(d);
    }
    pieces.push_back(spmd.collectivePermute(trim(local, j), pairs,
                                            "halo from a neighbouring tile"));
  }
  Value window = pieces.front();
  if (pieces.size() > 1) {
    auto type = cast<RankedTensorType>(local.getType());
    SmallVector<int64_t> shape(type.getShape());
    shape[dim] = 0;
    for (Value piece : pieces)
      shape[dim] += cast<RankedTensorType>(piece.getType()).getDimSize(dim);
    window = spmd.create("hlo.concatenate", pieces, withShape(type, shape),
                         {spmd.builder.getNamedAttr(
                             "dimensions",
                             spmd.builder.getDenseI64ArrayAttr({dim}))})
                 ->getResult(0);
  }
  // The window starts at input element (base(t) + jmin) * shard; each
  // device's range starts `rangeStart[t] - (base(t) + jmin) * shard` in it.
  // Ranges that run past the window (past the end of the input: padding) read
  // zeros.
  auto type = cast<RankedTensorType>(window.getType());
  // Ranges that start before the input (a pad's low edge) read zeros from
  // a low padding of the window.
  SmallVector<int64_t> offsets(k);
  int64_t lowPad = 0, highPad = 0;
  for (int64_t t = 0; t < k; ++t) {
    // A range nothing uses (output padding) reads anything in the window.
    offsets[t] = rangeUsed[t] == 0
                     ? 0
                     : rangeStart[t] - (base(t) + jmin) * shard - windowLo;
    lowPad = std::max(lowPad, -offsets[t]);
  }
  for (int64_t t = 0; t < k; ++t) {
    offsets[t] += lowPad;
    highPad = std::max(highPad, offsets[t] + rangeSize -
                                    (type.getDimSize(dim) + lowPad));
  }
  if (lowPad > 0 || highPad > 0) {
    SmallVector<int64_t> low(type.getRank(), 0), high(type.getRank(), 0);
    low[dim] = lowPad;
    high[dim] = std::max<int64_t>(highPad, 0);
    window = spmd.pad(window, spmd.constantScalar(type.getElementType(), 0),
                      low, high);
    type = cast<RankedTensorType>(window.getType());
  }
  SmallVector<int64_t> table(numDevices, 0);
  for (int64_t d = 0; d < numDevices; ++d)
    if (tileOf[d] >= 0)
      table[d] = offsets[tileOf[d]];
  SmallVector<int64_t> sizes(type.getShape());
  sizes[dim] = rangeSize;
  // The same offset everywhere: a static slice (or nothing).
  if (llvm::all_equal(table)) {
    SmallVector<int64_t> start(type.getRank(), 0), limit(sizes);
    start[dim] = table.front();
    limit[dim] = table.front() + rangeSize;
    return spmd.slice(window, start, limit);
  }
  SmallVector<Value> starts;
  for (int64_t i = 0; i < type.getRank(); ++i)
    starts.push_back(i == dim ? spmd.lookup(table) : spmd.constantI32(0));
  return spmd.dynamicSlice(window, starts, sizes);
}

Value replaceOutsideInput(Spmd &spmd, Value exchanged, ShardingAttr s,
                          int64_t dim, ArrayRef<int64_t> rangeStart,
                          int64_t inputSize, Value fill) {
  auto localType = cast<RankedTensorType>(exchanged.getType());
  auto indexType =
      RankedTensorType::get(localType.getShape(), spmd.builder.getI32Type());
  // Element i of tile t holds input index rangeStart[t] + i.
  SmallVector<int64_t> table(spmd.numPartitions(), 0);
  for (int64_t d = 0; d < spmd.numPartitions(); ++d)
    if (std::optional<SmallVector<int64_t>> index = getTileIndex(s, d))
      table[d] = rangeStart[(*index)[dim]];
  Value index =
      spmd.binary("hlo.add", spmd.iota(indexType, dim),
                  spmd.broadcastScalar(spmd.lookup(table), indexType));
  Value inside = spmd.binary(
      "hlo.and",
      spmd.compare(index, spmd.broadcastScalar(spmd.constantI32(0), indexType),
                   hlo::ComparisonDirection::GE),
      spmd.compare(index,
                   spmd.broadcastScalar(spmd.constantI32(inputSize), indexType),
                   hlo::ComparisonDirection::LT));
  return spmd.select(inside, exchanged, spmd.broadcastScalar(fill, localType));
}

} // namespace gshard::spmd
