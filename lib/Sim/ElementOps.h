//===- ElementOps.h - Element formulas shared by handlers -------*- C++ -*-===//
//
// Part of gshard, under the Apache License v2.0.
//
// The per-element arithmetic of the elementwise ops, shared by the array
// handlers (Elementwise.cpp) and the scalar evaluator of small computations
// (ScalarProgram.cpp), so both compute bit-identical results.
//
//===----------------------------------------------------------------------===//

#ifndef GSHARD_LIB_SIM_ELEMENTOPS_H
#define GSHARD_LIB_SIM_ELEMENTOPS_H

#include "gshard/IR/HloOps.h"
#include "gshard/Sim/Literal.h"

#include "llvm/ADT/bit.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace gshard::sim::elem {

/// Sign-extends or zero-extends the low `width` bits of `bits`.
inline int64_t extend(uint64_t bits, unsigned width, bool isSigned) {
  if (width >= 64)
    return static_cast<int64_t>(bits);
  uint64_t mask = (uint64_t(1) << width) - 1;
  bits &= mask;
  if (isSigned && (bits >> (width - 1)) & 1)
    bits |= ~mask;
  return static_cast<int64_t>(bits);
}

struct IntInfo {
  unsigned width;
  bool isSigned;
};

inline IntInfo intInfo(const Literal &lit) {
  return {getBitWidth(lit.getKind(), lit.getElementType()),
          isSignedIntKind(lit.getKind())};
}

//===----------------------------------------------------------------------===//
// Unary
//===----------------------------------------------------------------------===//

enum class Unary {
  Abs,
  Cbrt,
  Ceil,
  Clz,
  Copy,
  Cos,
  Erf,
  Exp,
  Expm1,
  Floor,
  IsFinite,
  Log,
  Log1p,
  Logistic,
  Negate,
  Not,
  Popcnt,
  RoundAfz,
  RoundEven,
  Rsqrt,
  Sign,
  Sin,
  Sqrt,
  Tan,
  Tanh,
  Real,
  Imag,
};

inline double unaryFloat(Unary kind, double x) {
  switch (kind) {
  case Unary::Abs:
    return std::fabs(x);
  case Unary::Cbrt:
    return std::cbrt(x);
  case Unary::Ceil:
    return std::ceil(x);
  case Unary::Cos:
    return std::cos(x);
  case Unary::Erf:
    return std::erf(x);
  case Unary::Exp:
    return std::exp(x);
  case Unary::Expm1:
    return std::expm1(x);
  case Unary::Floor:
    return std::floor(x);
  case Unary::Log:
    return std::log(x);
  case Unary::Log1p:
    return std::log1p(x);
  case Unary::Logistic:
    return 1.0 / (1.0 + std::exp(-x));
  case Unary::Negate:
    return -x;
  case Unary::RoundAfz:
    return std::round(x);
  case Unary::RoundEven:
    return std::nearbyint(x);
  case Unary::Rsqrt:
    return 1.0 / std::sqrt(x);
  case Unary::Sign:
    if (std::isnan(x) || x == 0)
      return x;
    return x > 0 ? 1.0 : -1.0;
  case Unary::Sin:
    return std::sin(x);
  case Unary::Sqrt:
    return std::sqrt(x);
  case Unary::Tan:
    return std::tan(x);
  case Unary::Tanh:
    return std::tanh(x);
  case Unary::Copy:
  case Unary::Real:
    return x;
  case Unary::Imag:
    return 0.0;
  default:
    return x;
  }
}

enum class Binary {
  Add,
  And,
  Atan2,
  Complex,
  Divide,
  Max,
  Min,
  Multiply,
  Or,
  Power,
  Remainder,
  Shl,
  Sra,
  Srl,
  Subtract,
  Xor,
};

inline double binaryFloat(Binary kind, double a, double b) {
  switch (kind) {
  case Binary::Add:
    return a + b;
  case Binary::Atan2:
    return std::atan2(a, b);
  case Binary::Divide:
    return a / b;
  case Binary::Max:
    if (std::isnan(a) || std::isnan(b))
      return std::nan("");
    return a > b ? a : (b > a ? b : (std::signbit(a) ? b : a));
  case Binary::Min:
    if (std::isnan(a) || std::isnan(b))
      return std::nan("");
    return a < b ? a : (b < a ? b : (std::signbit(a) ? a : b));
  case Binary::Multiply:
    return a * b;
  case Binary::Power:
    return std::pow(a, b);
  case Binary::Remainder:
    return std::fmod(a, b);
  case Binary::Subtract:
    return a - b;
  default:
    return std::nan("");
  }
}

inline int64_t integerPower(int64_t base, int64_t exponent, bool isSigned) {
  if (isSigned && exponent < 0)
    return base == 1 ? 1 : (base == -1 ? (exponent % 2 ? -1 : 1) : 0);
  uint64_t result = 1, b = base;
  uint64_t e = exponent;
  while (e) {
    if (e & 1)
      result *= b;
    b *= b;
    e >>= 1;
  }
  return static_cast<int64_t>(result);
}

inline int64_t binaryInt(Binary kind, int64_t a, int64_t b, IntInfo info) {
  uint64_t ua = a, ub = b;
  switch (kind) {
  case Binary::Add:
    return ua + ub;
  case Binary::Subtract:
    return ua - ub;
  case Binary::Multiply:
    return ua * ub;
  case Binary::And:
    return ua & ub;
  case Binary::Or:
    return ua | ub;
  case Binary::Xor:
    return ua ^ ub;
  case Binary::Max:
    return info.isSigned ? std::max(a, b)
                         : static_cast<int64_t>(std::max(ua, ub));
  case Binary::Min:
    return info.isSigned ? std::min(a, b)
                         : static_cast<int64_t>(std::min(ua, ub));
  case Binary::Divide: {
    if (b == 0)
      return -1;
    if (info.isSigned) {
      int64_t minValue =
          extend(uint64_t(1) << (info.width - 1), info.width, true);
      if (a == minValue && b == -1)
        return a;
      return a / b;
    }
    return ua / ub;
  }
  case Binary::Remainder: {
    if (b == 0)
      return a;
    if (info.isSigned) {
      if (b == -1)
        return 0;
      return a % b;
    }
    return ua % ub;
  }
  case Binary::Power:
    return integerPower(a, b, info.isSigned);
  case Binary::Shl: {
    uint64_t shift = static_cast<uint64_t>(extend(ub, info.width, false));
    return shift >= info.width ? 0 : static_cast<int64_t>(ua << shift);
  }
  case Binary::Srl: {
    uint64_t shift = static_cast<uint64_t>(extend(ub, info.width, false));
    uint64_t value = static_cast<uint64_t>(extend(ua, info.width, false));
    return shift >= info.width ? 0 : static_cast<int64_t>(value >> shift);
  }
  case Binary::Sra: {
    uint64_t shift = static_cast<uint64_t>(extend(ub, info.width, false));
    int64_t value = extend(ua, info.width, true);
    if (shift >= info.width)
      return value < 0 ? -1 : 0;
    return value >> shift;
  }
  default:
    return 0;
  }
}

/// Maps a float to an integer whose order is XLA's total order
/// (-NaN < -Inf < ... < -0 < +0 < ... < +Inf < +NaN).
inline int64_t totalOrderKey(double value) {
  int64_t bits = llvm::bit_cast<int64_t>(value);
  return bits < 0 ? bits ^ std::numeric_limits<int64_t>::max() : bits;
}

template <typename T>
inline bool applyDirection(hlo::ComparisonDirection d, T a, T b) {
  switch (d) {
  case hlo::ComparisonDirection::EQ:
    return a == b;
  case hlo::ComparisonDirection::NE:
    return a != b;
  case hlo::ComparisonDirection::GE:
    return a >= b;
  case hlo::ComparisonDirection::GT:
    return a > b;
  case hlo::ComparisonDirection::LE:
    return a <= b;
  case hlo::ComparisonDirection::LT:
    return a < b;
  }
  return false;
}

/// An integer or pred unary op on the element `bits` (of kind `kind`);
/// false when the op is not defined on integers.
inline bool unaryInt(Unary op, ElemKind kind, IntInfo info, uint64_t bits,
                     int64_t &out) {
  int64_t v = extend(bits, info.width, info.isSigned);
  switch (op) {
  case Unary::Abs:
    out = info.isSigned && v < 0 ? 0 - static_cast<uint64_t>(v) : v;
    return true;
  case Unary::Negate:
    out = 0 - static_cast<uint64_t>(v);
    return true;
  case Unary::Not:
    out = kind == ElemKind::Pred ? !v : ~v;
    return true;
  case Unary::Sign:
    out = info.isSigned ? (v > 0) - (v < 0) : (v != 0);
    return true;
  case Unary::Clz: {
    uint64_t u = static_cast<uint64_t>(extend(bits, info.width, false));
    out = u == 0 ? info.width : llvm::countl_zero(u) - (64 - info.width);
    return true;
  }
  case Unary::Popcnt:
    out =
        llvm::popcount(static_cast<uint64_t>(extend(bits, info.width, false)));
    return true;
  default:
    return false;
  }
}

/// How a compare instruction compares elements of `kind`: its direction
/// and its comparison type (explicit, else FLOAT / SIGNED / UNSIGNED by
/// kind).
struct CompareSpec {
  hlo::ComparisonDirection direction;
  hlo::ComparisonType type;
  ElemKind kind;
  IntInfo info;
};

inline CompareSpec compareSpec(hlo::CompareOp compare, const Literal &a) {
  CompareSpec spec;
  spec.direction = compare.getDirection();
  spec.kind = a.getKind();
  if (auto explicitType = compare.getType())
    spec.type = *explicitType;
  else if (isFloatKind(spec.kind) || isComplexKind(spec.kind))
    spec.type = hlo::ComparisonType::FLOAT;
  else if (isSignedIntKind(spec.kind))
    spec.type = hlo::ComparisonType::SIGNED;
  else
    spec.type = hlo::ComparisonType::UNSIGNED;
  spec.info = intInfo(a);
  if (spec.kind == ElemKind::Pred)
    spec.info = {1, false};
  return spec;
}

/// compare(a[i], b[j]) for real (non-complex) elements.
inline bool compareReal(const CompareSpec &spec, const Literal &a, int64_t i,
                        const Literal &b, int64_t j) {
  if (isFloatKind(spec.kind)) {
    double x = a.getFloat(i), y = b.getFloat(j);
    return spec.type == hlo::ComparisonType::TOTALORDER
               ? applyDirection(spec.direction, totalOrderKey(x),
                                totalOrderKey(y))
               : applyDirection(spec.direction, x, y);
  }
  bool asSigned = spec.type == hlo::ComparisonType::SIGNED;
  int64_t x = extend(a.getBits(i), spec.info.width, asSigned);
  int64_t y = extend(b.getBits(j), spec.info.width, asSigned);
  return asSigned ? applyDirection(spec.direction, x, y)
                  : applyDirection(spec.direction, static_cast<uint64_t>(x),
                                   static_cast<uint64_t>(y));
}

/// result[o] = convert(x[i]) (XLA's convert: floats round to the result
/// type, float -> integer saturates with NaN -> 0, integer -> pred is
/// `!= 0`).
inline void convertElement(const Literal &x, int64_t i, Literal &result,
                           int64_t o) {
  ElemKind from = x.getKind(), to = result.getKind();
  if (isComplexKind(from) && isComplexKind(to)) {
    result.setComplex(o, x.getComplex(i));
  } else if (isIntegralKind(from) && isIntegralKind(to)) {
    if (to == ElemKind::Pred)
      result.setInt(o, x.getInt(i) != 0);
    else
      result.setInt(o, x.getInt(i));
  } else if (isIntegralKind(from) && isFloatKind(to)) {
    if (from == ElemKind::U64)
      result.setFloat(o, static_cast<double>(x.getBits(i)));
    else if (to == ElemKind::F32)
      result.setFloat(o, static_cast<float>(x.getInt(i)));
    else
      result.setFloat(o, static_cast<double>(x.getInt(i)));
  } else if (isComplexKind(to)) {
    result.setComplex(o, {x.getAsDouble(i), 0.0});
  } else {
    // Float (or complex: real part) to float / integer / pred.
    result.setFromDouble(o, x.getFloat(i));
  }
}

} // namespace gshard::sim::elem

#endif // GSHARD_LIB_SIM_ELEMENTOPS_H
