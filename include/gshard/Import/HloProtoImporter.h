//===- HloProtoImporter.h - Binary HloModuleProto to the hlo dialect -*- C++
//-*-===//
//
// Reads a binary `xla.HloModuleProto`, or the `xla.HloProto` wrapper XLA
// dumps as `*.hlo.pb` (the module in field 1; detected), and builds the same
// hlo-dialect module the HLO text importer builds for the module's text.
//
//===----------------------------------------------------------------------===//

#ifndef GSHARD_IMPORT_HLOPROTOIMPORTER_H
#define GSHARD_IMPORT_HLOPROTOIMPORTER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/Support/MemoryBufferRef.h"

namespace mlir {
class MLIRContext;
} // namespace mlir

namespace gshard {

/// Imports a binary HloModuleProto or HloProto. Returns null after emitting
/// diagnostics (located at the buffer's identifier) on malformed or truncated
/// input, dangling ids, or constructs the hlo dialect cannot represent.
/// Fields that are set but not understood are reported as warnings naming
/// the field; the result is verified.
mlir::OwningOpRef<mlir::ModuleOp> importHloProto(llvm::MemoryBufferRef buffer,
                                                 mlir::MLIRContext *context);

/// True if `buffer` looks like a binary protobuf rather than HLO text or
/// MLIR assembly (used by tools to pick an importer when not told).
bool looksLikeHloProto(llvm::StringRef buffer);

} // namespace gshard

#endif // GSHARD_IMPORT_HLOPROTOIMPORTER_H
