//===- ControlFlow.cpp - Data-flow edges of propagation ---------*- C++ -*-===//
//
// Tuples, get-tuple-element, while loops, conditionals, calls, parameters of
// called computations and optimization barriers move shardings unchanged
// (Shardy's "data-flow edges"): they have no factor rule. A while loop, its
// body root and parameter and its condition parameter share one sharding; a
// conditional shares its sharding with its branch roots and each branch
// parameter with its operand; a call with its callee's root and parameters.
//
//===----------------------------------------------------------------------===//

#include "Driver.h"
#include "Rules.h"

#include "mlir/IR/BuiltinTypes.h"

using namespace mlir;

namespace gshard::propagation {

static bool compatibleShapes(Type a, Type b) {
  auto ta = dyn_cast<TupleType>(a), tb = dyn_cast<TupleType>(b);
  if (ta || tb) {
    if (!ta || !tb || ta.size() != tb.size())
      return false;
    for (auto [x, y] : llvm::zip(ta.getTypes(), tb.getTypes()))
      if (!compatibleShapes(x, y))
        return false;
    return true;
  }
  auto ra = dyn_cast<RankedTensorType>(a), rb = dyn_cast<RankedTensorType>(b);
  if (!ra || !rb)
    return a == b;
  return ra.getShape() == rb.getShape();
}

bool Driver::isDataFlowOp(Operation *op) {
  return isa<hlo::TupleOp, hlo::GetTupleElementOp, hlo::WhileOp,
             hlo::ConditionalOp, hlo::CallOp, hlo::ParameterOp,
             hlo::OptimizationBarrierOp>(op);
}

static SmallVector<Attribute> branchRefs(hlo::ConditionalOp cond) {
  SmallVector<Attribute> refs;
  if (auto branches = cond.getBranchComputationsAttr())
    refs.append(branches.begin(), branches.end());
  else {
    if (auto t = cond.getTrueComputationAttr())
      refs.push_back(t);
    if (auto f = cond.getFalseComputationAttr())
      refs.push_back(f);
  }
  return refs;
}

static Operation *rootOf(hlo::ComputationOp computation) {
  if (!computation)
    return nullptr;
  Value root = computation.getRoot();
  return root ? root.getDefiningOp() : nullptr;
}

static Operation *parameterOf(hlo::ComputationOp computation, int64_t index) {
  if (!computation)
    return nullptr;
  SmallVector<hlo::ParameterOp> params = hlo::getParameters(computation);
  return index < static_cast<int64_t>(params.size()) ? params[index] : nullptr;
}

SmallVector<Operation *> Driver::getRelated(Operation *op) {
  SmallVector<Operation *> related;
  auto add = [&](Operation *o) {
    if (o && !llvm::is_contained(related, o))
      related.push_back(o);
  };
  if (auto loop = dyn_cast<hlo::WhileOp>(op)) {
    hlo::ComputationOp body = lookupComputation(loop.getBodyAttr());
    hlo::ComputationOp cond = lookupComputation(loop.getConditionAttr());
    add(op);
    add(rootOf(body));
    add(parameterOf(body, 0));
    add(parameterOf(cond, 0));
  } else if (auto cond = dyn_cast<hlo::ConditionalOp>(op)) {
    add(op);
    for (Attribute ref : branchRefs(cond))
      add(rootOf(lookupComputation(ref)));
  } else if (auto call = dyn_cast<hlo::CallOp>(op)) {
    add(op);
    add(rootOf(lookupComputation(call.getToApplyAttr())));
  } else if (auto param = dyn_cast<hlo::ParameterOp>(op)) {
    Operation *caller = computationMap.lookup(parentComputation(op));
    if (auto cond = dyn_cast_or_null<hlo::ConditionalOp>(caller)) {
      for (auto [i, ref] : llvm::enumerate(branchRefs(cond)))
        if (lookupComputation(ref) == parentComputation(op) &&
            i + 1 < cond->getNumOperands()) {
          add(op);
          add(cond->getOperand(i + 1).getDefiningOp());
        }
    } else if (auto call = dyn_cast_or_null<hlo::CallOp>(caller)) {
      int64_t index = param.getParameterNumber();
      if (index < static_cast<int64_t>(call->getNumOperands())) {
        add(op);
        add(call->getOperand(index).getDefiningOp());
      }
    }
  }
  return related;
}

void Driver::buildComputationMap() {
  module.walk([&](Operation *op) {
    if (!isa<hlo::WhileOp, hlo::ConditionalOp, hlo::CallOp>(op))
      return;
    SmallVector<Operation *> related = getRelated(op);
    Operation *sharded = nullptr;
    for (Operation *r : related)
      if (getSharding(r)) {
        sharded = r;
        break;
      }
    if (sharded)
      for (Operation *r : related)
        if (r != sharded) {
          r->setAttr("sharding", getSharding(sharded));
          if (explanations)
            explanations->record(r, {OriginKind::ComputationEdge, sharded,
                                     "computation edge", 0, 0});
        }
    if (auto loop = dyn_cast<hlo::WhileOp>(op)) {
      if (auto body = lookupComputation(loop.getBodyAttr()))
        computationMap[body] = op;
      if (auto cond = lookupComputation(loop.getConditionAttr()))
        computationMap[cond] = op;
    } else if (auto cond = dyn_cast<hlo::ConditionalOp>(op)) {
      for (Attribute ref : branchRefs(cond))
        if (auto c = lookupComputation(ref))
          computationMap[c] = op;
    } else if (auto call = dyn_cast<hlo::CallOp>(op)) {
      if (auto c = lookupComputation(call.getToApplyAttr()))
        computationMap[c] = op;
    }
  });
}

void Driver::propagateThroughComputations(Operation *op,
                                          SetVector<Operation *> &changed) {
  auto propagateTo = [&](Operation *search) {
    SmallVector<Operation *> related = getRelated(search);
    if (!llvm::is_contained(related, op))
      return;
    for (Operation *r : related) {
      if (isCustomCall(r, "SPMDShardToFullShape"))
        continue;
      if (getSharding(r) == getSharding(op) || provided.contains(r))
        continue;
      setSharding(r, getSharding(op), OriginKind::ComputationEdge, op,
                  "computation edge");
      changed.insert(r);
      propagateThroughComputations(r, changed);
    }
  };
  if (isa<hlo::ConditionalOp, hlo::WhileOp, hlo::CallOp>(op))
    propagateTo(op);
  if (isa<hlo::ParameterOp>(op) || isRoot(op)) {
    Operation *caller = computationMap.lookup(parentComputation(op));
    if (caller) {
      propagateTo(caller);
      if (isa<hlo::ParameterOp>(op) &&
          isa<hlo::ConditionalOp, hlo::CallOp>(caller))
        propagateTo(op);
    }
  }
}

bool Driver::inferDataFlowFromOperands(Operation *op, int64_t aggressiveness,
                                       bool mayCombine) {
  Type type = op->getResult(0).getType();
  bool allowAggressive = countNonRootUsers(op) == 1;
  if (auto gte = dyn_cast<hlo::GetTupleElementOp>(op)) {
    Operation *def = gte.getOperand().getDefiningOp();
    if (!def || !isPartitioned(def))
      return false;
    ShardingAttr sub = getTupleElementSharding(
        getSharding(def), gte.getOperand().getType(), gte.getIndex());
    if (isManual(sub)) {
      if (getSharding(op) == sub)
        return false;
      setSharding(op, sub, OriginKind::Forward, def, "get-tuple-element");
      return true;
    }
    return maybeImprove(sub, op, mayCombine, allowAggressive,
                        OriginKind::Forward, def, "get-tuple-element");
  }
  if (isa<hlo::TupleOp>(op)) {
    bool any = false;
    for (Value operand : op->getOperands())
      if (Operation *def = operand.getDefiningOp(); def && isPartitioned(def))
        any = true;
    if (!any)
      return false;
    ShardingAttr current = getSharding(op);
    SmallVector<ShardingAttr> leaves =
        current ? getLeaves(current, type)
                : SmallVector<ShardingAttr>(
                      getLeafCount(type),
                      ShardingAttr::getReplicated(op->getContext()));
    int64_t offset = 0;
    Operation *source = nullptr;
    for (Value operand : op->getOperands()) {
      Operation *def = operand.getDefiningOp();
      int64_t count = getLeafCount(operand.getType());
      if (def && getSharding(def)) {
        SmallVector<ShardingAttr> sub =
            getLeaves(getSharding(def), operand.getType());
        for (int64_t j = 0; j < count; ++j)
          if (!current || isShardingMoreSpecific(sub[j], leaves[offset + j])) {
            if (leaves[offset + j] != sub[j])
              source = def;
            leaves[offset + j] = sub[j];
          }
      }
      offset += count;
    }
    ShardingAttr updated = ShardingAttr::getTuple(op->getContext(), leaves);
    if (current && (updated == current || shardingsEqual(updated, current)))
      return false;
    setSharding(op, updated, OriginKind::Forward, source, "tuple");
    return true;
  }
  if (auto loop = dyn_cast<hlo::WhileOp>(op)) {
    Operation *def = loop.getInit().getDefiningOp();
    if (!def || !getSharding(def))
      return false;
    ShardingAttr s = expandToTuple(getSharding(def), type);
    if (ShardingAttr current = getSharding(op))
      mergeSharding(expandToTuple(current, type), s, mayCombine);
    return maybeImprove(s, op, mayCombine, false, OriginKind::Forward, def,
                        "while");
  }
  if (auto param = dyn_cast<hlo::ParameterOp>(op)) {
    Operation *caller = computationMap.lookup(parentComputation(op));
    if (!caller || aggressiveness < 1)
      return false;
    Operation *def = nullptr;
    if (auto cond = dyn_cast<hlo::ConditionalOp>(caller)) {
      for (auto [i, ref] : llvm::enumerate(branchRefs(cond)))
        if (lookupComputation(ref) == parentComputation(op) &&
            i + 1 < cond->getNumOperands())
          def = cond->getOperand(i + 1).getDefiningOp();
    } else if (isa<hlo::CallOp>(caller)) {
      int64_t index = param.getParameterNumber();
      if (index < static_cast<int64_t>(caller->getNumOperands()))
        def = caller->getOperand(index).getDefiningOp();
    }
    if (!def || !getSharding(def))
      return false;
    return maybeImprove(getSharding(def), op, mayCombine, false,
                        OriginKind::ComputationEdge, def, "parameter");
  }
  if (isa<hlo::OptimizationBarrierOp>(op)) {
    Operation *def = op->getOperand(0).getDefiningOp();
    if (!def || !getSharding(def) || !isPartitioned(def))
      return false;
    return maybeImprove(getSharding(def), op, mayCombine, allowAggressive,
                        OriginKind::Forward, def, "opt-barrier");
  }
  return false;
}

std::optional<ShardingAttr> Driver::dataFlowUserSharding(Operation *op,
                                                         Operation *user) {
  ShardingAttr us = getSharding(user);
  Type type = op->getResult(0).getType();
  Type userType = user->getResult(0).getType();
  if (isa<hlo::TupleOp>(user)) {
    std::optional<ShardingAttr> best;
    for (auto [i, operand] : llvm::enumerate(user->getOperands())) {
      if (operand.getDefiningOp() != op)
        continue;
      ShardingAttr sub = getTupleElementSharding(us, userType, i);
      if (!best || isShardingMoreSpecific(sub, *best))
        best = sub;
    }
    return best;
  }
  if (auto gte = dyn_cast<hlo::GetTupleElementOp>(user)) {
    ShardingAttr base = getSharding(op);
    if (!base) {
      SmallVector<ShardingAttr> leaves;
      SmallVector<Type> flat;
      cast<TupleType>(type).getFlattenedTypes(flat);
      ShardingAttr leafUser = us.isTuple() ? (us.getTupleElements().empty()
                                                  ? ShardingAttr()
                                                  : us.getTupleElements()[0])
                                           : us;
      if (!leafUser)
        return std::nullopt;
      for (Type leaf : flat)
        leaves.push_back(
            replicateAllDataDims(leafUser, rules::getShape(leaf).size()));
      base = ShardingAttr::getTuple(op->getContext(), leaves);
    }
    return replaceTupleElement(base, type, gte.getIndex(), us);
  }
  if (auto outfeed = dyn_cast<hlo::OutfeedOp>(user)) {
    if (outfeed.getOperand().getDefiningOp() != op)
      return std::nullopt;
    if (!us.isTuple())
      return us;
    SmallVector<Type> types = {outfeed.getOperand().getType(),
                               outfeed.getToken().getType()};
    return getTupleElementSharding(us, TupleType::get(op->getContext(), types),
                                   0);
  }
  if (compatibleShapes(type, userType))
    return us;
  return std::nullopt;
}

} // namespace gshard::propagation
