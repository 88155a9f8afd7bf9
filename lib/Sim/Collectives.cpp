//===- Collectives.cpp - Cross-device ops and SPMD custom-calls -----------===//
//
// Part of gshard, under the Apache License v2.0.
//
// Participants follow XLA's CollectiveOpGroupMode:
//   no channel_id                         -> groups of replica ids
//   (cross-replica) channel_id, use_global_device_ids unset -> groups of
//   partition ids channel_id, use_global_device_ids=false -> replica groups x
//   all partitions use_global_device_ids=true            -> groups of global
//   device ids
// (global id = replica * num_partitions + partition). Empty replica groups
// mean one group of everybody. Results are combined in group order.
//
//===----------------------------------------------------------------------===//

#include "Exec.h"
#include "Rendezvous.h"

#include "gshard/Sim/Check.h"
#include "gshard/Sim/Sharding.h"

#include "llvm/ADT/bit.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Support/xxhash.h"

using namespace mlir;
using namespace gshard;
using namespace gshard::sim;

namespace {

using Values = Rendezvous::Values;

int64_t globalId(const ExecContext &ctx) {
  return ctx.replicaId * ctx.options.numPartitions + ctx.partitionId;
}

/// Finds the group containing `id`, or fails.
bool findGroup(ExecContext &ctx, Operation *op, hlo::ReplicaGroupsAttr attr,
               int64_t id, int64_t universe,
               llvm::SmallVectorImpl<int64_t> &group) {
  group.clear();
  llvm::SmallVector<llvm::SmallVector<int64_t>> groups;
  if (attr)
    groups = attr.getGroups();
  if (groups.empty() || (groups.size() == 1 && groups[0].empty())) {
    for (int64_t i = 0; i < universe; ++i)
      group.push_back(i);
    return true;
  }
  for (auto &g : groups)
    if (llvm::is_contained(g, id)) {
      group.assign(g.begin(), g.end());
      for (int64_t member : group)
        if (member < 0 || member >= universe) {
          ctx.fail(op, "replica group names id " + Twine(member) +
                           " but only " + Twine(universe) +
                           " exist (set --num-partitions / --num-replicas)");
          return false;
        }
      return true;
    }
  ctx.fail(op, "id " + Twine(id) + " is in no replica group");
  return false;
}

/// Global ids of the devices this device's instance of `op` involves.
bool getParticipants(ExecContext &ctx, Operation *op,
                     llvm::SmallVectorImpl<int64_t> &participants) {
  auto groups = op->getAttrOfType<hlo::ReplicaGroupsAttr>("replica_groups");
  bool hasChannel = op->hasAttr("channel_id");
  auto useGlobal = op->getAttrOfType<BoolAttr>("use_global_device_ids");
  int64_t P = ctx.options.numPartitions, R = ctx.options.numReplicas;
  llvm::SmallVector<int64_t> group;
  participants.clear();
  if (useGlobal && useGlobal.getValue()) {
    if (!findGroup(ctx, op, groups, globalId(ctx), R * P, group))
      return false;
    participants.append(group.begin(), group.end());
  } else if (!hasChannel) {
    if (!findGroup(ctx, op, groups, ctx.replicaId, R, group))
      return false;
    for (int64_t r : group)
      participants.push_back(r * P + ctx.partitionId);
  } else if (!useGlobal) {
    if (!findGroup(ctx, op, groups, ctx.partitionId, P, group))
      return false;
    for (int64_t p : group)
      participants.push_back(ctx.replicaId * P + p);
  } else {
    if (!findGroup(ctx, op, groups, ctx.replicaId, R, group))
      return false;
    for (int64_t r : group)
      for (int64_t p = 0; p < P; ++p)
        participants.push_back(r * P + p);
  }
  return true;
}

/// Runs the exchange (or combines locally when only this device takes
/// part); returns this device's result values.
bool exchange(ExecContext &ctx, Operation *op, ArrayRef<int64_t> participants,
              Values contribution, const Rendezvous::Combine &combine,
              Values &result) {
  int64_t self = globalId(ctx);
  int64_t occurrence = ctx.occurrences[op]++;
  if (participants.size() == 1 && participants[0] == self) {
    std::vector<Values> results;
    std::string error;
    Values contributions[] = {std::move(contribution)};
    if (!combine(contributions, results, error)) {
      ctx.error = error;
      return false;
    }
    result = std::move(results[0]);
    return true;
  }
  if (!ctx.rendezvous) {
    std::string text;
    llvm::raw_string_ostream os(text);
    os << "needs devices {";
    llvm::interleaveComma(participants, os);
    os << "} but this run has one device (set --num-partitions)";
    ctx.fail(op, os.str());
    return false;
  }
  std::string error;
  if (!ctx.rendezvous->exchange(op, occurrence, participants, self,
                                std::move(contribution), combine, result,
                                error)) {
    if (ctx.error.empty())
      ctx.error = error;
    return false;
  }
  return true;
}

LiteralRef pack(Operation *op, Values values) {
  if (values.size() == 1 && !isa<TupleType>(op->getResult(0).getType()))
    return values[0];
  return Literal::makeTuple(values);
}

Values toValues(ArrayRef<LiteralRef> operands) {
  return Values(operands.begin(), operands.end());
}

//===----------------------------------------------------------------------===//
// Handlers
//===----------------------------------------------------------------------===//

LiteralRef allReduceLike(ExecContext &ctx, Operation *op,
                         ArrayRef<LiteralRef> operands, bool scatter) {
  auto toApply = op->getAttrOfType<FlatSymbolRefAttr>("to_apply");
  const CompiledComputation *fn = ctx.lookup(op, toApply);
  if (!fn)
    return nullptr;
  llvm::SmallVector<int64_t> participants;
  if (!getParticipants(ctx, op, participants))
    return nullptr;
  int64_t scatterDim = -1;
  if (scatter) {
    auto dims = op->getAttrOfType<DenseI64ArrayAttr>("dimensions");
    if (!dims || dims.size() != 1)
      return ctx.fail(op, "reduce-scatter needs one dimension");
    scatterDim = dims[0];
  }
  size_t count = participants.size();
  for (auto [i, operand] : llvm::enumerate(operands)) {
    if (!scatter)
      continue;
    std::string shape;
    llvm::raw_string_ostream os(shape);
    printHloShape(os, operand->getType(op->getContext()));
    if (scatterDim < 0 || scatterDim >= operand->getRank())
      return ctx.fail(op, "operand " + Twine(i) + " (" + os.str() +
                              ") has no dimension " + Twine(scatterDim) +
                              " to scatter (XLA requires it of every operand)");
    if (operand->getShape()[scatterDim] % count)
      return ctx.fail(op, "operand " + Twine(i) + " (" + os.str() +
                              "): scatter dimension is not divisible by the "
                              "group size " +
                              Twine(count));
  }
  ExecContext *combiner = &ctx;
  auto combine = [&, combiner](ArrayRef<Values> contributions,
                               std::vector<Values> &results,
                               std::string &error) {
    Values reduced;
    for (size_t k = 0; k < contributions[0].size(); ++k) {
      std::vector<LiteralRef> arrays;
      for (const Values &c : contributions)
        arrays.push_back(c[k]);
      LiteralRef r = foldArrays(*combiner, op, *fn, arrays);
      if (!r) {
        error = combiner->error;
        return false;
      }
      reduced.push_back(r);
    }
    results.assign(contributions.size(), Values());
    for (size_t i = 0; i < contributions.size(); ++i) {
      if (!scatter) {
        results[i] = reduced;
        continue;
      }
      for (const LiteralRef &r : reduced)
        results[i].push_back(sliceChunk(*r, scatterDim, i, count));
    }
    return true;
  };
  Values result;
  if (!exchange(ctx, op, participants, toValues(operands), combine, result))
    return nullptr;
  return pack(op, result);
}

LiteralRef allReduceHandler(ExecContext &ctx, Operation *op,
                            ArrayRef<LiteralRef> operands) {
  return allReduceLike(ctx, op, operands, /*scatter=*/false);
}

LiteralRef reduceScatterHandler(ExecContext &ctx, Operation *op,
                                ArrayRef<LiteralRef> operands) {
  return allReduceLike(ctx, op, operands, /*scatter=*/true);
}

LiteralRef allGatherHandler(ExecContext &ctx, Operation *op,
                            ArrayRef<LiteralRef> operands) {
  auto dims = op->getAttrOfType<DenseI64ArrayAttr>("dimensions");
  if (!dims || dims.size() != 1)
    return ctx.fail(op, "all-gather needs one dimension");
  int64_t dim = dims[0];
  for (const LiteralRef &operand : operands)
    if (dim < 0 || dim >= operand->getRank())
      return ctx.fail(op, "all-gather dimension out of range");
  llvm::SmallVector<int64_t> participants;
  if (!getParticipants(ctx, op, participants))
    return nullptr;
  auto combine = [&](ArrayRef<Values> contributions,
                     std::vector<Values> &results, std::string &error) {
    Values gathered;
    for (size_t k = 0; k < contributions[0].size(); ++k) {
      std::vector<LiteralRef> parts;
      for (const Values &c : contributions)
        parts.push_back(c[k]);
      gathered.push_back(concatenateArrays(parts, dim));
    }
    results.assign(contributions.size(), gathered);
    return true;
  };
  Values result;
  if (!exchange(ctx, op, participants, toValues(operands), combine, result))
    return nullptr;
  return pack(op, result);
}

LiteralRef allToAllHandler(ExecContext &ctx, Operation *op,
                           ArrayRef<LiteralRef> operands) {
  auto dims = op->getAttrOfType<DenseI64ArrayAttr>("dimensions");
  llvm::SmallVector<int64_t> participants;
  if (!getParticipants(ctx, op, participants))
    return nullptr;
  size_t count = participants.size();
  bool arrayForm = dims && dims.size() == 1;
  if (arrayForm) {
    int64_t dim = dims[0];
    for (const LiteralRef &operand : operands)
      if (dim < 0 || dim >= operand->getRank() ||
          operand->getShape()[dim] % count)
        return ctx.fail(op, "all-to-all split dimension is not divisible by "
                            "the group size " +
                                Twine(count));
  } else if (operands.size() != count) {
    return ctx.fail(op, "tuple all-to-all needs one operand per participant "
                        "(" +
                            Twine(count) + ")");
  }
  auto combine = [&](ArrayRef<Values> contributions,
                     std::vector<Values> &results, std::string &error) {
    results.assign(count, Values());
    if (arrayForm) {
      int64_t dim = dims[0];
      for (size_t k = 0; k < contributions[0].size(); ++k)
        for (size_t j = 0; j < count; ++j) {
          std::vector<LiteralRef> parts;
          for (size_t i = 0; i < count; ++i)
            parts.push_back(sliceChunk(*contributions[i][k], dim, j, count));
          results[j].push_back(concatenateArrays(parts, dim));
        }
    } else {
      for (size_t j = 0; j < count; ++j)
        for (size_t i = 0; i < count; ++i)
          results[j].push_back(contributions[i][j]);
    }
    return true;
  };
  Values result;
  if (!exchange(ctx, op, participants, toValues(operands), combine, result))
    return nullptr;
  return pack(op, result);
}

LiteralRef collectivePermuteHandler(ExecContext &ctx, Operation *op,
                                    ArrayRef<LiteralRef> operands) {
  auto permute = cast<hlo::CollectivePermuteOp>(op);
  if (operands.size() != 1)
    return ctx.unsupported(op, "collective-permute with " +
                                   Twine(operands.size()) +
                                   " operands (in-place form)");
  bool crossPartition = permute.getChannelId().has_value();
  int64_t P = ctx.options.numPartitions, R = ctx.options.numReplicas;
  int64_t universe = crossPartition ? P : R;
  llvm::SmallVector<int64_t> participants;
  for (int64_t i = 0; i < universe; ++i)
    participants.push_back(crossPartition ? ctx.replicaId * P + i
                                          : i * P + ctx.partitionId);
  ArrayRef<int64_t> pairs = permute.getSourceTargetPairs();
  if (pairs.size() % 2)
    return ctx.fail(op, "source_target_pairs must be pairs");
  for (int64_t id : pairs)
    if (id < 0 || id >= universe)
      return ctx.fail(op, "source_target_pairs name id " + Twine(id) +
                              " but only " + Twine(universe) + " exist");
  auto combine = [&](ArrayRef<Values> contributions,
                     std::vector<Values> &results, std::string &error) {
    results.assign(universe, Values());
    for (int64_t t = 0; t < universe; ++t) {
      LiteralRef value;
      for (size_t k = 0; k + 1 < pairs.size(); k += 2)
        if (pairs[k + 1] == t)
          value = contributions[pairs[k]][0];
      if (!value) {
        // No source: zeros.
        value = Literal::makeArray(contributions[t][0]->getElementType(),
                                   contributions[t][0]->getShape());
      }
      results[t].push_back(value);
    }
    return true;
  };
  Values result;
  if (!exchange(ctx, op, participants, toValues(operands), combine, result))
    return nullptr;
  return result[0];
}

LiteralRef collectiveBroadcastHandler(ExecContext &ctx, Operation *op,
                                      ArrayRef<LiteralRef> operands) {
  llvm::SmallVector<int64_t> participants;
  if (!getParticipants(ctx, op, participants))
    return nullptr;
  auto combine = [&](ArrayRef<Values> contributions,
                     std::vector<Values> &results, std::string &error) {
    results.assign(contributions.size(), contributions[0]);
    return true;
  };
  Values result;
  if (!exchange(ctx, op, participants, toValues(operands), combine, result))
    return nullptr;
  return pack(op, result);
}

//===----------------------------------------------------------------------===//
// SPMD custom-calls
//===----------------------------------------------------------------------===//

hlo::ShardingAttr getOperandSharding(Operation *op) {
  Operation *def = op->getOperand(0).getDefiningOp();
  return def ? def->getAttrOfType<hlo::ShardingAttr>("sharding") : nullptr;
}

/// Hashes the shape and bits of every leaf of `value` into `hash`.
static uint64_t hashValue(const Literal &value, uint64_t hash) {
  auto combine = [&](uint64_t h) {
    hash = llvm::rotl(hash, 23) ^ (h * 0x9e3779b97f4a7c15ULL);
  };
  if (value.isTuple()) {
    for (const LiteralRef &element : value.getElements())
      hash = hashValue(*element, hash);
    return hash;
  }
  if (!value.isArray())
    return hash;
  for (int64_t dim : value.getShape())
    combine(dim);
  combine(
      llvm::xxh3_64bits(ArrayRef<uint8_t>(value.data(), value.getNumBytes())));
  return hash;
}

/// An opaque pure function (`--opaque-custom-call`): random data of the
/// result type drawn from a hash of the target and the operands' bits, so
/// equal operands give equal results on any device and in any run.
static LiteralRef runOpaqueCustomCall(ExecContext &ctx, hlo::CustomCallOp call,
                                      ArrayRef<LiteralRef> operands) {
  StringRef target = call.getCustomCallTarget();
  uint64_t hash = llvm::xxh3_64bits(target);
  for (const LiteralRef &operand : operands)
    hash = hashValue(*operand, hash);
  LiteralRef result = drawRandomValue(call->getResult(0).getType(), hash);
  if (!result)
    return ctx.fail(call, "unsupported result type of an opaque custom-call");
  return result;
}

LiteralRef customCallHandler(ExecContext &ctx, Operation *op,
                             ArrayRef<LiteralRef> operands) {
  auto call = cast<hlo::CustomCallOp>(op);
  StringRef target = call.getCustomCallTarget();
  Type resultType = op->getResult(0).getType();
  // Annotations with identity semantics (GSPMD and Shardy spellings).
  if (target == "Sharding" || target == "xla.sdy.FuncResultSharding" ||
      target == "xla.sdy.ShardingConstraint") {
    if (operands.size() != 1 || !operands[0]->matchesType(resultType))
      return ctx.fail(op, "Sharding custom-call must be an identity");
    return operands[0];
  }
  if (target == "AllocateBuffer")
    return Literal::makeZero(resultType);
  if (target == "TopK")
    return runTopKCustomCall(ctx, op, operands);
  // Host offloading annotations move data, they do not change it.
  if ((target == "MoveToHost" || target == "MoveToDevice") &&
      operands.size() == 1 && operands[0]->matchesType(resultType))
    return operands[0];
  if (target != "SPMDFullToShardShape" && target != "SPMDShardToFullShape") {
    if (llvm::is_contained(ctx.options.opaqueCustomCalls, target))
      return runOpaqueCustomCall(ctx, call, operands);
    return ctx.unsupported(op, "unknown custom-call target \"" + target + "\"");
  }
  if (operands.size() != 1 || !operands[0]->isArray())
    return ctx.fail(op, target + " takes one array");
  const Literal &x = *operands[0];
  if (x.matchesType(resultType))
    return operands[0];
  auto type = dyn_cast<RankedTensorType>(resultType);
  if (!type)
    return ctx.fail(op, target + " returns one array");
  int64_t device = globalId(ctx) % ctx.options.numPartitions;
  if (target == "SPMDFullToShardShape") {
    // This device's tile of the full value, by the operand's sharding.
    hlo::ShardingAttr sharding = getOperandSharding(op);
    if (!sharding || !sharding.isTiled())
      return ctx.fail(op, "cannot find this device's tile (the operand "
                          "needs a tiled sharding)");
    TileBoxes boxes(sharding, x.getShape());
    llvm::SmallVector<int64_t> start, size;
    if (!boxes.isValid())
      return ctx.fail(op, boxes.getError());
    auto tile = boxes.getTileIndex(device);
    if (!tile)
      return ctx.fail(op, "the operand's sharding names no tile for device " +
                              Twine(device));
    // Tiles of the result's shape (nested manual subgroups may already have
    // cut the operand).
    for (int64_t d = 0; d < x.getRank(); ++d) {
      int64_t s = (*tile)[d] * type.getDimSize(d);
      start.push_back(std::min(s, x.getShape()[d]));
      size.push_back(std::max<int64_t>(
          0, std::min(type.getDimSize(d), x.getShape()[d] - s)));
    }
    LiteralRef out = Literal::makeArray(type);
    llvm::SmallVector<int64_t> zero(x.getRank(), 0);
    copyBox(x, start, *out, zero, size);
    return out;
  }
  // SPMDShardToFullShape is a copy of each device's data (XLA partitions it
  // to kCopy of the partitioned operand): the result's reference value is
  // assembled from every device's shard, placed at that device's tile of this
  // op's sharding, and only among the devices of one manual group when the
  // sharding keeps a manual subgroup.
  hlo::ShardingAttr sharding = op->getAttrOfType<hlo::ShardingAttr>("sharding");
  if (!sharding || !sharding.isTiled())
    return ctx.fail(op, "SPMDShardToFullShape needs a tiled sharding");
  int64_t P = ctx.options.numPartitions;
  llvm::SmallVector<int64_t> groupDevices;
  if (std::optional<int64_t> manualDim = getManualDim(sharding)) {
    llvm::SmallVector<int64_t> otherDims;
    for (int64_t d = 0, e = sharding.getTileDims().size(); d < e; ++d)
      if (d != *manualDim)
        otherDims.push_back(d);
    groupDevices = getDevicesAlongDims(sharding, device, otherDims);
    if (groupDevices.empty())
      return ctx.fail(op, "the sharding names no manual group for device " +
                              Twine(device));
  } else {
    for (int64_t p = 0; p < P; ++p)
      groupDevices.push_back(p);
  }
  llvm::SmallVector<int64_t> participants;
  for (int64_t p : groupDevices)
    participants.push_back(ctx.replicaId * P + p);
  // This device's shard: an operand in a manual subgroup holds its whole
  // group's value (the reference run's view), of which the device owns its
  // tile of the operand's sharding; a fully manual operand is all its own.
  LiteralRef shardValue = operands[0];
  hlo::ShardingAttr operandSharding = getOperandSharding(op);
  if (operandSharding && operandSharding.isTiled() &&
      isManualSubgroup(operandSharding)) {
    TileBoxes boxes(operandSharding, x.getShape());
    if (!boxes.isValid())
      return ctx.fail(op, boxes.getError());
    llvm::SmallVector<int64_t> start, size;
    if (!boxes.getBox(device, start, size))
      return ctx.fail(op, "the operand's sharding names no tile for device " +
                              Twine(device));
    shardValue = Literal::makeArray(x.getElementType(), boxes.getTileShape());
    llvm::SmallVector<int64_t> zero(x.getRank(), 0);
    copyBox(x, start, *shardValue, zero, size);
  }
  auto combine = [&](ArrayRef<Values> contributions,
                     std::vector<Values> &results, std::string &error) {
    LiteralRef full = Literal::makeArray(type);
    TileBoxes boxes(sharding, type.getShape());
    if (!boxes.isValid()) {
      error = boxes.getError();
      return false;
    }
    llvm::SmallVector<int64_t> start, size;
    for (auto [i, p] : llvm::enumerate(groupDevices)) {
      auto tile = boxes.getTileIndex(p);
      if (!tile)
        continue;
      // Tiles of the shard's shape (within a manual subgroup the operand
      // can be smaller than the sharding's tile).
      const Literal &shard = *contributions[i][0];
      start.clear();
      size.clear();
      for (int64_t d = 0; d < type.getRank(); ++d) {
        int64_t s = (*tile)[d] * shard.getShape()[d];
        start.push_back(std::min(s, type.getDimSize(d)));
        size.push_back(std::max<int64_t>(
            0, std::min(shard.getShape()[d], type.getDimSize(d) - s)));
      }
      llvm::SmallVector<int64_t> zero(type.getRank(), 0);
      copyBox(shard, zero, *full, start, size);
    }
    results.assign(contributions.size(), Values{full});
    return true;
  };
  Values result;
  if (!exchange(ctx, op, participants, Values{shardValue}, combine, result))
    return nullptr;
  return result[0];
}

} // namespace

bool gshard::sim::hasCustomCallSemantics(StringRef target) {
  return llvm::is_contained(
      {"Sharding", "xla.sdy.FuncResultSharding", "xla.sdy.ShardingConstraint",
       "SPMDFullToShardShape", "SPMDShardToFullShape", "AllocateBuffer", "TopK",
       "MoveToHost", "MoveToDevice"},
      target);
}

void gshard::sim::registerCollectiveHandlers(HandlerTable &t) {
  t["hlo.all_reduce"] = allReduceHandler;
  t["hlo.reduce_scatter"] = reduceScatterHandler;
  t["hlo.all_gather"] = allGatherHandler;
  t["hlo.all_to_all"] = allToAllHandler;
  t["hlo.collective_permute"] = collectivePermuteHandler;
  t["hlo.collective_broadcast"] = collectiveBroadcastHandler;
  t["hlo.custom_call"] = customCallHandler;
}
