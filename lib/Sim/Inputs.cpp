//===- Inputs.cpp - User-provided arguments (gshard-sim --inputs) ---------===//
//
// Part of gshard, under the Apache License v2.0.
//
// The --inputs file gives a value for every parameter of an ENTRY
// computation, one statement per parameter:
//
//   # comments run to the end of the line ('//' too)
//   x = f32[2,3] {{1, 2, 3}, {4, 5, 6}}
//   1 = s32[] 7                       (a parameter number works as a name)
//   t = (f32[2], pred[]) ({0.5, -inf}, true)
//
// NAME is the parameter's instruction name (with or without '%') or its
// parameter number; SHAPE is written as in HLO text without a layout and must
// equal the parameter's; the literal nests one pair of braces per dimension
// (a scalar is bare), elements are integers, decimal floats, inf, -inf, nan,
// true/false, or (re, im) for complex. Statements may span lines. Every
// parameter needs exactly one statement: a missing, repeated or unknown
// parameter, a wrong element count or an integer out of its type's range is
// an error at the offending token (file:line:col).
//
//===----------------------------------------------------------------------===//

#include "gshard/Sim/Check.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>

using namespace mlir;
using namespace gshard;
using namespace gshard::sim;

namespace {

struct Token {
  enum Kind { End, Word, Number, Punct } kind = End;
  llvm::StringRef text;
};

class InputsParser {
public:
  InputsParser(const llvm::SourceMgr &sourceMgr, unsigned bufferId)
      : sourceMgr(sourceMgr), bufferId(bufferId),
        buffer(sourceMgr.getMemoryBuffer(bufferId)->getBuffer()),
        pos(buffer.begin()) {
    lex();
  }

  bool parse(hlo::ComputationOp entry, std::vector<LiteralRef> &values);
  std::string error;

private:
  void lex();
  bool fail(const char *at, const llvm::Twine &message);
  bool failHere(const llvm::Twine &message) {
    return fail(tok.text.begin(), message);
  }
  bool expectPunct(char c, llvm::StringRef what);
  bool isPunct(char c) const {
    return tok.kind == Token::Punct && tok.text[0] == c;
  }
  bool parseShape(std::string &text);
  bool parseValue(Type type, LiteralRef &value);
  bool parseArrayLevel(Literal &lit, int64_t dim, int64_t &next);
  bool parseElement(Literal &lit, int64_t i);
  bool parseReal(double &value, bool &isInteger, llvm::APInt &intValue,
                 bool &negative);

  const llvm::SourceMgr &sourceMgr;
  unsigned bufferId;
  llvm::StringRef buffer;
  const char *pos;
  Token tok;
};

} // namespace

bool InputsParser::fail(const char *at, const llvm::Twine &message) {
  if (!error.empty())
    return false;
  auto [line, col] =
      sourceMgr.getLineAndColumn(llvm::SMLoc::getFromPointer(at), bufferId);
  error = (sourceMgr.getMemoryBuffer(bufferId)->getBufferIdentifier() + ":" +
           llvm::Twine(line) + ":" + llvm::Twine(col) + ": error: " + message)
              .str();
  return false;
}

void InputsParser::lex() {
  const char *end = buffer.end();
  for (;;) {
    while (pos < end && llvm::isSpace(*pos))
      ++pos;
    if (pos < end &&
        (*pos == '#' || (*pos == '/' && pos + 1 < end && pos[1] == '/'))) {
      while (pos < end && *pos != '\n')
        ++pos;
      continue;
    }
    break;
  }
  const char *start = pos;
  if (pos == end) {
    tok = {Token::End, llvm::StringRef(pos, 0)};
    return;
  }
  auto isWordChar = [](char c) {
    return llvm::isAlnum(c) || c == '_' || c == '.' || c == '-' || c == '%';
  };
  char c = *pos;
  if (llvm::isDigit(c) || c == '-' || c == '+' ||
      (c == '.' && pos + 1 < end && llvm::isDigit(pos[1]))) {
    ++pos;
    // A number, or a signed word (-inf, -nan).
    while (pos < end && (llvm::isAlnum(*pos) || *pos == '.' ||
                         ((*pos == '-' || *pos == '+') &&
                          (pos[-1] == 'e' || pos[-1] == 'E'))))
      ++pos;
    tok = {Token::Number, llvm::StringRef(start, pos - start)};
    return;
  }
  if (llvm::isAlpha(c) || c == '_' || c == '%') {
    while (pos < end && isWordChar(*pos))
      ++pos;
    tok = {Token::Word, llvm::StringRef(start, pos - start)};
    return;
  }
  ++pos;
  tok = {Token::Punct, llvm::StringRef(start, 1)};
}

bool InputsParser::expectPunct(char c, llvm::StringRef what) {
  if (!isPunct(c))
    return failHere(
        "expected " + what + ", found " +
        (tok.kind == Token::End ? "end of file" : "'" + tok.text.str() + "'"));
  lex();
  return true;
}

/// Reads a shape in HLO spelling into its canonical text (`f32[2,3]`,
/// `(s32[], pred[4])`).
bool InputsParser::parseShape(std::string &text) {
  if (isPunct('(')) {
    lex();
    text += '(';
    bool first = true;
    while (!isPunct(')')) {
      if (!first && !expectPunct(',', "',' or ')' in a tuple shape"))
        return false;
      if (!first)
        text += ", ";
      first = false;
      if (!parseShape(text))
        return false;
    }
    lex();
    text += ')';
    return true;
  }
  if (tok.kind != Token::Word)
    return failHere("expected a shape such as f32[2,3]");
  text += tok.text.lower();
  lex();
  if (!expectPunct('[', "'[' after the element type"))
    return false;
  text += '[';
  bool first = true;
  while (!isPunct(']')) {
    if (!first && !expectPunct(',', "',' or ']' in the dimensions"))
      return false;
    int64_t dim;
    if (tok.kind != Token::Number || tok.text.getAsInteger(10, dim) || dim < 0)
      return failHere("expected a dimension size");
    if (!first)
      text += ',';
    first = false;
    text += std::to_string(dim);
    lex();
  }
  lex();
  text += ']';
  return true;
}

bool InputsParser::parseReal(double &value, bool &isInteger,
                             llvm::APInt &intValue, bool &negative) {
  llvm::StringRef text = tok.text;
  negative = text.consume_front("-");
  if (!negative)
    text.consume_front("+");
  std::string lower = text.lower();
  isInteger = false;
  if (lower == "inf") {
    value = negative ? -INFINITY : INFINITY;
    return true;
  }
  if (lower == "nan") {
    value = negative ? -std::nan("") : std::nan("");
    return true;
  }
  if (tok.kind != Token::Number)
    return failHere("expected a number, found '" + tok.text + "'");
  if (!text.getAsInteger(10, intValue)) {
    isInteger = true;
    value = intValue.roundToDouble(/*isSigned=*/false);
    if (negative)
      value = -value;
    return true;
  }
  std::string copy = tok.text.str();
  char *end = nullptr;
  errno = 0;
  value = std::strtod(copy.c_str(), &end);
  if (end != copy.c_str() + copy.size())
    return failHere("malformed number '" + tok.text + "'");
  return true;
}

bool InputsParser::parseElement(Literal &lit, int64_t i) {
  ElemKind kind = lit.getKind();
  if (kind == ElemKind::Pred) {
    std::string lower = tok.text.lower();
    if (lower == "true" || lower == "1")
      lit.setInt(i, 1);
    else if (lower == "false" || lower == "0")
      lit.setInt(i, 0);
    else
      return failHere("expected true or false, found '" + tok.text + "'");
    lex();
    return true;
  }
  if (isComplexKind(kind)) {
    if (!expectPunct('(', "'(' starting a complex number (re, im)"))
      return false;
    double parts[2];
    for (int part = 0; part < 2; ++part) {
      if (part && !expectPunct(',', "',' between real and imaginary part"))
        return false;
      bool isInteger, negative;
      llvm::APInt unused;
      if (!parseReal(parts[part], isInteger, unused, negative))
        return false;
      lex();
    }
    lit.setComplex(i, {parts[0], parts[1]});
    return expectPunct(')', "')' closing a complex number");
  }
  double value;
  bool isInteger, negative;
  llvm::APInt magnitude;
  if (!parseReal(value, isInteger, magnitude, negative))
    return false;
  if (isFloatKind(kind)) {
    lit.setFloat(i, value);
    lex();
    return true;
  }
  if (!isInteger)
    return failHere("expected an integer, found '" + tok.text + "'");
  unsigned bits = lit.getElementBytes() * 8;
  bool fits;
  uint64_t raw = 0;
  if (magnitude.getActiveBits() > 64) {
    fits = false;
  } else {
    uint64_t m = magnitude.getZExtValue();
    if (isSignedIntKind(kind)) {
      uint64_t limit = uint64_t(1) << (bits - 1); // |INT_MIN|
      fits = negative ? m <= limit : m < limit;
      raw = negative ? uint64_t(0) - m : m;
    } else {
      fits = (!negative || m == 0) &&
             (bits == 64 || m <= (uint64_t(1) << bits) - 1);
      raw = m;
    }
  }
  if (!fits) {
    std::string type;
    llvm::raw_string_ostream os(type);
    printHloElementType(os, lit.getElementType());
    return failHere("integer " + tok.text + " does not fit in " + os.str());
  }
  lit.setBits(i, raw);
  lex();
  return true;
}

/// Parses the braces of dimension `dim` (and everything nested inside),
/// storing elements from `next` on.
bool InputsParser::parseArrayLevel(Literal &lit, int64_t dim, int64_t &next) {
  if (dim == lit.getRank())
    return parseElement(lit, next++);
  const char *open = tok.text.begin();
  if (!expectPunct('{', "'{' opening dimension " + std::to_string(dim) +
                            " of the literal"))
    return false;
  int64_t size = lit.getShape()[dim], count = 0;
  while (!isPunct('}')) {
    if (count && !expectPunct(',', "',' or '}' in the literal"))
      return false;
    if (count == size)
      return failHere("too many elements in dimension " + std::to_string(dim) +
                      " (size " + std::to_string(size) + ")");
    if (!parseArrayLevel(lit, dim + 1, next))
      return false;
    ++count;
  }
  if (count != size)
    return fail(open, "dimension " + std::to_string(dim) + " has " +
                          std::to_string(count) + " elements, the shape says " +
                          std::to_string(size));
  lex();
  return true;
}

bool InputsParser::parseValue(Type type, LiteralRef &value) {
  if (auto tuple = dyn_cast<TupleType>(type)) {
    if (!expectPunct('(', "'(' opening a tuple literal"))
      return false;
    std::vector<LiteralRef> elements;
    for (size_t i = 0; i < tuple.size(); ++i) {
      if (i && !expectPunct(',', "',' between tuple elements"))
        return false;
      LiteralRef element;
      if (!parseValue(tuple.getType(i), element))
        return false;
      elements.push_back(std::move(element));
    }
    if (!expectPunct(')', "')' closing the tuple literal"))
      return false;
    value = Literal::makeTuple(elements);
    return true;
  }
  if (isa<hlo::TokenType>(type)) {
    value = Literal::makeToken();
    return true;
  }
  value = Literal::makeZero(type);
  if (!value)
    return failHere("the simulator cannot hold this element type");
  int64_t next = 0;
  if (value->getNumElements() == 0 && value->getRank() > 0) {
    // Empty arrays still spell their braces: {} or {{}, {}} etc.
    int depth = 0;
    do {
      if (isPunct('{'))
        ++depth;
      else if (isPunct('}'))
        --depth;
      else if (!isPunct(','))
        return failHere("an empty array has no elements");
      lex();
    } while (depth > 0 && tok.kind != Token::End);
    return depth == 0 || failHere("unbalanced braces");
  }
  return parseArrayLevel(*value, 0, next);
}

bool InputsParser::parse(hlo::ComputationOp entry,
                         std::vector<LiteralRef> &values) {
  llvm::SmallVector<hlo::ParameterOp> params = hlo::getParameters(entry);
  values.assign(params.size(), nullptr);
  while (tok.kind != Token::End) {
    // NAME
    const char *nameLoc = tok.text.begin();
    if (tok.kind != Token::Word && tok.kind != Token::Number)
      return failHere("expected a parameter name or number");
    llvm::StringRef name = tok.text;
    name.consume_front("%");
    int64_t index = -1;
    if (tok.kind == Token::Number) {
      if (name.getAsInteger(10, index) || index < 0 ||
          index >= static_cast<int64_t>(params.size()) || !params[index])
        return failHere("ENTRY %" + entry.getSymName() +
                        " has no parameter number " + name);
    } else {
      for (size_t i = 0; i < params.size(); ++i)
        if (params[i] && hlo::getInstructionName(params[i]->getLoc()) == name)
          index = i;
      if (index < 0)
        return failHere("ENTRY %" + entry.getSymName() +
                        " has no parameter named %" + name);
    }
    if (values[index])
      return fail(nameLoc,
                  "parameter " + std::to_string(index) + " is given twice");
    lex();
    if (!expectPunct('=', "'=' after the parameter name"))
      return false;
    // SHAPE
    const char *shapeLoc = tok.text.begin();
    std::string written;
    if (!parseShape(written))
      return false;
    Type type = params[index].getResult().getType();
    std::string expected;
    llvm::raw_string_ostream os(expected);
    printHloShape(os, type);
    if (llvm::StringRef(written).lower() != llvm::StringRef(expected).lower())
      return fail(shapeLoc,
                  "parameter " + std::to_string(index) + " (%" +
                      hlo::getInstructionName(params[index]->getLoc()) +
                      ") has shape " + expected + ", the file says " + written);
    // LITERAL
    if (!parseValue(type, values[index]))
      return false;
  }
  for (size_t i = 0; i < params.size(); ++i)
    if (params[i] && !values[i])
      return fail(buffer.end(),
                  "no value for parameter " + std::to_string(i) + " (%" +
                      hlo::getInstructionName(params[i]->getLoc()) + ")");
  return true;
}

bool gshard::sim::readInputs(const llvm::SourceMgr &sourceMgr,
                             unsigned bufferId, hlo::ComputationOp entry,
                             std::vector<LiteralRef> &values,
                             std::string &error) {
  InputsParser parser(sourceMgr, bufferId);
  if (parser.parse(entry, values))
    return true;
  error = parser.error;
  return false;
}
