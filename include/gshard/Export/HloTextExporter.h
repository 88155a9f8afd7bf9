//===- HloTextExporter.h - Print hlo-dialect modules as HLO text -*- C++
//-*-===//
//
// The printer half of the HLO text round trip. It follows the contract in
// docs/architecture.md and the attribute table HloAttrSyntax.def, and prints
// in XLA's current style (`HloModuleProto` dumps, `HloModule::ToString()`):
// new-style operands (names only), layouts where the type has one, literals
// in full, one line per instruction.
//
//===----------------------------------------------------------------------===//

#ifndef GSHARD_EXPORT_HLOTEXTEXPORTER_H
#define GSHARD_EXPORT_HLOTEXTEXPORTER_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LogicalResult.h"
#include "llvm/ADT/APFloat.h"
#include "llvm/Support/raw_ostream.h"

namespace gshard {

/// Prints a builtin.module of hlo ops as XLA HLO text. Fails (with a
/// diagnostic on the op) only for IR it cannot express in HLO (e.g. a non-hlo
/// op, or an attribute that HloAttrSyntax.def does not know).
mlir::LogicalResult exportHloText(mlir::ModuleOp module, llvm::raw_ostream &os);

/// Prints `type` as an HLO shape: `f32[2,3]{1,0}`, `(f32[2]{0}, s32[])`,
/// `token[]`. Layouts come from the `#hlo.layout` encoding and are printed
/// only when `withLayout` is set (program shapes print without them). Fails
/// for a type HLO has no spelling for (nothing is printed then).
mlir::LogicalResult printHloShape(llvm::raw_ostream &os, mlir::Type type,
                                  bool withLayout = true);

/// Prints the HLO spelling of an element type (`pred`, `s32`, `u8`, `bf16`,
/// `f8e4m3fn`, `c64`). Fails for a type HLO has no spelling for.
mlir::LogicalResult printHloElementType(llvm::raw_ostream &os,
                                        mlir::Type elementType);

/// Prints a constant's literal as XLA does on one line: scalars bare, arrays
/// as nested braces (`{ { 1, 2 }, { 3, 4 } }`), pred arrays as 0/1, tuple
/// literals (ArrayAttr of ElementsAttr) as `( ..., ... )`. Floats use the
/// shortest decimal that parses back to the identical value. Fails for an
/// attribute that is not a literal.
mlir::LogicalResult printHloLiteral(llvm::raw_ostream &os,
                                    mlir::Attribute literal);

/// The shortest decimal spelling of `value` that reads back (rounded to
/// nearest in the value's own format) as exactly `value`: `0.1`, `1e-05`,
/// `nan`, `-inf`. NaNs other than the default quiet NaN keep their payload as
/// `nan(0x...)`.
std::string formatHloFloat(const llvm::APFloat &value);

} // namespace gshard

#endif // GSHARD_EXPORT_HLOTEXTEXPORTER_H
