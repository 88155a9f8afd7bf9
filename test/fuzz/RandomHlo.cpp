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
// This file: the mesh, shardings, values and the module around them; the op
// generators are in RandomHloOps.cpp.
//
//===----------------------------------------------------------------------===//

#include "RandomHlo.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

namespace gshard::randomhlo {

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

} // namespace gshard::randomhlo

namespace {

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
  using gshard::randomhlo::Generator;
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
