//===- Sharding.h - Tile queries the simulator needs ------------*- C++ -*-===//
//
// Part of gshard, under the Apache License v2.0.
//
// Where a device's shard of an array lives under an `hlo::ShardingAttr`:
// tile offset = tile index * ceil(n / tiles) per data dimension. Small
// helpers for the simulator (splitting inputs, reassembling outputs,
// SPMDFullToShardShape); they materialize the tile assignment, which is
// O(devices) and fine for simulated device counts.
//
//===----------------------------------------------------------------------===//

#ifndef GSHARD_SIM_SHARDING_H
#define GSHARD_SIM_SHARDING_H

#include "gshard/IR/HloOps.h"

#include "llvm/ADT/SmallVector.h"

#include <optional>

namespace gshard::sim {

/// The devices of a tiled sharding in tile-assignment order (row-major over
/// getTileDims()).
llvm::SmallVector<int64_t> getTileAssignment(hlo::ShardingAttr sharding);

/// Number of leading tile dimensions that tile data (the rest are
/// replication / manual subgroups).
int64_t getNumDataTileDims(hlo::ShardingAttr sharding);

/// For a tiled sharding of an array of `shape`, the tile index of `device`
/// along each data dimension; std::nullopt if the device holds no tile.
/// Replicated and maximal shardings give all zeros (the whole array).
std::optional<llvm::SmallVector<int64_t>>
getTileIndex(hlo::ShardingAttr sharding, int64_t rank, int64_t device);

/// Number of tiles along each data dimension (1 for untiled shardings).
llvm::SmallVector<int64_t> getTileCounts(hlo::ShardingAttr sharding,
                                         int64_t rank);

/// Per-dimension shard size: ceil(n / tiles).
llvm::SmallVector<int64_t> getShardShape(hlo::ShardingAttr sharding,
                                         llvm::ArrayRef<int64_t> shape);

/// Largest device id a sharding (incl. tuple elements) names, or -1.
int64_t getMaxDevice(hlo::ShardingAttr sharding);

} // namespace gshard::sim

#endif // GSHARD_SIM_SHARDING_H
