//===- Rules.h - Sharding rule builders of the op families ------*- C++ -*-===//
//
// One builder per op family, each in its own file; RuleRegistry.cpp maps
// every hlo op onto one of them in a single alphabetical table.
//
//===----------------------------------------------------------------------===//

#ifndef GSHARD_LIB_PROPAGATION_RULES_H
#define GSHARD_LIB_PROPAGATION_RULES_H

#include "gshard/Propagation/OpShardingRule.h"

#include "mlir/IR/Operation.h"

namespace gshard::rules {

/// The dims of a ranked tensor value, empty for tuples/tokens.
llvm::SmallVector<int64_t> getShape(mlir::Value value);
llvm::SmallVector<int64_t> getShape(mlir::Type type);
bool isArray(mlir::Type type);

// Elementwise.cpp
OpShardingRule buildElementwiseRule(mlir::Operation *op);
OpShardingRule buildCollectiveRule(mlir::Operation *op);
OpShardingRule buildShiftLikeRule(mlir::Operation *op);
// ShapeOps.cpp (broadcast, reshape, transpose, reverse)
OpShardingRule buildBroadcastRule(mlir::Operation *op);
OpShardingRule buildReshapeRule(mlir::Operation *op);
OpShardingRule buildTransposeRule(mlir::Operation *op);
OpShardingRule buildReverseRule(mlir::Operation *op);
// Contraction.cpp (dot, convolution)
OpShardingRule buildDotRule(mlir::Operation *op);
OpShardingRule buildConvolutionRule(mlir::Operation *op);
// Reduction.cpp (reduce, reduce-window, select-and-scatter, sort)
OpShardingRule buildReduceRule(mlir::Operation *op);
OpShardingRule buildReduceWindowRule(mlir::Operation *op);
OpShardingRule buildSelectAndScatterRule(mlir::Operation *op);
OpShardingRule buildSortRule(mlir::Operation *op);
// GatherScatter.cpp
OpShardingRule buildGatherRule(mlir::Operation *op);
OpShardingRule buildScatterRule(mlir::Operation *op);
// SliceConcat.cpp (slice, pad, concatenate, dynamic-slice/update-slice)
OpShardingRule buildSliceRule(mlir::Operation *op);
OpShardingRule buildPadRule(mlir::Operation *op);
OpShardingRule buildConcatenateRule(mlir::Operation *op);
OpShardingRule buildDynamicSliceRule(mlir::Operation *op);
OpShardingRule buildDynamicUpdateSliceRule(mlir::Operation *op);
// CustomCall.cpp
OpShardingRule buildCustomCallRule(mlir::Operation *op);

} // namespace gshard::rules

#endif // GSHARD_LIB_PROPAGATION_RULES_H
