//===- FuzzerSetup.h - setup shared by the libFuzzer harnesses
//-------------===//
//
// Every harness imports each input into one process-wide context (creating
// a context per input would dominate the run time) with diagnostics
// discarded: most fuzz inputs are invalid, and printing every rejection is
// both slow and noise. Checks the harnesses make print their own message
// and abort.
//
//===----------------------------------------------------------------------===//

#ifndef GSHARD_TEST_FUZZ_FUZZERSETUP_H
#define GSHARD_TEST_FUZZ_FUZZERSETUP_H

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"

#include <cstddef>
#include <cstdint>

namespace gshard::fuzz {

/// A context with the dialects `addDialects` registers, all loaded; meant
/// to be kept in a function-local static for the whole fuzzing run.
template <typename AddDialects>
mlir::MLIRContext *createFuzzContext(AddDialects addDialects) {
  mlir::DialectRegistry registry;
  addDialects(registry);
  auto *context = new mlir::MLIRContext(registry);
  context->loadAllAvailableDialects();
  return context;
}

/// Discards the context's diagnostics while it lives.
class SilencedDiagnostics : public mlir::ScopedDiagnosticHandler {
public:
  explicit SilencedDiagnostics(mlir::MLIRContext *context)
      : mlir::ScopedDiagnosticHandler(
            context, [](mlir::Diagnostic &) { return mlir::success(); }) {}
};

/// The fuzz input's bytes as text (they need not be valid UTF-8 or
/// NUL-terminated).
inline llvm::StringRef inputBytes(const uint8_t *data, size_t size) {
  return llvm::StringRef(reinterpret_cast<const char *>(data), size);
}

} // namespace gshard::fuzz

#endif // GSHARD_TEST_FUZZ_FUZZERSETUP_H
