//===- RandomHlo.h - gshard-random-hlo's PRNG, values and generator -------===//
//
// Shared by RandomHlo.cpp (shapes, shardings, values, the module) and
// RandomHloOps.cpp (one generator per op).
//
//===----------------------------------------------------------------------===//

#ifndef GSHARD_TEST_FUZZ_RANDOMHLO_H
#define GSHARD_TEST_FUZZ_RANDOMHLO_H

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace gshard::randomhlo {

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

inline int64_t numElements(const Dims &dims) {
  int64_t n = 1;
  for (int64_t d : dims)
    n *= d;
  return n;
}

inline std::string join(const Dims &values, const char *sep = ",") {
  std::string out;
  for (size_t i = 0; i < values.size(); ++i) {
    if (i)
      out += sep;
    out += std::to_string(values[i]);
  }
  return out;
}

/// `f32[4,6]{1,0}`: XLA prints the default (descending) layout.
inline std::string shapeText(const std::string &type, const Dims &dims) {
  std::string out = type + "[" + join(dims) + "]";
  if (!dims.empty()) {
    Dims layout;
    for (int64_t i = static_cast<int64_t>(dims.size()) - 1; i >= 0; --i)
      layout.push_back(i);
    out += "{" + join(layout) + "}";
  }
  return out;
}

inline std::string shapeText(const Value &v) {
  return shapeText(v.type, v.dims);
}

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
  Dims someDims(size_t rank);
  std::string sliceWindow(const Dims &dims, Dims &sizes);

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

} // namespace gshard::randomhlo

#endif // GSHARD_TEST_FUZZ_RANDOMHLO_H
