//===- SliceConcat.cpp - Rules of slice, pad, concat, dynamic slices ------===//
//
// slice, pad and concatenate keep every dim as a pass-through factor: GSPMD
// shards a sliced, padded or concatenated dim the same way on both sides and
// lets the partitioner rebalance it. dynamic-slice and dynamic-update-slice
// replicate the dims they slice (need-replication factors); their start
// indices and pad's padding value take no part.
//
//===----------------------------------------------------------------------===//

#include "Rules.h"

using namespace mlir;

namespace gshard::rules {

namespace {
/// All operands of rank `rank` among the first `numData` are pointwise with
/// the result on every dim.
OpShardingRule buildDataPointwise(Operation *op, size_t numData,
                                  StringRef family) {
  OpShardingRule rule;
  SmallVector<int64_t> shape = getShape(op->getResult(0));
  if (shape.empty() && !isArray(op->getResult(0).getType()))
    return rule;
  SmallVector<int64_t> ranks;
  for (Value operand : op->getOperands())
    ranks.push_back(getShape(operand).size());
  rule.initTensors(ranks, {static_cast<int64_t>(shape.size())});
  for (size_t i = 0; i < ranks.size(); ++i)
    rule.operandInvolved[i] =
        i < numData && ranks[i] == static_cast<int64_t>(shape.size());
  rule.addPointwiseFactors(shape);
  rule.family = family;
  return rule;
}
} // namespace

OpShardingRule buildSliceRule(Operation *op) {
  OpShardingRule rule = buildDataPointwise(op, 1, "slice");
  rule.combine = OperandCombine::FirstOperand;
  return rule;
}

OpShardingRule buildPadRule(Operation *op) {
  OpShardingRule rule = buildDataPointwise(op, 1, "pad");
  rule.combine = OperandCombine::FirstOperand;
  return rule;
}

OpShardingRule buildConcatenateRule(Operation *op) {
  OpShardingRule rule =
      buildDataPointwise(op, op->getNumOperands(), "concatenate");
  rule.combine = OperandCombine::MostSpecific;
  rule.minAggressiveness = 0;
  return rule;
}

OpShardingRule buildDynamicSliceRule(Operation *op) {
  OpShardingRule rule;
  SmallVector<int64_t> shape = getShape(op->getResult(0));
  SmallVector<int64_t> operandShape = getShape(op->getOperand(0));
  if (shape.size() != operandShape.size())
    return rule;
  SmallVector<int64_t> ranks;
  for (Value operand : op->getOperands())
    ranks.push_back(getShape(operand).size());
  rule.initTensors(ranks, {static_cast<int64_t>(shape.size())});
  for (size_t i = 1; i < ranks.size(); ++i)
    rule.operandInvolved[i] = false;
  for (auto [d, size] : llvm::enumerate(shape)) {
    bool sliced = size != operandShape[d];
    int64_t factor = rule.addFactor(size, sliced ? FactorKind::NeedReplication
                                                 : FactorKind::PassThrough);
    rule.operandDims[0][d] = factor;
    rule.resultDims[0][d] = factor;
  }
  rule.family = "dynamic-slice";
  rule.combine = OperandCombine::FirstOperand;
  rule.minAggressiveness = 0;
  return rule;
}

OpShardingRule buildDynamicUpdateSliceRule(Operation *op) {
  OpShardingRule rule;
  SmallVector<int64_t> shape = getShape(op->getResult(0));
  SmallVector<int64_t> updateShape = getShape(op->getOperand(1));
  if (shape.size() != updateShape.size())
    return rule;
  SmallVector<int64_t> ranks;
  for (Value operand : op->getOperands())
    ranks.push_back(getShape(operand).size());
  rule.initTensors(ranks, {static_cast<int64_t>(shape.size())});
  for (size_t i = 2; i < ranks.size(); ++i)
    rule.operandInvolved[i] = false;
  for (auto [d, size] : llvm::enumerate(shape)) {
    int64_t factor = rule.addFactor(size, FactorKind::PassThrough);
    rule.operandDims[0][d] = factor;
    rule.resultDims[0][d] = factor;
    rule.operandDims[1][d] =
        updateShape[d] == size
            ? factor
            : rule.addFactor(updateShape[d], FactorKind::NeedReplication);
  }
  rule.family = "dynamic-update-slice";
  rule.combine = OperandCombine::EachOperand;
  rule.minAggressiveness = 0;
  return rule;
}

} // namespace gshard::rules
