//===- OpShardingRule.h - Factor-based sharding rules of ops ----*- C++ -*-===//
//
// An op sharding rule says how the dimensions of an op's operands and
// results correspond, in the style of Shardy's OpShardingRule: every
// dimension is mapped onto a *factor* shared by all tensors that carry it.
//
//   * a pass-through factor appears in operands and results (elementwise
//     dims, dot batch and non-contracting dims, gather passthrough dims);
//   * a reduction factor appears in operands only (dot contracting dims,
//     reduce dims): a result never inherits its tiling;
//   * a need-replication factor is never propagated (sliced dims, sort and
//     fft dims, window dims that cannot be tiled).
//
// Forward and backward propagation both derive from the same rule: a
// sharding moves from one tensor to another by keeping the tiling of the
// factors both share and replicating the rest (`projectSharding`).
//
// GSPMD is more than the factor algebra: each rule also carries the policy
// XLA's propagation applies to its op family (minimum aggressiveness, which
// operand is representative, whether partial shardings of several operands
// are merged). See docs/propagation.md.
//
//===----------------------------------------------------------------------===//

#ifndef GSHARD_PROPAGATION_OPSHARDINGRULE_H
#define GSHARD_PROPAGATION_OPSHARDINGRULE_H

#include "gshard/IR/HloOps.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"

namespace gshard {

enum class FactorKind : uint8_t { PassThrough, Reduction, NeedReplication };

/// How a family combines the shardings of several operands (forward).
enum class OperandCombine : uint8_t {
  /// Improve the result from every sharded operand in turn (elementwise).
  EachOperand,
  /// Take the most specific operand sharding (XLA's representative operand).
  MostSpecific,
  /// Only the first operand decides (pad, slice, reverse, ...).
  FirstOperand,
  /// Dot-like: both operands give a candidate; the larger operand wins ties
  /// and the other one refines it (lookahead on the users first).
  Contraction,
};

/// The per-op factor mapping plus the GSPMD policy of its family.
struct OpShardingRule {
  /// A dimension not mapped to any factor.
  static constexpr int64_t kNoFactor = -1;

  llvm::SmallVector<int64_t> factorSizes;
  llvm::SmallVector<FactorKind> factorKinds;
  /// For each operand: the factor of each dim. An operand that does not take
  /// part in propagation (init values, indices of dynamic-slice, tokens) has
  /// `operandInvolved[i] == false`.
  llvm::SmallVector<llvm::SmallVector<int64_t>> operandDims;
  llvm::SmallVector<bool> operandInvolved;
  /// For each result leaf (one for array results; one per element for the
  /// tuple results of variadic reduce, sort, reduce-window and scatter).
  llvm::SmallVector<llvm::SmallVector<int64_t>> resultDims;
  /// Result leaf i is computed from operand resultOperand[i] for ops whose
  /// leaves pair with operands (variadic reduce/sort/scatter); -1 otherwise.
  llvm::SmallVector<int64_t> resultOperand;

  /// Family name used in explanations ("elementwise", "dot", ...).
  llvm::StringRef family;
  OperandCombine combine = OperandCombine::MostSpecific;
  /// XLA's CanPropagateThroughAtAggressiveLevel: below this aggressiveness
  /// the op passes no sharding in either direction.
  int64_t minAggressiveness = 1;
  /// Forward propagation needs at least this aggressiveness (broadcast: 3).
  int64_t minForwardAggressiveness = 0;
  /// Backward propagation also merges in what the other operands imply on
  /// the shared factors (dot, reduce).
  bool backwardConsidersOtherOperands = false;
  /// The op can be tiled at all in non-SPMD (MPMD) mode.
  bool supportsNonSpmd = true;
  /// Backward propagation only for operands of the same shape as the result
  /// (XLA's default user rule); set for ops without a finer rule.
  bool backwardOnlySameShape = false;
  /// Without partial merging, the first operand alone is representative
  /// (shifts and power, as XLA's PickRepresentativeOperand).
  bool firstOperandRepresentative = false;
  /// How shardings move between tensors: through the factors, or through
  /// XLA's reshape algebra (splits and merges of tiled dims).
  enum class Projection : uint8_t {
    Factors,
    Reshape
  } projection = Projection::Factors;
  /// Factors of convolution spatial dims with a real window (not a dot in
  /// disguise): GSPMD then only propagates forward from the lhs.
  llvm::SmallVector<int64_t> convSpatialFactors;

  int64_t addFactor(int64_t size, FactorKind kind);
  int64_t getNumFactors() const { return factorSizes.size(); }
  /// Starts the mapping of `numOperands` operands and `numResults` leaves,
  /// all dims unmapped and every operand involved.
  void initTensors(llvm::ArrayRef<int64_t> operandRanks,
                   llvm::ArrayRef<int64_t> resultRanks);
  /// Adds one pass-through factor per dim shared by every involved operand
  /// and result (same-shape ops).
  void addPointwiseFactors(llvm::ArrayRef<int64_t> shape);
  bool isValid() const { return !resultDims.empty(); }
};

/// The dims of `from` whose factor also appears in `to` as a propagatable
/// factor (not need-replication): `srcToDst[d]` is the dim of `to` or -1.
llvm::SmallVector<int64_t> mapDimsThroughFactors(const OpShardingRule &rule,
                                                 llvm::ArrayRef<int64_t> from,
                                                 llvm::ArrayRef<int64_t> to);

} // namespace gshard

#endif // GSHARD_PROPAGATION_OPSHARDINGRULE_H
