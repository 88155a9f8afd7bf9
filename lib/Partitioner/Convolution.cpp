//===- Convolution.cpp - Convolution --------------------------------------===//
//
// A convolution is partitioned like a dot over batch, output feature and
// input feature (contracting) dims: the batch and output-feature tilings stay
// local, a tiled input feature gives partial sums that are all-reduced.
// Spatial (windowed) dims are kept whole (replicated) on the operands.
// Grouped convolutions run replicated.
//
//===----------------------------------------------------------------------===//

#include "Spmd.h"

using namespace mlir;

namespace gshard::spmd {

static LogicalResult partitionConvolution(Operation *op, Spmd &spmd) {
  auto conv = cast<hlo::ConvolutionOp>(op);
  if (conv.getFeatureGroupCount().value_or(1) != 1 ||
      conv.getBatchGroupCount().value_or(1) != 1)
    return partitionReplicated(op, spmd, "grouped convolution");
  if (op->getNumOperands() != 2)
    return partitionReplicated(op, spmd, "unexpected convolution form");
  hlo::ConvDimensionNumbersAttr dims = conv.getDimLabels();
  int64_t lhsRank = cast<RankedTensorType>(conv.getLhs().getType()).getRank();
  int64_t rhsRank = cast<RankedTensorType>(conv.getRhs().getType()).getRank();
  int64_t outRank = cast<RankedTensorType>(conv.getType()).getRank();
  ContractionSpec spec;
  spec.iterRank = 3;
  spec.lhsToIter.assign(lhsRank, -1);
  spec.rhsToIter.assign(rhsRank, -1);
  spec.outToIter.assign(outRank, -1);
  spec.lhsToIter[dims.getInputBatch()] = 0;
  spec.lhsToIter[dims.getInputFeature()] = 2;
  spec.rhsToIter[dims.getKernelOutputFeature()] = 1;
  spec.rhsToIter[dims.getKernelInputFeature()] = 2;
  spec.outToIter[dims.getOutputBatch()] = 0;
  spec.outToIter[dims.getOutputFeature()] = 1;
  spec.iterToLhs = {dims.getInputBatch(), -1, dims.getInputFeature()};
  spec.iterToRhs = {-1, dims.getKernelOutputFeature(),
                    dims.getKernelInputFeature()};
  spec.iterToOut = {dims.getOutputBatch(), dims.getOutputFeature(), -1};
  spec.lhsOnlyIter = {0};
  spec.rhsOnlyIter = {1};
  spec.contractingIter = {2};
  spec.lhsContracting = {dims.getInputFeature()};
  spec.rhsContracting = {dims.getKernelInputFeature()};
  return partitionContraction(op, spmd, spec);
}

void registerConvolutionHandlers(HandlerMap &map) {
  map["hlo.convolution"] = partitionConvolution;
}

} // namespace gshard::spmd
