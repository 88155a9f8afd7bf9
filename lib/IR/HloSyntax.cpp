//===- HloSyntax.cpp - Shared helpers for HLO text mini-syntaxes ----------===//

#include "gshard/IR/HloSyntax.h"

#include "llvm/ADT/StringExtras.h"

using namespace gshard::hlo;

void SyntaxCursor::skipSpace() {
  while (position < text.size() && llvm::isSpace(text[position]))
    ++position;
}

bool SyntaxCursor::consumeIf(llvm::StringRef token) {
  skipSpace();
  if (!rest().starts_with(token))
    return false;
  position += token.size();
  return true;
}

bool SyntaxCursor::expect(llvm::StringRef token) {
  if (consumeIf(token))
    return true;
  std::string found = position < text.size()
                          ? "'" + rest().take_front(12).str() + "'"
                          : std::string("end of input");
  return fail("expected '" + token + "', found " + found);
}

bool SyntaxCursor::parseInt(int64_t &value) {
  skipSpace();
  size_t start = position;
  bool negative = false;
  if (position < text.size() &&
      (text[position] == '-' || text[position] == '+')) {
    negative = text[position] == '-';
    ++position;
  }
  if (position >= text.size() || !llvm::isDigit(text[position])) {
    position = start;
    return fail("expected an integer");
  }
  uint64_t magnitude = 0;
  while (position < text.size() && llvm::isDigit(text[position])) {
    unsigned digit = text[position] - '0';
    if (magnitude > (uint64_t(INT64_MAX) - digit) / 10)
      return failAt(start, "integer is too large");
    magnitude = magnitude * 10 + digit;
    ++position;
  }
  value = negative ? -int64_t(magnitude) : int64_t(magnitude);
  return true;
}

bool SyntaxCursor::parseNonNegative(int64_t &value, llvm::StringRef what) {
  skipSpace();
  size_t start = position;
  if (!parseInt(value))
    return false;
  if (value < 0)
    return failAt(start, what + " must be non-negative");
  return true;
}

bool SyntaxCursor::parseIntList(llvm::SmallVectorImpl<int64_t> &values,
                                char open) {
  char close = open == '[' ? ']' : open == '{' ? '}' : ')';
  if (!expect(llvm::StringRef(&open, 1)))
    return false;
  if (consumeIf(llvm::StringRef(&close, 1)))
    return true;
  do {
    int64_t value;
    if (!parseInt(value))
      return false;
    values.push_back(value);
  } while (consumeIf(","));
  return expect(llvm::StringRef(&close, 1));
}

bool SyntaxCursor::parseXList(llvm::SmallVectorImpl<int64_t> &values) {
  do {
    int64_t value;
    if (!parseInt(value))
      return false;
    values.push_back(value);
  } while (consumeIf("x"));
  return true;
}

bool SyntaxCursor::parseIdentifier(llvm::StringRef &ident) {
  skipSpace();
  size_t start = position;
  if (position >= text.size() ||
      !(llvm::isAlpha(text[position]) || text[position] == '_'))
    return fail("expected an identifier");
  while (position < text.size() &&
         (llvm::isAlnum(text[position]) || text[position] == '_' ||
          text[position] == '.' || text[position] == '-'))
    ++position;
  ident = text.slice(start, position);
  return true;
}

bool SyntaxCursor::parseBalancedBraces(llvm::StringRef &body) {
  skipSpace();
  size_t start = position;
  if (!expect("{"))
    return false;
  int depth = 1;
  while (position < text.size() && depth > 0) {
    char c = text[position++];
    if (c == '"') {
      while (position < text.size() && text[position] != '"') {
        if (text[position] == '\\')
          ++position;
        ++position;
      }
      if (position >= text.size())
        return failAt(start, "unterminated string inside braces");
      ++position;
    } else if (c == '{') {
      ++depth;
    } else if (c == '}') {
      --depth;
    }
  }
  if (depth != 0)
    return failAt(start, "unbalanced '{'");
  body = text.slice(start, position);
  return true;
}

bool SyntaxCursor::fail(const llvm::Twine &message) {
  return failAt(position, message);
}

bool SyntaxCursor::failAt(size_t at, const llvm::Twine &message) {
  if (errorMessage.empty()) {
    errorMessage = message.str();
    errorPosition = at;
  }
  return false;
}

void gshard::hlo::printJoined(llvm::raw_ostream &os,
                              llvm::ArrayRef<int64_t> values,
                              llvm::StringRef separator) {
  llvm::interleave(values, os, separator);
}

void gshard::hlo::printEscapedString(llvm::raw_ostream &os,
                                     llvm::StringRef text) {
  for (unsigned char c : text) {
    switch (c) {
    case '"':
      os << "\\\"";
      break;
    case '\\':
      os << "\\\\";
      break;
    case '\n':
      os << "\\n";
      break;
    case '\t':
      os << "\\t";
      break;
    default:
      if (c < 0x20 || c == 0x7f)
        os << "\\x" << llvm::hexdigit(c >> 4, true)
           << llvm::hexdigit(c & 15, true);
      else
        os << c;
    }
  }
}

int64_t gshard::hlo::checkedProduct(llvm::ArrayRef<int64_t> values) {
  int64_t product = 1;
  for (int64_t v : values) {
    if (v < 0)
      return -1;
    if (v != 0 && product > (int64_t(1) << 62) / v)
      return -1;
    product *= v;
  }
  return product;
}
