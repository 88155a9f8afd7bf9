//===- RandomHloOps.cpp - gshard-random-hlo's op generators ---------------===//
//
// One generator per op: each draws a well-typed instance that uses the given
// operand (and new or reused values for the others) or returns false when
// the op does not apply to it. The draws depend only on the generator's PRNG.
//
//===----------------------------------------------------------------------===//

#include "RandomHlo.h"

#include <algorithm>
#include <functional>
#include <numeric>
#include <sstream>

namespace gshard::randomhlo {

bool Generator::genUnary(const Value &v) {
  static const std::vector<std::string> ops = {
      "negate", "abs",         "tanh",  "sine",
      "cosine", "exponential", "floor", "sign"};
  emit("f32", v.dims, rng.pick(ops) + "(%" + v.name + ")");
  return true;
}

bool Generator::genBinary(const Value &v) {
  static const std::vector<std::string> ops = {"add", "subtract", "multiply",
                                               "maximum", "minimum"};
  Value other = findOrCreate("f32", v.dims);
  emit("f32", v.dims, rng.pick(ops) + "(%" + v.name + ", %" + other.name + ")");
  return true;
}

bool Generator::genSelect(const Value &v) {
  static const std::vector<std::string> dirs = {"GT", "LT", "GE", "EQ", "NE"};
  Value other = findOrCreate("f32", v.dims);
  Value cmp = emit("pred", v.dims,
                   "compare(%" + v.name + ", %" + other.name +
                       "), direction=" + rng.pick(dirs));
  emit("f32", v.dims,
       "select(%" + cmp.name + ", %" + v.name + ", %" + other.name + ")");
  return true;
}

bool Generator::genBroadcast(const Value &v) {
  if (v.dims.size() >= 4)
    return false;
  int64_t added = rng.range(1, 4 - static_cast<int64_t>(v.dims.size()));
  // Positions of the operand dims in the result: increasing (XLA allows any
  // order, but the partitioner's tests and real programs keep it sorted).
  int64_t rank = static_cast<int64_t>(v.dims.size()) + added;
  std::vector<bool> isOperand(rank, false);
  Dims positions(rank);
  std::iota(positions.begin(), positions.end(), 0);
  rng.shuffle(positions);
  for (size_t i = 0; i < v.dims.size(); ++i)
    isOperand[positions[i]] = true;
  Dims mapping, dims;
  size_t next = 0;
  for (int64_t i = 0; i < rank; ++i) {
    if (isOperand[i]) {
      mapping.push_back(i);
      dims.push_back(v.dims[next++]);
    } else {
      dims.push_back(randomDim());
    }
  }
  if (numElements(dims) > kMaxElements)
    return false;
  emit("f32", dims,
       "broadcast(%" + v.name + "), dimensions={" + join(mapping) + "}");
  return true;
}

bool Generator::genReshape(const Value &v) {
  // Split the prime factors of the element count into random groups, plus
  // the odd size-1 dim.
  Dims factors;
  int64_t n = numElements(v.dims);
  for (int64_t p = 2; p * p <= n; ++p)
    while (n % p == 0) {
      factors.push_back(p);
      n /= p;
    }
  if (n > 1)
    factors.push_back(n);
  rng.shuffle(factors);
  int64_t groups =
      factors.empty() ? 0 : rng.range(1, std::min<int64_t>(4, factors.size()));
  Dims dims(groups, 1);
  for (size_t i = 0; i < factors.size(); ++i)
    dims[i < static_cast<size_t>(groups) ? i : rng.range(0, groups - 1)] *=
        factors[i];
  if (dims.size() < 4 && rng.chance(20))
    dims.insert(dims.begin() + rng.range(0, dims.size()), 1);
  emit("f32", dims, "reshape(%" + v.name + ")");
  return true;
}

bool Generator::genTranspose(const Value &v) {
  if (v.dims.size() < 2)
    return false;
  Dims perm(v.dims.size());
  std::iota(perm.begin(), perm.end(), 0);
  rng.shuffle(perm);
  Dims dims;
  for (int64_t p : perm)
    dims.push_back(v.dims[p]);
  emit("f32", dims,
       "transpose(%" + v.name + "), dimensions={" + join(perm) + "}");
  return true;
}

bool Generator::genDot(const Value &lhs) {
  if (lhs.dims.empty() || lhs.dims.size() > 3)
    return false;
  Dims lhsBatch, lhsContract, lhsFree;
  for (size_t i = 0; i < lhs.dims.size(); ++i) {
    int roll = rng.range(0, 99);
    (roll < 25 ? lhsBatch : roll < 65 ? lhsContract : lhsFree).push_back(i);
  }
  // rhs dims: one per lhs batch and contracting dim, plus 0-2 free dims, in
  // a random order.
  struct RhsDim {
    int kind; // 0 batch, 1 contracting, 2 free
    int64_t index, size;
  };
  std::vector<RhsDim> rhsDims;
  for (size_t i = 0; i < lhsBatch.size(); ++i)
    rhsDims.push_back({0, static_cast<int64_t>(i), lhs.dims[lhsBatch[i]]});
  for (size_t i = 0; i < lhsContract.size(); ++i)
    rhsDims.push_back({1, static_cast<int64_t>(i), lhs.dims[lhsContract[i]]});
  int64_t rhsFreeCount = rng.range(0, 2);
  if (rhsDims.size() + rhsFreeCount > 4)
    return false;
  for (int64_t i = 0; i < rhsFreeCount; ++i)
    rhsDims.push_back({2, i, randomDim()});
  rng.shuffle(rhsDims);
  Dims rhsShape, rhsBatch(lhsBatch.size()), rhsContract(lhsContract.size()),
      rhsFreeSizes;
  for (size_t i = 0; i < rhsDims.size(); ++i) {
    rhsShape.push_back(rhsDims[i].size);
    if (rhsDims[i].kind == 0)
      rhsBatch[rhsDims[i].index] = i;
    else if (rhsDims[i].kind == 1)
      rhsContract[rhsDims[i].index] = i;
    else
      rhsFreeSizes.push_back(rhsDims[i].size);
  }
  Dims result;
  for (int64_t d : lhsBatch)
    result.push_back(lhs.dims[d]);
  for (int64_t d : lhsFree)
    result.push_back(lhs.dims[d]);
  for (int64_t s : rhsFreeSizes)
    result.push_back(s);
  if (result.size() > 4 || numElements(result) > kMaxElements ||
      numElements(rhsShape) > kMaxElements)
    return false;
  Value rhs = findOrCreate("f32", rhsShape);
  emit("f32", result,
       "dot(%" + lhs.name + ", %" + rhs.name + "), lhs_batch_dims={" +
           join(lhsBatch) + "}, lhs_contracting_dims={" + join(lhsContract) +
           "}, rhs_batch_dims={" + join(rhsBatch) +
           "}, rhs_contracting_dims={" + join(rhsContract) + "}");
  return true;
}

bool Generator::genReduce(const Value &v) {
  if (v.dims.empty())
    return false;
  Dims reduced, kept;
  for (size_t i = 0; i < v.dims.size(); ++i)
    (rng.chance(50) ? reduced : kept).push_back(i);
  if (reduced.empty())
    reduced.push_back(kept.back()), kept.pop_back();
  Dims dims;
  for (int64_t d : kept)
    dims.push_back(v.dims[d]);
  bool isAdd = rng.chance(60);
  needReducer(isAdd ? "add" : "max");
  std::string init = isAdd ? scalarConstant("f32", 0)
                           : emit("f32", {}, "constant(-inf)", false).name;
  emit("f32", dims,
       "reduce(%" + v.name + ", %" + init + "), dimensions={" + join(reduced) +
           "}, to_apply=%" + (isAdd ? "add_f32" : "max_f32"));
  return true;
}

bool Generator::genSlice(const Value &v) {
  if (v.dims.empty())
    return false;
  std::string spec;
  Dims dims;
  for (size_t i = 0; i < v.dims.size(); ++i) {
    int64_t n = v.dims[i];
    int64_t start = rng.chance(50) ? 0 : rng.range(0, n - 1);
    int64_t limit = rng.chance(50) ? n : rng.range(start + 1, n);
    int64_t stride = rng.chance(70) ? 1 : rng.range(2, 3);
    dims.push_back((limit - start + stride - 1) / stride);
    spec += std::string(i ? ", " : "") + "[" + std::to_string(start) + ":" +
            std::to_string(limit) +
            (stride > 1 ? ":" + std::to_string(stride) : "") + "]";
  }
  emit("f32", dims, "slice(%" + v.name + "), slice={" + spec + "}");
  return true;
}

bool Generator::genPad(const Value &v) {
  if (v.dims.empty())
    return false;
  std::string spec;
  Dims dims;
  for (size_t i = 0; i < v.dims.size(); ++i) {
    int64_t n = v.dims[i];
    int64_t interior = n > 1 && rng.chance(20) ? rng.range(1, 2) : 0;
    int64_t base = n + (n - 1) * interior;
    int64_t low = rng.range(-1, 3), high = rng.range(-1, 3);
    if (base + low + high < 1)
      low = high = 0;
    dims.push_back(base + low + high);
    spec += std::string(i ? "x" : "") + std::to_string(low) + "_" +
            std::to_string(high) +
            (interior ? "_" + std::to_string(interior) : "");
  }
  if (numElements(dims) > kMaxElements)
    return false;
  std::string padValue = scalarConstant("f32", rng.chance(50) ? 0 : 1.5);
  emit("f32", dims, "pad(%" + v.name + ", %" + padValue + "), padding=" + spec);
  return true;
}

bool Generator::genConcatenate(const Value &v) {
  if (v.dims.empty())
    return false;
  int64_t dim = rng.range(0, v.dims.size() - 1);
  Dims dims = v.dims;
  std::string operands = "%" + v.name;
  int64_t count = rng.range(1, 2);
  for (int64_t i = 0; i < count; ++i) {
    Dims other = v.dims;
    other[dim] = rng.chance(40) ? v.dims[dim] : randomDim();
    dims[dim] += other[dim];
    operands += ", %" + findOrCreate("f32", other).name;
  }
  if (numElements(dims) > kMaxElements)
    return false;
  emit("f32", dims,
       "concatenate(" + operands + "), dimensions={" + std::to_string(dim) +
           "}");
  return true;
}

/// A random non-empty subset of the dims of a rank-`rank` tensor: each dim
/// with probability 1/2, one at random when that picks none.
Dims Generator::someDims(size_t rank) {
  Dims dims;
  for (size_t i = 0; i < rank; ++i)
    if (rng.chance(50))
      dims.push_back(i);
  if (dims.empty())
    dims.push_back(rng.range(0, rank - 1));
  return dims;
}

/// A dynamic slice of a tensor of `dims`: its `sizes` (full or partial per
/// dim) and its start index operands as `, %s0, %s1...`.
std::string Generator::sliceWindow(const Dims &dims, Dims &sizes) {
  std::string starts;
  for (int64_t n : dims) {
    sizes.push_back(rng.chance(40) ? n : rng.range(1, n));
    starts += ", %" + indexScalar(n);
  }
  return starts;
}

bool Generator::genReverse(const Value &v) {
  if (v.dims.empty())
    return false;
  Dims reversed = someDims(v.dims.size());
  emit("f32", v.dims,
       "reverse(%" + v.name + "), dimensions={" + join(reversed) + "}");
  return true;
}

bool Generator::genDynamicSlice(const Value &v) {
  if (v.dims.empty())
    return false;
  Dims sizes;
  std::string starts = sliceWindow(v.dims, sizes);
  emit("f32", sizes,
       "dynamic-slice(%" + v.name + starts + "), dynamic_slice_sizes={" +
           join(sizes) + "}");
  return true;
}

bool Generator::genDynamicUpdateSlice(const Value &v) {
  if (v.dims.empty())
    return false;
  Dims sizes;
  std::string starts = sliceWindow(v.dims, sizes);
  Value update = findOrCreate("f32", sizes);
  emit("f32", v.dims,
       "dynamic-update-slice(%" + v.name + ", %" + update.name + starts + ")");
  return true;
}

/// Indices s32[K, m] for m indexed operand dims (index_vector_dim=1): a
/// parameter (drawn in range by the simulator) or a constant with some
/// out-of-range entries (clamped by gather, skipped by scatter).
static std::string indexLiteral(Rng &rng, int64_t k, const Dims &bounds) {
  std::string text = "{";
  for (int64_t i = 0; i < k; ++i) {
    text += std::string(i ? ", " : "") + "{";
    for (size_t j = 0; j < bounds.size(); ++j)
      text +=
          std::string(j ? ", " : "") + std::to_string(rng.range(-1, bounds[j]));
    text += "}";
  }
  return text + "}";
}

/// Random indexed dims of `v` (at least one) and K of them, with their
/// index operand; gather and scatter draw them alike.
IndexOperand Generator::genIndices(const Value &v) {
  Dims indexed = someDims(v.dims.size());
  int64_t k = rng.range(1, 6);
  Dims indexDims = {k, static_cast<int64_t>(indexed.size())};
  std::string indices;
  if (rng.chance(50)) {
    indices = newParameter("s32", indexDims).name;
  } else {
    Dims bounds;
    for (int64_t d : indexed)
      bounds.push_back(v.dims[d]);
    indices = emit("s32", indexDims,
                   "constant(" + indexLiteral(rng, k, bounds) + ")", false)
                  .name;
  }
  return {indexed, k, indices};
}

bool Generator::genGather(const Value &v) {
  if (v.dims.empty() || v.dims.size() > 3)
    return false;
  IndexOperand index = genIndices(v);
  const Dims &indexed = index.indexed;
  int64_t k = index.count;
  const std::string &indices = index.name;
  // Indexed dims take slices of size 1 and are collapsed; the others take a
  // random window (full or partial) and become offset dims.
  Dims sliceSizes, collapsed, result = {k}, offsetDims;
  for (size_t i = 0; i < v.dims.size(); ++i) {
    bool isIndexed =
        std::find(indexed.begin(), indexed.end(), (int64_t)i) != indexed.end();
    if (isIndexed) {
      sliceSizes.push_back(1);
      collapsed.push_back(i);
    } else {
      int64_t size = rng.chance(60) ? v.dims[i] : rng.range(1, v.dims[i]);
      sliceSizes.push_back(size);
      offsetDims.push_back(result.size());
      result.push_back(size);
    }
  }
  emit("f32", result,
       "gather(%" + v.name + ", %" + indices + "), offset_dims={" +
           join(offsetDims) + "}, collapsed_slice_dims={" + join(collapsed) +
           "}, start_index_map={" + join(indexed) +
           "}, index_vector_dim=1, slice_sizes={" + join(sliceSizes) + "}");
  return true;
}

bool Generator::genScatter(const Value &v) {
  if (v.dims.empty() || v.dims.size() > 3)
    return false;
  IndexOperand index = genIndices(v);
  const Dims &indexed = index.indexed;
  int64_t k = index.count;
  const std::string &indices = index.name;
  Dims updateDims = {k}, windowDims;
  for (size_t i = 0; i < v.dims.size(); ++i) {
    if (std::find(indexed.begin(), indexed.end(), (int64_t)i) != indexed.end())
      continue;
    windowDims.push_back(updateDims.size());
    updateDims.push_back(rng.chance(60) ? v.dims[i] : rng.range(1, v.dims[i]));
  }
  needReducer("add");
  Value updates = findOrCreate("f32", updateDims);
  emit("f32", v.dims,
       "scatter(%" + v.name + ", %" + indices + ", %" + updates.name +
           "), update_window_dims={" + join(windowDims) +
           "}, inserted_window_dims={" + join(indexed) +
           "}, scatter_dims_to_operand_dims={" + join(indexed) +
           "}, index_vector_dim=1, to_apply=%add_f32");
  return true;
}

bool Generator::genConvolution(const Value &v) {
  // Operand [batch, spatial..., feature] (b0f / b01f), kernel
  // [spatial..., in, out] (0io / 01io).
  if (v.dims.size() != 3 && v.dims.size() != 4)
    return false;
  int64_t spatial = v.dims.size() - 2;
  Dims kernel, out = {v.dims[0]};
  std::string window = "size=", stride = "stride=", pad = "pad=",
              rhsDil = "rhs_dilate=";
  bool dilate = rng.chance(20);
  for (int64_t s = 0; s < spatial; ++s) {
    int64_t in = v.dims[1 + s];
    int64_t size = rng.range(1, std::min<int64_t>(in + 2, 4));
    int64_t st = rng.chance(70) ? 1 : 2;
    int64_t lo = rng.range(0, 2), hi = rng.range(0, 2);
    int64_t dil = dilate ? rng.range(1, 2) : 1;
    int64_t span = (size - 1) * dil + 1;
    if (in + lo + hi < span)
      return false;
    out.push_back((in + lo + hi - span) / st + 1);
    kernel.push_back(size);
    const char *sep = s ? "x" : "";
    window += sep + std::to_string(size);
    stride += sep + std::to_string(st);
    pad += sep + std::to_string(lo) + "_" + std::to_string(hi);
    rhsDil += sep + std::to_string(dil);
  }
  int64_t outFeatures = rng.range(1, 6);
  kernel.push_back(v.dims.back());
  kernel.push_back(outFeatures);
  out.push_back(outFeatures);
  if (numElements(out) > kMaxElements || numElements(kernel) > kMaxElements)
    return false;
  Value k = findOrCreate("f32", kernel);
  std::string labels = spatial == 1 ? "b0f_0io->b0f" : "b01f_01io->b01f";
  emit("f32", out,
       "convolution(%" + v.name + ", %" + k.name + "), window={" + window +
           " " + stride + " " + pad + (dilate ? " " + rhsDil : "") +
           "}, dim_labels=" + labels);
  return true;
}

/// A counted loop: state (s32[] i, x), body x = x * 0.5 + c, i += 1,
/// condition i < trips.
bool Generator::genWhile(const Value &v) {
  int id = whileCount++;
  std::string shape = shapeText(v);
  std::string tupleShape = "(s32[], " + shape + ")";
  std::string suffix = std::to_string(id);
  int64_t trips = rng.range(0, 4);
  std::string b = "%body" + suffix, c = "%cond" + suffix;
  std::string dims = "dimensions={}";
  computations.push_back(
      b + " (state: " + tupleShape + ") -> " + tupleShape + " {\n" +
      "  %state = " + tupleShape + " parameter(0)\n" +
      "  %i = s32[] get-tuple-element(%state), index=0\n" +
      "  %one = s32[] constant(1)\n" + "  %next = s32[] add(%i, %one)\n" +
      "  %x = " + shape + " get-tuple-element(%state), index=1\n" +
      "  %half = f32[] constant(0.5)\n" + "  %halves = " + shape +
      " broadcast(%half), " + dims + "\n" + "  %scaled = " + shape +
      " multiply(%x, %halves)\n" + "  %c = f32[] constant(0.25)\n" +
      "  %cs = " + shape + " broadcast(%c), " + dims + "\n" +
      "  %y = " + shape + " add(%scaled, %cs)\n" +
      "  ROOT %out = " + tupleShape + " tuple(%next, %y)\n}\n");
  computations.push_back(
      c + " (state: " + tupleShape + ") -> pred[] {\n" +
      "  %state = " + tupleShape + " parameter(0)\n" +
      "  %i = s32[] get-tuple-element(%state), index=0\n" +
      "  %n = s32[] constant(" + std::to_string(trips) + ")\n" +
      "  ROOT %lt = pred[] compare(%i, %n), direction=LT\n}\n");
  std::string zero = scalarConstant("s32", 0);
  Value tuple{"v" + std::to_string(counter++), "tuple", {}};
  bodyLines.push_back("  %" + tuple.name + " = " + tupleShape + " tuple(%" +
                      zero + ", %" + v.name + ")");
  Value loop{"v" + std::to_string(counter++), "tuple", {}};
  std::string loopLine = "  %" + loop.name + " = " + tupleShape + " while(%" +
                         tuple.name + "), condition=" + c + ", body=" + b;
  // Sometimes a sharded loop state: the counter replicated, x tiled.
  if (rng.chance(40))
    loopLine += ", sharding={{replicated}, " + randomSharding(v.dims) + "}";
  bodyLines.push_back(loopLine);
  emit("f32", v.dims, "get-tuple-element(%" + loop.name + "), index=1");
  return true;
}

bool Generator::genReduceWindow(const Value &v) {
  if (v.dims.empty())
    return false;
  std::string size = "size=", stride = "stride=", pad = "pad=";
  Dims dims;
  for (size_t i = 0; i < v.dims.size(); ++i) {
    int64_t n = v.dims[i];
    int64_t w = rng.range(1, std::min<int64_t>(n, 3));
    int64_t st = rng.chance(60) ? 1 : 2;
    int64_t lo = rng.range(0, 1), hi = rng.range(0, 1);
    dims.push_back((n + lo + hi - w) / st + 1);
    const char *sep = i ? "x" : "";
    size += sep + std::to_string(w);
    stride += sep + std::to_string(st);
    pad += sep + std::to_string(lo) + "_" + std::to_string(hi);
  }
  bool isAdd = rng.chance(50);
  needReducer(isAdd ? "add" : "max");
  std::string init = isAdd ? scalarConstant("f32", 0)
                           : emit("f32", {}, "constant(-inf)", false).name;
  emit("f32", dims,
       "reduce-window(%" + v.name + ", %" + init + "), window={" + size + " " +
           stride + " " + pad + "}, to_apply=%" +
           (isAdd ? "add_f32" : "max_f32"));
  return true;
}

/// A stable ascending sort along one dim.
bool Generator::genSort(const Value &v) {
  if (v.dims.empty())
    return false;
  if (!haveLess) {
    haveLess = true;
    computations.push_back("%less_f32 (a: f32[], b: f32[]) -> pred[] {\n"
                           "  %a = f32[] parameter(0)\n"
                           "  %b = f32[] parameter(1)\n"
                           "  ROOT %lt = pred[] compare(%a, %b), "
                           "direction=LT\n}\n");
  }
  emit("f32", v.dims,
       "sort(%" + v.name + "), dimensions={" +
           std::to_string(rng.range(0, v.dims.size() - 1)) +
           "}, is_stable=true, to_apply=%less_f32");
  return true;
}

/// A round trip through bf16 (rounding) or s32 (truncation of 8x).
bool Generator::genConvert(const Value &v) {
  std::string narrow;
  if (rng.chance(50)) {
    narrow = emit("bf16", v.dims, "convert(%" + v.name + ")").name;
  } else {
    std::string eight = scalarConstant("f32", 8);
    std::string eights =
        emit("f32", v.dims, "broadcast(%" + eight + "), dimensions={}", false)
            .name;
    std::string scaled =
        emit("f32", v.dims, "multiply(%" + v.name + ", %" + eights + ")").name;
    narrow = emit("s32", v.dims, "convert(%" + scaled + ")").name;
  }
  emit("f32", v.dims, "convert(%" + narrow + ")");
  return true;
}

/// A sharding constraint as JAX emits it: custom-call "Sharding".
bool Generator::genShardingConstraint(const Value &v) {
  Value out{"v" + std::to_string(counter++), "f32", v.dims};
  bodyLines.push_back(
      "  %" + out.name + " = " + shapeText(out) + " custom-call(%" + v.name +
      "), custom_call_target=\"Sharding\", sharding=" + randomSharding(v.dims));
  values.push_back(out);
  return true;
}

bool Generator::genIota() {
  Dims dims = randomDims(1, 3);
  emit("f32", dims,
       "iota(), iota_dimension=" +
           std::to_string(rng.range(0, dims.size() - 1)));
  return true;
}

bool Generator::genConstant() {
  Dims dims = randomDims(1, 2);
  if (numElements(dims) > 64)
    return false;
  // Nested braces in row-major order.
  std::function<std::string(size_t)> literal = [&](size_t d) -> std::string {
    std::string out = "{";
    for (int64_t i = 0; i < dims[d]; ++i) {
      if (i)
        out += ", ";
      if (d + 1 == dims.size()) {
        std::ostringstream os;
        os << rng.range(-8, 8) * 0.25;
        out += os.str();
      } else {
        out += literal(d + 1);
      }
    }
    return out + "}";
  };
  emit("f32", dims, "constant(" + literal(0) + ")");
  return true;
}

} // namespace gshard::randomhlo
