//===- Literal.cpp - Values of the reference interpreter ------------------===//
//
// Part of gshard, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#include "gshard/Sim/Literal.h"

#include "gshard/IR/HloOps.h"

#include "llvm/ADT/APFloat.h"
#include "llvm/Support/Format.h"

#include <cmath>
#include <cstring>
#include <limits>

using namespace mlir;
using namespace gshard::sim;

//===----------------------------------------------------------------------===//
// Element kinds
//===----------------------------------------------------------------------===//

bool gshard::sim::getElemKind(Type type, ElemKind &kind) {
  if (auto intType = dyn_cast<IntegerType>(type)) {
    unsigned width = intType.getWidth();
    bool isUnsigned = intType.isUnsigned();
    switch (width) {
    case 1:
      kind = ElemKind::Pred;
      return true;
    case 8:
      kind = isUnsigned ? ElemKind::U8 : ElemKind::S8;
      return true;
    case 16:
      kind = isUnsigned ? ElemKind::U16 : ElemKind::S16;
      return true;
    case 32:
      kind = isUnsigned ? ElemKind::U32 : ElemKind::S32;
      return true;
    case 64:
      kind = isUnsigned ? ElemKind::U64 : ElemKind::S64;
      return true;
    default:
      return false;
    }
  }
  if (type.isF16()) {
    kind = ElemKind::F16;
    return true;
  }
  if (type.isBF16()) {
    kind = ElemKind::BF16;
    return true;
  }
  if (type.isF32()) {
    kind = ElemKind::F32;
    return true;
  }
  if (type.isF64()) {
    kind = ElemKind::F64;
    return true;
  }
  if (auto floatType = dyn_cast<FloatType>(type)) {
    if (floatType.getWidth() > 32)
      return false;
    kind = ElemKind::OtherFloat;
    return true;
  }
  if (auto complexType = dyn_cast<ComplexType>(type)) {
    if (complexType.getElementType().isF32()) {
      kind = ElemKind::C64;
      return true;
    }
    if (complexType.getElementType().isF64()) {
      kind = ElemKind::C128;
      return true;
    }
  }
  return false;
}

bool gshard::sim::isFloatKind(ElemKind kind) {
  return kind == ElemKind::F16 || kind == ElemKind::BF16 ||
         kind == ElemKind::F32 || kind == ElemKind::F64 ||
         kind == ElemKind::OtherFloat;
}
bool gshard::sim::isComplexKind(ElemKind kind) {
  return kind == ElemKind::C64 || kind == ElemKind::C128;
}
bool gshard::sim::isSignedIntKind(ElemKind kind) {
  return kind == ElemKind::S8 || kind == ElemKind::S16 ||
         kind == ElemKind::S32 || kind == ElemKind::S64;
}
bool gshard::sim::isUnsignedIntKind(ElemKind kind) {
  return kind == ElemKind::U8 || kind == ElemKind::U16 ||
         kind == ElemKind::U32 || kind == ElemKind::U64;
}
bool gshard::sim::isIntegralKind(ElemKind kind) {
  return kind == ElemKind::Pred || isSignedIntKind(kind) ||
         isUnsignedIntKind(kind);
}

unsigned gshard::sim::getBitWidth(ElemKind kind, Type elementType) {
  switch (kind) {
  case ElemKind::Pred:
    return 1;
  case ElemKind::S8:
  case ElemKind::U8:
    return 8;
  case ElemKind::S16:
  case ElemKind::U16:
  case ElemKind::F16:
  case ElemKind::BF16:
    return 16;
  case ElemKind::S32:
  case ElemKind::U32:
  case ElemKind::F32:
    return 32;
  case ElemKind::S64:
  case ElemKind::U64:
  case ElemKind::F64:
  case ElemKind::C64:
    return 64;
  case ElemKind::C128:
    return 128;
  case ElemKind::OtherFloat:
    return cast<FloatType>(elementType).getWidth();
  }
  return 0;
}

static unsigned storageBytes(ElemKind kind, Type elementType) {
  if (kind == ElemKind::Pred)
    return 1;
  return (getBitWidth(kind, elementType) + 7) / 8;
}

//===----------------------------------------------------------------------===//
// bf16 / f16 rounding
//===----------------------------------------------------------------------===//

uint16_t gshard::sim::floatToBF16(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, 4);
  if (std::isnan(value))
    return static_cast<uint16_t>((bits >> 16) | 0x40);
  uint32_t lsb = (bits >> 16) & 1;
  bits += 0x7fff + lsb;
  return static_cast<uint16_t>(bits >> 16);
}

float gshard::sim::bf16ToFloat(uint16_t bits) {
  uint32_t wide = static_cast<uint32_t>(bits) << 16;
  float value;
  std::memcpy(&value, &wide, 4);
  return value;
}

/// double -> bf16 with a single rounding: going through float can land on a
/// bf16 tie that the double was not on; break such ties by the direction
/// float rounding went.
uint16_t gshard::sim::doubleToBF16(double value) {
  float f = static_cast<float>(value);
  if (std::isnan(f) || std::isinf(f))
    return floatToBF16(f);
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  if ((bits & 0xffff) == 0x8000 && static_cast<double>(f) != value) {
    bool roundedUp = std::fabs(static_cast<double>(f)) > std::fabs(value);
    uint16_t truncated = static_cast<uint16_t>(bits >> 16);
    return roundedUp ? truncated : static_cast<uint16_t>(truncated + 1);
  }
  return floatToBF16(f);
}

uint16_t gshard::sim::doubleToHalf(double value) {
  llvm::APFloat f(value);
  bool losesInfo;
  f.convert(llvm::APFloat::IEEEhalf(), llvm::APFloat::rmNearestTiesToEven,
            &losesInfo);
  return static_cast<uint16_t>(f.bitcastToAPInt().getZExtValue());
}

double gshard::sim::halfToDouble(uint16_t bits) {
  llvm::APFloat f(llvm::APFloat::IEEEhalf(), llvm::APInt(16, bits));
  bool losesInfo;
  f.convert(llvm::APFloat::IEEEdouble(), llvm::APFloat::rmNearestTiesToEven,
            &losesInfo);
  return f.convertToDouble();
}

//===----------------------------------------------------------------------===//
// Construction
//===----------------------------------------------------------------------===//

LiteralRef Literal::makeArray(Type elementType, llvm::ArrayRef<int64_t> shape) {
  ElemKind kind;
  if (!getElemKind(elementType, kind))
    return nullptr;
  auto lit = std::make_shared<Literal>();
  lit->form = Form::Array;
  lit->elementType = elementType;
  lit->kind = kind;
  lit->elementBytes = storageBytes(kind, elementType);
  lit->shape.assign(shape.begin(), shape.end());
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  lit->numElements = n;
  lit->bytes.assign(static_cast<size_t>(n) * lit->elementBytes, 0);
  return lit;
}

LiteralRef Literal::makeArray(RankedTensorType type) {
  return makeArray(type.getElementType(), type.getShape());
}

LiteralRef Literal::makeTuple(llvm::ArrayRef<LiteralRef> elements) {
  auto lit = std::make_shared<Literal>();
  lit->form = Form::Tuple;
  lit->elements.assign(elements.begin(), elements.end());
  return lit;
}

LiteralRef Literal::makeToken() {
  auto lit = std::make_shared<Literal>();
  lit->form = Form::Token;
  return lit;
}

LiteralRef Literal::makeZero(Type type) {
  if (auto tensor = dyn_cast<RankedTensorType>(type))
    return makeArray(tensor);
  if (auto tuple = dyn_cast<TupleType>(type)) {
    std::vector<LiteralRef> elements;
    for (Type element : tuple.getTypes()) {
      LiteralRef lit = makeZero(element);
      if (!lit)
        return nullptr;
      elements.push_back(std::move(lit));
    }
    return makeTuple(elements);
  }
  if (isa<gshard::hlo::TokenType>(type))
    return makeToken();
  return nullptr;
}

LiteralRef Literal::fromElementsAttr(ElementsAttr attr) {
  auto dense = dyn_cast<DenseElementsAttr>(attr);
  if (!dense)
    return nullptr;
  auto type = cast<ShapedType>(dense.getType());
  LiteralRef lit = makeArray(type.getElementType(), type.getShape());
  if (!lit)
    return nullptr;
  int64_t n = lit->getNumElements();
  Type elementType = type.getElementType();
  if (elementType.isInteger(1)) {
    int64_t i = 0;
    for (bool b : dense.getValues<bool>())
      if (i < n)
        lit->setInt(i++, b);
    return lit;
  }
  if (isa<IntegerType>(elementType)) {
    int64_t i = 0;
    for (const llvm::APInt &v : dense.getValues<llvm::APInt>())
      if (i < n)
        lit->setBits(i++, v.getZExtValue());
    return lit;
  }
  if (isa<FloatType>(elementType)) {
    int64_t i = 0;
    for (const llvm::APFloat &v : dense.getValues<llvm::APFloat>())
      if (i < n)
        lit->setBits(i++, v.bitcastToAPInt().getZExtValue());
    return lit;
  }
  if (isa<ComplexType>(elementType)) {
    int64_t i = 0;
    for (const std::complex<llvm::APFloat> &v :
         dense.getValues<std::complex<llvm::APFloat>>()) {
      if (i >= n)
        break;
      bool losesInfo;
      llvm::APFloat re = v.real(), im = v.imag();
      re.convert(llvm::APFloat::IEEEdouble(),
                 llvm::APFloat::rmNearestTiesToEven, &losesInfo);
      im.convert(llvm::APFloat::IEEEdouble(),
                 llvm::APFloat::rmNearestTiesToEven, &losesInfo);
      lit->setComplex(i++, {re.convertToDouble(), im.convertToDouble()});
    }
    return lit;
  }
  return nullptr;
}

//===----------------------------------------------------------------------===//
// Indexing
//===----------------------------------------------------------------------===//

llvm::SmallVector<int64_t> Literal::getStrides() const {
  llvm::SmallVector<int64_t> strides(shape.size(), 1);
  for (int64_t d = static_cast<int64_t>(shape.size()) - 2; d >= 0; --d)
    strides[d] = strides[d + 1] * shape[d + 1];
  return strides;
}

int64_t Literal::linearIndex(llvm::ArrayRef<int64_t> index) const {
  int64_t linear = 0;
  for (size_t d = 0; d < shape.size(); ++d)
    linear = linear * shape[d] + index[d];
  return linear;
}

//===----------------------------------------------------------------------===//
// Element access
//===----------------------------------------------------------------------===//

uint64_t Literal::getBits(int64_t i) const {
  uint64_t bits = 0;
  unsigned n = elementBytes > 8 ? 8 : elementBytes;
  std::memcpy(&bits, bytes.data() + i * elementBytes, n);
  return bits;
}

void Literal::setBits(int64_t i, uint64_t bits) {
  unsigned n = elementBytes > 8 ? 8 : elementBytes;
  std::memcpy(bytes.data() + i * elementBytes, &bits, n);
}

int64_t Literal::getInt(int64_t i) const {
  const uint8_t *p = bytes.data() + i * elementBytes;
  switch (kind) {
  case ElemKind::Pred:
    return *p ? 1 : 0;
  case ElemKind::S8:
    return static_cast<int8_t>(*p);
  case ElemKind::U8:
    return *p;
  case ElemKind::S16: {
    int16_t v;
    std::memcpy(&v, p, 2);
    return v;
  }
  case ElemKind::U16: {
    uint16_t v;
    std::memcpy(&v, p, 2);
    return v;
  }
  case ElemKind::S32: {
    int32_t v;
    std::memcpy(&v, p, 4);
    return v;
  }
  case ElemKind::U32: {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
  }
  case ElemKind::S64:
  case ElemKind::U64: {
    int64_t v;
    std::memcpy(&v, p, 8);
    return v;
  }
  default:
    return static_cast<int64_t>(getAsDouble(i));
  }
}

void Literal::setInt(int64_t i, int64_t value) {
  if (kind == ElemKind::Pred) {
    bytes[i] = value != 0;
    return;
  }
  if (isIntegralKind(kind)) {
    std::memcpy(bytes.data() + i * elementBytes, &value, elementBytes);
    return;
  }
  if (isUnsignedIntKind(kind))
    return setFloat(i, static_cast<double>(static_cast<uint64_t>(value)));
  setFloat(i, static_cast<double>(value));
}

double Literal::getFloat(int64_t i) const {
  const uint8_t *p = bytes.data() + i * elementBytes;
  switch (kind) {
  case ElemKind::F32: {
    float v;
    std::memcpy(&v, p, 4);
    return v;
  }
  case ElemKind::F64: {
    double v;
    std::memcpy(&v, p, 8);
    return v;
  }
  case ElemKind::BF16: {
    uint16_t v;
    std::memcpy(&v, p, 2);
    return bf16ToFloat(v);
  }
  case ElemKind::F16: {
    uint16_t v;
    std::memcpy(&v, p, 2);
    return halfToDouble(v);
  }
  case ElemKind::OtherFloat: {
    auto floatType = cast<FloatType>(elementType);
    llvm::APFloat f(floatType.getFloatSemantics(),
                    llvm::APInt(floatType.getWidth(), getBits(i)));
    bool losesInfo;
    f.convert(llvm::APFloat::IEEEdouble(), llvm::APFloat::rmNearestTiesToEven,
              &losesInfo);
    return f.convertToDouble();
  }
  case ElemKind::C64:
  case ElemKind::C128:
    return getComplex(i).real();
  default:
    return getAsDouble(i);
  }
}

void Literal::setFloat(int64_t i, double value) {
  uint8_t *p = bytes.data() + i * elementBytes;
  switch (kind) {
  case ElemKind::F32: {
    float v = static_cast<float>(value);
    std::memcpy(p, &v, 4);
    return;
  }
  case ElemKind::F64:
    std::memcpy(p, &value, 8);
    return;
  case ElemKind::BF16: {
    uint16_t v = doubleToBF16(value);
    std::memcpy(p, &v, 2);
    return;
  }
  case ElemKind::F16: {
    uint16_t v = doubleToHalf(value);
    std::memcpy(p, &v, 2);
    return;
  }
  case ElemKind::OtherFloat: {
    auto floatType = cast<FloatType>(elementType);
    llvm::APFloat f(value);
    bool losesInfo;
    f.convert(floatType.getFloatSemantics(), llvm::APFloat::rmNearestTiesToEven,
              &losesInfo);
    setBits(i, f.bitcastToAPInt().getZExtValue());
    return;
  }
  case ElemKind::C64:
  case ElemKind::C128:
    setComplex(i, {value, 0.0});
    return;
  default:
    setFromDouble(i, value);
  }
}

std::complex<double> Literal::getComplex(int64_t i) const {
  const uint8_t *p = bytes.data() + i * elementBytes;
  if (kind == ElemKind::C64) {
    float v[2];
    std::memcpy(v, p, 8);
    return {v[0], v[1]};
  }
  if (kind == ElemKind::C128) {
    double v[2];
    std::memcpy(v, p, 16);
    return {v[0], v[1]};
  }
  return {getAsDouble(i), 0.0};
}

void Literal::setComplex(int64_t i, std::complex<double> value) {
  uint8_t *p = bytes.data() + i * elementBytes;
  if (kind == ElemKind::C64) {
    float v[2] = {static_cast<float>(value.real()),
                  static_cast<float>(value.imag())};
    std::memcpy(p, v, 8);
    return;
  }
  if (kind == ElemKind::C128) {
    double v[2] = {value.real(), value.imag()};
    std::memcpy(p, v, 16);
    return;
  }
  setFromDouble(i, value.real());
}

double Literal::getAsDouble(int64_t i) const {
  if (isFloatKind(kind) || isComplexKind(kind))
    return getFloat(i);
  if (kind == ElemKind::U64)
    return static_cast<double>(static_cast<uint64_t>(getInt(i)));
  return static_cast<double>(getInt(i));
}

/// Saturating float -> integer conversion (XLA's convert: NaN -> 0, out of
/// range -> the nearest representable bound).
template <typename T> static T saturate(double value) {
  if (std::isnan(value))
    return 0;
  if (value <= static_cast<double>(std::numeric_limits<T>::min()))
    return std::numeric_limits<T>::min();
  if (value >= static_cast<double>(std::numeric_limits<T>::max()))
    return std::numeric_limits<T>::max();
  return static_cast<T>(value);
}

void Literal::setFromDouble(int64_t i, double value) {
  switch (kind) {
  case ElemKind::Pred:
    bytes[i] = value != 0.0;
    return;
  case ElemKind::S8:
    return setInt(i, saturate<int8_t>(value));
  case ElemKind::S16:
    return setInt(i, saturate<int16_t>(value));
  case ElemKind::S32:
    return setInt(i, saturate<int32_t>(value));
  case ElemKind::S64:
    return setInt(i, saturate<int64_t>(value));
  case ElemKind::U8:
    return setInt(i, saturate<uint8_t>(value));
  case ElemKind::U16:
    return setInt(i, saturate<uint16_t>(value));
  case ElemKind::U32:
    return setInt(i, saturate<uint32_t>(value));
  case ElemKind::U64:
    return setInt(i, static_cast<int64_t>(saturate<uint64_t>(value)));
  default:
    return setFloat(i, value);
  }
}

//===----------------------------------------------------------------------===//
// Types, copies, printing
//===----------------------------------------------------------------------===//

Type Literal::getType(MLIRContext *context) const {
  if (isToken())
    return gshard::hlo::TokenType::get(context);
  if (isTuple()) {
    llvm::SmallVector<Type> types;
    for (const LiteralRef &element : elements)
      types.push_back(element->getType(context));
    return TupleType::get(context, types);
  }
  return RankedTensorType::get(shape, elementType);
}

bool Literal::hasSameArrayBits(const Literal &other) const {
  if (this == &other)
    return isArray();
  // memcmp's pointers must be valid even for zero bytes: empty arrays have
  // no storage.
  return isArray() && other.isArray() && elementType == other.elementType &&
         shape == other.shape && bytes.size() == other.bytes.size() &&
         (bytes.empty() ||
          std::memcmp(bytes.data(), other.bytes.data(), bytes.size()) == 0);
}

bool Literal::matchesType(Type type) const {
  if (isToken())
    return isa<gshard::hlo::TokenType>(type);
  if (isTuple()) {
    auto tuple = dyn_cast<TupleType>(type);
    if (!tuple || tuple.size() != elements.size())
      return false;
    for (size_t i = 0; i < elements.size(); ++i)
      if (!elements[i]->matchesType(tuple.getType(i)))
        return false;
    return true;
  }
  auto tensor = dyn_cast<RankedTensorType>(type);
  return tensor && tensor.getElementType() == elementType &&
         tensor.getShape() == llvm::ArrayRef<int64_t>(shape);
}

LiteralRef Literal::clone() const {
  auto lit = std::make_shared<Literal>(*this);
  for (LiteralRef &element : lit->elements)
    element = element->clone();
  return lit;
}

LiteralRef Literal::reshaped(llvm::ArrayRef<int64_t> newShape) const {
  auto lit = std::make_shared<Literal>(*this);
  lit->shape.assign(newShape.begin(), newShape.end());
  return lit;
}

void gshard::sim::printHloElementType(llvm::raw_ostream &os, Type type) {
  if (auto intType = dyn_cast<IntegerType>(type)) {
    if (intType.getWidth() == 1) {
      os << "pred";
      return;
    }
    os << (intType.isUnsigned() ? "u" : "s") << intType.getWidth();
    return;
  }
  if (auto complexType = dyn_cast<ComplexType>(type)) {
    os << (complexType.getElementType().isF64() ? "c128" : "c64");
    return;
  }
  std::string text;
  llvm::raw_string_ostream tos(text);
  type.print(tos);
  os << tos.str();
}

void gshard::sim::printHloShape(llvm::raw_ostream &os, Type type) {
  if (isa<gshard::hlo::TokenType>(type)) {
    os << "token[]";
    return;
  }
  if (auto tuple = dyn_cast<TupleType>(type)) {
    os << '(';
    llvm::interleaveComma(tuple.getTypes(), os,
                          [&](Type t) { printHloShape(os, t); });
    os << ')';
    return;
  }
  if (auto tensor = dyn_cast<RankedTensorType>(type)) {
    printHloElementType(os, tensor.getElementType());
    os << '[';
    llvm::interleave(tensor.getShape(), os, ",");
    os << ']';
    return;
  }
  os << type;
}

void Literal::printElement(llvm::raw_ostream &os, int64_t i) const {
  if (kind == ElemKind::Pred) {
    os << (getInt(i) ? "true" : "false");
  } else if (isSignedIntKind(kind)) {
    os << getInt(i);
  } else if (isUnsignedIntKind(kind)) {
    os << static_cast<uint64_t>(getInt(i));
  } else if (isComplexKind(kind)) {
    std::complex<double> c = getComplex(i);
    os << '(' << llvm::format("%.9g", c.real()) << ", "
       << llvm::format("%.9g", c.imag()) << ')';
  } else {
    double v = getFloat(i);
    if (std::isnan(v))
      os << "nan";
    else if (std::isinf(v))
      os << (v < 0 ? "-inf" : "inf");
    else
      os << llvm::format(kind == ElemKind::F64 ? "%.17g" : "%.9g", v);
  }
}

void Literal::print(llvm::raw_ostream &os, int64_t limit) const {
  if (isToken()) {
    os << "token";
    return;
  }
  if (isTuple()) {
    os << '(';
    llvm::interleaveComma(elements, os, [&](const LiteralRef &element) {
      element->print(os, limit);
    });
    os << ')';
    return;
  }
  printHloElementType(os, elementType);
  os << '[';
  llvm::interleave(shape, os, ",");
  os << "] ";
  if (shape.empty()) {
    printElement(os, 0);
    return;
  }
  if (numElements > limit) {
    // Flat, elided.
    os << '{';
    for (int64_t i = 0; i < limit; ++i) {
      printElement(os, i);
      os << ", ";
    }
    os << "... (" << numElements << " elements)}";
    return;
  }
  if (numElements == 0) {
    os << "{}";
    return;
  }
  // Nested braces, row-major.
  llvm::SmallVector<int64_t> index(shape.size(), 0);
  for (int64_t i = 0; i < numElements; ++i) {
    size_t opened = 0;
    for (int64_t d = shape.size() - 1; d >= 0 && index[d] == 0; --d)
      ++opened;
    if (i > 0)
      os << ", ";
    for (size_t k = 0; k < opened; ++k)
      os << '{';
    printElement(os, i);
    bool more = nextIndex(index, shape);
    size_t closed = 0;
    for (int64_t d = shape.size() - 1; d >= 0 && index[d] == 0; --d)
      ++closed;
    if (!more)
      closed = shape.size();
    for (size_t k = 0; k < closed; ++k)
      os << '}';
  }
}
