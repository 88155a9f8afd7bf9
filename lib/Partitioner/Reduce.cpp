//===- Reduce.cpp - Reductions --------------------------------------------===//
//
// The inputs keep their tiling on reduced dims when their kept dims already
// match the result's sharding: each device reduces its shard (padding masked
// with the init value) and the partial results are combined across the
// devices along the reduced tile dims, by an all-reduce with the reduction
// computation (one input) or an all-gather plus a second local reduce
// (variadic reduces). Otherwise the inputs take the result's tiling on the
// kept dims and the reduce is local.
//
//===----------------------------------------------------------------------===//

#include "Spmd.h"

#include "mlir/IR/SymbolTable.h"

using namespace mlir;

namespace gshard::spmd {

Operation *binaryReducerRoot(Operation *op, FlatSymbolRefAttr reducer) {
  auto module = op->getParentOfType<ModuleOp>();
  auto computation = dyn_cast_or_null<hlo::ComputationOp>(
      SymbolTable::lookupSymbolIn(module, reducer.getAttr()));
  if (!computation)
    return nullptr;
  Operation *root = computation.getRoot().getDefiningOp();
  if (!root || root->getNumOperands() != 2 ||
      root->getOperand(0) == root->getOperand(1))
    return nullptr;
  for (Value v : root->getOperands())
    if (!v.getDefiningOp() || !isa<hlo::ParameterOp>(v.getDefiningOp()))
      return nullptr;
  return root;
}

/// Whether `reducer` (a computation symbol) is a plain `add(p0, p1)`.
static bool isAddReducer(Operation *op, FlatSymbolRefAttr reducer) {
  return isa_and_nonnull<hlo::AddOp>(binaryReducerRoot(op, reducer));
}

bool initFillIsExact(Operation *op, FlatSymbolRefAttr reducer, Value init) {
  Operation *root = binaryReducerRoot(op, reducer);
  if (!root)
    return false;
  // Idempotent reducers: the init value is already part of the result.
  if (isa<hlo::MaximumOp, hlo::MinimumOp, hlo::AndOp, hlo::OrOp>(root))
    return true;
  if (!isa<hlo::AddOp, hlo::MultiplyOp>(root))
    return false;
  Operation *def = init.getDefiningOp();
  auto value = def && isa<hlo::ConstantOp>(def)
                   ? def->getAttrOfType<DenseElementsAttr>("value")
                   : DenseElementsAttr();
  if (!value || !value.isSplat())
    return false;
  double identity = isa<hlo::AddOp>(root) ? 0 : 1;
  Type element = value.getElementType();
  if (isa<FloatType>(element))
    return value.getSplatValue<APFloat>().convertToDouble() == identity;
  if (auto integer = dyn_cast<IntegerType>(element))
    return value.getSplatValue<APInt>() ==
           APInt(integer.getWidth(), int64_t(identity));
  return false;
}

static LogicalResult partitionReduce(Operation *op, Spmd &spmd) {
  auto reduce = cast<hlo::ReduceOp>(op);
  MLIRContext *context = op->getContext();
  int64_t numInputs = reduce.getNumInputs();
  auto inputType = cast<RankedTensorType>(reduce.getInputs()[0].getType());
  int64_t rank = inputType.getRank();
  ArrayRef<int64_t> reduced = reduce.getDimensions();
  Type resultType = op->getResult(0).getType();
  auto tupleType = dyn_cast<TupleType>(resultType);
  auto firstResult =
      cast<RankedTensorType>(tupleType ? tupleType.getType(0) : resultType);
  int64_t resultRank = firstResult.getRank();
  ShardingAttr result = getResultSharding(op);
  ShardingAttr leaf =
      tupleType ? getTupleElementSharding(result, tupleType, 0) : result;
  leaf = normalizeForTensor(leaf, resultRank);
  if (tupleType)
    for (int64_t i = 1; i < numInputs; ++i)
      if (!sameSharding(tupleType.getType(i),
                        getTupleElementSharding(result, tupleType, i), leaf))
        return partitionReplicated(op, spmd,
                                   "the results are sharded differently");
  // Manual subgroups reduce like any tiling: collectives along data dims stay
  // within each manual group.
  if (leaf.isManual() || leaf.isMaximal())
    return partitionReplicated(op, spmd);

  // Operand dim -> result dim (-1 for reduced dims) and back.
  SmallVector<int64_t> toResult(rank, -1), toOperand;
  for (int64_t d = 0; d < rank; ++d)
    if (!llvm::is_contained(reduced, d)) {
      toResult[d] = toOperand.size();
      toOperand.push_back(d);
    }
  SmallVector<int64_t> resultToOperand(resultRank);
  for (int64_t i = 0; i < resultRank; ++i)
    resultToOperand[i] = toOperand[i];

  // Keep the first input's sharding if its kept dims already match.
  PValue first = spmd.get(reduce.getInputs()[0]);
  ShardingAttr own = normalizeForTensor(first.sharding, rank);
  ShardingAttr target;
  // (A single-input reduce with a non-identity init of a non-idempotent
  // reducer would count the init once per shard: reduce whole dims then.)
  bool partialOk =
      numInputs != 1 ||
      initFillIsExact(op, reduce.getToApplyAttr(), reduce.getInitValues()[0]);
  if (own.isTiled() && partialOk &&
      sameManualGroups(own, leaf, spmd.numPartitions())) {
    ShardingAttr kept = replicateOnDims(own, reduced);
    ShardingAttr keptResult =
        kept.isTiled() ? mapDims(kept, toResult, resultRank) : kept;
    if (sameSharding(firstResult, keptResult, leaf))
      target = own;
  }
  if (!target)
    target = leaf.isTiled() ? mapDims(leaf, resultToOperand, rank) : leaf;

  SmallVector<Value> inits;
  for (Value init : reduce.getInitValues())
    inits.push_back(spmd.operand(init, ShardingAttr::getReplicated(context)));
  SmallVector<Value> operands;
  for (auto [i, input] : llvm::enumerate(reduce.getInputs())) {
    Value local = spmd.operand(input, target);
    local = spmd.maskPadding(local, target, inputType, reduced, inits[i]);
    operands.push_back(local);
  }
  SmallVector<int64_t> reducedTiled;
  if (target.isTiled()) {
    SmallVector<int64_t> tiles = getTilesPerDim(target, rank);
    for (int64_t d : reduced)
      if (tiles[d] > 1)
        reducedTiled.push_back(d);
  }
  ShardingAttr partial = target.isTiled() && !reducedTiled.empty()
                             ? replicateOnDims(target, reduced)
                             : target;
  ShardingAttr resultLeaf =
      partial.isTiled() ? mapDims(partial, toResult, resultRank) : partial;
  if (!target.isTiled())
    resultLeaf = target;
  // A sum of a narrow float type (bf16, f16, f8) split across devices is
  // reduced and all-reduced in f32 and rounded once, so the result does not
  // depend on the split (rounding each partial sum costs several ulps
  // where partial sums cancel).
  if (numInputs == 1 && !reducedTiled.empty() && !tupleType) {
    auto f = dyn_cast<FloatType>(firstResult.getElementType());
    if (f && f.getWidth() < 32 && isAddReducer(op, reduce.getToApplyAttr())) {
      Type f32 = Float32Type::get(context);
      Value input = spmd.convert(operands[0], f32);
      Value init = spmd.convert(inits[0], f32);
      auto localResult =
          cast<RankedTensorType>(getLocalType(firstResult, resultLeaf));
      OperationState state(op->getLoc(), op->getName());
      state.addOperands({input, init});
      state.addTypes(RankedTensorType::get(localResult.getShape(), f32));
      state.addAttribute("dimensions", reduce.getDimensionsAttr());
      state.addAttribute("to_apply",
                         spmd.state.getReducer(ReduceKind::Add, f32));
      Value local = spmd.builder.create(state)->getResult(0);
      spmd.recordFrom = target;
      spmd.recordTo = partial;
      local =
          spmd.allReduce(local, getDeviceGroupsForDims(target, reducedTiled),
                         spmd.state.getReducer(ReduceKind::Add, f32),
                         "partial sums over a sharded dim (in f32)");
      spmd.recordFrom = spmd.recordTo = nullptr;
      local = spmd.convert(local, f);
      spmd.set(op->getResult(0), {local, resultLeaf, resultType});
      return success();
    }
  }
  SmallVector<Type> localTypes;
  for (int64_t i = 0; i < numInputs; ++i) {
    auto t =
        cast<RankedTensorType>(tupleType ? tupleType.getType(i) : resultType);
    localTypes.push_back(getLocalType(t, resultLeaf));
  }
  Type localResultType =
      tupleType ? Type(TupleType::get(context, localTypes)) : localTypes[0];
  SmallVector<Value> all(operands);
  all.append(inits);
  Value local = spmd.cloneWith(op, all, localResultType)->getResult(0);

  if (!reducedTiled.empty()) {
    hlo::ReplicaGroupsAttr groups =
        getDeviceGroupsForDims(target, reducedTiled);
    spmd.recordFrom = target;
    spmd.recordTo = partial;
    if (numInputs == 1) {
      local = spmd.allReduce(local, groups, reduce.getToApplyAttr(),
                             "partial reductions over a sharded dim");
    } else {
      // Gather the partial results along a new leading dim and reduce again.
      SmallVector<Value> gathered;
      for (int64_t i = 0; i < numInputs; ++i) {
        Value element = spmd.getTupleElement(local, i);
        auto t = cast<RankedTensorType>(element.getType());
        SmallVector<int64_t> shape{1};
        shape.append(t.getShape().begin(), t.getShape().end());
        Value expanded = spmd.reshape(element, shape);
        gathered.push_back(
            spmd.allGather(expanded, 0, groups, "partial variadic reductions"));
      }
      SmallVector<Value> again(gathered);
      again.append(inits);
      OperationState state(op->getLoc(), op->getName());
      state.addOperands(again);
      state.addTypes(localResultType);
      state.addAttribute("dimensions", spmd.builder.getDenseI64ArrayAttr({0}));
      state.addAttribute("to_apply", reduce.getToApplyAttr());
      local = spmd.builder.create(state)->getResult(0);
    }
    spmd.recordFrom = spmd.recordTo = nullptr;
  }
  ShardingAttr resultSharding = resultLeaf;
  if (tupleType)
    resultSharding = ShardingAttr::getTuple(
        context, SmallVector<ShardingAttr>(numInputs, resultLeaf));
  spmd.set(op->getResult(0), {local, resultSharding, resultType});
  return success();
}

void registerReduceHandlers(HandlerMap &map) {
  map["hlo.reduce"] = partitionReduce;
}

} // namespace gshard::spmd
