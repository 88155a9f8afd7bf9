//===- DifferentialCheck.cpp - Partitioned vs original, on real data ------===//
//
// Part of gshard, under the Apache License v2.0.
//
// The one implementation of `gshard-sim --check` and gshard::checkPartitioned:
// the original runs on one device, the partitioned program on every device
// with its shard of the same inputs, and the reassembled outputs are compared.
//
//===----------------------------------------------------------------------===//

#include "gshard/Sim/Check.h"
#include "gshard/Sim/Interpreter.h"

#include "llvm/ADT/STLExtras.h"

#include <chrono>

using namespace mlir;
using namespace gshard;
using namespace gshard::sim;

static hlo::ShardingAttr getRootSharding(const Executable &executable) {
  Value root = executable.getEntry().getRoot();
  if (Operation *def = root ? root.getDefiningOp() : nullptr)
    return def->getAttrOfType<hlo::ShardingAttr>("sharding");
  return nullptr;
}

/// Device counts: as given, else the modules' headers, else the devices the
/// shardings name.
static void resolveDeviceCounts(ModuleOp partitioned, ModuleOp original,
                                const DifferentialCheckOptions &options,
                                DifferentialCheckResult &result) {
  result.numPartitions = options.numPartitions;
  for (ModuleOp m : {partitioned, original})
    if (result.numPartitions <= 0)
      result.numPartitions = getHeaderInt(m, "num_partitions");
  if (result.numPartitions <= 0)
    result.numPartitions =
        std::max<int64_t>(1, std::max(getMaxShardingDevice(partitioned),
                                      getMaxShardingDevice(original)) +
                                 1);
  result.numReplicas = options.numReplicas > 0
                           ? options.numReplicas
                           : getHeaderInt(partitioned, "replica_count");
  if (result.numReplicas <= 0)
    result.numReplicas = 1;
}

FailureOr<DifferentialCheckResult> sim::runDifferentialCheck(
    const Executable &partitioned, const Executable &original,
    const DifferentialCheckOptions &options, std::string &error) {
  DifferentialCheckResult result;
  resolveDeviceCounts(partitioned.getModule(), original.getModule(), options,
                      result);
  int64_t P = result.numPartitions, R = result.numReplicas;
  ExecOptions exec;
  exec.numPartitions = P;
  exec.numReplicas = R;
  exec.seed = options.seed;
  exec.maxWhileIterations = options.maxWhileIterations;
  exec.maxValueBytes = options.maxValueBytes;

  hlo::ComputationOp origEntry = original.getEntry();
  hlo::ComputationOp partEntry = partitioned.getEntry();
  auto origParams = hlo::getParameters(origEntry);
  auto partParams = hlo::getParameters(partEntry);
  if (origParams.size() != partParams.size()) {
    error = "the original ENTRY takes " + std::to_string(origParams.size()) +
            " parameters, the partitioned one " +
            std::to_string(partParams.size());
    return failure();
  }
  std::vector<LiteralRef> inputs =
      options.inputs ? *options.inputs
                     : generateInputs(origEntry, options.seed);

  // The original on one device, unless its own semantics involve devices.
  LiteralRef expected;
  result.originalOnAllDevices = needsAllDevices(original.getModule());
  if (result.originalOnAllDevices) {
    std::vector<std::vector<LiteralRef>> args(P * R, inputs);
    std::vector<LiteralRef> results = original.run(args, exec, error);
    if (!results.empty())
      expected = results[0];
  } else {
    expected = original.runSingle(inputs, exec, error);
  }
  if (!expected) {
    error = "the original program failed: " + error;
    return failure();
  }

  // The partitioned program on every device, each parameter sharded by the
  // partitioned ENTRY's sharding (else the original's). Uneven shards are
  // padded with garbage so that missing masks show.
  std::vector<std::vector<LiteralRef>> args(P * R);
  for (auto [i, param] : llvm::enumerate(partParams)) {
    auto sharding = param->getAttrOfType<hlo::ShardingAttr>("sharding");
    if (!sharding && origParams[i])
      sharding = origParams[i]->getAttrOfType<hlo::ShardingAttr>("sharding");
    for (int64_t d = 0; d < P * R; ++d) {
      LiteralRef local =
          shardValue(inputs[i], sharding, param.getResult().getType(), d % P,
                     options.seed * 131 + i, error);
      if (!local) {
        error = formatError(param, "cannot shard parameter " + llvm::Twine(i) +
                                       ": " + error);
        return failure();
      }
      args[d].push_back(local);
    }
  }
  auto start = std::chrono::steady_clock::now();
  std::vector<LiteralRef> results = partitioned.run(args, exec, error);
  result.partitionedSeconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  if (results.empty()) {
    result.runError = error;
    return result;
  }

  // Reassemble replica 0's partitions by the ROOT sharding (partitioned,
  // else original) and compare.
  hlo::ShardingAttr outSharding = getRootSharding(partitioned);
  if (!outSharding)
    outSharding = getRootSharding(original);
  std::vector<LiteralRef> replica0(results.begin(), results.begin() + P);
  LiteralRef actual =
      unshardValue(replica0, outSharding, origEntry.getRoot().getType(), error);
  if (!actual) {
    error = "cannot reassemble the output: " + error;
    return failure();
  }
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
  return result;
}
