//===- HloLiteralPrinter.cpp - HLO shapes, literals and floats ------------===//
//
// Shapes (`f32[2,3]{1,0}`, tuples, `token[]`) and constant literals in XLA's
// one-line literal syntax. Floats print as the shortest decimal that reads
// back as the identical value in their own format.
//
//===----------------------------------------------------------------------===//

#include "gshard/Export/HloTextExporter.h"
#include "gshard/IR/HloOps.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Error.h"

#include <charconv>
#include <cmath>
#include <complex>
#include <cstdio>
#include <cstdlib>

using namespace mlir;
using namespace gshard;
using llvm::APFloat;

//===----------------------------------------------------------------------===//
// Element types and shapes
//===----------------------------------------------------------------------===//

LogicalResult gshard::printHloElementType(llvm::raw_ostream &os,
                                          Type elementType) {
  if (auto integer = dyn_cast<IntegerType>(elementType)) {
    if (integer.getWidth() == 1) {
      os << "pred";
      return success();
    }
    os << (integer.isUnsigned() ? 'u' : 's') << integer.getWidth();
    return success();
  }
  if (auto floatType = dyn_cast<FloatType>(elementType)) {
    if (floatType.isF32()) {
      os << "f32";
      return success();
    }
    if (floatType.isBF16()) {
      os << "bf16";
      return success();
    }
    // MLIR spells the formats like XLA up to case: f8E4M3FN -> f8e4m3fn.
    std::string name;
    llvm::raw_string_ostream nameOs(name);
    floatType.print(nameOs);
    os << llvm::StringRef(name).lower();
    return success();
  }
  if (auto complex = dyn_cast<ComplexType>(elementType)) {
    Type part = complex.getElementType();
    if (part.isF32()) {
      os << "c64";
      return success();
    }
    if (part.isF64()) {
      os << "c128";
      return success();
    }
  }
  return failure();
}

/// Prints `(a, b, c, d, e, /*index=5*/f)`, as XLA does for tuples.
template <typename Range, typename Fn>
static LogicalResult printTupleLike(llvm::raw_ostream &os, Range elements,
                                    Fn printElement) {
  os << '(';
  size_t index = 0;
  for (auto element : elements) {
    if (index != 0) {
      os << ", ";
      if (index % 5 == 0)
        os << "/*index=" << index << "*/";
    }
    if (failed(printElement(element)))
      return failure();
    ++index;
  }
  os << ')';
  return success();
}

LogicalResult gshard::printHloShape(llvm::raw_ostream &os, Type type,
                                    bool withLayout) {
  if (isa<hlo::TokenType>(type)) {
    os << "token[]";
    return success();
  }
  if (auto tuple = dyn_cast<TupleType>(type))
    return printTupleLike(os, tuple.getTypes(), [&](Type element) {
      return printHloShape(os, element, withLayout);
    });
  auto tensor = dyn_cast<RankedTensorType>(type);
  if (!tensor || failed(printHloElementType(os, tensor.getElementType())))
    return failure();
  os << '[';
  llvm::interleave(
      tensor.getShape(), os,
      [&](int64_t dim) {
        if (ShapedType::isDynamic(dim))
          os << '?';
        else
          os << dim;
      },
      ",");
  os << ']';
  if (!withLayout)
    return success();
  if (auto layout = dyn_cast_or_null<hlo::LayoutAttr>(tensor.getEncoding())) {
    // XLA does not print the (empty) layout of a scalar unless it has tiles
    // or a memory space: `f32[]`, but `f32[]{:T(256)}`.
    if (tensor.getRank() == 0 && layout.getMinorToMajor().empty() &&
        layout.getSuffix().empty())
      return success();
    layout.printHlo(os);
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Floats
//===----------------------------------------------------------------------===//

/// Whether `text` reads back as exactly `value`, both by a correctly rounded
/// decimal conversion straight into the value's format and by way of double
/// (what a strtod-based reader does): the printed text must not depend on how
/// the reader converts it.
static bool readsBackAs(const char *text, const APFloat &value) {
  const llvm::fltSemantics &semantics = value.getSemantics();
  APFloat direct(semantics);
  auto status = direct.convertFromString(text, APFloat::rmNearestTiesToEven);
  if (!status) {
    llvm::consumeError(status.takeError());
    return false;
  }
  if (!direct.bitwiseIsEqual(value))
    return false;
  if (&semantics == &APFloat::IEEEdouble())
    return true;
  APFloat viaDouble(std::strtod(text, nullptr));
  bool losesInfo = false;
  viaDouble.convert(semantics, APFloat::rmNearestTiesToEven, &losesInfo);
  return viaDouble.bitwiseIsEqual(value);
}

/// `%.{precision}g` of `value`.
static std::string formatG(double value, int precision) {
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%.*g", precision, value);
  return buffer;
}

/// Number of significant digits of the shortest round-trip spelling of a
/// float or double (a lower bound to start the search from).
template <typename T> static int shortestDigits(T value) {
  char buffer[64];
  auto result = std::to_chars(buffer, buffer + sizeof(buffer), value,
                              std::chars_format::scientific);
  int digits = 0;
  for (char *p = buffer; p != result.ptr && *p != 'e'; ++p)
    if (llvm::isDigit(*p))
      ++digits;
  return std::max(digits, 1);
}

/// Finds the fewest significant digits `p` for which `%.{p}g` of `value`
/// passes `readsBack`, starting from `from`.
template <typename Fn>
static std::string shortestSpelling(double value, int from, int max,
                                    Fn readsBack) {
  std::string text;
  for (int p = from; p <= max; ++p) {
    text = formatG(value, p);
    if (p == max || readsBack(text.c_str()))
      break;
  }
  // `%g` switches to an exponent once the decimal exponent reaches the
  // precision: print 100 and 65504 rather than 1e+02 and 6.55e+04, as `%g`
  // with its default precision would.
  size_t e = text.find('e');
  if (e == std::string::npos)
    return text;
  int exponent = std::atoi(text.c_str() + e + 1);
  if (exponent < 0 || exponent >= 6)
    return text;
  std::string fixed = formatG(value, exponent + 1);
  return readsBack(fixed.c_str()) ? fixed : text;
}

static std::string formatFinite(const APFloat &value) {
  const llvm::fltSemantics &semantics = value.getSemantics();
  if (&semantics == &APFloat::IEEEdouble()) {
    double d = value.convertToDouble();
    return shortestSpelling(d, shortestDigits(d), 17, [&](const char *text) {
      return std::strtod(text, nullptr) == d;
    });
  }
  if (&semantics == &APFloat::IEEEsingle()) {
    float f = value.convertToFloat();
    return shortestSpelling(f, shortestDigits(f), 9, [&](const char *text) {
      return std::strtof(text, nullptr) == f &&
             float(std::strtod(text, nullptr)) == f;
    });
  }
  // Narrower formats (f16, bf16, f8*, tf32) are exactly representable in
  // double; widen and search the shortest spelling that reads back.
  APFloat wide = value;
  bool losesInfo = false;
  wide.convert(APFloat::IEEEdouble(), APFloat::rmNearestTiesToEven, &losesInfo);
  return shortestSpelling(wide.convertToDouble(), 1, 17, [&](const char *text) {
    return readsBackAs(text, value);
  });
}

std::string gshard::formatHloFloat(const APFloat &value) {
  if (value.isInfinity())
    return value.isNegative() ? "-inf" : "inf";
  if (value.isNaN()) {
    std::string text = value.isNegative() ? "-nan" : "nan";
    APFloat canonical =
        APFloat::getQNaN(value.getSemantics(), value.isNegative());
    if (canonical.bitwiseIsEqual(value))
      return text;
    // Keep a non-default payload: the mantissa bits, in hex.
    llvm::APInt bits = value.bitcastToAPInt();
    unsigned mantissaBits =
        APFloat::semanticsPrecision(value.getSemantics()) - 1;
    llvm::APInt payload = bits.trunc(mantissaBits);
    return text + "(0x" + llvm::toString(payload, 16, false) + ")";
  }
  return formatFinite(value);
}

//===----------------------------------------------------------------------===//
// Literals
//===----------------------------------------------------------------------===//

namespace {
/// Prints the elements of a dense literal by row-major index. Splats and the
/// bit patterns of narrow float formats are spelled once.
class ElementPrinter {
public:
  explicit ElementPrinter(DenseElementsAttr attr) : attr(attr) {
    Type element = attr.getElementType();
    if (element.isInteger(1))
      bools = attr.value_begin<bool>();
    else if (isa<IntegerType>(element))
      ints = attr.value_begin<llvm::APInt>();
    else if (element.isF32())
      floats = attr.value_begin<float>();
    else if (element.isF64())
      doubles = attr.value_begin<double>();
    else if (isa<FloatType>(element))
      apfloats = attr.value_begin<APFloat>();
    else
      complexes = attr.value_begin<std::complex<APFloat>>();
  }

  void print(llvm::raw_ostream &os, int64_t index, bool scalar) {
    if (!attr.isSplat()) {
      printElement(os, index, scalar);
      return;
    }
    if (!splatText) {
      std::string text;
      llvm::raw_string_ostream textOs(text);
      printElement(textOs, 0, scalar);
      splatText = std::move(text);
    }
    os << *splatText;
  }

private:
  void printElement(llvm::raw_ostream &os, int64_t index, bool scalar) {
    if (bools) {
      bool value = (*bools)[index];
      // XLA prints pred arrays as 0/1 ("denser"), pred scalars as words.
      if (scalar)
        os << (value ? "true" : "false");
      else
        os << (value ? '1' : '0');
    } else if (ints) {
      llvm::APInt value = (*ints)[index];
      bool isUnsigned = cast<IntegerType>(attr.getElementType()).isUnsigned();
      if (value.getBitWidth() > 64)
        os << llvm::toString(value, 10, !isUnsigned);
      else if (isUnsigned)
        os << value.getZExtValue();
      else
        os << value.getSExtValue();
    } else if (floats) {
      os << formatHloFloat(APFloat((*floats)[index]));
    } else if (doubles) {
      os << formatHloFloat(APFloat((*doubles)[index]));
    } else if (apfloats) {
      printNarrowFloat(os, (*apfloats)[index]);
    } else {
      std::complex<APFloat> value = (*complexes)[index];
      os << '(';
      printNarrowFloat(os, value.real());
      os << ", ";
      printNarrowFloat(os, value.imag());
      os << ')';
    }
  }

  void printNarrowFloat(llvm::raw_ostream &os, const APFloat &value) {
    unsigned width = APFloat::getSizeInBits(value.getSemantics());
    if (width > 16) {
      os << formatHloFloat(value);
      return;
    }
    uint64_t bits = value.bitcastToAPInt().getZExtValue();
    auto [it, inserted] = narrowCache.try_emplace(bits);
    if (inserted)
      it->second = formatHloFloat(value);
    os << it->second;
  }

  DenseElementsAttr attr;
  std::optional<DenseElementsAttr::BoolElementIterator> bools;
  std::optional<DenseElementsAttr::IntElementIterator> ints;
  std::optional<DenseElementsAttr::ElementIterator<float>> floats;
  std::optional<DenseElementsAttr::ElementIterator<double>> doubles;
  std::optional<DenseElementsAttr::FloatElementIterator> apfloats;
  std::optional<DenseElementsAttr::ComplexFloatElementIterator> complexes;
  std::optional<std::string> splatText;
  llvm::DenseMap<uint64_t, std::string> narrowCache;
};
} // namespace

/// Prints dimension `depth` of an array literal of rank > 1 in XLA's
/// one-line form: `{ { 1, 2 }, { 3, 4 } }`, with `/*iN=k*/` markers above
/// rank 3, `{1}` for innermost rows of one element.
static void printNested(llvm::raw_ostream &os, ArrayRef<int64_t> shape,
                        size_t depth, SmallVectorImpl<int64_t> &index,
                        int64_t &flat, ElementPrinter &elements) {
  size_t rank = shape.size();
  int64_t count = shape[depth];
  if (depth + 1 == rank) {
    os << (count <= 1 ? "{" : "{ ");
    for (int64_t i = 0; i < count; ++i) {
      if (i)
        os << ", ";
      elements.print(os, flat++, /*scalar=*/false);
    }
    os << (count <= 1 ? "}" : " }");
    return;
  }
  os << '{';
  if (rank > 3 && depth > 0)
    os << " /*i" << depth - 1 << '=' << index.back() << "*/";
  os << ' ';
  for (int64_t i = 0; i < count; ++i) {
    if (i)
      os << ", ";
    index.push_back(i);
    printNested(os, shape, depth + 1, index, flat, elements);
    index.pop_back();
  }
  os << (count == 0 ? "}" : " }");
}

static LogicalResult printDense(llvm::raw_ostream &os, DenseElementsAttr attr) {
  auto type = dyn_cast<RankedTensorType>(attr.getType());
  if (!type)
    return failure();
  Type element = type.getElementType();
  if (auto complex = dyn_cast<ComplexType>(element)) {
    if (!isa<FloatType>(complex.getElementType()))
      return failure();
  } else if (!isa<IntegerType, FloatType>(element)) {
    return failure();
  }
  ElementPrinter elements(attr);
  ArrayRef<int64_t> shape = type.getShape();
  if (shape.empty()) {
    elements.print(os, 0, /*scalar=*/true);
    return success();
  }
  int64_t flat = 0;
  if (shape.size() == 1) {
    os << '{';
    for (int64_t i = 0; i < shape[0]; ++i) {
      if (i)
        os << ", ";
      elements.print(os, flat++, /*scalar=*/false);
    }
    os << '}';
    return success();
  }
  SmallVector<int64_t> index;
  printNested(os, shape, 0, index, flat, elements);
  return success();
}

LogicalResult gshard::printHloLiteral(llvm::raw_ostream &os,
                                      Attribute literal) {
  if (auto tuple = dyn_cast<ArrayAttr>(literal)) {
    if (tuple.empty()) {
      os << "( )";
      return success();
    }
    os << "( ";
    for (auto [i, element] : llvm::enumerate(tuple)) {
      if (i)
        os << ", ";
      if (failed(printHloLiteral(os, element)))
        return failure();
    }
    os << " )";
    return success();
  }
  if (auto dense = dyn_cast<DenseElementsAttr>(literal))
    return printDense(os, dense);
  return failure();
}
