//===- HloProtoImporterImpl.h - The proto importer --------------*- C++ -*-===//
//
// The importer class shared by the files of the proto importer, split by
// concern: HloProtoImporter.cpp (diagnostics, computations, the module and
// the entry points), HloProtoImportTypes.cpp (shapes, shardings, metadata,
// literals) and HloProtoImportInstruction.cpp (one instruction).
//
//===----------------------------------------------------------------------===//

#ifndef GSHARD_LIB_PROTO_HLOPROTOIMPORTERIMPL_H
#define GSHARD_LIB_PROTO_HLOPROTOIMPORTERIMPL_H

#include "HloProtoUtil.h"

#include "gshard/IR/HloOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/Twine.h"

#include <google/protobuf/message.h>

#include <string>
#include <utility>
#include <vector>

namespace gshard::proto {

using google::protobuf::Message;
using mlir::Attribute;
using mlir::DictionaryAttr;
using mlir::InFlightDiagnostic;
using mlir::Location;
using mlir::LogicalResult;
using mlir::MLIRContext;
using mlir::ModuleOp;
using mlir::OpBuilder;
using mlir::Operation;
using mlir::OwningOpRef;
using mlir::SmallVector;
using mlir::Type;
using mlir::Value;
using ShardingAttr = hlo::ShardingAttr;

/// Imports one HloModuleProto; not reusable across modules.
class ProtoImporter {
public:
  ProtoImporter(MLIRContext *context, llvm::StringRef filename)
      : context(context), b(context),
        fileLoc(mlir::FileLineColLoc::get(context, filename, 0, 0)) {}

  OwningOpRef<ModuleOp> importModule(const pb::HloModuleProto &proto);

private:
  InFlightDiagnostic error(const llvm::Twine &where,
                           const llvm::Twine &message) {
    return mlir::emitError(fileLoc) << where << ": " << message;
  }
  /// Records a warning; identical messages are reported once with a count.
  void warn(const std::string &message, llvm::StringRef where) {
    auto [it, inserted] = warningIndex.try_emplace(message, warnings.size());
    if (inserted)
      warnings.push_back({message, {0, where.str()}});
    ++warnings[it->second].second.first;
  }
  void flushWarnings();
  void checkUnknownFields(const Message &message, llvm::StringRef where);

  Type convertShape(const pb::ShapeProto &shape, llvm::StringRef where);
  ShardingAttr convertSharding(const pb::OpSharding &sharding,
                               llvm::StringRef where);
  DictionaryAttr convertMetadata(const pb::OpMetadata &metadata,
                                 llvm::StringRef where);
  Attribute convertLiteral(const pb::LiteralProto &literal, Type type,
                           llvm::StringRef where);
  LogicalResult importComputation(const pb::HloComputationProto &comp,
                                  bool isEntry,
                                  const pb::HloScheduleProto *schedule);
  Operation *importInstruction(const pb::HloInstructionProto &instr,
                               OpBuilder &builder);
  DictionaryAttr convertHeader(const pb::HloModuleProto &proto);

  MLIRContext *context;
  mlir::Builder b;
  Location fileLoc;
  /// Instruction id -> value, per computation being imported.
  llvm::DenseMap<int64_t, Value> values;
  llvm::DenseMap<int64_t, llvm::StringRef> instrNames;
  /// Computation id -> name.
  llvm::DenseMap<int64_t, llvm::StringRef> compNames;
  /// Distinct warnings in order: message -> (count, first place).
  std::vector<std::pair<std::string, std::pair<unsigned, std::string>>>
      warnings;
  llvm::StringMap<size_t> warningIndex;
  /// Computations built so far, not yet in a module.
  SmallVector<Operation *> pendingOps;
  /// Per message type, its message-typed fields other than maps: what
  /// checkUnknownFields descends into (most fields of an instruction are
  /// scalars; walking all of them for every message is slow).
  /// std::vector: its buffer stays put when the map grows during the
  /// recursion.
  llvm::DenseMap<const google::protobuf::Descriptor *,
                 std::vector<const google::protobuf::FieldDescriptor *>>
      messageFields;
};

} // namespace gshard::proto

#endif // GSHARD_LIB_PROTO_HLOPROTOIMPORTERIMPL_H
