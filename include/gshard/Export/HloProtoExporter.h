//===- HloProtoExporter.h - The hlo dialect to binary HloModuleProto -*- C++
//-*-===//
//
// Serializes an hlo-dialect module as a binary `xla.HloModuleProto`, wire
// compatible with XLA: instruction ids are assigned in module order (from 1),
// computation ids likewise, and operands, control predecessors and called
// computations refer to them by id.
//
//===----------------------------------------------------------------------===//

#ifndef GSHARD_EXPORT_HLOPROTOEXPORTER_H
#define GSHARD_EXPORT_HLOPROTOEXPORTER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LogicalResult.h"
#include "llvm/Support/raw_ostream.h"

#include <string>

namespace gshard {

/// Writes `module` as a binary HloModuleProto. Emits an error on the
/// offending op and fails if something has no HloModuleProto encoding;
/// header attributes that XLA keeps outside the proto (module config
/// options) are reported as warnings and not written.
mlir::LogicalResult exportHloProto(mlir::ModuleOp module,
                                   llvm::raw_ostream &os);

/// Same, into a string.
mlir::LogicalResult exportHloProto(mlir::ModuleOp module, std::string &bytes);

} // namespace gshard

#endif // GSHARD_EXPORT_HLOPROTOEXPORTER_H
