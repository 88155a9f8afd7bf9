//===- Collectives.cpp - User collectives in manual regions ---------------===//
//
// Collectives written by the user only appear in manual code. With a full
// {manual} sharding they run as they are (partitionReplicated's manual
// path). With a manual subgroup, an all-reduce is elementwise over the
// devices of each replica group: when every group's members hold the same
// data tile of the result's tiling, it runs on the local tiles; otherwise
// on whole values within each manual group.
//
//===----------------------------------------------------------------------===//

#include "Spmd.h"

using namespace mlir;

namespace gshard::spmd {

/// Whether the members of every replica group hold the same data tile of
/// `s` (no groups: all devices).
static bool groupsShareTiles(hlo::ReplicaGroupsAttr groups, ShardingAttr s,
                             int64_t numPartitions) {
  SmallVector<SmallVector<int64_t>> members;
  if (groups)
    members = groups.getGroups();
  if (members.empty()) {
    members.emplace_back();
    for (int64_t d = 0; d < numPartitions; ++d)
      members.back().push_back(d);
  }
  for (const SmallVector<int64_t> &group : members) {
    std::optional<SmallVector<int64_t>> first;
    for (int64_t d : group) {
      std::optional<SmallVector<int64_t>> tile = getTileIndex(s, d);
      if (!tile)
        return false;
      if (!first)
        first = tile;
      else if (*first != *tile)
        return false;
    }
  }
  return true;
}

static LogicalResult partitionAllReduce(Operation *op, Spmd &spmd) {
  auto type = dyn_cast<RankedTensorType>(op->getResult(0).getType());
  if (!type || op->getNumOperands() != 1)
    return partitionReplicated(op, spmd);
  ShardingAttr result =
      normalizeForTensor(getResultSharding(op), type.getRank());
  auto groups = op->getAttrOfType<hlo::ReplicaGroupsAttr>("replica_groups");
  if (!result.isTiled() || !isManualSubgroup(result) ||
      !groupsShareTiles(groups, result, spmd.numPartitions()))
    return partitionReplicated(op, spmd);
  Value operand = spmd.operand(op->getOperand(0), result);
  if (spmd.hadError)
    return failure();
  Operation *clone = spmd.cloneWith(op, operand, getLocalType(type, result));
  spmd.set(op->getResult(0), {clone->getResult(0), result, type});
  return success();
}

void registerCollectiveHandlers(HandlerMap &map) {
  map["hlo.all_reduce"] = partitionAllReduce;
}

} // namespace gshard::spmd
