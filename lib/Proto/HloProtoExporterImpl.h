//===- HloProtoExporterImpl.h - The proto exporter --------------*- C++ -*-===//
//
// The exporter class shared by the files of the proto exporter:
// HloProtoExporter.cpp (instructions, the module header, computations and
// the entry points) and HloProtoExportTypes.cpp (shapes, shardings,
// metadata, literals).
//
//===----------------------------------------------------------------------===//

#ifndef GSHARD_LIB_PROTO_HLOPROTOEXPORTERIMPL_H
#define GSHARD_LIB_PROTO_HLOPROTOEXPORTERIMPL_H

#include "HloProtoUtil.h"

#include "gshard/IR/HloOps.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/ADT/Twine.h"

#include <string>

namespace gshard::proto {

class ProtoExporter {
public:
  mlir::LogicalResult exportModule(mlir::ModuleOp module,
                                   pb::HloModuleProto &proto);

private:
  mlir::LogicalResult convertType(mlir::Type type, pb::ShapeProto *shape,
                                  mlir::Operation *op);
  void convertSharding(hlo::ShardingAttr s, pb::OpSharding *out);
  void convertMetadata(mlir::DictionaryAttr dict, pb::OpMetadata *out,
                       mlir::Operation *op);
  mlir::LogicalResult convertLiteral(mlir::Attribute value, mlir::Type type,
                                     pb::LiteralProto *out,
                                     mlir::Operation *op);
  mlir::LogicalResult exportInstruction(mlir::Operation *op,
                                        pb::HloInstructionProto &in);
  mlir::LogicalResult exportHeader(mlir::ModuleOp module,
                                   mlir::DictionaryAttr header,
                                   pb::HloModuleProto &proto);
  void warn(mlir::Operation *op, const llvm::Twine &message) {
    std::string text = message.str();
    if (warned.insert(text).second)
      op->emitWarning() << text;
  }

  llvm::StringMap<int64_t> compIds;
  llvm::StringMap<int64_t> instrIds; // per computation, by name
  // Per computation, by op: instructions without a name in their location
  // get a generated one, which only this map knows.
  llvm::DenseMap<mlir::Operation *, int64_t> opIds;
  llvm::StringSet<> warned;
  int64_t nextId = 1;
};

} // namespace gshard::proto

#endif // GSHARD_LIB_PROTO_HLOPROTOEXPORTERIMPL_H
