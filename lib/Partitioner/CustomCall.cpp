//===- CustomCall.cpp - Sharding and SPMD shape custom-calls --------------===//
//
//   * `Sharding`: an identity that fixes its result's sharding: the operand
//     is resharded to it.
//   * `SPMDFullToShardShape`: enters a manual region: the result (the shard
//     shape) is the operand's local shard.
//   * `SPMDShardToFullShape`: leaves it: the local (manual) value becomes
//     the local shard of the full-shape result under its sharding.
//
//   * `TopK`: (values, indices) of the k largest elements along the last
//     dim. Other dims keep their tiling. Sharded along the last dim into
//     s shards of m > k elements (XLA's custom_call_handler): each device
//     takes the top k of its shard (padding past the end filled with the
//     type's smallest value in total order), offsets the indices to global
//     ones, the s candidate lists are all-gathered along the last dim and
//     sorted by (value descending in total order, index ascending), and the
//     first k are the result: that is the global top k with ties to the
//     lower index, as one TopK on the whole dim. With m <= k the shard
//     holds no more than k candidates and the dim is gathered first.
//
// Other custom-calls run replicated (with a warning).
//
//===----------------------------------------------------------------------===//

#include "Spmd.h"

#include <cmath>

using namespace mlir;

namespace gshard::spmd {

/// The smallest value of `elementType` in total order as a scalar: -NaN
/// with every payload bit set for floats (all bits set, bitcast), the
/// minimum of signed integers, 0 for unsigned ones; null for other types.
static Value totalOrderMinimum(Spmd &spmd, Type elementType) {
  if (auto floatType = dyn_cast<FloatType>(elementType)) {
    unsigned width = floatType.getWidth();
    if (width != 16 && width != 32 && width != 64)
      return {};
    Value bits = spmd.constantScalar(
        spmd.builder.getIntegerType(width, /*isSigned=*/true), -1);
    return spmd
        .create("hlo.bitcast_convert", bits,
                RankedTensorType::get({}, elementType))
        ->getResult(0);
  }
  auto intType = dyn_cast<IntegerType>(elementType);
  if (!intType || intType.getWidth() < 2 || intType.getWidth() > 64)
    return {};
  if (intType.isUnsigned())
    return spmd.constantScalar(elementType, 0);
  return spmd.constantScalar(elementType,
                             -std::ldexp(1.0, intType.getWidth() - 1));
}

/// A comparator (v0, v1, i0, i1) -> v0 > v1 || (v0 == v1 && i0 < i1), in
/// total order for the values: the order of TopK's result.
static FlatSymbolRefAttr createTopKComparator(Spmd &spmd, Type valueType,
                                              Type indexType) {
  MLIRContext *context = spmd.getContext();
  ModuleState &state = spmd.state;
  // One comparator per value type and module.
  std::string typeName;
  llvm::raw_string_ostream os(typeName);
  os << valueType;
  std::string base = "spmd.topk_compare." + typeName;
  if (auto existing = dyn_cast_or_null<hlo::ComputationOp>(
          SymbolTable::lookupSymbolIn(state.module, base)))
    if (existing->hasAttr("spmd.topk_comparator"))
      return FlatSymbolRefAttr::get(context, base);
  std::string name = state.uniqueComputationName(base);
  OpBuilder b(context);
  b.setInsertionPointToStart(state.module.getBody());
  Location loc = NameLoc::get(StringAttr::get(context, name));
  OperationState computationState(loc, hlo::ComputationOp::getOperationName());
  computationState.addAttribute("sym_name", StringAttr::get(context, name));
  computationState.addAttribute("spmd.topk_comparator", UnitAttr::get(context));
  Block *block = new Block();
  computationState.addRegion()->push_back(block);
  b.create(computationState);
  OpBuilder body = OpBuilder::atBlockEnd(block);
  auto scalar = [](Type t) { return RankedTensorType::get({}, t); };
  auto named = [&](StringRef n) {
    return NameLoc::get(StringAttr::get(context, n));
  };
  SmallVector<Value> params;
  Type paramTypes[] = {valueType, valueType, indexType, indexType};
  const char *paramNames[] = {"v0", "v1", "i0", "i1"};
  for (int64_t i = 0; i < 4; ++i) {
    OperationState p(named(paramNames[i]),
                     hlo::ParameterOp::getOperationName());
    p.addAttribute("parameter_number",
                   IntegerAttr::get(IntegerType::get(context, 64), i));
    p.addTypes(scalar(paramTypes[i]));
    params.push_back(body.create(p)->getResult(0));
  }
  auto pred = scalar(IntegerType::get(context, 1));
  auto compare = [&](StringRef n, Value a, Value c,
                     hlo::ComparisonDirection direction, bool totalOrder) {
    OperationState op(named(n), "hlo.compare");
    op.addOperands({a, c});
    op.addTypes(pred);
    op.addAttribute("direction",
                    hlo::ComparisonDirectionAttr::get(context, direction));
    if (totalOrder)
      op.addAttribute("type", hlo::ComparisonTypeAttr::get(
                                  context, hlo::ComparisonType::TOTALORDER));
    return body.create(op)->getResult(0);
  };
  auto binary = [&](StringRef n, StringRef opName, Value a, Value c) {
    OperationState op(named(n), opName);
    op.addOperands({a, c});
    op.addTypes(pred);
    return body.create(op)->getResult(0);
  };
  bool isFloat = isa<FloatType>(valueType);
  Value greater = compare("greater", params[0], params[1],
                          hlo::ComparisonDirection::GT, isFloat);
  Value equal = compare("equal", params[0], params[1],
                        hlo::ComparisonDirection::EQ, isFloat);
  Value lower = compare("lower_index", params[2], params[3],
                        hlo::ComparisonDirection::LT, false);
  Value tie = binary("tie", "hlo.and", equal, lower);
  Value result = binary("first", "hlo.or", greater, tie);
  OperationState ret(loc, "hlo.return");
  ret.addOperands(result);
  body.create(ret);
  return FlatSymbolRefAttr::get(context, name);
}

static LogicalResult partitionTopK(Operation *op, Spmd &spmd) {
  MLIRContext *context = op->getContext();
  auto resultType = dyn_cast<TupleType>(op->getResult(0).getType());
  auto inType = dyn_cast<RankedTensorType>(op->getOperand(0).getType());
  if (!resultType || resultType.size() != 2 || !inType || inType.getRank() < 1)
    return partitionReplicated(op, spmd, "TopK of this shape");
  auto valuesType = dyn_cast<RankedTensorType>(resultType.getType(0));
  auto indicesType = dyn_cast<RankedTensorType>(resultType.getType(1));
  int64_t rank = inType.getRank(), dim = rank - 1;
  if (!valuesType || !indicesType || valuesType.getRank() != rank ||
      indicesType.getRank() != rank ||
      !indicesType.getElementType().isInteger(32))
    return partitionReplicated(op, spmd, "TopK of this shape");
  PValue input = spmd.get(op->getOperand(0));
  ShardingAttr in = normalizeForTensor(input.sharding, rank);
  if (!in.isTiled() || isManual(in) || isManualSubgroup(in))
    return partitionReplicated(op, spmd, "TopK with a non-tiled operand");
  int64_t n = inType.getDimSize(dim), k = valuesType.getDimSize(dim);
  int64_t shards = getTilesPerDim(in, rank)[dim];
  int64_t perShard = (n + shards - 1) / shards;
  Type elementType = inType.getElementType();
  // Split the dim when each shard holds more than k elements. Padding of
  // an uneven last shard is filled with the smallest value.
  bool split = shards > 1 && perShard > k;
  Value fill;
  if (split && perShard * shards != n) {
    fill = totalOrderMinimum(spmd, elementType);
    split = bool(fill);
  }
  // The rows (all dims but the last) keep the operand's tiling.
  ShardingAttr rows = replicateOnDims(in, {dim});
  auto tupleSharding = ShardingAttr::getTuple(context, {rows, rows});
  auto localTuple = [&](ShardingAttr s, int64_t last) {
    auto values = cast<RankedTensorType>(getLocalType(
        withShape(valuesType, llvm::to_vector(inType.getShape())), s));
    SmallVector<int64_t> shape(values.getShape());
    shape.back() = last;
    return std::make_pair(withShape(valuesType, shape),
                          withShape(indicesType, shape));
  };
  if (!split) {
    // At most k elements per shard (or one shard): TopK of whole rows.
    Value local = spmd.reshard(input, rows);
    auto [values, indices] = localTuple(rows, k);
    Operation *topk =
        spmd.cloneWith(op, local, TupleType::get(context, {values, indices}));
    spmd.set(op->getResult(0),
             {topk->getResult(0), tupleSharding, op->getResult(0).getType()});
    return success();
  }
  // Top k of each shard. Padding is never chosen before a real element of
  // the same value: its index is larger than every real one.
  Value local = spmd.reshard(input, in);
  if (fill)
    local = spmd.maskPadding(local, in, inType, {dim}, fill);
  auto [shardValues, shardIndices] = localTuple(in, k);
  Operation *shardTopK = spmd.cloneWith(
      op, local, TupleType::get(context, {shardValues, shardIndices}));
  Value values = spmd.getTupleElement(shardTopK->getResult(0), 0);
  Value indices = spmd.getTupleElement(shardTopK->getResult(0), 1);
  Value offset = spmd.broadcastScalar(
      spmd.tileOffset(in, dim, inType.getShape()), shardIndices);
  indices = spmd.binary("hlo.add", indices, offset);
  // The candidates as a value of k * shards elements per row tiled like the
  // operand, gathered along the last dim.
  SmallVector<int64_t> candidateShape(inType.getShape());
  candidateShape.back() = k * shards;
  values =
      spmd.reshard({values, in, withShape(valuesType, candidateShape)}, rows);
  indices =
      spmd.reshard({indices, in, withShape(indicesType, candidateShape)}, rows);
  auto [rowValues, rowIndices] = localTuple(rows, k * shards);
  FlatSymbolRefAttr comparator =
      createTopKComparator(spmd, elementType, indicesType.getElementType());
  Operation *sort = spmd.create(
      "hlo.sort", {values, indices},
      TupleType::get(context, {rowValues, rowIndices}),
      {spmd.builder.getNamedAttr("dimensions",
                                 spmd.builder.getDenseI64ArrayAttr({dim})),
       spmd.builder.getNamedAttr("is_stable", spmd.builder.getBoolAttr(true)),
       spmd.builder.getNamedAttr("to_apply", comparator)});
  SmallVector<int64_t> start(rank, 0);
  SmallVector<int64_t> limit(rowValues.getShape());
  limit.back() = k;
  Value topValues =
      spmd.slice(spmd.getTupleElement(sort->getResult(0), 0), start, limit);
  Value topIndices =
      spmd.slice(spmd.getTupleElement(sort->getResult(0), 1), start, limit);
  spmd.set(op->getResult(0), {spmd.tuple({topValues, topIndices}),
                              tupleSharding, op->getResult(0).getType()});
  return success();
}

static LogicalResult partitionCustomCall(Operation *op, Spmd &spmd) {
  auto call = cast<hlo::CustomCallOp>(op);
  StringRef target = call.getCustomCallTarget();
  Type type = op->getResult(0).getType();
  ShardingAttr result = getResultSharding(op);
  if (target == "Sharding" && op->getNumOperands() == 1) {
    Value local = spmd.operand(op->getOperand(0), result);
    spmd.set(op->getResult(0), {local, result, type});
    return success();
  }
  if (target == "SPMDFullToShardShape" && op->getNumOperands() == 1) {
    PValue operand = spmd.get(op->getOperand(0));
    Type expected = getLocalType(type, result);
    if (operand.local.getType() != expected) {
      auto a = dyn_cast<RankedTensorType>(operand.local.getType());
      auto b = dyn_cast<RankedTensorType>(expected);
      if (!a || !b || a.getShape() != b.getShape())
        return op->emitError("SPMDFullToShardShape: the operand's shard ")
               << operand.local.getType() << " does not have the shape "
               << expected << " of the manual result";
    }
    spmd.set(op->getResult(0), {operand.local, result, type});
    return success();
  }
  if (target == "SPMDShardToFullShape" && op->getNumOperands() == 1) {
    PValue operand = spmd.get(op->getOperand(0));
    Type expected = getLocalType(type, result);
    auto a = dyn_cast<RankedTensorType>(operand.local.getType());
    auto b = dyn_cast<RankedTensorType>(expected);
    if (!a || !b || a.getShape() != b.getShape())
      return op->emitError("SPMDShardToFullShape: the manual value ")
             << operand.local.getType() << " is not the shard " << expected
             << " of the result's sharding";
    spmd.set(op->getResult(0), {operand.local, result, type});
    return success();
  }
  if (target == "TopK" && op->getNumOperands() == 1)
    return partitionTopK(op, spmd);
  return partitionReplicated(op, spmd,
                             ("custom-call target '" + target + "'").str());
}

void registerCustomCallHandlers(HandlerMap &map) {
  map["hlo.custom_call"] = partitionCustomCall;
}

} // namespace gshard::spmd
