//===- Elementwise.cpp - Elementwise ops, compare, select, convert --------===//
//
// Part of gshard, under the Apache License v2.0.
//
// Floats compute in double and round once to the element type on store
// (bf16/f16 round-to-nearest-even, like XLA's upcast-compute-round).
// Integers compute on 64-bit patterns and wrap to their width. Division by
// zero and overflow follow XLA: x/0 = -1 (all bits set), x%0 = x,
// INT_MIN/-1 = INT_MIN, INT_MIN%-1 = 0; shifts by >= the bit width give 0
// (arithmetic right shift: the sign).
//
//===----------------------------------------------------------------------===//

#include "ElementOps.h"
#include "Exec.h"

#include "llvm/ADT/bit.h"

#include <cmath>

using namespace mlir;
using namespace gshard;
using namespace gshard::sim;
using namespace gshard::sim::elem;

namespace {

std::complex<double> unaryComplex(Unary kind, std::complex<double> x) {
  switch (kind) {
  case Unary::Cos:
    return std::cos(x);
  case Unary::Exp:
    return std::exp(x);
  case Unary::Expm1:
    return std::exp(x) - 1.0;
  case Unary::Log:
    return std::log(x);
  case Unary::Log1p:
    return std::log(x + 1.0);
  case Unary::Logistic:
    return 1.0 / (1.0 + std::exp(-x));
  case Unary::Negate:
    return -x;
  case Unary::Rsqrt:
    return 1.0 / std::sqrt(x);
  case Unary::Sign:
    return std::abs(x) == 0 ? x : x / std::abs(x);
  case Unary::Sin:
    return std::sin(x);
  case Unary::Sqrt:
    return std::sqrt(x);
  case Unary::Tan:
    return std::tan(x);
  case Unary::Tanh:
    return std::tanh(x);
  default:
    return x;
  }
}

template <Unary K>
LiteralRef unaryHandler(ExecContext &ctx, Operation *op,
                        ArrayRef<LiteralRef> operands) {
  const Literal &x = *operands[0];
  RankedTensorType type = getResultTensorType(op);
  // Values are never modified once produced (handlers that update in place
  // only do so on operands nobody else holds), so a copy shares its
  // operand's buffer.
  if (K == Unary::Copy && x.matchesType(type))
    return operands[0];
  LiteralRef result = Literal::makeArray(type);
  if (!result)
    return ctx.fail(op, "unsupported element type");
  int64_t n = x.getNumElements();
  ElemKind kind = x.getKind();
  if (K == Unary::Copy) {
    std::memcpy(result->data(), x.data(), x.getNumBytes());
    return result;
  }
  if (K == Unary::IsFinite) {
    for (int64_t i = 0; i < n; ++i)
      result->setInt(i, std::isfinite(x.getFloat(i)));
    return result;
  }
  if (isComplexKind(kind)) {
    for (int64_t i = 0; i < n; ++i) {
      std::complex<double> c = x.getComplex(i);
      if (K == Unary::Abs)
        result->setFloat(i, std::abs(c));
      else if (K == Unary::Real)
        result->setFloat(i, c.real());
      else if (K == Unary::Imag)
        result->setFloat(i, c.imag());
      else
        result->setComplex(i, unaryComplex(K, c));
    }
    return result;
  }
  if (isFloatKind(kind)) {
    for (int64_t i = 0; i < n; ++i)
      result->setFloat(i, unaryFloat(K, x.getFloat(i)));
    return result;
  }
  // Integers and pred.
  IntInfo info = intInfo(x);
  for (int64_t i = 0; i < n; ++i) {
    int64_t value;
    if (!unaryInt(K, kind, info, x.getBits(i), value))
      return ctx.fail(op, hlo::getHloOpcode(op) +
                              " is not defined on integer elements");
    result->setInt(i, value);
  }
  return result;
}

//===----------------------------------------------------------------------===//
// Binary
//===----------------------------------------------------------------------===//

template <Binary K>
LiteralRef binaryHandler(ExecContext &ctx, Operation *op,
                         ArrayRef<LiteralRef> operands) {
  const Literal &a = *operands[0], &b = *operands[1];
  LiteralRef result = Literal::makeArray(getResultTensorType(op));
  if (!result)
    return ctx.fail(op, "unsupported element type");
  int64_t n = a.getNumElements();
  ElemKind kind = a.getKind();
  if (K == Binary::Complex) {
    for (int64_t i = 0; i < n; ++i)
      result->setComplex(i, {a.getFloat(i), b.getFloat(i)});
    return result;
  }
  if (isComplexKind(kind)) {
    for (int64_t i = 0; i < n; ++i) {
      std::complex<double> x = a.getComplex(i), y = b.getComplex(i), r;
      switch (K) {
      case Binary::Add:
        r = x + y;
        break;
      case Binary::Subtract:
        r = x - y;
        break;
      case Binary::Multiply:
        r = x * y;
        break;
      case Binary::Divide:
        r = x / y;
        break;
      case Binary::Power:
        r = std::pow(x, y);
        break;
      default:
        return ctx.fail(op, hlo::getHloOpcode(op) +
                                " is not defined on complex elements");
      }
      result->setComplex(i, r);
    }
    return result;
  }
  if (isFloatKind(kind)) {
    if (K == Binary::And || K == Binary::Or || K == Binary::Xor ||
        K == Binary::Shl || K == Binary::Sra || K == Binary::Srl)
      return ctx.fail(op, hlo::getHloOpcode(op) +
                              " is not defined on floating-point elements");
    for (int64_t i = 0; i < n; ++i)
      result->setFloat(i, binaryFloat(K, a.getFloat(i), b.getFloat(i)));
    return result;
  }
  IntInfo info = intInfo(a);
  if (kind == ElemKind::Pred)
    info = {1, false};
  for (int64_t i = 0; i < n; ++i) {
    int64_t x = a.getInt(i), y = b.getInt(i);
    result->setInt(i, binaryInt(K, x, y, info));
  }
  return result;
}

//===----------------------------------------------------------------------===//
// Compare, select, clamp
//===----------------------------------------------------------------------===//

LiteralRef compareHandler(ExecContext &ctx, Operation *op,
                          ArrayRef<LiteralRef> operands) {
  auto compare = cast<hlo::CompareOp>(op);
  const Literal &a = *operands[0], &b = *operands[1];
  LiteralRef result = Literal::makeArray(getResultTensorType(op));
  CompareSpec spec = compareSpec(compare, a);
  int64_t n = a.getNumElements();
  if (isComplexKind(spec.kind)) {
    if (spec.direction != hlo::ComparisonDirection::EQ &&
        spec.direction != hlo::ComparisonDirection::NE)
      return ctx.fail(op, "complex numbers compare only with EQ/NE");
    for (int64_t i = 0; i < n; ++i) {
      bool equal = a.getComplex(i) == b.getComplex(i);
      result->setInt(
          i, spec.direction == hlo::ComparisonDirection::EQ ? equal : !equal);
    }
    return result;
  }
  for (int64_t i = 0; i < n; ++i)
    result->setInt(i, compareReal(spec, a, i, b, i));
  return result;
}

LiteralRef selectHandler(ExecContext &ctx, Operation *op,
                         ArrayRef<LiteralRef> operands) {
  const Literal &pred = *operands[0], &t = *operands[1], &f = *operands[2];
  LiteralRef result = Literal::makeArray(getResultTensorType(op));
  bool scalarPred = pred.getRank() == 0;
  for (int64_t i = 0, n = result->getNumElements(); i < n; ++i) {
    bool p = pred.getInt(scalarPred ? 0 : i) != 0;
    result->copyElement(i, p ? t : f, i);
  }
  return result;
}

LiteralRef clampHandler(ExecContext &ctx, Operation *op,
                        ArrayRef<LiteralRef> operands) {
  const Literal &lo = *operands[0], &x = *operands[1], &hi = *operands[2];
  LiteralRef result = Literal::makeArray(getResultTensorType(op));
  bool scalarLo = lo.getRank() == 0 && x.getRank() != 0;
  bool scalarHi = hi.getRank() == 0 && x.getRank() != 0;
  ElemKind kind = x.getKind();
  IntInfo info = intInfo(x);
  for (int64_t i = 0, n = result->getNumElements(); i < n; ++i) {
    int64_t li = scalarLo ? 0 : i, hi_ = scalarHi ? 0 : i;
    if (isFloatKind(kind)) {
      double v = binaryFloat(
          Binary::Min, binaryFloat(Binary::Max, x.getFloat(i), lo.getFloat(li)),
          hi.getFloat(hi_));
      result->setFloat(i, v);
    } else if (isComplexKind(kind)) {
      return ctx.fail(op, "clamp is not defined on complex elements");
    } else {
      int64_t v = binaryInt(Binary::Max, x.getInt(i), lo.getInt(li), info);
      v = binaryInt(Binary::Min, v, hi.getInt(hi_), info);
      result->setInt(i, v);
    }
  }
  return result;
}

//===----------------------------------------------------------------------===//
// Conversions
//===----------------------------------------------------------------------===//

LiteralRef convertHandler(ExecContext &ctx, Operation *op,
                          ArrayRef<LiteralRef> operands) {
  const Literal &x = *operands[0];
  LiteralRef result = Literal::makeArray(getResultTensorType(op));
  if (!result)
    return ctx.fail(op, "unsupported element type");
  for (int64_t i = 0, n = x.getNumElements(); i < n; ++i)
    convertElement(x, i, *result, i);
  return result;
}

LiteralRef bitcastConvertHandler(ExecContext &ctx, Operation *op,
                                 ArrayRef<LiteralRef> operands) {
  const Literal &x = *operands[0];
  LiteralRef result = Literal::makeArray(getResultTensorType(op));
  if (!result)
    return ctx.fail(op, "unsupported element type");
  if (result->getNumBytes() != x.getNumBytes() ||
      x.getKind() == ElemKind::Pred || result->getKind() == ElemKind::Pred)
    return ctx.fail(op, "bitcast-convert between shapes of different byte "
                        "sizes");
  std::memcpy(result->data(), x.data(), x.getNumBytes());
  return result;
}

LiteralRef reducePrecisionHandler(ExecContext &ctx, Operation *op,
                                  ArrayRef<LiteralRef> operands) {
  auto rp = cast<hlo::ReducePrecisionOp>(op);
  const Literal &x = *operands[0];
  LiteralRef result = Literal::makeArray(getResultTensorType(op));
  int64_t exponentBits = rp.getExponentBits();
  int64_t mantissaBits = rp.getMantissaBits();
  if (!isFloatKind(x.getKind()) || exponentBits < 1 || mantissaBits < 0 ||
      mantissaBits > 52 || exponentBits > 11)
    return ctx.fail(op, "reduce-precision needs a float operand and "
                        "exponent_bits in [1,11], mantissa_bits in [0,52]");
  for (int64_t i = 0, n = x.getNumElements(); i < n; ++i) {
    double v = x.getFloat(i);
    if (std::isnan(v)) {
      result->setFloat(i, v);
      continue;
    }
    uint64_t bits = llvm::bit_cast<uint64_t>(v);
    // Round the mantissa to nearest even.
    if (mantissaBits < 52) {
      int shift = 52 - mantissaBits;
      uint64_t lastKept = (bits >> shift) & 1;
      uint64_t bias = (uint64_t(1) << (shift - 1)) - 1 + lastKept;
      bits = (bits + bias) & ~((uint64_t(1) << shift) - 1);
    }
    // Clamp the exponent.
    int64_t maxExp = (int64_t(1) << (exponentBits - 1)) - 1;
    int64_t exp = static_cast<int64_t>((bits >> 52) & 0x7ff) - 1023;
    uint64_t sign = bits & (uint64_t(1) << 63);
    double out = llvm::bit_cast<double>(bits);
    if (exp > maxExp)
      out = sign ? -INFINITY : INFINITY;
    else if (exp <= -maxExp)
      out = sign ? -0.0 : 0.0;
    result->setFloat(i, out);
  }
  return result;
}

LiteralRef mapHandler(ExecContext &ctx, Operation *op,
                      ArrayRef<LiteralRef> operands) {
  auto map = cast<hlo::MapOp>(op);
  const CompiledComputation *fn = ctx.lookup(op, map.getToApplyAttr());
  if (!fn)
    return nullptr;
  LiteralRef result = Literal::makeArray(getResultTensorType(op));
  llvm::SmallVector<LiteralRef> args(operands.size());
  for (int64_t i = 0, n = result->getNumElements(); i < n; ++i) {
    for (size_t k = 0; k < operands.size(); ++k)
      args[k] = scalarOf(*operands[k], i);
    LiteralRef value = ctx.call(*fn, args);
    if (!value)
      return nullptr;
    result->copyElement(i, *value, 0);
  }
  return result;
}

} // namespace

void gshard::sim::registerElementwiseHandlers(HandlerTable &t) {
  t["hlo.abs"] = unaryHandler<Unary::Abs>;
  t["hlo.cbrt"] = unaryHandler<Unary::Cbrt>;
  t["hlo.ceil"] = unaryHandler<Unary::Ceil>;
  t["hlo.count_leading_zeros"] = unaryHandler<Unary::Clz>;
  t["hlo.copy"] = unaryHandler<Unary::Copy>;
  t["hlo.cosine"] = unaryHandler<Unary::Cos>;
  t["hlo.erf"] = unaryHandler<Unary::Erf>;
  t["hlo.exponential"] = unaryHandler<Unary::Exp>;
  t["hlo.exponential_minus_one"] = unaryHandler<Unary::Expm1>;
  t["hlo.floor"] = unaryHandler<Unary::Floor>;
  t["hlo.imag"] = unaryHandler<Unary::Imag>;
  t["hlo.is_finite"] = unaryHandler<Unary::IsFinite>;
  t["hlo.log"] = unaryHandler<Unary::Log>;
  t["hlo.log_plus_one"] = unaryHandler<Unary::Log1p>;
  t["hlo.logistic"] = unaryHandler<Unary::Logistic>;
  t["hlo.negate"] = unaryHandler<Unary::Negate>;
  t["hlo.not"] = unaryHandler<Unary::Not>;
  t["hlo.popcnt"] = unaryHandler<Unary::Popcnt>;
  t["hlo.real"] = unaryHandler<Unary::Real>;
  t["hlo.round_nearest_afz"] = unaryHandler<Unary::RoundAfz>;
  t["hlo.round_nearest_even"] = unaryHandler<Unary::RoundEven>;
  t["hlo.rsqrt"] = unaryHandler<Unary::Rsqrt>;
  t["hlo.sign"] = unaryHandler<Unary::Sign>;
  t["hlo.sine"] = unaryHandler<Unary::Sin>;
  t["hlo.sqrt"] = unaryHandler<Unary::Sqrt>;
  t["hlo.tan"] = unaryHandler<Unary::Tan>;
  t["hlo.tanh"] = unaryHandler<Unary::Tanh>;

  t["hlo.add"] = binaryHandler<Binary::Add>;
  t["hlo.and"] = binaryHandler<Binary::And>;
  t["hlo.atan2"] = binaryHandler<Binary::Atan2>;
  t["hlo.complex"] = binaryHandler<Binary::Complex>;
  t["hlo.divide"] = binaryHandler<Binary::Divide>;
  t["hlo.maximum"] = binaryHandler<Binary::Max>;
  t["hlo.minimum"] = binaryHandler<Binary::Min>;
  t["hlo.multiply"] = binaryHandler<Binary::Multiply>;
  t["hlo.or"] = binaryHandler<Binary::Or>;
  t["hlo.power"] = binaryHandler<Binary::Power>;
  t["hlo.remainder"] = binaryHandler<Binary::Remainder>;
  t["hlo.shift_left"] = binaryHandler<Binary::Shl>;
  t["hlo.shift_right_arithmetic"] = binaryHandler<Binary::Sra>;
  t["hlo.shift_right_logical"] = binaryHandler<Binary::Srl>;
  t["hlo.subtract"] = binaryHandler<Binary::Subtract>;
  t["hlo.xor"] = binaryHandler<Binary::Xor>;

  t["hlo.compare"] = compareHandler;
  t["hlo.select"] = selectHandler;
  t["hlo.clamp"] = clampHandler;
  t["hlo.convert"] = convertHandler;
  t["hlo.bitcast_convert"] = bitcastConvertHandler;
  t["hlo.reduce_precision"] = reducePrecisionHandler;
  t["hlo.map"] = mapHandler;
}
