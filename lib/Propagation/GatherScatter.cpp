//===- GatherScatter.cpp - Sharding rules of gather and scatter -*- C++ -*-===//
//
// gather: index passthrough factors link each indices dim (but the index
// vector dim) with its output batch dim; operand passthrough factors link
// every operand dim sliced whole with its output offset dim (when offsets
// are not transposed); explicit batching dims and *parallel* dims (an index
// vector component that is an iota along an indices dim, XLA's
// GetGatherParallelBatchDims) link operand, indices and output.
// scatter: the mirror image, with the updates in the role of the output and
// the inputs pointwise with the results.
//
//===----------------------------------------------------------------------===//

#include "Rules.h"

using namespace mlir;

namespace gshard::rules {

namespace {

/// The indices dims other than the index vector dim, in order.
SmallVector<int64_t> indexBatchDims(int64_t indicesRank,
                                    int64_t indexVectorDim) {
  SmallVector<int64_t> dims;
  for (int64_t i = 0; i < indicesRank; ++i)
    if (i != indexVectorDim)
      dims.push_back(i);
  return dims;
}

/// For each index vector component k: the indices dim along which it is an
/// iota (XLA's parallel batch dims), or -1.
SmallVector<int64_t> findParallelComponents(Value indices,
                                            int64_t indexVectorDim,
                                            int64_t numComponents) {
  SmallVector<int64_t> result(numComponents, -1);
  int64_t rank = getShape(indices).size();
  auto iotaDim = [&](Value piece) -> int64_t {
    auto iota = piece.getDefiningOp<hlo::IotaOp>();
    if (!iota)
      return -1;
    int64_t dim = iota.getIotaDimension();
    return dim == indexVectorDim ? -1 : dim;
  };
  if (indexVectorDim == rank) {
    if (numComponents == 1)
      result[0] = iotaDim(indices);
    return result;
  }
  if (auto concat = indices.getDefiningOp<hlo::ConcatenateOp>()) {
    if (concat.getDimensions().size() != 1 ||
        concat.getDimensions()[0] != indexVectorDim)
      return result;
    int64_t k = 0;
    for (Value piece : concat.getInputs()) {
      int64_t size = getShape(piece)[indexVectorDim];
      if (size == 1 && k < numComponents)
        result[k] = iotaDim(piece);
      k += size;
    }
    return result;
  }
  if (numComponents == 1)
    result[0] = iotaDim(indices);
  return result;
}

/// Links a collapsed operand dim with an indices dim when the index vector
/// component addressing it is parallel.
void addParallelFactors(OpShardingRule &rule, int64_t operandIdx,
                        int64_t indicesIdx, ArrayRef<int64_t> startIndexMap,
                        ArrayRef<int64_t> parallel,
                        ArrayRef<int64_t> operandShape,
                        ArrayRef<int64_t> indicesShape) {
  for (auto [k, indicesDim] : llvm::enumerate(parallel)) {
    if (indicesDim < 0 || k >= startIndexMap.size())
      continue;
    int64_t operandDim = startIndexMap[k];
    int64_t factor = rule.operandDims[indicesIdx][indicesDim];
    if (factor < 0 || operandShape[operandDim] != indicesShape[indicesDim] ||
        rule.operandDims[operandIdx][operandDim] >= 0)
      continue;
    rule.operandDims[operandIdx][operandDim] = factor;
  }
}

} // namespace

OpShardingRule buildGatherRule(Operation *op) {
  auto gather = cast<hlo::GatherOp>(op);
  OpShardingRule rule;
  SmallVector<int64_t> operandShape = getShape(gather.getOperand());
  SmallVector<int64_t> indicesShape = getShape(gather.getStartIndices());
  SmallVector<int64_t> outShape = getShape(gather.getResult());
  ArrayRef<int64_t> offsetDims = gather.getOffsetDims();
  ArrayRef<int64_t> collapsed = gather.getCollapsedSliceDims();
  ArrayRef<int64_t> sliceSizes = gather.getSliceSizes();
  SmallVector<int64_t> operandBatching, indicesBatching;
  if (auto dims = gather.getOperandBatchingDims())
    operandBatching.assign(dims->begin(), dims->end());
  if (auto dims = gather.getStartIndicesBatchingDims())
    indicesBatching.assign(dims->begin(), dims->end());
  int64_t indexVectorDim = gather.getIndexVectorDim();
  rule.initTensors({static_cast<int64_t>(operandShape.size()),
                    static_cast<int64_t>(indicesShape.size())},
                   {static_cast<int64_t>(outShape.size())});
  // Index passthrough: indices batch dims <-> output batch dims.
  SmallVector<int64_t> idxDims =
      indexBatchDims(indicesShape.size(), indexVectorDim);
  SmallVector<int64_t> outBatch;
  for (int64_t i = 0, e = outShape.size(); i < e; ++i)
    if (!llvm::is_contained(offsetDims, i))
      outBatch.push_back(i);
  if (outBatch.size() != idxDims.size())
    return OpShardingRule();
  for (auto [idx, out] : llvm::zip(idxDims, outBatch)) {
    int64_t factor = rule.addFactor(outShape[out], FactorKind::PassThrough);
    rule.operandDims[1][idx] = factor;
    rule.resultDims[0][out] = factor;
  }
  // Explicit batching dims.
  for (auto [od, id] : llvm::zip(operandBatching, indicesBatching))
    rule.operandDims[0][od] = rule.operandDims[1][id];
  // Operand passthrough: whole-sliced operand dims <-> offset dims.
  int64_t offsetIdx = 0, lastOffset = -1;
  for (int64_t d = 0, e = operandShape.size(); d < e; ++d) {
    if (llvm::is_contained(collapsed, d) ||
        llvm::is_contained(operandBatching, d))
      continue;
    if (offsetIdx >= static_cast<int64_t>(offsetDims.size()))
      return OpShardingRule();
    int64_t out = offsetDims[offsetIdx++];
    bool monotone = out > lastOffset;
    lastOffset = out;
    if (d < static_cast<int64_t>(sliceSizes.size()) &&
        sliceSizes[d] == operandShape[d] && monotone) {
      int64_t factor = rule.addFactor(outShape[out], FactorKind::PassThrough);
      rule.operandDims[0][d] = factor;
      rule.resultDims[0][out] = factor;
    }
  }
  // Parallel dims.
  ArrayRef<int64_t> startIndexMap = gather.getStartIndexMap();
  addParallelFactors(rule, 0, 1, startIndexMap,
                     findParallelComponents(gather.getStartIndices(),
                                            indexVectorDim,
                                            startIndexMap.size()),
                     operandShape, indicesShape);
  rule.family = "gather";
  rule.combine = OperandCombine::EachOperand;
  return rule;
}

OpShardingRule buildScatterRule(Operation *op) {
  auto scatter = cast<hlo::ScatterOp>(op);
  OpShardingRule rule;
  size_t numArgs = scatter.getArgs().size();
  if (numArgs < 3 || numArgs % 2 == 0)
    return rule;
  size_t n = (numArgs - 1) / 2;
  Value indices = scatter.getArgs()[n];
  SmallVector<int64_t> operandShape = getShape(scatter.getArgs()[0]);
  SmallVector<int64_t> indicesShape = getShape(indices);
  SmallVector<int64_t> updateShape = getShape(scatter.getArgs()[n + 1]);
  ArrayRef<int64_t> windowDims = scatter.getUpdateWindowDims();
  ArrayRef<int64_t> inserted = scatter.getInsertedWindowDims();
  SmallVector<int64_t> inputBatching, indicesBatching;
  if (auto dims = scatter.getInputBatchingDims())
    inputBatching.assign(dims->begin(), dims->end());
  if (auto dims = scatter.getScatterIndicesBatchingDims())
    indicesBatching.assign(dims->begin(), dims->end());
  int64_t indexVectorDim = scatter.getIndexVectorDim();
  SmallVector<int64_t> operandRanks;
  for (Value arg : scatter.getArgs())
    operandRanks.push_back(getShape(arg).size());
  rule.initTensors(operandRanks, SmallVector<int64_t>(n, operandShape.size()));
  // Inputs <-> results pointwise.
  SmallVector<int64_t> dataFactors;
  for (auto [d, size] : llvm::enumerate(operandShape)) {
    int64_t factor = rule.addFactor(size, FactorKind::PassThrough);
    dataFactors.push_back(factor);
    for (size_t i = 0; i < n; ++i) {
      rule.operandDims[i][d] = factor;
      rule.resultDims[i][d] = factor;
    }
  }
  for (size_t i = 0; i < n; ++i)
    rule.resultOperand[i] = i;
  // Index passthrough: indices batch dims <-> update scatter dims.
  SmallVector<int64_t> idxDims =
      indexBatchDims(indicesShape.size(), indexVectorDim);
  SmallVector<int64_t> updScatter;
  for (int64_t i = 0, e = updateShape.size(); i < e; ++i)
    if (!llvm::is_contained(windowDims, i))
      updScatter.push_back(i);
  if (updScatter.size() != idxDims.size())
    return OpShardingRule();
  for (auto [idx, upd] : llvm::zip(idxDims, updScatter)) {
    int64_t factor = rule.addFactor(updateShape[upd], FactorKind::PassThrough);
    rule.operandDims[n][idx] = factor;
    for (size_t i = 0; i < n; ++i)
      rule.operandDims[n + 1 + i][upd] = factor;
  }
  for (auto [od, id] : llvm::zip(inputBatching, indicesBatching)) {
    int64_t factor = rule.operandDims[n][id];
    if (factor < 0)
      continue;
    // The batching dim of the inputs joins the index factor.
    for (size_t i = 0; i < n; ++i) {
      rule.operandDims[i][od] = factor;
      rule.resultDims[i][od] = factor;
    }
  }
  // Operand passthrough: operand dims updated whole <-> update window dims.
  int64_t windowIdx = 0, lastWindow = -1;
  for (int64_t d = 0, e = operandShape.size(); d < e; ++d) {
    if (llvm::is_contained(inserted, d) || llvm::is_contained(inputBatching, d))
      continue;
    if (windowIdx >= static_cast<int64_t>(windowDims.size()))
      return OpShardingRule();
    int64_t upd = windowDims[windowIdx++];
    bool monotone = upd > lastWindow;
    lastWindow = upd;
    if (updateShape[upd] == operandShape[d] && monotone)
      for (size_t i = 0; i < n; ++i)
        rule.operandDims[n + 1 + i][upd] = dataFactors[d];
  }
  // Parallel dims: the operand dim joins the index factor.
  ArrayRef<int64_t> startIndexMap = scatter.getScatterDimsToOperandDims();
  SmallVector<int64_t> parallel =
      findParallelComponents(indices, indexVectorDim, startIndexMap.size());
  for (auto [k, indicesDim] : llvm::enumerate(parallel)) {
    if (indicesDim < 0 || k >= startIndexMap.size())
      continue;
    int64_t operandDim = startIndexMap[k];
    int64_t factor = rule.operandDims[n][indicesDim];
    if (factor < 0 || operandShape[operandDim] != indicesShape[indicesDim])
      continue;
    int64_t old = dataFactors[operandDim];
    // Re-point the operand/result dim onto the index factor.
    for (auto &dims : rule.operandDims)
      for (int64_t &f : dims)
        if (f == old)
          f = factor;
    for (auto &dims : rule.resultDims)
      for (int64_t &f : dims)
        if (f == old)
          f = factor;
  }
  rule.family = "scatter";
  rule.combine = OperandCombine::EachOperand;
  return rule;
}

} // namespace gshard::rules
