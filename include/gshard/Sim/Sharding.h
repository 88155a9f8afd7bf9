//===- Sharding.h - Where devices' shards live ------------------*- C++ -*-===//
//
// Part of gshard, under the Apache License v2.0.
//
// The simulator splits inputs into shards, reassembles outputs and runs
// SPMDFullToShardShape/SPMDShardToFullShape with the sharding value model of
// lib/Sharding (`getTileShape`, `getTileAssignment`, tile offset = tile index
// * ceil(n / tiles), clamped to n). `TileBoxes` queries one sharding for
// many devices: the tile assignment (and, for explicit device lists, its
// inverse) is built once.
//
//===----------------------------------------------------------------------===//

#ifndef GSHARD_SIM_SHARDING_H
#define GSHARD_SIM_SHARDING_H

#include "gshard/Sharding/Sharding.h"

#include "llvm/ADT/SmallVector.h"

#include <optional>
#include <string>

namespace gshard::sim {

/// The tile of each device of a tiled sharding of an array of `shape`.
class TileBoxes {
public:
  /// `sharding` must be tiled. Fails (see getError) if its data rank is not
  /// the array's rank.
  TileBoxes(hlo::ShardingAttr sharding, llvm::ArrayRef<int64_t> shape);

  bool isValid() const { return error.empty(); }
  const std::string &getError() const { return error; }
  /// The padded per-device shard shape: ceil(n / tiles) per dimension.
  llvm::ArrayRef<int64_t> getTileShape() const { return tileShape; }
  /// Tiles along each dimension.
  llvm::ArrayRef<int64_t> getTileCounts() const { return tileCounts; }

  /// Start of `device`'s tile in the global array and how many of its
  /// elements lie inside it per dimension (less than the tile shape for the
  /// last tiles of an uneven dimension). False if the device holds no tile.
  bool getBox(int64_t device, llvm::SmallVectorImpl<int64_t> &start,
              llvm::SmallVectorImpl<int64_t> &size) const;

  /// `device`'s tile index along each dimension, if it holds a tile.
  std::optional<llvm::SmallVector<int64_t>> getTileIndex(int64_t device) const;

private:
  TileAssignment assignment;
  llvm::SmallVector<int64_t> shape, tileShape, tileCounts;
  std::string error;
};

/// Largest device id a sharding (incl. tuple elements) names, or -1.
int64_t getMaxDevice(hlo::ShardingAttr sharding);

} // namespace gshard::sim

#endif // GSHARD_SIM_SHARDING_H
