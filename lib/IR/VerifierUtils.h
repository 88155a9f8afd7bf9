//===- VerifierUtils.h - Helpers shared by the op verifiers -----*- C++ -*-===//

#ifndef GSHARD_LIB_IR_VERIFIERUTILS_H
#define GSHARD_LIB_IR_VERIFIERUTILS_H

#include "mlir/IR/Operation.h"
#include "llvm/ADT/SmallVector.h"

namespace gshard::hlo {

/// The result shapes of an op that returns one array or a tuple of them
/// (reduce, sort, scatter, ...): the tuple's element types, or the type.
llvm::SmallVector<mlir::Type> getResultShapes(mlir::Operation *op);

} // namespace gshard::hlo

#endif // GSHARD_LIB_IR_VERIFIERUTILS_H
