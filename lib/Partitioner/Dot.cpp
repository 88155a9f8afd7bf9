//===- Dot.cpp - Dot (einsum) ---------------------------------------------===//
//
// A dot is an iteration space of batch, lhs non-contracting, rhs
// non-contracting and contracting dims. The handler picks a sharding of that
// space from the lhs, the rhs or the result (the cheapest by estimated bytes
// moved): each operand takes the space's tiling on its dims (the other
// side's non-contracting tiling becomes replication), the local dot runs on
// the shards, and when contracting dims are tiled the partial sums are
// all-reduced across the devices along them. Uneven contracting shards are
// masked to zero on both sides.
//
//===----------------------------------------------------------------------===//

#include "Spmd.h"

using namespace mlir;

namespace gshard::spmd {

namespace {

struct DotDims {
  SmallVector<int64_t> lhsBatch, rhsBatch, lhsContracting, rhsContracting;
  SmallVector<int64_t> lhsFree, rhsFree;
  int64_t nb = 0, nl = 0, nr = 0, nc = 0;
  int64_t iterRank() const { return nb + nl + nr + nc; }
  // Dim maps into the iteration space and back (-1: absent).
  SmallVector<int64_t> lhsToIter, rhsToIter, outToIter;
  SmallVector<int64_t> iterToLhs, iterToRhs, iterToOut;
  SmallVector<int64_t> lhsFreeIter, rhsFreeIter, contractingIter;
};

DotDims analyze(hlo::DotOp dot) {
  DotDims d;
  auto get = [](std::optional<ArrayRef<int64_t>> a) {
    return a ? SmallVector<int64_t>(a->begin(), a->end())
             : SmallVector<int64_t>();
  };
  d.lhsBatch = get(dot.getLhsBatchDims());
  d.rhsBatch = get(dot.getRhsBatchDims());
  d.lhsContracting = get(dot.getLhsContractingDims());
  d.rhsContracting = get(dot.getRhsContractingDims());
  int64_t lhsRank = cast<RankedTensorType>(dot.getLhs().getType()).getRank();
  int64_t rhsRank = cast<RankedTensorType>(dot.getRhs().getType()).getRank();
  for (int64_t i = 0; i < lhsRank; ++i)
    if (!llvm::is_contained(d.lhsBatch, i) &&
        !llvm::is_contained(d.lhsContracting, i))
      d.lhsFree.push_back(i);
  for (int64_t i = 0; i < rhsRank; ++i)
    if (!llvm::is_contained(d.rhsBatch, i) &&
        !llvm::is_contained(d.rhsContracting, i))
      d.rhsFree.push_back(i);
  d.nb = d.lhsBatch.size();
  d.nl = d.lhsFree.size();
  d.nr = d.rhsFree.size();
  d.nc = d.lhsContracting.size();
  int64_t n = d.iterRank();
  d.lhsToIter.assign(lhsRank, -1);
  d.rhsToIter.assign(rhsRank, -1);
  d.iterToLhs.assign(n, -1);
  d.iterToRhs.assign(n, -1);
  d.iterToOut.assign(n, -1);
  for (int64_t i = 0; i < d.nb; ++i) {
    d.lhsToIter[d.lhsBatch[i]] = i;
    d.rhsToIter[d.rhsBatch[i]] = i;
  }
  for (int64_t i = 0; i < d.nl; ++i) {
    d.lhsToIter[d.lhsFree[i]] = d.nb + i;
    d.lhsFreeIter.push_back(d.nb + i);
  }
  for (int64_t i = 0; i < d.nr; ++i) {
    d.rhsToIter[d.rhsFree[i]] = d.nb + d.nl + i;
    d.rhsFreeIter.push_back(d.nb + d.nl + i);
  }
  for (int64_t i = 0; i < d.nc; ++i) {
    d.lhsToIter[d.lhsContracting[i]] = d.nb + d.nl + d.nr + i;
    d.rhsToIter[d.rhsContracting[i]] = d.nb + d.nl + d.nr + i;
    d.contractingIter.push_back(d.nb + d.nl + d.nr + i);
  }
  for (int64_t i = 0; i < lhsRank; ++i)
    d.iterToLhs[d.lhsToIter[i]] = i;
  for (int64_t i = 0; i < rhsRank; ++i)
    d.iterToRhs[d.rhsToIter[i]] = i;
  for (int64_t i = 0; i < d.nb + d.nl + d.nr; ++i) {
    d.outToIter.push_back(i);
    d.iterToOut[i] = i;
  }
  return d;
}

/// Operand and result shardings implied by an iteration-space sharding.
struct Plan {
  ShardingAttr iter, lhs, rhs, out;
  SmallVector<int64_t> contractingTiled;
  double cost = 0;
};

/// When the contraction is split along exactly one contracting dim over k
/// devices and the result's own sharding is the plan's output sharding with
/// that split moved onto an untiled output dim: that dim and the sharding.
/// Group member i of the partial-sum groups then holds chunk i, which is
/// what reduce-scatter delivers.
std::optional<std::pair<int64_t, ShardingAttr>>
reduceScatterTarget(const ContractionSpec &spec, const Plan &plan,
                    ShardingAttr result, RankedTensorType outType) {
  if (plan.contractingTiled.size() != 1 || !result.isTiled() ||
      !plan.iter.isTiled())
    return std::nullopt;
  int64_t c = plan.contractingTiled[0];
  int64_t outRank = outType.getRank();
  SmallVector<int64_t> planTiles = getTilesPerDim(plan.out, outRank);
  SmallVector<int64_t> iterTiles = getTilesPerDim(plan.iter, spec.iterRank);
  SmallVector<int64_t> resultTiles = getTilesPerDim(result, outRank);
  for (int64_t d = 0; d < outRank; ++d) {
    int64_t i = spec.outToIter[d];
    if (i < 0 || planTiles[d] != 1 || iterTiles[i] != 1 ||
        resultTiles[d] != iterTiles[c])
      continue;
    TileAssignment ta = getTileAssignment(plan.iter);
    SmallVector<int64_t> swap;
    for (int64_t t = 0; t < ta.getRank(); ++t)
      swap.push_back(t == c ? i : (t == i ? c : t));
    ShardingAttr iter = getTiledSharding(
        plan.iter.getContext(), ta.transpose(swap),
        plan.iter.getReplicateOnLastTileDim(), plan.iter.getLastTileDims());
    ShardingAttr out = normalizeForTensor(
        project(iter, spec.contractingIter, spec.iterToOut, outRank), outRank);
    if (sameSharding(outType, out, result))
      return std::make_pair(d, out);
  }
  return std::nullopt;
}

} // namespace

LogicalResult partitionContraction(Operation *op, Spmd &spmd,
                                   const ContractionSpec &spec) {
  MLIRContext *context = op->getContext();
  Value lhsValue = op->getOperand(0), rhsValue = op->getOperand(1);
  auto lhsType = cast<RankedTensorType>(lhsValue.getType());
  auto rhsType = cast<RankedTensorType>(rhsValue.getType());
  auto outType = cast<RankedTensorType>(op->getResult(0).getType());
  int64_t iterRank = spec.iterRank;
  ShardingAttr result =
      normalizeForTensor(getResultSharding(op), outType.getRank());
  PValue lhs = spmd.get(lhsValue);
  PValue rhs = spmd.get(rhsValue);
  ShardingAttr lhsOwn = normalizeForTensor(lhs.sharding, lhsType.getRank());
  ShardingAttr rhsOwn = normalizeForTensor(rhs.sharding, rhsType.getRank());
  auto manual = [](ShardingAttr s) {
    return s.isManual() || isManualSubgroup(s);
  };
  if (manual(result) || result.isMaximal() || manual(lhsOwn) || manual(rhsOwn))
    return partitionReplicated(op, spmd);
  // An operand on one device is broadcast whatever the plan (reshard does
  // it); plans are chosen as if it were replicated.
  ShardingAttr replicated = ShardingAttr::getReplicated(context);
  if (lhsOwn.isMaximal())
    lhsOwn = replicated;
  if (rhsOwn.isMaximal())
    rhsOwn = replicated;

  // A sharding of the iteration space from an operand's or the result's,
  // with the dims outside the space (convolution windows) replicated.
  auto toIter = [&](ShardingAttr s, ArrayRef<int64_t> map) -> ShardingAttr {
    if (!s.isTiled())
      return nullptr;
    SmallVector<int64_t> unmapped;
    for (auto [i, m] : llvm::enumerate(map))
      if (m < 0)
        unmapped.push_back(i);
    ShardingAttr partial = replicateOnDims(s, unmapped);
    if (!partial.isTiled())
      return nullptr;
    return mapDims(partial, map, iterRank);
  };
  SmallVector<ShardingAttr> candidates;
  ShardingAttr fromLhs = toIter(lhsOwn, spec.lhsToIter);
  ShardingAttr fromRhs = toIter(rhsOwn, spec.rhsToIter);
  ShardingAttr fromOut = toIter(result, spec.outToIter);
  for (ShardingAttr c : {fromLhs, fromRhs, fromOut})
    if (c)
      candidates.push_back(c);
  // The lhs and rhs tilings combined, when they do not conflict.
  if (fromLhs && fromRhs)
    if (std::optional<ShardingAttr> m =
            mergeShardingIfCompatible(fromRhs, fromLhs, 1))
      candidates.push_back(*m);
  candidates.push_back(ShardingAttr::getReplicated(context));

  Plan best;
  bool haveBest = false;
  for (ShardingAttr iter : candidates) {
    if (spec.legalize)
      iter = spec.legalize(iter);
    Plan plan;
    plan.iter = iter;
    plan.lhs = normalizeForTensor(
        project(iter, spec.rhsOnlyIter, spec.iterToLhs, lhsType.getRank()),
        lhsType.getRank());
    plan.rhs = normalizeForTensor(
        project(iter, spec.lhsOnlyIter, spec.iterToRhs, rhsType.getRank()),
        rhsType.getRank());
    plan.out = normalizeForTensor(
        project(iter, spec.contractingIter, spec.iterToOut, outType.getRank()),
        outType.getRank());
    if (iter.isTiled()) {
      SmallVector<int64_t> tiles = getTilesPerDim(iter, iterRank);
      for (int64_t c : spec.contractingIter)
        if (tiles[c] > 1)
          plan.contractingTiled.push_back(c);
    }
    plan.cost = reshardCost(lhsOwn, plan.lhs, lhsType) +
                reshardCost(rhsOwn, plan.rhs, rhsType) +
                reshardCost(plan.out, result, outType);
    if (!plan.contractingTiled.empty())
      plan.cost += getByteSize(getLocalType(outType, plan.out));
    if (!haveBest || plan.cost < best.cost) {
      best = plan;
      haveBest = true;
    }
  }

  if (best.contractingTiled.empty())
    if (Value local = buildWindowedEinsum(op, spmd, spec, lhs, rhs, best.lhs,
                                          best.rhs, best.out)) {
      spmd.set(op->getResult(0), {local, best.out, outType});
      return success();
    }
  Value lhsLocal = spmd.reshard(lhs, best.lhs);
  Value rhsLocal = spmd.reshard(rhs, best.rhs);
  if (!best.contractingTiled.empty()) {
    lhsLocal =
        spmd.maskPadding(lhsLocal, best.lhs, lhsType, spec.lhsContracting);
    rhsLocal =
        spmd.maskPadding(rhsLocal, best.rhs, rhsType, spec.rhsContracting);
  }
  auto localOut = cast<RankedTensorType>(getLocalType(outType, best.out));
  Type element = outType.getElementType();
  // Partial sums of a narrow float type (bf16, f16, f8) are produced and
  // all-reduced in f32 and rounded once at the end: rounding every partial
  // sum to the narrow type would make the result depend on how the
  // contraction is split (errors of several ulps where partial sums cancel).
  Type partialElement = element;
  if (!best.contractingTiled.empty())
    if (auto f = dyn_cast<FloatType>(element); f && f.getWidth() < 32)
      partialElement = Float32Type::get(context);
  SmallVector<Value> operands{lhsLocal, rhsLocal};
  for (Value extra : op->getOperands().drop_front(2))
    operands.push_back(
        spmd.operand(extra, ShardingAttr::getReplicated(context)));
  auto localType = RankedTensorType::get(localOut.getShape(), partialElement,
                                         localOut.getEncoding());
  Value local =
      spec.buildLocal
          ? spec.buildLocal(best.iter, best.lhs, operands[0], operands[1],
                            ArrayRef<Value>(operands).drop_front(2), localType)
          : spmd.cloneWith(op, operands, localType)->getResult(0);
  // Partial sums combine across the devices that differ only in the tiled
  // contracting dims (`or` for pred, `add` otherwise) by `collective` (an
  // all-reduce or a reduce-scatter), recorded as a reshard from the
  // iteration space to `to`, and are rounded to the result type once.
  auto combinePartialSums = [&](ShardingAttr to, auto collective) {
    spmd.recordFrom = best.iter;
    spmd.recordTo = to;
    local =
        collective(getDeviceGroupsForDims(best.iter, best.contractingTiled),
                   spmd.state.getReducer(element.isInteger(1) ? ReduceKind::Or
                                                              : ReduceKind::Add,
                                         partialElement));
    spmd.recordFrom = spmd.recordTo = nullptr;
    local = spmd.convert(local, element);
  };
  if (std::optional<std::pair<int64_t, ShardingAttr>> scatter =
          reduceScatterTarget(spec, best, result, outType)) {
    // The result wants the contracting split on output dim `dim`: each
    // device keeps only its chunk of the sum (reduce-scatter instead of
    // all-reduce + slice). Dim `dim` is whole locally; pad it to k chunks.
    int64_t dim = scatter->first;
    ShardingAttr scattered = scatter->second;
    int64_t k = getTilesPerDim(scattered, outType.getRank())[dim];
    auto type = cast<RankedTensorType>(local.getType());
    int64_t chunk = (outType.getDimSize(dim) + k - 1) / k;
    SmallVector<int64_t> low(type.getRank(), 0), high(type.getRank(), 0);
    high[dim] = chunk * k - type.getDimSize(dim);
    if (high[dim] != 0)
      local =
          spmd.pad(local, spmd.constantScalar(partialElement, 0), low, high);
    combinePartialSums(scattered, [&](hlo::ReplicaGroupsAttr groups,
                                      FlatSymbolRefAttr reducer) {
      return spmd.reduceScatter(
          local, dim, groups, reducer,
          "partial sums over sharded contracting dims, scattered");
    });
    spmd.set(op->getResult(0), {local, scattered, outType});
    return success();
  }
  if (!best.contractingTiled.empty())
    combinePartialSums(best.out, [&](hlo::ReplicaGroupsAttr groups,
                                     FlatSymbolRefAttr reducer) {
      return spmd.allReduce(local, groups, reducer,
                            "partial sums over sharded contracting dims");
    });
  spmd.set(op->getResult(0), {local, best.out, outType});
  return success();
}

static LogicalResult partitionDot(Operation *op, Spmd &spmd) {
  auto dot = cast<hlo::DotOp>(op);
  auto outType = cast<RankedTensorType>(dot.getType());
  DotDims d = analyze(dot);
  if (outType.getRank() != d.nb + d.nl + d.nr || op->getNumOperands() != 2)
    return partitionReplicated(op, spmd, "unexpected dot form");
  ContractionSpec spec;
  spec.iterRank = d.iterRank();
  spec.lhsToIter = d.lhsToIter;
  spec.rhsToIter = d.rhsToIter;
  spec.outToIter = d.outToIter;
  spec.iterToLhs = d.iterToLhs;
  spec.iterToRhs = d.iterToRhs;
  spec.iterToOut = d.iterToOut;
  spec.lhsOnlyIter = d.lhsFreeIter;
  spec.rhsOnlyIter = d.rhsFreeIter;
  spec.contractingIter = d.contractingIter;
  spec.lhsContracting = d.lhsContracting;
  spec.rhsContracting = d.rhsContracting;
  return partitionContraction(op, spmd, spec);
}

void registerDotHandlers(HandlerMap &map) { map["hlo.dot"] = partitionDot; }

} // namespace gshard::spmd
