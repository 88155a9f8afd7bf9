//===- Indexing.cpp - dynamic-slice, dynamic-update-slice, gather, scatter ===//
//
// Part of gshard, under the Apache License v2.0.
//
// Index semantics follow XLA: dynamic-(update-)slice and gather clamp each
// start index into [0, dim - size]; scatter skips a whole update window
// whose start is out of bounds (what the SPMD partitioner relies on when it
// masks scatters by shifting indices out of range). Batching dimensions of
// gather/scatter (operand_batching_dims, ...) are supported.
//
//===----------------------------------------------------------------------===//

#include "Exec.h"

using namespace mlir;
using namespace gshard;
using namespace gshard::sim;

namespace {

int64_t clampIndex(int64_t value, int64_t lo, int64_t hi) {
  return std::max(lo, std::min(value, hi));
}

LiteralRef dynamicSliceHandler(ExecContext &ctx, Operation *op,
                               ArrayRef<LiteralRef> operands) {
  auto ds = cast<hlo::DynamicSliceOp>(op);
  const Literal &x = *operands[0];
  ArrayRef<int64_t> sizes = ds.getDynamicSliceSizes();
  int64_t rank = x.getRank();
  if (static_cast<int64_t>(operands.size()) != rank + 1 ||
      static_cast<int64_t>(sizes.size()) != rank)
    return ctx.fail(op, "dynamic-slice needs one scalar start index per "
                        "dimension");
  llvm::SmallVector<int64_t> start;
  for (int64_t d = 0; d < rank; ++d)
    start.push_back(clampIndex(getScalarIndex(*operands[d + 1]), 0,
                               x.getShape()[d] - sizes[d]));
  LiteralRef out = Literal::makeArray(getResultTensorType(op));
  llvm::SmallVector<int64_t> zero(rank, 0);
  copyBox(x, start, *out, zero, sizes);
  return out;
}

LiteralRef dynamicUpdateSliceHandler(ExecContext &ctx, Operation *op,
                                     ArrayRef<LiteralRef> operands) {
  const Literal &x = *operands[0], &update = *operands[1];
  int64_t rank = x.getRank();
  if (static_cast<int64_t>(operands.size()) != rank + 2)
    return ctx.fail(op, "dynamic-update-slice needs one scalar start index "
                        "per dimension");
  llvm::SmallVector<int64_t> start;
  for (int64_t d = 0; d < rank; ++d)
    start.push_back(clampIndex(getScalarIndex(*operands[d + 2]), 0,
                               x.getShape()[d] - update.getShape()[d]));
  LiteralRef out = takeOrClone(operands[0]);
  llvm::SmallVector<int64_t> zero(rank, 0);
  copyBox(update, zero, *out, start, update.getShape());
  return out;
}

/// Reads the index vector of batch position `batch` (indices with
/// `indexVectorDim` removed) from `indices`.
void readIndexVector(const Literal &indices, int64_t indexVectorDim,
                     ArrayRef<int64_t> batch,
                     llvm::SmallVectorImpl<int64_t> &vector) {
  int64_t rank = indices.getRank();
  vector.clear();
  llvm::SmallVector<int64_t> full;
  if (indexVectorDim == rank) {
    full.assign(batch.begin(), batch.end());
    vector.push_back(indices.getInt(indices.linearIndex(full)));
    return;
  }
  full.assign(batch.begin(), batch.end());
  full.insert(full.begin() + indexVectorDim, 0);
  for (int64_t k = 0; k < indices.getShape()[indexVectorDim]; ++k) {
    full[indexVectorDim] = k;
    vector.push_back(indices.getInt(indices.linearIndex(full)));
  }
}

/// Position of indices dimension `dim` in the batch index (indices dims with
/// index_vector_dim removed).
int64_t batchPosition(int64_t dim, int64_t indexVectorDim) {
  return dim < indexVectorDim ? dim : dim - 1;
}

LiteralRef gatherHandler(ExecContext &ctx, Operation *op,
                         ArrayRef<LiteralRef> operands) {
  auto gather = cast<hlo::GatherOp>(op);
  const Literal &x = *operands[0], &indices = *operands[1];
  LiteralRef out = Literal::makeArray(getResultTensorType(op));
  ArrayRef<int64_t> offsetDims = gather.getOffsetDims();
  ArrayRef<int64_t> collapsed = gather.getCollapsedSliceDims();
  ArrayRef<int64_t> startIndexMap = gather.getStartIndexMap();
  ArrayRef<int64_t> operandBatching =
      gather.getOperandBatchingDims().value_or(ArrayRef<int64_t>());
  ArrayRef<int64_t> indicesBatching =
      gather.getStartIndicesBatchingDims().value_or(ArrayRef<int64_t>());
  ArrayRef<int64_t> sliceSizes = gather.getSliceSizes();
  int64_t indexVectorDim = gather.getIndexVectorDim();
  int64_t rank = x.getRank();
  if (static_cast<int64_t>(sliceSizes.size()) != rank ||
      indexVectorDim > indices.getRank() ||
      operandBatching.size() != indicesBatching.size())
    return ctx.fail(op, "inconsistent gather dimension numbers");
  // Operand dims that offset_dims index, in increasing order.
  llvm::SmallVector<int64_t> windowOperandDims;
  for (int64_t d = 0; d < rank; ++d)
    if (!llvm::is_contained(collapsed, d) &&
        !llvm::is_contained(operandBatching, d))
      windowOperandDims.push_back(d);
  if (windowOperandDims.size() != offsetDims.size())
    return ctx.fail(op, "offset_dims do not match the uncollapsed slice dims");
  int64_t outRank = out->getRank();
  llvm::SmallVector<int64_t> batchDims;
  for (int64_t d = 0; d < outRank; ++d)
    if (!llvm::is_contained(offsetDims, d))
      batchDims.push_back(d);
  llvm::SmallVector<int64_t> outIndex(outRank, 0), batch, vector;
  llvm::SmallVector<int64_t> start(rank), operandIndex(rank);
  llvm::SmallVector<int64_t> xStrides = x.getStrides();
  // Operand offset of the output element at `outIndex`.
  auto operandOffset = [&]() {
    batch.clear();
    for (int64_t d : batchDims)
      batch.push_back(outIndex[d]);
    readIndexVector(indices, indexVectorDim, batch, vector);
    std::fill(start.begin(), start.end(), 0);
    for (size_t k = 0; k < startIndexMap.size() && k < vector.size(); ++k)
      start[startIndexMap[k]] = vector[k];
    for (size_t k = 0; k < operandBatching.size(); ++k)
      start[operandBatching[k]] =
          batch[batchPosition(indicesBatching[k], indexVectorDim)];
    int64_t offset = 0;
    for (int64_t d = 0; d < rank; ++d)
      operandIndex[d] =
          clampIndex(start[d], 0, x.getShape()[d] - sliceSizes[d]);
    for (size_t k = 0; k < offsetDims.size(); ++k)
      operandIndex[windowOperandDims[k]] += outIndex[offsetDims[k]];
    for (int64_t d = 0; d < rank; ++d)
      offset += operandIndex[d] * xStrides[d];
    return offset;
  };
  int64_t n = out->getNumElements();
  if (n == 0)
    return out;
  // When the innermost output dim is an offset dim, a row of the output
  // shares its start indices and walks one operand dim: index it once
  // per row (a memcpy when that dim is the operand's innermost).
  int64_t inner = outRank ? out->getShape()[outRank - 1] : 1;
  int64_t rowStride = -1;
  for (size_t k = 0; k < offsetDims.size(); ++k)
    if (outRank && offsetDims[k] == outRank - 1)
      rowStride = xStrides[windowOperandDims[k]];
  if (rowStride < 0 || inner == 0) {
    for (int64_t o = 0; o < n; ++o) {
      out->copyElement(o, x, operandOffset());
      nextIndex(outIndex, out->getShape());
    }
    return out;
  }
  unsigned width = x.getElementBytes();
  for (int64_t o = 0; o < n; o += inner) {
    int64_t offset = operandOffset();
    if (rowStride == 1)
      std::memcpy(out->data() + o * width, x.data() + offset * width,
                  inner * width);
    else
      for (int64_t j = 0; j < inner; ++j)
        out->copyElement(o + j, x, offset + j * rowStride);
    outIndex[outRank - 1] = inner - 1;
    nextIndex(outIndex, out->getShape());
  }
  return out;
}

LiteralRef scatterHandler(ExecContext &ctx, Operation *op,
                          ArrayRef<LiteralRef> operands) {
  auto scatter = cast<hlo::ScatterOp>(op);
  size_t numInputs = (operands.size() - 1) / 2;
  if (numInputs == 0 || operands.size() != 2 * numInputs + 1)
    return ctx.fail(op, "scatter needs N inputs, indices and N updates");
  const CompiledComputation *fn = ctx.lookup(op, scatter.getToApplyAttr());
  if (!fn)
    return nullptr;
  const Literal &x = *operands[0], &indices = *operands[numInputs];
  const Literal &updates0 = *operands[numInputs + 1];
  ArrayRef<int64_t> windowDims = scatter.getUpdateWindowDims();
  ArrayRef<int64_t> inserted = scatter.getInsertedWindowDims();
  ArrayRef<int64_t> toOperand = scatter.getScatterDimsToOperandDims();
  ArrayRef<int64_t> inputBatching =
      scatter.getInputBatchingDims().value_or(ArrayRef<int64_t>());
  ArrayRef<int64_t> indicesBatching =
      scatter.getScatterIndicesBatchingDims().value_or(ArrayRef<int64_t>());
  int64_t indexVectorDim = scatter.getIndexVectorDim();
  int64_t rank = x.getRank();
  llvm::SmallVector<int64_t> windowOperandDims;
  for (int64_t d = 0; d < rank; ++d)
    if (!llvm::is_contained(inserted, d) &&
        !llvm::is_contained(inputBatching, d))
      windowOperandDims.push_back(d);
  if (windowOperandDims.size() != windowDims.size() ||
      indexVectorDim > indices.getRank() ||
      inputBatching.size() != indicesBatching.size())
    return ctx.fail(op, "inconsistent scatter dimension numbers");
  // Window size per operand dim (1 for inserted / batching dims).
  llvm::SmallVector<int64_t> windowSize(rank, 1);
  for (size_t k = 0; k < windowDims.size(); ++k)
    windowSize[windowOperandDims[k]] = updates0.getShape()[windowDims[k]];
  llvm::SmallVector<int64_t> scatterDims;
  for (int64_t d = 0; d < updates0.getRank(); ++d)
    if (!llvm::is_contained(windowDims, d))
      scatterDims.push_back(d);

  std::vector<LiteralRef> results;
  for (size_t k = 0; k < numInputs; ++k)
    results.push_back(takeOrClone(operands[k]));
  Combiner combiner = numInputs == 1 ? recognizeCombiner(*fn) : Combiner::None;
  ElemKind kind = x.getKind();
  bool fast = combiner != Combiner::None &&
              (isIntegralKind(kind) ||
               (isFloatKind(kind) && combiner != Combiner::And &&
                combiner != Combiner::Or && combiner != Combiner::Xor));
  ScalarReducer reducer(ctx, op, *fn, numInputs);
  llvm::SmallVector<int64_t> uIndex(updates0.getRank(), 0), batch, vector;
  llvm::SmallVector<int64_t> start(rank), operandIndex(rank);
  llvm::SmallVector<int64_t> xStrides = x.getStrides();
  llvm::SmallVector<LiteralRef, 4> values(numInputs);
  for (int64_t u = 0, n = updates0.getNumElements(); u < n; ++u) {
    batch.clear();
    for (int64_t d : scatterDims)
      batch.push_back(uIndex[d]);
    readIndexVector(indices, indexVectorDim, batch, vector);
    std::fill(start.begin(), start.end(), 0);
    for (size_t k = 0; k < toOperand.size() && k < vector.size(); ++k)
      start[toOperand[k]] = vector[k];
    for (size_t k = 0; k < inputBatching.size(); ++k)
      start[inputBatching[k]] =
          batch[batchPosition(indicesBatching[k], indexVectorDim)];
    bool inBounds = true;
    for (int64_t d = 0; d < rank; ++d)
      if (start[d] < 0 || start[d] > x.getShape()[d] - windowSize[d])
        inBounds = false;
    if (inBounds) {
      operandIndex.assign(start.begin(), start.end());
      for (size_t k = 0; k < windowDims.size(); ++k)
        operandIndex[windowOperandDims[k]] += uIndex[windowDims[k]];
      int64_t offset = 0;
      for (int64_t d = 0; d < rank; ++d)
        offset += operandIndex[d] * xStrides[d];
      if (fast) {
        Literal &r = *results[0];
        if (isFloatKind(kind))
          r.setFloat(offset, combineFloat(combiner, r.getFloat(offset),
                                          updates0.getFloat(u)));
        else
          r.setInt(offset, combineInt(combiner, kind, r.getInt(offset),
                                      updates0.getInt(u)));
      } else {
        llvm::SmallVector<LiteralRef, 4> acc;
        for (size_t k = 0; k < numInputs; ++k) {
          acc.push_back(scalarOf(*results[k], offset));
          values[k] = scalarOf(*operands[numInputs + 1 + k], u);
        }
        if (!reducer.apply(acc, values))
          return nullptr;
        for (size_t k = 0; k < numInputs; ++k)
          results[k]->copyElement(offset, *acc[k], 0);
      }
    }
    nextIndex(uIndex, updates0.getShape());
  }
  if (results.size() == 1 && !isa<TupleType>(op->getResult(0).getType()))
    return results[0];
  return Literal::makeTuple(results);
}

} // namespace

void gshard::sim::registerIndexingHandlers(HandlerTable &t) {
  t["hlo.dynamic_slice"] = dynamicSliceHandler;
  t["hlo.dynamic_update_slice"] = dynamicUpdateSliceHandler;
  t["hlo.gather"] = gatherHandler;
  t["hlo.scatter"] = scatterHandler;
}
