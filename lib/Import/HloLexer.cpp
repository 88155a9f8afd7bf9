//===- HloLexer.cpp - Tokens of XLA HLO text ------------------------------===//

#include "HloLexer.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringExtras.h"

using namespace gshard::import;

static bool isIdentStart(char c) { return llvm::isAlpha(c) || c == '_'; }
static bool isIdentChar(char c) {
  return llvm::isAlnum(c) || c == '_' || c == '.' || c == '-';
}

std::string gshard::import::describeChar(char c) {
  unsigned char u = static_cast<unsigned char>(c);
  if (u >= 0x20 && u < 0x7f)
    return std::string("'") + c + "'";
  std::string text = "byte 0x";
  text += llvm::hexdigit(u >> 4, /*LowerCase=*/false);
  text += llvm::hexdigit(u & 15, /*LowerCase=*/false);
  return text;
}

Token HloLexer::makeError(const char *at, const std::string &message) {
  errorMessage = message;
  errorLoc = at;
  Token tok;
  tok.kind = TokKind::Error;
  tok.loc = at;
  tok.spelling = llvm::StringRef(at, at < end ? 1 : 0);
  return tok;
}

bool HloLexer::skipTrivia() {
  while (cur < end) {
    char c = *cur;
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
        c == '\v') {
      ++cur;
      continue;
    }
    if (c == '/' && cur + 1 < end && cur[1] == '/') {
      skipToNextLine();
      continue;
    }
    if (c == '/' && cur + 1 < end && cur[1] == '*') {
      const char *start = cur;
      cur += 2;
      while (cur + 1 < end && !(cur[0] == '*' && cur[1] == '/'))
        ++cur;
      if (cur + 1 >= end) {
        cur = end;
        makeError(start, "unterminated '/*' comment");
        return false;
      }
      cur += 2;
      continue;
    }
    break;
  }
  return true;
}

void HloLexer::skipToNextLine() {
  while (cur < end && *cur != '\n')
    ++cur;
  if (cur < end)
    ++cur;
}

Token HloLexer::lex() {
  if (!skipTrivia())
    return makeError(errorLoc, errorMessage);
  const char *start = cur;
  if (cur >= end)
    return makeToken(TokKind::Eof, start);
  char c = *cur++;
  switch (c) {
  case '{':
    return makeToken(TokKind::LBrace, start);
  case '}':
    return makeToken(TokKind::RBrace, start);
  case '(':
    return makeToken(TokKind::LParen, start);
  case ')':
    return makeToken(TokKind::RParen, start);
  case '[':
    return makeToken(TokKind::LSquare, start);
  case ']':
    return makeToken(TokKind::RSquare, start);
  case ',':
    return makeToken(TokKind::Comma, start);
  case '=':
    return makeToken(TokKind::Equal, start);
  case ':':
    return makeToken(TokKind::Colon, start);
  case '?':
    return makeToken(TokKind::Question, start);
  case '"':
    return lexString(start);
  case '<':
    if (cur < end && *cur == '=') {
      ++cur;
      return makeToken(TokKind::LessEq, start);
    }
    break;
  case '.':
    if (end - cur >= 2 && cur[0] == '.' && cur[1] == '.') {
      cur += 2;
      return makeToken(TokKind::Ellipsis, start);
    }
    if (cur < end && llvm::isDigit(*cur))
      return lexNumber(start);
    break;
  case '%': {
    const char *nameStart = cur;
    while (cur < end && isIdentChar(*cur) &&
           !(*cur == '-' && cur + 1 < end && cur[1] == '>'))
      ++cur;
    if (cur == nameStart)
      return makeError(start, "expected a name after '%'");
    Token tok{TokKind::Name, llvm::StringRef(nameStart, cur - nameStart),
              start};
    return tok;
  }
  case '-':
    if (cur < end && *cur == '>') {
      ++cur;
      return makeToken(TokKind::Arrow, start);
    }
    if (cur < end && (llvm::isDigit(*cur) || *cur == '.'))
      return lexNumber(start);
    // -inf, -nan
    if (end - cur >= 3 && (llvm::StringRef(cur, 3) == "inf" ||
                           llvm::StringRef(cur, 3) == "nan")) {
      const char *p = cur + 3;
      if (p == end || !isIdentChar(*p)) {
        cur = p;
        return makeToken(TokKind::Ident, start);
      }
    }
    break;
  default:
    if (llvm::isDigit(c))
      return lexNumber(start);
    if (isIdentStart(c))
      return lexIdentifier(start);
    break;
  }
  cur = start;
  return makeError(start, "unexpected character " + describeChar(c));
}

Token HloLexer::lexIdentifier(const char *start) {
  // An identifier does not swallow the '-' of a following '->'.
  while (cur < end && isIdentChar(*cur) &&
         !(*cur == '-' && cur + 1 < end && cur[1] == '>'))
    ++cur;
  return makeToken(TokKind::Ident, start);
}

Token HloLexer::lexNumber(const char *start) {
  cur = start;
  if (*cur == '-')
    ++cur;
  bool isFloat = false;
  // Hexadecimal float: 0x1.8p3.
  if (end - cur > 2 && cur[0] == '0' && (cur[1] == 'x' || cur[1] == 'X') &&
      llvm::isHexDigit(cur[2])) {
    cur += 2;
    while (cur < end && (llvm::isHexDigit(*cur) || *cur == '.'))
      ++cur;
    if (cur < end && (*cur == 'p' || *cur == 'P')) {
      ++cur;
      if (cur < end && (*cur == '+' || *cur == '-'))
        ++cur;
      while (cur < end && llvm::isDigit(*cur))
        ++cur;
    }
    return makeToken(TokKind::Float, start);
  }
  while (cur < end && llvm::isDigit(*cur))
    ++cur;
  if (cur < end && *cur == '.' &&
      !(cur + 1 < end && cur[1] == '.')) { // not '...'
    isFloat = true;
    ++cur;
    while (cur < end && llvm::isDigit(*cur))
      ++cur;
  }
  if (cur < end && (*cur == 'e' || *cur == 'E')) {
    const char *p = cur + 1;
    if (p < end && (*p == '+' || *p == '-'))
      ++p;
    if (p < end && llvm::isDigit(*p)) {
      isFloat = true;
      cur = p;
      while (cur < end && llvm::isDigit(*cur))
        ++cur;
    }
  }
  return makeToken(isFloat ? TokKind::Float : TokKind::Int, start);
}

bool HloLexer::skipString(const char *&p) const {
  ++p; // opening quote
  while (p < end) {
    char c = *p++;
    if (c == '"')
      return true;
    if (c == '\\') {
      if (p >= end)
        return false;
      ++p;
    } else if (c == '\n') {
      return false;
    }
  }
  return false;
}

Token HloLexer::lexString(const char *start) {
  const char *p = start;
  if (!skipString(p)) {
    cur = start;
    return makeError(start, "unterminated string literal");
  }
  cur = p;
  return makeToken(TokKind::String, start);
}

bool HloLexer::scanValue(llvm::StringRef &value) {
  if (!skipTrivia())
    return false;
  const char *start = cur;
  // Open brackets: the character and where it was.
  llvm::SmallVector<const char *, 16> open;
  const char *p = cur;
  while (p < end) {
    char c = *p;
    if (open.empty() &&
        (c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
         c == ')' || c == ']' || c == '}' ||
         (c == '/' && p + 1 < end && (p[1] == '/' || p[1] == '*'))))
      break;
    if (c == '"') {
      const char *stringStart = p;
      if (!skipString(p)) {
        makeError(stringStart, "unterminated string literal");
        return false;
      }
      continue;
    }
    if (c == '/' && p + 1 < end && p[1] == '*') {
      const char *commentStart = p;
      p += 2;
      while (p + 1 < end && !(p[0] == '*' && p[1] == '/'))
        ++p;
      if (p + 1 >= end) {
        makeError(commentStart, "unterminated '/*' comment");
        return false;
      }
      p += 2;
      continue;
    }
    if (c == '{' || c == '(' || c == '[') {
      if (open.size() >= size_t(kMaxNesting)) {
        makeError(p, "brackets nested deeper than " +
                         std::to_string(kMaxNesting) + " levels");
        return false;
      }
      open.push_back(p);
    } else if (c == '}' || c == ')' || c == ']') {
      char expected = *open.back() == '{'   ? '}'
                      : *open.back() == '(' ? ')'
                                            : ']';
      if (c != expected) {
        makeError(p, std::string("expected '") + expected + "' to close '" +
                         *open.back() + "', found '" + c + "'");
        return false;
      }
      open.pop_back();
    } else if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' &&
               c != '\r') {
      makeError(p, "unexpected character " + describeChar(c));
      return false;
    }
    ++p;
  }
  if (!open.empty()) {
    char expected = *open.back() == '{' ? '}' : *open.back() == '(' ? ')' : ']';
    makeError(open.back(), std::string("expected '") + expected +
                               "' to close this '" + *open.back() +
                               "', found end of file");
    return false;
  }
  if (p == start) {
    makeError(start, p < end ? "expected a value, found " + describeChar(*p)
                             : std::string("expected a value, found end of "
                                           "file"));
    return false;
  }
  value = llvm::StringRef(start, p - start);
  cur = p;
  return true;
}

bool gshard::import::unescapeString(llvm::StringRef spelling, std::string &out,
                                    size_t &badOffset) {
  out.clear();
  llvm::StringRef body = spelling.drop_front().drop_back();
  out.reserve(body.size());
  for (size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (c != '\\') {
      out.push_back(c);
      continue;
    }
    badOffset = i + 1; // where the escape starts, in `spelling`
    if (++i >= body.size())
      return false;
    char e = body[i];
    switch (e) {
    case 'n':
      out.push_back('\n');
      break;
    case 't':
      out.push_back('\t');
      break;
    case 'r':
      out.push_back('\r');
      break;
    case '"':
    case '\\':
    case '\'':
    case '?':
      out.push_back(e);
      break;
    case 'x': {
      unsigned code = 0, digits = 0;
      while (i + 1 < body.size() && digits < 2 &&
             llvm::isHexDigit(body[i + 1])) {
        code = code * 16 + llvm::hexDigitValue(body[++i]);
        ++digits;
      }
      if (digits == 0)
        return false;
      out.push_back(char(code));
      break;
    }
    default:
      if (e >= '0' && e <= '7') {
        unsigned code = e - '0', digits = 1;
        while (i + 1 < body.size() && digits < 3 && body[i + 1] >= '0' &&
               body[i + 1] <= '7') {
          code = code * 8 + (body[++i] - '0');
          ++digits;
        }
        out.push_back(char(code & 0xff));
        break;
      }
      return false;
    }
  }
  return true;
}
