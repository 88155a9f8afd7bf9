//===- Contraction.cpp - Sharding rules of dot and convolution --*- C++ -*-===//
//
// dot: batch and non-contracting dims are pass-through factors, contracting
// dims reduction factors (present in both operands, absent in the result).
// convolution: read as a dot where it is one (XLA's dot_as_convolution):
// batch -> lhs non-contracting, output feature -> rhs non-contracting,
// input feature -> contracting, and each spatial dim classified by its
// window (parallel batch, contracting, size-1 lhs or rhs non-contracting,
// or a real convolution spatial dim). Real spatial dims map lhs to output
// only; GSPMD then propagates forward from the lhs alone.
//
//===----------------------------------------------------------------------===//

#include "Rules.h"

using namespace mlir;

namespace gshard::rules {

namespace {
/// Adds one logical dot dimension; -1 entries are absent.
void addDotDim(OpShardingRule &rule, int64_t lhs, int64_t rhs, int64_t out,
               int64_t size, FactorKind kind) {
  int64_t factor = rule.addFactor(size, kind);
  if (lhs >= 0)
    rule.operandDims[0][lhs] = factor;
  if (rhs >= 0)
    rule.operandDims[1][rhs] = factor;
  if (out >= 0)
    rule.resultDims[0][out] = factor;
}
} // namespace

OpShardingRule buildDotRule(Operation *op) {
  auto dot = cast<hlo::DotOp>(op);
  OpShardingRule rule;
  SmallVector<int64_t> lhsShape = getShape(dot.getLhs());
  SmallVector<int64_t> rhsShape = getShape(dot.getRhs());
  SmallVector<int64_t> outShape = getShape(dot.getResult());
  auto get = [](std::optional<ArrayRef<int64_t>> dims) {
    return dims ? SmallVector<int64_t>(*dims) : SmallVector<int64_t>();
  };
  SmallVector<int64_t> lb = get(dot.getLhsBatchDims());
  SmallVector<int64_t> lc = get(dot.getLhsContractingDims());
  SmallVector<int64_t> rb = get(dot.getRhsBatchDims());
  SmallVector<int64_t> rc = get(dot.getRhsContractingDims());
  if (lb.size() != rb.size() || lc.size() != rc.size())
    return rule;
  rule.initTensors({static_cast<int64_t>(lhsShape.size()),
                    static_cast<int64_t>(rhsShape.size())},
                   {static_cast<int64_t>(outShape.size())});
  int64_t out = 0;
  for (auto [l, r] : llvm::zip(lb, rb))
    addDotDim(rule, l, r, out++, lhsShape[l], FactorKind::PassThrough);
  for (auto [l, r] : llvm::zip(lc, rc))
    addDotDim(rule, l, r, -1, lhsShape[l], FactorKind::Reduction);
  for (int64_t l = 0, e = lhsShape.size(); l < e; ++l)
    if (!llvm::is_contained(lb, l) && !llvm::is_contained(lc, l))
      addDotDim(rule, l, -1, out++, lhsShape[l], FactorKind::PassThrough);
  for (int64_t r = 0, e = rhsShape.size(); r < e; ++r)
    if (!llvm::is_contained(rb, r) && !llvm::is_contained(rc, r))
      addDotDim(rule, -1, r, out++, rhsShape[r], FactorKind::PassThrough);
  if (out != static_cast<int64_t>(outShape.size()))
    return OpShardingRule();
  rule.family = "dot";
  rule.combine = OperandCombine::Contraction;
  rule.backwardConsidersOtherOperands = true;
  return rule;
}

OpShardingRule buildConvolutionRule(Operation *op) {
  auto conv = cast<hlo::ConvolutionOp>(op);
  OpShardingRule rule;
  SmallVector<int64_t> lhsShape = getShape(conv.getLhs());
  SmallVector<int64_t> rhsShape = getShape(conv.getRhs());
  SmallVector<int64_t> outShape = getShape(conv.getResult());
  hlo::ConvDimensionNumbersAttr dn = conv.getDimLabels();
  size_t numSpatial = dn.getInputSpatial().size();
  if (lhsShape.empty() || rhsShape.empty() || outShape.empty() ||
      dn.getKernelSpatial().size() != numSpatial ||
      dn.getOutputSpatial().size() != numSpatial)
    return rule;
  rule.initTensors({static_cast<int64_t>(lhsShape.size()),
                    static_cast<int64_t>(rhsShape.size())},
                   {static_cast<int64_t>(outShape.size())});
  addDotDim(rule, dn.getInputBatch(), -1, dn.getOutputBatch(),
            lhsShape[dn.getInputBatch()], FactorKind::PassThrough);
  addDotDim(rule, -1, dn.getKernelOutputFeature(), dn.getOutputFeature(),
            outShape[dn.getOutputFeature()], FactorKind::PassThrough);
  addDotDim(rule, dn.getInputFeature(), dn.getKernelInputFeature(), -1,
            lhsShape[dn.getInputFeature()], FactorKind::Reduction);
  hlo::WindowAttr window = conv.getWindowAttr();
  for (size_t i = 0; i < numSpatial; ++i) {
    int64_t lhs = dn.getInputSpatial()[i];
    int64_t rhs = dn.getKernelSpatial()[i];
    int64_t out = dn.getOutputSpatial()[i];
    int64_t lhsSize = lhsShape[lhs], rhsSize = rhsShape[rhs];
    int64_t size = 1, stride = 1, padLow = 0, padHigh = 0, lhsDilate = 1,
            rhsDilate = 1, reversal = 0;
    if (window && i < window.getRank()) {
      size = window.getSize()[i];
      stride = window.getStride()[i];
      padLow = window.getPadLow()[i];
      padHigh = window.getPadHigh()[i];
      lhsDilate = window.getLhsDilate()[i];
      rhsDilate = window.getRhsDilate()[i];
      reversal = window.getReversal()[i];
    }
    bool noPadding = padLow == 0 && padHigh == 0 && !reversal;
    if (size == lhsSize && stride == std::max<int64_t>(1, lhsSize - 1) &&
        lhsDilate == lhsSize && rhsDilate == 1 && noPadding) {
      addDotDim(rule, lhs, rhs, out, lhsSize, FactorKind::PassThrough);
    } else if (lhsSize == size && lhsDilate == 1 && rhsDilate == 1 &&
               noPadding) {
      addDotDim(rule, lhs, rhs, -1, lhsSize, FactorKind::Reduction);
    } else if (stride == 1 && rhsDilate == 1 && lhsDilate == 1 &&
               rhsSize == 1 && size == 1 && noPadding) {
      addDotDim(rule, lhs, -1, out, lhsSize, FactorKind::PassThrough);
    } else if (stride == 1 && rhsDilate == 1 && lhsDilate == 1 &&
               lhsSize == 1 && size == padLow + 1 && size == padHigh + 1) {
      addDotDim(rule, -1, rhs, out, rhsSize, FactorKind::PassThrough);
    } else {
      int64_t factor = rule.addFactor(outShape[out], FactorKind::PassThrough);
      rule.operandDims[0][lhs] = factor;
      rule.resultDims[0][out] = factor;
      rule.convSpatialFactors.push_back(factor);
    }
  }
  rule.family = "convolution";
  rule.combine = OperandCombine::Contraction;
  rule.backwardConsidersOtherOperands = true;
  return rule;
}

} // namespace gshard::rules
