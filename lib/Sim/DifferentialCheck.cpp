//===- DifferentialCheck.cpp - Partitioned vs original, on real data ------===//
//
// Part of gshard, under the Apache License v2.0.
//
// The one implementation of `gshard-sim --check` and gshard::checkPartitioned:
// the original runs on one device, the partitioned program on every device
// with its shard of the same inputs, and the reassembled outputs are compared.
// Manual outputs are each device's own value: the original (an SPMD program
// in its manual parts) then runs on every device too, and device d's output
// is compared with device d's.
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

/// Whether a leaf of `sharding` is fully manual (a non-tuple sharding covers
/// every leaf of a tuple value).
static bool hasManualLeaf(hlo::ShardingAttr sharding) {
  if (!sharding)
    return false;
  if (sharding.isTuple())
    return llvm::any_of(sharding.getTupleElements(), hasManualLeaf);
  return sharding.isManual();
}

/// `shared` with every leaf that `sharding` makes manual taken from `own`
/// (a device's own value of the same type).
static LiteralRef takeManualLeaves(const LiteralRef &shared,
                                   const LiteralRef &own,
                                   hlo::ShardingAttr sharding) {
  if (!sharding || !shared || !own)
    return shared;
  if (shared->isTuple()) {
    std::vector<LiteralRef> elements;
    for (auto [i, element] : llvm::enumerate(shared->getElements())) {
      hlo::ShardingAttr sub = sharding;
      if (sharding.isTuple())
        sub = i < sharding.getTupleElements().size()
                  ? sharding.getTupleElements()[i]
                  : nullptr;
      elements.push_back(takeManualLeaves(element, own->getElements()[i], sub));
    }
    return Literal::makeTuple(elements);
  }
  if (sharding.isTuple())
    sharding = sharding.getTupleElements().empty()
                   ? nullptr
                   : sharding.getTupleElements()[0];
  return sharding && sharding.isManual() ? own : shared;
}

/// The leaf at `path` (LeafComparison::path: "0" for a non-tuple root, "1.0"
/// for element 0 of tuple element 1) of one device's output, or null.
static const Literal *getLeaf(const LiteralRef &root, StringRef path) {
  const Literal *value = root.get();
  if (!value || !value->isTuple())
    return value;
  llvm::SmallVector<StringRef> indices;
  path.split(indices, '.');
  for (StringRef index : indices) {
    size_t i;
    if (!value->isTuple() || index.getAsInteger(10, i) ||
        i >= value->getNumTupleElements())
      return nullptr;
    value = value->getElements()[i].get();
  }
  return value;
}

/// A manual output leaf compared device by device: `expected[d]` is the
/// original's output on device d, `actual[d]` the partitioned program's.
static LeafComparison
comparePerDevice(ArrayRef<LiteralRef> expected, ArrayRef<LiteralRef> actual,
                 StringRef path, const DifferentialCheckOptions &options) {
  LeafComparison total;
  total.path = path.str();
  total.perDevice = true;
  for (size_t d = 0; d < expected.size() && d < actual.size(); ++d) {
    const Literal *e = getLeaf(expected[d], path);
    const Literal *a = getLeaf(actual[d], path);
    if (!e || !a) {
      total.match = false;
      total.device = d;
      total.note =
          "device " + std::to_string(d) + "'s output has no leaf " + path.str();
      return total;
    }
    std::vector<LeafComparison> leaves =
        compareValues(*e, *a, options.rtol, options.atol);
    if (leaves.empty())
      continue; // a token
    const LeafComparison &leaf = leaves.front();
    if (d == 0) {
      total.shape = leaf.shape;
      total.exact = leaf.exact;
      total.tolerance = leaf.tolerance;
    }
    total.numElements += leaf.numElements;
    total.numMismatches += leaf.numMismatches;
    total.maxAbsError = std::max(total.maxAbsError, leaf.maxAbsError);
    total.maxRelError = std::max(total.maxRelError, leaf.maxRelError);
    if (!leaf.match && total.device < 0) {
      total.device = d;
      total.firstIndex = leaf.firstIndex;
      total.expected = leaf.expected;
      total.actual = leaf.actual;
      if (!leaf.note.empty())
        total.note = "on device " + std::to_string(d) + ": " + leaf.note;
    }
  }
  total.match = total.device < 0;
  return total;
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
  hlo::ShardingAttr outSharding = getRootSharding(partitioned);
  if (!outSharding)
    outSharding = getRootSharding(original);

  // Each device's inputs: the same values, except that a manual parameter
  // (leaf) holds each device's own random value (one value everywhere when
  // the inputs are given).
  auto paramSharding = [&](size_t i) {
    hlo::ShardingAttr sharding;
    for (hlo::ParameterOp param : {origParams[i], partParams[i]})
      if (!sharding && param)
        sharding = param->getAttrOfType<hlo::ShardingAttr>("sharding");
    return sharding;
  };
  std::vector<std::vector<LiteralRef>> deviceInputs(P * R, inputs);
  bool manualParams = false;
  for (size_t i = 0; i < origParams.size(); ++i) {
    if (!hasManualLeaf(paramSharding(i)))
      continue;
    manualParams = true;
    if (options.inputs || !origParams[i] || !inputs[i])
      continue;
    for (int64_t d = 1; d < P * R; ++d)
      deviceInputs[d][i] = takeManualLeaves(
          inputs[i], generateInput(origParams[i], options.seed, d),
          paramSharding(i));
  }

  // The original on one device, unless its own semantics involve devices:
  // collectives, SPMD custom-calls, manual parameters or outputs.
  LiteralRef expected;
  std::vector<LiteralRef> expectedPerDevice;
  result.originalOnAllDevices = needsAllDevices(original.getModule()) ||
                                manualParams || hasManualLeaf(outSharding);
  if (result.originalOnAllDevices) {
    expectedPerDevice = original.run(deviceInputs, exec, error);
    if (!expectedPerDevice.empty())
      expected = expectedPerDevice[0];
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
          shardValue(deviceInputs[d][i], sharding, param.getResult().getType(),
                     d % P, options.seed * 131 + i, error);
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
  // else original) and compare; manual leaves device by device.
  std::vector<LiteralRef> replica0(results.begin(), results.begin() + P);
  std::vector<std::string> manualPaths;
  LiteralRef actual =
      unshardValue(replica0, outSharding, origEntry.getRoot().getType(), error,
                   &manualPaths);
  if (!actual) {
    error = "cannot reassemble the output: " + error;
    return failure();
  }
  result.outputs =
      compareValues(*expected, *actual, options.rtol, options.atol);
  for (LeafComparison &leaf : result.outputs)
    if (llvm::is_contained(manualPaths, leaf.path))
      leaf = comparePerDevice(expectedPerDevice, results, leaf.path, options);
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
