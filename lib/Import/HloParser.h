//===- HloParser.h - Recursive-descent parser of HLO text -------*- C++ -*-===//
//
// The importer works in two phases. Parsing (HloParser.cpp, HloAttrParser.cpp,
// LiteralParser.cpp) reads the whole module into records: one per
// computation, one per instruction, with attributes already built as MLIR
// attributes. Building (HloModuleBuilder.cpp) then checks what needs the
// whole module (operand names, computation references, cycles, parameter
// numbers), orders each computation's instructions topologically and creates
// the `hlo` ops generically from the records.
//
//===----------------------------------------------------------------------===//

#ifndef GSHARD_LIB_IMPORT_HLOPARSER_H
#define GSHARD_LIB_IMPORT_HLOPARSER_H

#include "HloLexer.h"
#include "gshard/IR/HloAttrSyntax.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OperationSupport.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/SourceMgr.h"

#include <deque>
#include <optional>

namespace gshard::import {

/// A use of an instruction by name (an operand or a control predecessor).
struct NameRef {
  llvm::StringRef name;
  const char *loc = nullptr;
  /// The shape written before the operand in old-style dumps
  /// (`add(f32[] %a, ...)`), else null.
  mlir::Type declaredType;
};

struct InstrRecord {
  llvm::StringRef name;
  const char *loc = nullptr; // the instruction's name
  llvm::StringRef opcode;
  const char *opcodeLoc = nullptr;
  std::optional<mlir::RegisteredOperationName> opName;
  mlir::Type type;
  llvm::SmallVector<NameRef, 3> operands;
  llvm::SmallVector<NameRef, 0> controlPredecessors;
  mlir::NamedAttrList attrs;
  int64_t parameterNumber = -1;
};

struct CompRecord {
  llvm::StringRef name;
  const char *loc = nullptr;
  bool isEntry = false;
  mlir::StringAttr executionThread;
  std::deque<InstrRecord> instrs;
  int64_t rootIndex = -1;
  llvm::StringMap<unsigned> indexByName;
};

/// Syntax of an attribute value, one per HloAttrSyntax.def entry.
using AttrSyntax = hlo::AttrSyntax;

class HloParser {
public:
  HloParser(llvm::SourceMgr &sourceMgr, mlir::MLIRContext *context);

  /// Parses and builds the module; null after an error was emitted.
  mlir::OwningOpRef<mlir::ModuleOp> run();

  //===--------------------------------------------------------------------===//
  // Diagnostics and tokens (HloParser.cpp)
  //===--------------------------------------------------------------------===//

  mlir::Location getLoc(const char *pos);
  /// Emits an error at `pos` (only the first error of a run is reported).
  /// Always returns false.
  bool emitError(const char *pos, const llvm::Twine &message);
  /// "expected <what>, found <current token>" at the current token; reports
  /// the lexer's own message when the current token is an Error.
  bool emitExpected(const llvm::Twine &what);
  std::string describeToken(const Token &tok) const;
  void lex() { tok = lexer.lex(); }
  bool consumeIf(TokKind kind) {
    if (!tok.is(kind))
      return false;
    lex();
    return true;
  }
  bool expect(TokKind kind, const llvm::Twine &what) {
    if (!tok.is(kind))
      return emitExpected(what);
    lex();
    return true;
  }
  /// Parses an integer token into `value` (checking for int64 overflow).
  bool parseInt(int64_t &value, const llvm::Twine &what);

  /// Parses a shape: `f32[2,3]{1,0}`, `(s32[], token[])`, `token[]`.
  bool parseShape(mlir::Type &type, int depth = 0);

  //===--------------------------------------------------------------------===//
  // Literals (LiteralParser.cpp)
  //===--------------------------------------------------------------------===//

  /// Parses the literal of `constant(...)` for `type`; leaves `value` null
  /// when the dump elided it as `{...}`.
  bool parseLiteral(mlir::Type type, mlir::Attribute &value);

  //===--------------------------------------------------------------------===//
  // Attributes (HloAttrParser.cpp)
  //===--------------------------------------------------------------------===//

  /// Parses `key=value` of an instruction (the current token is the key).
  bool parseInstrAttribute(InstrRecord &instr);
  /// Parses `key=value` of the HloModule header.
  bool parseHeaderAttribute();

private:
  bool parseModule();
  bool parseStackFrameSections();
  bool parseComputation();
  bool parseSignature();
  bool parseInstruction(CompRecord &comp);
  bool parseOperands(InstrRecord &instr);
  bool parseEntryComputationLayout(mlir::Attribute &value);
  /// Converts an error of a sub-parser (offset into `text`) to a diagnostic.
  bool emitSubError(llvm::StringRef text, size_t offset,
                    const llvm::Twine &message);
  /// The value text after `key=`; positions the lexer after it.
  bool scanValue(llvm::StringRef &value);
  bool parseAttrValue(llvm::StringRef key, const char *keyLoc,
                      AttrSyntax syntax, InstrRecord *instr,
                      mlir::NamedAttrList &attrs);
  /// Parses a `{k=v ...}` dictionary; `text` may be `raw` with comments
  /// blanked out (errors point into `raw`).
  mlir::Attribute parseDict(llvm::StringRef text, llvm::StringRef raw);
  bool parseLiteralRec(mlir::Type type, mlir::Attribute &value, int depth);

  // Building (HloModuleBuilder.cpp).
  mlir::OwningOpRef<mlir::ModuleOp> buildModule();
  bool buildComputation(CompRecord &comp, mlir::Block &block);
  /// The shape of an instruction written without one, as XLA infers it.
  mlir::Type inferType(const InstrRecord &instr,
                       llvm::ArrayRef<mlir::Value> operands);

public:
  llvm::SourceMgr &sourceMgr;
  mlir::MLIRContext *context;
  unsigned bufferId;
  mlir::StringAttr filename;
  HloLexer lexer;
  Token tok;
  bool hadError = false;

  // Module-level results of parsing.
  llvm::StringRef moduleName;
  const char *moduleLoc = nullptr;
  mlir::NamedAttrList header;
  llvm::StringRef stackFrameText;
  std::vector<CompRecord> comps;
  llvm::StringMap<unsigned> compByName;
  /// The first computation defining each instruction name (for messages
  /// about operands that live in another computation).
  llvm::StringMap<unsigned> instrOwner;
  /// Computation references to check once every computation is known.
  std::vector<NameRef> computationRefs;

  // Caches: real modules repeat opcodes, layouts and shardings a lot.
  llvm::StringMap<std::optional<mlir::RegisteredOperationName>> opcodeCache;
  llvm::DenseMap<llvm::StringRef, mlir::Attribute> layoutCache;
  llvm::DenseMap<std::pair<unsigned, llvm::StringRef>, mlir::Attribute>
      structuredCache;
};

/// The element type of an HLO primitive type name (`f32`, `pred`, `u8`),
/// or null.
mlir::Type getElementType(mlir::MLIRContext *context, llvm::StringRef name);

} // namespace gshard::import

#endif // GSHARD_LIB_IMPORT_HLOPARSER_H
