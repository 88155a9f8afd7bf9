//===- Reduction.cpp - reduce, reduce-window, select-and-scatter ---------===//
//
// Part of gshard, under the Apache License v2.0.
//
// Reducers whose computation is one associative binary op of the two
// parameters (add, multiply, maximum, minimum, and, or, xor) run natively:
// floats accumulate in double and round once into the element type, so a
// reduction gives the same answer however it is split across devices (up to
// that one rounding). Any other computation is interpreted per element, in
// row-major order of the reduced elements, starting from the init value.
//
//===----------------------------------------------------------------------===//

#include "Exec.h"

#include "llvm/ADT/TypeSwitch.h"

#include <cmath>
#include <optional>

using namespace mlir;
using namespace gshard;
using namespace gshard::sim;

//===----------------------------------------------------------------------===//
// Combiners
//===----------------------------------------------------------------------===//

Combiner gshard::sim::recognizeCombiner(const CompiledComputation &comp) {
  if (comp.numParameters != 2)
    return Combiner::None;
  Operation *root = comp.ops[comp.rootSlot];
  auto paramNumber = [&](int slot) -> int64_t {
    if (auto param = dyn_cast<hlo::ParameterOp>(comp.ops[slot]))
      return param.getParameterNumber();
    return -1;
  };
  if (auto param = dyn_cast<hlo::ParameterOp>(root))
    return param.getParameterNumber() == 1 ? Combiner::TakeSecond
                                           : Combiner::TakeFirst;
  const auto &operands = comp.operandSlots[comp.rootSlot];
  if (operands.size() != 2)
    return Combiner::None;
  int64_t p0 = paramNumber(operands[0]), p1 = paramNumber(operands[1]);
  if (p0 < 0 || p1 < 0 || p0 == p1)
    return Combiner::None;
  // Every instruction must be a parameter or the root.
  for (size_t i = 0; i < comp.ops.size(); ++i)
    if (static_cast<int>(i) != comp.rootSlot &&
        !isa<hlo::ParameterOp>(comp.ops[i]))
      return Combiner::None;
  return llvm::TypeSwitch<Operation *, Combiner>(root)
      .Case<hlo::AddOp>([](auto) { return Combiner::Add; })
      .Case<hlo::MultiplyOp>([](auto) { return Combiner::Multiply; })
      .Case<hlo::MaximumOp>([](auto) { return Combiner::Maximum; })
      .Case<hlo::MinimumOp>([](auto) { return Combiner::Minimum; })
      .Case<hlo::AndOp>([](auto) { return Combiner::And; })
      .Case<hlo::OrOp>([](auto) { return Combiner::Or; })
      .Case<hlo::XorOp>([](auto) { return Combiner::Xor; })
      .Default([](Operation *) { return Combiner::None; });
}

double gshard::sim::combineFloat(Combiner c, double a, double b) {
  switch (c) {
  case Combiner::Add:
    return a + b;
  case Combiner::Multiply:
    return a * b;
  case Combiner::Maximum:
    if (std::isnan(a) || std::isnan(b))
      return std::nan("");
    return a > b ? a : (b > a ? b : (std::signbit(a) ? b : a));
  case Combiner::Minimum:
    if (std::isnan(a) || std::isnan(b))
      return std::nan("");
    return a < b ? a : (b < a ? b : (std::signbit(a) ? a : b));
  case Combiner::TakeSecond:
    return b;
  case Combiner::TakeFirst:
    return a;
  default:
    return std::nan("");
  }
}

uint64_t gshard::sim::combineInt(Combiner c, ElemKind kind, uint64_t a,
                                 uint64_t b) {
  bool isSigned = isSignedIntKind(kind);
  if (kind == ElemKind::Pred) {
    a = a != 0;
    b = b != 0;
  }
  switch (c) {
  case Combiner::Add:
    return kind == ElemKind::Pred ? (a | b) : a + b;
  case Combiner::Multiply:
    return kind == ElemKind::Pred ? (a & b) : a * b;
  case Combiner::Maximum:
    return isSigned ? static_cast<uint64_t>(std::max<int64_t>(a, b))
                    : std::max(a, b);
  case Combiner::Minimum:
    return isSigned ? static_cast<uint64_t>(std::min<int64_t>(a, b))
                    : std::min(a, b);
  case Combiner::And:
    return a & b;
  case Combiner::Or:
    return a | b;
  case Combiner::Xor:
    return a ^ b;
  case Combiner::TakeSecond:
    return b;
  case Combiner::TakeFirst:
    return a;
  default:
    return 0;
  }
}

std::complex<double> gshard::sim::combineComplex(Combiner c,
                                                 std::complex<double> a,
                                                 std::complex<double> b) {
  switch (c) {
  case Combiner::Add:
    return a + b;
  case Combiner::Multiply:
    return a * b;
  case Combiner::TakeSecond:
    return b;
  case Combiner::TakeFirst:
    return a;
  default:
    return {std::nan(""), std::nan("")};
  }
}

/// True if the recognized combiner is defined on `kind` natively.
static bool combinerFits(Combiner c, ElemKind kind) {
  if (c == Combiner::None)
    return false;
  if (isFloatKind(kind))
    return c != Combiner::And && c != Combiner::Or && c != Combiner::Xor;
  if (isComplexKind(kind))
    return c == Combiner::Add || c == Combiner::Multiply ||
           c == Combiner::TakeFirst || c == Combiner::TakeSecond;
  return true;
}

ScalarReducer::ScalarReducer(ExecContext &ctx, Operation *user,
                             const CompiledComputation &computation,
                             size_t arity)
    : ctx(ctx), user(user), computation(computation), arity(arity),
      combiner(arity == 1 ? recognizeCombiner(computation) : Combiner::None) {}

bool ScalarReducer::apply(llvm::SmallVectorImpl<LiteralRef> &acc,
                          ArrayRef<LiteralRef> values) {
  llvm::SmallVector<LiteralRef, 8> args(acc.begin(), acc.end());
  args.append(values.begin(), values.end());
  LiteralRef result = ctx.call(computation, args);
  if (!result)
    return false;
  if (arity == 1) {
    if (!result->isArray() || result->getNumElements() != 1) {
      ctx.fail(user, "reduction computation must return a scalar");
      return false;
    }
    acc[0] = result;
    return true;
  }
  if (!result->isTuple() || result->getNumTupleElements() != arity) {
    ctx.fail(user, "variadic reduction computation must return a tuple of " +
                       Twine(arity) + " scalars");
    return false;
  }
  for (size_t i = 0; i < arity; ++i)
    acc[i] = result->getElements()[i];
  return true;
}

LiteralRef gshard::sim::foldArrays(ExecContext &ctx, Operation *op,
                                   const CompiledComputation &computation,
                                   ArrayRef<LiteralRef> arrays) {
  const Literal &first = *arrays[0];
  LiteralRef out = first.clone();
  int64_t n = first.getNumElements();
  ElemKind kind = first.getKind();
  Combiner c = recognizeCombiner(computation);
  if (combinerFits(c, kind)) {
    for (int64_t i = 0; i < n; ++i) {
      if (isFloatKind(kind)) {
        double acc = first.getFloat(i);
        for (size_t k = 1; k < arrays.size(); ++k)
          acc = combineFloat(c, acc, arrays[k]->getFloat(i));
        out->setFloat(i, acc);
      } else if (isComplexKind(kind)) {
        std::complex<double> acc = first.getComplex(i);
        for (size_t k = 1; k < arrays.size(); ++k)
          acc = combineComplex(c, acc, arrays[k]->getComplex(i));
        out->setComplex(i, acc);
      } else {
        uint64_t acc = first.getInt(i);
        for (size_t k = 1; k < arrays.size(); ++k)
          acc = combineInt(c, kind, acc, arrays[k]->getInt(i));
        out->setInt(i, acc);
      }
    }
    return out;
  }
  ScalarReducer reducer(ctx, op, computation, 1);
  for (int64_t i = 0; i < n; ++i) {
    llvm::SmallVector<LiteralRef, 1> acc = {scalarOf(first, i)};
    for (size_t k = 1; k < arrays.size(); ++k)
      if (!reducer.apply(acc, {scalarOf(*arrays[k], i)}))
        return nullptr;
    out->copyElement(i, *acc[0], 0);
  }
  return out;
}

namespace {

/// Native accumulators for one output array.
struct Accumulators {
  Combiner c;
  ElemKind kind;
  std::vector<double> f;
  std::vector<uint64_t> i;
  std::vector<std::complex<double>> z;

  Accumulators(Combiner c, const Literal &init, int64_t n)
      : c(c), kind(init.getKind()) {
    if (isFloatKind(kind))
      f.assign(n, init.getFloat(0));
    else if (isComplexKind(kind))
      z.assign(n, init.getComplex(0));
    else
      i.assign(n, init.getInt(0));
  }
  void add(int64_t o, const Literal &x, int64_t j) {
    if (!f.empty())
      f[o] = combineFloat(c, f[o], x.getFloat(j));
    else if (!z.empty())
      z[o] = combineComplex(c, z[o], x.getComplex(j));
    else
      i[o] = combineInt(c, kind, i[o], x.getInt(j));
  }
  void store(Literal &out) {
    for (int64_t o = 0, n = out.getNumElements(); o < n; ++o) {
      if (!f.empty())
        out.setFloat(o, f[o]);
      else if (!z.empty())
        out.setComplex(o, z[o]);
      else
        out.setInt(o, i[o]);
    }
  }
};

LiteralRef packResults(Operation *op, std::vector<LiteralRef> results) {
  if (results.size() == 1 && !isa<TupleType>(op->getResult(0).getType()))
    return results[0];
  return Literal::makeTuple(results);
}

//===----------------------------------------------------------------------===//
// reduce
//===----------------------------------------------------------------------===//

LiteralRef reduceHandler(ExecContext &ctx, Operation *op,
                         ArrayRef<LiteralRef> operands) {
  auto reduce = cast<hlo::ReduceOp>(op);
  size_t numInputs = operands.size() / 2;
  if (numInputs == 0 || operands.size() % 2)
    return ctx.fail(op, "reduce needs N inputs and N init values");
  const CompiledComputation *fn = ctx.lookup(op, reduce.getToApplyAttr());
  if (!fn)
    return nullptr;
  ArrayRef<int64_t> dims = reduce.getDimensions();
  const Literal &in0 = *operands[0];
  int64_t rank = in0.getRank();
  llvm::SmallVector<int64_t> keptShape, keptDims, reducedDims;
  for (int64_t d = 0; d < rank; ++d) {
    if (llvm::is_contained(dims, d)) {
      reducedDims.push_back(d);
    } else {
      keptDims.push_back(d);
      keptShape.push_back(in0.getShape()[d]);
    }
  }
  std::vector<LiteralRef> results;
  for (size_t k = 0; k < numInputs; ++k)
    results.push_back(
        Literal::makeArray(operands[k]->getElementType(), keptShape));
  int64_t outCount = results[0]->getNumElements();
  // Output offset of each input dimension (0 for reduced dims).
  llvm::SmallVector<int64_t> outStrideOfDim(rank, 0);
  {
    llvm::SmallVector<int64_t> outStrides = results[0]->getStrides();
    for (size_t j = 0; j < keptDims.size(); ++j)
      outStrideOfDim[keptDims[j]] = outStrides[j];
  }
  ScalarReducer reducer(ctx, op, *fn, numInputs);
  if (reducer.isFast() && combinerFits(reducer.getCombiner(), in0.getKind())) {
    Accumulators acc(reducer.getCombiner(), *operands[1], outCount);
    llvm::SmallVector<int64_t> index(rank, 0);
    int64_t o = 0;
    for (int64_t i = 0, n = in0.getNumElements(); i < n; ++i) {
      acc.add(o, in0, i);
      for (int64_t d = rank - 1; d >= 0; --d) {
        o += outStrideOfDim[d];
        if (++index[d] < in0.getShape()[d])
          break;
        o -= outStrideOfDim[d] * in0.getShape()[d];
        index[d] = 0;
      }
    }
    acc.store(*results[0]);
    return packResults(op, results);
  }
  // General: per output element, fold the reduced elements in row-major
  // order.
  llvm::SmallVector<int64_t> inStrides = in0.getStrides();
  llvm::SmallVector<int64_t> reducedShape;
  for (int64_t d : reducedDims)
    reducedShape.push_back(in0.getShape()[d]);
  int64_t reducedCount = 1;
  for (int64_t s : reducedShape)
    reducedCount *= s;
  llvm::SmallVector<int64_t> outIndex(keptDims.size(), 0);
  llvm::SmallVector<LiteralRef, 4> values(numInputs);
  for (int64_t o = 0; o < outCount; ++o) {
    int64_t base = 0;
    for (size_t j = 0; j < keptDims.size(); ++j)
      base += outIndex[j] * inStrides[keptDims[j]];
    llvm::SmallVector<LiteralRef, 4> acc;
    for (size_t k = 0; k < numInputs; ++k)
      acc.push_back(operands[numInputs + k]);
    llvm::SmallVector<int64_t> rIndex(reducedDims.size(), 0);
    for (int64_t r = 0; r < reducedCount; ++r) {
      int64_t offset = base;
      for (size_t j = 0; j < reducedDims.size(); ++j)
        offset += rIndex[j] * inStrides[reducedDims[j]];
      for (size_t k = 0; k < numInputs; ++k)
        values[k] = scalarOf(*operands[k], offset);
      if (!reducer.apply(acc, values))
        return nullptr;
      nextIndex(rIndex, reducedShape);
    }
    for (size_t k = 0; k < numInputs; ++k)
      results[k]->copyElement(o, *acc[k], 0);
    nextIndex(outIndex, keptShape);
  }
  return packResults(op, results);
}

//===----------------------------------------------------------------------===//
// reduce-window
//===----------------------------------------------------------------------===//

struct WindowParams {
  llvm::SmallVector<int64_t> size, stride, padLow, padHigh, baseDil, winDil;

  bool init(hlo::WindowAttr window, int64_t rank) {
    auto get = [&](ArrayRef<int64_t> values, size_t d, int64_t dflt) {
      return d < values.size() ? values[d] : dflt;
    };
    if (!window || static_cast<int64_t>(window.getSize().size()) != rank)
      return false;
    for (int64_t d = 0; d < rank; ++d) {
      size.push_back(window.getSize()[d]);
      stride.push_back(get(window.getStride(), d, 1));
      padLow.push_back(get(window.getPadLow(), d, 0));
      padHigh.push_back(get(window.getPadHigh(), d, 0));
      baseDil.push_back(get(window.getLhsDilate(), d, 1));
      winDil.push_back(get(window.getRhsDilate(), d, 1));
      if (stride.back() < 1 || baseDil.back() < 1 || winDil.back() < 1)
        return false;
    }
    return true;
  }

  /// Input linear offset of window tap `w` of output `o`, or -1 if it falls
  /// on padding or a base-dilation hole.
  int64_t tap(ArrayRef<int64_t> o, ArrayRef<int64_t> w,
              ArrayRef<int64_t> inShape, ArrayRef<int64_t> inStrides) const {
    int64_t offset = 0;
    for (size_t d = 0; d < o.size(); ++d) {
      int64_t pos = o[d] * stride[d] + w[d] * winDil[d] - padLow[d];
      if (pos < 0 || pos % baseDil[d])
        return -1;
      int64_t i = pos / baseDil[d];
      if (i >= inShape[d])
        return -1;
      offset += i * inStrides[d];
    }
    return offset;
  }
};

LiteralRef reduceWindowHandler(ExecContext &ctx, Operation *op,
                               ArrayRef<LiteralRef> operands) {
  auto rw = cast<hlo::ReduceWindowOp>(op);
  size_t numInputs = operands.size() / 2;
  if (numInputs == 0 || operands.size() % 2)
    return ctx.fail(op, "reduce-window needs N inputs and N init values");
  const CompiledComputation *fn = ctx.lookup(op, rw.getToApplyAttr());
  if (!fn)
    return nullptr;
  const Literal &in0 = *operands[0];
  WindowParams wp;
  if (!wp.init(rw.getWindow(), in0.getRank()))
    return ctx.fail(op, "window does not match the operand rank");
  std::vector<LiteralRef> results;
  Type resultType = op->getResult(0).getType();
  for (size_t k = 0; k < numInputs; ++k) {
    Type t = numInputs == 1 && !isa<TupleType>(resultType)
                 ? resultType
                 : cast<TupleType>(resultType).getType(k);
    results.push_back(Literal::makeArray(cast<RankedTensorType>(t)));
  }
  ArrayRef<int64_t> outShape = results[0]->getShape();
  llvm::SmallVector<int64_t> inStrides = in0.getStrides();
  int64_t windowCount = 1;
  for (int64_t s : wp.size)
    windowCount *= s;
  ScalarReducer reducer(ctx, op, *fn, numInputs);
  bool fast =
      reducer.isFast() && combinerFits(reducer.getCombiner(), in0.getKind());
  llvm::SmallVector<int64_t> o(outShape.size(), 0), w(outShape.size(), 0);
  llvm::SmallVector<LiteralRef, 4> values(numInputs);
  int64_t outCount = results[0]->getNumElements();
  std::optional<Accumulators> fastAcc;
  if (fast)
    fastAcc.emplace(reducer.getCombiner(), *operands[1], outCount);
  if (fast && ctx.options.fastPaths) {
    // Same taps in the same (row-major window) order, without visiting
    // padding and base-dilation holes: per dimension and output
    // coordinate, the input offsets of the valid taps, multiplied out.
    int64_t rank = outShape.size();
    std::vector<std::vector<std::vector<int64_t>>> taps(rank);
    for (int64_t d = 0; d < rank; ++d) {
      taps[d].resize(outShape[d]);
      for (int64_t od = 0; od < outShape[d]; ++od)
        for (int64_t wd = 0; wd < wp.size[d]; ++wd) {
          int64_t pos = od * wp.stride[d] + wd * wp.winDil[d] - wp.padLow[d];
          if (pos < 0 || pos % wp.baseDil[d] ||
              pos / wp.baseDil[d] >= in0.getShape()[d])
            continue;
          taps[d][od].push_back(pos / wp.baseDil[d] * inStrides[d]);
        }
    }
    llvm::SmallVector<size_t> t(rank, 0);
    for (int64_t oi = 0; oi < outCount; ++oi, nextIndex(o, outShape)) {
      bool empty = false;
      for (int64_t d = 0; d < rank; ++d)
        empty |= taps[d][o[d]].empty();
      if (empty)
        continue;
      std::fill(t.begin(), t.end(), 0);
      while (true) {
        int64_t offset = 0;
        for (int64_t d = 0; d < rank; ++d)
          offset += taps[d][o[d]][t[d]];
        fastAcc->add(oi, in0, offset);
        int64_t d = rank - 1;
        for (; d >= 0; --d) {
          if (++t[d] < taps[d][o[d]].size())
            break;
          t[d] = 0;
        }
        if (d < 0)
          break;
      }
    }
    fastAcc->store(*results[0]);
    return packResults(op, results);
  }
  for (int64_t oi = 0; oi < outCount; ++oi) {
    std::fill(w.begin(), w.end(), 0);
    if (fast) {
      for (int64_t wi = 0; wi < windowCount; ++wi) {
        int64_t offset = wp.tap(o, w, in0.getShape(), inStrides);
        if (offset >= 0)
          fastAcc->add(oi, in0, offset);
        nextIndex(w, wp.size);
      }
    } else {
      llvm::SmallVector<LiteralRef, 4> acc;
      for (size_t k = 0; k < numInputs; ++k)
        acc.push_back(operands[numInputs + k]);
      for (int64_t wi = 0; wi < windowCount; ++wi) {
        int64_t offset = wp.tap(o, w, in0.getShape(), inStrides);
        if (offset >= 0) {
          for (size_t k = 0; k < numInputs; ++k)
            values[k] = scalarOf(*operands[k], offset);
          if (!reducer.apply(acc, values))
            return nullptr;
        }
        nextIndex(w, wp.size);
      }
      for (size_t k = 0; k < numInputs; ++k)
        results[k]->copyElement(oi, *acc[k], 0);
    }
    nextIndex(o, outShape);
  }
  if (fast)
    fastAcc->store(*results[0]);
  return packResults(op, results);
}

//===----------------------------------------------------------------------===//
// select-and-scatter
//===----------------------------------------------------------------------===//

LiteralRef selectAndScatterHandler(ExecContext &ctx, Operation *op,
                                   ArrayRef<LiteralRef> operands) {
  auto sas = cast<hlo::SelectAndScatterOp>(op);
  const Literal &operand = *operands[0], &source = *operands[1];
  const CompiledComputation *select = ctx.lookup(op, sas.getSelectAttr());
  const CompiledComputation *scatter = ctx.lookup(op, sas.getScatterAttr());
  if (!select || !scatter)
    return nullptr;
  WindowParams wp;
  hlo::WindowAttr window = sas.getWindowAttr();
  if (!window) {
    // No window: size 1 everywhere.
    for (int64_t d = 0; d < operand.getRank(); ++d) {
      wp.size.push_back(1);
      wp.stride.push_back(1);
      wp.padLow.push_back(0);
      wp.padHigh.push_back(0);
      wp.baseDil.push_back(1);
      wp.winDil.push_back(1);
    }
  } else if (!wp.init(window, operand.getRank())) {
    return ctx.fail(op, "window does not match the operand rank");
  }
  LiteralRef out = Literal::makeArray(getResultTensorType(op));
  for (int64_t i = 0, n = out->getNumElements(); i < n; ++i)
    out->copyElement(i, *operands[2], 0);
  llvm::SmallVector<int64_t> inStrides = operand.getStrides();
  int64_t windowCount = 1;
  for (int64_t s : wp.size)
    windowCount *= s;
  // A select of the form compare(key(p0), key(p1)) compares precomputed
  // keys of the operand's elements.
  NativeComparator native = recognizeNativeComparator(*select);
  NativeKeys keys;
  if (native.valid && select->numParameters == 2 && native.keyFunction) {
    std::vector<int64_t> offsets(operand.getNumElements());
    for (size_t i = 0; i < offsets.size(); ++i)
      offsets[i] = i;
    if (!computeNativeKeys(ctx, native, {operands[0]}, offsets, keys))
      return nullptr;
  } else if (!native.valid || select->numParameters != 2) {
    native.valid = false;
  }
  // With the operand itself as the key, compare its elements directly.
  auto keep = [&](int64_t a, int64_t b) {
    if (native.keyFunction)
      return keys.compare(native, a, b);
    return compareElements(native, operand, a, b);
  };
  Combiner scatterCombiner = recognizeCombiner(*scatter);
  bool fastScatter = combinerFits(scatterCombiner, out->getKind());
  llvm::SmallVector<int64_t> s(source.getRank(), 0), w(source.getRank(), 0);
  for (int64_t si = 0, n = source.getNumElements(); si < n; ++si) {
    std::fill(w.begin(), w.end(), 0);
    int64_t selected = -1;
    for (int64_t wi = 0; wi < windowCount; ++wi) {
      int64_t offset = wp.tap(s, w, operand.getShape(), inStrides);
      nextIndex(w, wp.size);
      if (offset < 0)
        continue;
      if (selected < 0) {
        selected = offset;
        continue;
      }
      if (native.valid) {
        if (!keep(selected, offset))
          selected = offset;
        continue;
      }
      LiteralRef keep = ctx.call(
          *select, {scalarOf(operand, selected), scalarOf(operand, offset)});
      if (!keep)
        return nullptr;
      if (!keep->getInt(0))
        selected = offset;
    }
    if (selected >= 0) {
      if (fastScatter && isFloatKind(out->getKind())) {
        out->setFloat(selected,
                      combineFloat(scatterCombiner, out->getFloat(selected),
                                   source.getFloat(si)));
      } else if (fastScatter && isIntegralKind(out->getKind())) {
        out->setInt(selected,
                    combineInt(scatterCombiner, out->getKind(),
                               out->getInt(selected), source.getInt(si)));
      } else {
        LiteralRef value = ctx.call(
            *scatter, {scalarOf(*out, selected), scalarOf(source, si)});
        if (!value)
          return nullptr;
        out->copyElement(selected, *value, 0);
      }
    }
    nextIndex(s, source.getShape());
  }
  return out;
}

} // namespace

void gshard::sim::registerReductionHandlers(HandlerTable &t) {
  t["hlo.reduce"] = reduceHandler;
  t["hlo.reduce_window"] = reduceWindowHandler;
  t["hlo.select_and_scatter"] = selectAndScatterHandler;
}
