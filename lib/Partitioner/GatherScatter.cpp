//===- GatherScatter.cpp - Gather and scatter -----------------------------===//
//
// A gather or scatter is an iteration space, like a dot: one dim per batch
// dim of the indices (shared with the gather result's batch dims or the
// scatter updates' scatter dims, and with the operand where it is an
// explicit batching dim), one per operand dim moved whole (passthrough: a
// full slice or update window, shared with a result offset dim or an update
// window dim) and one per indexed operand dim read or written one element
// at a time (trivially sliced: slice or window size 1). A sharding of that
// space is chosen from the operands' and the result's (least bytes moved):
//
//   * index batch dims tiled (index-parallel): each device handles its share
//     of the indices. A gather needs nothing more. A scatter into an operand
//     replicated along those dims combines the devices' partial results
//     with an all-reduce of its combiner: add and multiply start from the
//     operand on one device and from the identity elsewhere; max, min, and,
//     or are idempotent. Other combiners are not split.
//   * passthrough dims tiled (operand passthrough): each device moves its
//     part of every slice; no communication.
//   * trivially sliced dims tiled (operand-parallel): each device looks the
//     indices up in its own shard at `index - offset`. A gather clamps the
//     start first, exactly as the global gather does, zeroes the rows
//     outside its shard and an all-reduce (an or of the bits, so values
//     are exact) combines. A scatter needs nothing: an update outside the
//     local shard is out of bounds there and dropped, exactly as it is on
//     the whole operand unless this device owns it.
//
// Dims outside the space (partial slices or windows, indexed dims of wider
// slices, the index vector dim) are replicated.
//
//===----------------------------------------------------------------------===//

#include "Spmd.h"

using namespace mlir;

namespace gshard::spmd {

namespace {

enum class IterKind { IndexBatch, OperandBatch, Passthrough, TrivialSliced };

/// The iteration space. "Out" is the gather result or the scatter updates.
struct Space {
  SmallVector<IterKind> kinds;
  SmallVector<int64_t> operandToIter, indicesToIter, outToIter;
  SmallVector<int64_t> iterToOperand, iterToIndices, iterToOut;
  /// Out dims that take the indices' batch dims, in order.
  SmallVector<int64_t> outBatchDims;

  int64_t rank() const { return kinds.size(); }
  SmallVector<int64_t> dimsOf(std::initializer_list<IterKind> wanted) const {
    SmallVector<int64_t> dims;
    for (auto [i, kind] : llvm::enumerate(kinds))
      if (llvm::is_contained(wanted, kind))
        dims.push_back(i);
    return dims;
  }
};

/// The operand/indices/out shapes of a gather or scatter, in the terms both
/// share.
struct SpaceInput {
  ArrayRef<int64_t> operandShape;
  int64_t indicesRank, indexVectorDim, outRank;
  /// Out window dims (gather offset_dims, scatter update_window_dims) and
  /// the operand dims they take, in order.
  ArrayRef<int64_t> outWindowDims;
  SmallVector<int64_t> operandWindowDims;
  ArrayRef<int64_t> operandBatching, indicesBatching;
  /// Operand dims the index vector addresses.
  ArrayRef<int64_t> indexed;
  /// Slice (window) size per operand dim.
  SmallVector<int64_t> windowSize;
};

Space buildSpace(const SpaceInput &in) {
  Space s;
  int64_t operandRank = in.operandShape.size();
  s.operandToIter.assign(operandRank, -1);
  s.indicesToIter.assign(in.indicesRank, -1);
  s.outToIter.assign(in.outRank, -1);
  for (int64_t o = 0; o < in.outRank; ++o)
    if (!llvm::is_contained(in.outWindowDims, o))
      s.outBatchDims.push_back(o);
  auto add = [&](IterKind kind) {
    s.kinds.push_back(kind);
    return s.rank() - 1;
  };
  int64_t b = 0;
  for (int64_t i = 0; i < in.indicesRank; ++i) {
    if (i == in.indexVectorDim)
      continue;
    int64_t iter = add(IterKind::IndexBatch);
    s.indicesToIter[i] = iter;
    s.outToIter[s.outBatchDims[b++]] = iter;
  }
  for (auto [j, d] : llvm::enumerate(in.operandBatching)) {
    int64_t iter = s.indicesToIter[in.indicesBatching[j]];
    s.kinds[iter] = IterKind::OperandBatch;
    s.operandToIter[d] = iter;
  }
  for (auto [w, d] : llvm::enumerate(in.operandWindowDims)) {
    if (in.windowSize[d] != in.operandShape[d])
      continue;
    int64_t iter = add(IterKind::Passthrough);
    s.operandToIter[d] = iter;
    s.outToIter[in.outWindowDims[w]] = iter;
  }
  for (int64_t d : in.indexed)
    if (s.operandToIter[d] < 0 && in.windowSize[d] == 1)
      s.operandToIter[d] = add(IterKind::TrivialSliced);
  auto invert = [&](ArrayRef<int64_t> toIter, SmallVector<int64_t> &toDim) {
    toDim.assign(s.rank(), -1);
    for (auto [d, iter] : llvm::enumerate(toIter))
      if (iter >= 0)
        toDim[iter] = d;
  };
  invert(s.operandToIter, s.iterToOperand);
  invert(s.indicesToIter, s.iterToIndices);
  invert(s.outToIter, s.iterToOut);
  return s;
}

/// Operand, indices and out shardings implied by a sharding of the space.
struct Plan {
  ShardingAttr iter, operand, indices, out;
  /// Tiled iteration dims: index batch dims (devices hold different
  /// indices of a shared operand) and trivially sliced dims.
  SmallVector<int64_t> indexTiled, slicedTiled;
  double cost = 0;
};

Plan makePlan(const Space &space, ShardingAttr iter, int64_t operandRank,
              int64_t indicesRank, int64_t outRank) {
  Plan plan;
  plan.iter = iter;
  plan.operand =
      normalizeForTensor(project(iter, space.dimsOf({IterKind::IndexBatch}),
                                 space.iterToOperand, operandRank),
                         operandRank);
  plan.indices = normalizeForTensor(
      project(iter,
              space.dimsOf({IterKind::Passthrough, IterKind::TrivialSliced}),
              space.iterToIndices, indicesRank),
      indicesRank);
  plan.out =
      normalizeForTensor(project(iter, space.dimsOf({IterKind::TrivialSliced}),
                                 space.iterToOut, outRank),
                         outRank);
  if (iter.isTiled()) {
    SmallVector<int64_t> tiles = getTilesPerDim(iter, space.rank());
    for (int64_t i = 0; i < space.rank(); ++i) {
      if (tiles[i] == 1)
        continue;
      if (space.kinds[i] == IterKind::IndexBatch)
        plan.indexTiled.push_back(i);
      if (space.kinds[i] == IterKind::TrivialSliced)
        plan.slicedTiled.push_back(i);
    }
  }
  return plan;
}

/// Shardings this handler leaves to the replicated fallback: manual ones,
/// and maximal ones on the result. (A maximal operand is broadcast by the
/// reshard like any other.)
bool hasManualPart(ShardingAttr s) {
  return s.isManual() || isManualSubgroup(s);
}
bool isManualLike(ShardingAttr s) { return hasManualPart(s) || s.isMaximal(); }

/// A sharding of the space from a value's (dims outside the space
/// replicated), or null when nothing of it is tiled in the space.
ShardingAttr toSpace(const Space &space, ShardingAttr s,
                     ArrayRef<int64_t> toIter) {
  if (!s.isTiled())
    return nullptr;
  SmallVector<int64_t> unmapped;
  for (auto [i, iter] : llvm::enumerate(toIter))
    if (iter < 0)
      unmapped.push_back(i);
  ShardingAttr partial = replicateOnDims(s, unmapped);
  if (!partial.isTiled())
    return nullptr;
  return mapDims(partial, toIter, space.rank());
}

/// The candidate shardings of the space: each given one, the pairwise
/// merges of the first with the others, then replicated.
SmallVector<ShardingAttr> candidates(MLIRContext *context,
                                     ArrayRef<ShardingAttr> fromValues) {
  SmallVector<ShardingAttr> result;
  for (ShardingAttr s : fromValues)
    if (s)
      result.push_back(s);
  for (size_t i = 0; i < fromValues.size(); ++i)
    for (size_t j = i + 1; j < fromValues.size(); ++j)
      if (fromValues[i] && fromValues[j])
        if (std::optional<ShardingAttr> m =
                mergeShardingIfCompatible(fromValues[j], fromValues[i], 1))
          result.push_back(*m);
  result.push_back(ShardingAttr::getReplicated(context));
  return result;
}

/// The entries of the index vector of `indices` (along `indexVectorDim`;
/// the whole tensor when that is its rank), each keeping a unit dim there.
SmallVector<Value> splitIndexVector(Spmd &spmd, Value indices,
                                    int64_t indexVectorDim, int64_t count) {
  auto type = cast<RankedTensorType>(indices.getType());
  if (indexVectorDim == type.getRank())
    return {indices};
  SmallVector<Value> entries;
  SmallVector<int64_t> start(type.getRank(), 0),
      limit(type.getShape().begin(), type.getShape().end());
  for (int64_t j = 0; j < count; ++j) {
    start[indexVectorDim] = j;
    limit[indexVectorDim] = j + 1;
    entries.push_back(spmd.slice(indices, start, limit));
  }
  return entries;
}

Value joinIndexVector(Spmd &spmd, ArrayRef<Value> entries,
                      int64_t indexVectorDim) {
  if (entries.size() == 1)
    return entries[0];
  auto type = cast<RankedTensorType>(entries[0].getType());
  SmallVector<int64_t> shape(type.getShape());
  shape[indexVectorDim] = entries.size();
  return spmd
      .create("hlo.concatenate", entries, withShape(type, shape),
              {spmd.builder.getNamedAttr(
                  "dimensions",
                  spmd.builder.getDenseI64ArrayAttr({indexVectorDim}))})
      ->getResult(0);
}

Value splat(Spmd &spmd, Value like, double value) {
  auto type = cast<RankedTensorType>(like.getType());
  return spmd.broadcastScalar(spmd.constantScalar(type.getElementType(), value),
                              type);
}

/// Largest value of an integer type (capped at 2^62, exact as a double).
int64_t maxOfIntType(IntegerType type) {
  unsigned bits = type.getWidth() - (type.isUnsigned() ? 0 : 1);
  return bits >= 62 ? int64_t(1) << 62 : (int64_t(1) << bits) - 1;
}

/// The shard size of operand dim `dim` under `s`.
int64_t shardSize(ShardingAttr s, RankedTensorType type, int64_t dim) {
  int64_t k = getTilesPerDim(s, type.getRank())[dim];
  return (type.getDimSize(dim) + k - 1) / k;
}

/// Combines values of which exactly one device in each group holds the
/// real one and the others zeros: an or of the bits (exact for every
/// value, -0 and NaN payloads included), an add for complex types.
Value combineOneHot(Spmd &spmd, Value v, hlo::ReplicaGroupsAttr groups,
                    StringRef reason) {
  auto type = cast<RankedTensorType>(v.getType());
  Type element = type.getElementType();
  MLIRContext *context = spmd.getContext();
  if (auto f = dyn_cast<FloatType>(element)) {
    auto bitsType = IntegerType::get(context, f.getWidth());
    auto intTensor = RankedTensorType::get(type.getShape(), bitsType);
    Value bits = spmd.create("hlo.bitcast_convert", v, intTensor)->getResult(0);
    bits = spmd.allReduce(
        bits, groups, spmd.state.getReducer(ReduceKind::Or, bitsType), reason);
    return spmd.create("hlo.bitcast_convert", bits, type)->getResult(0);
  }
  ReduceKind kind =
      isa<IntegerType>(element) ? ReduceKind::Or : ReduceKind::Add;
  return spmd.allReduce(v, groups, spmd.state.getReducer(kind, element),
                        reason);
}

/// The scalar combiner of a single-input scatter, when it is one binary op
/// of its two parameters.
std::optional<ReduceKind> combinerKind(Operation *op,
                                       FlatSymbolRefAttr combiner) {
  Operation *root = binaryReducerRoot(op, combiner);
  if (!root)
    return std::nullopt;
  if (isa<hlo::AddOp>(root))
    return ReduceKind::Add;
  if (isa<hlo::MultiplyOp>(root))
    return ReduceKind::Mul;
  if (isa<hlo::MaximumOp>(root))
    return ReduceKind::Max;
  if (isa<hlo::MinimumOp>(root))
    return ReduceKind::Min;
  if (isa<hlo::AndOp>(root))
    return ReduceKind::And;
  if (isa<hlo::OrOp>(root))
    return ReduceKind::Or;
  return std::nullopt;
}

} // namespace

//===----------------------------------------------------------------------===//
// Gather
//===----------------------------------------------------------------------===//

static LogicalResult partitionGather(Operation *op, Spmd &spmd) {
  auto gather = cast<hlo::GatherOp>(op);
  MLIRContext *context = op->getContext();
  auto operandType = cast<RankedTensorType>(gather.getOperand().getType());
  auto indicesType = cast<RankedTensorType>(gather.getStartIndices().getType());
  auto outType = cast<RankedTensorType>(gather.getType());
  int64_t operandRank = operandType.getRank();
  int64_t indicesRank = indicesType.getRank();
  int64_t outRank = outType.getRank();
  ArrayRef<int64_t> sliceSizes = gather.getSliceSizes();
  int64_t indexVectorDim = gather.getIndexVectorDim();
  ArrayRef<int64_t> startIndexMap = gather.getStartIndexMap();

  ShardingAttr result = normalizeForTensor(getResultSharding(op), outRank);
  PValue operand = spmd.get(gather.getOperand());
  PValue indices = spmd.get(gather.getStartIndices());
  ShardingAttr operandOwn = normalizeForTensor(operand.sharding, operandRank);
  ShardingAttr indicesOwn = normalizeForTensor(indices.sharding, indicesRank);
  if (isManualLike(result) || hasManualPart(operandOwn) ||
      hasManualPart(indicesOwn))
    return partitionReplicated(op, spmd);
  if (llvm::is_contained(sliceSizes, 0))
    return partitionReplicated(op, spmd, "empty slices");

  SpaceInput in;
  in.operandShape = operandType.getShape();
  in.indicesRank = indicesRank;
  in.indexVectorDim = indexVectorDim;
  in.outRank = outRank;
  in.outWindowDims = gather.getOffsetDims();
  in.operandBatching =
      gather.getOperandBatchingDims().value_or(ArrayRef<int64_t>());
  in.indicesBatching =
      gather.getStartIndicesBatchingDims().value_or(ArrayRef<int64_t>());
  for (int64_t d = 0; d < operandRank; ++d)
    if (!llvm::is_contained(gather.getCollapsedSliceDims(), d) &&
        !llvm::is_contained(in.operandBatching, d))
      in.operandWindowDims.push_back(d);
  in.indexed = startIndexMap;
  in.windowSize.assign(sliceSizes.begin(), sliceSizes.end());
  Space space = buildSpace(in);

  // Rebasing indices works on s32 starts after the gather's own clamp.
  auto indexElement = dyn_cast<IntegerType>(indicesType.getElementType());
  bool canRebase = indexElement && indexElement.getWidth() > 1 &&
                   llvm::all_of(operandType.getShape(), [](int64_t n) {
                     return n < (int64_t(1) << 31);
                   });

  Plan best;
  bool haveBest = false;
  for (ShardingAttr iter :
       candidates(context, {toSpace(space, operandOwn, space.operandToIter),
                            toSpace(space, indicesOwn, space.indicesToIter),
                            toSpace(space, result, space.outToIter)})) {
    Plan plan = makePlan(space, iter, operandRank, indicesRank, outRank);
    if (!plan.slicedTiled.empty() && !canRebase)
      continue;
    plan.cost = reshardCost(operandOwn, plan.operand, operandType) +
                reshardCost(indicesOwn, plan.indices, indicesType) +
                reshardCost(plan.out, result, outType);
    if (!plan.slicedTiled.empty())
      plan.cost += getByteSize(getLocalType(outType, plan.out));
    if (!haveBest || plan.cost < best.cost) {
      best = plan;
      haveBest = true;
    }
  }

  Value operandLocal = spmd.reshard(operand, best.operand);
  Value indicesLocal = spmd.reshard(indices, best.indices);
  if (spmd.hadError)
    return failure();
  // Passthrough dims take the whole local extent.
  auto operandLocalType = cast<RankedTensorType>(operandLocal.getType());
  SmallVector<int64_t> localSlice(sliceSizes);
  for (int64_t i : space.dimsOf({IterKind::Passthrough}))
    localSlice[space.iterToOperand[i]] =
        operandLocalType.getDimSize(space.iterToOperand[i]);

  Value inShard;
  if (!best.slicedTiled.empty()) {
    // Each start clamped to [0, n - slice] as the global gather does (in
    // the index type, so that no start wraps), then rebased to this
    // device's shard along the tiled trivially sliced dims.
    SmallVector<Value> entries = splitIndexVector(
        spmd, indicesLocal, indexVectorDim, startIndexMap.size());
    for (auto [j, d] : llvm::enumerate(startIndexMap)) {
      Value start = entries[j];
      if (!indexElement.isUnsigned())
        start = spmd.binary("hlo.maximum", start, splat(spmd, start, 0));
      int64_t hi = operandType.getDimSize(d) - sliceSizes[d];
      if (hi < maxOfIntType(indexElement))
        start = spmd.binary("hlo.minimum", start, splat(spmd, start, hi));
      start = spmd.convert(start, spmd.builder.getI32Type());
      if (llvm::is_contained(best.slicedTiled, space.operandToIter[d])) {
        Value offset = spmd.tileOffset(best.operand, d, operandType.getShape());
        start = spmd.binary("hlo.subtract", start,
                            spmd.broadcastScalar(offset, cast<RankedTensorType>(
                                                             start.getType())));
        Value low = spmd.compare(start, splat(spmd, start, 0),
                                 hlo::ComparisonDirection::GE);
        Value high = spmd.compare(
            start, splat(spmd, start, shardSize(best.operand, operandType, d)),
            hlo::ComparisonDirection::LT);
        Value here = spmd.binary("hlo.and", low, high);
        inShard = inShard ? spmd.binary("hlo.and", inShard, here) : here;
      }
      entries[j] = start;
    }
    indicesLocal = joinIndexVector(spmd, entries, indexVectorDim);
  }

  auto localOut = cast<RankedTensorType>(getLocalType(outType, best.out));
  Operation *clone = spmd.cloneWith(op, {operandLocal, indicesLocal}, localOut);
  clone->setAttr("slice_sizes", spmd.builder.getDenseI64ArrayAttr(localSlice));
  Value local = clone->getResult(0);
  if (inShard) {
    // Rows whose start lies in another device's shard read a clamped,
    // unrelated row here: zero them, then combine the one real row.
    auto maskType = cast<RankedTensorType>(inShard.getType());
    SmallVector<int64_t> batchShape;
    for (int64_t i = 0; i < maskType.getRank(); ++i)
      if (i != indexVectorDim)
        batchShape.push_back(maskType.getDimSize(i));
    Value mask = spmd.reshape(inShard, batchShape);
    mask =
        spmd.create("hlo.broadcast", mask,
                    RankedTensorType::get(localOut.getShape(),
                                          spmd.builder.getI1Type()),
                    {spmd.builder.getNamedAttr(
                        "dimensions",
                        spmd.builder.getDenseI64ArrayAttr(space.outBatchDims))})
            ->getResult(0);
    local = spmd.select(mask, local, spmd.zeros(localOut));
    spmd.recordFrom = best.iter;
    spmd.recordTo = best.out;
    local = combineOneHot(
        spmd, local, getDeviceGroupsForDims(best.iter, best.slicedTiled),
        "gather rows from the operand shards along trivially sliced dims");
    spmd.recordFrom = spmd.recordTo = nullptr;
  }
  spmd.set(op->getResult(0), {local, best.out, outType});
  return success();
}

//===----------------------------------------------------------------------===//
// Scatter
//===----------------------------------------------------------------------===//

static LogicalResult partitionScatter(Operation *op, Spmd &spmd) {
  auto scatter = cast<hlo::ScatterOp>(op);
  MLIRContext *context = op->getContext();
  OperandRange args = scatter.getArgs();
  int64_t numInputs = (args.size() - 1) / 2;
  OperandRange inputs = args.take_front(numInputs);
  Value indicesValue = args[numInputs];
  OperandRange updates = args.drop_front(numInputs + 1);
  auto operandType = cast<RankedTensorType>(inputs[0].getType());
  auto indicesType = cast<RankedTensorType>(indicesValue.getType());
  auto updatesType = cast<RankedTensorType>(updates[0].getType());
  int64_t operandRank = operandType.getRank();
  int64_t indicesRank = indicesType.getRank();
  int64_t updatesRank = updatesType.getRank();
  int64_t indexVectorDim = scatter.getIndexVectorDim();
  ArrayRef<int64_t> indexed = scatter.getScatterDimsToOperandDims();
  Type resultType = op->getResult(0).getType();
  auto tupleType = dyn_cast<TupleType>(resultType);

  ShardingAttr resultSharding = getResultSharding(op);
  ShardingAttr result =
      tupleType ? getTupleElementSharding(resultSharding, tupleType, 0)
                : resultSharding;
  result = normalizeForTensor(result, operandRank);
  if (tupleType)
    for (int64_t i = 1; i < numInputs; ++i)
      if (!sameSharding(tupleType.getType(i),
                        getTupleElementSharding(resultSharding, tupleType, i),
                        result))
        return partitionReplicated(op, spmd,
                                   "the results are sharded differently");
  PValue operand = spmd.get(inputs[0]);
  PValue indices = spmd.get(indicesValue);
  PValue update = spmd.get(updates[0]);
  ShardingAttr operandOwn = normalizeForTensor(operand.sharding, operandRank);
  ShardingAttr indicesOwn = normalizeForTensor(indices.sharding, indicesRank);
  ShardingAttr updatesOwn = normalizeForTensor(update.sharding, updatesRank);
  bool manual = isManualLike(result);
  for (Value v : args)
    manual |= hasManualPart(normalizeForTensor(
        spmd.get(v).sharding, cast<RankedTensorType>(v.getType()).getRank()));
  if (manual)
    return partitionReplicated(op, spmd);
  if (operandType.getNumElements() == 0 || updatesType.getNumElements() == 0)
    return partitionReplicated(op, spmd, "empty operand or updates");

  SpaceInput in;
  in.operandShape = operandType.getShape();
  in.indicesRank = indicesRank;
  in.indexVectorDim = indexVectorDim;
  in.outRank = updatesRank;
  in.outWindowDims = scatter.getUpdateWindowDims();
  in.operandBatching =
      scatter.getInputBatchingDims().value_or(ArrayRef<int64_t>());
  in.indicesBatching =
      scatter.getScatterIndicesBatchingDims().value_or(ArrayRef<int64_t>());
  in.windowSize.assign(operandRank, 1);
  for (int64_t d = 0; d < operandRank; ++d)
    if (!llvm::is_contained(scatter.getInsertedWindowDims(), d) &&
        !llvm::is_contained(in.operandBatching, d))
      in.operandWindowDims.push_back(d);
  for (auto [w, d] : llvm::enumerate(in.operandWindowDims))
    in.windowSize[d] = updatesType.getDimSize(in.outWindowDims[w]);
  in.indexed = indexed;
  Space space = buildSpace(in);

  // Rebasing converts the indices to a signed type holding every value.
  auto indexElement = dyn_cast<IntegerType>(indicesType.getElementType());
  Type rebaseType;
  if (indexElement && indexElement.getWidth() > 1) {
    unsigned width = indexElement.getWidth();
    if (width < 32 || (width == 32 && !indexElement.isUnsigned()))
      rebaseType = spmd.builder.getI32Type();
    else if (width < 64 || !indexElement.isUnsigned())
      rebaseType = spmd.builder.getI64Type();
  }
  // Index-parallel needs a combiner whose partial results combine.
  Type element = operandType.getElementType();
  std::optional<ReduceKind> kind;
  if (numInputs == 1)
    kind = combinerKind(op, scatter.getToApplyAttr());
  bool isPred = element.isInteger(1);
  // Sums and products of a narrow float type (bf16, f16, f8) are not split:
  // the original rounds after every update, and a reassociated sum differs
  // by ulps that a wider result type makes visible.
  auto narrowFloat = dyn_cast<FloatType>(element);
  if (kind && (*kind == ReduceKind::Add || *kind == ReduceKind::Mul) &&
      (isPred || (narrowFloat && narrowFloat.getWidth() < 32)))
    kind.reset();
  if (kind && (*kind == ReduceKind::And || *kind == ReduceKind::Or) &&
      !isa<IntegerType>(element))
    kind.reset();
  if (kind && (*kind == ReduceKind::Max || *kind == ReduceKind::Min) &&
      isa<ComplexType>(element))
    kind.reset();

  auto unevenIndexDims = [&](const Plan &plan) {
    SmallVector<int64_t> dims;
    SmallVector<int64_t> tiles = getTilesPerDim(plan.iter, space.rank());
    for (int64_t i : plan.indexTiled) {
      int64_t n = indicesType.getDimSize(space.iterToIndices[i]);
      if (n % tiles[i] != 0)
        dims.push_back(space.iterToIndices[i]);
    }
    return dims;
  };

  Plan best;
  bool haveBest = false;
  for (ShardingAttr iter :
       candidates(context, {toSpace(space, operandOwn, space.operandToIter),
                            toSpace(space, indicesOwn, space.indicesToIter),
                            toSpace(space, updatesOwn, space.outToIter),
                            toSpace(space, result, space.operandToIter)})) {
    Plan plan = makePlan(space, iter, operandRank, indicesRank, updatesRank);
    if (!plan.indexTiled.empty() && !kind)
      continue;
    bool needsRebase =
        !plan.slicedTiled.empty() ||
        (!plan.indexTiled.empty() && !unevenIndexDims(plan).empty());
    if (needsRebase && (!rebaseType || indexed.empty()))
      continue;
    plan.cost =
        numInputs * (reshardCost(operandOwn, plan.operand, operandType) +
                     reshardCost(updatesOwn, plan.out, updatesType) +
                     reshardCost(plan.operand, result, operandType)) +
        reshardCost(indicesOwn, plan.indices, indicesType);
    if (!plan.indexTiled.empty())
      plan.cost += getByteSize(getLocalType(operandType, plan.operand));
    if (!haveBest || plan.cost < best.cost) {
      best = plan;
      haveBest = true;
    }
  }

  SmallVector<Value> operands;
  for (Value input : inputs)
    operands.push_back(spmd.operand(input, best.operand));
  Value indicesLocal = spmd.reshard(indices, best.indices);
  if (spmd.hadError)
    return failure();
  if (!best.indexTiled.empty() &&
      (*kind == ReduceKind::Add || *kind == ReduceKind::Mul)) {
    // Only the first device along the index-parallel dims starts from the
    // operand; the others start from the identity, so the all-reduce counts
    // the operand once.
    Value first;
    for (int64_t t : best.indexTiled) {
      Value isFirst =
          spmd.compare(spmd.tileIndex(best.iter, t), spmd.constantI32(0),
                       hlo::ComparisonDirection::EQ);
      first = first ? spmd.binary("hlo.and", first, isFirst) : isFirst;
    }
    auto type = cast<RankedTensorType>(operands[0].getType());
    Value pred = spmd.broadcastScalar(
        first,
        RankedTensorType::get(type.getShape(), spmd.builder.getI1Type()));
    operands[0] =
        spmd.select(pred, operands[0],
                    splat(spmd, operands[0], *kind == ReduceKind::Add ? 0 : 1));
  }
  SmallVector<int64_t> uneven =
      best.indexTiled.empty() ? SmallVector<int64_t>() : unevenIndexDims(best);
  if (!best.slicedTiled.empty() || !uneven.empty()) {
    indicesLocal = spmd.convert(indicesLocal, rebaseType);
    SmallVector<Value> entries =
        splitIndexVector(spmd, indicesLocal, indexVectorDim, indexed.size());
    // Padding rows of unevenly split indices would scatter garbage: make
    // them out of bounds, so they are dropped.
    if (!uneven.empty())
      entries[0] = spmd.maskPadding(
          entries[0], best.indices,
          RankedTensorType::get(indicesType.getShape(), rebaseType), uneven,
          spmd.constantScalar(
              rebaseType, double(maxOfIntType(cast<IntegerType>(rebaseType)))));
    // Starts in another device's shard are out of bounds locally and
    // dropped, as the global scatter drops out-of-bounds updates.
    for (auto [j, d] : llvm::enumerate(indexed)) {
      if (!llvm::is_contained(best.slicedTiled, space.operandToIter[d]))
        continue;
      Value offset = spmd.convert(
          spmd.tileOffset(best.operand, d, operandType.getShape()), rebaseType);
      entries[j] = spmd.binary(
          "hlo.subtract", entries[j],
          spmd.broadcastScalar(offset,
                               cast<RankedTensorType>(entries[j].getType())));
    }
    indicesLocal = joinIndexVector(spmd, entries, indexVectorDim);
  }
  operands.push_back(indicesLocal);
  for (Value u : updates)
    operands.push_back(spmd.operand(u, best.out));
  if (spmd.hadError)
    return failure();
  Type localResult = getLocalType(resultType, best.operand);
  Value local = spmd.cloneWith(op, operands, localResult)->getResult(0);
  if (!best.indexTiled.empty()) {
    spmd.recordFrom = best.iter;
    spmd.recordTo = best.operand;
    local = spmd.allReduce(local,
                           getDeviceGroupsForDims(best.iter, best.indexTiled),
                           spmd.state.getReducer(*kind, element),
                           "combine scatters of index-parallel shards");
    spmd.recordFrom = spmd.recordTo = nullptr;
  }
  spmd.set(op->getResult(0), {local, best.operand, resultType});
  return success();
}

void registerGatherScatterHandlers(HandlerMap &map) {
  map["hlo.gather"] = partitionGather;
  map["hlo.scatter"] = partitionScatter;
}

} // namespace gshard::spmd
