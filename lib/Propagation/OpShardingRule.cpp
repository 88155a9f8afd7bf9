//===- OpShardingRule.cpp - Factor-based sharding rules ---------*- C++ -*-===//

#include "gshard/Propagation/OpShardingRule.h"
#include "Rules.h"

#include "mlir/IR/BuiltinTypes.h"

using namespace mlir;

namespace gshard {

int64_t OpShardingRule::addFactor(int64_t size, FactorKind kind) {
  factorSizes.push_back(size);
  factorKinds.push_back(kind);
  return factorSizes.size() - 1;
}

void OpShardingRule::initTensors(ArrayRef<int64_t> operandRanks,
                                 ArrayRef<int64_t> resultRanks) {
  operandDims.clear();
  resultDims.clear();
  for (int64_t rank : operandRanks)
    operandDims.emplace_back(rank, kNoFactor);
  operandInvolved.assign(operandRanks.size(), true);
  for (int64_t rank : resultRanks)
    resultDims.emplace_back(rank, kNoFactor);
  resultOperand.assign(resultRanks.size(), -1);
}

void OpShardingRule::addPointwiseFactors(ArrayRef<int64_t> shape) {
  for (auto [dim, size] : llvm::enumerate(shape)) {
    int64_t factor = addFactor(size, FactorKind::PassThrough);
    for (auto [i, dims] : llvm::enumerate(operandDims))
      if (operandInvolved[i] && dims.size() == shape.size())
        dims[dim] = factor;
    for (auto &dims : resultDims)
      if (dims.size() == shape.size())
        dims[dim] = factor;
  }
}

SmallVector<int64_t> mapDimsThroughFactors(const OpShardingRule &rule,
                                           ArrayRef<int64_t> from,
                                           ArrayRef<int64_t> to) {
  SmallVector<int64_t> result(from.size(), -1);
  for (auto [i, factor] : llvm::enumerate(from)) {
    if (factor < 0 || rule.factorKinds[factor] == FactorKind::NeedReplication)
      continue;
    for (auto [j, other] : llvm::enumerate(to))
      if (other == factor)
        result[i] = j;
  }
  return result;
}

namespace rules {

bool isArray(Type type) { return isa<RankedTensorType>(type); }

SmallVector<int64_t> getShape(Type type) {
  if (auto tensor = dyn_cast<RankedTensorType>(type))
    return SmallVector<int64_t>(tensor.getShape());
  return {};
}

SmallVector<int64_t> getShape(Value value) { return getShape(value.getType()); }

} // namespace rules
} // namespace gshard
