//===- Sharding.h - Queries and transformations of HLO shardings -*- C++
//-*-===//
//
// The sharding value model every pass reasons with. The IR stores the
// structural `hlo::ShardingAttr`; these functions give it XLA's HloSharding
// semantics:
//
//   * kinds: replicated, maximal (one device), manual, unknown, tiled, tuple;
//   * a tiled sharding's tile dims are the data dims (one per tensor dim)
//     followed by subgroup dims: one replicated dim (`last_tile_dim_replicate`)
//     or the `last_tile_dims={manual, replicated}` list;
//   * tile assignments are `TileAssignment`s, O(rank) for iota forms.
//
// Nothing here is O(devices) for an iota sharding unless its documentation
// says so; explicit device lists cost what the user wrote.
//
//===----------------------------------------------------------------------===//

#ifndef GSHARD_SHARDING_SHARDING_H
#define GSHARD_SHARDING_SHARDING_H

#include "gshard/IR/HloOps.h"
#include "gshard/Sharding/TileAssignment.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Types.h"
#include "mlir/Support/LogicalResult.h"

#include <optional>

namespace gshard {

using hlo::ShardingAttr;
using hlo::ShardingKind;
using hlo::SubgroupKind;

//===----------------------------------------------------------------------===//
// Construction
//===----------------------------------------------------------------------===//

/// The tile assignment of a tiled sharding (O(1): explicit lists refer to
/// the attribute's storage). Asserts `s.isTiled()`.
TileAssignment getTileAssignment(ShardingAttr s);

/// A tiled sharding from a tile assignment (iota or explicit) with the given
/// subgroup spelling; `metadata`/shard group copied from `like` if given.
ShardingAttr getTiledSharding(mlir::MLIRContext *context,
                              const TileAssignment &ta,
                              bool replicateOnLastTileDim = false,
                              llvm::ArrayRef<SubgroupKind> lastTileDims = {},
                              ShardingAttr like = {});

/// XLA's HloSharding::PartialTile: `ta`'s last dim is replicated. Normalizes
/// (all replicated -> {replicated}; last dim 1 -> plain tiled) and sorts the
/// members of each replication group.
ShardingAttr getPartialTileSharding(mlir::MLIRContext *context,
                                    const TileAssignment &ta,
                                    ShardingAttr like = {});

/// XLA's HloSharding::Subgroup: trailing dims of `ta` are subgroups of the
/// given kinds. Drops unit subgroup dims, merges dims of one kind, orders
/// manual before replicated, and folds the trivial cases into {manual} /
/// {replicated} / last_tile_dim_replicate.
ShardingAttr getSubgroupSharding(mlir::MLIRContext *context,
                                 const TileAssignment &ta,
                                 llvm::ArrayRef<SubgroupKind> kinds,
                                 ShardingAttr like = {});

//===----------------------------------------------------------------------===//
// Equality and canonical forms
//===----------------------------------------------------------------------===//

/// XLA's normal form of a sharding as HloSharding's constructors build it
/// (what the HLO parser produces): partial-tile and subgroup shardings are
/// normalized as by getPartialTileSharding/getSubgroupSharding. Plain tiled
/// shardings are kept, including one-device ones: like XLA,
/// `{devices=[1,1]0}` is *not* equal to `{replicated}` (see
/// isTriviallyReplicated). Metadata is kept.
ShardingAttr normalizeSharding(ShardingAttr s);

/// normalizeSharding plus the canonical tile assignment: iota forms
/// simplified, explicit lists turned into an iota when one exists
/// (O(devices) for explicit lists only). Use before printing or hashing.
ShardingAttr canonicalizeSharding(ShardingAttr s);

/// Semantic equality as XLA's HloSharding::operator== on the parsed
/// shardings: metadata ignored, an explicit list equal to an iota form
/// compares equal, replication-group member order ignored (XLA sorts it),
/// subgroup spellings normalized; shard_as/shard_like groups compared.
/// O(rank) for iota shardings.
bool shardingsEqual(ShardingAttr a, ShardingAttr b);

//===----------------------------------------------------------------------===//
// Queries
//===----------------------------------------------------------------------===//

/// Replicated on every device (tuples: every leaf).
bool isFullyReplicated(ShardingAttr s);
/// Replicated, or tiled with every tile dim of size 1 except replicated
/// subgroups: every device holds the whole tensor (tuples: every leaf).
bool isTriviallyReplicated(ShardingAttr s);
/// Replicated or maximal: each device holding data holds all of it
/// (XLA's IsTileMaximal; tuples: every leaf).
bool isTileMaximal(ShardingAttr s);
/// Manual (tuples: every leaf).
bool isManual(ShardingAttr s);
/// Tiled with a manual subgroup (tuples: every leaf).
bool isManualSubgroup(ShardingAttr s);
/// last_tile_dim_replicate or a replicated subgroup.
bool hasPartialReplication(ShardingAttr s);
/// The single device of a maximal sharding (tuples: when every leaf is
/// maximal on the same device).
std::optional<int64_t> getUniqueDevice(ShardingAttr s);

/// Number of tile dims that tile data (tile rank minus subgroup dims).
int64_t getTiledDataRank(ShardingAttr s);
/// Tiles along each tensor dim: the data tile dims of a tiled sharding, all
/// ones (of length `rank`) for replicated/maximal/manual ones.
llvm::SmallVector<int64_t> getTilesPerDim(ShardingAttr s, int64_t rank);
/// Number of distinct data tiles (product of the data tile dims; 1 unless
/// tiled). XLA's NumTiles.
int64_t getNumTiles(ShardingAttr s);

struct SubgroupDim {
  int64_t tileDim; ///< index into the tile dims
  SubgroupKind kind;
  int64_t size;
};
/// The subgroup dims of a tiled sharding, in tile-dim order.
llvm::SmallVector<SubgroupDim> getSubgroupDims(ShardingAttr s);
/// Tile-dim index of the replicated / manual subgroup, if any.
std::optional<int64_t> getReplicationDim(ShardingAttr s);
std::optional<int64_t> getManualDim(ShardingAttr s);

/// Per-device tile shape: ceil(n / tiles) per dim (the padded shard shape).
llvm::SmallVector<int64_t> getTileShape(ShardingAttr s,
                                        llvm::ArrayRef<int64_t> globalShape);
/// The data tile index of `device` (data dims only), nullopt if the device
/// holds no tile. Replicated/manual shardings: an empty index (the whole
/// tensor) for any device; maximal: for its device only. O(rank) for iota;
/// O(devices) per call for explicit lists, so loops over many devices should
/// query one `getTileAssignment(s)` (whose inverse map is built once).
std::optional<llvm::SmallVector<int64_t>> getTileIndex(ShardingAttr s,
                                                       int64_t device);
/// Start of `device`'s tile in each dim: tileIndex * ceil(n / tiles),
/// clamped to n (the last tiles of an uneven dim can be empty).
std::optional<llvm::SmallVector<int64_t>>
getTileOffset(ShardingAttr s, int64_t device,
              llvm::ArrayRef<int64_t> globalShape);
/// End of `device`'s tile in each dim: min(offset + tileShape, n).
std::optional<llvm::SmallVector<int64_t>>
getTileLimit(ShardingAttr s, int64_t device,
             llvm::ArrayRef<int64_t> globalShape);

/// The device groups of a collective over the given tile dims: devices that
/// share every other tile coordinate, each group ordered along `tileDims`
/// (in the order given). Tile dims may be data or subgroup dims. Returned in
/// compact iota form `[G,S]<=[...]T(...)` whenever the tile assignment's
/// transpose is an iota (always for mesh-shaped iota shardings), else as an
/// explicit list. Asserts `s.isTiled()`.
hlo::ReplicaGroupsAttr getDeviceGroupsForDims(ShardingAttr s,
                                              llvm::ArrayRef<int64_t> tileDims);
inline hlo::ReplicaGroupsAttr getDeviceGroupsForDim(ShardingAttr s,
                                                    int64_t tileDim) {
  return getDeviceGroupsForDims(s, {tileDim});
}
/// The devices sharing every tile coordinate of `device` but those of
/// `tileDims`, in group order (`device` included). O(group size * rank).
llvm::SmallVector<int64_t>
getDevicesAlongDims(ShardingAttr s, int64_t device,
                    llvm::ArrayRef<int64_t> tileDims);
/// The replication groups: devices holding the same tile (including the same
/// manual subgroup). Replicated shardings give one group of `numDevices`;
/// tiled shardings without replication give one group per device.
hlo::ReplicaGroupsAttr getReplicationGroups(ShardingAttr s, int64_t numDevices);

//===----------------------------------------------------------------------===//
// Transformations
//===----------------------------------------------------------------------===//

/// Partial replication: moves the tiling of the given data dims into the
/// replicated subgroup (XLA's PartiallyReplicateTiledShardingOnDims).
/// Replicated/maximal/manual shardings are returned unchanged. The result
/// is normalized ({replicated} when nothing stays tiled).
ShardingAttr replicateOnDims(ShardingAttr s, llvm::ArrayRef<int64_t> dims);
/// replicateOnDims on every data dim not in `keepDims`.
ShardingAttr replicateAllDimsExcept(ShardingAttr s,
                                    llvm::ArrayRef<int64_t> keepDims);

/// The sharding of `transpose(x, permutation)` given x's sharding: result
/// data dim i takes source data dim permutation[i]; subgroups stay last.
ShardingAttr transposeSharding(ShardingAttr s,
                               llvm::ArrayRef<int64_t> permutation);

/// The sharding of `reshape(x)` from `sourceShape` to `targetShape` that
/// keeps every device's data in place: dims that split or merge compatibly
/// carry their tiling (the tile assignment is only reshaped, never
/// materialized). Fails when some sharded dim cannot keep its tiles.
mlir::FailureOr<ShardingAttr>
reshapeSharding(ShardingAttr s, llvm::ArrayRef<int64_t> sourceShape,
                llvm::ArrayRef<int64_t> targetShape);

/// Number of leaves of a (nested) tuple type; arrays and tokens count 1.
int64_t getLeafCount(mlir::Type type);
/// The sharding of element `index` of a value of tuple type `tupleType`.
/// Tuple shardings hold leaves flattened in pre-order, so a nested tuple
/// element gets the tuple of its leaves; a non-tuple sharding applies to
/// every element and is returned as is.
ShardingAttr getTupleElementSharding(ShardingAttr s, mlir::Type tupleType,
                                     int64_t index);
/// The same sharding without metadata (tuples: recursively).
inline ShardingAttr withoutMetadata(ShardingAttr s) {
  return s.withoutMetadata();
}

/// XLA's IsShardingMoreSpecific: `lhs` refines `rhs` (more tiles, or tiled
/// vs maximal, or manual vs maximal). Tuples: no element worse, one better.
bool isShardingMoreSpecific(ShardingAttr lhs, ShardingAttr rhs);
/// XLA's MergeShardingIfCompatible: combines two partially replicated (or
/// tile-maximal `dst`) shardings whose tiled dims do not conflict into one
/// with the union of their tilings, if that has at least `minimumTiles`
/// tiles and both inputs are partial replications of it. O(rank) when both
/// are iota and the merge is iota-expressible; O(devices) otherwise.
std::optional<ShardingAttr> mergeShardingIfCompatible(ShardingAttr toMerge,
                                                      ShardingAttr dst,
                                                      int64_t minimumTiles);
/// XLA's MergeSharding: `dst` updated with `toMerge`, tuples elementwise.
/// Returns whether `toMerge` improves `dst` (merged in place when
/// `mayCombinePartial` and both are compatible partial replications; else
/// the caller should take `toMerge` if it is more specific).
bool mergeSharding(ShardingAttr toMerge, ShardingAttr &dst,
                   bool mayCombinePartial = true);

//===----------------------------------------------------------------------===//
// Verification
//===----------------------------------------------------------------------===//

/// Checks `s` against a value of type `type` (XLA's HloSharding::Validate):
/// tuple arity matches the tuple type's leaves (a non-tuple sharding on a
/// tuple type applies to every leaf, as XLA's parser normalizes it), tiled
/// data rank equals the tensor rank, device ids are below `numDevices` when
/// it is positive (O(1) for iota), and a tiled sharding uses no more devices
/// than that. Token types accept any sharding.
mlir::LogicalResult
verifySharding(ShardingAttr s, mlir::Type type, int64_t numDevices,
               llvm::function_ref<mlir::InFlightDiagnostic()> emitError);

} // namespace gshard

#endif // GSHARD_SHARDING_SHARDING_H
