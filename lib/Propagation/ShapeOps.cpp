//===- ShapeOps.cpp - Rules of broadcast, reshape, transpose ----*- C++ -*-===//
//
// broadcast: operand dim i and result dim dimensions[i] share a factor; the
// new result dims have factors of their own (so their tiling is replicated
// away going backward). GSPMD propagates through broadcasts late: backward
// from aggressiveness 2, forward from 3.
// reshape: GSPMD's reshape algebra (splits and merges of tiled dims) rather
// than single factors; see ShardingUtils.cpp.
// transpose / reverse: a permutation of pass-through factors.
//
//===----------------------------------------------------------------------===//

#include "Rules.h"

using namespace mlir;

namespace gshard::rules {

OpShardingRule buildBroadcastRule(Operation *op) {
  auto broadcast = cast<hlo::BroadcastOp>(op);
  OpShardingRule rule;
  SmallVector<int64_t> shape = getShape(broadcast.getResult());
  SmallVector<int64_t> operandShape = getShape(broadcast.getOperand());
  ArrayRef<int64_t> dims = broadcast.getDimensions();
  if (dims.size() != operandShape.size())
    return rule;
  rule.initTensors({static_cast<int64_t>(operandShape.size())},
                   {static_cast<int64_t>(shape.size())});
  for (auto [i, size] : llvm::enumerate(shape)) {
    int64_t factor = rule.addFactor(size, FactorKind::PassThrough);
    rule.resultDims[0][i] = factor;
    for (auto [j, dim] : llvm::enumerate(dims))
      if (dim == static_cast<int64_t>(i) && operandShape[j] == size)
        rule.operandDims[0][j] = factor;
  }
  rule.family = "broadcast";
  rule.minAggressiveness = 2;
  rule.minForwardAggressiveness = 3;
  return rule;
}

OpShardingRule buildReshapeRule(Operation *op) {
  OpShardingRule rule;
  Value operand = op->getOperand(0);
  if (!isArray(operand.getType()) || !isArray(op->getResult(0).getType()))
    return rule;
  rule.initTensors({static_cast<int64_t>(getShape(operand).size())},
                   {static_cast<int64_t>(getShape(op->getResult(0)).size())});
  rule.projection = OpShardingRule::Projection::Reshape;
  rule.family = "reshape";
  rule.minAggressiveness = 0;
  return rule;
}

OpShardingRule buildTransposeRule(Operation *op) {
  auto transpose = cast<hlo::TransposeOp>(op);
  OpShardingRule rule;
  SmallVector<int64_t> shape = getShape(transpose.getResult());
  ArrayRef<int64_t> perm = transpose.getDimensions();
  if (perm.size() != shape.size())
    return rule;
  rule.initTensors({static_cast<int64_t>(shape.size())},
                   {static_cast<int64_t>(shape.size())});
  for (auto [i, size] : llvm::enumerate(shape)) {
    int64_t factor = rule.addFactor(size, FactorKind::PassThrough);
    rule.resultDims[0][i] = factor;
    rule.operandDims[0][perm[i]] = factor;
  }
  rule.family = "transpose";
  rule.minAggressiveness = 0;
  return rule;
}

OpShardingRule buildReverseRule(Operation *op) {
  OpShardingRule rule;
  SmallVector<int64_t> shape = getShape(op->getResult(0));
  rule.initTensors({static_cast<int64_t>(shape.size())},
                   {static_cast<int64_t>(shape.size())});
  rule.addPointwiseFactors(shape);
  rule.family = "reverse";
  rule.combine = OperandCombine::FirstOperand;
  rule.supportsNonSpmd = false;
  return rule;
}

} // namespace gshard::rules
