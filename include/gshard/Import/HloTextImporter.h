//===- HloTextImporter.h - XLA HLO text to the hlo dialect ------*- C++ -*-===//
//
// Part of gshard, under the Apache License v2.0.
//
// Parses the HLO text that XLA, JAX and PyTorch/XLA dump into a
// builtin.module of `hlo` ops, as described in docs/architecture.md.
//
//===----------------------------------------------------------------------===//

#ifndef GSHARD_IMPORT_HLOTEXTIMPORTER_H
#define GSHARD_IMPORT_HLOTEXTIMPORTER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/StringRef.h"

namespace llvm {
class SourceMgr;
} // namespace llvm

namespace mlir {
class MLIRContext;
} // namespace mlir

namespace gshard {

/// Parses HLO text held by `sourceMgr`'s main buffer into a builtin.module of
/// hlo ops. Errors are emitted as MLIR diagnostics at FileLineColLoc
/// locations (so a SourceMgrDiagnosticHandler prints
/// `file:line:col: error: ...`); returns null on error. The module is
/// verified before it is returned.
mlir::OwningOpRef<mlir::ModuleOp> importHloText(llvm::SourceMgr &sourceMgr,
                                                mlir::MLIRContext *context);

/// Convenience for tests: parse from a string (buffer name "<string>").
mlir::OwningOpRef<mlir::ModuleOp> importHloText(llvm::StringRef text,
                                                mlir::MLIRContext *context);

/// Fails (with an error at the call that closes the cycle) if some
/// computation of `module` calls itself, directly or through others: XLA
/// call graphs are acyclic, and every pass that follows calls would recurse
/// forever. importHloText runs it on every module.
mlir::LogicalResult verifyAcyclicCallGraph(mlir::ModuleOp module);

} // namespace gshard

#endif // GSHARD_IMPORT_HLOTEXTIMPORTER_H
