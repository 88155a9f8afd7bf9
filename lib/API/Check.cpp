//===- Check.cpp - gshard::checkPartitioned -------------------------------===//
//
// The differential check of the embedding API: sim::runDifferentialCheck
// (what `gshard-sim PARTITIONED --check=ORIGINAL` runs) on two in-memory
// modules, which may come from different contexts.
//
//===----------------------------------------------------------------------===//

#include "gshard/gshard.h"

#include "gshard/Import/HloProtoImporter.h"
#include "gshard/Sim/Interpreter.h"

#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/MemoryBuffer.h"

using namespace gshard;
using namespace gshard::sim;

static llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

/// Prepares `module` for the simulator; an Error names what it cannot run.
static llvm::Expected<std::unique_ptr<Executable>>
prepare(mlir::ModuleOp module, const CheckOptions &options,
        llvm::StringRef role) {
  std::string error;
  std::unique_ptr<Executable> executable = Executable::create(module, error);
  ExecOptions exec;
  exec.maxValueBytes = options.maxValueBytes;
  exec.opaqueCustomCalls = options.opaqueCustomCalls;
  if (!executable || !executable->checkExecutable(error, exec))
    return makeError("the " + role + " module cannot be simulated: " + error);
  return std::move(executable);
}

/// `module` in `context`: itself if it is there already, else a copy made
/// through its HloModuleProto form (lossless for everything the simulator
/// reads). Values of one run must share a context (element types are
/// compared by identity), and modules from separate parse calls do not.
static llvm::Expected<mlir::ModuleOp>
inContext(const Module &module, mlir::MLIRContext *context,
          mlir::OwningOpRef<mlir::ModuleOp> &copy) {
  mlir::ModuleOp op = module.getOperation();
  if (op->getContext() == context)
    return op;
  llvm::Expected<std::string> bytes = module.toHloProto();
  if (!bytes)
    return bytes.takeError();
  std::string errors;
  mlir::ScopedDiagnosticHandler handler(context, [&](mlir::Diagnostic &d) {
    if (d.getSeverity() == mlir::DiagnosticSeverity::Error)
      errors += d.str() + "\n";
    return mlir::success();
  });
  auto buffer = llvm::MemoryBuffer::getMemBuffer(
      *bytes, op.getSymName().value_or("<module>"),
      /*RequiresNullTerminator=*/false);
  copy = importHloProto(buffer->getMemBufferRef(), context);
  if (!copy)
    return makeError("cannot copy the original module into the partitioned "
                     "module's context: " +
                     errors);
  return *copy;
}

llvm::Expected<CheckResult>
gshard::checkPartitioned(const Module &partitioned, const Module &original,
                         const CheckOptions &options) {
  mlir::ModuleOp partModule = partitioned.getOperation();
  mlir::OwningOpRef<mlir::ModuleOp> origCopy;
  llvm::Expected<mlir::ModuleOp> origModule =
      inContext(original, partModule->getContext(), origCopy);
  if (!origModule)
    return origModule.takeError();
  if (options.numPartitions < 0 || options.numReplicas < 0 ||
      options.numPartitions > 4096 || options.numReplicas > 4096)
    return makeError("device counts must be in [1, 4096]");
  auto partExe = prepare(partModule, options, "partitioned");
  if (!partExe)
    return partExe.takeError();
  auto origExe = prepare(*origModule, options, "original");
  if (!origExe)
    return origExe.takeError();
  std::string error;
  mlir::FailureOr<CheckResult> result =
      runDifferentialCheck(**partExe, **origExe, options, error);
  if (failed(result))
    return makeError(error);
  return std::move(*result);
}
