//===- Tuple.cpp - Tuple, get-tuple-element, tokens -----------------------===//

#include "Spmd.h"

using namespace mlir;

namespace gshard::spmd {

/// The flattened tuple sharding of a tuple whose elements are laid out by
/// `elements`.
static ShardingAttr makeTupleSharding(MLIRContext *context,
                                      ArrayRef<ShardingAttr> elements,
                                      TypeRange types) {
  SmallVector<ShardingAttr> leaves;
  for (auto [s, type] : llvm::zip(elements, types)) {
    int64_t count = getLeafCount(type);
    if (isa<TupleType>(type) && s.isTuple())
      leaves.append(s.getTupleElements().begin(), s.getTupleElements().end());
    else
      leaves.append(count, s);
  }
  return ShardingAttr::getTuple(context, leaves);
}

static LogicalResult partitionTuple(Operation *op, Spmd &spmd) {
  auto type = cast<TupleType>(op->getResult(0).getType());
  ShardingAttr result = getResultSharding(op);
  SmallVector<Value> locals;
  SmallVector<ShardingAttr> shardings;
  for (auto [i, operand] : llvm::enumerate(op->getOperands())) {
    ShardingAttr target = getTupleElementSharding(result, type, i);
    locals.push_back(spmd.operand(operand, target));
    shardings.push_back(target);
  }
  Value local = spmd.tuple(locals);
  spmd.set(op->getResult(0),
           {local,
            makeTupleSharding(op->getContext(), shardings, type.getTypes()),
            type});
  return success();
}

static LogicalResult partitionGetTupleElement(Operation *op, Spmd &spmd) {
  auto gte = cast<hlo::GetTupleElementOp>(op);
  PValue tuple = spmd.get(gte.getOperand());
  auto type = cast<TupleType>(tuple.global);
  int64_t index = gte.getIndex();
  Value local = spmd.getTupleElement(tuple.local, index);
  spmd.set(op->getResult(0),
           {local, getTupleElementSharding(tuple.sharding, type, index),
            type.getType(index)});
  return success();
}

/// Token and ordering ops: operands as they are, same op.
static LogicalResult partitionPassThrough(Operation *op, Spmd &spmd) {
  SmallVector<Value> operands;
  for (Value operand : op->getOperands())
    operands.push_back(spmd.get(operand).local);
  Type type = op->getResult(0).getType();
  Operation *clone = spmd.cloneWith(op, operands, type);
  spmd.set(op->getResult(0),
           {clone->getResult(0), ShardingAttr::getReplicated(op->getContext()),
            type});
  return success();
}

/// opt-barrier and add-dependency: the value keeps its sharding.
static LogicalResult partitionIdentity(Operation *op, Spmd &spmd) {
  PValue operand = spmd.get(op->getOperand(0));
  SmallVector<Value> operands{operand.local};
  for (Value extra : op->getOperands().drop_front())
    operands.push_back(spmd.get(extra).local);
  Operation *clone = spmd.cloneWith(op, operands, operand.local.getType());
  spmd.set(op->getResult(0),
           {clone->getResult(0), operand.sharding, operand.global});
  return success();
}

void registerTupleHandlers(HandlerMap &map) {
  map["hlo.tuple"] = partitionTuple;
  map["hlo.get_tuple_element"] = partitionGetTupleElement;
  map["hlo.after_all"] = partitionPassThrough;
  map["hlo.opt_barrier"] = partitionIdentity;
  map["hlo.add_dependency"] = partitionIdentity;
}

} // namespace gshard::spmd
