//===- HloCallVerifiers.cpp - Checks of called computations ---------------===//
//
// Ops that name computations (to_apply, body/condition, branches, calls)
// must name an hlo.computation whose parameters and root match what the op
// passes and expects, as XLA's ShapeInference requires. Layouts do not take
// part in the comparison.
//
//===----------------------------------------------------------------------===//

#include "VerifierUtils.h"
#include "gshard/IR/HloOps.h"

#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace gshard::hlo;

/// True when `a` and `b` are the same HLO shape, ignoring layouts and, with
/// `ignoreFpPrecision`, the width of floating-point types (XLA lets reducers
/// accumulate in a wider float than their inputs).
static bool sameShape(Type a, Type b, bool ignoreFpPrecision = false) {
  if (auto ta = dyn_cast<RankedTensorType>(a)) {
    auto tb = dyn_cast<RankedTensorType>(b);
    if (!tb || ta.getShape() != tb.getShape())
      return false;
    Type ea = ta.getElementType(), eb = tb.getElementType();
    return ea == eb ||
           (ignoreFpPrecision && isa<FloatType>(ea) && isa<FloatType>(eb));
  }
  if (auto ta = dyn_cast<TupleType>(a)) {
    auto tb = dyn_cast<TupleType>(b);
    if (!tb || ta.size() != tb.size())
      return false;
    for (auto [x, y] : llvm::zip(ta.getTypes(), tb.getTypes()))
      if (!sameShape(x, y, ignoreFpPrecision))
        return false;
    return true;
  }
  return a == b;
}

static std::string shapeString(Type type) {
  std::string text;
  llvm::raw_string_ostream os(text);
  if (auto tensor = dyn_cast<RankedTensorType>(type)) {
    os << elementTypeText(tensor.getElementType()) << '[';
    llvm::interleave(tensor.getShape(), os, ",");
    os << ']';
  } else if (auto tuple = dyn_cast<TupleType>(type)) {
    os << '(';
    llvm::interleave(
        tuple.getTypes(), os, [&](Type t) { os << shapeString(t); }, ", ");
    os << ')';
  } else {
    os << type;
  }
  return text;
}

namespace {
/// Resolves and checks the computations an op names.
class CalleeChecker {
public:
  /// `reducer`: the callee is a reduction, whose float types may be wider
  /// than the op's.
  CalleeChecker(Operation *op, SymbolTableCollection &symbols,
                bool reducer = false)
      : op(op), symbols(symbols), reducer(reducer) {}

  /// Looks up the computation named by attribute `key`.
  FailureOr<ComputationOp> lookup(FlatSymbolRefAttr ref, StringRef key) {
    auto callee = symbols.lookupNearestSymbolFrom<ComputationOp>(op, ref);
    if (!callee) {
      op->emitOpError() << key << " names computation " << ref
                        << ", which does not exist";
      return failure();
    }
    return callee;
  }

  /// Checks the callee's parameter shapes and, if given, its root shape.
  LogicalResult checkSignature(ComputationOp callee, TypeRange params,
                               std::optional<Type> root, StringRef key) {
    SmallVector<ParameterOp> actual = getParameters(callee);
    if (actual.size() != params.size())
      return op->emitOpError() << key << " computation " << callee.getSymName()
                               << " takes " << actual.size() << " parameters, "
                               << params.size() << " expected";
    for (auto [i, param] : llvm::enumerate(actual))
      if (!sameShape(param.getType(), params[i], reducer))
        return op->emitOpError()
               << key << " computation " << callee.getSymName() << " parameter "
               << i << " is " << shapeString(param.getType()) << ", expected "
               << shapeString(params[i]);
    if (root && callee.getRoot() &&
        !sameShape(callee.getRoot().getType(), *root, reducer))
      return op->emitOpError()
             << key << " computation " << callee.getSymName() << " returns "
             << shapeString(callee.getRoot().getType()) << ", expected "
             << shapeString(*root);
    return success();
  }

  /// Resolves `ref` and checks its signature in one step.
  LogicalResult check(FlatSymbolRefAttr ref, StringRef key, TypeRange params,
                      std::optional<Type> root) {
    FailureOr<ComputationOp> callee = lookup(ref, key);
    if (failed(callee))
      return failure();
    return checkSignature(*callee, params, root, key);
  }

private:
  Operation *op;
  SymbolTableCollection &symbols;
  bool reducer;
};
} // namespace

/// Scalar type of each tensor in `values`, repeated `times` times: the
/// parameters of a reduction computation.
static SmallVector<Type> scalarParams(TypeRange values, int times) {
  SmallVector<Type> params;
  for (int t = 0; t < times; ++t)
    for (Type type : values)
      params.push_back(RankedTensorType::get(
          {}, cast<RankedTensorType>(type).getElementType()));
  return params;
}

/// The root a reduction computation over `values` produces: one scalar or a
/// tuple of them.
static Type scalarRoot(MLIRContext *context, TypeRange values) {
  SmallVector<Type> scalars = scalarParams(values, 1);
  if (scalars.size() == 1)
    return scalars[0];
  return TupleType::get(context, scalars);
}

LogicalResult MapOp::verifySymbolUses(SymbolTableCollection &symbols) {
  CalleeChecker checker(*this, symbols);
  SmallVector<Type> params = scalarParams(getInputs().getTypes(), 1);
  return checker.check(getToApplyAttr(), "to_apply", params,
                       scalarRoot(getContext(), getType()));
}

LogicalResult ReduceOp::verifySymbolUses(SymbolTableCollection &symbols) {
  CalleeChecker checker(*this, symbols, /*reducer=*/true);
  TypeRange inputs = getInputs().getTypes();
  return checker.check(getToApplyAttr(), "to_apply", scalarParams(inputs, 2),
                       scalarRoot(getContext(), inputs));
}

LogicalResult ReduceWindowOp::verifySymbolUses(SymbolTableCollection &symbols) {
  CalleeChecker checker(*this, symbols, /*reducer=*/true);
  TypeRange operands = getOperandsAndInits().getTypes();
  TypeRange inputs = operands.take_front(operands.size() / 2);
  return checker.check(getToApplyAttr(), "to_apply", scalarParams(inputs, 2),
                       scalarRoot(getContext(), inputs));
}

LogicalResult
SelectAndScatterOp::verifySymbolUses(SymbolTableCollection &symbols) {
  CalleeChecker checker(*this, symbols);
  Type operand = getOperand().getType();
  Type source = getSource().getType();
  Type pred = RankedTensorType::get({}, IntegerType::get(getContext(), 1));
  if (failed(checker.check(getSelectAttr(), "select", scalarParams(operand, 2),
                           pred)))
    return failure();
  return checker.check(getScatterAttr(), "scatter", scalarParams(source, 2),
                       scalarRoot(getContext(), source));
}

LogicalResult ScatterOp::verifySymbolUses(SymbolTableCollection &symbols) {
  CalleeChecker checker(*this, symbols, /*reducer=*/true);
  TypeRange args = getArgs().getTypes();
  TypeRange inputs = args.take_front((args.size() - 1) / 2);
  return checker.check(getToApplyAttr(), "to_apply", scalarParams(inputs, 2),
                       scalarRoot(getContext(), inputs));
}

LogicalResult SortOp::verifySymbolUses(SymbolTableCollection &symbols) {
  CalleeChecker checker(*this, symbols);
  SmallVector<Type> params;
  for (Type type : getInputs().getTypes()) {
    Type scalar = RankedTensorType::get(
        {}, cast<RankedTensorType>(type).getElementType());
    params.append({scalar, scalar});
  }
  Type pred = RankedTensorType::get({}, IntegerType::get(getContext(), 1));
  return checker.check(getToApplyAttr(), "to_apply", params, pred);
}

LogicalResult WhileOp::verifySymbolUses(SymbolTableCollection &symbols) {
  CalleeChecker checker(*this, symbols);
  Type state = getInit().getType();
  if (!sameShape(state, getType()))
    return emitOpError("result ")
           << shapeString(getType()) << " must match the loop state "
           << shapeString(state);
  Type pred = RankedTensorType::get({}, IntegerType::get(getContext(), 1));
  if (failed(checker.check(getConditionAttr(), "condition", state, pred)))
    return failure();
  return checker.check(getBodyAttr(), "body", state, state);
}

LogicalResult ConditionalOp::verifySymbolUses(SymbolTableCollection &symbols) {
  CalleeChecker checker(*this, symbols);
  SmallVector<FlatSymbolRefAttr> branches;
  if (getTrueComputationAttr() || getFalseComputationAttr()) {
    if (!getTrueComputationAttr() || !getFalseComputationAttr() ||
        getBranchComputationsAttr())
      return emitOpError("needs both true_computation and false_computation, "
                         "or branch_computations");
    branches = {getTrueComputationAttr(), getFalseComputationAttr()};
  } else if (auto list = getBranchComputationsAttr()) {
    for (Attribute ref : list)
      branches.push_back(cast<FlatSymbolRefAttr>(ref));
  }
  if (branches.empty())
    return emitOpError("names no branch computations");
  if (branches.size() != getBranchOperands().size())
    return emitOpError("has ")
           << branches.size() << " branches but " << getBranchOperands().size()
           << " branch operands";
  for (auto [ref, operand] : llvm::zip(branches, getBranchOperands()))
    if (failed(checker.check(ref, "branch", operand.getType(), getType())))
      return failure();
  return success();
}

LogicalResult CallOp::verifySymbolUses(SymbolTableCollection &symbols) {
  return CalleeChecker(*this, symbols)
      .check(getToApplyAttr(), "to_apply", getArgs().getTypes(), getType());
}

LogicalResult FusionOp::verifySymbolUses(SymbolTableCollection &symbols) {
  return CalleeChecker(*this, symbols)
      .check(getCallsAttr(), "calls", getArgs().getTypes(), getType());
}

LogicalResult AllReduceOp::verifySymbolUses(SymbolTableCollection &symbols) {
  TypeRange operands = getOperands().getTypes();
  return CalleeChecker(*this, symbols, /*reducer=*/true)
      .check(getToApplyAttr(), "to_apply",
             scalarParams(operands.take_front(1), 2),
             scalarRoot(getContext(), operands.take_front(1)));
}

LogicalResult
ReduceScatterOp::verifySymbolUses(SymbolTableCollection &symbols) {
  TypeRange operands = getOperands().getTypes();
  return CalleeChecker(*this, symbols, /*reducer=*/true)
      .check(getToApplyAttr(), "to_apply",
             scalarParams(operands.take_front(1), 2),
             scalarRoot(getContext(), operands.take_front(1)));
}

LogicalResult CustomCallOp::verifySymbolUses(SymbolTableCollection &symbols) {
  // Custom calls may name computations with any signature.
  CalleeChecker checker(*this, symbols);
  if (auto list = getCalledComputationsAttr())
    for (Attribute ref : list)
      if (failed(checker.lookup(cast<FlatSymbolRefAttr>(ref),
                                "called_computations")))
        return failure();
  return success();
}

//===----------------------------------------------------------------------===//
// Op-level rules of map and the SPMD custom-calls
//===----------------------------------------------------------------------===//

LogicalResult MapOp::verify() {
  // XLA's InferMapShape: every input has the result's dims (the element
  // types are the computation's, checked in verifySymbolUses), and the map
  // covers all dimensions in order.
  auto result = cast<RankedTensorType>(getType());
  for (Type input : getInputs().getTypes())
    if (cast<RankedTensorType>(input).getShape() != result.getShape())
      return emitOpError("input ")
             << shapeString(input) << " must have the dims of the result "
             << shapeString(result);
  if (std::optional<ArrayRef<int64_t>> dims = getDimensions())
    for (auto [i, dim] : llvm::enumerate(*dims))
      if (dim != int64_t(i))
        return emitOpError("maps over all dimensions in order: dimension ")
               << i << " is " << dim;
  if (getDimensions() && int64_t(getDimensions()->size()) != result.getRank())
    return emitOpError("maps over all ")
           << result.getRank() << " dimensions, not "
           << getDimensions()->size();
  return success();
}

/// `type` with the layouts of its arrays dropped, for comparisons.
static Type dropLayouts(Type type) {
  if (auto tensor = dyn_cast<RankedTensorType>(type))
    return RankedTensorType::get(tensor.getShape(), tensor.getElementType());
  if (auto tuple = dyn_cast<TupleType>(type)) {
    SmallVector<Type> elements;
    for (Type element : tuple.getTypes())
      elements.push_back(dropLayouts(element));
    return TupleType::get(type.getContext(), elements);
  }
  return type;
}

LogicalResult CustomCallOp::verify() {
  // The three custom-calls GSPMD gives a meaning to. `Sharding` is an
  // identity that pins a sharding; the partitioner passes its operand
  // through, so a different result shape would give it operands of
  // mismatched shapes. SPMDFullToShardShape / SPMDShardToFullShape change
  // the dims from the full to the shard shape (or back) under the sharding,
  // which the partitioner checks, and keep rank and element type.
  StringRef target = getCustomCallTarget();
  bool sharding = target == "Sharding";
  if (!sharding && target != "SPMDFullToShardShape" &&
      target != "SPMDShardToFullShape")
    return success();
  if (getArgs().size() != 1)
    return emitOpError("custom-call ")
           << target << " takes one operand, not " << getArgs().size();
  Type operand = getArgs()[0].getType();
  Type result = getType();
  if (sharding) {
    if (dropLayouts(operand) != dropLayouts(result))
      return emitOpError("custom-call Sharding must keep the shape: operand ")
             << shapeString(operand) << ", result " << shapeString(result);
    return success();
  }
  auto operandArray = dyn_cast<RankedTensorType>(operand);
  auto resultArray = dyn_cast<RankedTensorType>(result);
  if (!operandArray || !resultArray)
    return emitOpError("custom-call ") << target << " needs an array operand "
                                       << "and result";
  if (operandArray.getElementType() != resultArray.getElementType() ||
      operandArray.getRank() != resultArray.getRank())
    return emitOpError("custom-call ")
           << target << " must keep the rank and element type: operand "
           << shapeString(operand) << ", result " << shapeString(result);
  return success();
}
