//===- ShardGroups.cpp - shard_as / shard_like groups -----------*- C++ -*-===//
//
// Instructions annotated `{... shard_as N}` must end up with the same
// sharding; `{... shard_like N}` ones are hints towards a common sharding.
// The members are collected before propagation starts (their `unknown`
// annotations become replicated placeholders); after every sweep of the
// fixed-point loop the most specific sharding of a group is given to the
// members that are not fixed annotations (shard_as), or merged into them
// when compatible (shard_like).
//
//===----------------------------------------------------------------------===//

#include "Driver.h"

using namespace mlir;

namespace gshard::propagation {

void Driver::collectShardGroups() {
  module.walk([&](Operation *op) {
    ShardingAttr s = getSharding(op);
    if (!s || s.isTuple() || s.getShardGroupKind() == hlo::ShardGroupKind::None)
      return;
    auto key = std::make_pair(static_cast<int64_t>(s.getShardGroupKind()),
                              s.getShardGroupId());
    shardGroups[key].push_back(op);
  });
}

/// The sharding without its shard group tag.
static ShardingAttr withoutGroup(ShardingAttr s) {
  if (s.getShardGroupKind() == hlo::ShardGroupKind::None)
    return s;
  return ShardingAttr::get(s.getContext(), s.getKind(), s.getTileDims(),
                           s.getIotaReshapeDims(), s.getIotaPerm(),
                           s.getDevices(), s.getReplicateOnLastTileDim(),
                           s.getLastTileDims(), s.getTupleElements(),
                           s.getMetadata(), hlo::ShardGroupKind::None, 0);
}

bool Driver::syncShardGroups() {
  bool changed = false;
  for (auto &[key, members] : shardGroups) {
    bool shardAs = key.first == static_cast<int64_t>(hlo::ShardGroupKind::As);
    // The most specific sharding of the group and who holds it.
    Operation *best = nullptr;
    ShardingAttr bestSharding;
    for (Operation *member : members) {
      ShardingAttr s = getSharding(member);
      if (!s || s.getKind() == ShardingKind::Unknown ||
          !isSpatiallyPartitioned(s))
        continue;
      if (!best || isShardingMoreSpecific(s, bestSharding)) {
        best = member;
        bestSharding = s;
      }
    }
    if (!best)
      continue;
    bestSharding = withoutGroup(bestSharding);
    Type type = best->getResult(0).getType();
    for (Operation *member : members) {
      if (member == best || provided.contains(member) ||
          member->getResult(0).getType() != type)
        continue;
      ShardingAttr current = getSharding(member);
      if (current && shardingsEqual(current, bestSharding))
        continue;
      if (shardAs) {
        if (current && !isShardingMoreSpecific(bestSharding, current))
          continue;
        setSharding(member, bestSharding, OriginKind::ShardGroup, best,
                    "shard_as");
        changed = true;
        continue;
      }
      changed |= maybeImprove(bestSharding, member, options.isSpmd,
                              /*allowAggressive=*/false, OriginKind::ShardGroup,
                              best, "shard_like");
    }
  }
  return changed;
}

} // namespace gshard::propagation
