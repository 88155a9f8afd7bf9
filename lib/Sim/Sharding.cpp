//===- Sharding.cpp - Where devices' shards live, for the simulator -------===//
//
// Part of gshard, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#include "gshard/Sim/Sharding.h"

using namespace gshard;
using namespace gshard::sim;

TileBoxes::TileBoxes(hlo::ShardingAttr sharding, llvm::ArrayRef<int64_t> shape)
    : shape(shape.begin(), shape.end()) {
  assert(sharding && sharding.isTiled() && "not a tiled sharding");
  int64_t dataRank = getTiledDataRank(sharding);
  if (dataRank != static_cast<int64_t>(shape.size())) {
    error = "the sharding tiles " + std::to_string(dataRank) +
            " dimensions of a rank-" + std::to_string(shape.size()) + " array";
    return;
  }
  assignment = gshard::getTileAssignment(sharding);
  tileShape = gshard::getTileShape(sharding, shape);
  tileCounts = getTilesPerDim(sharding, shape.size());
}

std::optional<llvm::SmallVector<int64_t>>
TileBoxes::getTileIndex(int64_t device) const {
  if (!isValid())
    return std::nullopt;
  std::optional<llvm::SmallVector<int64_t>> index = assignment.indexOf(device);
  if (index)
    index->resize(shape.size());
  return index;
}

bool TileBoxes::getBox(int64_t device, llvm::SmallVectorImpl<int64_t> &start,
                       llvm::SmallVectorImpl<int64_t> &size) const {
  if (!isValid())
    return false;
  std::optional<llvm::SmallVector<int64_t>> index = assignment.indexOf(device);
  if (!index)
    return false;
  start.clear();
  size.clear();
  for (size_t d = 0; d < shape.size(); ++d) {
    int64_t offset = std::min((*index)[d] * tileShape[d], shape[d]);
    start.push_back(offset);
    size.push_back(std::min(tileShape[d], shape[d] - offset));
  }
  return true;
}

int64_t gshard::sim::getMaxDevice(hlo::ShardingAttr sharding) {
  if (!sharding)
    return -1;
  int64_t best = -1;
  if (sharding.isTuple()) {
    for (hlo::ShardingAttr element : sharding.getTupleElements())
      best = std::max(best, getMaxDevice(element));
    return best;
  }
  if (sharding.isMaximal())
    return sharding.getDevices().empty() ? -1 : sharding.getDevices()[0];
  if (sharding.isTiled()) {
    if (sharding.isIota())
      return sharding.getNumTileDevices() - 1;
    for (int64_t d : sharding.getDevices())
      best = std::max(best, d);
  }
  return best;
}
