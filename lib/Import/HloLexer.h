//===- HloLexer.h - Tokens of XLA HLO text ----------------------*- C++ -*-===//
//
// A hand-written lexer over an in-memory buffer. It never reads past the end
// of the buffer, skips whitespace and `//` / `/* */` comments, and turns any
// byte it does not understand into an Error token carrying a message, so the
// parser can report it at the right place.
//
// Attribute values with their own mini-syntax (shardings, windows, layouts,
// dim_labels, ...) are not tokenized: the parser asks for the raw text of the
// value with scanValue() and hands it to the attribute's own parser.
//
//===----------------------------------------------------------------------===//

#ifndef GSHARD_LIB_IMPORT_HLOLEXER_H
#define GSHARD_LIB_IMPORT_HLOLEXER_H

#include "llvm/ADT/StringRef.h"

#include <string>

namespace gshard::import {

enum class TokKind {
  Eof,
  Error,    // message in HloLexer::getErrorMessage()
  Ident,    // add, f32, ROOT, kLoop, -inf
  Name,     // %foo (spelling without the '%')
  Int,      // 12, -3
  Float,    // 1.5, -2e-3, 0x1.8p3
  String,   // "text" (spelling includes the quotes)
  LBrace,   // {
  RBrace,   // }
  LParen,   // (
  RParen,   // )
  LSquare,  // [
  RSquare,  // ]
  Comma,    // ,
  Equal,    // =
  Colon,    // :
  Arrow,    // ->
  LessEq,   // <=
  Question, // ?
  Ellipsis, // ...
};

struct Token {
  TokKind kind = TokKind::Eof;
  llvm::StringRef spelling;
  /// Start of the token in the buffer (for a Name, the '%').
  const char *loc = nullptr;

  bool is(TokKind k) const { return kind == k; }
  bool isIdent(llvm::StringRef text) const {
    return kind == TokKind::Ident && spelling == text;
  }
  /// A Name or an Ident: instruction and computation names may be written
  /// with or without '%'.
  bool isNameLike() const {
    return kind == TokKind::Name || kind == TokKind::Ident;
  }
};

class HloLexer {
public:
  explicit HloLexer(llvm::StringRef buffer)
      : begin(buffer.begin()), cur(buffer.begin()), end(buffer.end()) {}

  Token lex();

  const char *getPos() const { return cur; }
  const char *getBufferEnd() const { return end; }
  void resetTo(const char *pos) { cur = pos; }

  /// Skips whitespace and comments; returns false (with an error) on an
  /// unterminated comment.
  bool skipTrivia();
  /// Moves to the start of the next line.
  void skipToNextLine();

  /// The raw text of an attribute value starting at `start` (after trivia):
  /// everything up to the first ',', whitespace or unmatched closing bracket
  /// outside brackets and strings. Brackets must balance; nesting is capped.
  /// On success the lexer is positioned after the value.
  bool scanValue(llvm::StringRef &value);

  const std::string &getErrorMessage() const { return errorMessage; }
  const char *getErrorLoc() const { return errorLoc; }

  /// Maximum nesting of brackets in a value (and of tuples/literals in the
  /// parser): deeper input is rejected instead of recursing without bound.
  static constexpr int kMaxNesting = 256;

private:
  Token makeToken(TokKind kind, const char *start) {
    return Token{kind, llvm::StringRef(start, cur - start), start};
  }
  Token makeError(const char *at, const std::string &message);
  Token lexNumber(const char *start);
  Token lexIdentifier(const char *start);
  Token lexString(const char *start);
  /// Advances past a string literal starting at `start` (a '"'); false if
  /// it is unterminated.
  bool skipString(const char *&p) const;

  const char *begin;
  const char *cur;
  const char *end;
  std::string errorMessage;
  const char *errorLoc = nullptr;
};

/// Describes a byte for diagnostics: 'x' or byte 0x8F.
std::string describeChar(char c);

/// Unescapes a string token's spelling (with quotes). Returns false on a bad
/// escape, setting `badOffset` to the offending position in `spelling`.
bool unescapeString(llvm::StringRef spelling, std::string &out,
                    size_t &badOffset);

} // namespace gshard::import

#endif // GSHARD_LIB_IMPORT_HLOLEXER_H
