//===- WindowedEinsum.cpp - Dots that stream an operand around a ring ----===//
//
// When a dot's plan all-gathers one operand along a non-contracting dim (the
// other operand and the result keep their split of the other side), the
// gathered operand can be large: XLA's windowed einsum streams it instead.
// The k devices of each gather group form a ring; a while loop runs k
// steps, each multiplying the chunk a device holds by its local other
// operand into the matching slice of the result, then passing the chunk to
// the previous device of the ring with a collective-permute. Each device
// holds one chunk at a time instead of all k, and the permutes can overlap
// the multiplications. It is chosen when the gathered operand would exceed
// PartitionOptions::windowedEinsumThresholdMiB per device.
//
//===----------------------------------------------------------------------===//

#include "Spmd.h"

using namespace mlir;

namespace gshard::spmd {

namespace {

/// The one dim `r` of `own` whose gather turns it into `target` (every other
/// dim and the replication unchanged); -1 if there is none.
int64_t gatheredDim(ShardingAttr own, ShardingAttr target,
                    RankedTensorType type) {
  if (!own.isTiled())
    return -1;
  SmallVector<int64_t> tiles = getTilesPerDim(own, type.getRank());
  for (int64_t r = 0; r < type.getRank(); ++r) {
    if (tiles[r] == 1)
      continue;
    ShardingAttr gathered =
        normalizeForTensor(replicateOnDims(own, {r}), type.getRank());
    if (sameSharding(type, gathered, target))
      return r;
  }
  return -1;
}

/// Source-target pairs sending each device's chunk to the device one step
/// back along tile dim `dim` of `s` (same tile elsewhere, same replica).
SmallVector<int64_t> ringPairs(ShardingAttr s, int64_t dim) {
  TileAssignment ta = getTileAssignment(s);
  int64_t k = ta.getDim(dim);
  SmallVector<int64_t> pairs;
  for (int64_t flat = 0; flat < ta.getNumDevices(); ++flat) {
    SmallVector<int64_t> index = ta.unflatten(flat);
    int64_t source = ta.deviceAt(index);
    index[dim] = (index[dim] + k - 1) % k;
    pairs.push_back(source);
    pairs.push_back(ta.deviceAt(index));
  }
  return pairs;
}

/// A new computation named after `base` with one parameter of `paramType`,
/// whose root `build` returns from the parameter (ops built on an Spmd of
/// the new computation, located at `outer`'s current instruction).
FlatSymbolRefAttr
buildComputation(Spmd &outer, StringRef base, Type paramType,
                 llvm::function_ref<Value(Spmd &, Value)> build) {
  ModuleState &state = outer.state;
  MLIRContext *context = state.context;
  std::string name = state.uniqueComputationName(base);
  OpBuilder b(context);
  b.setInsertionPointToStart(state.module.getBody());
  OperationState computation(NameLoc::get(StringAttr::get(context, name)),
                             hlo::ComputationOp::getOperationName());
  computation.addAttribute("sym_name", StringAttr::get(context, name));
  computation.addRegion()->push_back(new Block());
  auto op = cast<hlo::ComputationOp>(b.create(computation));
  Spmd inner(state, op);
  inner.current = outer.current;
  inner.builder.setInsertionPointToEnd(&op.getBody().front());
  OperationState param(NameLoc::get(StringAttr::get(context, "state")),
                       hlo::ParameterOp::getOperationName());
  param.addAttribute("parameter_number",
                     IntegerAttr::get(IntegerType::get(context, 64), 0));
  param.addTypes(paramType);
  Value root = build(inner, inner.builder.create(param)->getResult(0));
  OperationState ret(inner.loc(), "hlo.return");
  ret.addOperands(root);
  inner.builder.create(ret);
  return FlatSymbolRefAttr::get(op.getSymNameAttr());
}

} // namespace

Value buildWindowedEinsum(Operation *op, Spmd &spmd,
                          const ContractionSpec &spec, const PValue &lhs,
                          const PValue &rhs, ShardingAttr lhsPlan,
                          ShardingAttr rhsPlan, ShardingAttr outPlan) {
  int64_t thresholdMiB = spmd.state.options.windowedEinsumThresholdMiB;
  if (thresholdMiB < 0 || !isa<hlo::DotOp>(op) || op->getNumOperands() != 2)
    return nullptr;
  auto outType = cast<RankedTensorType>(op->getResult(0).getType());
  // The streamed operand: the one whose plan gathers exactly one of its
  // own (non-contracting) dims, and whose gathered shard is over the
  // threshold.
  for (bool streamRhs : {true, false}) {
    const PValue &window = streamRhs ? rhs : lhs;
    const PValue &other = streamRhs ? lhs : rhs;
    ShardingAttr windowPlan = streamRhs ? rhsPlan : lhsPlan;
    ShardingAttr otherPlan = streamRhs ? lhsPlan : rhsPlan;
    ArrayRef<int64_t> toIter = streamRhs ? spec.rhsToIter : spec.lhsToIter;
    ArrayRef<int64_t> onlyIter =
        streamRhs ? spec.rhsOnlyIter : spec.lhsOnlyIter;
    auto type = dyn_cast<RankedTensorType>(window.global);
    if (!type)
      continue;
    ShardingAttr own = normalizeForTensor(window.sharding, type.getRank());
    if (!own.isTiled() || isManualSubgroup(own))
      continue;
    int64_t r = gatheredDim(own, windowPlan, type);
    if (r < 0 || !llvm::is_contained(onlyIter, toIter[r]))
      continue;
    int64_t gatheredBytes = getByteSize(getLocalType(type, windowPlan));
    if (gatheredBytes <= (thresholdMiB << 20))
      continue;
    int64_t outDim = spec.iterToOut[toIter[r]];
    if (outDim < 0)
      continue;
    int64_t k = getTilesPerDim(own, type.getRank())[r];
    auto chunkType = cast<RankedTensorType>(getLocalType(type, own));
    int64_t chunk = chunkType.getDimSize(r);
    auto localOut = cast<RankedTensorType>(getLocalType(outType, outPlan));
    if (localOut.getDimSize(outDim) != outType.getDimSize(outDim))
      continue; // the plan keeps the streamed dim whole in the result

    // Loop state: (other operand, chunk held, result, step, ring position).
    Value otherLocal = spmd.reshard(other, otherPlan);
    SmallVector<int64_t> accShape(localOut.getShape());
    accShape[outDim] = chunk * k;
    auto accType = RankedTensorType::get(accShape, localOut.getElementType());
    Value init = spmd.tuple({otherLocal, window.local, spmd.zeros(accType),
                             spmd.constantI32(0), spmd.tileIndex(own, r)});
    Type stateType = init.getType();

    spmd.current = op;
    FlatSymbolRefAttr cond = buildComputation(
        spmd, "windowed_einsum.cond", stateType, [&](Spmd &c, Value state) {
          return c.compare(c.getTupleElement(state, 3), c.constantI32(k),
                           hlo::ComparisonDirection::LT);
        });
    FlatSymbolRefAttr body = buildComputation(
        spmd, "windowed_einsum.body", stateType, [&](Spmd &b, Value state) {
          Value otherIn = b.getTupleElement(state, 0);
          Value chunkIn = b.getTupleElement(state, 1);
          Value acc = b.getTupleElement(state, 2);
          Value step = b.getTupleElement(state, 3);
          Value position = b.getTupleElement(state, 4);
          // At step i, ring position p holds chunk (p + i) mod k.
          Value held =
              b.binary("hlo.remainder", b.binary("hlo.add", position, step),
                       b.constantI32(k));
          SmallVector<int64_t> partialShape(accShape);
          partialShape[outDim] = chunk;
          auto partialType =
              RankedTensorType::get(partialShape, localOut.getElementType());
          Value partial = b.cloneWith(op,
                                      streamRhs ? ValueRange{otherIn, chunkIn}
                                                : ValueRange{chunkIn, otherIn},
                                      partialType)
                              ->getResult(0);
          SmallVector<Value> starts(accShape.size(), b.constantI32(0));
          starts[outDim] = b.binary("hlo.multiply", held, b.constantI32(chunk));
          acc = b.dynamicUpdateSlice(acc, partial, starts);
          b.recordFrom = own;
          b.recordTo = windowPlan;
          Value next = b.collectivePermute(
              chunkIn, ringPairs(own, r),
              "windowed einsum: pass the streamed operand's chunk along the "
              "ring");
          Value nextStep = b.binary("hlo.add", step, b.constantI32(1));
          return b.tuple({otherIn, next, acc, nextStep, position});
        });
    Value loop = spmd.create("hlo.while", init, stateType,
                             {spmd.builder.getNamedAttr("condition", cond),
                              spmd.builder.getNamedAttr("body", body)})
                     ->getResult(0);
    Value result = spmd.getTupleElement(loop, 2);
    if (chunk * k != localOut.getDimSize(outDim)) {
      SmallVector<int64_t> start(accShape.size(), 0);
      result = spmd.slice(result, start, localOut.getShape());
    }
    return result;
  }
  return nullptr;
}

} // namespace gshard::spmd
