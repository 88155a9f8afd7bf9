//===- HloCollectiveVerifiers.cpp - Shape rules of collectives ------------===//

#include "VerifierUtils.h"
#include "gshard/IR/HloOps.h"

using namespace mlir;
using namespace gshard::hlo;

/// Devices per group, or nullopt when the groups are implicit (`{}` or
/// absent: every participant).
static std::optional<int64_t> groupSize(ReplicaGroupsAttr groups) {
  if (!groups)
    return std::nullopt;
  if (groups.getIsIota())
    return groups.getGroupSize();
  if (groups.getGroupSizes().empty())
    return std::nullopt;
  return groups.getGroupSizes()[0];
}

/// Checks each result against its operand: equal except along `dim`, where
/// the result is the operand times (gather) or divided by (scatter) the
/// group size.
static LogicalResult verifyScaledShapes(Operation *op, int64_t dim,
                                        std::optional<int64_t> size,
                                        bool gather) {
  SmallVector<Type> results = getResultShapes(op);
  if (results.size() != op->getNumOperands())
    return op->emitOpError("must produce one result per operand");
  for (auto [operandValue, resultType] :
       llvm::zip(op->getOperands(), results)) {
    auto operand = cast<RankedTensorType>(operandValue.getType());
    auto result = dyn_cast<RankedTensorType>(resultType);
    if (!result || result.getRank() != operand.getRank() ||
        result.getElementType() != operand.getElementType())
      return op->emitOpError("result must have the operand's rank and type");
    // Scalars pass through groups of one unchanged (PyTorch/XLA emits
    // them alongside the tensors of a combined reduce-scatter).
    if (operand.getRank() == 0 && size == 1 && result.getRank() == 0)
      continue;
    if (dim < 0 || dim >= operand.getRank())
      return op->emitOpError("dimension ") << dim << " is out of range";
    for (int64_t d = 0; d < operand.getRank(); ++d) {
      int64_t in = operand.getDimSize(d), out = result.getDimSize(d);
      if (d != dim) {
        if (in != out)
          return op->emitOpError("dimension ")
                 << d << " changes from " << in << " to " << out;
        continue;
      }
      int64_t big = gather ? out : in, small = gather ? in : out;
      bool ok = size ? big == small * *size
                     : (small == 0 ? big == 0 : big % small == 0);
      if (!ok)
        return op->emitOpError("dimension ")
               << d << " goes from " << in << " to " << out
               << (size ? " with groups of " + std::to_string(*size)
                        : std::string(", not a multiple"));
    }
  }
  return success();
}

LogicalResult AllGatherOp::verify() {
  if (getDimensions().size() != 1)
    return emitOpError("needs exactly one all-gather dimension");
  return verifyScaledShapes(*this, getDimensions()[0],
                            groupSize(getReplicaGroupsAttr()), true);
}

LogicalResult ReduceScatterOp::verify() {
  if (getDimensions().size() != 1)
    return emitOpError("needs exactly one scatter dimension");
  return verifyScaledShapes(*this, getDimensions()[0],
                            groupSize(getReplicaGroupsAttr()), false);
}

/// Results equal to the operands, shape for shape.
static LogicalResult verifySameShapes(Operation *op) {
  SmallVector<Type> results = getResultShapes(op);
  if (results.size() != op->getNumOperands())
    return op->emitOpError("must produce one result per operand");
  for (auto [operand, result] : llvm::zip(op->getOperands(), results)) {
    auto a = cast<RankedTensorType>(operand.getType());
    auto b = dyn_cast<RankedTensorType>(result);
    if (!b || a.getShape() != b.getShape() ||
        a.getElementType() != b.getElementType())
      return op->emitOpError("result shapes must match the operands");
  }
  return success();
}

LogicalResult AllReduceOp::verify() { return verifySameShapes(*this); }

LogicalResult AllToAllOp::verify() {
  if (auto dims = getDimensions()) {
    if (dims->size() != 1)
      return emitOpError("array all-to-all needs one split dimension");
    if (getOperands().size() != 1)
      return emitOpError("array all-to-all takes one operand");
    int64_t dim = (*dims)[0];
    auto operand = cast<RankedTensorType>(getOperands()[0].getType());
    if (dim < 0 || dim >= operand.getRank())
      return emitOpError("split dimension ") << dim << " is out of range";
    if (std::optional<int64_t> size = groupSize(getReplicaGroupsAttr()))
      if (operand.getDimSize(dim) % *size != 0)
        return emitOpError("split dimension size ")
               << operand.getDimSize(dim) << " does not divide into " << *size
               << " parts";
  }
  return verifySameShapes(*this);
}
