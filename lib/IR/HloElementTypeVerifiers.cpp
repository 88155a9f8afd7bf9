//===- HloElementTypeVerifiers.cpp - Ops with their own element rules -----===//
//
// Elementwise ops whose result element type is not simply the operand's
// (real, imag, is-finite, reduce-precision, stochastic-convert), and
// bitcast, which reinterprets bytes. The rules are XLA's ShapeInference
// (InferUnaryOpShape, InferReducePrecisionShape,
// InferStochasticConvertShape) and, for bitcast, its layout-sensitive
// HloVerifier check. Without them the importer accepted e.g. a
// reduce-precision whose result had other dims or another element type than
// its operand, and the partitioner, treating the op as elementwise, built
// modules that mixed types.
//
//===----------------------------------------------------------------------===//

#include "VerifierUtils.h"
#include "gshard/IR/HloOps.h"

#include "llvm/Support/CheckedArithmetic.h"

using namespace mlir;
using namespace gshard::hlo;

static RankedTensorType tensorOf(Value value) {
  return cast<RankedTensorType>(value.getType());
}

/// The component type of a complex element type; a float stays itself.
/// Null for other types (real and imag need a float or complex operand).
static Type realComponent(Type element) {
  if (auto complex = dyn_cast<ComplexType>(element))
    return complex.getElementType();
  if (isa<FloatType>(element))
    return element;
  return nullptr;
}

/// real and imag: the operand is floating or complex and the result has its
/// (component) type; the dims are checked by HloSameShape.
static LogicalResult verifyComplexPart(Operation *op) {
  Type operand = tensorOf(op->getOperand(0)).getElementType();
  Type result = tensorOf(op->getResult(0)).getElementType();
  Type component = realComponent(operand);
  if (!component)
    return op->emitOpError("needs a floating-point or complex operand, not ")
           << elementTypeText(operand);
  if (result != component)
    return op->emitOpError("of ")
           << elementTypeText(operand) << " must produce "
           << elementTypeText(component) << ", not " << elementTypeText(result);
  return success();
}

LogicalResult RealOp::verify() { return verifyComplexPart(*this); }
LogicalResult ImagOp::verify() { return verifyComplexPart(*this); }

LogicalResult IsFiniteOp::verify() {
  Type operand = tensorOf(getOperand()).getElementType();
  if (!isa<FloatType>(operand))
    return emitOpError("needs a floating-point operand, not ")
           << elementTypeText(operand);
  if (!tensorOf(getResult()).getElementType().isInteger(1))
    return emitOpError("must produce pred");
  return success();
}

LogicalResult ReducePrecisionOp::verify() {
  auto operand = tensorOf(getOperand());
  auto result = tensorOf(getResult());
  if (operand.getShape() != result.getShape() ||
      operand.getElementType() != result.getElementType())
    return emitOpError("result ")
           << shapeText(result) << " must have the operand's shape "
           << shapeText(operand);
  if (!isa<FloatType>(operand.getElementType()))
    return emitOpError("needs a floating-point operand, not ")
           << elementTypeText(operand.getElementType());
  // I64Attr accessors return uint64_t; the attributes hold signed values.
  auto exponentBits = int64_t(getExponentBits());
  auto mantissaBits = int64_t(getMantissaBits());
  // One exponent bit is needed to tell 0 from infinity (XLA's rule).
  if (exponentBits < 1)
    return emitOpError("exponent_bits must be at least 1, not ")
           << exponentBits;
  if (mantissaBits < 0)
    return emitOpError("mantissa_bits must not be negative: ") << mantissaBits;
  return success();
}

LogicalResult StochasticConvertOp::verify() {
  auto operand = tensorOf(getOperand());
  auto random = tensorOf(getRandom());
  auto result = tensorOf(getResult());
  if (operand.getShape() != random.getShape() ||
      operand.getShape() != result.getShape())
    return emitOpError("operand ")
           << shapeText(operand) << ", random bits " << shapeText(random)
           << " and result " << shapeText(result) << " must have one shape";
  Type element = operand.getElementType();
  if (!isa<FloatType>(element))
    return emitOpError("needs a floating-point operand, not ")
           << elementTypeText(element);
  auto bits = dyn_cast<IntegerType>(random.getElementType());
  if (!bits || !bits.isUnsigned() ||
      bits.getWidth() != element.getIntOrFloatBitWidth())
    return emitOpError("random bits must be unsigned integers as wide as ")
           << elementTypeText(element) << ", not "
           << elementTypeText(random.getElementType());
  return success();
}

/// Bytes of one element as XLA stores it unpacked: pred and sub-byte types
/// take a whole byte, complex both halves.
static int64_t elementBytes(Type element) {
  if (auto complex = dyn_cast<ComplexType>(element))
    return 2 * elementBytes(complex.getElementType());
  return (int64_t(element.getIntOrFloatBitWidth()) + 7) / 8;
}

/// Byte size of `type`, or nothing when it overflows int64.
static std::optional<int64_t> byteSize(RankedTensorType type) {
  return llvm::checkedMul<int64_t>(type.getNumElements(),
                                   elementBytes(type.getElementType()));
}

LogicalResult BitcastOp::verify() {
  // A bitcast reinterprets the operand's buffer: it may change dims, layout
  // and even the element type, but not the number of bytes (XLA's
  // layout-sensitive check; sizes here ignore layout padding, which XLA's
  // shape_size also does for dense layouts).
  auto operand = tensorOf(getOperand());
  auto result = tensorOf(getResult());
  std::optional<int64_t> from = byteSize(operand), to = byteSize(result);
  if (!from || !to)
    return emitOpError("byte size of ")
           << shapeText(from ? result : operand) << " overflows int64";
  if (*from != *to)
    return emitOpError("cannot change the byte size: operand ")
           << shapeText(operand) << " has " << *from << " bytes, result "
           << shapeText(result) << " " << *to;
  return success();
}
