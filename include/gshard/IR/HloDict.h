//===- HloDict.h - HLO `{key=value ...}` dictionaries -----------*- C++ -*-===//
//
// `metadata={op_name="x" source_line=3}` and
// `frontend_attributes={a="b",c="d"}` both map to a DictionaryAttr whose
// values are StringAttr, i64 IntegerAttr or BoolAttr.
//
//===----------------------------------------------------------------------===//

#ifndef GSHARD_IR_HLODICT_H
#define GSHARD_IR_HLODICT_H

#include "gshard/IR/HloSyntax.h"
#include "mlir/IR/BuiltinAttributes.h"

namespace gshard::hlo {

/// Parses `{key=value, key=value}` (commas optional) at the cursor.
mlir::DictionaryAttr parseHloDict(mlir::MLIRContext *context,
                                  SyntaxCursor &cursor);

/// Parses a double-quoted string literal with C escapes at the cursor.
bool parseQuotedString(SyntaxCursor &cursor, std::string &value);

/// Prints a dictionary in HLO syntax. Keys in `preferredOrder` come first in
/// that order, then the rest alphabetically.
void printHloDict(llvm::raw_ostream &os, mlir::DictionaryAttr dict,
                  llvm::StringRef separator,
                  llvm::ArrayRef<llvm::StringRef> preferredOrder = {});

/// XLA's print order of OpMetadata fields.
llvm::ArrayRef<llvm::StringRef> getMetadataKeyOrder();

} // namespace gshard::hlo

#endif // GSHARD_IR_HLODICT_H
