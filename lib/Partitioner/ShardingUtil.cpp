//===- ShardingUtil.cpp - Sharding helpers of the partitioner -------------===//

#include "Spmd.h"

#include "llvm/Support/raw_ostream.h"

#include <numeric>

using namespace mlir;

namespace gshard::spmd {

ShardingAttr mapDims(ShardingAttr s, ArrayRef<int64_t> dstDimOfSrc,
                     int64_t dstRank) {
  if (!s || !s.isTiled())
    return s;
  MLIRContext *context = s.getContext();
  TileAssignment ta = getTileAssignment(s);
  int64_t dataRank = getTiledDataRank(s);
  assert(dataRank == int64_t(dstDimOfSrc.size()) && "rank mismatch");
  ArrayRef<int64_t> dims = ta.getDims();
  // 1. Drop the dropped (untiled) dims.
  SmallVector<int64_t> keptDims, keptDst;
  for (int64_t i = 0; i < dataRank; ++i) {
    if (dstDimOfSrc[i] < 0) {
      assert(dims[i] == 1 && "dropping a tiled dim");
      continue;
    }
    keptDims.push_back(dims[i]);
    keptDst.push_back(dstDimOfSrc[i]);
  }
  int64_t numKept = keptDims.size();
  SmallVector<int64_t> subgroupDims(dims.begin() + dataRank, dims.end());
  SmallVector<int64_t> reshaped(keptDims);
  reshaped.append(subgroupDims);
  if (reshaped.empty())
    reshaped.push_back(1);
  TileAssignment current = ta.reshape(reshaped);
  // 2. Order the kept dims by their destination.
  SmallVector<int64_t> order(numKept);
  std::iota(order.begin(), order.end(), 0);
  llvm::stable_sort(
      order, [&](int64_t a, int64_t b) { return keptDst[a] < keptDst[b]; });
  bool identity = llvm::is_sorted(order);
  if (!identity) {
    SmallVector<int64_t> perm(order);
    for (int64_t i = numKept; i < int64_t(reshaped.size()); ++i)
      perm.push_back(i);
    current = current.transpose(perm);
  }
  // 3. Insert unit dims for unmapped destination dims.
  SmallVector<int64_t> finalDims(dstRank, 1);
  for (int64_t k = 0; k < numKept; ++k)
    finalDims[keptDst[order[k]]] = keptDims[order[k]];
  finalDims.append(subgroupDims);
  current = current.reshape(finalDims);
  ShardingAttr result = getTiledSharding(
      context, current, s.getReplicateOnLastTileDim(), s.getLastTileDims(), {});
  return normalizeSharding(result);
}

ShardingAttr project(ShardingAttr iter, ArrayRef<int64_t> drop,
                     ArrayRef<int64_t> map, int64_t rank) {
  if (!iter.isTiled())
    return iter;
  ShardingAttr partial = replicateOnDims(iter, drop);
  if (!partial.isTiled())
    return partial;
  return mapDims(partial, map, rank);
}

double reshardCost(ShardingAttr from, ShardingAttr to, RankedTensorType type) {
  if (sameSharding(type, from, to))
    return 0;
  double global = getByteSize(type);
  double local = getByteSize(getLocalType(type, to));
  if (!from.isTiled())
    return from.isMaximal() ? global : 0.01 * local;
  if (!to.isTiled())
    return global;
  SmallVector<int64_t> ft = getTilesPerDim(from, type.getRank());
  SmallVector<int64_t> tt = getTilesPerDim(to, type.getRank());
  bool refines = true;
  for (size_t i = 0; i < ft.size(); ++i)
    refines &= tt[i] % ft[i] == 0;
  return refines ? 0.01 * local + 1 : 2 * local;
}

ShardingAttr wholeValueSharding(ShardingAttr s, int64_t rank) {
  if (!s)
    return nullptr;
  MLIRContext *context = s.getContext();
  if (isManual(s))
    return ShardingAttr::getManual(context);
  if (s.isTiled() && isManualSubgroup(s)) {
    ShardingAttr partial = replicateAllDimsExcept(s, {});
    if (!partial.isTiled())
      return partial;
    SmallVector<int64_t> dropped(getTiledDataRank(partial), -1);
    return normalizeForTensor(mapDims(partial, dropped, rank), rank);
  }
  return ShardingAttr::getReplicated(context);
}

ShardingAttr normalizeForTensor(ShardingAttr s, int64_t rank) {
  if (!s)
    return nullptr;
  if (s.isTuple()) {
    if (s.getTupleElements().size() != 1)
      return s;
    s = s.getTupleElements()[0];
  }
  s = canonicalizeSharding(s.withoutMetadata());
  if (s.isTiled() && (rank == 0 || isTriviallyReplicated(s)))
    return ShardingAttr::getReplicated(s.getContext());
  return s;
}

Type getLocalType(Type global, ShardingAttr s) {
  if (auto tuple = dyn_cast<TupleType>(global)) {
    SmallVector<Type> elements;
    for (int64_t i = 0, e = tuple.size(); i < e; ++i)
      elements.push_back(getLocalType(
          tuple.getType(i), s ? getTupleElementSharding(s, tuple, i) : s));
    return TupleType::get(global.getContext(), elements);
  }
  auto tensor = dyn_cast<RankedTensorType>(global);
  if (!tensor)
    return global;
  s = normalizeForTensor(s, tensor.getRank());
  if (!s || !s.isTiled())
    return global;
  return withShape(tensor, getTileShape(s, tensor.getShape()));
}

int64_t getElementBytes(Type elementType) {
  if (auto complex = dyn_cast<ComplexType>(elementType))
    return 2 * getElementBytes(complex.getElementType());
  int64_t bits = elementType.getIntOrFloatBitWidth();
  return std::max<int64_t>(1, (bits + 7) / 8);
}

int64_t getByteSize(Type type) {
  if (auto tuple = dyn_cast<TupleType>(type)) {
    int64_t total = 0;
    for (Type t : tuple.getTypes())
      total += getByteSize(t);
    return total;
  }
  auto tensor = dyn_cast<RankedTensorType>(type);
  if (!tensor)
    return 0;
  return tensor.getNumElements() * getElementBytes(tensor.getElementType());
}

RankedTensorType withShape(RankedTensorType like, ArrayRef<int64_t> shape) {
  Attribute encoding;
  if (int64_t(shape.size()) == like.getRank())
    encoding = like.getEncoding();
  return RankedTensorType::get(shape, like.getElementType(), encoding);
}

std::string toString(ShardingAttr s) {
  if (!s)
    return "{replicated}";
  std::string text;
  llvm::raw_string_ostream os(text);
  s.withoutMetadata().printHlo(os);
  return text;
}

ShardingAttr getResultSharding(Operation *op) {
  auto s = op->getAttrOfType<ShardingAttr>("sharding");
  MLIRContext *context = op->getContext();
  if (!s)
    return ShardingAttr::getReplicated(context);
  return s.withoutMetadata();
}

} // namespace gshard::spmd
