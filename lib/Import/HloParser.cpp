//===- HloParser.cpp - Recursive-descent parser of HLO text ---------------===//
//
// Module structure: the HloModule header, the stack-frame sections,
// computations, instructions, operands and shapes. Attribute values are in
// HloAttrParser.cpp and constant literals in LiteralParser.cpp.
//
//===----------------------------------------------------------------------===//

#include "HloParser.h"

#include "gshard/IR/HloOps.h"
#include "gshard/IR/HloSyntax.h"
#include "gshard/Import/HloTextImporter.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSwitch.h"

using namespace mlir;
using namespace gshard;
using namespace gshard::import;

HloParser::HloParser(llvm::SourceMgr &sourceMgr, MLIRContext *context)
    : sourceMgr(sourceMgr), context(context),
      bufferId(sourceMgr.getMainFileID()),
      filename(StringAttr::get(
          context, sourceMgr.getMemoryBuffer(bufferId)->getBufferIdentifier())),
      lexer(sourceMgr.getMemoryBuffer(bufferId)->getBuffer()) {}

//===----------------------------------------------------------------------===//
// Diagnostics and tokens
//===----------------------------------------------------------------------===//

Location HloParser::getLoc(const char *pos) {
  auto [line, column] =
      sourceMgr.getLineAndColumn(llvm::SMLoc::getFromPointer(pos), bufferId);
  return FileLineColLoc::get(filename, line, column);
}

bool HloParser::emitError(const char *pos, const llvm::Twine &message) {
  if (hadError)
    return false;
  hadError = true;
  mlir::emitError(getLoc(pos)) << message.str();
  return false;
}

std::string HloParser::describeToken(const Token &t) const {
  switch (t.kind) {
  case TokKind::Eof:
    return "end of file";
  case TokKind::Error:
    return t.loc < lexer.getBufferEnd() ? describeChar(*t.loc)
                                        : std::string("end of file");
  default:
    break;
  }
  llvm::StringRef text(t.loc, t.spelling.end() - t.loc);
  if (text.size() > 32)
    return "'" + text.take_front(29).str() + "...'";
  return "'" + text.str() + "'";
}

bool HloParser::emitExpected(const llvm::Twine &what) {
  if (tok.is(TokKind::Error))
    return emitError(lexer.getErrorLoc(), lexer.getErrorMessage());
  return emitError(tok.loc,
                   "expected " + what + ", found " + describeToken(tok));
}

bool HloParser::parseInt(int64_t &value, const llvm::Twine &what) {
  if (!tok.is(TokKind::Int))
    return emitExpected(what);
  llvm::StringRef text = tok.spelling;
  bool negative = text.consume_front("-");
  uint64_t magnitude = 0;
  for (char c : text) {
    unsigned digit = c - '0';
    if (magnitude > (uint64_t(INT64_MAX) - digit) / 10)
      return emitError(tok.loc, "integer " + tok.spelling +
                                    " is too large (overflows int64)");
    magnitude = magnitude * 10 + digit;
  }
  value = negative ? -int64_t(magnitude) : int64_t(magnitude);
  lex();
  return true;
}

//===----------------------------------------------------------------------===//
// Shapes
//===----------------------------------------------------------------------===//

Type gshard::import::getElementType(MLIRContext *context,
                                    llvm::StringRef name) {
  Builder b(context);
  if (name.size() >= 2 && (name[0] == 's' || name[0] == 'u') &&
      llvm::all_of(name.drop_front(),
                   [](char c) { return llvm::isDigit(c); })) {
    unsigned width = 0;
    if (name.drop_front().getAsInteger(10, width))
      return {};
    if (width != 2 && width != 4 && width != 8 && width != 16 && width != 32 &&
        width != 64)
      return {};
    return IntegerType::get(context, width,
                            name[0] == 's' ? IntegerType::Signless
                                           : IntegerType::Unsigned);
  }
  return llvm::StringSwitch<Type>(name)
      .Case("pred", b.getI1Type())
      .Case("f16", b.getF16Type())
      .Case("bf16", b.getBF16Type())
      .Case("f32", b.getF32Type())
      .Case("f64", b.getF64Type())
      .Case("c64", ComplexType::get(b.getF32Type()))
      .Case("c128", ComplexType::get(b.getF64Type()))
      .Case("f8e4m3fn", b.getFloat8E4M3FNType())
      .Case("f8e5m2", b.getFloat8E5M2Type())
      .Case("f8e4m3fnuz", b.getFloat8E4M3FNUZType())
      .Case("f8e5m2fnuz", b.getFloat8E5M2FNUZType())
      .Case("f8e4m3b11fnuz", b.getFloat8E4M3B11FNUZType())
      .Case("f8e4m3", FloatType::getFloat8E4M3(context))
      .Default(Type());
}

bool HloParser::parseShape(Type &type, int depth) {
  if (depth >= HloLexer::kMaxNesting)
    return emitError(tok.loc, "tuple shapes nested deeper than " +
                                  llvm::Twine(HloLexer::kMaxNesting) +
                                  " levels");
  if (tok.is(TokKind::LParen)) {
    lex();
    SmallVector<Type> elements;
    if (!consumeIf(TokKind::RParen)) {
      do {
        Type element;
        if (!parseShape(element, depth + 1))
          return false;
        elements.push_back(element);
      } while (consumeIf(TokKind::Comma));
      if (!expect(TokKind::RParen, "',' or ')' in tuple shape"))
        return false;
    }
    type = TupleType::get(context, elements);
    return true;
  }
  if (!tok.is(TokKind::Ident))
    return emitExpected("a shape");
  const char *shapeLoc = tok.loc;
  llvm::StringRef typeName = tok.spelling;
  bool isToken = typeName == "token";
  Type elementType;
  if (!isToken) {
    elementType = getElementType(context, typeName);
    if (!elementType) {
      if (lexer.getPos() < lexer.getBufferEnd() && *lexer.getPos() == '[')
        return emitError(shapeLoc, "unknown element type '" + typeName + "'");
      return emitExpected("a shape");
    }
  }
  lex();
  if (!expect(TokKind::LSquare, "'[' after element type '" + typeName + "'"))
    return false;
  SmallVector<int64_t> dims;
  if (!tok.is(TokKind::RSquare)) {
    do {
      if (tok.is(TokKind::LessEq) || tok.is(TokKind::Question))
        return emitError(tok.loc,
                         "dynamic shapes are not supported (dimension '" +
                             tok.spelling + "')");
      const char *dimLoc = tok.loc;
      int64_t dim;
      if (!parseInt(dim, "a dimension size"))
        return false;
      if (dim < 0)
        return emitError(dimLoc, "dimension size must be non-negative");
      dims.push_back(dim);
    } while (consumeIf(TokKind::Comma));
  }
  if (!expect(TokKind::RSquare, "',' or ']' after dimension size"))
    return false;
  if (isToken) {
    if (!dims.empty())
      return emitError(shapeLoc, "token[] has no dimensions");
    type = hlo::TokenType::get(context);
    return true;
  }
  if (hlo::checkedProduct(dims) < 0)
    return emitError(shapeLoc, "shape has too many elements (the element count "
                               "overflows int64)");
  Attribute encoding;
  // A '{' after the dimensions is a layout when it holds a dimension, ':' or
  // nothing; otherwise it opens something else (`-> f32[] {` starts a body).
  auto atLayout = [&] {
    if (!tok.is(TokKind::LBrace))
      return false;
    HloLexer probe = lexer;
    Token next = probe.lex();
    return next.is(TokKind::Int) || next.is(TokKind::Colon) ||
           next.is(TokKind::RBrace);
  };
  if (atLayout()) {
    const char *layoutLoc = tok.loc;
    lexer.resetTo(tok.loc);
    llvm::StringRef text;
    if (!scanValue(text))
      return false;
    Attribute &cachedLayout = layoutCache[text];
    if (!cachedLayout) {
      std::string error;
      size_t errorPos = 0;
      FailureOr<hlo::LayoutAttr> parsed =
          hlo::LayoutAttr::parseHlo(context, text, error, errorPos);
      if (failed(parsed)) {
        layoutCache.erase(text);
        return emitSubError(text, errorPos, "bad layout: " + error);
      }
      cachedLayout = *parsed;
    }
    auto layout = cast<hlo::LayoutAttr>(cachedLayout);
    ArrayRef<int64_t> minorToMajor = layout.getMinorToMajor();
    if (minorToMajor.size() != dims.size() &&
        !(minorToMajor.empty() && !layout.getSuffix().empty()))
      return emitError(layoutLoc, "layout " + text + " has " +
                                      llvm::Twine(minorToMajor.size()) +
                                      " dimensions, but the shape has rank " +
                                      llvm::Twine(dims.size()));
    SmallVector<bool> seen(dims.size(), false);
    for (int64_t d : minorToMajor) {
      if (d >= int64_t(dims.size()) || seen[d])
        return emitError(layoutLoc,
                         "layout " + text +
                             " is not a permutation of the dimensions");
      seen[d] = true;
    }
    encoding = layout;
    lex();
  }
  type = RankedTensorType::get(dims, elementType, encoding);
  return true;
}

//===----------------------------------------------------------------------===//
// Module, sections, computations
//===----------------------------------------------------------------------===//

OwningOpRef<ModuleOp> HloParser::run() {
  lex();
  if (!parseModule())
    return nullptr;
  return buildModule();
}

bool HloParser::parseModule() {
  if (!tok.isIdent("HloModule"))
    return emitExpected("'HloModule'");
  moduleLoc = tok.loc;
  lex();
  if (!tok.isNameLike())
    return emitExpected("a module name after 'HloModule'");
  moduleName = tok.spelling;
  lex();
  while (consumeIf(TokKind::Comma))
    if (!parseHeaderAttribute())
      return false;
  if (!parseStackFrameSections())
    return false;
  while (!tok.is(TokKind::Eof))
    if (!parseComputation())
      return false;
  if (comps.empty())
    return emitExpected("a computation");
  return true;
}

bool HloParser::parseStackFrameSections() {
  auto isSection = [&] {
    return tok.is(TokKind::Ident) &&
           (tok.spelling == "FileNames" || tok.spelling == "FunctionNames" ||
            tok.spelling == "FileLocations" || tok.spelling == "StackFrames");
  };
  const char *start = nullptr, *last = nullptr;
  while (isSection()) {
    if (!start)
      start = tok.loc;
    last = tok.spelling.end();
    lex();
    // Entries are `<id> <rest of line>`; kept verbatim.
    while (tok.is(TokKind::Int)) {
      lexer.resetTo(tok.loc);
      lexer.skipToNextLine();
      last = lexer.getPos();
      lex();
    }
  }
  if (start)
    stackFrameText = llvm::StringRef(start, last - start).rtrim();
  return true;
}

bool HloParser::parseSignature() {
  // (name: shape, ...) -> shape
  if (!expect(TokKind::LParen, "'('"))
    return false;
  if (!consumeIf(TokKind::RParen)) {
    do {
      if (!tok.isNameLike())
        return emitExpected("a parameter name");
      lex();
      if (!expect(TokKind::Colon, "':' after parameter name"))
        return false;
      Type type;
      if (!parseShape(type))
        return false;
    } while (consumeIf(TokKind::Comma));
    if (!expect(TokKind::RParen, "',' or ')' in computation signature"))
      return false;
  }
  if (!expect(TokKind::Arrow, "'->' after computation parameters"))
    return false;
  Type result;
  return parseShape(result);
}

bool HloParser::parseComputation() {
  bool isEntry = false;
  if (tok.isIdent("ENTRY")) {
    isEntry = true;
    lex();
  }
  if (!tok.isNameLike())
    return emitExpected(isEntry ? "a computation name after 'ENTRY'"
                                : "a computation name or 'ENTRY'");
  llvm::StringRef name = tok.spelling;
  const char *loc = tok.loc;
  auto [it, inserted] = compByName.try_emplace(name, comps.size());
  if (!inserted) {
    auto [line, col] = sourceMgr.getLineAndColumn(
        llvm::SMLoc::getFromPointer(comps[it->second].loc), bufferId);
    return emitError(loc, "computation '" + name +
                              "' is defined twice (first at line " +
                              llvm::Twine(line) + ":" + llvm::Twine(col) + ")");
  }
  if (isEntry)
    for (const CompRecord &other : comps)
      if (other.isEntry)
        return emitError(loc, "second ENTRY computation '" + name +
                                  "' (the first is '" + other.name + "')");
  lex();
  if (tok.is(TokKind::LParen) && !parseSignature())
    return false;
  comps.emplace_back();
  CompRecord &comp = comps.back();
  comp.name = name;
  comp.loc = loc;
  comp.isEntry = isEntry;
  while (consumeIf(TokKind::Comma)) {
    if (!tok.isIdent("execution_thread"))
      return emitExpected("'execution_thread' or '{'");
    lex();
    if (!expect(TokKind::Equal, "'=' after 'execution_thread'"))
      return false;
    if (!tok.is(TokKind::String))
      return emitExpected("a string");
    std::string value;
    size_t bad = 0;
    if (!unescapeString(tok.spelling, value, bad))
      return emitError(tok.loc + bad, "bad escape in string literal");
    comp.executionThread = StringAttr::get(context, value);
    lex();
  }
  if (!expect(TokKind::LBrace, "'{' to start computation '" + name + "'"))
    return false;
  while (!consumeIf(TokKind::RBrace)) {
    if (tok.is(TokKind::Eof))
      return emitExpected("an instruction or '}' to end computation '" + name +
                          "'");
    if (!parseInstruction(comp))
      return false;
  }
  if (comp.instrs.empty())
    return emitError(loc, "computation '" + name + "' has no instructions");
  if (comp.rootIndex < 0)
    comp.rootIndex = comp.instrs.size() - 1; // XLA: the last one is ROOT.
  return true;
}

//===----------------------------------------------------------------------===//
// Instructions
//===----------------------------------------------------------------------===//

bool HloParser::parseInstruction(CompRecord &comp) {
  bool isRoot = false;
  const char *rootLoc = tok.loc;
  if (tok.isIdent("ROOT")) {
    isRoot = true;
    lex();
  }
  if (!tok.isNameLike())
    return emitExpected(isRoot ? "an instruction name after 'ROOT'"
                               : "an instruction name");
  unsigned compIndex = &comp - comps.data();
  unsigned index = comp.instrs.size();
  comp.instrs.emplace_back();
  InstrRecord &instr = comp.instrs.back();
  instr.name = tok.spelling;
  instr.loc = tok.loc;
  // Names are unique within a computation (XLA's parser scopes them so;
  // dumps from tests reuse `%x` or `%param` across computations).
  instrOwner.try_emplace(instr.name, compIndex);
  auto [it, inserted] = comp.indexByName.try_emplace(instr.name, index);
  if (!inserted) {
    auto [line, col] = sourceMgr.getLineAndColumn(
        llvm::SMLoc::getFromPointer(comp.instrs[it->second].loc), bufferId);
    return emitError(instr.loc, "duplicate instruction name '%" + instr.name +
                                    "' (first defined at line " +
                                    llvm::Twine(line) + ":" + llvm::Twine(col) +
                                    ")");
  }
  if (isRoot) {
    if (comp.rootIndex >= 0)
      return emitError(rootLoc, "computation '" + comp.name +
                                    "' has a second ROOT instruction '%" +
                                    instr.name + "'");
    comp.rootIndex = index;
  }
  lex();
  if (!expect(TokKind::Equal, "'=' after instruction name"))
    return false;
  // XLA infers the shape when it is left out (`%t = tuple(%a, %b)`).
  bool hasShape =
      !(tok.is(TokKind::Ident) && lexer.getPos() < lexer.getBufferEnd() &&
        *lexer.getPos() == '(');
  if (hasShape && !parseShape(instr.type))
    return false;
  if (!tok.is(TokKind::Ident))
    return emitExpected("an opcode");
  instr.opcode = tok.spelling;
  instr.opcodeLoc = tok.loc;
  auto [cached, isNew] = opcodeCache.try_emplace(instr.opcode);
  if (isNew)
    cached->second = RegisteredOperationName::lookup(
        hlo::getOpNameForOpcode(instr.opcode), context);
  instr.opName = cached->second;
  if (!instr.opName || instr.opcode == "computation" ||
      instr.opcode == "return")
    return emitError(tok.loc, "unknown opcode '" + instr.opcode + "'");
  lex();
  if (!expect(TokKind::LParen, "'(' after opcode '" + instr.opcode + "'"))
    return false;
  if (!hasShape && (instr.opcode == "parameter" || instr.opcode == "constant"))
    return emitError(instr.opcodeLoc,
                     "'" + instr.opcode + "' needs a shape before the opcode");
  if (instr.opcode == "parameter") {
    const char *numberLoc = tok.loc;
    if (!parseInt(instr.parameterNumber, "a parameter number"))
      return false;
    if (instr.parameterNumber < 0)
      return emitError(numberLoc, "parameter number must be non-negative");
    instr.attrs.append("parameter_number", Builder(context).getI64IntegerAttr(
                                               instr.parameterNumber));
    if (!expect(TokKind::RParen, "')' after the parameter number"))
      return false;
  } else if (instr.opcode == "constant") {
    Attribute value;
    if (!parseLiteral(instr.type, value))
      return false;
    if (value)
      instr.attrs.append("value", value);
    if (!expect(TokKind::RParen, "')' after the literal"))
      return false;
  } else if (!parseOperands(instr)) {
    return false;
  }
  while (consumeIf(TokKind::Comma))
    if (!parseInstrAttribute(instr))
      return false;
  return true;
}

bool HloParser::parseOperands(InstrRecord &instr) {
  if (consumeIf(TokKind::RParen))
    return true;
  do {
    NameRef ref;
    // Old-style dumps write the operand's shape first: `f32[2]{0} %a`.
    bool hasShape =
        tok.is(TokKind::LParen) ||
        (tok.is(TokKind::Ident) && lexer.getPos() < lexer.getBufferEnd() &&
         *lexer.getPos() == '[');
    if (hasShape && !parseShape(ref.declaredType))
      return false;
    if (!tok.isNameLike())
      return emitExpected("an operand name");
    ref.name = tok.spelling;
    ref.loc = tok.loc;
    instr.operands.push_back(ref);
    lex();
  } while (consumeIf(TokKind::Comma));
  return expect(TokKind::RParen, "',' or ')' after operand");
}

//===----------------------------------------------------------------------===//
// Public API
//===----------------------------------------------------------------------===//

OwningOpRef<ModuleOp> gshard::importHloText(llvm::SourceMgr &sourceMgr,
                                            MLIRContext *context) {
  context->getOrLoadDialect<hlo::HloDialect>();
  HloParser parser(sourceMgr, context);
  return parser.run();
}

OwningOpRef<ModuleOp> gshard::importHloText(llvm::StringRef text,
                                            MLIRContext *context) {
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(
      llvm::MemoryBuffer::getMemBufferCopy(text, "<string>"), llvm::SMLoc());
  return importHloText(sourceMgr, context);
}
