//===- ScalarProgram.cpp - Allocation-free scalar computations ------------===//
//
// Part of gshard, under the Apache License v2.0.
//
// Each step mirrors one array handler of Elementwise.cpp on a single
// element: same reads (getFloat / getInt / getBits), same formula
// (ElementOps.h), same store (setFloat rounds into the element type,
// setInt truncates). Anything whose handler could fail on these types is
// left to the interpreter, which then reports it.
//
//===----------------------------------------------------------------------===//

#include "ScalarProgram.h"

#include "llvm/ADT/StringSwitch.h"

#include <optional>

using namespace mlir;
using namespace gshard;
using namespace gshard::sim;
using namespace gshard::sim::elem;

static std::optional<Unary> unaryOf(StringRef name) {
  return llvm::StringSwitch<std::optional<Unary>>(name)
      .Case("hlo.abs", Unary::Abs)
      .Case("hlo.cbrt", Unary::Cbrt)
      .Case("hlo.ceil", Unary::Ceil)
      .Case("hlo.count_leading_zeros", Unary::Clz)
      .Case("hlo.cosine", Unary::Cos)
      .Case("hlo.erf", Unary::Erf)
      .Case("hlo.exponential", Unary::Exp)
      .Case("hlo.exponential_minus_one", Unary::Expm1)
      .Case("hlo.floor", Unary::Floor)
      .Case("hlo.is_finite", Unary::IsFinite)
      .Case("hlo.log", Unary::Log)
      .Case("hlo.log_plus_one", Unary::Log1p)
      .Case("hlo.logistic", Unary::Logistic)
      .Case("hlo.negate", Unary::Negate)
      .Case("hlo.not", Unary::Not)
      .Case("hlo.popcnt", Unary::Popcnt)
      .Case("hlo.round_nearest_afz", Unary::RoundAfz)
      .Case("hlo.round_nearest_even", Unary::RoundEven)
      .Case("hlo.rsqrt", Unary::Rsqrt)
      .Case("hlo.sign", Unary::Sign)
      .Case("hlo.sine", Unary::Sin)
      .Case("hlo.sqrt", Unary::Sqrt)
      .Case("hlo.tan", Unary::Tan)
      .Case("hlo.tanh", Unary::Tanh)
      .Default(std::nullopt);
}

static std::optional<Binary> binaryOf(StringRef name) {
  return llvm::StringSwitch<std::optional<Binary>>(name)
      .Case("hlo.add", Binary::Add)
      .Case("hlo.and", Binary::And)
      .Case("hlo.atan2", Binary::Atan2)
      .Case("hlo.divide", Binary::Divide)
      .Case("hlo.maximum", Binary::Max)
      .Case("hlo.minimum", Binary::Min)
      .Case("hlo.multiply", Binary::Multiply)
      .Case("hlo.or", Binary::Or)
      .Case("hlo.power", Binary::Power)
      .Case("hlo.remainder", Binary::Remainder)
      .Case("hlo.shift_left", Binary::Shl)
      .Case("hlo.shift_right_arithmetic", Binary::Sra)
      .Case("hlo.shift_right_logical", Binary::Srl)
      .Case("hlo.subtract", Binary::Subtract)
      .Case("hlo.xor", Binary::Xor)
      .Default(std::nullopt);
}

static bool isScalarArray(Type type) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  return tensor && tensor.getRank() == 0;
}

bool ScalarProgram::addStep(ExecContext &ctx, const CompiledComputation &comp,
                            size_t i) {
  Operation *op = comp.ops[i];
  const auto &operands = comp.operandSlots[i];
  Step step;
  step.out = i;
  for (size_t k = 0; k < operands.size() && k < 3; ++k)
    step.in[k] = operands[k];
  auto operand = [&](size_t k) -> const Literal & {
    return *slots[operands[k]];
  };
  StringRef name = op->getName().getStringRef();
  if (std::optional<Unary> unary = unaryOf(name)) {
    if (operands.size() != 1)
      return false;
    ElemKind kind = operand(0).getKind();
    if (isComplexKind(kind))
      return false;
    step.kind = StepKind::Unary;
    step.unary = *unary;
    step.info = intInfo(operand(0));
    // The handler rejects these on integers.
    if (*unary != Unary::IsFinite && !isFloatKind(kind)) {
      int64_t ignored;
      if (!unaryInt(*unary, kind, step.info, 0, ignored))
        return false;
    }
  } else if (name == "hlo.copy") {
    if (operands.size() != 1 ||
        !operand(0).matchesType(op->getResultTypes()[0]))
      return false;
    step.kind = StepKind::Copy;
  } else if (std::optional<Binary> binary = binaryOf(name)) {
    if (operands.size() != 2)
      return false;
    ElemKind kind = operand(0).getKind();
    if (isComplexKind(kind))
      return false;
    if (isFloatKind(kind) &&
        (*binary == Binary::And || *binary == Binary::Or ||
         *binary == Binary::Xor || *binary == Binary::Shl ||
         *binary == Binary::Sra || *binary == Binary::Srl))
      return false;
    step.kind = StepKind::Binary;
    step.binary = *binary;
    step.info = intInfo(operand(0));
    if (kind == ElemKind::Pred)
      step.info = {1, false};
  } else if (auto compare = dyn_cast<hlo::CompareOp>(op)) {
    if (operands.size() != 2 || isComplexKind(operand(0).getKind()))
      return false;
    step.kind = StepKind::Compare;
    step.compare = compareSpec(compare, operand(0));
  } else if (name == "hlo.select") {
    if (operands.size() != 3)
      return false;
    step.kind = StepKind::Select;
  } else if (name == "hlo.clamp") {
    if (operands.size() != 3 || isComplexKind(operand(1).getKind()))
      return false;
    step.kind = StepKind::Clamp;
    step.info = intInfo(operand(1));
  } else if (name == "hlo.convert") {
    if (operands.size() != 1)
      return false;
    step.kind = StepKind::Convert;
  } else if (name == "hlo.bitcast_convert") {
    if (operands.size() != 1 ||
        operand(0).getElementBytes() != slots[i]->getElementBytes() ||
        operand(0).getKind() == ElemKind::Pred ||
        slots[i]->getKind() == ElemKind::Pred)
      return false;
    step.kind = StepKind::BitcastConvert;
  } else {
    return false;
  }
  (void)ctx;
  steps.push_back(step);
  return true;
}

bool ScalarProgram::init(ExecContext &ctx, const CompiledComputation &comp) {
  slots.assign(comp.ops.size(), nullptr);
  steps.clear();
  paramSlots.assign(comp.numParameters, -1);
  resultSlots.clear();
  if (comp.rootSlot < 0)
    return false;
  for (size_t i = 0; i < comp.ops.size(); ++i) {
    Operation *op = comp.ops[i];
    if (static_cast<int>(i) == comp.rootSlot && isa<hlo::TupleOp>(op)) {
      for (int operand : comp.operandSlots[i])
        resultSlots.push_back(operand);
      continue;
    }
    if (op->getNumResults() != 1 || !isScalarArray(op->getResult(0).getType()))
      return false;
    if (auto param = dyn_cast<hlo::ParameterOp>(op)) {
      int64_t number = param.getParameterNumber();
      if (number < 0 || number >= static_cast<int64_t>(comp.numParameters) ||
          paramSlots[number] >= 0)
        return false;
      paramSlots[number] = i;
      slots[i] = Literal::makeArray(
          cast<RankedTensorType>(op->getResult(0).getType()));
      if (!slots[i])
        return false;
      continue;
    }
    if (isa<hlo::ConstantOp>(op)) {
      // Built once by the constant handler itself.
      if (!comp.handlers[i])
        return false;
      slots[i] = comp.handlers[i](ctx, op, {});
      if (!slots[i] || !slots[i]->isArray() || slots[i]->getNumElements() != 1)
        return false;
      continue;
    }
    slots[i] =
        Literal::makeArray(cast<RankedTensorType>(op->getResult(0).getType()));
    if (!slots[i] || !addStep(ctx, comp, i))
      return false;
  }
  if (resultSlots.empty())
    resultSlots.push_back(comp.rootSlot);
  for (int slot : resultSlots)
    if (slot < 0 || !slots[slot])
      return false;
  return true;
}

bool ScalarProgram::acceptsArgument(size_t p, Type elementType) const {
  return p < paramSlots.size() &&
         (paramSlots[p] < 0 ||
          slots[paramSlots[p]]->getElementType() == elementType);
}

void ScalarProgram::run() {
  for (const Step &step : steps) {
    Literal &out = *slots[step.out];
    const Literal &a = *slots[step.in[0]];
    switch (step.kind) {
    case StepKind::Unary: {
      if (step.unary == Unary::IsFinite) {
        out.setInt(0, std::isfinite(a.getFloat(0)));
      } else if (isFloatKind(a.getKind())) {
        out.setFloat(0, unaryFloat(step.unary, a.getFloat(0)));
      } else {
        int64_t value = 0;
        unaryInt(step.unary, a.getKind(), step.info, a.getBits(0), value);
        out.setInt(0, value);
      }
      break;
    }
    case StepKind::Copy:
      out.copyElement(0, a, 0);
      break;
    case StepKind::Binary: {
      const Literal &b = *slots[step.in[1]];
      if (isFloatKind(a.getKind()))
        out.setFloat(0, binaryFloat(step.binary, a.getFloat(0), b.getFloat(0)));
      else
        out.setInt(0,
                   binaryInt(step.binary, a.getInt(0), b.getInt(0), step.info));
      break;
    }
    case StepKind::Compare:
      out.setInt(0, compareReal(step.compare, a, 0, *slots[step.in[1]], 0));
      break;
    case StepKind::Select:
      out.copyElement(
          0, a.getInt(0) != 0 ? *slots[step.in[1]] : *slots[step.in[2]], 0);
      break;
    case StepKind::Clamp: {
      const Literal &x = *slots[step.in[1]], &hi = *slots[step.in[2]];
      if (isFloatKind(x.getKind())) {
        out.setFloat(0, binaryFloat(Binary::Min,
                                    binaryFloat(Binary::Max, x.getFloat(0),
                                                a.getFloat(0)),
                                    hi.getFloat(0)));
      } else {
        int64_t v = binaryInt(Binary::Max, x.getInt(0), a.getInt(0), step.info);
        out.setInt(0, binaryInt(Binary::Min, v, hi.getInt(0), step.info));
      }
      break;
    }
    case StepKind::Convert:
      convertElement(a, 0, out, 0);
      break;
    case StepKind::BitcastConvert:
      std::memcpy(out.data(), a.data(), a.getElementBytes());
      break;
    }
  }
}
