//===- HloWindowVerifiers.cpp - Shape rules of windowed and indexed ops ---===//
//
// Convolution, reduce-window, select-and-scatter, gather and scatter, with
// the output-size arithmetic of XLA's ShapeInference.
//
//===----------------------------------------------------------------------===//

#include "VerifierUtils.h"
#include "gshard/IR/HloOps.h"

#include "llvm/ADT/STLExtras.h"

using namespace mlir;
using namespace gshard::hlo;

static RankedTensorType tensorOf(Value value) {
  return cast<RankedTensorType>(value.getType());
}

static std::string dimsText(ArrayRef<int64_t> dims) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << '[';
  llvm::interleave(dims, os, ",");
  os << ']';
  return text;
}

/// Size of window output dimension `i` for an input dimension of `size`.
static int64_t windowedSize(int64_t size, WindowAttr window, size_t i,
                            int64_t windowSize) {
  int64_t dilatedBase =
      size == 0 ? 0 : (size - 1) * window.getLhsDilate()[i] + 1;
  int64_t padded = dilatedBase + window.getPadLow()[i] + window.getPadHigh()[i];
  int64_t dilatedWindow = (windowSize - 1) * window.getRhsDilate()[i] + 1;
  if (padded < dilatedWindow)
    return 0;
  return (padded - dilatedWindow) / window.getStride()[i] + 1;
}

LogicalResult ConvolutionOp::verify() {
  auto lhs = tensorOf(getLhs()), rhs = tensorOf(getRhs());
  auto result = cast<RankedTensorType>(getType());
  ConvDimensionNumbersAttr dims = getDimLabels();
  size_t numSpatial = dims.getInputSpatial().size();
  if (lhs.getRank() != int64_t(numSpatial + 2) ||
      rhs.getRank() != int64_t(numSpatial + 2) ||
      result.getRank() != int64_t(numSpatial + 2))
    return emitOpError("dim_labels describe rank ")
           << numSpatial + 2 << " but lhs, rhs and result have ranks "
           << lhs.getRank() << ", " << rhs.getRank() << ", "
           << result.getRank();
  WindowAttr window = getWindowAttr();
  if ((window ? window.getRank() : 0) != numSpatial)
    return emitOpError("window has ")
           << (window ? window.getRank() : 0) << " dimensions, " << numSpatial
           << " spatial dimensions expected";
  int64_t featureGroups = getFeatureGroupCount().value_or(1);
  int64_t batchGroups = getBatchGroupCount().value_or(1);
  if (featureGroups <= 0 || batchGroups <= 0)
    return emitOpError("group counts must be positive");
  int64_t inputBatch = lhs.getDimSize(dims.getInputBatch());
  int64_t inputFeature = lhs.getDimSize(dims.getInputFeature());
  int64_t kernelInput = rhs.getDimSize(dims.getKernelInputFeature());
  int64_t kernelOutput = rhs.getDimSize(dims.getKernelOutputFeature());
  if (inputFeature != kernelInput * featureGroups)
    return emitOpError("input feature dimension (")
           << inputFeature << ") must be the kernel input feature dimension ("
           << kernelInput << ") times feature_group_count (" << featureGroups
           << ")";
  if (kernelOutput % featureGroups != 0 || kernelOutput % batchGroups != 0 ||
      inputBatch % batchGroups != 0)
    return emitOpError("kernel output features (")
           << kernelOutput << ") and input batch (" << inputBatch
           << ") must divide by the group counts";
  SmallVector<int64_t> expected(result.getRank(), 0);
  expected[dims.getOutputBatch()] = inputBatch / batchGroups;
  expected[dims.getOutputFeature()] = kernelOutput;
  for (size_t i = 0; i < numSpatial; ++i) {
    int64_t kernelSize = rhs.getDimSize(dims.getKernelSpatial()[i]);
    if (window.getSize()[i] != kernelSize)
      return emitOpError("window size ")
             << window.getSize()[i] << " of spatial dimension " << i
             << " does not match the kernel (" << kernelSize << ")";
    expected[dims.getOutputSpatial()[i]] = windowedSize(
        lhs.getDimSize(dims.getInputSpatial()[i]), window, i, kernelSize);
  }
  if (ArrayRef<int64_t>(expected) != result.getShape())
    return emitOpError("result dimensions should be ")
           << dimsText(expected) << ", not " << dimsText(result.getShape());
  return success();
}

LogicalResult ReduceWindowOp::verify() {
  auto operands = getOperandsAndInits();
  if (operands.empty() || operands.size() % 2 != 0)
    return emitOpError("needs N inputs followed by N init values");
  size_t n = operands.size() / 2;
  auto input = tensorOf(operands[0]);
  WindowAttr window = getWindow();
  if (int64_t(window.getRank()) != input.getRank())
    return emitOpError("window rank ")
           << window.getRank() << " does not match input rank "
           << input.getRank();
  SmallVector<int64_t> expected;
  for (int64_t i = 0; i < input.getRank(); ++i)
    expected.push_back(
        windowedSize(input.getDimSize(i), window, i, window.getSize()[i]));
  SmallVector<Type> results = getResultShapes(*this);
  if (results.size() != n)
    return emitOpError("has ")
           << n << " inputs but " << results.size() << " results";
  for (size_t i = 0; i < n; ++i) {
    if (tensorOf(operands[i]).getShape() != input.getShape())
      return emitOpError("all inputs must have one shape");
    if (tensorOf(operands[n + i]).getRank() != 0)
      return emitOpError("init values must be scalars");
    auto result = dyn_cast<RankedTensorType>(results[i]);
    if (!result || result.getShape() != ArrayRef<int64_t>(expected))
      return emitOpError("result dimensions should be ") << dimsText(expected);
  }
  return success();
}

LogicalResult SelectAndScatterOp::verify() {
  auto operand = tensorOf(getOperand()), source = tensorOf(getSource());
  if (tensorOf(getInitValue()).getRank() != 0)
    return emitOpError("init value must be a scalar");
  if (cast<RankedTensorType>(getType()).getShape() != operand.getShape())
    return emitOpError("result must have the operand's shape");
  WindowAttr window = getWindowAttr();
  if (!window || int64_t(window.getRank()) != operand.getRank())
    return emitOpError("needs a window of the operand's rank");
  SmallVector<int64_t> expected;
  for (int64_t i = 0; i < operand.getRank(); ++i)
    expected.push_back(
        windowedSize(operand.getDimSize(i), window, i, window.getSize()[i]));
  if (source.getShape() != ArrayRef<int64_t>(expected))
    return emitOpError("source dimensions should be ")
           << dimsText(expected) << ", not " << dimsText(source.getShape());
  return success();
}

/// Checks that every entry of `dims` is a distinct dimension below `rank`.
static LogicalResult checkDims(Operation *op, ArrayRef<int64_t> dims,
                               int64_t rank, StringRef what) {
  SmallVector<bool> seen(rank, false);
  for (int64_t d : dims) {
    if (d < 0 || d >= rank)
      return op->emitOpError() << what << " entry " << d
                               << " is out of range [0, " << rank << ")";
    if (seen[d])
      return op->emitOpError() << what << " entry " << d << " appears twice";
    seen[d] = true;
  }
  return success();
}

LogicalResult GatherOp::verify() {
  auto operand = tensorOf(getOperand());
  auto indices = tensorOf(getStartIndices());
  auto result = cast<RankedTensorType>(getType());
  int64_t indexVectorDim = getIndexVectorDim();
  if (indexVectorDim < 0 || indexVectorDim > indices.getRank())
    return emitOpError("index_vector_dim ")
           << indexVectorDim << " is out of range";
  int64_t indexVectorSize = indexVectorDim == indices.getRank()
                                ? 1
                                : indices.getDimSize(indexVectorDim);
  ArrayRef<int64_t> sliceSizes = getSliceSizes();
  ArrayRef<int64_t> batching =
      getOperandBatchingDims().value_or(ArrayRef<int64_t>());
  if (int64_t(sliceSizes.size()) != operand.getRank())
    return emitOpError("slice_sizes needs one entry per operand dimension");
  if (int64_t(getStartIndexMap().size()) != indexVectorSize)
    return emitOpError("start_index_map has ")
           << getStartIndexMap().size() << " entries; the index vector has "
           << indexVectorSize;
  if (failed(checkDims(*this, getStartIndexMap(), operand.getRank(),
                       "start_index_map")) ||
      failed(checkDims(*this, getCollapsedSliceDims(), operand.getRank(),
                       "collapsed_slice_dims")) ||
      failed(checkDims(*this, batching, operand.getRank(),
                       "operand_batching_dims")))
    return failure();
  for (int64_t i = 0; i < operand.getRank(); ++i)
    if (sliceSizes[i] < 0 || sliceSizes[i] > operand.getDimSize(i))
      return emitOpError("slice size ")
             << sliceSizes[i] << " is out of bounds for operand dimension "
             << i;
  for (int64_t d : getCollapsedSliceDims())
    if (sliceSizes[d] > 1)
      return emitOpError("collapsed dimension ")
             << d << " must have slice size 0 or 1";
  // Offset dims: slice dims that are neither collapsed nor batching.
  SmallVector<int64_t> offsetSizes;
  for (int64_t i = 0; i < operand.getRank(); ++i)
    if (!llvm::is_contained(getCollapsedSliceDims(), i) &&
        !llvm::is_contained(batching, i))
      offsetSizes.push_back(sliceSizes[i]);
  ArrayRef<int64_t> offsetDims = getOffsetDims();
  if (offsetDims.size() != offsetSizes.size())
    return emitOpError("offset_dims has ")
           << offsetDims.size() << " entries; " << offsetSizes.size()
           << " slice dimensions are not collapsed";
  SmallVector<int64_t> batchSizes;
  for (int64_t i = 0; i < indices.getRank(); ++i)
    if (i != indexVectorDim)
      batchSizes.push_back(indices.getDimSize(i));
  int64_t rank = int64_t(batchSizes.size() + offsetSizes.size());
  if (failed(checkDims(*this, offsetDims, rank, "offset_dims")))
    return failure();
  SmallVector<int64_t> expected(rank, 0);
  size_t nextOffset = 0, nextBatch = 0;
  for (int64_t i = 0; i < rank; ++i)
    expected[i] = llvm::is_contained(offsetDims, i) ? offsetSizes[nextOffset++]
                                                    : batchSizes[nextBatch++];
  if (ArrayRef<int64_t>(expected) != result.getShape())
    return emitOpError("result dimensions should be ")
           << dimsText(expected) << ", not " << dimsText(result.getShape());
  return success();
}

LogicalResult ScatterOp::verify() {
  auto args = getArgs();
  if (args.size() < 3 || args.size() % 2 != 1)
    return emitOpError("needs N inputs, the indices and N updates");
  size_t n = (args.size() - 1) / 2;
  auto operand = tensorOf(args[0]);
  auto indices = tensorOf(args[n]);
  int64_t indexVectorDim = getIndexVectorDim();
  if (indexVectorDim < 0 || indexVectorDim > indices.getRank())
    return emitOpError("index_vector_dim ")
           << indexVectorDim << " is out of range";
  int64_t indexVectorSize = indexVectorDim == indices.getRank()
                                ? 1
                                : indices.getDimSize(indexVectorDim);
  if (int64_t(getScatterDimsToOperandDims().size()) != indexVectorSize)
    return emitOpError("scatter_dims_to_operand_dims has ")
           << getScatterDimsToOperandDims().size()
           << " entries; the index vector has " << indexVectorSize;
  ArrayRef<int64_t> batching =
      getInputBatchingDims().value_or(ArrayRef<int64_t>());
  if (failed(checkDims(*this, getScatterDimsToOperandDims(), operand.getRank(),
                       "scatter_dims_to_operand_dims")) ||
      failed(checkDims(*this, getInsertedWindowDims(), operand.getRank(),
                       "inserted_window_dims")))
    return failure();
  int64_t scatterRank =
      indices.getRank() - (indexVectorDim < indices.getRank());
  int64_t windowRank = getUpdateWindowDims().size();
  if (windowRank + int64_t(getInsertedWindowDims().size()) +
          int64_t(batching.size()) !=
      operand.getRank())
    return emitOpError("update_window_dims, inserted_window_dims and "
                       "input_batching_dims must cover the operand rank");
  SmallVector<Type> results = getResultShapes(*this);
  if (results.size() != n)
    return emitOpError("has ")
           << n << " inputs but " << results.size() << " results";
  for (size_t i = 0; i < n; ++i) {
    auto input = tensorOf(args[i]);
    auto update = tensorOf(args[n + 1 + i]);
    auto result = dyn_cast<RankedTensorType>(results[i]);
    if (!result || result.getShape() != input.getShape())
      return emitOpError("result ")
             << i << " must have input " << i << "'s shape";
    if (update.getRank() != scatterRank + windowRank)
      return emitOpError("updates have rank ")
             << update.getRank() << ", " << scatterRank + windowRank
             << " expected";
  }
  return success();
}

LogicalResult SortOp::verify() {
  if (getInputs().empty())
    return emitOpError("needs at least one operand");
  auto first = tensorOf(getInputs()[0]);
  if (getDimensions().size() != 1 || getDimensions()[0] < 0 ||
      getDimensions()[0] >= std::max<int64_t>(first.getRank(), 1))
    return emitOpError("needs one sort dimension inside the operand rank");
  SmallVector<Type> results = getResultShapes(*this);
  if (results.size() != getInputs().size())
    return emitOpError("must produce one result per operand");
  for (auto [input, result] : llvm::zip(getInputs(), results)) {
    auto r = dyn_cast<RankedTensorType>(result);
    if (tensorOf(input).getShape() != first.getShape() || !r ||
        r.getShape() != first.getShape())
      return emitOpError("operands and results must share one shape");
  }
  return success();
}

/// Bits of one element of `type` (complex counts both halves).
static unsigned elementBits(Type type) {
  if (auto complex = dyn_cast<ComplexType>(type))
    return 2 * complex.getElementType().getIntOrFloatBitWidth();
  return type.getIntOrFloatBitWidth();
}

LogicalResult BitcastConvertOp::verify() {
  auto operand = tensorOf(getOperand());
  auto result = cast<RankedTensorType>(getType());
  unsigned from = elementBits(operand.getElementType());
  unsigned to = elementBits(result.getElementType());
  if (from == to) {
    if (operand.getShape() != result.getShape())
      return emitOpError("cannot change the shape between types of one width");
    return success();
  }
  // Narrowing adds a minor dimension of from/to; widening removes one.
  auto [wide, narrow] =
      from > to ? std::pair(operand, result) : std::pair(result, operand);
  unsigned ratio = std::max(from, to) / std::min(from, to);
  if (narrow.getRank() != wide.getRank() + 1 ||
      narrow.getShape().drop_back() != wide.getShape() ||
      narrow.getShape().back() != ratio)
    return emitOpError("between ")
           << from << "-bit and " << to
           << "-bit types needs a minor dimension of size " << ratio;
  return success();
}
