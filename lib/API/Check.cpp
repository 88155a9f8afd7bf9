//===- Check.cpp - gshard::checkPartitioned -------------------------------===//
//
// The differential check of the embedding API: the steps of
// `gshard-sim PARTITIONED --check=ORIGINAL` (docs/simulator.md) on two
// in-memory modules, built from the simulator library's pieces (random
// inputs, shardValue, unshardValue, compareValues), returning the per-output
// comparison instead of printing it.
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
  if (!executable || !executable->checkExecutable(error, options.maxValueBytes))
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

static hlo::ShardingAttr getRootSharding(const Executable &executable) {
  mlir::Value root = executable.getEntry().getRoot();
  if (mlir::Operation *def = root ? root.getDefiningOp() : nullptr)
    return def->getAttrOfType<hlo::ShardingAttr>("sharding");
  return nullptr;
}

llvm::Expected<CheckResult>
gshard::checkPartitioned(const Module &partitioned, const Module &original,
                         const CheckOptions &options) {
  mlir::ModuleOp partModule = partitioned.getOperation();
  mlir::OwningOpRef<mlir::ModuleOp> origCopy;
  llvm::Expected<mlir::ModuleOp> origInContext =
      inContext(original, partModule->getContext(), origCopy);
  if (!origInContext)
    return origInContext.takeError();
  mlir::ModuleOp origModule = *origInContext;
  if (options.numPartitions < 0 || options.numReplicas < 0 ||
      options.numPartitions > 4096 || options.numReplicas > 4096)
    return makeError("device counts must be in [1, 4096]");
  auto partExe = prepare(partModule, options, "partitioned");
  if (!partExe)
    return partExe.takeError();
  auto origExe = prepare(origModule, options, "original");
  if (!origExe)
    return origExe.takeError();

  // Device counts: as given, else the modules' headers, else the devices
  // the shardings name.
  CheckResult result;
  result.numPartitions = options.numPartitions;
  for (mlir::ModuleOp m : {partModule, origModule})
    if (result.numPartitions <= 0)
      result.numPartitions = getHeaderInt(m, "num_partitions");
  if (result.numPartitions <= 0)
    result.numPartitions =
        std::max<int64_t>(1, std::max(getMaxShardingDevice(partModule),
                                      getMaxShardingDevice(origModule)) +
                                 1);
  result.numReplicas = options.numReplicas > 0
                           ? options.numReplicas
                           : getHeaderInt(partModule, "replica_count");
  if (result.numReplicas <= 0)
    result.numReplicas = 1;
  int64_t P = result.numPartitions, R = result.numReplicas;
  ExecOptions exec;
  exec.numPartitions = P;
  exec.numReplicas = R;
  exec.seed = options.seed;
  exec.maxWhileIterations = options.maxWhileIterations;
  exec.maxValueBytes = options.maxValueBytes;

  hlo::ComputationOp origEntry = (*origExe)->getEntry();
  hlo::ComputationOp partEntry = (*partExe)->getEntry();
  auto origParams = hlo::getParameters(origEntry);
  auto partParams = hlo::getParameters(partEntry);
  if (origParams.size() != partParams.size())
    return makeError(
        "the original ENTRY takes " + llvm::Twine(origParams.size()) +
        " parameters, the partitioned one " + llvm::Twine(partParams.size()));
  std::vector<LiteralRef> inputs = generateInputs(origEntry, options.seed);

  // The original on one device, unless its own semantics involve devices.
  std::string error;
  LiteralRef expected;
  if (needsAllDevices(origModule)) {
    std::vector<std::vector<LiteralRef>> args(P * R, inputs);
    std::vector<LiteralRef> results = (*origExe)->run(args, exec, error);
    if (!results.empty())
      expected = results[0];
  } else {
    expected = (*origExe)->runSingle(inputs, exec, error);
  }
  if (!expected)
    return makeError("the original program failed: " + error);

  // The partitioned program on every device, each parameter sharded by the
  // partitioned ENTRY's sharding (else the original's).
  std::vector<std::vector<LiteralRef>> args(P * R);
  for (auto [i, param] : llvm::enumerate(partParams)) {
    auto sharding = param->getAttrOfType<hlo::ShardingAttr>("sharding");
    if (!sharding)
      sharding = origParams[i]->getAttrOfType<hlo::ShardingAttr>("sharding");
    for (int64_t d = 0; d < P * R; ++d) {
      LiteralRef local =
          shardValue(inputs[i], sharding, param.getResult().getType(), d % P,
                     options.seed * 131 + i, error);
      if (!local)
        return makeError(formatError(param, "cannot shard parameter " +
                                                llvm::Twine(i) + ": " + error));
      args[d].push_back(local);
    }
  }
  std::vector<LiteralRef> results = (*partExe)->run(args, exec, error);
  if (results.empty()) {
    result.runError = error;
    return std::move(result);
  }

  // Reassemble replica 0's partitions by the ROOT sharding (partitioned,
  // else original) and compare.
  hlo::ShardingAttr outSharding = getRootSharding(**partExe);
  if (!outSharding)
    outSharding = getRootSharding(**origExe);
  std::vector<LiteralRef> replica0(results.begin(), results.begin() + P);
  LiteralRef actual =
      unshardValue(replica0, outSharding, origEntry.getRoot().getType(), error);
  if (!actual)
    return makeError("cannot reassemble the output: " + error);
  result.outputs =
      compareValues(*expected, *actual, options.rtol, options.atol);
  // Replicated outputs must agree across devices too.
  if (!outSharding || outSharding.isReplicated()) {
    for (int64_t d = 1; d < P * R; ++d) {
      std::vector<LeafComparison> diff =
          compareValues(*results[0], *results[d], options.rtol, options.atol);
      for (size_t k = 0; k < diff.size() && k < result.outputs.size(); ++k)
        if (!diff[k].match && result.outputs[k].match) {
          result.outputs[k].match = false;
          result.outputs[k].note =
              "replicated output differs between device 0 and device " +
              std::to_string(d);
        }
    }
  }
  result.match = llvm::all_of(
      result.outputs, [](const LeafComparison &leaf) { return leaf.match; });
  return std::move(result);
}
