//===- HloTraits.h - Op traits of the hlo dialect ---------------*- C++ -*-===//

#ifndef GSHARD_IR_HLOTRAITS_H
#define GSHARD_IR_HLOTRAITS_H

#include "mlir/IR/OpDefinition.h"

namespace gshard::hlo {
namespace impl {
mlir::LogicalResult verifySameShape(mlir::Operation *op);
mlir::LogicalResult verifySameElementType(mlir::Operation *op);
} // namespace impl

namespace OpTrait {
/// All tensor operands and the result have the same dimensions (layouts may
/// differ), as XLA requires of elementwise instructions.
template <typename ConcreteType>
class HloSameShape
    : public mlir::OpTrait::TraitBase<ConcreteType, HloSameShape> {
public:
  static mlir::LogicalResult verifyTrait(mlir::Operation *op) {
    return impl::verifySameShape(op);
  }
};

/// All tensor operands and the result have the same element type.
template <typename ConcreteType>
class HloSameElementType
    : public mlir::OpTrait::TraitBase<ConcreteType, HloSameElementType> {
public:
  static mlir::LogicalResult verifyTrait(mlir::Operation *op) {
    return impl::verifySameElementType(op);
  }
};
} // namespace OpTrait
} // namespace gshard::hlo

#endif // GSHARD_IR_HLOTRAITS_H
