//===- HloVerifiers.cpp - XLA shape rules for hlo ops ---------------------===//
//
// Each verifier checks what XLA's ShapeInference checks for the opcode:
// ranks, dimension sizes, element types and attribute ranges. Layouts (the
// tensor encoding) never take part in a shape comparison.
//
//===----------------------------------------------------------------------===//

#include "VerifierUtils.h"
#include "gshard/IR/HloOps.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallSet.h"
#include "llvm/Support/CheckedArithmetic.h"

using namespace mlir;
using namespace gshard::hlo;

std::string gshard::hlo::elementTypeText(Type element) {
  if (auto integer = dyn_cast<IntegerType>(element)) {
    if (integer.getWidth() == 1)
      return "pred";
    return (integer.isUnsigned() ? "u" : "s") +
           std::to_string(integer.getWidth());
  }
  if (auto complex = dyn_cast<ComplexType>(element))
    if (auto part = dyn_cast<FloatType>(complex.getElementType()))
      return "c" + std::to_string(2 * part.getWidth());
  std::string text;
  llvm::raw_string_ostream os(text);
  os << element;
  // MLIR spells f8E4M3FN where HLO spells f8e4m3fn.
  return llvm::StringRef(text).lower();
}

std::string gshard::hlo::shapeText(Type type) {
  std::string text;
  llvm::raw_string_ostream os(text);
  auto tensor = dyn_cast<RankedTensorType>(type);
  if (!tensor) {
    os << type;
    return text;
  }
  os << elementTypeText(tensor.getElementType()) << '[';
  llvm::interleave(tensor.getShape(), os, ",");
  os << ']';
  return text;
}

static RankedTensorType tensorOf(Value value) {
  return dyn_cast<RankedTensorType>(value.getType());
}

static bool sameDims(RankedTensorType a, RankedTensorType b) {
  return a.getShape() == b.getShape();
}

/// Data movement (transpose, reverse, slices, pad, concatenate) keeps the
/// element type: each of `values` must have the result's. Without this the
/// importer accepted `f32[4] slice(f16[8] %p)` and the partitioner built
/// selects of mixed types from it.
static LogicalResult checkElementTypes(Operation *op, ValueRange values) {
  auto result = cast<RankedTensorType>(op->getResult(0).getType());
  for (Value value : values)
    if (tensorOf(value).getElementType() != result.getElementType())
      return op->emitOpError("operand ")
             << shapeText(value.getType()) << " and result "
             << shapeText(result) << " must have the same element type";
  return success();
}

/// Checks that `dims` are distinct and inside [0, rank).
static LogicalResult checkDimList(Operation *op, ArrayRef<int64_t> dims,
                                  int64_t rank, llvm::StringRef what) {
  llvm::SmallSet<int64_t, 8> seen;
  for (int64_t dim : dims) {
    if (dim < 0 || dim >= rank)
      return op->emitOpError() << what << " dimension " << dim
                               << " is out of range for rank " << rank;
    if (!seen.insert(dim).second)
      return op->emitOpError()
             << what << " dimension " << dim << " appears twice";
  }
  return success();
}

LogicalResult gshard::hlo::impl::verifySameShape(Operation *op) {
  auto result = dyn_cast<RankedTensorType>(op->getResult(0).getType());
  if (!result)
    return op->emitOpError("must produce an array, not ")
           << op->getResult(0).getType();
  for (Value operand : op->getOperands()) {
    auto type = tensorOf(operand);
    if (!type)
      return op->emitOpError("operands must be arrays");
    if (!sameDims(type, result))
      return op->emitOpError("operand shape ")
             << shapeText(type) << " does not match result shape "
             << shapeText(result);
  }
  return success();
}

LogicalResult gshard::hlo::impl::verifySameElementType(Operation *op) {
  Type element =
      cast<RankedTensorType>(op->getResult(0).getType()).getElementType();
  for (Value operand : op->getOperands())
    if (tensorOf(operand).getElementType() != element)
      return op->emitOpError("operand element type ")
             << tensorOf(operand).getElementType()
             << " does not match result element type " << element;
  return success();
}

//===----------------------------------------------------------------------===//
// Elementwise with special element rules
//===----------------------------------------------------------------------===//

LogicalResult CompareOp::verify() {
  auto lhs = tensorOf(getLhs()), rhs = tensorOf(getRhs());
  auto result = cast<RankedTensorType>(getResult().getType());
  if (!sameDims(lhs, rhs) || !sameDims(lhs, result))
    return emitOpError("operands ")
           << shapeText(lhs) << " and " << shapeText(rhs) << " and result "
           << shapeText(result) << " must have one shape";
  if (lhs.getElementType() != rhs.getElementType())
    return emitOpError("compares different element types");
  if (!result.getElementType().isInteger(1))
    return emitOpError("must produce pred");
  return success();
}

LogicalResult SelectOp::verify() {
  auto pred = tensorOf(getPred()), onTrue = tensorOf(getOnTrue()),
       onFalse = tensorOf(getOnFalse());
  auto result = cast<RankedTensorType>(getType());
  if (!pred.getElementType().isInteger(1))
    return emitOpError("predicate must be pred, not ") << pred.getElementType();
  if (!sameDims(onTrue, onFalse) || !sameDims(onTrue, result) ||
      onTrue.getElementType() != onFalse.getElementType() ||
      onTrue.getElementType() != result.getElementType())
    return emitOpError("on_true ")
           << shapeText(onTrue) << ", on_false " << shapeText(onFalse)
           << " and result " << shapeText(result) << " must agree";
  if (pred.getRank() != 0 && !sameDims(pred, onTrue))
    return emitOpError("predicate shape ")
           << shapeText(pred) << " must be scalar or match "
           << shapeText(onTrue);
  return success();
}

LogicalResult ClampOp::verify() {
  auto operand = tensorOf(getOperand());
  auto result = cast<RankedTensorType>(getType());
  if (!sameDims(operand, result) ||
      operand.getElementType() != result.getElementType())
    return emitOpError("result must match the operand");
  for (Value bound : {getMin(), getMax()}) {
    auto type = tensorOf(bound);
    if (type.getElementType() != operand.getElementType() ||
        (type.getRank() != 0 && !sameDims(type, operand)))
      return emitOpError("bound ")
             << shapeText(type) << " must be a scalar or match the operand "
             << shapeText(operand);
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Shape manipulation
//===----------------------------------------------------------------------===//

LogicalResult BroadcastOp::verify() {
  auto operand = tensorOf(getOperand());
  auto result = cast<RankedTensorType>(getType());
  ArrayRef<int64_t> dims = getDimensions();
  if (int64_t(dims.size()) != operand.getRank())
    return emitOpError("needs one dimension per operand dimension: ")
           << dims.size() << " given for rank " << operand.getRank();
  if (failed(checkDimList(*this, dims, result.getRank(), "broadcast")))
    return failure();
  for (auto [i, dim] : llvm::enumerate(dims))
    if (operand.getDimSize(i) != result.getDimSize(dim) &&
        operand.getDimSize(i) != 1)
      return emitOpError("operand dimension ")
             << i << " (size " << operand.getDimSize(i)
             << ") cannot broadcast to result dimension " << dim << " (size "
             << result.getDimSize(dim) << ")";
  if (operand.getElementType() != result.getElementType())
    return emitOpError("cannot change the element type");
  return success();
}

LogicalResult ReshapeOp::verify() {
  auto operand = tensorOf(getOperand());
  auto result = cast<RankedTensorType>(getType());
  if (operand.getNumElements() != result.getNumElements())
    return emitOpError("cannot reshape ")
           << shapeText(operand) << " (" << operand.getNumElements()
           << " elements) to " << shapeText(result) << " ("
           << result.getNumElements() << " elements)";
  if (operand.getElementType() != result.getElementType())
    return emitOpError("cannot change the element type");
  return success();
}

LogicalResult TransposeOp::verify() {
  auto operand = tensorOf(getOperand());
  auto result = cast<RankedTensorType>(getType());
  ArrayRef<int64_t> perm = getDimensions();
  if (failed(checkElementTypes(*this, getOperand())))
    return failure();
  if (int64_t(perm.size()) != operand.getRank())
    return emitOpError("permutation has ")
           << perm.size() << " entries for rank " << operand.getRank();
  if (failed(checkDimList(*this, perm, operand.getRank(), "permutation")))
    return failure();
  // The rank first: the loop below reads one result dim per entry.
  if (result.getRank() != operand.getRank())
    return emitOpError("result ")
           << shapeText(result) << " is not operand " << shapeText(operand)
           << " permuted by the dimensions";
  for (auto [i, p] : llvm::enumerate(perm))
    if (result.getDimSize(i) != operand.getDimSize(p))
      return emitOpError("result ")
             << shapeText(result) << " is not operand " << shapeText(operand)
             << " permuted by the dimensions";
  return success();
}

LogicalResult ReverseOp::verify() {
  auto operand = tensorOf(getOperand());
  if (!sameDims(operand, cast<RankedTensorType>(getType())))
    return emitOpError("result shape must match the operand");
  if (failed(checkElementTypes(*this, getOperand())))
    return failure();
  return checkDimList(*this, getDimensions(), operand.getRank(), "reverse");
}

LogicalResult SliceOp::verify() {
  auto operand = tensorOf(getOperand());
  auto result = cast<RankedTensorType>(getType());
  ArrayRef<int64_t> starts = getStartIndices(), limits = getLimitIndices(),
                    strides = getStrides();
  if (failed(checkElementTypes(*this, getOperand())))
    return failure();
  int64_t rank = operand.getRank();
  if (int64_t(starts.size()) != rank || int64_t(limits.size()) != rank ||
      int64_t(strides.size()) != rank || result.getRank() != rank)
    return emitOpError("slice needs one [start:limit:stride] per dimension "
                       "of the rank-")
           << rank << " operand";
  for (int64_t i = 0; i < rank; ++i) {
    if (starts[i] < 0 || limits[i] < starts[i] ||
        limits[i] > operand.getDimSize(i) || strides[i] <= 0)
      return emitOpError("slice [")
             << starts[i] << ":" << limits[i] << ":" << strides[i]
             << "] is invalid for dimension " << i << " of size "
             << operand.getDimSize(i);
    // ceil((limit - start) / stride) without overflowing on huge strides.
    int64_t span = limits[i] - starts[i];
    int64_t expected = span == 0 ? 0 : 1 + (span - 1) / strides[i];
    if (result.getDimSize(i) != expected)
      return emitOpError("result dimension ")
             << i << " should be " << expected << ", not "
             << result.getDimSize(i);
  }
  return success();
}

LogicalResult DynamicSliceOp::verify() {
  auto operand = tensorOf(getOperand());
  auto result = cast<RankedTensorType>(getType());
  ArrayRef<int64_t> sizes = getDynamicSliceSizes();
  if (failed(checkElementTypes(*this, getOperand())))
    return failure();
  if (int64_t(getStartIndices().size()) != operand.getRank() ||
      int64_t(sizes.size()) != operand.getRank())
    return emitOpError("needs one start index and one size per operand "
                       "dimension");
  for (Value index : getStartIndices())
    if (tensorOf(index).getRank() != 0)
      return emitOpError("start indices must be scalars");
  if (result.getRank() != operand.getRank())
    return emitOpError("result ")
           << shapeText(result) << " must have the rank of the operand "
           << shapeText(operand);
  for (int64_t i = 0; i < operand.getRank(); ++i)
    if (sizes[i] < 0 || sizes[i] > operand.getDimSize(i) ||
        result.getDimSize(i) != sizes[i])
      return emitOpError("slice size ")
             << sizes[i] << " is invalid for dimension " << i << " of "
             << shapeText(operand) << " / result " << shapeText(result);
  return success();
}

LogicalResult DynamicUpdateSliceOp::verify() {
  auto operand = tensorOf(getOperand()), update = tensorOf(getUpdate());
  if (!sameDims(operand, cast<RankedTensorType>(getType())))
    return emitOpError("result shape must match the operand");
  if (failed(checkElementTypes(*this, {getOperand(), getUpdate()})))
    return failure();
  if (update.getRank() != operand.getRank() ||
      int64_t(getStartIndices().size()) != operand.getRank())
    return emitOpError("update and start indices must match the operand rank");
  for (int64_t i = 0; i < operand.getRank(); ++i)
    if (update.getDimSize(i) > operand.getDimSize(i))
      return emitOpError("update ")
             << shapeText(update) << " does not fit in " << shapeText(operand);
  return success();
}

LogicalResult ConcatenateOp::verify() {
  auto result = cast<RankedTensorType>(getType());
  if (getDimensions().size() != 1)
    return emitOpError("needs exactly one concatenate dimension");
  int64_t dim = getDimensions()[0];
  if (dim < 0 || dim >= result.getRank())
    return emitOpError("concatenate dimension ") << dim << " is out of range";
  if (getInputs().empty())
    return emitOpError("needs at least one operand");
  if (failed(checkElementTypes(*this, getInputs())))
    return failure();
  int64_t total = 0;
  for (Value input : getInputs()) {
    auto type = tensorOf(input);
    if (type.getRank() != result.getRank())
      return emitOpError("operands must have the result's rank");
    for (int64_t i = 0; i < result.getRank(); ++i)
      if (i != dim && type.getDimSize(i) != result.getDimSize(i))
        return emitOpError("operand ")
               << shapeText(type) << " does not match result "
               << shapeText(result) << " outside dimension " << dim;
    std::optional<int64_t> sum = llvm::checkedAdd(total, type.getDimSize(dim));
    if (!sum)
      return emitOpError("concatenated dimension ")
             << dim << " overflows int64";
    total = *sum;
  }
  if (total != result.getDimSize(dim))
    return emitOpError("result dimension ") << dim << " should be " << total;
  return success();
}

LogicalResult PadOp::verify() {
  auto operand = tensorOf(getOperand());
  auto result = cast<RankedTensorType>(getType());
  int64_t rank = operand.getRank();
  if (tensorOf(getPaddingValue()).getRank() != 0)
    return emitOpError("padding value must be a scalar");
  if (failed(checkElementTypes(*this, {getOperand(), getPaddingValue()})))
    return failure();
  ArrayRef<int64_t> low = getEdgePaddingLow(), high = getEdgePaddingHigh(),
                    interior = getInteriorPadding();
  if (int64_t(low.size()) != rank || int64_t(high.size()) != rank ||
      int64_t(interior.size()) != rank || result.getRank() != rank)
    return emitOpError("padding needs one entry per dimension of rank ")
           << rank;
  for (int64_t i = 0; i < rank; ++i) {
    if (interior[i] < 0)
      return emitOpError("interior padding must be non-negative");
    int64_t size = operand.getDimSize(i);
    // Fuzzed protos carry padding near INT64_MAX: checked arithmetic.
    std::optional<int64_t> expected =
        llvm::checkedMul(std::max<int64_t>(size - 1, 0), interior[i]);
    for (int64_t term : {size, low[i], high[i]})
      if (expected)
        expected = llvm::checkedAdd(*expected, term);
    if (!expected)
      return emitOpError("padding of dimension ") << i << " overflows int64";
    if (*expected < 0 || result.getDimSize(i) != *expected)
      return emitOpError("result dimension ")
             << i << " should be " << *expected << ", not "
             << result.getDimSize(i);
  }
  return success();
}

LogicalResult IotaOp::verify() {
  auto result = dyn_cast<RankedTensorType>(getType());
  if (!result)
    return emitOpError("must produce an array");
  // The I64Attr accessor is unsigned: a negative dimension must be caught
  // as such (it used to pass and index arrays with -1).
  auto dim = int64_t(getIotaDimension());
  if (dim < 0 || (dim >= result.getRank() && result.getRank() > 0))
    return emitOpError("iota_dimension ")
           << dim << " is out of range for " << shapeText(result);
  return success();
}

//===----------------------------------------------------------------------===//
// Tuples
//===----------------------------------------------------------------------===//

/// `type` with the layouts of all its arrays dropped.
static Type withoutLayouts(Type type) {
  if (auto tensor = dyn_cast<RankedTensorType>(type))
    return RankedTensorType::get(tensor.getShape(), tensor.getElementType());
  if (auto tuple = dyn_cast<TupleType>(type)) {
    SmallVector<Type> elements;
    for (Type element : tuple.getTypes())
      elements.push_back(withoutLayouts(element));
    return TupleType::get(type.getContext(), elements);
  }
  return type;
}

LogicalResult CopyOp::verify() {
  if (withoutLayouts(getOperand().getType()) !=
      withoutLayouts(getResult().getType()))
    return emitOpError("result ") << shapeText(getResult().getType())
                                  << " must have the shape of the operand "
                                  << shapeText(getOperand().getType());
  return success();
}

LogicalResult TupleOp::verify() {
  auto result = dyn_cast<TupleType>(getType());
  if (!result || result.size() != getElements().size())
    return emitOpError("result must be a tuple of the operand types");
  for (auto [element, operand] :
       llvm::zip(result.getTypes(), getElements().getTypes())) {
    if (auto a = dyn_cast<RankedTensorType>(element)) {
      auto b = dyn_cast<RankedTensorType>(operand);
      if (!b || !sameDims(a, b) || a.getElementType() != b.getElementType())
        return emitOpError("tuple element ")
               << shapeText(a) << " does not match operand "
               << shapeText(operand);
    } else if (Type(element).getTypeID() != Type(operand).getTypeID()) {
      return emitOpError("tuple element type ")
             << element << " does not match operand " << operand;
    }
  }
  return success();
}

LogicalResult GetTupleElementOp::verify() {
  auto tuple = cast<TupleType>(getOperand().getType());
  if (getIndex() >= tuple.size())
    return emitOpError("index ")
           << getIndex() << " is out of range for a tuple of " << tuple.size();
  Type element = tuple.getType(getIndex());
  auto a = dyn_cast<RankedTensorType>(element);
  auto b = dyn_cast<RankedTensorType>(getType());
  if (a && b ? (!sameDims(a, b) || a.getElementType() != b.getElementType())
             : element.getTypeID() != getType().getTypeID())
    return emitOpError("result ")
           << shapeText(getType()) << " does not match tuple element "
           << shapeText(element);
  return success();
}

//===----------------------------------------------------------------------===//
// Dot and reduce
//===----------------------------------------------------------------------===//

LogicalResult DotOp::verify() {
  auto lhs = tensorOf(getLhs()), rhs = tensorOf(getRhs());
  auto result = cast<RankedTensorType>(getType());
  ArrayRef<int64_t> lb = getLhsBatchDims().value_or(ArrayRef<int64_t>());
  ArrayRef<int64_t> lc = getLhsContractingDims().value_or(ArrayRef<int64_t>());
  ArrayRef<int64_t> rb = getRhsBatchDims().value_or(ArrayRef<int64_t>());
  ArrayRef<int64_t> rc = getRhsContractingDims().value_or(ArrayRef<int64_t>());
  if (lb.size() != rb.size())
    return emitOpError("lhs and rhs must have the same number of batch dims");
  if (lc.size() != rc.size())
    return emitOpError(
        "lhs and rhs must have the same number of contracting dims");
  SmallVector<int64_t> lhsDims(lb), rhsDims(rb);
  lhsDims.append(lc.begin(), lc.end());
  rhsDims.append(rc.begin(), rc.end());
  if (failed(checkDimList(*this, lhsDims, lhs.getRank(), "lhs")) ||
      failed(checkDimList(*this, rhsDims, rhs.getRank(), "rhs")))
    return failure();
  // A structured-sparse operand stores N of every M elements along its
  // sparse dimension: compare logical sizes.
  auto logicalSize = [&](bool isLhs, int64_t dim) -> int64_t {
    int64_t size = (isLhs ? lhs : rhs).getDimSize(dim);
    std::optional<StringRef> sparsity = getSparsity();
    if (!sparsity)
      return size;
    unsigned sparseDim, n, m;
    StringRef rest = *sparsity;
    if (!rest.consume_front(isLhs ? "L." : "R.") ||
        rest.consumeInteger(10, sparseDim) || !rest.consume_front("@") ||
        rest.consumeInteger(10, n) || !rest.consume_front(":") ||
        rest.consumeInteger(10, m) || n == 0 || int64_t(sparseDim) != dim)
      return size;
    return size * m / n;
  };
  if (getSparsity() && getSparsityMeta().size() != 1)
    return emitOpError("a sparse dot needs one metadata operand");
  if (!getSparsity() && !getSparsityMeta().empty())
    return emitOpError("only a sparse dot takes a metadata operand");
  for (auto [l, r] : llvm::zip(lhsDims, rhsDims))
    if (logicalSize(true, l) != logicalSize(false, r))
      return emitOpError("lhs dimension ")
             << l << " (size " << lhs.getDimSize(l) << ") and rhs dimension "
             << r << " (size " << rhs.getDimSize(r) << ") must match";
  // Result: batch dims, lhs free dims, rhs free dims.
  SmallVector<int64_t> expected;
  for (int64_t d : lb)
    expected.push_back(lhs.getDimSize(d));
  for (int64_t d = 0; d < lhs.getRank(); ++d)
    if (!llvm::is_contained(lhsDims, d))
      expected.push_back(lhs.getDimSize(d));
  for (int64_t d = 0; d < rhs.getRank(); ++d)
    if (!llvm::is_contained(rhsDims, d))
      expected.push_back(rhs.getDimSize(d));
  if (ArrayRef<int64_t>(expected) != result.getShape())
    return emitOpError("result shape ")
           << shapeText(result) << " should have dimensions ["
           << llvm::make_range(expected.begin(), expected.end()) << "]";
  return success();
}

LogicalResult ReduceOp::verify() {
  auto operands = getOperandsAndInits();
  if (operands.empty() || operands.size() % 2 != 0)
    return emitOpError("needs N inputs followed by N init values");
  size_t n = getNumInputs();
  auto first = tensorOf(operands[0]);
  if (failed(checkDimList(*this, getDimensions(), first.getRank(), "reduce")))
    return failure();
  SmallVector<int64_t> expected;
  for (int64_t d = 0; d < first.getRank(); ++d)
    if (!llvm::is_contained(getDimensions(), d))
      expected.push_back(first.getDimSize(d));
  SmallVector<Type> results = getResultShapes(*this);
  if (results.size() != n)
    return emitOpError("has ")
           << n << " inputs but " << results.size() << " results";
  for (size_t i = 0; i < n; ++i) {
    auto input = tensorOf(operands[i]);
    auto init = tensorOf(operands[n + i]);
    auto result = dyn_cast<RankedTensorType>(results[i]);
    if (!sameDims(input, first))
      return emitOpError("all inputs must have one shape");
    if (init.getRank() != 0)
      return emitOpError("init values must be scalars");
    if (!result || result.getShape() != ArrayRef<int64_t>(expected))
      return emitOpError("result ")
             << shapeText(results[i]) << " should have dimensions ["
             << llvm::make_range(expected.begin(), expected.end()) << "]";
  }
  return success();
}
