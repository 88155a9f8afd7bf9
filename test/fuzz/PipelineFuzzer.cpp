//===- PipelineFuzzer.cpp - libFuzzer target: parse, propagate, partition -===//
//
// HLO text through the whole compiler: import, sharding propagation, SPMD
// partitioning, printing. Each stage may reject its input with a diagnostic,
// but never crash, assert or hang; a module a stage accepts must still
// verify, and the partitioned module must print.
//
//===----------------------------------------------------------------------===//

#include "FuzzerSetup.h"

#include "gshard/Export/HloTextExporter.h"
#include "gshard/Import/HloTextImporter.h"
#include "gshard/InitAll.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Verifier.h"

#include <cstdio>
#include <cstdlib>

static void requireValid(mlir::ModuleOp module, const char *stage) {
  if (mlir::succeeded(mlir::verify(module)))
    return;
  fprintf(stderr, "module does not verify after %s\n", stage);
  abort();
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static mlir::MLIRContext *context =
      gshard::fuzz::createFuzzContext(gshard::registerAllDialects);
  gshard::fuzz::SilencedDiagnostics silence(context);
  llvm::StringRef input = gshard::fuzz::inputBytes(data, size);
  mlir::OwningOpRef<mlir::ModuleOp> module =
      gshard::importHloText(input, context);
  if (!module)
    return 0;
  requireValid(*module, "import");
  if (mlir::failed(gshard::propagateShardings(*module, {}, nullptr)))
    return 0;
  requireValid(*module, "propagation");
  gshard::PartitionOptions options;
  options.warnOnReplication = false;
  if (mlir::failed(gshard::partitionModule(*module, options, nullptr)))
    return 0;
  requireValid(*module, "partitioning");
  std::string text;
  llvm::raw_string_ostream os(text);
  (void)gshard::exportHloText(*module, os);
  return 0;
}
