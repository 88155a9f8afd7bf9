//===- DotConvolutionPolicy.cpp - GSPMD's choice between operands ---------===//
//
// A dot (or a convolution that is a dot) gets a candidate sharding from each
// sharded operand through its factors. When both give one, GSPMD prefers the
// one its single-user chain will want (lookahead), else the one from the
// larger operand, and refines it with the other. A real convolution is
// sharded like its lhs when the kernel is small, else only along batch.
// Also here: refining the unspecified dims of `Sharding` custom calls.
//
//===----------------------------------------------------------------------===//

#include "Driver.h"
#include "Rules.h"

#include "mlir/IR/BuiltinTypes.h"

using namespace mlir;

namespace gshard::propagation {

static int64_t byteSize(Type type) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  if (!tensor)
    return 0;
  int64_t bits = tensor.getElementType().getIntOrFloatBitWidth();
  if (auto complex = dyn_cast<ComplexType>(tensor.getElementType()))
    bits = 2 * complex.getElementType().getIntOrFloatBitWidth();
  return tensor.getNumElements() * std::max<int64_t>(bits / 8, 1);
}

std::optional<ShardingAttr> Driver::lookaheadUserSharding(Operation *op) {
  SmallVector<Operation *> users = getUsers(op);
  if (users.size() != 1)
    return std::nullopt;
  SmallVector<Operation *> chain = {op, users[0]};
  Operation *current = users[0];
  while (!getSharding(current)) {
    SmallVector<Operation *> next = getUsers(current);
    if (next.size() != 1)
      return std::nullopt;
    current = next[0];
    chain.push_back(current);
  }
  std::optional<ShardingAttr> sharding;
  SmallVector<Operation *> temporary;
  for (int64_t i = chain.size() - 1; i >= 1; --i) {
    sharding = getShardingFromUser(chain[i - 1], chain[i], /*level=*/1000);
    if (sharding && *sharding && i != 1) {
      chain[i - 1]->setAttr("sharding", *sharding);
      temporary.push_back(chain[i - 1]);
      continue;
    }
    break;
  }
  for (Operation *t : temporary)
    t->removeAttr("sharding");
  if (sharding && !*sharding)
    return std::nullopt;
  return sharding;
}

bool Driver::inferContraction(Operation *op, const OpShardingRule &rule,
                              bool mayCombine) {
  Type type = op->getResult(0).getType();
  std::optional<ShardingAttr> improved[2];
  Operation *defs[2] = {op->getOperand(0).getDefiningOp(),
                        op->getOperand(1).getDefiningOp()};
  for (int i = 0; i < 2; ++i) {
    if (!defs[i] || !isPartitioned(defs[i]))
      continue;
    ShardingAttr s = getSharding(defs[i]);
    ShardingAttr candidate =
        isTileMaximal(s)
            ? s
            : projectSharding(s, rule, rule.operandDims[i], rule.resultDims[0]);
    improved[i] = returnImprovedSharding(candidate, getSharding(op), type,
                                         mayCombine, false);
  }
  if (!improved[0] && !improved[1])
    return false;
  StringRef family = rule.family;
  if (!improved[1] || !improved[0]) {
    int i = improved[0] ? 0 : 1;
    setSharding(op, *improved[i], OriginKind::Forward, defs[i], family);
    return true;
  }
  int first = 0;
  bool decided = false;
  if (std::optional<ShardingAttr> lookahead = lookaheadUserSharding(op)) {
    ArrayRef<int64_t> shape = cast<RankedTensorType>(type).getShape();
    bool sub0 = isSubTilingOrEqual(shape, *lookahead, *improved[0]);
    bool sub1 = isSubTilingOrEqual(shape, *lookahead, *improved[1]);
    if (sub0 != sub1) {
      first = sub0 ? 0 : 1;
      decided = true;
    }
  }
  if (!decided && byteSize(op->getOperand(0).getType()) <
                      byteSize(op->getOperand(1).getType()))
    first = 1;
  setSharding(op, *improved[first], OriginKind::Forward, defs[first], family);
  maybeImprove(*improved[1 - first], op, mayCombine, false, OriginKind::Forward,
               defs[1 - first], family);
  return true;
}

bool Driver::inferConvolution(Operation *op, const OpShardingRule &rule,
                              bool mayCombine) {
  auto conv = cast<hlo::ConvolutionOp>(op);
  hlo::ConvDimensionNumbersAttr dn = conv.getDimLabels();
  Operation *lhs = conv.getLhs().getDefiningOp();
  Operation *rhs = conv.getRhs().getDefiningOp();
  auto partitions = [&](Operation *def, bool isLhs) {
    int64_t count = 1;
    ShardingAttr s = def ? getSharding(def) : ShardingAttr();
    if (!s || !s.isTiled())
      return count;
    ArrayRef<int64_t> tiles = s.getTileDims();
    for (int64_t f : rule.convSpatialFactors)
      for (auto [d, factor] : llvm::enumerate(rule.operandDims[0]))
        if (factor == f) {
          auto it = llvm::find(dn.getInputSpatial(), static_cast<int64_t>(d));
          int64_t i = it - dn.getInputSpatial().begin();
          int64_t dim = isLhs ? d : dn.getKernelSpatial()[i];
          count *= tiles[dim];
        }
    return count;
  };
  int64_t groups = conv.getFeatureGroupCount().value_or(1) *
                   conv.getBatchGroupCount().value_or(1);
  if (rule.convSpatialFactors.empty() ||
      (partitions(lhs, true) == 1 && partitions(rhs, false) == 1 &&
       groups == 1))
    return inferContraction(op, rule, mayCombine);
  if (!lhs || !isPartitioned(lhs))
    return false;
  ShardingAttr s = getSharding(lhs);
  if (isTileMaximal(s))
    return maybeImprove(s, op, mayCombine, false, OriginKind::Forward, lhs,
                        "convolution");
  SmallVector<int64_t> lhsShape = rules::getShape(conv.getLhs());
  SmallVector<int64_t> rhsShape = rules::getShape(conv.getRhs());
  SmallVector<int64_t> outShape = rules::getShape(conv.getResult());
  bool kernelSmall = true;
  int64_t kernelProduct = 1, outputProduct = 1;
  for (size_t i = 0; i < dn.getInputSpatial().size(); ++i) {
    int64_t kernel = rhsShape[dn.getKernelSpatial()[i]];
    int64_t output = outShape[dn.getOutputSpatial()[i]];
    kernelProduct *= kernel;
    outputProduct *= output;
    if (kernel >= output &&
        (i < 2 || kernel > 3 || kernelProduct >= outputProduct)) {
      kernelSmall = false;
      break;
    }
  }
  if (kernelSmall) {
    if (s.isTiled() && s.getTileDims()[dn.getInputFeature()] > 1)
      return false;
    return maybeImprove(
        projectSharding(s, rule, rule.operandDims[0], rule.resultDims[0]), op,
        mayCombine, false, OriginKind::Forward, lhs, "convolution");
  }
  ShardingAttr batchOnly = replicateAllDimsExcept(s, {dn.getInputBatch()});
  return maybeImprove(
      projectSharding(batchOnly, rule, rule.operandDims[0], rule.resultDims[0]),
      op, mayCombine, false, OriginKind::Forward, lhs, "convolution");
}

bool Driver::refineUnspecifiedFromOperand(Operation *op) {
  Operation *def = op->getOperand(0).getDefiningOp();
  if (!def || !isPartitioned(def) || !getSharding(def).isTiled())
    return false;
  SmallVector<Operation *> users = getUsers(op);
  if (users.size() == 1 && (isCustomCall(users[0], "SPMDFullToShardShape") ||
                            isCustomCall(users[0], "SPMDShardToFullShape")))
    return false;
  ShardingAttr partial =
      replicateAllDimsExcept(getSharding(def), unspecifiedDims[op]);
  ShardingAttr current = getSharding(op);
  auto merged = mergeShardingIfCompatible(
      partial, current, current.isTiled() ? getNumTiles(current) + 1 : 2);
  if (!merged)
    return false;
  setSharding(op, *merged, OriginKind::Refinement, def, "unspecified dims");
  return true;
}

bool Driver::refineUnspecifiedFromUsers(Operation *op, int64_t aggressiveness) {
  SmallVector<Operation *> users = getUsers(op);
  if (users.size() == 1 && (isCustomCall(users[0], "SPMDFullToShardShape") ||
                            isCustomCall(users[0], "SPMDShardToFullShape")))
    return false;
  bool changed = false;
  for (Operation *user : users) {
    ShardingAttr us = getSharding(user);
    if (!us || !us.isTiled())
      continue;
    std::optional<ShardingAttr> fromUser =
        getShardingFromUser(op, user, aggressiveness);
    if (!fromUser || !*fromUser || isTileMaximal(*fromUser))
      continue;
    ShardingAttr partial =
        replicateAllDimsExcept(*fromUser, unspecifiedDims[op]);
    ShardingAttr current = getSharding(op);
    auto merged = mergeShardingIfCompatible(
        partial, current, current.isTiled() ? getNumTiles(current) + 1 : 2);
    if (!merged)
      continue;
    setSharding(op, *merged, OriginKind::Refinement, user, "unspecified dims");
    changed = true;
  }
  return changed;
}

} // namespace gshard::propagation
