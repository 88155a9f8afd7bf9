//===- LiteralParser.cpp - Literals of HLO `constant(...)` ----------------===//
//
// Scalars (`1`, `-2.5`, `true`, `nan`, `-inf`, `0x1.8p3`), complex numbers
// `(1, 2)`, nested brace lists `{{1,2},{3,4}}` whose nesting and counts must
// match the shape, tuple literals `( {1}, {2} )` and elided literals `{...}`.
// Arrays become DenseElementsAttr of a tensor type without layout; tuples an
// ArrayAttr of their elements.
//
//===----------------------------------------------------------------------===//

#include "HloParser.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/APInt.h"
#include "llvm/Support/Error.h"

#include <complex>
#include <cstdlib>

using namespace mlir;
using namespace gshard;
using namespace gshard::import;

namespace {
/// Collects the elements of one array literal.
class ArrayLiteral {
public:
  ArrayLiteral(HloParser &parser, RankedTensorType type)
      : parser(parser), type(type), elementType(type.getElementType()) {}

  bool parse(mlir::Attribute &value);

private:
  bool parseLevel(unsigned dim);
  bool parseElement();
  bool parseInteger(IntegerType intType);
  bool parseFloat(FloatType floatType, llvm::APFloat &value);

  HloParser &parser;
  RankedTensorType type;
  Type elementType;
  SmallVector<bool> bools;
  SmallVector<llvm::APInt> ints;
  SmallVector<llvm::APFloat> floats;
  SmallVector<std::complex<llvm::APFloat>> complexes;
};
} // namespace

/// Human-readable HLO shape for messages: f32[2,3].
static std::string shapeText(RankedTensorType type) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << type.getElementType() << '[';
  llvm::interleave(type.getShape(), os, ",");
  os << ']';
  return text;
}

bool ArrayLiteral::parse(Attribute &value) {
  ArrayRef<int64_t> shape = type.getShape();
  if (shape.empty()) {
    if (!parseElement())
      return false;
  } else {
    if (shape.size() > size_t(HloLexer::kMaxNesting))
      return parser.emitError(
          parser.tok.loc, "literal of rank " + llvm::Twine(shape.size()) +
                              " is nested deeper than " +
                              llvm::Twine(HloLexer::kMaxNesting) + " levels");
    if (!parseLevel(0))
      return false;
  }
  auto plainType = RankedTensorType::get(shape, elementType);
  if (elementType.isInteger(1))
    value = DenseElementsAttr::get(plainType, bools);
  else if (isa<IntegerType>(elementType))
    value = DenseElementsAttr::get(plainType, ints);
  else if (isa<FloatType>(elementType))
    value = DenseElementsAttr::get(plainType, floats);
  else
    value = DenseElementsAttr::get(plainType, complexes);
  return true;
}

bool ArrayLiteral::parseLevel(unsigned dim) {
  const char *open = parser.tok.loc;
  if (!parser.expect(TokKind::LBrace, "'{' to start dimension " +
                                          llvm::Twine(dim) + " of a " +
                                          shapeText(type) + " literal"))
    return false;
  int64_t count = 0;
  bool last = dim + 1 == type.getRank();
  if (!parser.tok.is(TokKind::RBrace)) {
    do {
      if (last ? !parseElement() : !parseLevel(dim + 1))
        return false;
      ++count;
    } while (parser.consumeIf(TokKind::Comma));
  }
  if (!parser.expect(TokKind::RBrace, "',' or '}' in literal"))
    return false;
  if (count != type.getDimSize(dim))
    return parser.emitError(
        open, "literal has " + llvm::Twine(count) + " elements in dimension " +
                  llvm::Twine(dim) + ", but its shape " + shapeText(type) +
                  " needs " + llvm::Twine(type.getDimSize(dim)));
  return true;
}

bool ArrayLiteral::parseInteger(IntegerType intType) {
  const Token &tok = parser.tok;
  if (!tok.is(TokKind::Int))
    return parser.emitExpected("an integer literal");
  llvm::StringRef text = tok.spelling;
  bool negative = text.consume_front("-");
  unsigned width = intType.getWidth();
  uint64_t magnitude = 0;
  bool overflow = false;
  for (char c : text) {
    unsigned digit = c - '0';
    if (magnitude > (UINT64_MAX - digit) / 10) {
      overflow = true;
      break;
    }
    magnitude = magnitude * 10 + digit;
  }
  bool isUnsigned = intType.isUnsigned();
  // Range of the type: unsigned [0, 2^w), signed [-2^(w-1), 2^(w-1)).
  uint64_t maxPositive =
      isUnsigned ? (width == 64 ? UINT64_MAX : (uint64_t(1) << width) - 1)
                 : (uint64_t(1) << (width - 1)) - 1;
  uint64_t maxNegative = isUnsigned ? 0 : uint64_t(1) << (width - 1);
  if (overflow ||
      (negative ? magnitude > maxNegative : magnitude > maxPositive))
    return parser.emitError(
        tok.loc, "integer literal " + tok.spelling + " does not fit in " +
                     (isUnsigned ? "u" : "s") + llvm::Twine(width));
  llvm::APInt value(width, magnitude);
  if (negative)
    value.negate();
  ints.push_back(value);
  parser.lex();
  return true;
}

bool ArrayLiteral::parseFloat(FloatType floatType, llvm::APFloat &value) {
  const Token &tok = parser.tok;
  const llvm::fltSemantics &semantics = floatType.getFloatSemantics();
  llvm::StringRef text = tok.spelling;
  if (tok.is(TokKind::Ident)) {
    bool negative = text.consume_front("-");
    if (text == "inf") {
      value = llvm::APFloat::getInf(semantics, negative);
    } else if (text == "nan") {
      value = llvm::APFloat::getNaN(semantics, negative);
    } else {
      return parser.emitExpected("a floating-point literal");
    }
    parser.lex();
    return true;
  }
  if (!tok.is(TokKind::Int) && !tok.is(TokKind::Float))
    return parser.emitExpected("a floating-point literal");
  if (floatType.isF32() || floatType.isF64()) {
    // Fast path: the C library's correctly rounded conversion.
    char buffer[128];
    if (text.size() < sizeof(buffer)) {
      memcpy(buffer, text.data(), text.size());
      buffer[text.size()] = '\0';
      char *end = nullptr;
      if (floatType.isF32()) {
        float f = std::strtof(buffer, &end);
        value = llvm::APFloat(f);
      } else {
        double d = std::strtod(buffer, &end);
        value = llvm::APFloat(d);
      }
      if (end == buffer + text.size()) {
        parser.lex();
        return true;
      }
    }
  }
  value = llvm::APFloat(semantics);
  auto status =
      value.convertFromString(text, llvm::APFloat::rmNearestTiesToEven);
  if (!status) {
    llvm::consumeError(status.takeError());
    return parser.emitError(tok.loc,
                            "bad floating-point literal '" + text + "'");
  }
  parser.lex();
  return true;
}

bool ArrayLiteral::parseElement() {
  const Token &tok = parser.tok;
  if (elementType.isInteger(1)) {
    if (tok.isIdent("true") || (tok.is(TokKind::Int) && tok.spelling == "1")) {
      bools.push_back(true);
    } else if (tok.isIdent("false") ||
               (tok.is(TokKind::Int) && tok.spelling == "0")) {
      bools.push_back(false);
    } else {
      return parser.emitExpected("'true' or 'false'");
    }
    parser.lex();
    return true;
  }
  if (auto intType = dyn_cast<IntegerType>(elementType))
    return parseInteger(intType);
  if (auto floatType = dyn_cast<FloatType>(elementType)) {
    floats.emplace_back(0.0);
    return parseFloat(floatType, floats.back());
  }
  auto complexType = cast<ComplexType>(elementType);
  auto partType = cast<FloatType>(complexType.getElementType());
  if (!parser.expect(TokKind::LParen, "'(' to start a complex literal"))
    return false;
  llvm::APFloat re(0.0), im(0.0);
  if (!parseFloat(partType, re) ||
      !parser.expect(TokKind::Comma, "',' in complex literal") ||
      !parseFloat(partType, im) ||
      !parser.expect(TokKind::RParen, "')' to end a complex literal"))
    return false;
  complexes.emplace_back(re, im);
  return true;
}

/// Whether the current token starts an elided literal `{...}`.
static bool atElidedLiteral(HloParser &parser) {
  if (!parser.tok.is(TokKind::LBrace))
    return false;
  HloLexer probe = parser.lexer;
  Token next = probe.lex();
  if (!next.is(TokKind::Ellipsis))
    return false;
  return probe.lex().is(TokKind::RBrace);
}

bool HloParser::parseLiteralRec(Type type, Attribute &value, int depth) {
  if (depth >= HloLexer::kMaxNesting)
    return emitError(tok.loc, "tuple literal nested deeper than " +
                                  llvm::Twine(HloLexer::kMaxNesting) +
                                  " levels");
  if (atElidedLiteral(*this)) {
    lex();
    lex();
    lex();
    value = {};
    return true;
  }
  if (auto tuple = dyn_cast<TupleType>(type)) {
    if (!expect(TokKind::LParen, "'(' to start a tuple literal"))
      return false;
    SmallVector<Attribute> elements;
    bool elided = false;
    for (auto [i, elementType] : llvm::enumerate(tuple.getTypes())) {
      if (i && !expect(TokKind::Comma, "',' between tuple literal elements"))
        return false;
      Attribute element;
      if (!parseLiteralRec(elementType, element, depth + 1))
        return false;
      elided |= !element;
      elements.push_back(element);
    }
    if (!expect(TokKind::RParen, "')' to end a tuple literal of " +
                                     llvm::Twine(tuple.size()) + " elements"))
      return false;
    value = elided ? Attribute() : ArrayAttr::get(context, elements);
    return true;
  }
  auto tensor = dyn_cast<RankedTensorType>(type);
  if (!tensor)
    return emitError(tok.loc, "a constant of this shape cannot have a literal");
  ArrayLiteral literal(*this, tensor);
  return literal.parse(value);
}

bool HloParser::parseLiteral(Type type, Attribute &value) {
  return parseLiteralRec(type, value, 0);
}
