//===- RandomHlo.cpp - seeded generator of random, well-typed HLO modules -===//
//
// gshard-random-hlo --seed=S [--count=K] [--out-dir=DIR]
//
// Writes well-typed random HLO text modules (as XLA prints them) built from
// the ops the partitioner handles: elementwise chains, broadcast, reshape,
// transpose, dot with random dimension numbers, reduce, slice, pad,
// concatenate, reverse, dynamic-slice, dynamic-update-slice, gather, scatter,
// convolution, while loops, iota and constants, on random shapes including
// uneven and size-1 dims. Some tensors get random valid shardings on a 1-, 2-
// or 3-D mesh of N devices: tiled (iota or explicit device lists), partially
// replicated, replicated or maximal. The header carries num_partitions=N.
//
// The output depends only on the seed (own PRNG and own range reduction, no
// std::*_distribution, whose results differ between standard libraries), so
// a failing seed reproduces anywhere. With --count=K, seeds S..S+K-1 are
// written to DIR/rand-<seed>.hlo; otherwise the module goes to stdout.
//
//===----------------------------------------------------------------------===//

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

namespace {

/// splitmix64: tiny, fast, and the same sequence on every platform.
class Rng {
public:
  // The seed is hashed: seed k's stream must not be seed 0's shifted by k
  // steps (with state = seed, neighbouring seeds gave the same programs).
  explicit Rng(uint64_t seed) : state(mix(seed ^ 0x5DEECE66DULL)) {}
  uint64_t next() { return mix(state += 0x9E3779B97F4A7C15ULL); }
  /// Uniform in [lo, hi] (inclusive); the modulo bias is irrelevant here.
  int64_t range(int64_t lo, int64_t hi) {
    return lo +
           static_cast<int64_t>(next() % static_cast<uint64_t>(hi - lo + 1));
  }
  bool chance(int percent) { return range(0, 99) < percent; }
  template <typename T> const T &pick(const std::vector<T> &items) {
    return items[range(0, static_cast<int64_t>(items.size()) - 1)];
  }
  template <typename T> void shuffle(std::vector<T> &items) {
    for (size_t i = items.size(); i > 1; --i)
      std::swap(items[i - 1], items[range(0, static_cast<int64_t>(i) - 1)]);
  }

private:
  static uint64_t mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  uint64_t state;
};

using Dims = std::vector<int64_t>;

struct Value {
  std::string name;
  std::string type; // element type: f32, s32, pred
  Dims dims;
};

int64_t numElements(const Dims &dims) {
  int64_t n = 1;
  for (int64_t d : dims)
    n *= d;
  return n;
}

std::string join(const Dims &values, const char *sep = ",") {
  std::string out;
  for (size_t i = 0; i < values.size(); ++i) {
    if (i)
      out += sep;
    out += std::to_string(values[i]);
  }
  return out;
}

/// `f32[4,6]{1,0}`: XLA prints the default (descending) layout.
std::string shapeText(const std::string &type, const Dims &dims) {
  std::string out = type + "[" + join(dims) + "]";
  if (!dims.empty()) {
    Dims layout;
    for (int64_t i = static_cast<int64_t>(dims.size()) - 1; i >= 0; --i)
      layout.push_back(i);
    out += "{" + join(layout) + "}";
  }
  return out;
}

std::string shapeText(const Value &v) { return shapeText(v.type, v.dims); }

/// The s32[K, m] index operand of a gather or scatter and the m operand dims
/// it indexes.
struct IndexOperand {
  Dims indexed;
  int64_t count; // K
  std::string name;
};

/// Largest tensor the generator creates: keeps the simulator fast.
constexpr int64_t kMaxElements = 2048;

class Generator {
public:
  explicit Generator(uint64_t seed) : seed(seed), rng(seed) {}
  std::string run();

private:
  // Devices and shardings.
  void chooseMesh();
  std::string randomSharding(const Dims &dims);
  std::string tiledSharding(const Dims &dims);

  // Values.
  int64_t randomDim();
  Dims randomDims(int minRank, int maxRank);
  Value newParameter(const std::string &type, const Dims &dims);
  Value findOrCreate(const std::string &type, const Dims &dims);
  Value emit(const std::string &type, const Dims &dims, const std::string &rhs,
             bool mayShard = true);
  std::string scalarConstant(const std::string &type, double value);
  std::string indexScalar(int64_t bound);
  const Value &pickFloat();
  IndexOperand genIndices(const Value &v);

  // Op generators; each returns false when it does not apply to the operand.
  bool genUnary(const Value &v);
  bool genBinary(const Value &v);
  bool genSelect(const Value &v);
  bool genBroadcast(const Value &v);
  bool genReshape(const Value &v);
  bool genTranspose(const Value &v);
  bool genDot(const Value &v);
  bool genReduce(const Value &v);
  bool genSlice(const Value &v);
  bool genPad(const Value &v);
  bool genConcatenate(const Value &v);
  bool genReverse(const Value &v);
  bool genDynamicSlice(const Value &v);
  bool genDynamicUpdateSlice(const Value &v);
  bool genGather(const Value &v);
  bool genScatter(const Value &v);
  bool genConvolution(const Value &v);
  bool genWhile(const Value &v);
  bool genReduceWindow(const Value &v);
  bool genSort(const Value &v);
  bool genConvert(const Value &v);
  bool genShardingConstraint(const Value &v);
  bool genIota();
  bool genConstant();

  void needReducer(const std::string &kind);

  uint64_t seed;
  Rng rng;
  int64_t numDevices = 1;
  Dims mesh;
  std::vector<std::string> paramLines, bodyLines, computations;
  std::vector<Value> params, values;
  bool haveAdd = false, haveMax = false, haveLess = false;
  int counter = 0, whileCount = 0;
};

void Generator::chooseMesh() {
  // 1- to 4-D meshes of 2..16 devices.
  static const std::vector<Dims> meshes = {
      {2},    {3},    {4},       {8},       {2, 2},      {2, 4},
      {4, 2}, {2, 3}, {2, 2, 2}, {3, 2},    {16},        {4, 4},
      {2, 8}, {5},    {2, 2, 4}, {3, 2, 2}, {2, 2, 2, 2}};
  mesh = rng.pick(meshes);
  numDevices = numElements(mesh);
}

std::string Generator::randomSharding(const Dims &dims) {
  int roll = rng.range(0, 99);
  if (dims.empty() || roll < 10)
    return "{replicated}";
  if (roll < 16)
    return "{maximal device=" + std::to_string(rng.range(0, numDevices - 1)) +
           "}";
  return tiledSharding(dims);
}

/// Each mesh axis goes to one tensor dim or to the replicated last tile dim;
/// the device order is the mesh iota transposed accordingly (iota form), or
/// a random explicit device list.
std::string Generator::tiledSharding(const Dims &dims) {
  int64_t rank = static_cast<int64_t>(dims.size());
  std::vector<int64_t> target(mesh.size());
  for (auto &t : target)
    t = rng.chance(25) ? rank : rng.range(0, rank - 1);
  Dims tiles(rank + 1, 1);
  for (size_t a = 0; a < mesh.size(); ++a)
    tiles[target[a]] *= mesh[a];
  bool replicateLast = tiles[rank] > 1;
  if (!replicateLast)
    tiles.pop_back();
  std::string devices;
  if (rng.chance(20)) {
    Dims ids(numDevices);
    std::iota(ids.begin(), ids.end(), 0);
    rng.shuffle(ids);
    devices = join(ids);
  } else {
    // Stable order of mesh axes by target dim gives the transpose.
    Dims perm(mesh.size());
    std::iota(perm.begin(), perm.end(), 0);
    std::stable_sort(perm.begin(), perm.end(), [&](int64_t a, int64_t b) {
      return target[a] < target[b];
    });
    bool identity = true;
    for (size_t i = 0; i < perm.size(); ++i)
      identity &= perm[i] == static_cast<int64_t>(i);
    devices = "<=[" + (identity ? std::to_string(numDevices) : join(mesh)) +
              "]" + (identity ? "" : "T(" + join(perm) + ")");
  }
  return "{devices=[" + join(tiles) + "]" + devices +
         (replicateLast ? " last_tile_dim_replicate}" : "}");
}

int64_t Generator::randomDim() {
  int roll = rng.range(0, 99);
  if (roll < 12)
    return 1;
  if (roll < 80)
    return rng.range(2, 8);
  return rng.range(9, 16);
}

Dims Generator::randomDims(int minRank, int maxRank) {
  for (;;) {
    Dims dims(rng.range(minRank, maxRank));
    for (auto &d : dims)
      d = randomDim();
    if (numElements(dims) <= kMaxElements / 2)
      return dims;
  }
}

Value Generator::newParameter(const std::string &type, const Dims &dims) {
  Value v{"p" + std::to_string(params.size()), type, dims};
  std::string line = "  %" + v.name + " = " + shapeText(v) + " parameter(" +
                     std::to_string(params.size()) + ")";
  if (rng.chance(70))
    line += ", sharding=" + randomSharding(dims);
  paramLines.push_back(line);
  params.push_back(v);
  if (type == "f32")
    values.push_back(v);
  return v;
}

/// An existing value of this shape (reuse makes DAGs, not only trees), or a
/// new parameter.
Value Generator::findOrCreate(const std::string &type, const Dims &dims) {
  std::vector<Value> matches;
  for (const Value &v : values)
    if (v.type == type && v.dims == dims)
      matches.push_back(v);
  if (!matches.empty() && rng.chance(60))
    return rng.pick(matches);
  return newParameter(type, dims);
}

Value Generator::emit(const std::string &type, const Dims &dims,
                      const std::string &rhs, bool mayShard) {
  Value v{"v" + std::to_string(counter++), type, dims};
  std::string line = "  %" + v.name + " = " + shapeText(v) + " " + rhs;
  if (mayShard && rng.chance(35))
    line += ", sharding=" + randomSharding(dims);
  bodyLines.push_back(line);
  if (type == "f32")
    values.push_back(v);
  return v;
}

std::string Generator::scalarConstant(const std::string &type, double value) {
  std::ostringstream os;
  if (type == "s32")
    os << static_cast<int64_t>(value);
  else
    os << value;
  return emit(type, {}, "constant(" + os.str() + ")", false).name;
}

/// A start index for dynamic-slice: a constant (sometimes out of range, to
/// exercise clamping) or an s32[] parameter (the simulator draws it in range).
std::string Generator::indexScalar(int64_t bound) {
  if (rng.chance(40))
    return newParameter("s32", {}).name;
  return scalarConstant("s32", static_cast<double>(rng.range(-1, bound + 1)));
}

const Value &Generator::pickFloat() {
  // Prefer recent values: longer chains.
  size_t n = values.size();
  if (n > 3 && rng.chance(60))
    return values[rng.range(static_cast<int64_t>(n) - 3,
                            static_cast<int64_t>(n) - 1)];
  return values[rng.range(0, static_cast<int64_t>(n) - 1)];
}

void Generator::needReducer(const std::string &kind) {
  bool &have = kind == "add" ? haveAdd : haveMax;
  if (have)
    return;
  have = true;
  std::string op = kind == "add" ? "add" : "maximum";
  computations.push_back("%" + kind +
                         "_f32 (a: f32[], b: f32[]) -> f32[] {\n"
                         "  %a = f32[] parameter(0)\n"
                         "  %b = f32[] parameter(1)\n"
                         "  ROOT %r = f32[] " +
                         op + "(%a, %b)\n}\n");
}

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

bool Generator::genReverse(const Value &v) {
  if (v.dims.empty())
    return false;
  Dims reversed;
  for (size_t i = 0; i < v.dims.size(); ++i)
    if (rng.chance(50))
      reversed.push_back(i);
  if (reversed.empty())
    reversed.push_back(rng.range(0, v.dims.size() - 1));
  emit("f32", v.dims,
       "reverse(%" + v.name + "), dimensions={" + join(reversed) + "}");
  return true;
}

bool Generator::genDynamicSlice(const Value &v) {
  if (v.dims.empty())
    return false;
  Dims sizes;
  std::string starts;
  for (int64_t n : v.dims) {
    sizes.push_back(rng.chance(40) ? n : rng.range(1, n));
    starts += ", %" + indexScalar(n);
  }
  emit("f32", sizes,
       "dynamic-slice(%" + v.name + starts + "), dynamic_slice_sizes={" +
           join(sizes) + "}");
  return true;
}

bool Generator::genDynamicUpdateSlice(const Value &v) {
  if (v.dims.empty())
    return false;
  Dims sizes;
  std::string starts;
  for (int64_t n : v.dims) {
    sizes.push_back(rng.chance(40) ? n : rng.range(1, n));
    starts += ", %" + indexScalar(n);
  }
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
  Dims indexed;
  for (size_t i = 0; i < v.dims.size(); ++i)
    if (rng.chance(50))
      indexed.push_back(i);
  if (indexed.empty())
    indexed.push_back(rng.range(0, v.dims.size() - 1));
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

std::string Generator::run() {
  chooseMesh();
  newParameter("f32", randomDims(1, 4));
  if (rng.chance(40))
    newParameter("f32", randomDims(0, 3));

  using Op = bool (Generator::*)(const Value &);
  struct Weighted {
    Op op;
    int weight;
  };
  static const std::vector<Weighted> ops = {
      {&Generator::genUnary, 8},        {&Generator::genBinary, 12},
      {&Generator::genSelect, 3},       {&Generator::genBroadcast, 6},
      {&Generator::genReshape, 6},      {&Generator::genTranspose, 6},
      {&Generator::genDot, 10},         {&Generator::genReduce, 6},
      {&Generator::genSlice, 5},        {&Generator::genPad, 4},
      {&Generator::genConcatenate, 4},  {&Generator::genReverse, 3},
      {&Generator::genDynamicSlice, 3}, {&Generator::genDynamicUpdateSlice, 3},
      {&Generator::genGather, 3},       {&Generator::genScatter, 3},
      {&Generator::genConvolution, 3},  {&Generator::genWhile, 2},
      {&Generator::genReduceWindow, 3}, {&Generator::genSort, 2},
      {&Generator::genConvert, 2},      {&Generator::genShardingConstraint, 4},
  };
  int total = 0;
  for (const auto &w : ops)
    total += w.weight;

  int64_t steps = rng.range(2, 10);
  for (int64_t step = 0; step < steps; ++step) {
    if (rng.chance(4)) {
      rng.chance(50) ? genIota() : genConstant();
      continue;
    }
    // A few tries: some ops do not apply to every operand.
    for (int attempt = 0; attempt < 8; ++attempt) {
      Value operand = pickFloat();
      int roll = rng.range(0, total - 1);
      Op op = ops.back().op;
      for (const auto &w : ops) {
        if (roll < w.weight) {
          op = w.op;
          break;
        }
        roll -= w.weight;
      }
      if ((this->*op)(operand))
        break;
    }
  }

  // ROOT: every f32 value nothing else uses (so no computed value goes
  // unchecked), at most 6 of them, the newest first; one value is returned
  // as is, several as a tuple.
  auto isUsed = [&](const Value &v) {
    std::string ref = "%" + v.name;
    for (const std::string &line : bodyLines) {
      for (size_t at = line.find(ref); at != std::string::npos;
           at = line.find(ref, at + 1)) {
        char next = at + ref.size() < line.size() ? line[at + ref.size()] : 0;
        // `%v1 = ...` defines; `%v1,` or `%v1)` uses.
        if (next == ',' || next == ')')
          return true;
      }
    }
    return false;
  };
  std::vector<Value> outputs;
  for (auto it = values.rbegin(); it != values.rend() && outputs.size() < 6;
       ++it)
    if (it == values.rbegin() || !isUsed(*it))
      outputs.push_back(*it);
  std::string rootShape, root;
  if (outputs.size() == 1) {
    rootShape = shapeText(outputs[0]);
    root = "  ROOT %root = " + rootShape + " copy(%" + outputs[0].name + ")";
    if (rng.chance(30))
      root += ", sharding=" + randomSharding(outputs[0].dims);
  } else {
    std::string operands, sharding;
    for (size_t i = 0; i < outputs.size(); ++i) {
      rootShape += (i ? ", " : "(") + shapeText(outputs[i]);
      operands += (i ? ", %" : "%") + outputs[i].name;
      sharding += (i ? ", " : "{") + randomSharding(outputs[i].dims);
    }
    rootShape += ")";
    root = "  ROOT %root = " + rootShape + " tuple(" + operands + ")";
    if (rng.chance(30))
      root += ", sharding=" + sharding + "}";
  }

  std::ostringstream os;
  os << "HloModule rand_" << seed << ", num_partitions=" << numDevices
     << "\n\n";
  for (const auto &c : computations)
    os << c << "\n";
  os << "ENTRY %main (";
  for (size_t i = 0; i < params.size(); ++i)
    os << (i ? ", " : "") << params[i].name << ": " << params[i].type << "["
       << join(params[i].dims) << "]";
  os << ") -> " << rootShape << " {\n";
  for (const auto &line : paramLines)
    os << line << "\n";
  for (const auto &line : bodyLines)
    os << line << "\n";
  os << root << "\n}\n";
  return os.str();
}

[[noreturn]] void usage(const char *message) {
  fprintf(stderr,
          "error: %s\nusage: gshard-random-hlo --seed=S [--count=K "
          "--out-dir=DIR]\n",
          message);
  exit(2);
}

bool parseUnsigned(const char *text, uint64_t &out) {
  char *end = nullptr;
  errno = 0;
  out = strtoull(text, &end, 10);
  return *text && !*end && errno == 0 && text[0] != '-';
}

} // namespace

int main(int argc, char **argv) {
  uint64_t seed = 0, count = 0;
  bool haveSeed = false;
  std::string outDir;
  for (int i = 1; i < argc; ++i) {
    const char *arg = argv[i];
    if (!strncmp(arg, "--seed=", 7)) {
      if (!parseUnsigned(arg + 7, seed))
        usage("--seed wants an unsigned integer");
      haveSeed = true;
    } else if (!strncmp(arg, "--count=", 8)) {
      if (!parseUnsigned(arg + 8, count) || count == 0)
        usage("--count wants a positive integer");
    } else if (!strncmp(arg, "--out-dir=", 10)) {
      outDir = arg + 10;
    } else {
      usage((std::string("unknown argument '") + arg + "'").c_str());
    }
  }
  if (!haveSeed)
    usage("--seed is required");
  if (count && outDir.empty())
    usage("--count needs --out-dir");
  if (!count) {
    std::cout << Generator(seed).run();
    return 0;
  }
  for (uint64_t s = seed; s < seed + count; ++s) {
    std::string path = outDir + "/rand-" + std::to_string(s) + ".hlo";
    std::ofstream out(path);
    out << Generator(s).run();
    if (!out) {
      fprintf(stderr, "error: cannot write %s\n", path.c_str());
      return 2;
    }
  }
  return 0;
}
