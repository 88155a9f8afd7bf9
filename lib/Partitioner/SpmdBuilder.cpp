//===- SpmdBuilder.cpp - Op creation, index arithmetic, collectives -------===//
//
// The helpers handlers build the per-device program with. Device-dependent
// offsets come from `partition-id`: for iota tile assignments by O(rank)
// integer arithmetic (no table), for explicit device lists by a lookup in a
// constant table indexed by partition-id. Collectives are cross-partition
// (`channel_id`, `use_global_device_ids=true`) with the Sharding library's
// replica groups (compact iota form whenever possible), and every one is
// recorded for --explain-collectives.
//
//===----------------------------------------------------------------------===//

#include "Spmd.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/raw_ostream.h"

#include <complex>

using namespace mlir;

namespace gshard::spmd {

//===----------------------------------------------------------------------===//
// ModuleState
//===----------------------------------------------------------------------===//

static int64_t maxChannelId(ModuleOp module) {
  int64_t result = 0;
  module.walk([&](Operation *op) {
    if (auto id = op->getAttrOfType<IntegerAttr>("channel_id"))
      result = std::max<int64_t>(result, id.getInt());
  });
  return result;
}

ModuleState::ModuleState(ModuleOp module, const PartitionOptions &options)
    : module(module), context(module.getContext()), options(options) {
  channelId = maxChannelId(module) + 1;
}

std::string ModuleState::uniqueComputationName(StringRef base) {
  std::string name = base.str();
  for (int64_t i = 1; SymbolTable::lookupSymbolIn(module, name); ++i)
    name = (base + "." + Twine(i)).str();
  return name;
}

static StringRef reduceOpName(ReduceKind kind) {
  switch (kind) {
  case ReduceKind::Add:
    return "hlo.add";
  case ReduceKind::Max:
    return "hlo.maximum";
  case ReduceKind::Min:
    return "hlo.minimum";
  case ReduceKind::Mul:
    return "hlo.multiply";
  case ReduceKind::Or:
    return "hlo.or";
  case ReduceKind::And:
    return "hlo.and";
  }
  llvm_unreachable("reduce kind");
}

FlatSymbolRefAttr ModuleState::getReducer(ReduceKind kind, Type elementType) {
  std::string typeName;
  llvm::raw_string_ostream os(typeName);
  os << elementType;
  std::string key = (reduceOpName(kind).drop_front(4) + "." + typeName).str();
  if (auto it = reducers.find(key); it != reducers.end())
    return it->second;
  std::string base = "spmd." + key;
  for (char &c : base)
    if (!llvm::isAlnum(c) && c != '.' && c != '_' && c != '-')
      c = '_';
  std::string name = uniqueComputationName(base);
  Location loc = NameLoc::get(StringAttr::get(context, name));
  OpBuilder b(context);
  b.setInsertionPointToStart(module.getBody());
  OperationState state(loc, hlo::ComputationOp::getOperationName());
  state.addAttribute("sym_name", StringAttr::get(context, name));
  Region *region = state.addRegion();
  Block *block = new Block();
  region->push_back(block);
  Operation *computation = b.create(state);
  OpBuilder body = OpBuilder::atBlockEnd(block);
  auto scalar = RankedTensorType::get({}, elementType);
  SmallVector<Value> params;
  for (int64_t i = 0; i < 2; ++i) {
    OperationState p(NameLoc::get(StringAttr::get(context, i ? "b" : "a")),
                     hlo::ParameterOp::getOperationName());
    p.addAttribute("parameter_number",
                   IntegerAttr::get(IntegerType::get(context, 64), i));
    p.addTypes(scalar);
    params.push_back(body.create(p)->getResult(0));
  }
  OperationState r(NameLoc::get(StringAttr::get(context, "r")),
                   reduceOpName(kind));
  r.addOperands(params);
  r.addTypes(scalar);
  Value result = body.create(r)->getResult(0);
  OperationState ret(loc, "hlo.return");
  ret.addOperands(result);
  body.create(ret);
  (void)computation;
  auto ref = FlatSymbolRefAttr::get(context, name);
  reducers[key] = ref;
  return ref;
}

//===----------------------------------------------------------------------===//
// Spmd basics
//===----------------------------------------------------------------------===//

Spmd::Spmd(ModuleState &state, hlo::ComputationOp computation)
    : state(state), computation(computation), builder(state.context) {}

Location Spmd::loc() {
  return current ? current->getLoc() : computation.getLoc();
}

PValue Spmd::get(Value original) const {
  auto it = values.find(original);
  assert(it != values.end() && "operand not partitioned yet");
  return it->second;
}

void Spmd::warn(const Twine &message) {
  if (!state.options.warnOnReplication)
    return;
  std::string text = message.str();
  if (!warned.insert(text).second)
    return;
  emitWarning(loc()) << text;
}

void Spmd::error(const Twine &message) {
  if (!hadError)
    emitError(loc()) << "cannot partition '"
                     << (current ? hlo::getHloOpcode(current) : "root")
                     << "': " << message;
  hadError = true;
}

static Location helperLoc(MLIRContext *context, Location base,
                          StringRef opName) {
  std::string name = opName.drop_front(4).str();
  std::replace(name.begin(), name.end(), '_', '-');
  if (auto named = dyn_cast<NameLoc>(base))
    base = named.getChildLoc();
  return NameLoc::get(StringAttr::get(context, name), base);
}

Operation *Spmd::create(StringRef name, ValueRange operands, Type resultType,
                        ArrayRef<NamedAttribute> attrs) {
  OperationState op(helperLoc(getContext(), loc(), name), name);
  op.addOperands(operands);
  op.addTypes(resultType);
  op.addAttributes(attrs);
  return builder.create(op);
}

Operation *Spmd::cloneWith(Operation *op, ValueRange operands,
                           Type resultType) {
  OperationState state(op->getLoc(), op->getName());
  state.addOperands(operands);
  state.addTypes(resultType);
  for (NamedAttribute attr : op->getAttrs())
    if (attr.getName() != "sharding")
      state.addAttribute(attr.getName(), attr.getValue());
  return builder.create(state);
}

static Attribute scalarAttr(Type elementType, double value) {
  if (isa<FloatType>(elementType))
    return FloatAttr::get(elementType, value);
  if (auto integer = dyn_cast<IntegerType>(elementType)) {
    if (integer.getWidth() == 1)
      return IntegerAttr::get(elementType, APInt(1, value != 0));
    return IntegerAttr::get(elementType,
                            APInt(integer.getWidth(), int64_t(value),
                                  /*isSigned=*/!integer.isUnsigned()));
  }
  return {};
}

static DenseElementsAttr splat(RankedTensorType type, double value) {
  auto plain = RankedTensorType::get(type.getShape(), type.getElementType());
  if (auto complex = dyn_cast<ComplexType>(type.getElementType())) {
    auto fType = cast<FloatType>(complex.getElementType());
    APFloat re(value), im(0.0);
    bool lost;
    re.convert(fType.getFloatSemantics(), APFloat::rmNearestTiesToEven, &lost);
    im.convert(fType.getFloatSemantics(), APFloat::rmNearestTiesToEven, &lost);
    std::complex<APFloat> c(re, im);
    return DenseElementsAttr::get(plain, ArrayRef<std::complex<APFloat>>(c));
  }
  return DenseElementsAttr::get(plain,
                                scalarAttr(type.getElementType(), value));
}

Value Spmd::constantScalar(Type elementType, double value) {
  auto type = RankedTensorType::get({}, elementType);
  return create("hlo.constant", {}, type,
                {builder.getNamedAttr("value", splat(type, value))})
      ->getResult(0);
}

Value Spmd::constantI32(int64_t value) {
  return constantScalar(builder.getI32Type(), value);
}

Value Spmd::zeros(RankedTensorType type) {
  return broadcastScalar(constantScalar(type.getElementType(), 0), type);
}

Value Spmd::broadcastScalar(Value scalar, RankedTensorType type) {
  if (type.getRank() == 0)
    return scalar;
  auto result = RankedTensorType::get(
      type.getShape(),
      cast<RankedTensorType>(scalar.getType()).getElementType());
  return create("hlo.broadcast", scalar, result,
                {builder.getNamedAttr("dimensions",
                                      builder.getDenseI64ArrayAttr({}))})
      ->getResult(0);
}

Value Spmd::binary(StringRef name, Value a, Value b) {
  auto type = cast<RankedTensorType>(a.getType());
  return create(name, {a, b},
                RankedTensorType::get(type.getShape(), type.getElementType()))
      ->getResult(0);
}

Value Spmd::compare(Value a, Value b, hlo::ComparisonDirection direction) {
  auto type = cast<RankedTensorType>(a.getType());
  return create("hlo.compare", {a, b},
                RankedTensorType::get(type.getShape(), builder.getI1Type()),
                {builder.getNamedAttr(
                    "direction", hlo::ComparisonDirectionAttr::get(getContext(),
                                                                   direction))})
      ->getResult(0);
}

Value Spmd::select(Value pred, Value onTrue, Value onFalse) {
  return create("hlo.select", {pred, onTrue, onFalse}, onTrue.getType())
      ->getResult(0);
}

Value Spmd::convert(Value v, Type elementType) {
  auto type = cast<RankedTensorType>(v.getType());
  if (type.getElementType() == elementType)
    return v;
  return create("hlo.convert", v,
                RankedTensorType::get(type.getShape(), elementType))
      ->getResult(0);
}

Value Spmd::reshape(Value v, ArrayRef<int64_t> shape) {
  auto type = cast<RankedTensorType>(v.getType());
  if (type.getShape() == shape)
    return v;
  return create("hlo.reshape", v, withShape(type, shape))->getResult(0);
}

Value Spmd::transpose(Value v, ArrayRef<int64_t> perm) {
  if (llvm::is_sorted(perm))
    return v;
  auto type = cast<RankedTensorType>(v.getType());
  SmallVector<int64_t> shape;
  for (int64_t p : perm)
    shape.push_back(type.getDimSize(p));
  return create("hlo.transpose", v, withShape(type, shape),
                {builder.getNamedAttr("dimensions",
                                      builder.getDenseI64ArrayAttr(perm))})
      ->getResult(0);
}

Value Spmd::slice(Value v, ArrayRef<int64_t> start, ArrayRef<int64_t> limit) {
  auto type = cast<RankedTensorType>(v.getType());
  SmallVector<int64_t> shape, strides(start.size(), 1);
  bool identity = true;
  for (size_t i = 0; i < start.size(); ++i) {
    shape.push_back(limit[i] - start[i]);
    identity &= start[i] == 0 && limit[i] == type.getDimSize(i);
  }
  if (identity)
    return v;
  return create("hlo.slice", v, withShape(type, shape),
                {builder.getNamedAttr("start_indices",
                                      builder.getDenseI64ArrayAttr(start)),
                 builder.getNamedAttr("limit_indices",
                                      builder.getDenseI64ArrayAttr(limit)),
                 builder.getNamedAttr("strides",
                                      builder.getDenseI64ArrayAttr(strides))})
      ->getResult(0);
}

Value Spmd::pad(Value v, Value padValue, ArrayRef<int64_t> low,
                ArrayRef<int64_t> high, ArrayRef<int64_t> interiorPadding) {
  auto isZero = [](int64_t x) { return x == 0; };
  if (llvm::all_of(low, isZero) && llvm::all_of(high, isZero) &&
      llvm::all_of(interiorPadding, isZero))
    return v;
  auto type = cast<RankedTensorType>(v.getType());
  SmallVector<int64_t> shape, interior(interiorPadding);
  interior.resize(low.size(), 0);
  for (int64_t i = 0; i < type.getRank(); ++i) {
    int64_t n = type.getDimSize(i);
    shape.push_back(n + low[i] + high[i] +
                    std::max<int64_t>(n - 1, 0) * interior[i]);
  }
  return create("hlo.pad", {v, padValue}, withShape(type, shape),
                {builder.getNamedAttr("edge_padding_low",
                                      builder.getDenseI64ArrayAttr(low)),
                 builder.getNamedAttr("edge_padding_high",
                                      builder.getDenseI64ArrayAttr(high)),
                 builder.getNamedAttr("interior_padding",
                                      builder.getDenseI64ArrayAttr(interior))})
      ->getResult(0);
}

Value Spmd::dynamicSlice(Value v, ArrayRef<Value> starts,
                         ArrayRef<int64_t> sizes) {
  auto type = cast<RankedTensorType>(v.getType());
  SmallVector<Value> operands{v};
  operands.append(starts.begin(), starts.end());
  return create("hlo.dynamic_slice", operands, withShape(type, sizes),
                {builder.getNamedAttr("dynamic_slice_sizes",
                                      builder.getDenseI64ArrayAttr(sizes))})
      ->getResult(0);
}

Value Spmd::dynamicUpdateSlice(Value v, Value update, ArrayRef<Value> starts) {
  SmallVector<Value> operands{v, update};
  operands.append(starts.begin(), starts.end());
  return create("hlo.dynamic_update_slice", operands, v.getType())
      ->getResult(0);
}

Value Spmd::iota(RankedTensorType type, int64_t dim) {
  return create("hlo.iota", {}, type,
                {builder.getNamedAttr("iota_dimension",
                                      builder.getI64IntegerAttr(dim))})
      ->getResult(0);
}

Value Spmd::getTupleElement(Value tuple, int64_t index) {
  auto type = cast<TupleType>(tuple.getType());
  if (auto def = tuple.getDefiningOp(); def && isa<hlo::TupleOp>(def))
    return def->getOperand(index);
  return create(
             "hlo.get_tuple_element", tuple, type.getType(index),
             {builder.getNamedAttr("index", builder.getI64IntegerAttr(index))})
      ->getResult(0);
}

Value Spmd::tuple(ArrayRef<Value> elements) {
  SmallVector<Type> types;
  for (Value v : elements)
    types.push_back(v.getType());
  return create("hlo.tuple", elements, TupleType::get(getContext(), types))
      ->getResult(0);
}

//===----------------------------------------------------------------------===//
// Device index arithmetic
//===----------------------------------------------------------------------===//

Value Spmd::partitionId() {
  auto u32 = RankedTensorType::get(
      {}, IntegerType::get(getContext(), 32, IntegerType::Unsigned));
  Value id = create("hlo.partition_id", {}, u32)->getResult(0);
  return convert(id, builder.getI32Type());
}

Value Spmd::lookup(ArrayRef<int64_t> table) {
  if (llvm::all_equal(table))
    return constantI32(table.empty() ? 0 : table[0]);
  SmallVector<int32_t> values(table.begin(), table.end());
  auto type =
      RankedTensorType::get({int64_t(values.size())}, builder.getI32Type());
  Value constant =
      create("hlo.constant", {}, type,
             {builder.getNamedAttr(
                 "value", DenseElementsAttr::get(type, ArrayRef(values)))})
          ->getResult(0);
  Value slice = dynamicSlice(constant, {partitionId()}, {1});
  return reshape(slice, {});
}

namespace {
/// A non-negative s32 scalar with a known exclusive upper bound.
struct IndexExpr {
  Value value;
  int64_t bound;
};
} // namespace

Value Spmd::tileIndex(ShardingAttr s, int64_t tileDim) {
  TileAssignment ta = getTileAssignment(s);
  int64_t size = ta.getDim(tileDim);
  if (size == 1)
    return constantI32(0);
  ArrayRef<int64_t> dims = ta.getDims();
  int64_t strideD = 1;
  for (int64_t i = tileDim + 1; i < ta.getRank(); ++i)
    strideD *= dims[i];
  if (!ta.isIota()) {
    SmallVector<int64_t> table(numPartitions(), 0);
    for (int64_t d = 0; d < numPartitions(); ++d)
      if (auto flat = ta.flatIndexOf(d))
        table[d] = (*flat / strideD) % size;
    return lookup(table);
  }
  // Flat position of this device in the tile array.
  ArrayRef<int64_t> reshapeDims = ta.getIotaReshapeDims();
  ArrayRef<int64_t> perm = ta.getIotaPerm();
  int64_t n = ta.getNumDevices();
  auto div = [&](IndexExpr e, int64_t k) -> IndexExpr {
    if (k == 1)
      return e;
    return {binary("hlo.divide", e.value, constantI32(k)),
            (e.bound + k - 1) / k};
  };
  auto rem = [&](IndexExpr e, int64_t k) -> IndexExpr {
    if (e.bound <= k)
      return e;
    return {binary("hlo.remainder", e.value, constantI32(k)), k};
  };
  IndexExpr pid{partitionId(), std::max(n, numPartitions())};
  IndexExpr flat;
  if (llvm::is_sorted(perm)) {
    flat = pid;
  } else {
    SmallVector<int64_t> strideR(reshapeDims.size(), 1);
    for (int64_t j = int64_t(reshapeDims.size()) - 2; j >= 0; --j)
      strideR[j] = strideR[j + 1] * reshapeDims[j + 1];
    SmallVector<int64_t> strideT(perm.size(), 1);
    for (int64_t k = int64_t(perm.size()) - 2; k >= 0; --k)
      strideT[k] = strideT[k + 1] * reshapeDims[perm[k + 1]];
    Value sum;
    for (size_t k = 0; k < perm.size(); ++k) {
      int64_t j = perm[k];
      IndexExpr c = rem(div(pid, strideR[j]), reshapeDims[j]);
      Value term = c.value;
      if (strideT[k] != 1)
        term = binary("hlo.multiply", term, constantI32(strideT[k]));
      sum = sum ? binary("hlo.add", sum, term) : term;
    }
    flat = {sum, n};
  }
  return rem(div(flat, strideD), size).value;
}

Value Spmd::tileOffset(ShardingAttr s, int64_t dim,
                       ArrayRef<int64_t> globalShape) {
  SmallVector<int64_t> tiles = getTilesPerDim(s, globalShape.size());
  if (tiles[dim] == 1)
    return constantI32(0);
  int64_t shard = (globalShape[dim] + tiles[dim] - 1) / tiles[dim];
  Value index = tileIndex(s, dim);
  if (shard == 1)
    return index;
  return binary("hlo.multiply", index, constantI32(shard));
}

Value Spmd::maskPadding(Value local, ShardingAttr s, RankedTensorType global,
                        ArrayRef<int64_t> dims, Value fill) {
  if (!s.isTiled())
    return local;
  auto localType = cast<RankedTensorType>(local.getType());
  SmallVector<int64_t> tiles = getTilesPerDim(s, global.getRank());
  auto indexType =
      RankedTensorType::get(localType.getShape(), builder.getI32Type());
  Value mask;
  for (int64_t dim : dims) {
    int64_t n = global.getDimSize(dim);
    if (tiles[dim] == 1 || localType.getDimSize(dim) * tiles[dim] == n)
      continue;
    Value index = iota(indexType, dim);
    Value offset =
        broadcastScalar(tileOffset(s, dim, global.getShape()), indexType);
    Value global = binary("hlo.add", index, offset);
    Value bound = broadcastScalar(constantI32(n), indexType);
    Value inBounds = compare(global, bound, hlo::ComparisonDirection::LT);
    mask = mask ? binary("hlo.and", mask, inBounds) : inBounds;
  }
  if (!mask)
    return local;
  if (!fill)
    fill = constantScalar(localType.getElementType(), 0);
  return select(mask, local, broadcastScalar(fill, localType));
}

//===----------------------------------------------------------------------===//
// Collectives
//===----------------------------------------------------------------------===//

static int64_t groupSizeOf(hlo::ReplicaGroupsAttr groups) {
  if (groups.getIsIota())
    return groups.getGroupSize();
  return groups.getGroupSizes().empty() ? 1 : groups.getGroupSizes()[0];
}

void Spmd::record(StringRef kind, Operation *op, StringRef reason) {
  CollectiveRecord r{kind.str(),
                     current ? hlo::getInstructionName(current->getLoc()).str()
                             : std::string(),
                     loc(),
                     recordFrom ? toString(recordFrom) : std::string(),
                     recordTo ? toString(recordTo) : std::string(),
                     reason.str(),
                     getByteSize(op->getResult(0).getType()),
                     op};
  state.records.push_back(std::move(r));
}

SmallVector<NamedAttribute> collectiveAttrs(OpBuilder &b, ModuleState &state,
                                            hlo::ReplicaGroupsAttr groups) {
  return {
      b.getNamedAttr("replica_groups", groups),
      b.getNamedAttr("channel_id", b.getI64IntegerAttr(state.nextChannelId())),
      b.getNamedAttr("use_global_device_ids", b.getBoolAttr(true))};
}

Value Spmd::allReduce(Value v, hlo::ReplicaGroupsAttr groups,
                      FlatSymbolRefAttr reducer, StringRef reason) {
  if (groupSizeOf(groups) == 1)
    return v;
  auto attrs = collectiveAttrs(builder, state, groups);
  attrs.push_back(builder.getNamedAttr("to_apply", reducer));
  Operation *op = create("hlo.all_reduce", v, v.getType(), attrs);
  record("all-reduce", op, reason);
  return op->getResult(0);
}

Value Spmd::allGather(Value v, int64_t dim, hlo::ReplicaGroupsAttr groups,
                      StringRef reason) {
  int64_t size = groupSizeOf(groups);
  if (size == 1)
    return v;
  auto type = cast<RankedTensorType>(v.getType());
  SmallVector<int64_t> shape(type.getShape());
  shape[dim] *= size;
  auto attrs = collectiveAttrs(builder, state, groups);
  attrs.push_back(
      builder.getNamedAttr("dimensions", builder.getDenseI64ArrayAttr({dim})));
  Operation *op = create("hlo.all_gather", v, withShape(type, shape), attrs);
  record("all-gather", op, reason);
  return op->getResult(0);
}

Value Spmd::allToAll(Value v, int64_t dim, hlo::ReplicaGroupsAttr groups,
                     StringRef reason) {
  if (groupSizeOf(groups) == 1)
    return v;
  auto attrs = collectiveAttrs(builder, state, groups);
  attrs.push_back(
      builder.getNamedAttr("dimensions", builder.getDenseI64ArrayAttr({dim})));
  Operation *op = create("hlo.all_to_all", v, v.getType(), attrs);
  record("all-to-all", op, reason);
  return op->getResult(0);
}

Value Spmd::collectivePermute(Value v, ArrayRef<int64_t> pairs,
                              StringRef reason) {
  Operation *op = create(
      "hlo.collective_permute", v, v.getType(),
      {builder.getNamedAttr("source_target_pairs",
                            builder.getDenseI64ArrayAttr(pairs)),
       builder.getNamedAttr("channel_id",
                            builder.getI64IntegerAttr(state.nextChannelId()))});
  record("collective-permute", op, reason);
  return op->getResult(0);
}

Value Spmd::reduceScatter(Value v, int64_t dim, hlo::ReplicaGroupsAttr groups,
                          FlatSymbolRefAttr reducer, StringRef reason) {
  int64_t size = groupSizeOf(groups);
  if (size == 1)
    return v;
  auto type = cast<RankedTensorType>(v.getType());
  SmallVector<int64_t> shape(type.getShape());
  shape[dim] /= size;
  auto attrs = collectiveAttrs(builder, state, groups);
  attrs.push_back(
      builder.getNamedAttr("dimensions", builder.getDenseI64ArrayAttr({dim})));
  attrs.push_back(builder.getNamedAttr("to_apply", reducer));
  Operation *op =
      create("hlo.reduce_scatter", v, withShape(type, shape), attrs);
  record("reduce-scatter", op, reason);
  return op->getResult(0);
}

} // namespace gshard::spmd
