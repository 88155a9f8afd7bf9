//===- ScalarProgram.h - Allocation-free scalar computations ----*- C++ -*-===//
//
// Part of gshard, under the Apache License v2.0.
//
// Comparators and sort keys are small computations on scalars that run once
// per element or per comparison. Through the interpreter every instruction
// of every call allocates a literal; a ScalarProgram instead gives every
// instruction one preallocated one-element literal that each run
// overwrites, with the element formulas of the array handlers
// (ElementOps.h), so its results are bit-identical to the interpreter's.
//
//===----------------------------------------------------------------------===//

#ifndef GSHARD_LIB_SIM_SCALARPROGRAM_H
#define GSHARD_LIB_SIM_SCALARPROGRAM_H

#include "ElementOps.h"
#include "Exec.h"

namespace gshard::sim {

class ScalarProgram {
public:
  /// Prepares `comp`. False when an instruction is not a parameter, a
  /// scalar constant, or an elementwise op / compare / select / clamp /
  /// convert / bitcast-convert on scalars of types it is defined on (a
  /// tuple is allowed as the root); the caller then interprets `comp`.
  bool init(ExecContext &ctx, const CompiledComputation &comp);

  /// Whether parameter `p` takes elements of `elementType` (what the
  /// interpreter's argument check requires).
  bool acceptsArgument(size_t p, mlir::Type elementType) const;
  /// Parameter `p` := element `i` of `lit` (of the parameter's type).
  void setArgument(size_t p, const Literal &lit, int64_t i) {
    if (paramSlots[p] >= 0)
      slots[paramSlots[p]]->copyElement(0, lit, i);
  }
  void run();
  size_t getNumResults() const { return resultSlots.size(); }
  /// Result `k` of the last run, a one-element literal.
  const Literal &getResult(size_t k) const { return *slots[resultSlots[k]]; }

private:
  enum class StepKind : uint8_t {
    Unary,
    Binary,
    Compare,
    Select,
    Clamp,
    Convert,
    BitcastConvert,
    Copy
  };
  struct Step {
    StepKind kind;
    elem::Unary unary = elem::Unary::Copy;
    elem::Binary binary = elem::Binary::Add;
    elem::CompareSpec compare = {};
    elem::IntInfo info = {64, false};
    int out = -1;
    int in[3] = {-1, -1, -1};
  };
  bool addStep(ExecContext &ctx, const CompiledComputation &comp, size_t i);

  std::vector<LiteralRef> slots;
  std::vector<Step> steps;
  std::vector<int> paramSlots;
  std::vector<int> resultSlots;
};

} // namespace gshard::sim

#endif // GSHARD_LIB_SIM_SCALARPROGRAM_H
