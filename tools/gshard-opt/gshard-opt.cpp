//===- gshard-opt.cpp - The gshard compiler driver ------------------------===//
//
// Reads an HLO text module (or hlo-dialect MLIR), verifies it, runs the
// requested passes and prints the result as HLO text or MLIR.
//
// `--propagate` runs sharding propagation with its default options (SPMD);
// other options go through `--pass-pipeline='builtin.module(gshard-propagate{
// is-spmd=false})'`. `--explain=NAME` (implies `--propagate`) prints, on
// stderr, the chain of instructions NAME's sharding came from.
//
// Exit status: 0 success, 2 bad input, bad usage or a failing pass.
//
//===----------------------------------------------------------------------===//

#include "gshard/Export/HloProtoExporter.h"
#include "gshard/Export/HloTextExporter.h"
#include "gshard/Import/HloProtoImporter.h"
#include "gshard/Import/HloTextImporter.h"
#include "gshard/InitAll.h"
#include "gshard/Partitioner/Partitioner.h"
#include "gshard/Propagation/Propagation.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"

using namespace mlir;

namespace {
enum class EmitKind { Hlo, Mlir, Proto };
enum class InputKind { Auto, Hlo, Mlir, Proto };

constexpr int kExitBadInput = 2;

llvm::cl::OptionCategory toolCategory("gshard-opt options");

llvm::cl::opt<std::string>
    inputFilename(llvm::cl::Positional,
                  llvm::cl::desc("<input .hlo/.mlir/.pb>"), llvm::cl::init("-"),
                  llvm::cl::cat(toolCategory));

llvm::cl::opt<std::string> outputFilename("o",
                                          llvm::cl::desc("Output filename"),
                                          llvm::cl::value_desc("filename"),
                                          llvm::cl::init("-"),
                                          llvm::cl::cat(toolCategory));

llvm::cl::opt<EmitKind> emitKind(
    "emit", llvm::cl::desc("Output form"), llvm::cl::init(EmitKind::Hlo),
    llvm::cl::values(
        clEnumValN(EmitKind::Hlo, "hlo", "XLA HLO text (default)"),
        clEnumValN(EmitKind::Mlir, "mlir", "MLIR assembly of the hlo dialect"),
        clEnumValN(EmitKind::Proto, "proto", "binary xla.HloModuleProto")),
    llvm::cl::cat(toolCategory));

llvm::cl::opt<InputKind> inputKind(
    "input-format", llvm::cl::desc("Input form"),
    llvm::cl::init(InputKind::Auto),
    llvm::cl::values(
        clEnumValN(InputKind::Auto, "auto",
                   "by extension: .mlir is MLIR, .pb binary HloModuleProto "
                   "or HloProto, anything else HLO text"),
        clEnumValN(InputKind::Hlo, "hlo", "XLA HLO text"),
        clEnumValN(InputKind::Mlir, "mlir", "MLIR assembly"),
        clEnumValN(InputKind::Proto, "proto",
                   "binary xla.HloModuleProto or xla.HloProto")),
    llvm::cl::cat(toolCategory));

llvm::cl::opt<bool>
    partition("partition",
              llvm::cl::desc("Run SPMD partitioning (gshard-partition)"),
              llvm::cl::init(false), llvm::cl::cat(toolCategory));

llvm::cl::opt<int64_t> numPartitions(
    "num-partitions",
    llvm::cl::desc("Partitions for --partition (default: the module's "
                   "num_partitions)"),
    llvm::cl::init(0), llvm::cl::cat(toolCategory));

llvm::cl::opt<int64_t> windowedEinsumThresholdMiB(
    "windowed-einsum-threshold-mib",
    llvm::cl::desc("With --partition: stream a dot operand around a ring of "
                   "collective-permutes in a loop (windowed einsum) instead of "
                   "all-gathering it when the gathered operand exceeds this "
                   "many MiB per device (negative: never)"),
    llvm::cl::init(256), llvm::cl::cat(toolCategory));

llvm::cl::opt<bool> explainCollectives(
    "explain-collectives",
    llvm::cl::desc("With --partition: list every inserted collective, why, "
                   "and its bytes per device (on stderr)"),
    llvm::cl::init(false), llvm::cl::cat(toolCategory));

llvm::cl::opt<bool> propagate(
    "propagate",
    llvm::cl::desc("Run sharding propagation (gshard-propagate, default "
                   "options) after the --pass-pipeline passes"),
    llvm::cl::init(false), llvm::cl::cat(toolCategory));

llvm::cl::opt<std::string> explain(
    "explain",
    llvm::cl::desc("Print on stderr where NAME's sharding came from (implies "
                   "--propagate)"),
    llvm::cl::value_desc("NAME"), llvm::cl::init(""),
    llvm::cl::cat(toolCategory));

OwningOpRef<ModuleOp> parseInput(llvm::SourceMgr &sourceMgr,
                                 MLIRContext &context) {
  bool isMlir = inputKind == InputKind::Mlir ||
                (inputKind == InputKind::Auto &&
                 llvm::StringRef(inputFilename).ends_with(".mlir"));
  if (inputKind == InputKind::Proto ||
      (inputKind == InputKind::Auto &&
       llvm::StringRef(inputFilename).ends_with(".pb")))
    return gshard::importHloProto(
        *sourceMgr.getMemoryBuffer(sourceMgr.getMainFileID()), &context);
  if (!isMlir)
    return gshard::importHloText(sourceMgr, &context);
  OwningOpRef<ModuleOp> module =
      parseSourceFile<ModuleOp>(sourceMgr, ParserConfig(&context));
  if (module && failed(verify(*module)))
    return nullptr;
  return module;
}
} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);
  gshard::registerAllPasses();
  registerAsmPrinterCLOptions();
  registerMLIRContextCLOptions();
  registerPassManagerCLOptions();
  PassPipelineCLParser passPipeline("", "Passes to run");
  llvm::cl::HideUnrelatedOptions({&toolCategory, &llvm::getColorCategory()});
  if (!llvm::cl::ParseCommandLineOptions(
          argc, argv,
          "gshard-opt: parse, verify, transform and print HLO modules\n\n"
          "  MLIR's pass-manager and printing options (--pass-pipeline=...,\n"
          "  --mlir-print-ir-after-all, --mlir-print-debuginfo, ...) also\n"
          "  work; --help-hidden lists them.\n",
          &llvm::errs()))
    return kExitBadInput;

  DialectRegistry registry;
  gshard::registerAllDialects(registry);
  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  // Diagnostics name the instruction by file:line:col; a dump of the op in
  // generic MLIR form would only repeat it less readably.
  context.printOpOnDiagnostic(false);

  // The importer's bound on num_partitions: the partitioned module would
  // not import again, and per-device tables would not fit in memory.
  if (numPartitions < 0 || numPartitions > (int64_t(1) << 24)) {
    llvm::errs() << "gshard-opt: error: --num-partitions must be between 1 "
                    "and 16777216, not "
                 << numPartitions << "\n";
    return kExitBadInput;
  }

  std::string errorMessage;
  std::unique_ptr<llvm::MemoryBuffer> input =
      openInputFile(inputFilename, &errorMessage);
  if (!input) {
    llvm::errs() << "gshard-opt: error: " << errorMessage << "\n";
    return kExitBadInput;
  }
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(std::move(input), SMLoc());
  SourceMgrDiagnosticHandler diagnostics(sourceMgr, &context);

  OwningOpRef<ModuleOp> module = parseInput(sourceMgr, context);
  if (!module)
    return kExitBadInput;
  // The text importer checks this itself; protos and MLIR come here
  // unchecked, and a recursive module would hang propagation/partitioning.
  if (failed(gshard::verifyAcyclicCallGraph(*module)))
    return kExitBadInput;

  PassManager pm(&context, ModuleOp::getOperationName());
  if (failed(applyPassManagerCLOptions(pm)))
    return kExitBadInput;
  auto reportPipelineError = [&](const llvm::Twine &message) {
    return emitError(UnknownLoc::get(&context)) << message;
  };
  if (failed(passPipeline.addToPipeline(pm, reportPipelineError)))
    return kExitBadInput;
  if (failed(pm.run(*module)))
    return kExitBadInput;
  if (propagate || !explain.empty()) {
    gshard::ShardingExplanations explanations;
    if (failed(gshard::propagateShardings(*module, {}, &explanations)))
      return kExitBadInput;
    if (!explain.empty() &&
        failed(gshard::explainSharding(*module, explanations, explain,
                                       llvm::errs()))) {
      llvm::errs() << "gshard-opt: error: --explain: no instruction named '"
                   << explain << "' in " << inputFilename << "\n";
      return kExitBadInput;
    }
  }
  if (partition) {
    // Propagate first unless every ENTRY instruction already has a sharding.
    bool fullySharded = true;
    for (auto computation : module->getOps<gshard::hlo::ComputationOp>())
      if (computation.getIsEntry())
        for (Operation &op : computation.getBody().front().without_terminator())
          fullySharded &= op.hasAttr("sharding");
    if (!fullySharded &&
        failed(gshard::propagateShardings(*module, {}, nullptr)))
      return kExitBadInput;
    gshard::PartitionOptions options;
    options.numPartitions = numPartitions;
    options.windowedEinsumThresholdMiB = windowedEinsumThresholdMiB;
    std::vector<gshard::CollectiveRecord> records;
    if (failed(gshard::partitionModule(*module, options, &records)))
      return kExitBadInput;
    if (explainCollectives)
      gshard::printCollectiveRecords(records, llvm::errs());
  }

  std::unique_ptr<llvm::ToolOutputFile> output =
      openOutputFile(outputFilename, &errorMessage);
  if (!output) {
    llvm::errs() << "gshard-opt: error: " << errorMessage << "\n";
    return kExitBadInput;
  }
  if (emitKind == EmitKind::Mlir) {
    module->print(output->os());
    output->os() << "\n";
  } else if (emitKind == EmitKind::Proto) {
    if (failed(gshard::exportHloProto(*module, output->os())))
      return kExitBadInput;
  } else if (failed(gshard::exportHloText(*module, output->os()))) {
    return kExitBadInput;
  }
  output->keep();
  return 0;
}
