//===- Module.cpp - gshard::Module: parse, transform, print ---------------===//
//
// The embedding API's module: each step runs with a diagnostic handler that
// formats what the step emits exactly as gshard-opt prints it (through a
// SourceMgrDiagnosticHandler over the module's source buffers), and turns
// errors into the llvm::Error it returns instead of printing them.
//
//===----------------------------------------------------------------------===//

#include "gshard/gshard.h"

#include "gshard/Export/HloProtoExporter.h"
#include "gshard/Export/HloTextExporter.h"
#include "gshard/Import/HloProtoImporter.h"
#include "gshard/Import/HloTextImporter.h"
#include "gshard/InitAll.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

using namespace gshard;

/// What a Module shares with its clones: the context and the buffers its
/// locations point into (so later diagnostics can quote source lines).
struct Module::State {
  State() : context(makeRegistry()) {
    context.loadAllAvailableDialects();
    // Diagnostics name the instruction by file:line:col; a dump of the op
    // in generic MLIR form would only repeat it less readably.
    context.printOpOnDiagnostic(false);
  }
  static mlir::DialectRegistry makeRegistry() {
    mlir::DialectRegistry registry;
    registerAllDialects(registry);
    return registry;
  }

  mlir::MLIRContext context;
  llvm::SourceMgr sourceMgr;
};

namespace {

/// MLIR's file:line:col formatter, with the per-diagnostic entry point
/// (which also prints attached notes) made accessible.
class DiagnosticFormatter : public mlir::SourceMgrDiagnosticHandler {
public:
  using SourceMgrDiagnosticHandler::emitDiagnostic;
  using SourceMgrDiagnosticHandler::SourceMgrDiagnosticHandler;
};

/// Collects the diagnostics emitted while it lives: errors (with their
/// notes) into one message, warnings one string each. Each is formatted by
/// MLIR's SourceMgrDiagnosticHandler, as the command-line tools print it.
class DiagnosticCapture {
public:
  DiagnosticCapture(llvm::SourceMgr &sourceMgr, mlir::MLIRContext &context)
      : context(context), stream(buffer),
        formatter(sourceMgr, &context, stream) {
    id = context.getDiagEngine().registerHandler([this](mlir::Diagnostic &d) {
      buffer.clear();
      formatter.emitDiagnostic(d);
      stream.flush();
      if (d.getSeverity() == mlir::DiagnosticSeverity::Error)
        errors += buffer;
      else if (d.getSeverity() == mlir::DiagnosticSeverity::Warning)
        warnings.push_back(llvm::StringRef(buffer).rtrim().str());
      return mlir::success();
    });
  }
  ~DiagnosticCapture() { context.getDiagEngine().eraseHandler(id); }

  /// The failure of a step: its error diagnostics, or `fallback` if it
  /// failed without emitting one.
  llvm::Error takeError(const llvm::Twine &fallback) {
    std::string message =
        errors.empty() ? fallback.str() : llvm::StringRef(errors).rtrim().str();
    errors.clear();
    return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
  }
  void appendWarningsTo(std::vector<std::string> &out) {
    out.insert(out.end(), warnings.begin(), warnings.end());
    warnings.clear();
  }

private:
  mlir::MLIRContext &context;
  std::string buffer;
  llvm::raw_string_ostream stream;
  DiagnosticFormatter formatter;
  mlir::DiagnosticEngine::HandlerID id;
  std::string errors;
  std::vector<std::string> warnings;
};

} // namespace

Module::Module(std::shared_ptr<State> state,
               mlir::OwningOpRef<mlir::ModuleOp> op)
    : state(std::move(state)), op(std::move(op)) {}
Module::Module(Module &&) noexcept = default;
Module &Module::operator=(Module &&) noexcept = default;
Module::~Module() = default;

llvm::Expected<Module>
Module::parseBuffer(std::unique_ptr<llvm::MemoryBuffer> buffer,
                    InputFormat format) {
  auto state = std::make_shared<State>();
  if (format == InputFormat::Auto)
    format = looksLikeHloProto(buffer->getBuffer()) ? InputFormat::HloProto
                                                    : InputFormat::HloText;
  DiagnosticCapture diagnostics(state->sourceMgr, state->context);
  mlir::OwningOpRef<mlir::ModuleOp> op;
  if (format == InputFormat::HloProto) {
    // Proto locations carry the buffer name only (line 0): there are no
    // source lines to quote, so the bytes need not outlive the import.
    op = importHloProto(buffer->getMemBufferRef(), &state->context);
  } else {
    state->sourceMgr.AddNewSourceBuffer(std::move(buffer), llvm::SMLoc());
    op = importHloText(state->sourceMgr, &state->context);
  }
  if (!op)
    return diagnostics.takeError("cannot import the module");
  Module module(std::move(state), std::move(op));
  diagnostics.appendWarningsTo(module.warnings);
  return std::move(module);
}

llvm::Expected<Module> Module::parse(llvm::StringRef bytes,
                                     llvm::StringRef bufferName,
                                     InputFormat format) {
  return parseBuffer(llvm::MemoryBuffer::getMemBufferCopy(bytes, bufferName),
                     format);
}

llvm::Expected<Module> Module::parseHloText(llvm::StringRef text,
                                            llvm::StringRef bufferName) {
  return parse(text, bufferName, InputFormat::HloText);
}

llvm::Expected<Module> Module::parseHloProto(llvm::StringRef bytes,
                                             llvm::StringRef bufferName) {
  return parse(bytes, bufferName, InputFormat::HloProto);
}

llvm::Expected<Module> Module::parseFile(llvm::StringRef path,
                                         InputFormat format) {
  // Read as bytes (no newline translation: the file may be a binary proto),
  // null-terminated like every buffer the text importer gets from the tools.
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buffer =
      llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                  /*RequiresNullTerminator=*/true);
  if (!buffer)
    return llvm::createStringError(buffer.getError(),
                                   "cannot read '" + path +
                                       "': " + buffer.getError().message());
  if (format == InputFormat::Auto && path.ends_with(".pb"))
    format = InputFormat::HloProto;
  return parseBuffer(std::move(*buffer), format);
}

Module Module::clone() const {
  mlir::ModuleOp original = op.get();
  Module copy(state, mlir::OwningOpRef<mlir::ModuleOp>(original.clone()));
  copy.warnings = warnings;
  return copy;
}

llvm::Error Module::propagate(const PropagationOptions &options) {
  DiagnosticCapture diagnostics(state->sourceMgr, state->context);
  mlir::LogicalResult result = propagateShardings(*op, options, nullptr);
  diagnostics.appendWarningsTo(warnings);
  if (mlir::failed(result))
    return diagnostics.takeError("sharding propagation failed");
  return llvm::Error::success();
}

llvm::Error Module::partition(const PartitionOptions &options,
                              std::vector<CollectiveRecord> *collectives) {
  DiagnosticCapture diagnostics(state->sourceMgr, state->context);
  mlir::LogicalResult result = partitionModule(*op, options, collectives);
  diagnostics.appendWarningsTo(warnings);
  if (mlir::failed(result))
    return diagnostics.takeError("SPMD partitioning failed");
  return llvm::Error::success();
}

llvm::Expected<std::string> Module::toHloText() const {
  DiagnosticCapture diagnostics(state->sourceMgr, state->context);
  std::string text;
  llvm::raw_string_ostream os(text);
  mlir::LogicalResult result = exportHloText(*op, os);
  diagnostics.appendWarningsTo(warnings);
  if (mlir::failed(result))
    return diagnostics.takeError("cannot print the module as HLO text");
  os.flush();
  return text;
}

llvm::Expected<std::string> Module::toHloProto() const {
  DiagnosticCapture diagnostics(state->sourceMgr, state->context);
  std::string bytes;
  // Header attributes XLA keeps outside the proto are warned about and not
  // written; that is expected here, not a failure.
  mlir::LogicalResult result = exportHloProto(*op, bytes);
  diagnostics.appendWarningsTo(warnings);
  if (mlir::failed(result))
    return diagnostics.takeError("cannot serialize the module as a proto");
  return bytes;
}

llvm::ArrayRef<std::string> Module::getWarnings() const { return warnings; }

mlir::ModuleOp Module::getOperation() const { return *op; }
