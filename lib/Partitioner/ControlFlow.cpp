//===- ControlFlow.cpp - While, conditional, call -------------------------===//
//
// The called computations are cloned per call site and partitioned in
// place with the call site's shardings: a while's body and condition take
// the while's (loop-carried) sharding for their parameter, the body's root
// is resharded to it; a call's and a conditional branch's parameters take
// their own annotations (else the argument's sharding) and their roots the
// call's sharding.
//
//===----------------------------------------------------------------------===//

#include "Spmd.h"

#include "mlir/IR/SymbolTable.h"

using namespace mlir;

namespace gshard::spmd {

/// A copy of computation `name` for one call site, placed before the
/// computation being partitioned.
static hlo::ComputationOp cloneComputation(Spmd &spmd, StringRef name) {
  auto original = SymbolTable::lookupNearestSymbolFrom<hlo::ComputationOp>(
      spmd.computation, StringAttr::get(spmd.getContext(), name));
  if (!original)
    return nullptr;
  auto clone = cast<hlo::ComputationOp>(original->clone());
  std::string newName = spmd.state.uniqueComputationName(name);
  clone.setSymName(newName);
  clone.setIsEntry(false);
  OpBuilder b(spmd.getContext());
  b.setInsertionPoint(spmd.computation);
  b.insert(clone);
  return clone;
}

static ShardingAttr ownParameterSharding(hlo::ComputationOp computation,
                                         int64_t number, ShardingAttr other) {
  for (hlo::ParameterOp param : hlo::getParameters(computation))
    if (param && param.getParameterNumber() == number)
      if (auto s = param->getAttrOfType<ShardingAttr>("sharding"))
        return s.withoutMetadata();
  return other;
}

static LogicalResult partitionWhile(Operation *op, Spmd &spmd) {
  auto loop = cast<hlo::WhileOp>(op);
  Type type = loop.getType();
  ShardingAttr s = getResultSharding(op);
  Value init = spmd.operand(loop.getInit(), s);
  hlo::ComputationOp body = cloneComputation(spmd, loop.getBody());
  hlo::ComputationOp cond = cloneComputation(spmd, loop.getCondition());
  if (!body || !cond)
    return op->emitError("while: missing condition or body computation");
  ShardingAttr replicated = ShardingAttr::getReplicated(spmd.getContext());
  if (failed(partitionComputation(spmd.state, body, {s}, s, false)) ||
      failed(partitionComputation(spmd.state, cond, {s}, replicated, false)))
    return failure();
  Operation *clone = spmd.cloneWith(op, init, getLocalType(type, s));
  clone->setAttr("body", FlatSymbolRefAttr::get(body.getSymNameAttr()));
  clone->setAttr("condition", FlatSymbolRefAttr::get(cond.getSymNameAttr()));
  spmd.set(op->getResult(0), {clone->getResult(0), s, type});
  return success();
}

static LogicalResult partitionCall(Operation *op, Spmd &spmd) {
  auto call = cast<hlo::CallOp>(op);
  Type type = call.getType();
  ShardingAttr s = getResultSharding(op);
  hlo::ComputationOp callee = cloneComputation(spmd, call.getToApply());
  if (!callee)
    return op->emitError("call: missing computation");
  SmallVector<ShardingAttr> params;
  SmallVector<Value> args;
  for (auto [i, arg] : llvm::enumerate(call.getArgs())) {
    PValue pv = spmd.get(arg);
    ShardingAttr target = ownParameterSharding(callee, i, pv.sharding);
    params.push_back(target);
    args.push_back(spmd.reshard(pv, target));
  }
  if (failed(partitionComputation(spmd.state, callee, params, s, false)))
    return failure();
  Operation *clone = spmd.cloneWith(op, args, getLocalType(type, s));
  clone->setAttr("to_apply", FlatSymbolRefAttr::get(callee.getSymNameAttr()));
  spmd.set(op->getResult(0), {clone->getResult(0), s, type});
  return success();
}

static LogicalResult partitionConditional(Operation *op, Spmd &spmd) {
  auto cond = cast<hlo::ConditionalOp>(op);
  MLIRContext *context = spmd.getContext();
  Type type = cond.getType();
  ShardingAttr s = getResultSharding(op);
  SmallVector<StringRef> names;
  bool isPredicated = cond.getTrueComputation().has_value();
  if (isPredicated) {
    names.push_back(*cond.getTrueComputation());
    names.push_back(*cond.getFalseComputation());
  } else if (auto branches = cond.getBranchComputations()) {
    for (Attribute a : *branches)
      names.push_back(cast<FlatSymbolRefAttr>(a).getValue());
  }
  if (names.size() != cond.getBranchOperands().size())
    return op->emitError("conditional: branch count mismatch");
  SmallVector<Value> operands{spmd.operand(
      cond.getBranchIndex(), ShardingAttr::getReplicated(context))};
  SmallVector<Attribute> newNames;
  for (auto [i, name] : llvm::enumerate(names)) {
    hlo::ComputationOp branch = cloneComputation(spmd, name);
    if (!branch)
      return op->emitError("conditional: missing branch computation");
    PValue pv = spmd.get(cond.getBranchOperands()[i]);
    ShardingAttr target = ownParameterSharding(branch, 0, pv.sharding);
    operands.push_back(spmd.reshard(pv, target));
    if (failed(partitionComputation(spmd.state, branch, {target}, s, false)))
      return failure();
    newNames.push_back(FlatSymbolRefAttr::get(branch.getSymNameAttr()));
  }
  Operation *clone = spmd.cloneWith(op, operands, getLocalType(type, s));
  if (isPredicated) {
    clone->setAttr("true_computation", newNames[0]);
    clone->setAttr("false_computation", newNames[1]);
  } else {
    clone->setAttr("branch_computations", ArrayAttr::get(context, newNames));
  }
  spmd.set(op->getResult(0), {clone->getResult(0), s, type});
  return success();
}

void registerControlFlowHandlers(HandlerMap &map) {
  map["hlo.while"] = partitionWhile;
  map["hlo.call"] = partitionCall;
  map["hlo.conditional"] = partitionConditional;
}

} // namespace gshard::spmd
