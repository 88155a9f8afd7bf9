//===- Reduction.cpp - Rules of reduce, reduce-window, sort -----*- C++ -*-===//
//
// reduce: kept dims are pass-through factors shared by every input and
// result leaf, reduced dims are reduction factors (so their tiling becomes
// partial replication in the result). Init values take no part.
// reduce-window, select-and-scatter and sort keep every dim of their data
// operands (GSPMD shards windows and sort dims in the partitioner).
//
//===----------------------------------------------------------------------===//

#include "Rules.h"

using namespace mlir;

namespace gshard::rules {

namespace {
SmallVector<int64_t> leafRanks(Operation *op, size_t numLeaves) {
  Type type = op->getResult(0).getType();
  SmallVector<int64_t> ranks;
  if (auto tuple = dyn_cast<TupleType>(type)) {
    for (Type element : tuple.getTypes())
      ranks.push_back(getShape(element).size());
  } else {
    ranks.assign(numLeaves, getShape(type).size());
  }
  return ranks;
}

/// Variadic ops whose first `numInputs` operands pair with the result
/// leaves and share every dim.
OpShardingRule buildVariadicPointwise(Operation *op, size_t numInputs,
                                      StringRef family) {
  OpShardingRule rule;
  if (numInputs == 0)
    return rule;
  SmallVector<int64_t> shape = getShape(op->getOperand(0));
  SmallVector<int64_t> operandRanks;
  for (Value operand : op->getOperands())
    operandRanks.push_back(getShape(operand).size());
  SmallVector<int64_t> ranks = leafRanks(op, 1);
  if (ranks.size() != numInputs)
    return rule;
  rule.initTensors(operandRanks, ranks);
  for (size_t i = 0; i < rule.operandInvolved.size(); ++i)
    rule.operandInvolved[i] = i < numInputs;
  rule.addPointwiseFactors(shape);
  for (size_t i = 0; i < numInputs; ++i)
    rule.resultOperand[i] = i;
  rule.family = family;
  return rule;
}
} // namespace

OpShardingRule buildReduceRule(Operation *op) {
  auto reduce = cast<hlo::ReduceOp>(op);
  OpShardingRule rule;
  size_t numInputs = reduce.getNumInputs();
  if (numInputs == 0)
    return rule;
  SmallVector<int64_t> shape = getShape(reduce.getInputs()[0]);
  SmallVector<int64_t> operandRanks;
  for (Value operand : op->getOperands())
    operandRanks.push_back(getShape(operand).size());
  SmallVector<int64_t> ranks = leafRanks(op, 1);
  if (ranks.size() != numInputs)
    return rule;
  rule.initTensors(operandRanks, ranks);
  ArrayRef<int64_t> reduced = reduce.getDimensions();
  int64_t out = 0;
  for (auto [dim, size] : llvm::enumerate(shape)) {
    bool isReduced = llvm::is_contained(reduced, static_cast<int64_t>(dim));
    int64_t factor = rule.addFactor(size, isReduced ? FactorKind::Reduction
                                                    : FactorKind::PassThrough);
    for (size_t i = 0; i < numInputs; ++i)
      if (rule.operandDims[i].size() == shape.size())
        rule.operandDims[i][dim] = factor;
    if (!isReduced) {
      for (auto &leaf : rule.resultDims)
        if (out < static_cast<int64_t>(leaf.size()))
          leaf[out] = factor;
      ++out;
    }
  }
  for (size_t i = 0; i < rule.operandInvolved.size(); ++i)
    rule.operandInvolved[i] = i < numInputs;
  for (size_t i = 0; i < numInputs; ++i)
    rule.resultOperand[i] = i;
  rule.family = "reduce";
  rule.backwardConsidersOtherOperands = true;
  return rule;
}

OpShardingRule buildReduceWindowRule(Operation *op) {
  return buildVariadicPointwise(op, op->getNumOperands() / 2, "reduce-window");
}

OpShardingRule buildSelectAndScatterRule(Operation *op) {
  OpShardingRule rule = buildVariadicPointwise(op, 1, "select-and-scatter");
  rule.combine = OperandCombine::FirstOperand;
  return rule;
}

OpShardingRule buildSortRule(Operation *op) {
  return buildVariadicPointwise(op, op->getNumOperands(), "sort");
}

} // namespace gshard::rules
