//===- ProtoImportFuzzer.cpp - libFuzzer target for the proto importer ----===//
//
// Any byte string may be rejected, but never crash, assert or hang the
// HloModuleProto/HloProto importer. An input that imports must verify, export
// as a proto that imports again, and print as HLO text.
//
//===----------------------------------------------------------------------===//

#include "FuzzerSetup.h"

#include "gshard/Export/HloProtoExporter.h"
#include "gshard/Export/HloTextExporter.h"
#include "gshard/IR/HloOps.h"
#include "gshard/Import/HloProtoImporter.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Verifier.h"

#include <google/protobuf/stubs/logging.h>

#include <cstdio>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static mlir::MLIRContext *context = [] {
    // libprotobuf logs every malformed string field on stderr: at fuzzing
    // rates that is most of the run time.
    google::protobuf::SetLogHandler(nullptr);
    return gshard::fuzz::createFuzzContext([](mlir::DialectRegistry &registry) {
      registry.insert<gshard::hlo::HloDialect>();
    });
  }();
  gshard::fuzz::SilencedDiagnostics silence(context);
  llvm::StringRef input = gshard::fuzz::inputBytes(data, size);
  mlir::OwningOpRef<mlir::ModuleOp> module =
      gshard::importHloProto(llvm::MemoryBufferRef(input, "fuzz.pb"), context);
  if (!module)
    return 0;
  if (mlir::failed(mlir::verify(*module))) {
    fprintf(stderr, "imported proto does not verify\n");
    abort();
  }
  std::string bytes;
  llvm::raw_string_ostream os(bytes);
  if (mlir::failed(gshard::exportHloProto(*module, os)))
    return 0;
  mlir::OwningOpRef<mlir::ModuleOp> again =
      gshard::importHloProto(llvm::MemoryBufferRef(bytes, "again.pb"), context);
  if (!again) {
    fprintf(stderr, "exported proto does not import again\n");
    abort();
  }
  std::string text;
  llvm::raw_string_ostream textOs(text);
  (void)gshard::exportHloText(*again, textOs);
  return 0;
}
