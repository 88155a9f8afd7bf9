//===- Sharding.cpp - Tile queries the simulator needs --------------------===//
//
// Part of gshard, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#include "gshard/Sim/Sharding.h"

#include "gshard/Sim/Literal.h"

using namespace gshard;
using namespace gshard::sim;

llvm::SmallVector<int64_t>
gshard::sim::getTileAssignment(hlo::ShardingAttr sharding) {
  llvm::SmallVector<int64_t> devices;
  if (!sharding.isIota()) {
    devices.assign(sharding.getDevices().begin(), sharding.getDevices().end());
    return devices;
  }
  int64_t total = sharding.getNumTileDevices();
  llvm::ArrayRef<int64_t> reshape = sharding.getIotaReshapeDims();
  llvm::ArrayRef<int64_t> perm = sharding.getIotaPerm();
  if (reshape.empty() || perm.empty()) {
    for (int64_t d = 0; d < total; ++d)
      devices.push_back(d);
    return devices;
  }
  // iota(reshape) transposed by perm: position idx in the transposed array
  // reads source index src[perm[i]] = idx[i].
  llvm::SmallVector<int64_t> transposed;
  for (int64_t p : perm)
    transposed.push_back(reshape[p]);
  llvm::SmallVector<int64_t> srcStrides(reshape.size(), 1);
  for (int64_t d = static_cast<int64_t>(reshape.size()) - 2; d >= 0; --d)
    srcStrides[d] = srcStrides[d + 1] * reshape[d + 1];
  llvm::SmallVector<int64_t> index(transposed.size(), 0);
  for (int64_t i = 0; i < total; ++i) {
    int64_t value = 0;
    for (size_t k = 0; k < perm.size(); ++k)
      value += index[k] * srcStrides[perm[k]];
    devices.push_back(value);
    nextIndex(index, transposed);
  }
  return devices;
}

int64_t gshard::sim::getNumDataTileDims(hlo::ShardingAttr sharding) {
  int64_t dims = sharding.getTileDims().size();
  if (sharding.getReplicateOnLastTileDim())
    return dims - 1;
  return dims - static_cast<int64_t>(sharding.getLastTileDims().size());
}

std::optional<llvm::SmallVector<int64_t>>
gshard::sim::getTileIndex(hlo::ShardingAttr sharding, int64_t rank,
                          int64_t device) {
  llvm::SmallVector<int64_t> index(rank, 0);
  if (!sharding || !sharding.isTiled())
    return index;
  llvm::SmallVector<int64_t> devices = getTileAssignment(sharding);
  llvm::ArrayRef<int64_t> tileDims = sharding.getTileDims();
  auto it = llvm::find(devices, device);
  if (it == devices.end())
    return std::nullopt;
  int64_t linear = it - devices.begin();
  llvm::SmallVector<int64_t> full(tileDims.size(), 0);
  for (int64_t d = static_cast<int64_t>(tileDims.size()) - 1; d >= 0; --d) {
    full[d] = linear % tileDims[d];
    linear /= tileDims[d];
  }
  for (int64_t d = 0; d < rank && d < static_cast<int64_t>(full.size()); ++d)
    index[d] = full[d];
  return index;
}

llvm::SmallVector<int64_t> gshard::sim::getTileCounts(hlo::ShardingAttr sharding,
                                                      int64_t rank) {
  llvm::SmallVector<int64_t> counts(rank, 1);
  if (!sharding || !sharding.isTiled())
    return counts;
  int64_t dataDims = getNumDataTileDims(sharding);
  for (int64_t d = 0; d < rank && d < dataDims; ++d)
    counts[d] = sharding.getTileDims()[d];
  return counts;
}

llvm::SmallVector<int64_t>
gshard::sim::getShardShape(hlo::ShardingAttr sharding,
                           llvm::ArrayRef<int64_t> shape) {
  llvm::SmallVector<int64_t> counts = getTileCounts(sharding, shape.size());
  llvm::SmallVector<int64_t> result;
  for (size_t d = 0; d < shape.size(); ++d)
    result.push_back((shape[d] + counts[d] - 1) / counts[d]);
  return result;
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
