//===- SliceConcat.cpp - Slice, pad, concatenate, reverse, dynamic slices,
//                       sort, reduce-window
//                       --------------------------------===//
//
// These ops move data only along some dims (the sliced, padded, concatenated,
// reversed, sorted or windowed ones). Those dims are replicated on the
// operands (partial replication, never a full gather unless the result
// itself is only tiled there); every other dim keeps the result's tiling and
// the op runs locally with its attributes rewritten for the local extent of
// the untouched dims. The result is then resharded to its own sharding
// (usually a local slice).
//
//===----------------------------------------------------------------------===//

#include "Spmd.h"

using namespace mlir;

namespace gshard::spmd {

namespace {

/// The result's sharding with `touched` dims replicated, if usable; the
/// dim `keepTiled` (one of them, handled by a halo exchange) keeps its tiling.
ShardingAttr passThrough(ShardingAttr result, int64_t rank,
                         ArrayRef<int64_t> touched, int64_t keepTiled = -1) {
  result = normalizeForTensor(result, rank);
  if (result.isManual() || result.isMaximal() || isManualSubgroup(result))
    return nullptr;
  if (!result.isTiled())
    return result;
  SmallVector<int64_t> replicated;
  for (int64_t d : touched)
    if (d != keepTiled)
      replicated.push_back(d);
  return normalizeForTensor(replicateOnDims(result, replicated), rank);
}

/// The one dim of `touched` that `result` tiles, with its tile count: the
/// dim that may stay tiled through a halo exchange. None when no touched
/// dim or several are tiled.
std::optional<std::pair<int64_t, int64_t>>
singleTiledDim(ShardingAttr result, int64_t rank, ArrayRef<int64_t> touched) {
  result = normalizeForTensor(result, rank);
  if (!result || !result.isTiled())
    return std::nullopt;
  SmallVector<int64_t> tiles = getTilesPerDim(result, rank);
  std::optional<std::pair<int64_t, int64_t>> found;
  for (int64_t d : touched) {
    if (tiles[d] <= 1)
      continue;
    if (found)
      return std::nullopt;
    found = {d, tiles[d]};
  }
  return found;
}

/// The input ranges of the `k` output tiles along a dim of `outSize` when
/// the output is a shifted window of the input (slice, pad): tile t reads
/// from `firstInput + t * shard` and uses as many elements as it holds.
void shiftedTileRanges(int64_t outSize, int64_t k, int64_t firstInput,
                       SmallVectorImpl<int64_t> &rangeStart,
                       SmallVectorImpl<int64_t> &rangeUsed) {
  int64_t shard = (outSize + k - 1) / k;
  for (int64_t t = 0; t < k; ++t) {
    rangeStart.push_back(firstInput + t * shard);
    rangeUsed.push_back(std::clamp<int64_t>(outSize - t * shard, 0, shard));
  }
}

SmallVector<int64_t> localShape(Type type, ShardingAttr s) {
  return SmallVector<int64_t>(
      cast<RankedTensorType>(getLocalType(type, s)).getShape());
}

} // namespace

static LogicalResult partitionSlice(Operation *op, Spmd &spmd) {
  auto slice = cast<hlo::SliceOp>(op);
  auto type = cast<RankedTensorType>(slice.getType());
  auto operandType = cast<RankedTensorType>(slice.getOperand().getType());
  SmallVector<int64_t> start(slice.getStartIndices()),
      limit(slice.getLimitIndices()), strides(slice.getStrides());
  SmallVector<int64_t> touched;
  for (int64_t i = 0; i < type.getRank(); ++i)
    if (start[i] != 0 || limit[i] != operandType.getDimSize(i) ||
        strides[i] != 1)
      touched.push_back(i);
  // One unit-stride sliced dim may stay tiled: each device takes its output
  // range from its own and neighbouring input tiles (halo exchange).
  int64_t haloDim = -1;
  SmallVector<int64_t> rangeStart, rangeUsed;
  if (auto tiled =
          singleTiledDim(getResultSharding(op), type.getRank(), touched)) {
    auto [d, k] = *tiled;
    if (strides[d] == 1) {
      shiftedTileRanges(type.getDimSize(d), k, start[d], rangeStart, rangeUsed);
      if (haloIsCheaperThanGather(operandType.getDimSize(d), k, rangeStart,
                                  rangeUsed))
        haloDim = d;
    }
  }
  ShardingAttr s =
      passThrough(getResultSharding(op), type.getRank(), touched, haloDim);
  if (!s)
    return partitionReplicated(op, spmd);
  Value operand = spmd.operand(slice.getOperand(), s);
  SmallVector<int64_t> local = localShape(operandType, s);
  if (haloDim >= 0) {
    int64_t k = getTilesPerDim(s, type.getRank())[haloDim];
    int64_t outShard = (type.getDimSize(haloDim) + k - 1) / k;
    operand = exchangeHalo(spmd, operand, s, operandType, haloDim, rangeStart,
                           outShard, rangeUsed);
    local[haloDim] = outShard;
    start[haloDim] = 0;
    limit[haloDim] = outShard;
    // The dim is handled: slice only the others below.
    touched.erase(llvm::find(touched, haloDim));
  }
  for (int64_t i = 0; i < type.getRank(); ++i)
    if (!llvm::is_contained(touched, i))
      limit[i] = local[i];
  Operation *clone = spmd.cloneWith(op, operand, getLocalType(type, s));
  clone->setAttr("start_indices", spmd.builder.getDenseI64ArrayAttr(start));
  clone->setAttr("limit_indices", spmd.builder.getDenseI64ArrayAttr(limit));
  spmd.set(op->getResult(0), {clone->getResult(0), s, type});
  return success();
}

static LogicalResult partitionPad(Operation *op, Spmd &spmd) {
  auto pad = cast<hlo::PadOp>(op);
  auto type = cast<RankedTensorType>(pad.getType());
  ArrayRef<int64_t> low = pad.getEdgePaddingLow(),
                    high = pad.getEdgePaddingHigh(),
                    interior = pad.getInteriorPadding();
  SmallVector<int64_t> touched;
  for (int64_t i = 0; i < type.getRank(); ++i)
    if (low[i] || high[i] || interior[i])
      touched.push_back(i);
  // One padded dim without interior padding may stay tiled: each device
  // takes its output range of the input from its own and neighbouring
  // tiles (halo exchange) and fills positions outside the input with the
  // padding value.
  int64_t haloDim = -1;
  SmallVector<int64_t> rangeStart, rangeUsed;
  auto operandType = cast<RankedTensorType>(pad.getOperand().getType());
  if (auto tiled =
          singleTiledDim(getResultSharding(op), type.getRank(), touched)) {
    auto [d, k] = *tiled;
    if (interior[d] == 0) {
      shiftedTileRanges(type.getDimSize(d), k, -low[d], rangeStart, rangeUsed);
      if (haloIsCheaperThanGather(operandType.getDimSize(d), k, rangeStart,
                                  rangeUsed))
        haloDim = d;
    }
  }
  ShardingAttr s =
      passThrough(getResultSharding(op), type.getRank(), touched, haloDim);
  if (!s)
    return partitionReplicated(op, spmd);
  Value operand = spmd.operand(pad.getOperand(), s);
  Value value = spmd.operand(pad.getPaddingValue(),
                             ShardingAttr::getReplicated(op->getContext()));
  Operation *clone;
  if (haloDim >= 0) {
    int64_t n = operandType.getDimSize(haloDim);
    int64_t k = getTilesPerDim(s, type.getRank())[haloDim];
    int64_t outShard = (type.getDimSize(haloDim) + k - 1) / k;
    operand = exchangeHalo(spmd, operand, s, operandType, haloDim, rangeStart,
                           outShard, rangeUsed);
    operand =
        replaceOutsideInput(spmd, operand, s, haloDim, rangeStart, n, value);
    SmallVector<int64_t> newLow(low), newHigh(high);
    newLow[haloDim] = newHigh[haloDim] = 0;
    clone = spmd.cloneWith(op, {operand, value}, getLocalType(type, s));
    clone->setAttr("edge_padding_low",
                   spmd.builder.getDenseI64ArrayAttr(newLow));
    clone->setAttr("edge_padding_high",
                   spmd.builder.getDenseI64ArrayAttr(newHigh));
  } else {
    clone = spmd.cloneWith(op, {operand, value}, getLocalType(type, s));
  }
  spmd.set(op->getResult(0), {clone->getResult(0), s, type});
  return success();
}

static LogicalResult partitionConcatenate(Operation *op, Spmd &spmd) {
  auto concat = cast<hlo::ConcatenateOp>(op);
  auto type = cast<RankedTensorType>(concat.getType());
  int64_t dim = concat.getDimensions()[0];
  ShardingAttr s = passThrough(getResultSharding(op), type.getRank(), {dim});
  if (!s)
    return partitionReplicated(op, spmd);
  SmallVector<Value> operands;
  for (Value input : concat.getInputs())
    operands.push_back(spmd.operand(input, s));
  Operation *clone = spmd.cloneWith(op, operands, getLocalType(type, s));
  spmd.set(op->getResult(0), {clone->getResult(0), s, type});
  return success();
}

static LogicalResult partitionReverse(Operation *op, Spmd &spmd) {
  auto reverse = cast<hlo::ReverseOp>(op);
  auto type = cast<RankedTensorType>(reverse.getType());
  // One reversed dim may stay tiled: output tile t is input range
  // [n - (t+1)*s, n - t*s) reversed, brought by a halo exchange (tile t
  // reads tile k-1-t, and its neighbour when the dim is uneven).
  ArrayRef<int64_t> reversed = reverse.getDimensions();
  int64_t haloDim = -1;
  SmallVector<int64_t> rangeStart, rangeUsed;
  if (auto tiled =
          singleTiledDim(getResultSharding(op), type.getRank(), reversed)) {
    auto [d, k] = *tiled;
    int64_t n = type.getDimSize(d);
    int64_t shard = (n + k - 1) / k;
    for (int64_t t = 0; t < k; ++t) {
      rangeStart.push_back(n - (t + 1) * shard);
      // The valid outputs read the end of the range: keep it all.
      rangeUsed.push_back(n - t * shard > 0 ? shard : 0);
    }
    if (haloIsCheaperThanGather(n, k, rangeStart, rangeUsed,
                                /*mirrored=*/true))
      haloDim = d;
  }
  ShardingAttr s =
      passThrough(getResultSharding(op), type.getRank(), reversed, haloDim);
  if (!s)
    return partitionReplicated(op, spmd);
  Value operand = spmd.operand(reverse.getOperand(), s);
  if (haloDim >= 0) {
    int64_t k = rangeStart.size();
    operand = exchangeHalo(spmd, operand, s, type, haloDim, rangeStart,
                           (type.getDimSize(haloDim) + k - 1) / k, rangeUsed,
                           /*mirrored=*/true);
  }
  Operation *clone = spmd.cloneWith(op, operand, getLocalType(type, s));
  spmd.set(op->getResult(0), {clone->getResult(0), s, type});
  return success();
}

static LogicalResult partitionDynamicSlice(Operation *op, Spmd &spmd) {
  auto ds = cast<hlo::DynamicSliceOp>(op);
  auto type = cast<RankedTensorType>(ds.getType());
  auto operandType = cast<RankedTensorType>(ds.getOperand().getType());
  SmallVector<int64_t> sizes(ds.getDynamicSliceSizes());
  SmallVector<int64_t> touched;
  for (int64_t i = 0; i < type.getRank(); ++i)
    if (sizes[i] != operandType.getDimSize(i))
      touched.push_back(i);
  ShardingAttr s = passThrough(getResultSharding(op), type.getRank(), touched);
  if (!s)
    return partitionReplicated(op, spmd);
  MLIRContext *context = op->getContext();
  SmallVector<Value> operands{spmd.operand(ds.getOperand(), s)};
  SmallVector<int64_t> local = localShape(type, s);
  for (auto [i, index] : llvm::enumerate(ds.getStartIndices())) {
    if (llvm::is_contained(touched, int64_t(i))) {
      operands.push_back(
          spmd.operand(index, ShardingAttr::getReplicated(context)));
    } else {
      auto t = cast<RankedTensorType>(index.getType());
      operands.push_back(spmd.constantScalar(t.getElementType(), 0));
      sizes[i] = local[i];
    }
  }
  Operation *clone = spmd.cloneWith(op, operands, getLocalType(type, s));
  clone->setAttr("dynamic_slice_sizes",
                 spmd.builder.getDenseI64ArrayAttr(sizes));
  spmd.set(op->getResult(0), {clone->getResult(0), s, type});
  return success();
}

static LogicalResult partitionDynamicUpdateSlice(Operation *op, Spmd &spmd) {
  auto dus = cast<hlo::DynamicUpdateSliceOp>(op);
  auto type = cast<RankedTensorType>(dus.getType());
  auto updateType = cast<RankedTensorType>(dus.getUpdate().getType());
  SmallVector<int64_t> touched;
  for (int64_t i = 0; i < type.getRank(); ++i)
    if (updateType.getDimSize(i) != type.getDimSize(i))
      touched.push_back(i);
  ShardingAttr s = passThrough(getResultSharding(op), type.getRank(), touched);
  if (!s)
    return partitionReplicated(op, spmd);
  MLIRContext *context = op->getContext();
  SmallVector<Value> operands{spmd.operand(dus.getOperand(), s),
                              spmd.operand(dus.getUpdate(), s)};
  for (auto [i, index] : llvm::enumerate(dus.getStartIndices())) {
    if (llvm::is_contained(touched, int64_t(i))) {
      operands.push_back(
          spmd.operand(index, ShardingAttr::getReplicated(context)));
    } else {
      auto t = cast<RankedTensorType>(index.getType());
      operands.push_back(spmd.constantScalar(t.getElementType(), 0));
    }
  }
  Operation *clone = spmd.cloneWith(op, operands, getLocalType(type, s));
  spmd.set(op->getResult(0), {clone->getResult(0), s, type});
  return success();
}

static LogicalResult partitionSort(Operation *op, Spmd &spmd) {
  auto sort = cast<hlo::SortOp>(op);
  Type resultType = sort.getType();
  auto tupleType = dyn_cast<TupleType>(resultType);
  auto first = cast<RankedTensorType>(sort.getInputs()[0].getType());
  int64_t dim = sort.getDimensions()[0];
  ShardingAttr result = getResultSharding(op);
  ShardingAttr leaf =
      tupleType ? getTupleElementSharding(result, tupleType, 0) : result;
  if (tupleType)
    for (int64_t i = 1, e = tupleType.size(); i < e; ++i)
      if (!sameSharding(tupleType.getType(i),
                        getTupleElementSharding(result, tupleType, i), leaf))
        return partitionReplicated(op, spmd,
                                   "sort results sharded differently");
  ShardingAttr s = passThrough(leaf, first.getRank(), {dim});
  if (!s)
    return partitionReplicated(op, spmd);
  SmallVector<Value> operands;
  SmallVector<Type> localTypes;
  for (Value input : sort.getInputs()) {
    operands.push_back(spmd.operand(input, s));
    localTypes.push_back(getLocalType(input.getType(), s));
  }
  Type localType = tupleType
                       ? Type(TupleType::get(op->getContext(), localTypes))
                       : localTypes[0];
  Operation *clone = spmd.cloneWith(op, operands, localType);
  ShardingAttr sharding = s;
  if (tupleType)
    sharding = ShardingAttr::getTuple(
        op->getContext(), SmallVector<ShardingAttr>(tupleType.size(), s));
  spmd.set(op->getResult(0), {clone->getResult(0), sharding, resultType});
  return success();
}

static SmallVector<int64_t> windowedDims(hlo::WindowAttr window) {
  SmallVector<int64_t> touched;
  if (!window)
    return touched;
  for (size_t i = 0; i < window.getRank(); ++i) {
    auto at = [&](ArrayRef<int64_t> a, int64_t dflt) {
      return i < a.size() ? a[i] : dflt;
    };
    if (at(window.getSize(), 1) != 1 || at(window.getStride(), 1) != 1 ||
        at(window.getPadLow(), 0) != 0 || at(window.getPadHigh(), 0) != 0 ||
        at(window.getLhsDilate(), 1) != 1 ||
        at(window.getRhsDilate(), 1) != 1 || at(window.getReversal(), 0) != 0)
      touched.push_back(i);
  }
  return touched;
}

static LogicalResult partitionReduceWindow(Operation *op, Spmd &spmd) {
  auto rw = cast<hlo::ReduceWindowOp>(op);
  int64_t n = op->getNumOperands() / 2;
  Type resultType = rw.getType();
  auto tupleType = dyn_cast<TupleType>(resultType);
  auto first = cast<RankedTensorType>(op->getOperand(0).getType());
  ShardingAttr result = getResultSharding(op);
  ShardingAttr leaf =
      tupleType ? getTupleElementSharding(result, tupleType, 0) : result;
  SmallVector<int64_t> windowed = windowedDims(rw.getWindow());
  // One windowed dim (no dilation or reversal) may stay tiled: output tile
  // t reads the input range [t*so*stride - low, ...) of
  // (so-1)*stride + size elements, brought by a halo exchange; positions
  // outside the input take the init value (the window's padding).
  hlo::WindowAttr window = rw.getWindow();
  int64_t haloDim = -1;
  SmallVector<int64_t> rangeStart, rangeUsed;
  int64_t rangeSize = 0;
  std::optional<std::pair<int64_t, int64_t>> tiled;
  if (!tupleType && n == 1)
    tiled = singleTiledDim(leaf, first.getRank(), windowed);
  if (tiled) {
    auto at = [](ArrayRef<int64_t> a, int64_t i, int64_t dflt) {
      return i < int64_t(a.size()) ? a[i] : dflt;
    };
    auto [d, k] = *tiled;
    int64_t size = at(window.getSize(), d, 1);
    int64_t stride = at(window.getStride(), d, 1);
    int64_t low = at(window.getPadLow(), d, 0);
    int64_t m = cast<RankedTensorType>(resultType).getDimSize(d);
    int64_t so = (m + k - 1) / k;
    bool plain = at(window.getLhsDilate(), d, 1) == 1 &&
                 at(window.getRhsDilate(), d, 1) == 1 &&
                 at(window.getReversal(), d, 0) == 0;
    rangeSize = (so - 1) * stride + size;
    for (int64_t t = 0; t < k; ++t) {
      rangeStart.push_back(t * so * stride - low);
      int64_t u = std::clamp<int64_t>(m - t * so, 0, so);
      rangeUsed.push_back(u > 0 ? (u - 1) * stride + size : 0);
    }
    // Rows outside the input are filled with the init value: exact only
    // for identities and idempotent reducers.
    plain &= initFillIsExact(op, rw.getToApplyAttr(), op->getOperand(1));
    if (plain &&
        haloIsCheaperThanGather(first.getDimSize(d), k, rangeStart, rangeUsed))
      haloDim = d;
  }
  ShardingAttr s = passThrough(leaf, first.getRank(), windowed, haloDim);
  if (!s || tupleType)
    return partitionReplicated(op, spmd);
  MLIRContext *context = op->getContext();
  SmallVector<Value> operands;
  for (int64_t i = 0; i < n; ++i)
    operands.push_back(spmd.operand(op->getOperand(i), s));
  for (int64_t i = 0; i < n; ++i)
    operands.push_back(spmd.operand(op->getOperand(n + i),
                                    ShardingAttr::getReplicated(context)));
  if (haloDim >= 0) {
    int64_t inputSize = first.getDimSize(haloDim);
    Value input = exchangeHalo(spmd, operands[0], s, first, haloDim, rangeStart,
                               rangeSize, rangeUsed);
    operands[0] = replaceOutsideInput(spmd, input, s, haloDim, rangeStart,
                                      inputSize, operands[1]);
    int64_t rank = first.getRank();
    SmallVector<int64_t> padLow(rank, 0), padHigh(rank, 0);
    for (int64_t i = 0; i < rank; ++i) {
      if (i < int64_t(window.getPadLow().size()))
        padLow[i] = window.getPadLow()[i];
      if (i < int64_t(window.getPadHigh().size()))
        padHigh[i] = window.getPadHigh()[i];
    }
    padLow[haloDim] = padHigh[haloDim] = 0;
    auto localWindow = hlo::WindowAttr::get(
        context, window.getSize(), window.getStride(), padLow, padHigh,
        window.getLhsDilate(), window.getRhsDilate(), window.getReversal());
    Operation *clone =
        spmd.cloneWith(op, operands, getLocalType(resultType, s));
    clone->setAttr(rw.getWindowAttrName(), localWindow);
    spmd.set(op->getResult(0), {clone->getResult(0), s, resultType});
    return success();
  }
  Operation *clone = spmd.cloneWith(op, operands, getLocalType(resultType, s));
  spmd.set(op->getResult(0), {clone->getResult(0), s, resultType});
  return success();
}

static LogicalResult partitionSelectAndScatter(Operation *op, Spmd &spmd) {
  auto sas = cast<hlo::SelectAndScatterOp>(op);
  auto type = cast<RankedTensorType>(sas.getType());
  ShardingAttr s = passThrough(getResultSharding(op), type.getRank(),
                               windowedDims(sas.getWindowAttr()));
  if (!s)
    return partitionReplicated(op, spmd);
  MLIRContext *context = op->getContext();
  SmallVector<Value> operands{
      spmd.operand(sas.getOperand(), s), spmd.operand(sas.getSource(), s),
      spmd.operand(sas.getInitValue(), ShardingAttr::getReplicated(context))};
  Operation *clone = spmd.cloneWith(op, operands, getLocalType(type, s));
  spmd.set(op->getResult(0), {clone->getResult(0), s, type});
  return success();
}

void registerSliceHandlers(HandlerMap &map) {
  map["hlo.slice"] = partitionSlice;
  map["hlo.pad"] = partitionPad;
  map["hlo.concatenate"] = partitionConcatenate;
  map["hlo.reverse"] = partitionReverse;
  map["hlo.dynamic_slice"] = partitionDynamicSlice;
  map["hlo.dynamic_update_slice"] = partitionDynamicUpdateSlice;
  map["hlo.sort"] = partitionSort;
  map["hlo.reduce_window"] = partitionReduceWindow;
  map["hlo.select_and_scatter"] = partitionSelectAndScatter;
}

} // namespace gshard::spmd
