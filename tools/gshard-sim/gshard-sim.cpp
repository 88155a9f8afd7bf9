//===- gshard-sim.cpp - Run HLO programs on simulated devices -------------===//
//
// Part of gshard, under the Apache License v2.0.
//
//   gshard-sim PARTITIONED.hlo --check=ORIGINAL.hlo [--num-partitions=N]
//              [--seed=S | --inputs=FILE] [--rtol=R --atol=A] [--normwise]
//              [--report=text|json]
//   gshard-sim PROGRAM.hlo [--run] [--num-partitions=N]
//   gshard-sim PARTITIONED.hlo --mesh=PRESET|FILE.textproto
//              [--report=text|json] [--trace=OUT.json]   (cost model)
//
// With --mesh the static cost report follows (or, without --check/--run,
// replaces) the run's output; docs/cost-model.md.
//
// Exit status: 0 success / outputs match, 1 the check failed (outputs
// differ, or the partitioned program deadlocks or mis-matches collectives),
// 2 bad input or usage.
//
//===----------------------------------------------------------------------===//

#include "gshard/IR/HloOps.h"
#include "gshard/Import/HloTextImporter.h"
#include "gshard/Sim/Check.h"
#include "gshard/Sim/CostModel.h"
#include "gshard/Sim/Interpreter.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <optional>

using namespace mlir;
using namespace gshard;
using namespace gshard::sim;

namespace cl = llvm::cl;

static cl::OptionCategory simCategory("gshard-sim options");

static cl::opt<std::string> inputFile(cl::Positional, cl::desc("<program.hlo>"),
                                      cl::cat(simCategory));
static cl::opt<std::string>
    checkFile("check",
              cl::desc("Compare the program (partitioned, run on N devices) "
                       "against this original run on one device"),
              cl::value_desc("original.hlo"), cl::cat(simCategory));
static cl::opt<bool> runOnly("run",
                             cl::desc("Run the program on N devices and print "
                                      "its outputs (the default without "
                                      "--check)"),
                             cl::cat(simCategory));
static cl::opt<int64_t> numPartitions(
    "num-partitions",
    cl::desc("Number of partitions (default: the module's num_partitions, "
             "else the largest device in its shardings + 1)"),
    cl::init(0), cl::cat(simCategory));
static cl::opt<int64_t>
    numReplicas("num-replicas",
                cl::desc("Number of replicas (default: the module's "
                         "replica_count, else 1)"),
                cl::init(0), cl::cat(simCategory));
static cl::opt<uint64_t> seed("seed",
                              cl::desc("Seed of the random inputs and rng"),
                              cl::init(0), cl::cat(simCategory));
static cl::opt<double>
    rtolOpt("rtol",
            cl::desc("Relative float tolerance (default per type: f32 1e-5, "
                     "bf16 1e-2, f16 2e-3, f64 1e-12)"),
            cl::init(-1), cl::cat(simCategory));
static cl::opt<double>
    atolOpt("atol",
            cl::desc("Absolute float tolerance (default per type: f32 1e-5, "
                     "bf16 1e-2, f16 1e-3, f64 1e-12)"),
            cl::init(-1), cl::cat(simCategory));
static cl::opt<bool> normwise(
    "normwise",
    cl::desc("Compare float outputs normwise: |actual - expected| <= atol + "
             "rtol * (largest |expected| of the output), instead of each "
             "element's own magnitude (for sums whose terms cancel)"),
    cl::cat(simCategory));
static cl::opt<std::string> reportFormat("report",
                                         cl::desc("Report format: text|json"),
                                         cl::init("text"),
                                         cl::cat(simCategory));
static cl::opt<int64_t>
    maxWhileIterations("max-while-iterations",
                       cl::desc("Report while loops running longer than this"),
                       cl::init(10000000), cl::cat(simCategory));
static cl::opt<int64_t>
    maxValueMiB("max-value-mib",
                cl::desc("Reject programs with values larger than this "
                         "many MiB (default 3072: a run holds a few such "
                         "values at once)"),
                cl::init(3072), cl::cat(simCategory));
static cl::opt<std::string>
    meshSpec("mesh",
             cl::desc("Cost model: mesh preset (tpu-v3-2048, tpu-v3-N, "
                      "tpu-v4-N, 2x2, 2x4, 4x4, 8, ...) or mesh.proto "
                      "text file; prints the cost report"),
             cl::value_desc("preset|file.textproto"), cl::cat(simCategory));
static cl::opt<std::string>
    traceFile("trace",
              cl::desc("Cost model: write a Chrome/Perfetto trace (needs "
                       "--mesh)"),
              cl::value_desc("out.json"), cl::cat(simCategory));
static cl::opt<int64_t> defaultTripCount(
    "assumed-trip-count",
    cl::desc("Cost model: iterations assumed for while loops without "
             "known_trip_count"),
    cl::init(1), cl::cat(simCategory));
static cl::opt<bool> printMesh("print-mesh",
                               cl::desc("Print the --mesh as text proto"),
                               cl::cat(simCategory));
static cl::opt<std::string> inputsFile(
    "inputs",
    cl::desc("Values of the (original) ENTRY parameters instead of random "
             "ones: one 'NAME = SHAPE LITERAL' per parameter, e.g. "
             "'x = f32[2] {1, 2}' (docs/simulator.md)"),
    cl::value_desc("file"), cl::cat(simCategory));
static cl::list<std::string> opaqueCustomCalls(
    "opaque-custom-call",
    cl::desc("Run custom-calls to these targets (which have no semantics in "
             "the simulator) as opaque pure functions: results are random data "
             "drawn from a hash of the operands' bits, so --check proves each "
             "call gets the same operands as in the original"),
    cl::value_desc("target[,target...]"), cl::CommaSeparated,
    cl::cat(simCategory));
static cl::opt<int64_t> printLimit("print-limit",
                                   cl::desc("Elements printed per output"),
                                   cl::init(16), cl::cat(simCategory));

namespace {

constexpr int kExitMatch = 0, kExitMismatch = 1, kExitBadInput = 2;

struct LoadedModule {
  OwningOpRef<ModuleOp> module;
  std::unique_ptr<Executable> executable;
};

/// Imports and prepares a module; prints diagnostics and returns false on
/// failure.
bool load(StringRef path, MLIRContext &context, llvm::SourceMgr &sourceMgr,
          LoadedModule &loaded) {
  std::string errorMessage;
  auto buffer = llvm::MemoryBuffer::getFileOrSTDIN(path);
  if (!buffer) {
    llvm::errs() << "gshard-sim: error: cannot read '" << path
                 << "': " << buffer.getError().message() << "\n";
    return false;
  }
  sourceMgr.AddNewSourceBuffer(std::move(*buffer), llvm::SMLoc());
  loaded.module = importHloText(sourceMgr, &context);
  if (!loaded.module)
    return false;
  std::string error;
  loaded.executable = Executable::create(*loaded.module, error);
  if (!loaded.executable) {
    llvm::errs() << error << "\n";
    return false;
  }
  ExecOptions options;
  options.maxValueBytes = maxValueMiB << 20;
  options.opaqueCustomCalls.assign(opaqueCustomCalls.begin(),
                                   opaqueCustomCalls.end());
  if (!loaded.executable->checkExecutable(error, options)) {
    llvm::errs() << error << "\n";
    return false;
  }
  return true;
}

int64_t defaultPartitions(ModuleOp a, ModuleOp b) {
  if (numPartitions > 0)
    return numPartitions;
  for (ModuleOp m : {a, b})
    if (m)
      if (int64_t n = getHeaderInt(m, "num_partitions"); n > 0)
        return n;
  int64_t maxDevice = -1;
  for (ModuleOp m : {a, b})
    if (m)
      maxDevice = std::max(maxDevice, getMaxShardingDevice(m));
  return std::max<int64_t>(1, maxDevice + 1);
}

int64_t defaultReplicas(ModuleOp m) {
  if (numReplicas > 0)
    return numReplicas;
  if (int64_t n = getHeaderInt(m, "replica_count"); n > 0)
    return n;
  return 1;
}

void printValueSummary(llvm::raw_ostream &os, const Literal &value,
                       StringRef indent) {
  if (value.isTuple()) {
    for (size_t i = 0; i < value.getNumTupleElements(); ++i) {
      os << indent << "element " << i << ": ";
      const Literal &e = *value.getElements()[i];
      if (e.isTuple()) {
        os << "\n";
        printValueSummary(os, e, (indent + "  ").str());
      } else {
        e.print(os, printLimit);
        os << "\n";
      }
    }
    return;
  }
  os << indent;
  value.print(os, printLimit);
  os << "\n";
}

/// The ENTRY arguments: from --inputs if given, else random in --seed.
/// Prints `file:line:col: error:` and returns false on a bad inputs file.
bool makeInputs(hlo::ComputationOp entry, std::vector<LiteralRef> &inputs) {
  if (inputsFile.empty()) {
    inputs = generateInputs(entry, seed);
    return true;
  }
  llvm::SourceMgr sourceMgr;
  auto buffer = llvm::MemoryBuffer::getFileOrSTDIN(inputsFile);
  if (!buffer) {
    llvm::errs() << "gshard-sim: error: cannot read '" << inputsFile
                 << "': " << buffer.getError().message() << "\n";
    return false;
  }
  unsigned id = sourceMgr.AddNewSourceBuffer(std::move(*buffer), llvm::SMLoc());
  std::string error;
  if (!readInputs(sourceMgr, id, entry, inputs, error)) {
    llvm::errs() << error << "\n";
    return false;
  }
  return true;
}

int runProgram(MLIRContext &context) {
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler handler(sourceMgr, &context);
  LoadedModule program;
  if (!load(inputFile, context, sourceMgr, program))
    return kExitBadInput;
  ExecOptions options;
  options.numPartitions = defaultPartitions(*program.module, nullptr);
  options.numReplicas = defaultReplicas(*program.module);
  options.seed = seed;
  options.maxWhileIterations = maxWhileIterations;
  options.opaqueCustomCalls.assign(opaqueCustomCalls.begin(),
                                   opaqueCustomCalls.end());
  int64_t devices = options.numPartitions * options.numReplicas;
  std::vector<LiteralRef> inputs;
  if (!makeInputs(program.executable->getEntry(), inputs))
    return kExitBadInput;
  std::vector<std::vector<LiteralRef>> args(devices, inputs);
  std::string error;
  auto start = std::chrono::steady_clock::now();
  std::vector<LiteralRef> results =
      program.executable->run(args, options, error);
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  if (results.empty()) {
    llvm::errs() << error << "\n";
    return kExitMismatch;
  }
  if (reportFormat == "json") {
    llvm::json::OStream json(llvm::outs(), 2);
    json.object([&] {
      json.attribute("status", "ok");
      json.attribute("num_partitions", options.numPartitions);
      json.attribute("num_replicas", options.numReplicas);
      json.attribute("seconds", seconds);
      json.attributeArray("devices", [&] {
        for (int64_t d = 0; d < devices; ++d) {
          std::string text;
          llvm::raw_string_ostream os(text);
          results[d]->print(os, printLimit);
          json.value(os.str());
        }
      });
    });
    llvm::outs() << "\n";
    return kExitMatch;
  }
  llvm::outs() << "ran " << inputFile << " on " << devices << " device"
               << (devices == 1 ? "" : "s") << " (" << options.numReplicas
               << " replica(s) x " << options.numPartitions
               << " partition(s)), seed " << seed << ", "
               << llvm::format("%.3f", seconds) << " s\n";
  bool allSame = true;
  for (int64_t d = 1; d < devices; ++d) {
    auto diff = compareValues(*results[0], *results[d], 0.0, 0.0);
    for (const LeafComparison &leaf : diff)
      allSame &= leaf.match;
  }
  if (allSame) {
    llvm::outs() << (devices > 1 ? "all devices computed the same outputs:\n"
                                 : "outputs:\n");
    printValueSummary(llvm::outs(), *results[0], "  ");
    return kExitMatch;
  }
  for (int64_t d = 0; d < devices; ++d) {
    llvm::outs() << "device " << d << ":\n";
    printValueSummary(llvm::outs(), *results[d], "  ");
  }
  return kExitMatch;
}

int runCheck(MLIRContext &context) {
  llvm::SourceMgr partitionedMgr, originalMgr;
  LoadedModule partitioned, original;
  {
    SourceMgrDiagnosticHandler handler(partitionedMgr, &context);
    if (!load(inputFile, context, partitionedMgr, partitioned))
      return kExitBadInput;
  }
  {
    SourceMgrDiagnosticHandler handler(originalMgr, &context);
    if (!load(checkFile, context, originalMgr, original))
      return kExitBadInput;
  }
  DifferentialCheckOptions options;
  options.numPartitions = numPartitions;
  options.numReplicas = numReplicas;
  options.seed = seed;
  options.maxWhileIterations = maxWhileIterations;
  options.maxValueBytes = maxValueMiB << 20;
  options.opaqueCustomCalls.assign(opaqueCustomCalls.begin(),
                                   opaqueCustomCalls.end());
  options.normwise = normwise;
  if (rtolOpt >= 0)
    options.rtol = rtolOpt;
  if (atolOpt >= 0)
    options.atol = atolOpt;
  if (!inputsFile.empty()) {
    options.inputs.emplace();
    if (!makeInputs(original.executable->getEntry(), *options.inputs))
      return kExitBadInput;
  }
  std::string error;
  FailureOr<DifferentialCheckResult> check = runDifferentialCheck(
      *partitioned.executable, *original.executable, options, error);
  if (failed(check)) {
    // Errors from the interpreter already carry `file:line:col: error:`.
    if (!StringRef(error).contains("error: "))
      llvm::errs() << "gshard-sim: error: ";
    llvm::errs() << error << "\n";
    return kExitBadInput;
  }
  int64_t P = check->numPartitions, R = check->numReplicas;
  bool json = reportFormat == "json";
  if (!check->runError.empty()) {
    if (json) {
      llvm::json::OStream os(llvm::outs(), 2);
      os.object([&] {
        os.attribute("status", "error");
        os.attribute("error", check->runError);
      });
      llvm::outs() << "\n";
    }
    llvm::errs() << check->runError << "\n"
                 << "gshard-sim: check FAILED: the partitioned program did "
                    "not run to completion\n";
    return kExitMismatch;
  }
  const std::vector<LeafComparison> &leaves = check->outputs;
  double seconds = check->partitionedSeconds;
  bool origOnAll = check->originalOnAllDevices;
  bool match = check->match;

  if (json) {
    llvm::json::OStream os(llvm::outs(), 2);
    os.object([&] {
      os.attribute("status", match ? "match" : "mismatch");
      os.attribute("num_partitions", P);
      os.attribute("num_replicas", R);
      os.attribute("seed", static_cast<int64_t>(seed));
      os.attribute("seconds", seconds);
      os.attributeArray("outputs", [&] {
        for (const LeafComparison &leaf : leaves) {
          os.object([&] {
            os.attribute("output", leaf.path);
            os.attribute("shape", leaf.shape);
            os.attribute("match", leaf.match);
            os.attribute("elements", leaf.numElements);
            os.attribute("mismatches", leaf.numMismatches);
            os.attribute("max_abs_error", leaf.maxAbsError);
            os.attribute("max_rel_error", leaf.maxRelError);
            if (!leaf.exact) {
              os.attribute("rtol", leaf.tolerance.rtol);
              os.attribute("atol", leaf.tolerance.atol);
              if (leaf.normwise)
                os.attribute("normwise", true);
            }
            if (leaf.perDevice) {
              os.attribute(leaf.perManualGroup ? "per_manual_group"
                                               : "per_device",
                           true);
              if (leaf.device >= 0)
                os.attribute("device", leaf.device);
            }
            if (!leaf.note.empty())
              os.attribute("note", leaf.note);
            if (leaf.numMismatches) {
              os.attributeArray("first_index", [&] {
                for (int64_t i : leaf.firstIndex)
                  os.value(i);
              });
              os.attribute("expected", leaf.expected);
              os.attribute("actual", leaf.actual);
            }
          });
        }
      });
    });
    llvm::outs() << "\n";
    return match ? kExitMatch : kExitMismatch;
  }

  llvm::raw_ostream &os = match ? llvm::outs() : llvm::errs();
  for (const LeafComparison &leaf : leaves) {
    os << "output " << leaf.path << " " << leaf.shape << ": ";
    if (!leaf.note.empty()) {
      os << "MISMATCH: " << leaf.note << "\n";
      continue;
    }
    if (leaf.match) {
      os << "match";
      if (leaf.perManualGroup)
        os << " in each manual group (manual subgroup)";
      else if (leaf.perDevice)
        os << " on each of " << P * R << " devices (manual)";
      if (!leaf.exact)
        os << " (max abs error " << llvm::format("%.3g", leaf.maxAbsError)
           << ", max rel error " << llvm::format("%.3g", leaf.maxRelError)
           << (leaf.normwise ? ", normwise" : "") << ")";
      os << "\n";
      continue;
    }
    os << "MISMATCH";
    if (leaf.perManualGroup)
      os << " in the manual group of device " << leaf.device
         << " (manual subgroup, compared per group)";
    else if (leaf.perDevice)
      os << " on device " << leaf.device
         << " (manual output, compared per device)";
    os << ": " << leaf.numMismatches << " of " << leaf.numElements
       << " elements differ"
       << (leaf.perManualGroup ? " over all groups"
           : leaf.perDevice    ? " over all devices"
                               : "")
       << "; first at [";
    llvm::interleaveComma(leaf.firstIndex, os);
    os << "]: expected " << leaf.expected << ", got " << leaf.actual
       << "; max abs error " << llvm::format("%.6g", leaf.maxAbsError);
    if (!leaf.exact)
      os << " (rtol " << llvm::format("%g", leaf.tolerance.rtol) << ", atol "
         << llvm::format("%g", leaf.tolerance.atol)
         << (leaf.normwise ? ", normwise" : "") << ")";
    os << "\n";
  }
  os << "gshard-sim: check " << (match ? "passed" : "FAILED") << ": "
     << inputFile << " on " << P * R << " device" << (P * R == 1 ? "" : "s")
     << " vs " << checkFile << (origOnAll ? " (on all devices)" : "")
     << ", seed " << seed << "\n";
  return match ? kExitMatch : kExitMismatch;
}

/// The static cost report of the input on --mesh (no execution).
int runCost(MLIRContext &context) {
  Mesh mesh;
  std::string error;
  if (!loadMesh(meshSpec, mesh, error)) {
    llvm::errs() << (StringRef(error).starts_with("error:") ? "gshard-sim: "
                                                            : "")
                 << error << "\n";
    return kExitBadInput;
  }
  if (printMesh) {
    llvm::outs() << mesh.toTextProto();
    if (inputFile.empty())
      return kExitMatch;
  }
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler handler(sourceMgr, &context);
  auto buffer = llvm::MemoryBuffer::getFileOrSTDIN(inputFile);
  if (!buffer) {
    llvm::errs() << "gshard-sim: error: cannot read '" << inputFile
                 << "': " << buffer.getError().message() << "\n";
    return kExitBadInput;
  }
  sourceMgr.AddNewSourceBuffer(std::move(*buffer), llvm::SMLoc());
  OwningOpRef<ModuleOp> module = importHloText(sourceMgr, &context);
  if (!module)
    return kExitBadInput;
  CostOptions options;
  options.numPartitions = numPartitions > 0
                              ? numPartitions
                              : getHeaderInt(*module, "num_partitions");
  options.numReplicas =
      numReplicas > 0 ? numReplicas : getHeaderInt(*module, "replica_count");
  options.defaultTripCount = defaultTripCount;
  CostReport report;
  if (!analyzeCost(*module, mesh, options, report, error)) {
    llvm::errs() << inputFile << ": " << error << "\n";
    return kExitBadInput;
  }
  if (reportFormat == "json")
    printCostReportJson(report, llvm::outs());
  else
    printCostReportText(report, llvm::outs());
  if (!traceFile.empty()) {
    std::error_code ec;
    llvm::ToolOutputFile out(traceFile, ec, llvm::sys::fs::OF_Text);
    if (ec) {
      llvm::errs() << "gshard-sim: error: cannot write '" << traceFile
                   << "': " << ec.message() << "\n";
      return kExitBadInput;
    }
    printCostTrace(report, out.os());
    out.keep();
  }
  return kExitMatch;
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(simCategory);
  cl::ParseCommandLineOptions(
      argc, argv,
      "gshard-sim: run HLO programs on simulated devices\n\n"
      "  gshard-sim PARTITIONED.hlo --check=ORIGINAL.hlo  compare on random "
      "inputs\n"
      "  gshard-sim PROGRAM.hlo [--run]                    run and print "
      "outputs\n"
      "  gshard-sim PARTITIONED.hlo --mesh=PRESET|FILE     cost report "
      "(--report=text|json, --trace=OUT.json)\n\n"
      "Exit status: 0 success/match, 1 check failed, 2 bad input or usage.\n");
  if (inputFile.empty() && !(printMesh && !meshSpec.empty())) {
    llvm::errs() << "gshard-sim: error: no input file (see --help)\n";
    return kExitBadInput;
  }
  if (reportFormat != "text" && reportFormat != "json") {
    llvm::errs() << "gshard-sim: error: --report must be text or json\n";
    return kExitBadInput;
  }
  if (numPartitions < 0 || numReplicas < 0 || numPartitions > 4096 ||
      numReplicas > 4096) {
    llvm::errs() << "gshard-sim: error: device counts must be in [1, 4096]\n";
    return kExitBadInput;
  }
  if (runOnly && !checkFile.empty()) {
    llvm::errs() << "gshard-sim: error: --run and --check are exclusive\n";
    return kExitBadInput;
  }
  if (!traceFile.empty() && meshSpec.empty()) {
    llvm::errs() << "gshard-sim: error: --trace needs --mesh\n";
    return kExitBadInput;
  }
  if (defaultTripCount < 0) {
    llvm::errs() << "gshard-sim: error: --assumed-trip-count must be >= 0\n";
    return kExitBadInput;
  }
  MLIRContext context;
  context.loadDialect<hlo::HloDialect>();
  if (!meshSpec.empty() && checkFile.empty() && !runOnly)
    return runCost(context);
  int status = checkFile.empty() ? runProgram(context) : runCheck(context);
  if (meshSpec.empty() || status == kExitBadInput)
    return status;
  int costStatus = runCost(context);
  return costStatus == kExitMatch ? status : costStatus;
}
