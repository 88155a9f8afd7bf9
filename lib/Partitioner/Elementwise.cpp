//===- Elementwise.cpp - Elementwise, convert, select, clamp, compare -----===//
//
// Every operand takes the result's sharding (scalar operands of select and
// clamp stay replicated) and the op runs on the local shards. Padding of
// uneven shards holds garbage that never mixes with valid elements.
//
//===----------------------------------------------------------------------===//

#include "Spmd.h"

using namespace mlir;

namespace gshard::spmd {

static LogicalResult partitionElementwise(Operation *op, Spmd &spmd) {
  auto resultType = dyn_cast<RankedTensorType>(op->getResult(0).getType());
  if (!resultType)
    return partitionReplicated(op, spmd, "non-array elementwise op");
  ShardingAttr result =
      normalizeForTensor(getResultSharding(op), resultType.getRank());
  SmallVector<Value> operands;
  for (Value operand : op->getOperands()) {
    auto type = dyn_cast<RankedTensorType>(operand.getType());
    if (!type)
      return partitionReplicated(op, spmd, "non-array operand");
    if (type.getRank() != resultType.getRank()) {
      operands.push_back(
          spmd.operand(operand, ShardingAttr::getReplicated(op->getContext())));
      continue;
    }
    operands.push_back(spmd.operand(operand, result));
  }
  Type local = getLocalType(resultType, result);
  Operation *clone = spmd.cloneWith(op, operands, local);
  spmd.set(op->getResult(0), {clone->getResult(0), result, resultType});
  return success();
}

static LogicalResult partitionBitcastConvert(Operation *op, Spmd &spmd) {
  auto in = cast<RankedTensorType>(op->getOperand(0).getType());
  auto out = cast<RankedTensorType>(op->getResult(0).getType());
  if (in.getRank() != out.getRank())
    return partitionReplicated(op, spmd, "bitcast-convert changes the rank");
  return partitionElementwise(op, spmd);
}

void registerElementwiseHandlers(HandlerMap &map) {
  for (StringRef name : {"abs",
                         "cbrt",
                         "ceil",
                         "count_leading_zeros",
                         "copy",
                         "cosine",
                         "erf",
                         "exponential",
                         "exponential_minus_one",
                         "floor",
                         "imag",
                         "is_finite",
                         "log",
                         "log_plus_one",
                         "logistic",
                         "negate",
                         "not",
                         "popcnt",
                         "real",
                         "round_nearest_afz",
                         "round_nearest_even",
                         "rsqrt",
                         "sign",
                         "sine",
                         "sqrt",
                         "tan",
                         "tanh",
                         "convert",
                         "reduce_precision",
                         "stochastic_convert",
                         "add",
                         "and",
                         "atan2",
                         "complex",
                         "divide",
                         "maximum",
                         "minimum",
                         "multiply",
                         "or",
                         "power",
                         "remainder",
                         "shift_left",
                         "shift_right_arithmetic",
                         "shift_right_logical",
                         "subtract",
                         "xor",
                         "compare",
                         "select",
                         "clamp",
                         "map"})
    map[("hlo." + name).str()] = partitionElementwise;
  map["hlo.bitcast_convert"] = partitionBitcastConvert;
}

} // namespace gshard::spmd
