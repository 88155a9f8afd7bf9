//===- Convolution.cpp - Convolution --------------------------------------===//
//
// A convolution is partitioned like a dot (partitionContraction) over an
// iteration space of
//
//   * batch, output feature and input feature (contracting) dims for an
//     ungrouped convolution: batch and output-feature tilings stay local, a
//     tiled input feature gives partial sums that are all-reduced;
//   * the group dim of a grouped convolution: with feature groups, the lhs
//     input feature, the rhs output feature and the result feature dims
//     all list the groups major-to-minor, so a split of all three into k
//     tiles (k dividing the group count) gives every device whole groups
//     and a local convolution with count/k groups; the rhs input feature
//     (within a group) stays whole. With batch groups the lhs batch dim
//     plays the lhs feature's part, the result batch (within a group)
//     stays whole and the input features are contracted as usual;
//   * the spatial dims of the lhs and the result (output split): output
//     tile t needs the input rows from its first window's start to its
//     last window's end, which run into the neighbouring input tiles.
//     Those rows come from the neighbours by collective-permutes
//     (exchangeHalo, only the rows needed), rows outside the input are
//     zeroed (the convolution's padding), and the local convolution runs
//     on them without padding on that dim (with base dilation: the same
//     local padding on every tile when the tiles start in the same phase,
//     otherwise the rows are dilated locally and each tile slices its
//     positions from its phase);
//   * or, when the rhs splits a spatial dim the result does not (weight-
//     gradient convolutions), the spatial dims of the lhs and the rhs
//     (kernel split): tile t holds a range of kernel taps (zero past the
//     kernel's end), brings the input rows those taps read for every
//     output the same way, convolves with its taps and the partial sums
//     are all-reduced like a contracting dim.
//
// Splits the op cannot make are replicated before planning: group splits
// that do not divide the group count, kernel splits of base-dilated dims,
// splits leaving half the tiles without outputs and halos
// that would move as much as gathering the dim. The kernel's spatial dims
// are always whole.
//
//===----------------------------------------------------------------------===//

#include "Spmd.h"

using namespace mlir;

namespace gshard::spmd {

namespace {

/// The window of one spatial dim, with XLA's defaults filled in.
struct SpatialWindow {
  int64_t size = 1, stride = 1, padLow = 0, padHigh = 0, lhsDilate = 1,
          rhsDilate = 1, reversal = 0;
};

/// The input ranges of the `k` tiles of a split spatial dim: tile t reads
/// input rows from `start[t]` on, `size` rows in all, of which the first
/// `used[t]` must be right; the local convolution pads them by `padLow`
/// and `padHigh` (base dilation only). `valid` is false when the tiles
/// would need different local windows (not handled).
struct HaloRanges {
  SmallVector<int64_t> start, used;
  int64_t size = 0, padLow = 0, padHigh = 0;
  bool valid = true;
  /// Base dilation with tiles in different phases: the local rows are
  /// dilated explicitly and tile t's `positions` dilated positions start
  /// `phase[t]` after its first row (a per-device dynamic-slice).
  bool dilateLocally = false;
  int64_t positions = 0;
  SmallVector<int64_t> phase;
};

int64_t floorDiv(int64_t a, int64_t b) {
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/// The output split: tile t's outputs [t*so, t*so + so) read the positions
/// of the (base-dilated, padded) input from their first window's start to
/// their last window's end, and with them the input rows in that range.
/// Under base dilation the first position may fall on a hole: the local
/// convolution then pads before the first row, the same for every tile
/// when (so * stride) is a multiple of the dilation (otherwise invalid).
HaloRanges outputSplitRanges(const SpatialWindow &w, int64_t outSize,
                             int64_t k) {
  HaloRanges r;
  int64_t so = (outSize + k - 1) / k;
  int64_t span = (w.size - 1) * w.rhsDilate + 1;
  int64_t positions = (so - 1) * w.stride + span;
  int64_t ld = w.lhsDilate;
  for (int64_t t = 0; t < k; ++t) {
    int64_t first = t * so * w.stride - w.padLow;
    // Positions before the first row of the range (on holes).
    int64_t before = ((-first) % ld + ld) % ld;
    int64_t firstRow = (first + before) / ld;
    int64_t lastRow = floorDiv(first + positions - 1, ld);
    if (t == 0) {
      r.size = lastRow - firstRow + 1;
      r.padLow = before;
      r.padHigh = positions - before - ((r.size - 1) * ld + 1);
    }
    r.valid &= before == r.padLow && lastRow - firstRow + 1 == r.size;
    r.start.push_back(firstRow);
    int64_t u = std::clamp<int64_t>(outSize - t * so, 0, so);
    r.used.push_back(u > 0
                         ? floorDiv(first + (u - 1) * w.stride + span - 1, ld) -
                               firstRow + 1
                         : 0);
  }
  r.valid &= r.size >= 1;
  // Dilating locally makes the local convolution multiply ld - 1 zeros per
  // row (a convolution with lhs_dilate skips them): past a dilation of 2
  // that costs more than gathering the dim (024: lhs_dilate 32).
  constexpr int64_t kMaxLocalDilation = 2;
  if (r.valid || ld == 1 || ld > kMaxLocalDilation)
    return r;
  // Tiles in different phases: each reads from the row at or before its
  // first position, as many rows as the longest range needs.
  HaloRanges m;
  m.dilateLocally = true;
  m.positions = positions;
  for (int64_t t = 0; t < k; ++t) {
    int64_t first = t * so * w.stride - w.padLow;
    int64_t firstRow = floorDiv(first, ld);
    m.start.push_back(firstRow);
    m.phase.push_back(first - firstRow * ld);
    m.size =
        std::max(m.size, floorDiv(first + positions - 1, ld) - firstRow + 1);
    int64_t u = std::clamp<int64_t>(outSize - t * so, 0, so);
    m.used.push_back(u > 0
                         ? floorDiv(first + (u - 1) * w.stride + span - 1, ld) -
                               firstRow + 1
                         : 0);
  }
  m.valid = m.size >= 1;
  return m;
}

/// The kernel split (weight-gradient convolutions, where the rhs is split
/// along the same spatial dim as the lhs): tile t holds kernel taps
/// [t*sk, t*sk + sk) (in reversed order under window reversal) and computes
/// every output from them: rows from the first output's first tap to the
/// last output's last tap. The partial sums are all-reduced.
HaloRanges kernelSplitRanges(const SpatialWindow &w, int64_t outSize,
                             int64_t k) {
  HaloRanges r;
  int64_t sk = (w.size + k - 1) / k;
  r.size = (outSize - 1) * w.stride + (sk - 1) * w.rhsDilate + 1;
  for (int64_t t = 0; t < k; ++t) {
    // Local tap j is global tap t*sk + j, or size - (t+1)*sk + j reversed.
    int64_t firstTap = w.reversal ? w.size - (t + 1) * sk : t * sk;
    bool empty = t * sk >= w.size;
    r.start.push_back(empty ? 0 : firstTap * w.rhsDilate - w.padLow);
    r.used.push_back(empty ? 0 : r.size);
  }
  return r;
}

class ConvolutionPartitioner {
public:
  ConvolutionPartitioner(hlo::ConvolutionOp conv, Spmd &spmd)
      : conv(conv), spmd(spmd), dims(conv.getDimLabels()),
        lhsType(cast<RankedTensorType>(conv.getLhs().getType())),
        rhsType(cast<RankedTensorType>(conv.getRhs().getType())),
        outType(cast<RankedTensorType>(conv.getType())),
        windowAttr(conv.getWindowAttr()),
        featureGroups(conv.getFeatureGroupCount().value_or(1)),
        batchGroups(conv.getBatchGroupCount().value_or(1)) {}

  LogicalResult run();

private:
  ContractionSpec buildSpec();
  /// Whether the lhs, the rhs or the result splits a spatial dim.
  bool spatiallySplit();
  /// Whether the tiles of spatial dim i read the input in mirrored order:
  /// a reversed kernel split (tile t's taps read the rows near tile k-1-t).
  bool mirrored(int64_t i) const {
    return kernelSplit[i] && window(i).reversal;
  }
  /// The input ranges of spatial dim i split k ways.
  HaloRanges ranges(int64_t i, int64_t k) const {
    int64_t outSize = outType.getDimSize(dims.getOutputSpatial()[i]);
    return kernelSplit[i] ? kernelSplitRanges(window(i), outSize, k)
                          : outputSplitRanges(window(i), outSize, k);
  }
  ShardingAttr legalize(ShardingAttr iter) const;
  Value buildLocal(ShardingAttr iter, ShardingAttr lhsSharding, Value lhs,
                   Value rhs, ArrayRef<Value> extra, RankedTensorType localOut);

  int64_t numSpatial() const { return dims.getInputSpatial().size(); }
  SpatialWindow window(int64_t i) const;

  hlo::ConvolutionOp conv;
  Spmd &spmd;
  hlo::ConvDimensionNumbersAttr dims;
  RankedTensorType lhsType, rhsType, outType;
  hlo::WindowAttr windowAttr;
  int64_t featureGroups, batchGroups;
  /// Iteration dims: the group dim (-1 when ungrouped) and that of each
  /// spatial dim; whether spatial dim i is split on the kernel (contracted)
  /// rather than on the output.
  int64_t groupIter = -1, iterRank = 0;
  SmallVector<int64_t> spatialIter;
  SmallVector<bool> kernelSplit;
};

SpatialWindow ConvolutionPartitioner::window(int64_t i) const {
  SpatialWindow w;
  w.size = rhsType.getDimSize(dims.getKernelSpatial()[i]);
  hlo::WindowAttr attr = windowAttr;
  if (!attr)
    return w;
  auto at = [&](ArrayRef<int64_t> a, int64_t dflt) {
    return i < int64_t(a.size()) ? a[i] : dflt;
  };
  w.size = at(attr.getSize(), w.size);
  w.stride = at(attr.getStride(), 1);
  w.padLow = at(attr.getPadLow(), 0);
  w.padHigh = at(attr.getPadHigh(), 0);
  w.lhsDilate = at(attr.getLhsDilate(), 1);
  w.rhsDilate = at(attr.getRhsDilate(), 1);
  w.reversal = at(attr.getReversal(), 0);
  return w;
}

ContractionSpec ConvolutionPartitioner::buildSpec() {
  ContractionSpec spec;
  spec.lhsToIter.assign(lhsType.getRank(), -1);
  spec.rhsToIter.assign(rhsType.getRank(), -1);
  spec.outToIter.assign(outType.getRank(), -1);
  // Each iteration dim with the lhs, rhs and result dims it covers (-1:
  // absent from that side).
  auto addIter = [&](int64_t lhs, int64_t rhs, int64_t out) {
    int64_t i = spec.iterRank++;
    spec.iterToLhs.push_back(lhs);
    spec.iterToRhs.push_back(rhs);
    spec.iterToOut.push_back(out);
    if (lhs >= 0)
      spec.lhsToIter[lhs] = i;
    if (rhs >= 0)
      spec.rhsToIter[rhs] = i;
    if (out >= 0)
      spec.outToIter[out] = i;
    return i;
  };
  if (featureGroups > 1) {
    // Batch stays an lhs-only dim; the within-group input features (the
    // kernel's input feature dim) cannot be split.
    spec.lhsOnlyIter.push_back(
        addIter(dims.getInputBatch(), -1, dims.getOutputBatch()));
    groupIter = addIter(dims.getInputFeature(), dims.getKernelOutputFeature(),
                        dims.getOutputFeature());
  } else if (batchGroups > 1) {
    // The result batch is the batch within a group: it cannot be split.
    groupIter = addIter(dims.getInputBatch(), dims.getKernelOutputFeature(),
                        dims.getOutputFeature());
    int64_t c =
        addIter(dims.getInputFeature(), dims.getKernelInputFeature(), -1);
    spec.contractingIter.push_back(c);
    spec.lhsContracting.push_back(dims.getInputFeature());
    spec.rhsContracting.push_back(dims.getKernelInputFeature());
  } else {
    spec.lhsOnlyIter.push_back(
        addIter(dims.getInputBatch(), -1, dims.getOutputBatch()));
    spec.rhsOnlyIter.push_back(
        addIter(-1, dims.getKernelOutputFeature(), dims.getOutputFeature()));
    spec.contractingIter.push_back(
        addIter(dims.getInputFeature(), dims.getKernelInputFeature(), -1));
    spec.lhsContracting.push_back(dims.getInputFeature());
    spec.rhsContracting.push_back(dims.getKernelInputFeature());
  }
  // A spatial dim the rhs splits while the result does not is contracted
  // (kernel split); otherwise the lhs and result share it (output split).
  ShardingAttr rhsOwn =
      normalizeForTensor(spmd.get(conv.getRhs()).sharding, rhsType.getRank());
  ShardingAttr outOwn =
      normalizeForTensor(getResultSharding(conv), outType.getRank());
  auto tilesOf = [](ShardingAttr s, int64_t rank) {
    return s && s.isTiled() ? getTilesPerDim(s, rank)
                            : SmallVector<int64_t>(rank, 1);
  };
  SmallVector<int64_t> rhsTiles = tilesOf(rhsOwn, rhsType.getRank());
  SmallVector<int64_t> outTiles = tilesOf(outOwn, outType.getRank());
  for (int64_t i = 0; i < numSpatial(); ++i) {
    int64_t in = dims.getInputSpatial()[i];
    int64_t kernel = dims.getKernelSpatial()[i];
    int64_t out = dims.getOutputSpatial()[i];
    kernelSplit.push_back(rhsTiles[kernel] > 1 && outTiles[out] == 1);
    if (kernelSplit.back()) {
      spatialIter.push_back(addIter(in, kernel, -1));
      spec.contractingIter.push_back(spatialIter.back());
      spec.lhsContracting.push_back(in);
      spec.rhsContracting.push_back(kernel);
    } else {
      spatialIter.push_back(addIter(in, -1, out));
      spec.lhsOnlyIter.push_back(spatialIter.back());
    }
  }
  iterRank = spec.iterRank;
  // An ungrouped convolution whose lhs and result are whole on every
  // spatial dim is a plain contraction (no candidate splits a spatial dim):
  // partitionContraction handles it alone (windowed einsum included).
  if (groupIter < 0 && !spatiallySplit())
    return spec;
  spec.legalize = [this](ShardingAttr iter) { return legalize(iter); };
  spec.buildLocal = [this](ShardingAttr iter, ShardingAttr lhsSharding,
                           Value lhs, Value rhs, ArrayRef<Value> extra,
                           RankedTensorType localOut) {
    return buildLocal(iter, lhsSharding, lhs, rhs, extra, localOut);
  };
  return spec;
}

bool ConvolutionPartitioner::spatiallySplit() {
  auto splits = [](ShardingAttr s, RankedTensorType type,
                   ArrayRef<int64_t> spatial) {
    s = normalizeForTensor(s, type.getRank());
    if (!s || !s.isTiled())
      return false;
    SmallVector<int64_t> tiles = getTilesPerDim(s, type.getRank());
    return llvm::any_of(spatial, [&](int64_t d) { return tiles[d] > 1; });
  };
  return splits(spmd.get(conv.getLhs()).sharding, lhsType,
                dims.getInputSpatial()) ||
         splits(spmd.get(conv.getRhs()).sharding, rhsType,
                dims.getKernelSpatial()) ||
         splits(getResultSharding(conv), outType, dims.getOutputSpatial());
}

ShardingAttr ConvolutionPartitioner::legalize(ShardingAttr iter) const {
  if (!iter || !iter.isTiled())
    return iter;
  SmallVector<int64_t> tiles = getTilesPerDim(iter, iterRank);
  SmallVector<int64_t> unsplittable;
  if (groupIter >= 0 && tiles[groupIter] > 1 &&
      std::max(featureGroups, batchGroups) % tiles[groupIter] != 0)
    unsplittable.push_back(groupIter);
  for (int64_t i = 0; i < numSpatial(); ++i) {
    int64_t k = tiles[spatialIter[i]];
    if (k <= 1)
      continue;
    SpatialWindow w = window(i);
    int64_t inSize = lhsType.getDimSize(dims.getInputSpatial()[i]);
    int64_t outSize = outType.getDimSize(dims.getOutputSpatial()[i]);
    // Base dilation (output split only) needs the same local window on
    // every tile (HaloRanges::valid).
    // A split that leaves half the tiles or more without outputs (weight-
    // gradient convolutions have output spatial dims of 1) computes on few
    // devices while the others idle; the plan cost (bytes moved) does not
    // see that, nor the halo: keep such dims whole (a heuristic).
    // (For a kernel split: the taps.)
    int64_t split = kernelSplit[i] ? w.size : outSize;
    int64_t outShard = (split + k - 1) / k;
    int64_t busyTiles = outShard > 0 ? (split + outShard - 1) / outShard : 0;
    bool splittable = (w.lhsDilate == 1 || !kernelSplit[i]) &&
                      w.lhsDilate >= 1 && w.size >= 1 && w.stride >= 1 &&
                      w.rhsDilate >= 1 && 2 * busyTiles > k;
    if (splittable && outSize > 0) {
      HaloRanges r = ranges(i, k);
      splittable =
          r.valid && haloIsCheaperThanGather(inSize, k, r.start, r.used,
                                             mirrored(i), /*trimmed=*/true);
    }
    if (!splittable)
      unsplittable.push_back(spatialIter[i]);
  }
  if (unsplittable.empty())
    return iter;
  return normalizeForTensor(replicateOnDims(iter, unsplittable), iterRank);
}

Value ConvolutionPartitioner::buildLocal(ShardingAttr iter,
                                         ShardingAttr lhsSharding, Value lhs,
                                         Value rhs, ArrayRef<Value> extra,
                                         RankedTensorType localOut) {
  MLIRContext *context = conv.getContext();
  SmallVector<int64_t> tiles = iter.isTiled()
                                   ? getTilesPerDim(iter, iterRank)
                                   : SmallVector<int64_t>(iterRank, 1);
  int64_t ns = numSpatial();
  SmallVector<SpatialWindow> windows;
  for (int64_t i = 0; i < ns; ++i)
    windows.push_back(window(i));
  bool windowChanged = false;
  for (int64_t i = 0; i < ns; ++i) {
    int64_t k = tiles[spatialIter[i]];
    if (k <= 1)
      continue;
    // Tile t's input rows, from its own and neighbouring tiles, with rows
    // outside the input (padding, and the garbage past an uneven last
    // tile) zeroed: the local convolution then needs no padding here. A
    // kernel split convolves with the local taps (those past the kernel's
    // end were zeroed by partitionContraction).
    int64_t d = dims.getInputSpatial()[i];
    int64_t inSize = lhsType.getDimSize(d);
    HaloRanges r = ranges(i, k);
    lhs = exchangeHalo(spmd, lhs, lhsSharding, lhsType, d, r.start, r.size,
                       r.used, mirrored(i), /*trimmed=*/true);
    bool outside = false;
    for (int64_t t = 0; t < k; ++t)
      outside |=
          r.used[t] > 0 && (r.start[t] < 0 || r.start[t] + r.used[t] > inSize);
    if (outside)
      lhs =
          replaceOutsideInput(spmd, lhs, lhsSharding, d, r.start, inSize,
                              spmd.constantScalar(lhsType.getElementType(), 0));
    windows[i].padLow = r.padLow;
    windows[i].padHigh = r.padHigh;
    if (r.dilateLocally) {
      // Row j at position j*ld (ld - 1 more zeros at the end so every
      // tile's positions fit), then each tile's positions from its phase;
      // the local convolution has no base dilation.
      int64_t ld = windows[i].lhsDilate;
      auto type = cast<RankedTensorType>(lhs.getType());
      int64_t rank = type.getRank();
      SmallVector<int64_t> low(rank, 0), high(rank, 0), interior(rank, 0);
      high[d] = ld - 1;
      interior[d] = ld - 1;
      lhs = spmd.pad(lhs, spmd.constantScalar(type.getElementType(), 0), low,
                     high, interior);
      SmallVector<int64_t> table(spmd.numPartitions(), 0);
      for (int64_t dev = 0; dev < spmd.numPartitions(); ++dev)
        if (std::optional<SmallVector<int64_t>> index =
                getTileIndex(lhsSharding, dev))
          table[dev] = r.phase[(*index)[d]];
      SmallVector<Value> starts;
      for (int64_t j = 0; j < rank; ++j)
        starts.push_back(j == d ? spmd.lookup(table) : spmd.constantI32(0));
      SmallVector<int64_t> shape(type.getShape());
      shape[d] = r.positions;
      lhs = spmd.dynamicSlice(lhs, starts, shape);
      windows[i].lhsDilate = 1;
      windows[i].padLow = windows[i].padHigh = 0;
    }
    if (kernelSplit[i])
      windows[i].size = (windows[i].size + k - 1) / k;
    windowChanged = true;
  }
  SmallVector<Value> operands{lhs, rhs};
  operands.append(extra.begin(), extra.end());
  Operation *local = spmd.cloneWith(conv, operands, localOut);
  if (windowChanged) {
    SmallVector<int64_t> size, stride, padLow, padHigh, lhsDilate, rhsDilate,
        reversal;
    for (const SpatialWindow &w : windows) {
      size.push_back(w.size);
      stride.push_back(w.stride);
      padLow.push_back(w.padLow);
      padHigh.push_back(w.padHigh);
      lhsDilate.push_back(w.lhsDilate);
      rhsDilate.push_back(w.rhsDilate);
      reversal.push_back(w.reversal);
    }
    local->setAttr(conv.getWindowAttrName(),
                   hlo::WindowAttr::get(context, size, stride, padLow, padHigh,
                                        lhsDilate, rhsDilate, reversal));
  }
  if (groupIter >= 0 && tiles[groupIter] > 1) {
    // Every device holds count/k whole groups.
    auto i64 = IntegerType::get(context, 64);
    int64_t k = tiles[groupIter];
    if (featureGroups > 1)
      local->setAttr(conv.getFeatureGroupCountAttrName(),
                     IntegerAttr::get(i64, featureGroups / k));
    else
      local->setAttr(conv.getBatchGroupCountAttrName(),
                     IntegerAttr::get(i64, batchGroups / k));
  }
  return local->getResult(0);
}

LogicalResult ConvolutionPartitioner::run() {
  if (conv->getNumOperands() != 2)
    return partitionReplicated(conv, spmd, "unexpected convolution form");
  if (featureGroups > 1 && batchGroups > 1)
    return partitionReplicated(conv, spmd,
                               "both feature and batch groups (invalid HLO)");
  int64_t ns = numSpatial();
  if (int64_t(dims.getKernelSpatial().size()) != ns ||
      int64_t(dims.getOutputSpatial().size()) != ns)
    return partitionReplicated(conv, spmd, "unexpected convolution form");
  return partitionContraction(conv, spmd, buildSpec());
}

} // namespace

static LogicalResult partitionConvolution(Operation *op, Spmd &spmd) {
  ConvolutionPartitioner partitioner(cast<hlo::ConvolutionOp>(op), spmd);
  return partitioner.run();
}

void registerConvolutionHandlers(HandlerMap &map) {
  map["hlo.convolution"] = partitionConvolution;
}

} // namespace gshard::spmd
