//===- Sort.cpp - sort, topk and native comparators -----------------------===//
//
// Part of gshard, under the Apache License v2.0.
//
// A comparator of the form `compare(key(p[2k]), key(p[2k+1]))` -- the same
// expression of the left and of the right elements, compared once -- runs
// natively: the key of every element is computed once (by the interpreter
// when `key` is not just the parameter), then elements are compared as
// native numbers with the compare's direction and type. This covers the
// plain `compare(p0, p1)` of any direction and type and the total-order
// keys (bitcast-convert / select tricks) JAX and TensorFlow emit. Other
// comparators are interpreted per comparison.
//
//===----------------------------------------------------------------------===//

#include "Exec.h"
#include "ScalarProgram.h"

#include "llvm/ADT/DenseMap.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>
#include <utility>

using namespace mlir;
using namespace gshard;
using namespace gshard::sim;

//===----------------------------------------------------------------------===//
// Comparator recognition
//===----------------------------------------------------------------------===//

static bool sameAttributes(Operation *a, Operation *b) {
  auto filtered = [](Operation *op) {
    llvm::SmallVector<NamedAttribute> attrs;
    for (NamedAttribute attr : op->getAttrs()) {
      StringRef name = attr.getName().getValue();
      if (name != "metadata" && name != "sharding" &&
          name != "frontend_attributes")
        attrs.push_back(attr);
    }
    return attrs;
  };
  return filtered(a) == filtered(b);
}

/// Whether `y` is `x` with every parameter 2k replaced by parameter 2k+1.
static bool mirrored(Value x, Value y,
                     llvm::DenseMap<std::pair<Value, Value>, bool> &memo) {
  auto key = std::make_pair(x, y);
  if (auto it = memo.find(key); it != memo.end())
    return it->second;
  Operation *a = x.getDefiningOp(), *b = y.getDefiningOp();
  bool result = false;
  if (!a || !b || a->getNumResults() != 1 || b->getNumResults() != 1 ||
      a->getName() != b->getName() ||
      a->getNumOperands() != b->getNumOperands() || a->getNumRegions() ||
      x.getType() != y.getType()) {
    result = false;
  } else if (auto pa = dyn_cast<hlo::ParameterOp>(a)) {
    int64_t na = pa.getParameterNumber();
    int64_t nb = cast<hlo::ParameterOp>(b).getParameterNumber();
    result = na % 2 == 0 && nb == na + 1;
  } else if (sameAttributes(a, b)) {
    result = true;
    for (unsigned i = 0; i < a->getNumOperands() && result; ++i)
      result = mirrored(a->getOperand(i), b->getOperand(i), memo);
  }
  memo[key] = result;
  return result;
}

static NativeComparator recognizeCompare(const CompiledComputation &comp,
                                         hlo::CompareOp compare);

NativeComparator
gshard::sim::recognizeNativeComparator(const CompiledComputation &comp) {
  if (comp.rootSlot < 0)
    return NativeComparator();
  auto compare = dyn_cast<hlo::CompareOp>(comp.ops[comp.rootSlot]);
  if (!compare)
    return NativeComparator();
  return recognizeCompare(comp, compare);
}

/// A lexicographic comparator as JAX/TensorFlow emit for sorts with a
/// tie-break: `select(tie, next, order)` where `order` is a mirrored
/// compare, `tie` is `compare(c(x, y), c(y, x)), direction=EQ` for a
/// mirrored compare c (neither element before the other), and `next` is
/// again such a comparator or a mirrored compare.
struct LexLevel {
  NativeComparator tie, order;
  NativeKeys tieKeys, orderKeys;
};

static bool recognizeLexicographic(const CompiledComputation &comp,
                                   Operation *root,
                                   std::vector<LexLevel> &levels) {
  if (auto compare = dyn_cast<hlo::CompareOp>(root)) {
    LexLevel level;
    level.order = recognizeCompare(comp, compare);
    levels.push_back(std::move(level));
    return levels.back().order.valid;
  }
  auto select = dyn_cast<hlo::SelectOp>(root);
  if (!select || levels.size() > 8)
    return false;
  auto tie = select.getOperand(0).getDefiningOp<hlo::CompareOp>();
  auto order = select.getOperand(2).getDefiningOp<hlo::CompareOp>();
  Operation *next = select.getOperand(1).getDefiningOp();
  if (!tie || !order || !next ||
      tie.getDirection() != hlo::ComparisonDirection::EQ)
    return false;
  auto c1 = tie.getOperand(0).getDefiningOp<hlo::CompareOp>();
  auto c2 = tie.getOperand(1).getDefiningOp<hlo::CompareOp>();
  if (!c1 || !c2 || c1.getOperand(0) != c2.getOperand(1) ||
      c1.getOperand(1) != c2.getOperand(0) || !sameAttributes(c1, c2))
    return false;
  LexLevel level;
  level.tie = recognizeCompare(comp, c1);
  level.order = recognizeCompare(comp, order);
  if (!level.tie.valid || !level.order.valid)
    return false;
  levels.push_back(std::move(level));
  return recognizeLexicographic(comp, next, levels);
}

static NativeComparator recognizeCompare(const CompiledComputation &comp,
                                         hlo::CompareOp compare) {
  NativeComparator result;
  Value x = compare.getOperand(0), y = compare.getOperand(1);
  llvm::DenseMap<std::pair<Value, Value>, bool> memo;
  if (!mirrored(x, y, memo))
    return result;
  auto type = dyn_cast<RankedTensorType>(x.getType());
  if (!type || type.getRank() != 0 ||
      !getElemKind(type.getElementType(), result.keyKind) ||
      isComplexKind(result.keyKind))
    return result;
  result.direction = compare.getDirection();
  if (auto explicitType = compare.getType())
    result.type = *explicitType;
  else if (isFloatKind(result.keyKind))
    result.type = hlo::ComparisonType::FLOAT;
  else if (isSignedIntKind(result.keyKind))
    result.type = hlo::ComparisonType::SIGNED;
  else
    result.type = hlo::ComparisonType::UNSIGNED;
  result.keyBits = getBitWidth(result.keyKind, type.getElementType());
  result.keyValue = x;
  if (auto param = dyn_cast<hlo::ParameterOp>(x.getDefiningOp())) {
    result.keyOperand = param.getParameterNumber() / 2;
    result.valid = true;
    return result;
  }
  // The key alone: the instructions x depends on, in order.
  llvm::DenseMap<Operation *, int> slotOf;
  for (size_t i = 0; i < comp.ops.size(); ++i)
    slotOf[comp.ops[i]] = i;
  std::vector<bool> needed(comp.ops.size(), false);
  llvm::SmallVector<int> work = {slotOf.lookup(x.getDefiningOp())};
  while (!work.empty()) {
    int slot = work.pop_back_val();
    if (needed[slot])
      continue;
    needed[slot] = true;
    for (int operand : comp.operandSlots[slot])
      work.push_back(operand);
  }
  auto key = std::make_shared<CompiledComputation>();
  key->op = comp.op;
  key->numParameters = comp.numParameters;
  std::vector<int> remap(comp.ops.size(), -1);
  for (size_t i = 0; i < comp.ops.size(); ++i) {
    if (!needed[i])
      continue;
    remap[i] = key->ops.size();
    key->ops.push_back(comp.ops[i]);
    key->handlers.push_back(comp.handlers[i]);
    llvm::SmallVector<int, 4> slots;
    for (int operand : comp.operandSlots[i])
      slots.push_back(remap[operand]);
    key->operandSlots.push_back(slots);
    key->releaseAfter.emplace_back();
  }
  key->rootSlot = remap[slotOf.lookup(x.getDefiningOp())];
  result.keyFunction = std::move(key);
  result.valid = true;
  return result;
}

static int64_t totalOrderKey(double v) {
  int64_t bits;
  std::memcpy(&bits, &v, 8);
  return bits < 0 ? bits ^ std::numeric_limits<int64_t>::max() : bits;
}

void NativeKeys::resize(const NativeComparator &c, size_t n) {
  if (isFloatKind(c.keyKind) && c.type != hlo::ComparisonType::TOTALORDER)
    floats.resize(n);
  else
    ints.resize(n);
}

/// The key of element `offset` of `lit`: an integer (total-order floats,
/// integers extended by the compare type) or an IEEE double.
static void keyOf(const NativeComparator &c, const Literal &lit, int64_t offset,
                  int64_t &intKey, double &floatKey) {
  if (isFloatKind(c.keyKind)) {
    double v = lit.getFloat(offset);
    if (c.type == hlo::ComparisonType::TOTALORDER)
      intKey = totalOrderKey(v);
    else
      floatKey = v;
    return;
  }
  uint64_t bits = lit.getBits(offset);
  unsigned width = c.keyKind == ElemKind::Pred ? 1 : c.keyBits;
  if (width < 64) {
    bits &= (uint64_t(1) << width) - 1;
    if (c.type == hlo::ComparisonType::SIGNED && (bits >> (width - 1)) & 1)
      bits |= ~((uint64_t(1) << width) - 1);
  }
  intKey = static_cast<int64_t>(bits);
}

void NativeKeys::set(size_t i, const NativeComparator &c, const Literal &lit,
                     int64_t offset) {
  int64_t intKey = 0;
  double floatKey = 0;
  keyOf(c, lit, offset, intKey, floatKey);
  if (!floats.empty())
    floats[i] = floatKey;
  else
    ints[i] = intKey;
}

template <typename T>
static bool applyDirection(hlo::ComparisonDirection d, T x, T y) {
  switch (d) {
  case hlo::ComparisonDirection::EQ:
    return x == y;
  case hlo::ComparisonDirection::NE:
    return x != y;
  case hlo::ComparisonDirection::LT:
    return x < y;
  case hlo::ComparisonDirection::LE:
    return x <= y;
  case hlo::ComparisonDirection::GT:
    return x > y;
  case hlo::ComparisonDirection::GE:
    return x >= y;
  }
  return false;
}

bool NativeKeys::compare(const NativeComparator &c, size_t a, size_t b) const {
  if (isFloatKind(c.keyKind) && c.type != hlo::ComparisonType::TOTALORDER)
    return applyDirection(c.direction, floats[a], floats[b]);
  if (c.type == hlo::ComparisonType::UNSIGNED)
    return applyDirection(c.direction, static_cast<uint64_t>(ints[a]),
                          static_cast<uint64_t>(ints[b]));
  return applyDirection(c.direction, ints[a], ints[b]);
}

bool gshard::sim::compareElements(const NativeComparator &c, const Literal &lit,
                                  int64_t a, int64_t b) {
  int64_t ia = 0, ib = 0;
  double fa = 0, fb = 0;
  keyOf(c, lit, a, ia, fa);
  keyOf(c, lit, b, ib, fb);
  if (isFloatKind(c.keyKind) && c.type != hlo::ComparisonType::TOTALORDER)
    return applyDirection(c.direction, fa, fb);
  if (c.type == hlo::ComparisonType::UNSIGNED)
    return applyDirection(c.direction, static_cast<uint64_t>(ia),
                          static_cast<uint64_t>(ib));
  return applyDirection(c.direction, ia, ib);
}

bool gshard::sim::computeNativeKeys(ExecContext &ctx, const NativeComparator &c,
                                    ArrayRef<LiteralRef> operands,
                                    ArrayRef<int64_t> offsets,
                                    NativeKeys &keys) {
  keys.resize(c, offsets.size());
  if (!c.keyFunction) {
    const Literal &lit = *operands[c.keyOperand];
    for (size_t i = 0; i < offsets.size(); ++i)
      keys.set(i, c, lit, offsets[i]);
    return true;
  }
  // Each element's key comes from the comparator cut at the key, with the
  // element as both its left and right arguments.
  ScalarProgram program;
  bool scalar = ctx.options.fastPaths && program.init(ctx, *c.keyFunction);
  for (size_t k = 0; scalar && k < operands.size(); ++k)
    scalar = program.acceptsArgument(2 * k, operands[k]->getElementType()) &&
             program.acceptsArgument(2 * k + 1, operands[k]->getElementType());
  if (scalar) {
    for (size_t i = 0; i < offsets.size(); ++i) {
      for (size_t k = 0; k < operands.size(); ++k) {
        program.setArgument(2 * k, *operands[k], offsets[i]);
        program.setArgument(2 * k + 1, *operands[k], offsets[i]);
      }
      program.run();
      keys.set(i, c, program.getResult(0), 0);
    }
    return true;
  }
  llvm::SmallVector<LiteralRef, 8> args;
  for (size_t i = 0; i < offsets.size(); ++i) {
    args.clear();
    for (const LiteralRef &operand : operands) {
      LiteralRef scalar = scalarOf(*operand, offsets[i]);
      args.push_back(scalar);
      args.push_back(scalar);
    }
    LiteralRef key = ctx.call(*c.keyFunction, args);
    if (!key)
      return false;
    keys.set(i, c, *key, 0);
  }
  return true;
}

namespace {

//===----------------------------------------------------------------------===//
// sort, topk
//===----------------------------------------------------------------------===//

/// Stable bottom-up merge sort that stays in bounds whatever the comparator
/// answers (a comparator need not be a strict weak order). `less` may fail.
template <typename Less>
bool mergeSort(std::vector<int64_t> &items, Less less) {
  std::vector<int64_t> buffer(items.size());
  for (size_t width = 1; width < items.size(); width *= 2) {
    for (size_t lo = 0; lo < items.size(); lo += 2 * width) {
      size_t mid = std::min(lo + width, items.size());
      size_t hi = std::min(lo + 2 * width, items.size());
      size_t i = lo, j = mid, k = lo;
      while (i < mid && j < hi) {
        int r = less(items[j], items[i]);
        if (r < 0)
          return false;
        buffer[k++] = r ? items[j++] : items[i++];
      }
      while (i < mid)
        buffer[k++] = items[i++];
      while (j < hi)
        buffer[k++] = items[j++];
    }
    items.swap(buffer);
  }
  return true;
}

/// The stable order of `order` by one native key compared with LT or GT,
/// when that compare is a strict weak order (integer keys, float keys
/// without NaN): then the stable permutation is unique -- the order by
/// (key, original position) -- and std::sort on those pairs gives
/// mergeSort's result several times faster. Returns false (and leaves
/// `order`) otherwise.
static bool sortBySingleKey(const std::vector<LexLevel> &levels,
                            std::vector<int64_t> &order) {
  if (levels.size() != 1 || levels[0].tie.valid)
    return false;
  const NativeComparator &c = levels[0].order;
  const NativeKeys &keys = levels[0].orderKeys;
  bool greater = c.direction == hlo::ComparisonDirection::GT;
  if (!greater && c.direction != hlo::ComparisonDirection::LT)
    return false;
  // The stable order by key is the order by (key, index): std::sort on
  // (key, index) pairs gives it without a stable sort's merges.
  auto run = [&](const auto &key) {
    using Key = std::decay_t<decltype(key[0])>;
    std::vector<std::pair<Key, int64_t>> items(order.size());
    for (size_t i = 0; i < order.size(); ++i)
      items[i] = {key[order[i]], order[i]};
    auto byIndex = [](const auto &a, const auto &b) {
      return a.second < b.second;
    };
    if (greater)
      std::sort(items.begin(), items.end(), [&](const auto &a, const auto &b) {
        return a.first > b.first || (!(b.first > a.first) && byIndex(a, b));
      });
    else
      std::sort(items.begin(), items.end(), [&](const auto &a, const auto &b) {
        return a.first < b.first || (!(b.first < a.first) && byIndex(a, b));
      });
    for (size_t i = 0; i < order.size(); ++i)
      order[i] = items[i].second;
    return true;
  };
  if (!keys.floats.empty()) {
    for (double v : keys.floats)
      if (std::isnan(v))
        return false;
    return run(keys.floats);
  }
  if (c.type == hlo::ComparisonType::UNSIGNED) {
    std::vector<uint64_t> unsignedKeys(keys.ints.begin(), keys.ints.end());
    return run(unsignedKeys);
  }
  return run(keys.ints);
}

/// out[offsets[i]] = in[offsets[order[i]]] for every i, with a fixed-size
/// copy per element width (a memcpy of a run-time size per element was a
/// tenth of a 268M-element sort).
static void permuteInto(Literal &out, const Literal &in,
                        ArrayRef<int64_t> offsets, ArrayRef<int64_t> order) {
  auto copy = [&](auto width) {
    constexpr size_t bytes = decltype(width)::value;
    uint8_t *dst = out.data();
    const uint8_t *src = in.data();
    for (size_t i = 0; i < offsets.size(); ++i)
      std::memcpy(dst + offsets[i] * bytes, src + offsets[order[i]] * bytes,
                  bytes);
  };
  switch (in.getElementBytes()) {
  case 1:
    return copy(std::integral_constant<size_t, 1>());
  case 2:
    return copy(std::integral_constant<size_t, 2>());
  case 4:
    return copy(std::integral_constant<size_t, 4>());
  case 8:
    return copy(std::integral_constant<size_t, 8>());
  case 16:
    return copy(std::integral_constant<size_t, 16>());
  default:
    for (size_t i = 0; i < offsets.size(); ++i)
      out.copyElement(offsets[i], in, offsets[order[i]]);
  }
}

LiteralRef packResults(Operation *op, std::vector<LiteralRef> results) {
  if (results.size() == 1 && !isa<TupleType>(op->getResult(0).getType()))
    return results[0];
  return Literal::makeTuple(results);
}

LiteralRef sortHandler(ExecContext &ctx, Operation *op,
                       ArrayRef<LiteralRef> operands) {
  auto sort = cast<hlo::SortOp>(op);
  const CompiledComputation *fn = ctx.lookup(op, sort.getToApplyAttr());
  if (!fn)
    return nullptr;
  if (operands.empty())
    return ctx.fail(op, "sort needs an operand");
  const Literal &in0 = *operands[0];
  if (sort.getDimensions().size() != 1)
    return ctx.fail(op, "sort needs exactly one dimension");
  int64_t dim = sort.getDimensions()[0];
  if (dim < 0 || dim >= in0.getRank())
    return ctx.fail(op, "sort dimension out of range");
  int64_t length = in0.getShape()[dim];
  int64_t stride = in0.getStrides()[dim];
  std::vector<LexLevel> levels;
  bool native = ctx.options.fastPaths && fn->rootSlot >= 0 &&
                fn->numParameters == 2 * operands.size() &&
                recognizeLexicographic(*fn, fn->ops[fn->rootSlot], levels);
  // Other comparators: a scalar program per comparison when possible.
  ScalarProgram program;
  bool scalar = !native && ctx.options.fastPaths &&
                fn->numParameters == 2 * operands.size() &&
                program.init(ctx, *fn) && program.getNumResults() == 1 &&
                program.getResult(0).getKind() == ElemKind::Pred;
  for (size_t k = 0; scalar && k < operands.size(); ++k)
    scalar = program.acceptsArgument(2 * k, operands[k]->getElementType()) &&
             program.acceptsArgument(2 * k + 1, operands[k]->getElementType());
  std::vector<LiteralRef> results;
  for (const LiteralRef &operand : operands)
    results.push_back(operand->clone());
  // Each slice along `dim` starts at an index with index[dim] == 0.
  llvm::SmallVector<int64_t> outerShape(in0.getShape());
  outerShape[dim] = 1;
  llvm::SmallVector<int64_t> index(in0.getRank(), 0);
  int64_t slices = in0.getNumElements() / std::max<int64_t>(length, 1);
  std::vector<int64_t> order(length), offsets(length);
  for (int64_t s = 0; s < slices && length > 0; ++s) {
    int64_t base = in0.linearIndex(index);
    for (int64_t i = 0; i < length; ++i) {
      order[i] = i;
      offsets[i] = base + i * stride;
    }
    bool sorted;
    if (native) {
      for (LexLevel &level : levels) {
        if (!computeNativeKeys(ctx, level.order, operands, offsets,
                               level.orderKeys))
          return nullptr;
        if (!level.tie.valid)
          continue;
        // The tie test usually compares the same keys as the order.
        if (level.tie.keyValue == level.order.keyValue &&
            level.tie.type == level.order.type)
          level.tieKeys = level.orderKeys;
        else if (!computeNativeKeys(ctx, level.tie, operands, offsets,
                                    level.tieKeys))
          return nullptr;
      }
      if (sortBySingleKey(levels, order)) {
        sorted = true;
      } else {
        sorted = mergeSort(order, [&](int64_t a, int64_t b) -> int {
          for (const LexLevel &level : levels) {
            if (level.tie.valid && level.tieKeys.compare(level.tie, a, b) ==
                                       level.tieKeys.compare(level.tie, b, a))
              continue;
            return level.orderKeys.compare(level.order, a, b);
          }
          return 0;
        });
      }
    } else if (scalar) {
      sorted = mergeSort(order, [&](int64_t a, int64_t b) -> int {
        for (size_t k = 0; k < operands.size(); ++k) {
          program.setArgument(2 * k, *operands[k], offsets[a]);
          program.setArgument(2 * k + 1, *operands[k], offsets[b]);
        }
        program.run();
        return program.getResult(0).getInt(0) != 0;
      });
    } else {
      sorted = mergeSort(order, [&](int64_t a, int64_t b) -> int {
        llvm::SmallVector<LiteralRef, 8> args;
        for (const LiteralRef &operand : operands) {
          args.push_back(scalarOf(*operand, offsets[a]));
          args.push_back(scalarOf(*operand, offsets[b]));
        }
        LiteralRef r = ctx.call(*fn, args);
        if (!r)
          return -1;
        return r->getInt(0) != 0;
      });
    }
    if (!sorted)
      return nullptr;
    for (size_t k = 0; k < operands.size(); ++k)
      permuteInto(*results[k], *operands[k], offsets, order);
    nextIndex(index, outerShape);
  }
  return packResults(op, results);
}

/// The k largest (or smallest) elements of each row of `in` along its last
/// dimension, in order, with their indices; ties keep the lower index.
/// Floats order totally (NaN above +Inf).
bool topK(const Literal &in, int64_t k, bool largest, Literal &values,
          Literal &indices, bool fast) {
  int64_t length = in.getShape().back();
  int64_t rows = length ? in.getNumElements() / length : 0;
  std::vector<int64_t> order(length);
  NativeComparator c;
  c.keyKind = in.getKind();
  c.keyBits = getBitWidth(c.keyKind, in.getElementType());
  c.direction =
      largest ? hlo::ComparisonDirection::GT : hlo::ComparisonDirection::LT;
  c.type = isFloatKind(c.keyKind)       ? hlo::ComparisonType::TOTALORDER
           : isSignedIntKind(c.keyKind) ? hlo::ComparisonType::SIGNED
                                        : hlo::ComparisonType::UNSIGNED;
  NativeKeys keys;
  keys.resize(c, length);
  for (int64_t r = 0; r < rows; ++r) {
    int64_t base = r * length;
    for (int64_t i = 0; i < length; ++i) {
      order[i] = i;
      keys.set(i, c, in, base + i);
    }
    if (fast) {
      // Keys in total order, ties by index: a strict total order whose
      // first k are exactly the stable sort's first k.
      std::partial_sort(order.begin(), order.begin() + k, order.end(),
                        [&](int64_t a, int64_t b) {
                          if (keys.compare(c, a, b))
                            return true;
                          if (keys.compare(c, b, a))
                            return false;
                          return a < b;
                        });
    } else {
      mergeSort(order, [&](int64_t a, int64_t b) -> int {
        return keys.compare(c, a, b);
      });
    }
    for (int64_t i = 0; i < k; ++i) {
      values.copyElement(r * k + i, in, base + order[i]);
      indices.setInt(r * k + i, order[i]);
    }
  }
  return true;
}

LiteralRef topKHandler(ExecContext &ctx, Operation *op,
                       ArrayRef<LiteralRef> operands) {
  auto topk = cast<hlo::TopKOp>(op);
  const Literal &in = *operands[0];
  auto tuple = dyn_cast<TupleType>(op->getResult(0).getType());
  if (!tuple || tuple.size() != 2 || in.getRank() < 1)
    return ctx.fail(op, "topk returns (values, indices)");
  int64_t k = topk.getK();
  LiteralRef values =
      Literal::makeArray(cast<RankedTensorType>(tuple.getType(0)));
  LiteralRef indices =
      Literal::makeArray(cast<RankedTensorType>(tuple.getType(1)));
  if (k < 0 || k > in.getShape().back())
    return ctx.fail(op, "k exceeds the last dimension");
  topK(in, k, topk.getLargest().value_or(true), *values, *indices,
       ctx.options.fastPaths);
  return Literal::makeTuple({values, indices});
}

} // namespace

LiteralRef gshard::sim::runTopKCustomCall(ExecContext &ctx, Operation *op,
                                          ArrayRef<LiteralRef> operands) {
  auto tuple = dyn_cast<TupleType>(op->getResult(0).getType());
  if (operands.size() != 1 || !operands[0]->isArray() || !tuple ||
      tuple.size() != 2)
    return ctx.fail(op, "TopK takes one array and returns (values, indices)");
  const Literal &in = *operands[0];
  auto valuesType = dyn_cast<RankedTensorType>(tuple.getType(0));
  auto indicesType = dyn_cast<RankedTensorType>(tuple.getType(1));
  if (!valuesType || !indicesType || in.getRank() < 1 ||
      valuesType.getRank() != in.getRank())
    return ctx.fail(op, "TopK returns (values, indices) of the operand's "
                        "rank");
  int64_t k = valuesType.getShape().back();
  if (k > in.getShape().back())
    return ctx.fail(op, "TopK's k exceeds the last dimension");
  LiteralRef values = Literal::makeArray(valuesType);
  LiteralRef indices = Literal::makeArray(indicesType);
  if (!values || !indices)
    return ctx.fail(op, "unsupported element type");
  topK(in, k, /*largest=*/true, *values, *indices, ctx.options.fastPaths);
  return Literal::makeTuple({values, indices});
}

void gshard::sim::registerSortHandlers(HandlerTable &t) {
  t["hlo.sort"] = sortHandler;
  t["hlo.topk"] = topKHandler;
}
