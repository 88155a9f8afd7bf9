//===- ImportFuzzer.cpp - libFuzzer target for the HLO text importer ------===//
//
// Any input may be rejected, but never crash, assert or hang the importer.
// Inputs that import are printed, re-imported and printed again: the two
// prints must be identical (the round-trip fixed point), so the fuzzer also
// checks the printer.
//
//===----------------------------------------------------------------------===//

#include "FuzzerSetup.h"

#include "gshard/Export/HloTextExporter.h"
#include "gshard/IR/HloOps.h"
#include "gshard/Import/HloTextImporter.h"

#include "mlir/IR/BuiltinOps.h"

#include <cstdio>
#include <cstdlib>

static std::string print(mlir::ModuleOp module, bool &ok) {
  std::string text;
  llvm::raw_string_ostream os(text);
  ok = mlir::succeeded(gshard::exportHloText(module, os));
  return text;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static mlir::MLIRContext *context =
      gshard::fuzz::createFuzzContext([](mlir::DialectRegistry &registry) {
        registry.insert<gshard::hlo::HloDialect>();
      });
  gshard::fuzz::SilencedDiagnostics silence(context);
  llvm::StringRef input = gshard::fuzz::inputBytes(data, size);
  mlir::OwningOpRef<mlir::ModuleOp> module =
      gshard::importHloText(input, context);
  if (!module)
    return 0;
  bool ok = false;
  std::string first = print(*module, ok);
  if (!ok)
    return 0;
  mlir::OwningOpRef<mlir::ModuleOp> again =
      gshard::importHloText(first, context);
  if (!again) {
    fprintf(stderr, "printed module does not import again:\n%s\n",
            first.c_str());
    abort();
  }
  std::string second = print(*again, ok);
  if (!ok || first != second) {
    fprintf(stderr, "print is not a fixed point:\n%s\n---\n%s\n", first.c_str(),
            second.c_str());
    abort();
  }
  return 0;
}
