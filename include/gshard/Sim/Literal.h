//===- Literal.h - Values of the reference interpreter ----------*- C++ -*-===//
//
// Part of gshard, under the Apache License v2.0.
//
// A Literal is an HLO value: an array of any HLO element type, a tuple of
// literals, or a token. Arrays keep their elements in row-major order in the
// element type's own storage width (bf16/f16 as 16-bit patterns, pred as one
// byte), so bitcast-convert is a byte copy and rounding is XLA's
// (round-to-nearest-even on every store).
//
//===----------------------------------------------------------------------===//

#ifndef GSHARD_SIM_LITERAL_H
#define GSHARD_SIM_LITERAL_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/raw_ostream.h"

#include <complex>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace gshard::sim {

/// Element kinds the interpreter computes with.
enum class ElemKind : uint8_t {
  Pred,
  S8,
  S16,
  S32,
  S64,
  U8,
  U16,
  U32,
  U64,
  F16,
  BF16,
  F32,
  F64,
  /// Any other builtin float (f8 variants, tf32, ...): converted through
  /// APFloat with the type's semantics.
  OtherFloat,
  C64,
  C128,
};

/// Returns the kind of an MLIR element type, or failure for types the
/// interpreter cannot hold.
bool getElemKind(mlir::Type elementType, ElemKind &kind);
bool isFloatKind(ElemKind kind);
bool isComplexKind(ElemKind kind);
bool isSignedIntKind(ElemKind kind);
bool isUnsignedIntKind(ElemKind kind);
/// pred, signed or unsigned integer.
bool isIntegralKind(ElemKind kind);
unsigned getBitWidth(ElemKind kind, mlir::Type elementType);

class Literal;
using LiteralRef = std::shared_ptr<Literal>;

class Literal {
public:
  enum class Form : uint8_t { Array, Tuple, Token };

  /// A zero-initialized array.
  static LiteralRef makeArray(mlir::Type elementType,
                              llvm::ArrayRef<int64_t> shape);
  /// An array of `type` (a RankedTensorType); null if the element type is
  /// not supported.
  static LiteralRef makeArray(mlir::RankedTensorType type);
  static LiteralRef makeTuple(llvm::ArrayRef<LiteralRef> elements);
  static LiteralRef makeToken();
  /// A zero/empty value of any HLO type (tensor, tuple, token); null if
  /// unsupported.
  static LiteralRef makeZero(mlir::Type type);
  /// From a constant's DenseElementsAttr; null if unsupported.
  static LiteralRef fromElementsAttr(mlir::ElementsAttr attr);

  Form getForm() const { return form; }
  bool isArray() const { return form == Form::Array; }
  bool isTuple() const { return form == Form::Tuple; }
  bool isToken() const { return form == Form::Token; }

  // Arrays.
  mlir::Type getElementType() const { return elementType; }
  ElemKind getKind() const { return kind; }
  llvm::ArrayRef<int64_t> getShape() const { return shape; }
  int64_t getRank() const { return shape.size(); }
  int64_t getNumElements() const { return numElements; }
  unsigned getElementBytes() const { return elementBytes; }
  uint8_t *data() { return bytes.data(); }
  const uint8_t *data() const { return bytes.data(); }
  size_t getNumBytes() const { return bytes.size(); }
  /// Row-major strides in elements.
  llvm::SmallVector<int64_t> getStrides() const;
  int64_t linearIndex(llvm::ArrayRef<int64_t> index) const;

  /// Element access. Integers are sign- or zero-extended by kind (pred is
  /// 0/1); floats are returned exactly as double; complex as (re, im).
  int64_t getInt(int64_t i) const;
  uint64_t getBits(int64_t i) const;
  double getFloat(int64_t i) const;
  std::complex<double> getComplex(int64_t i) const;
  /// Any kind as a double (integers converted, complex: real part).
  double getAsDouble(int64_t i) const;

  /// Stores truncate integers to the element width and round floats to the
  /// element type (round-to-nearest-even).
  void setInt(int64_t i, int64_t value);
  void setBits(int64_t i, uint64_t bits);
  void setFloat(int64_t i, double value);
  void setComplex(int64_t i, std::complex<double> value);
  /// Stores a value given as double into any kind (integers: saturating
  /// conversion as XLA's convert, NaN -> 0).
  void setFromDouble(int64_t i, double value);
  /// Copies element `j` of `other` (same element type) to element `i`.
  void copyElement(int64_t i, const Literal &other, int64_t j) {
    std::memcpy(bytes.data() + i * elementBytes,
                other.bytes.data() + j * elementBytes, elementBytes);
  }

  // Tuples.
  llvm::ArrayRef<LiteralRef> getElements() const { return elements; }
  size_t getNumTupleElements() const { return elements.size(); }

  /// The MLIR type of this value (tensor without layout, tuple, token).
  mlir::Type getType(mlir::MLIRContext *context) const;
  /// True if the value's shape/element types match `type` (layouts ignored).
  bool matchesType(mlir::Type type) const;
  /// True if both are arrays of one element type and shape holding the same
  /// bytes (so they agree element for element under any tolerance).
  bool hasSameArrayBits(const Literal &other) const;
  /// A deep copy.
  LiteralRef clone() const;
  /// Same elements, new shape (element count must match).
  LiteralRef reshaped(llvm::ArrayRef<int64_t> newShape) const;

  /// Prints `f32[2,2] {{1, 2}, {3, 4}}` (at most `limit` elements).
  void print(llvm::raw_ostream &os, int64_t limit = 64) const;
  /// Prints element `i` alone.
  void printElement(llvm::raw_ostream &os, int64_t i) const;

private:
  Form form = Form::Array;
  mlir::Type elementType;
  ElemKind kind = ElemKind::F32;
  unsigned elementBytes = 0;
  llvm::SmallVector<int64_t, 4> shape;
  int64_t numElements = 0;
  std::vector<uint8_t> bytes;
  std::vector<LiteralRef> elements;
};

/// Rounds a float to bf16 / f16 (round-to-nearest-even, NaN kept quiet) and
/// back.
uint16_t floatToBF16(float value);
/// double -> bf16 in one rounding (not through float).
uint16_t doubleToBF16(double value);
float bf16ToFloat(uint16_t bits);
uint16_t doubleToHalf(double value);
double halfToDouble(uint16_t bits);

/// Prints an element type in HLO spelling (f32, s32, pred, bf16, ...).
void printHloElementType(llvm::raw_ostream &os, mlir::Type elementType);
/// Prints `f32[2,3]` / `(f32[2], s32[])` / `token[]`.
void printHloShape(llvm::raw_ostream &os, mlir::Type type);

/// Iterates a multi-dimensional index over `shape` in row-major order.
/// Returns false once it wraps around.
inline bool nextIndex(llvm::MutableArrayRef<int64_t> index,
                      llvm::ArrayRef<int64_t> shape) {
  for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
    if (++index[d] < shape[d])
      return true;
    index[d] = 0;
  }
  return false;
}

} // namespace gshard::sim

#endif // GSHARD_SIM_LITERAL_H
