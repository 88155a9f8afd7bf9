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

#include "gshard/Sharding/Sharding.h"
#include "gshard/Sim/Check.h"
#include "gshard/Sim/Interpreter.h"
#include "gshard/Sim/Sharding.h"

#include "Exec.h"

#include "llvm/ADT/STLExtras.h"

#include <chrono>
#include <cstring>
#include <map>

using namespace mlir;
using namespace gshard;
using namespace gshard::sim;

static hlo::ShardingAttr getRootSharding(const Executable &executable) {
  Value root = executable.getEntry().getRoot();
  if (Operation *def = root ? root.getDefiningOp() : nullptr)
    return def->getAttrOfType<hlo::ShardingAttr>("sharding");
  return nullptr;
}

/// Whether a leaf of `sharding` is manual or has a manual subgroup (a
/// non-tuple sharding covers every leaf of a tuple value).
static bool hasManualLeaf(hlo::ShardingAttr sharding) {
  if (!sharding)
    return false;
  if (sharding.isTuple())
    return llvm::any_of(sharding.getTupleElements(), hasManualLeaf);
  return sharding.isManual() ||
         (sharding.isTiled() && isManualSubgroup(sharding));
}

/// The devices of `partition`'s manual group under a manual-subgroup
/// sharding, in group order (empty if the sharding names none).
static llvm::SmallVector<int64_t> getManualGroup(hlo::ShardingAttr sharding,
                                                 int64_t partition) {
  std::optional<int64_t> manualDim = getManualDim(sharding);
  if (!manualDim)
    return {};
  llvm::SmallVector<int64_t> otherDims;
  for (int64_t d = 0, e = sharding.getTileDims().size(); d < e; ++d)
    if (d != *manualDim)
      otherDims.push_back(d);
  return getDevicesAlongDims(sharding, partition, otherDims);
}

/// Which random draw `device` holds for a parameter leaf sharded by
/// `sharding`: its own (manual), its manual group's first device's (manual
/// subgroup), or 0, the draw every device shares.
static int64_t getDrawKey(hlo::ShardingAttr sharding, int64_t device,
                          int64_t P) {
  if (!sharding)
    return 0;
  if (sharding.isManual())
    return device;
  if (sharding.isTiled() && isManualSubgroup(sharding)) {
    llvm::SmallVector<int64_t> group = getManualGroup(sharding, device % P);
    return group.empty() ? 0 : device - device % P + group.front();
  }
  return 0;
}

/// `device`'s value of a parameter: `shared`, with each leaf that
/// `sharding` makes manual (or manual-subgroup) taken from `draw(key)`, the
/// parameter's random value for that device (group).
static LiteralRef getDeviceInput(const LiteralRef &shared, Type type,
                                 hlo::ShardingAttr sharding, int64_t device,
                                 int64_t P,
                                 llvm::function_ref<LiteralRef(int64_t)> draw,
                                 llvm::SmallVectorImpl<size_t> &path) {
  if (!sharding || !shared)
    return shared;
  if (shared->isTuple()) {
    std::vector<LiteralRef> elements;
    auto tuple = dyn_cast<TupleType>(type);
    if (!tuple || tuple.size() != shared->getNumTupleElements())
      return shared;
    for (auto [i, element] : llvm::enumerate(shared->getElements())) {
      hlo::ShardingAttr sub = sharding;
      if (sharding.isTuple())
        sub = getTupleElementSharding(sharding, tuple, i);
      path.push_back(i);
      elements.push_back(getDeviceInput(element, tuple.getType(i), sub, device,
                                        P, draw, path));
      path.pop_back();
    }
    return Literal::makeTuple(elements);
  }
  if (sharding.isTuple())
    sharding = sharding.getTupleElements().empty()
                   ? nullptr
                   : sharding.getTupleElements()[0];
  int64_t key = getDrawKey(sharding, device, P);
  if (key == 0)
    return shared;
  LiteralRef value = draw(key);
  for (size_t i : path)
    value = value->getElements()[i];
  return value;
}

/// The leaf at `path` (LeafComparison::path: "0" for a non-tuple root, "1.0"
/// for element 0 of tuple element 1) of one device's output, or null.
/// Whether two copies of an output leaf are the same array bit for bit
/// (devices of a group often share one literal): then they agree under any
/// tolerance and the element-wise comparison is skipped.
static bool sameArrayBits(const Literal &a, const Literal &b) {
  return &a == &b || a.hasSameArrayBits(b);
}

static LiteralRef getLeaf(const LiteralRef &root, StringRef path) {
  if (!root || !root->isTuple())
    return root;
  LiteralRef value = root;
  llvm::SmallVector<StringRef> indices;
  path.split(indices, '.');
  for (StringRef index : indices) {
    size_t i;
    if (!value->isTuple() || index.getAsInteger(10, i) ||
        i >= value->getNumTupleElements())
      return nullptr;
    value = value->getElements()[i];
  }
  return value;
}

/// The sharding and type of the output leaf at `path`, split from the
/// ROOT's as unshardValue splits it.
static std::pair<hlo::ShardingAttr, Type>
getLeafSharding(hlo::ShardingAttr sharding, Type type, StringRef path) {
  if (isa<TupleType>(type)) {
    llvm::SmallVector<StringRef> indices;
    path.split(indices, '.');
    for (StringRef index : indices) {
      size_t i;
      auto tuple = dyn_cast<TupleType>(type);
      if (!tuple || index.getAsInteger(10, i) || i >= tuple.size())
        return {nullptr, nullptr};
      if (sharding && sharding.isTuple())
        sharding = getTupleElementSharding(sharding, tuple, i);
      type = tuple.getType(i);
    }
  }
  if (sharding && sharding.isTuple())
    sharding = sharding.getTupleElements().empty()
                   ? nullptr
                   : sharding.getTupleElements()[0];
  return {sharding, type};
}

/// One value of a manual output to compare: a device's own (manual) or a
/// manual group's reassembled value, named by `device` (the group's first).
struct ManualUnit {
  LiteralRef expected, actual;
  int64_t device;
};

/// A manual output leaf compared unit by unit (element counts summed; the
/// first differing unit's device and element reported).
static LeafComparison compareUnits(ArrayRef<ManualUnit> units, StringRef path,
                                   const DifferentialCheckOptions &options) {
  LeafComparison total;
  total.path = path.str();
  total.perDevice = true;
  for (const ManualUnit &unit : units) {
    std::vector<LeafComparison> leaves =
        compareValues(*unit.expected, *unit.actual, options.rtol, options.atol,
                      options.normwise);
    if (leaves.empty())
      continue; // a token
    const LeafComparison &leaf = leaves.front();
    if (total.shape.empty()) {
      total.shape = leaf.shape;
      total.exact = leaf.exact;
      total.tolerance = leaf.tolerance;
      total.normwise = leaf.normwise;
    }
    total.numElements += leaf.numElements;
    total.numMismatches += leaf.numMismatches;
    total.maxAbsError = std::max(total.maxAbsError, leaf.maxAbsError);
    total.maxRelError = std::max(total.maxRelError, leaf.maxRelError);
    if (!leaf.match && total.device < 0) {
      total.device = unit.device;
      total.firstIndex = leaf.firstIndex;
      total.expected = leaf.expected;
      total.actual = leaf.actual;
      if (!leaf.note.empty())
        total.note =
            "on device " + std::to_string(unit.device) + ": " + leaf.note;
    }
  }
  total.match = total.device < 0;
  return total;
}

/// A manual (or manual-subgroup) output leaf: device d of the partitioned
/// run against device d of the original's (manual), or each manual group's
/// value reassembled from its devices' tiles against the original's value
/// on the group's first device (manual subgroup). `expected` and `actual`
/// hold every device's output.
static FailureOr<LeafComparison>
compareManualLeaf(ArrayRef<LiteralRef> expected, ArrayRef<LiteralRef> actual,
                  StringRef path, hlo::ShardingAttr sharding, Type type,
                  int64_t P, const DifferentialCheckOptions &options,
                  std::string &error) {
  std::vector<ManualUnit> units;
  int64_t numDevices = std::min(expected.size(), actual.size());
  bool perGroup = sharding && !sharding.isManual();
  for (int64_t d = 0; d < numDevices; ++d) {
    int64_t base = d - d % P;
    llvm::SmallVector<int64_t> group;
    if (perGroup) {
      group = getManualGroup(sharding, d % P);
      if (group.empty() || base + group.front() != d)
        continue; // not the first device of its group
    }
    LiteralRef e = getLeaf(expected[d], path);
    LiteralRef a = getLeaf(actual[d], path);
    if (perGroup && a) {
      std::vector<LiteralRef> parts(P);
      for (int64_t q : group)
        parts[q] = getLeaf(actual[base + q], path);
      if (llvm::any_of(group, [&](int64_t q) { return !parts[q]; }))
        a = nullptr;
      else
        a = unshardValue(parts, sharding, type, error);
      if (!a) {
        if (error.empty())
          error = "device " + std::to_string(d) + "'s output has no leaf " +
                  path.str();
        error = "cannot reassemble output " + path.str() +
                " in the manual group of device " + std::to_string(d) + ": " +
                error;
        return failure();
      }
    }
    if (!e || !a) {
      error =
          "device " + std::to_string(d) + "'s output has no leaf " + path.str();
      return failure();
    }
    units.push_back({e, a, d});
  }
  LeafComparison leaf = compareUnits(units, path, options);
  leaf.perManualGroup = perGroup;
  return leaf;
}

/// For a tiled output leaf with partial replication: the devices holding
/// one tile must agree on it (within the tile's bounds; uneven padding may
/// differ). Returns a note naming the first disagreement, else "".
static std::string
checkTileCopiesAgree(ArrayRef<LiteralRef> results, StringRef path,
                     hlo::ShardingAttr sharding, RankedTensorType type,
                     int64_t P, const DifferentialCheckOptions &options) {
  TileBoxes boxes(sharding, type.getShape());
  if (!boxes.isValid())
    return "";
  int64_t numDevices = results.size();
  for (int64_t base = 0; base < numDevices; base += P) {
    std::map<std::vector<int64_t>, int64_t> holder;
    for (int64_t p = 0; p < P && base + p < numDevices; ++p) {
      std::optional<llvm::SmallVector<int64_t>> tile = boxes.getTileIndex(p);
      if (!tile)
        continue;
      auto [it, first] = holder.try_emplace(
          std::vector<int64_t>(tile->begin(), tile->end()), base + p);
      if (first)
        continue;
      LiteralRef mine = getLeaf(results[base + p], path);
      LiteralRef theirs = getLeaf(results[it->second], path);
      llvm::SmallVector<int64_t> start, size;
      if (!mine || !theirs || !mine->isArray() || !theirs->isArray() ||
          mine->getShape() != theirs->getShape() ||
          !boxes.getBox(p, start, size))
        continue; // reassembly reports shape errors
      llvm::SmallVector<int64_t> zero(size.size(), 0);
      LiteralRef a = Literal::makeArray(mine->getElementType(), size);
      LiteralRef b = Literal::makeArray(mine->getElementType(), size);
      copyBox(*theirs, zero, *a, zero, size);
      copyBox(*mine, zero, *b, zero, size);
      std::vector<LeafComparison> diff =
          compareValues(*a, *b, options.rtol, options.atol);
      if (!diff.empty() && !diff.front().match)
        return "devices " + std::to_string(it->second) + " and " +
               std::to_string(base + p) +
               " hold the same tile of a partially replicated output but "
               "differ (" +
               diff.front().expected + " vs " + diff.front().actual + ")";
    }
  }
  return "";
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
  exec.opaqueCustomCalls = options.opaqueCustomCalls;

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
  // (leaf) holds each device's own random value, and a manual-subgroup one
  // its manual group's own (one value everywhere when the inputs are given).
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
    hlo::ShardingAttr sharding = paramSharding(i);
    if (!hasManualLeaf(sharding))
      continue;
    manualParams = true;
    if (options.inputs || !origParams[i] || !inputs[i])
      continue;
    std::map<int64_t, LiteralRef> draws;
    auto draw = [&](int64_t key) {
      LiteralRef &value = draws[key];
      if (!value)
        value = generateInput(origParams[i], options.seed, key);
      return value;
    };
    for (int64_t d = 1; d < P * R; ++d) {
      llvm::SmallVector<size_t> path;
      deviceInputs[d][i] = getDeviceInput(inputs[i], origParams[i].getType(),
                                          sharding, d, P, draw, path);
    }
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
  // The global inputs are not needed any more (each device holds its
  // shard): free them before the partitioned run, whose peak is the
  // check's (2 GB of the 420 sort's inputs).
  inputs.clear();
  inputs.shrink_to_fit();
  deviceInputs.clear();
  deviceInputs.shrink_to_fit();
  auto start = std::chrono::steady_clock::now();
  std::vector<LiteralRef> results =
      partitioned.runConsuming(std::move(args), exec, error);
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
  result.outputs = compareValues(*expected, *actual, options.rtol, options.atol,
                                 options.normwise);
  Type rootType = origEntry.getRoot().getType();
  for (LeafComparison &leaf : result.outputs) {
    auto [sharding, type] = getLeafSharding(outSharding, rootType, leaf.path);
    if (llvm::is_contained(manualPaths, leaf.path)) {
      FailureOr<LeafComparison> manual =
          compareManualLeaf(expectedPerDevice, results, leaf.path, sharding,
                            type, P, options, error);
      if (failed(manual))
        return failure();
      leaf = *manual;
      continue;
    }
    if (!leaf.match)
      continue;
    // Copies of one value must agree: a replicated leaf on every device, a
    // tile of a partially replicated one on the devices holding it (the
    // reassembly above read one copy).
    if (!sharding || sharding.isReplicated()) {
      for (int64_t d = 1; d < P * R && leaf.match; ++d) {
        LiteralRef first = getLeaf(results[0], leaf.path);
        LiteralRef other = getLeaf(results[d], leaf.path);
        if (!first || !other || sameArrayBits(*first, *other))
          continue;
        std::vector<LeafComparison> diff =
            compareValues(*first, *other, options.rtol, options.atol);
        if (!diff.empty() && !diff.front().match) {
          leaf.match = false;
          leaf.note = "replicated output differs between device 0 and "
                      "device " +
                      std::to_string(d);
        }
      }
    } else if (sharding.isTiled() && hasPartialReplication(sharding)) {
      if (auto tensor = dyn_cast_or_null<RankedTensorType>(type)) {
        std::string note = checkTileCopiesAgree(results, leaf.path, sharding,
                                                tensor, P, options);
        if (!note.empty()) {
          leaf.match = false;
          leaf.note = note;
        }
      }
    }
  }
  result.match = llvm::all_of(
      result.outputs, [](const LeafComparison &leaf) { return leaf.match; });
  return result;
}
