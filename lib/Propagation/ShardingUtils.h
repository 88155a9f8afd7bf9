//===- ShardingUtils.h - Sharding arithmetic of propagation -----*- C++ -*-===//
//
// The sharding algebra propagation needs beyond gshard/Sharding: moving a
// sharding between tensors through an op's factors, XLA's reshape
// propagation over dim intervals, sub-tiling tests and the "improved
// sharding" decision. Kept in one place so it can move into lib/Sharding.
//
//===----------------------------------------------------------------------===//

#ifndef GSHARD_LIB_PROPAGATION_SHARDINGUTILS_H
#define GSHARD_LIB_PROPAGATION_SHARDINGUTILS_H

#include "gshard/Propagation/OpShardingRule.h"
#include "gshard/Sharding/Sharding.h"

#include <optional>

namespace gshard::propagation {

/// XLA's IsSpatiallyPartitioned: not maximal on one device (replicated,
/// tiled and manual count); tuples: any leaf.
bool isSpatiallyPartitioned(ShardingAttr s);

/// Moves `s` from a tensor whose dims map to factors `from` onto a tensor
/// whose dims map to `to`: tilings of shared propagatable factors are kept,
/// every other tiling becomes partial replication. Non-tiled shardings are
/// returned as is. O(rank) for iota shardings.
ShardingAttr projectSharding(ShardingAttr s, const OpShardingRule &rule,
                             llvm::ArrayRef<int64_t> from,
                             llvm::ArrayRef<int64_t> to);

/// XLA's PropagateShardingThroughReshape: the reshaped sharding of the
/// longest dim intervals that reshape compatibly, merged; replicated when
/// none does.
ShardingAttr propagateThroughReshape(ShardingAttr s,
                                     llvm::ArrayRef<int64_t> sourceShape,
                                     llvm::ArrayRef<int64_t> targetShape);

/// XLA's IsSubTilingOrEqualSharding: every device's tile under `sub` lies
/// inside its tile under `s`. O(rank) for iota shardings whose tiles divide
/// the shape evenly (and for equal ones), else O(devices).
bool isSubTilingOrEqual(llvm::ArrayRef<int64_t> shape, ShardingAttr sub,
                        ShardingAttr s);

/// XLA's ReturnImprovedShardingImpl: the sharding `toImprove` (null: none)
/// of a value of type `type` should become, given candidate `from`.
std::optional<ShardingAttr> returnImprovedSharding(ShardingAttr from,
                                                   ShardingAttr toImprove,
                                                   mlir::Type type,
                                                   bool mayCombinePartial,
                                                   bool allowAggressive);

/// XLA's ReplicateAllDataDims: replicated, keeping manual subgroups; the
/// result has `dataRank` data dims (-1: keep the rank).
ShardingAttr replicateAllDataDims(ShardingAttr s, int64_t dataRank = -1);

/// A non-tuple sharding applied to every leaf of `type` (tuples), or `s`.
ShardingAttr expandToTuple(ShardingAttr s, mlir::Type type);
/// `whole` (of `type`) with leaf range of element `index` replaced.
ShardingAttr replaceTupleElement(ShardingAttr whole, mlir::Type type,
                                 int64_t index, ShardingAttr element);
/// Leaves of `s` expanded for `type`.
llvm::SmallVector<ShardingAttr> getLeaves(ShardingAttr s, mlir::Type type);

/// `s` with its tiles evenly dividing `shape` (tuples: every leaf).
bool evenlyPartitions(mlir::Type type, ShardingAttr s);

} // namespace gshard::propagation

#endif // GSHARD_LIB_PROPAGATION_SHARDINGUTILS_H
