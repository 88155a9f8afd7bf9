//===- HloOps.cpp - Operations of the hlo dialect -------------------------===//

#include "gshard/IR/HloOps.h"
#include "VerifierUtils.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/TypeUtilities.h"

using namespace mlir;
using namespace gshard::hlo;

//===----------------------------------------------------------------------===//
// ComputationOp
//===----------------------------------------------------------------------===//

Value ComputationOp::getRoot() {
  Block &block = getBody().front();
  if (block.empty())
    return {};
  if (auto ret = dyn_cast<ReturnOp>(block.back()))
    return ret.getRoot();
  return {};
}

SmallVector<ParameterOp> gshard::hlo::getParameters(ComputationOp computation) {
  SmallVector<ParameterOp> params;
  for (auto param : computation.getBody().front().getOps<ParameterOp>()) {
    uint64_t number = param.getParameterNumber();
    if (number >= params.size())
      params.resize(number + 1);
    params[number] = param;
  }
  return params;
}

LogicalResult ComputationOp::verify() {
  Block &block = getBody().front();
  if (block.empty() || !isa<ReturnOp>(block.back()))
    return emitOpError("must end with an hlo.return naming its ROOT");
  if (block.getNumArguments() != 0)
    return emitOpError("takes its inputs through hlo.parameter, not block "
                       "arguments");
  llvm::SmallDenseMap<uint64_t, ParameterOp> seen;
  for (auto param : block.getOps<ParameterOp>()) {
    auto [it, inserted] = seen.try_emplace(param.getParameterNumber(), param);
    if (!inserted)
      return param.emitOpError("parameter number ")
             << param.getParameterNumber() << " is used twice in computation "
             << getSymName();
  }
  for (uint64_t i = 0, e = seen.size(); i < e; ++i)
    if (!seen.count(i))
      return emitOpError("parameter numbers must be 0..")
             << e - 1 << " without gaps; parameter " << i << " is missing";
  return success();
}

SmallVector<Type> gshard::hlo::getResultShapes(Operation *op) {
  Type type = op->getResult(0).getType();
  if (auto tuple = dyn_cast<TupleType>(type))
    return SmallVector<Type>(tuple.getTypes());
  return {type};
}

#define GET_OP_CLASSES
#include "gshard/IR/HloOps.cpp.inc"
