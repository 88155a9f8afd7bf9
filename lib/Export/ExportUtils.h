//===- ExportUtils.h - Shared pieces of the HLO printers --------*- C++ -*-===//
//
// Internal to lib/Export: the attribute table (HloAttrSyntax.def) as the
// printer uses it, XLA's print orders, and the raw-text spellings.
//
//===----------------------------------------------------------------------===//

#ifndef GSHARD_LIB_EXPORT_EXPORTUTILS_H
#define GSHARD_LIB_EXPORT_EXPORTUTILS_H

#include "gshard/IR/HloAttrSyntax.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Operation.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/raw_ostream.h"

namespace gshard::export_detail {

/// The value syntaxes of HloAttrSyntax.def.
using Kind = hlo::AttrSyntax;

/// HLO key (with `_`) -> syntax of its value, from HloAttrSyntax.def.
inline const llvm::StringMap<Kind> &getSyntaxTable() {
  return hlo::getAttrSyntaxTable();
}

/// Sort key of attribute `key` on `op` in XLA's print order: opcode-specific
/// attributes, called computations, then sharding, frontend_attributes,
/// control-predecessors, metadata, backend_config.
unsigned getRank(mlir::Operation *op, llvm::StringRef key);

/// Header keys in XLA's `HloModule::ToString()` order.
llvm::ArrayRef<llvm::StringLiteral> getHeaderOrder();

/// Whether `text` is one balanced `{...}` group (quotes honoured).
bool isBraceGroup(llvm::StringRef text);

/// `{a="x",b={raw}}`: values that are a `{...}` group print unquoted.
void printFrontendAttributes(llvm::raw_ostream &os, mlir::DictionaryAttr dict);

/// A Config value (backend_config, ...): raw `"..."`/`{...}` text verbatim,
/// anything else quoted.
void printConfig(llvm::raw_ostream &os, llvm::StringRef text);

} // namespace gshard::export_detail

#endif // GSHARD_LIB_EXPORT_EXPORTUTILS_H
