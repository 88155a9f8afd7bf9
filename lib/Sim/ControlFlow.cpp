//===- ControlFlow.cpp - while, conditional, call, fusion -----------------===//
//
// Part of gshard, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#include "Exec.h"

using namespace mlir;
using namespace gshard;
using namespace gshard::sim;

namespace {

LiteralRef whileHandler(ExecContext &ctx, Operation *op,
                        ArrayRef<LiteralRef> operands) {
  auto loop = cast<hlo::WhileOp>(op);
  const CompiledComputation *cond = ctx.lookup(op, loop.getConditionAttr());
  const CompiledComputation *body = ctx.lookup(op, loop.getBodyAttr());
  if (!cond || !body)
    return nullptr;
  LiteralRef state = operands[0];
  for (int64_t iteration = 0;; ++iteration) {
    LiteralRef keepGoing = ctx.call(*cond, {state});
    if (!keepGoing)
      return nullptr;
    if (!keepGoing->isArray() || keepGoing->getNumElements() != 1)
      return ctx.fail(op, "while condition must return a scalar pred");
    if (!keepGoing->getInt(0))
      return state;
    if (iteration >= ctx.options.maxWhileIterations)
      return ctx.fail(op, "while loop exceeded " +
                              Twine(ctx.options.maxWhileIterations) +
                              " iterations (raise --max-while-iterations if "
                              "this is intended)");
    state = ctx.call(*body, {state});
    if (!state)
      return nullptr;
  }
}

LiteralRef conditionalHandler(ExecContext &ctx, Operation *op,
                              ArrayRef<LiteralRef> operands) {
  auto cond = cast<hlo::ConditionalOp>(op);
  const Literal &selector = *operands[0];
  ArrayRef<LiteralRef> branchOperands = operands.drop_front();
  llvm::SmallVector<FlatSymbolRefAttr> branches;
  if (auto list = cond.getBranchComputationsAttr()) {
    for (Attribute a : list)
      branches.push_back(cast<FlatSymbolRefAttr>(a));
  } else if (cond.getTrueComputationAttr() && cond.getFalseComputationAttr()) {
    branches = {cond.getTrueComputationAttr(), cond.getFalseComputationAttr()};
  }
  if (branches.empty() || branchOperands.size() != branches.size())
    return ctx.fail(op, "conditional needs one operand per branch");
  int64_t index;
  if (selector.getKind() == ElemKind::Pred) {
    // pred: true -> true_computation (branch 0), false -> branch 1.
    index = selector.getInt(0) ? 0 : 1;
  } else {
    index = selector.getInt(0);
    // Out-of-range indices run the last branch, like XLA.
    if (index < 0 || index >= static_cast<int64_t>(branches.size()))
      index = branches.size() - 1;
  }
  return ctx.call(op, branches[index], {branchOperands[index]});
}

LiteralRef callHandler(ExecContext &ctx, Operation *op,
                       ArrayRef<LiteralRef> operands) {
  return ctx.call(op, cast<hlo::CallOp>(op).getToApplyAttr(), operands);
}

LiteralRef fusionHandler(ExecContext &ctx, Operation *op,
                         ArrayRef<LiteralRef> operands) {
  return ctx.call(op, cast<hlo::FusionOp>(op).getCallsAttr(), operands);
}

} // namespace

void gshard::sim::registerControlFlowHandlers(HandlerTable &t) {
  t["hlo.while"] = whileHandler;
  t["hlo.conditional"] = conditionalHandler;
  t["hlo.call"] = callHandler;
  t["hlo.fusion"] = fusionHandler;
}
