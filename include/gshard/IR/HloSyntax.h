//===- HloSyntax.h - Shared helpers for HLO text mini-syntaxes --*- C++ -*-===//
//
// A character cursor used by the `parseHlo` methods of the structured
// attributes (sharding, window, dim_labels, replica groups, layouts). It
// never reads past the end of its input and reports the first error with
// its byte offset, so callers can turn it into FILE:LINE:COL.
//
//===----------------------------------------------------------------------===//

#ifndef GSHARD_IR_HLOSYNTAX_H
#define GSHARD_IR_HLOSYNTAX_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <string>

namespace gshard::hlo {

class SyntaxCursor {
public:
  explicit SyntaxCursor(llvm::StringRef text) : text(text) {}

  size_t pos() const { return position; }
  bool atEnd() {
    skipSpace();
    return position >= text.size();
  }
  char peek() {
    skipSpace();
    return position < text.size() ? text[position] : '\0';
  }
  llvm::StringRef rest() const { return text.drop_front(position); }

  /// Consumes `token` (after whitespace) if it is next.
  bool consumeIf(llvm::StringRef token);
  /// Consumes `token` or records "expected 'token'".
  bool expect(llvm::StringRef token);
  /// Parses a (possibly negative) decimal integer without overflow.
  bool parseInt(int64_t &value);
  /// Parses a non-negative integer (dimension sizes, device ids).
  bool parseNonNegative(int64_t &value, llvm::StringRef what);
  /// Parses `[a,b,c]` (or `{a,b,c}` with open='{').
  bool parseIntList(llvm::SmallVectorImpl<int64_t> &values, char open = '[');
  /// Parses `AxBxC` (at least one integer).
  bool parseXList(llvm::SmallVectorImpl<int64_t> &values);
  /// Parses an identifier [A-Za-z_][A-Za-z0-9_.-]*.
  bool parseIdentifier(llvm::StringRef &ident);
  /// Returns the balanced `{...}` text starting at the cursor (a '{' must be
  /// next), honouring quoted strings.
  bool parseBalancedBraces(llvm::StringRef &body);

  /// Records an error at the current position (the first one wins).
  bool fail(const llvm::Twine &message);
  bool failAt(size_t at, const llvm::Twine &message);
  bool hasError() const { return !errorMessage.empty(); }
  const std::string &error() const { return errorMessage; }
  size_t errorPos() const { return errorPosition; }

  void skipSpace();

private:
  llvm::StringRef text;
  size_t position = 0;
  std::string errorMessage;
  size_t errorPosition = 0;
};

/// Prints `values` joined by `separator`.
void printJoined(llvm::raw_ostream &os, llvm::ArrayRef<int64_t> values,
                 llvm::StringRef separator = ",");

/// Escapes `text` as the body of an HLO/C string literal.
void printEscapedString(llvm::raw_ostream &os, llvm::StringRef text);

/// Product of `values`, or -1 on overflow past 2^62.
int64_t checkedProduct(llvm::ArrayRef<int64_t> values);

} // namespace gshard::hlo

#endif // GSHARD_IR_HLOSYNTAX_H
