//===- Elementwise.cpp - Sharding rules of elementwise ops ------*- C++ -*-===//
//
// Every dim is one pass-through factor shared by the result and each
// operand of the same rank (scalar operands of select/clamp take no part).
// Collectives that keep the shape (all-reduce, collective-permute, ...)
// behave the same way.
//
//===----------------------------------------------------------------------===//

#include "Rules.h"

using namespace mlir;

namespace gshard::rules {

static OpShardingRule buildPointwise(Operation *op, StringRef family) {
  OpShardingRule rule;
  if (op->getNumResults() != 1 || !isArray(op->getResult(0).getType()))
    return rule;
  SmallVector<int64_t> shape = getShape(op->getResult(0));
  SmallVector<int64_t> operandRanks;
  for (Value operand : op->getOperands())
    operandRanks.push_back(getShape(operand).size());
  rule.initTensors(operandRanks, {static_cast<int64_t>(shape.size())});
  for (auto [i, operand] : llvm::enumerate(op->getOperands()))
    rule.operandInvolved[i] =
        isArray(operand.getType()) && getShape(operand) == shape;
  rule.addPointwiseFactors(shape);
  rule.family = family;
  return rule;
}

OpShardingRule buildElementwiseRule(Operation *op) {
  OpShardingRule rule = buildPointwise(op, "elementwise");
  rule.combine = OperandCombine::EachOperand;
  rule.minAggressiveness = 0;
  return rule;
}

OpShardingRule buildShiftLikeRule(Operation *op) {
  // XLA takes shifts and power from their first operand only when partial
  // shardings do not merge.
  OpShardingRule rule = buildPointwise(op, "elementwise");
  rule.combine = OperandCombine::EachOperand;
  rule.firstOperandRepresentative = true;
  rule.minAggressiveness = 0;
  return rule;
}

OpShardingRule buildCollectiveRule(Operation *op) {
  OpShardingRule rule = buildPointwise(op, "collective");
  rule.combine = OperandCombine::MostSpecific;
  rule.supportsNonSpmd = true;
  return rule;
}

} // namespace gshard::rules
