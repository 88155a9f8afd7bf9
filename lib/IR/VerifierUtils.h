//===- VerifierUtils.h - Helpers shared by the op verifiers -----*- C++ -*-===//

#ifndef GSHARD_LIB_IR_VERIFIERUTILS_H
#define GSHARD_LIB_IR_VERIFIERUTILS_H

#include "mlir/IR/Operation.h"
#include "llvm/ADT/SmallVector.h"

#include <string>

namespace gshard::hlo {

/// The result shapes of an op that returns one array or a tuple of them
/// (reduce, sort, scatter, ...): the tuple's element types, or the type.
llvm::SmallVector<mlir::Type> getResultShapes(mlir::Operation *op);

/// Names an element type as HLO does (`s32`, `u8`, `pred`, `c64`, `bf16`).
std::string elementTypeText(mlir::Type element);

/// Formats an array shape as HLO does (`f32[2,3]`) for diagnostics; other
/// types as MLIR prints them.
std::string shapeText(mlir::Type type);

} // namespace gshard::hlo

#endif // GSHARD_LIB_IR_VERIFIERUTILS_H
