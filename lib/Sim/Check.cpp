//===- Check.cpp - Differential checking of partitioned programs ----------===//
//
// Part of gshard, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#include "gshard/Sim/Check.h"

#include "gshard/Sharding/Sharding.h"
#include "gshard/Sim/Sharding.h"

#include "Exec.h"

#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <cstring>

using namespace mlir;
using namespace gshard;
using namespace gshard::sim;

Tolerance gshard::sim::getDefaultTolerance(ElemKind kind) {
  switch (kind) {
  case ElemKind::F64:
  case ElemKind::C128:
    return {1e-12, 1e-12};
  case ElemKind::F32:
  case ElemKind::C64:
    return {1e-5, 1e-5};
  case ElemKind::F16:
    return {2e-3, 1e-3};
  case ElemKind::BF16:
    return {1e-2, 1e-2};
  case ElemKind::OtherFloat:
    return {0.25, 0.1};
  default:
    return {0, 0};
  }
}

//===----------------------------------------------------------------------===//
// Input generation
//===----------------------------------------------------------------------===//

static uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

namespace {
struct Random {
  uint64_t state;
  explicit Random(uint64_t seed) : state(mix(seed)) {}
  uint64_t next() { return mix(state++); }
  double uniform() { return (next() >> 11) * (1.0 / 9007199254740992.0); }
  int64_t range(int64_t lo, int64_t hi) {
    return hi <= lo ? lo : lo + static_cast<int64_t>(next() % (hi - lo));
  }
};
} // namespace

static void fillRandom(Literal &lit, Random &rng, double floatScale,
                       int64_t intLo, int64_t intHi) {
  ElemKind kind = lit.getKind();
  int64_t n = lit.getNumElements();
  // The common float types store directly (same values as setFloat): inputs
  // of model-sized programs are 10^8-10^9 elements.
  if (kind == ElemKind::F32) {
    float *p = reinterpret_cast<float *>(lit.data());
    for (int64_t i = 0; i < n; ++i)
      p[i] = static_cast<float>((2 * rng.uniform() - 1) * floatScale);
    return;
  }
  if (kind == ElemKind::BF16) {
    uint16_t *p = reinterpret_cast<uint16_t *>(lit.data());
    for (int64_t i = 0; i < n; ++i)
      p[i] = doubleToBF16((2 * rng.uniform() - 1) * floatScale);
    return;
  }
  for (int64_t i = 0; i < n; ++i) {
    if (kind == ElemKind::Pred)
      lit.setInt(i, rng.next() & 1);
    else if (isSignedIntKind(kind))
      lit.setInt(i, rng.range(intLo, intHi));
    else if (isUnsignedIntKind(kind))
      lit.setInt(i, rng.range(std::max<int64_t>(intLo, 0), intHi));
    else if (isComplexKind(kind))
      lit.setComplex(i, {(2 * rng.uniform() - 1) * floatScale,
                         (2 * rng.uniform() - 1) * floatScale});
    else
      lit.setFloat(i, (2 * rng.uniform() - 1) * floatScale);
  }
}

/// Upper bound (exclusive) for a value used as an index, found by following
/// `value` through shape-preserving ops to gather/scatter/dynamic-slice
/// indices; 0 if it is not used as an index.
static int64_t findIndexBound(Value value, int depth = 0) {
  if (depth > 8)
    return 0;
  int64_t bound = 0;
  auto tighten = [&](int64_t b) {
    if (b > 0)
      bound = bound ? std::min(bound, b) : b;
  };
  for (OpOperand &use : value.getUses()) {
    Operation *user = use.getOwner();
    unsigned n = use.getOperandNumber();
    if (isa<hlo::ConvertOp, hlo::ReshapeOp, hlo::BroadcastOp, hlo::CopyOp,
            hlo::BitcastOp, hlo::TransposeOp, hlo::SliceOp, hlo::ConcatenateOp>(
            user)) {
      tighten(findIndexBound(user->getResult(0), depth + 1));
      continue;
    }
    auto dimOf = [&](Value v, int64_t d) -> int64_t {
      auto type = dyn_cast<RankedTensorType>(v.getType());
      return type && d >= 0 && d < type.getRank() ? type.getDimSize(d) : 0;
    };
    if (auto gather = dyn_cast<hlo::GatherOp>(user)) {
      if (n == 1)
        for (int64_t d : gather.getStartIndexMap())
          tighten(dimOf(gather.getOperand(), d) - gather.getSliceSizes()[d] +
                  1);
    } else if (auto scatter = dyn_cast<hlo::ScatterOp>(user)) {
      size_t numInputs = (scatter->getNumOperands() - 1) / 2;
      if (n == numInputs)
        for (int64_t d : scatter.getScatterDimsToOperandDims())
          tighten(dimOf(scatter->getOperand(0), d));
    } else if (auto ds = dyn_cast<hlo::DynamicSliceOp>(user)) {
      if (n >= 1)
        tighten(dimOf(ds.getOperand(), n - 1) -
                ds.getDynamicSliceSizes()[n - 1] + 1);
    } else if (auto dus = dyn_cast<hlo::DynamicUpdateSliceOp>(user)) {
      if (n >= 2)
        tighten(dimOf(dus.getOperand(), n - 2) - dimOf(dus.getUpdate(), n - 2) +
                1);
    }
  }
  return bound;
}

static LiteralRef randomValue(Type type, Random &rng, int64_t indexBound) {
  if (auto tuple = dyn_cast<TupleType>(type)) {
    std::vector<LiteralRef> elements;
    for (Type t : tuple.getTypes())
      elements.push_back(randomValue(t, rng, 0));
    return Literal::makeTuple(elements);
  }
  LiteralRef lit = Literal::makeZero(type);
  if (!lit || !lit->isArray())
    return lit;
  if (indexBound > 0)
    fillRandom(*lit, rng, 1.0, 0, indexBound);
  else
    fillRandom(*lit, rng, 1.0, -10, 10);
  return lit;
}

LiteralRef gshard::sim::drawRandomValue(Type type, uint64_t seed) {
  Random rng(seed);
  return randomValue(type, rng, 0);
}

LiteralRef gshard::sim::generateInput(hlo::ParameterOp param, uint64_t seed,
                                      int64_t device) {
  // Device 0 draws the stream generateInputs always drew.
  Random rng(seed * 1000003 + param.getParameterNumber() +
             static_cast<uint64_t>(device) * 0x9e3779b97f4a7c15ULL);
  int64_t bound = findIndexBound(param.getResult());
  return randomValue(param.getResult().getType(), rng, bound);
}

std::vector<LiteralRef> gshard::sim::generateInputs(hlo::ComputationOp entry,
                                                    uint64_t seed) {
  std::vector<LiteralRef> inputs;
  for (hlo::ParameterOp param : hlo::getParameters(entry))
    inputs.push_back(param ? generateInput(param, seed) : nullptr);
  return inputs;
}

//===----------------------------------------------------------------------===//
// Sharding inputs and outputs
//===----------------------------------------------------------------------===//

LiteralRef gshard::sim::shardValue(const LiteralRef &global,
                                   hlo::ShardingAttr sharding, Type localType,
                                   int64_t partition, uint64_t garbageSeed,
                                   std::string &error) {
  if (global->isTuple()) {
    auto tuple = dyn_cast<TupleType>(localType);
    if (!tuple || tuple.size() != global->getNumTupleElements()) {
      error = "tuple parameter does not match its partitioned form";
      return nullptr;
    }
    std::vector<LiteralRef> elements;
    for (size_t i = 0; i < tuple.size(); ++i) {
      hlo::ShardingAttr element = sharding;
      if (sharding && sharding.isTuple())
        element = getTupleElementSharding(sharding, tuple, i);
      LiteralRef part =
          shardValue(global->getElements()[i], element, tuple.getType(i),
                     partition, garbageSeed * 31 + i, error);
      if (!part)
        return nullptr;
      elements.push_back(part);
    }
    return Literal::makeTuple(elements);
  }
  if (global->isToken())
    return global;
  auto local = dyn_cast<RankedTensorType>(localType);
  if (!local || local.getElementType() != global->getElementType() ||
      local.getRank() != global->getRank()) {
    error = "partitioned parameter has a different element type or rank";
    return nullptr;
  }
  if (sharding && sharding.isTuple())
    sharding = sharding.getTupleElements().empty()
                   ? nullptr
                   : sharding.getTupleElements()[0];
  bool tiled = sharding && sharding.isTiled();
  if (!tiled) {
    if (!global->matchesType(local)) {
      error = "parameter is not tiled but its partitioned shape differs";
      return nullptr;
    }
    return global;
  }
  int64_t rank = global->getRank();
  TileBoxes boxes(sharding, global->getShape());
  if (!boxes.isValid()) {
    error = boxes.getError();
    return nullptr;
  }
  llvm::SmallVector<int64_t> start, size;
  if (!boxes.getBox(partition, start, size)) {
    error = "device " + std::to_string(partition) +
            " holds no tile of the parameter's sharding";
    return nullptr;
  }
  for (int64_t d = 0; d < rank; ++d) {
    int64_t shard = boxes.getTileShape()[d];
    if (local.getDimSize(d) != shard) {
      std::string text;
      llvm::raw_string_ostream os(text);
      os << "partitioned parameter dimension " << d << " is "
         << local.getDimSize(d) << " but its sharding gives shards of " << shard
         << " (global " << global->getShape()[d] << " over "
         << boxes.getTileCounts()[d] << " tiles)";
      error = os.str();
      return nullptr;
    }
  }
  LiteralRef out = Literal::makeArray(local);
  // Garbage everywhere first (so padding is never zeros), then the data.
  Random rng(garbageSeed * 7919 + partition);
  fillRandom(*out, rng, 100.0, -100, 100);
  llvm::SmallVector<int64_t> zero(rank, 0);
  copyBox(*global, start, *out, zero, size);
  return out;
}

/// unshardValue for the output at `path` ("" for the root, "1.0" for
/// element 0 of tuple element 1), which error messages name.
static LiteralRef unshardAt(ArrayRef<LiteralRef> perPartition,
                            hlo::ShardingAttr sharding, Type globalType,
                            const std::string &path, std::string &error,
                            std::vector<std::string> *manualPaths) {
  if (auto tuple = dyn_cast<TupleType>(globalType)) {
    std::vector<LiteralRef> elements;
    for (size_t i = 0; i < tuple.size(); ++i) {
      std::vector<LiteralRef> parts;
      for (const LiteralRef &p : perPartition) {
        if (!p->isTuple() || p->getNumTupleElements() != tuple.size()) {
          error = "a device's output is not a tuple of the original's arity";
          return nullptr;
        }
        parts.push_back(p->getElements()[i]);
      }
      hlo::ShardingAttr element = sharding;
      if (sharding && sharding.isTuple())
        element = getTupleElementSharding(sharding, tuple, i);
      LiteralRef value = unshardAt(
          parts, element, tuple.getType(i),
          path.empty() ? std::to_string(i) : path + "." + std::to_string(i),
          error, manualPaths);
      if (!value)
        return nullptr;
      elements.push_back(value);
    }
    return Literal::makeTuple(elements);
  }
  if (isa<hlo::TokenType>(globalType))
    return Literal::makeToken();
  auto type = cast<RankedTensorType>(globalType);
  if (sharding && sharding.isTuple())
    sharding = sharding.getTupleElements().empty()
                   ? nullptr
                   : sharding.getTupleElements()[0];
  if (sharding && manualPaths &&
      (sharding.isManual() ||
       (sharding.isTiled() && isManualSubgroup(sharding)))) {
    manualPaths->push_back(path.empty() ? std::string("0") : path);
    return perPartition[0];
  }
  if (sharding && sharding.isManual()) {
    std::string shape;
    llvm::raw_string_ostream os(shape);
    printHloShape(os, globalType);
    error = "output " + (path.empty() ? std::string("0") : path) + " (" +
            os.str() +
            ") has a manual sharding: each device holds its own value, which "
            "the simulator does not reassemble or compare";
    return nullptr;
  }
  if (sharding && sharding.isMaximal()) {
    int64_t device = sharding.getDevices()[0];
    if (device >= static_cast<int64_t>(perPartition.size())) {
      error = "maximal sharding names a device beyond the run";
      return nullptr;
    }
    return perPartition[device];
  }
  if (!sharding || !sharding.isTiled())
    return perPartition[0];
  LiteralRef out = Literal::makeArray(type);
  int64_t rank = type.getRank();
  TileBoxes boxes(sharding, type.getShape());
  if (!boxes.isValid()) {
    error = "the output's sharding does not fit it: " + boxes.getError();
    return nullptr;
  }
  llvm::SmallVector<int64_t> start, size;
  for (size_t p = 0; p < perPartition.size(); ++p) {
    if (!perPartition[p] || !boxes.getBox(p, start, size))
      continue;
    const Literal &local = *perPartition[p];
    if (!local.isArray() || local.getRank() != rank ||
        local.getElementType() != type.getElementType()) {
      error = "device " + std::to_string(p) +
              "'s output does not match the original's rank/type";
      return nullptr;
    }
    if (local.getShape() != boxes.getTileShape()) {
      error = "device " + std::to_string(p) +
              "'s output shape is not the sharding's tile shape";
      return nullptr;
    }
    llvm::SmallVector<int64_t> zero(rank, 0);
    copyBox(local, zero, *out, start, size);
  }
  return out;
}

LiteralRef gshard::sim::unshardValue(ArrayRef<LiteralRef> perPartition,
                                     hlo::ShardingAttr sharding,
                                     Type globalType, std::string &error,
                                     std::vector<std::string> *manualPaths) {
  return unshardAt(perPartition, sharding, globalType, "", error, manualPaths);
}

//===----------------------------------------------------------------------===//
// Comparison
//===----------------------------------------------------------------------===//

static void compareLeaf(const Literal &expected, const Literal &actual,
                        std::optional<double> rtol, std::optional<double> atol,
                        bool normwise, LeafComparison &result) {
  {
    llvm::raw_string_ostream os(result.shape);
    printHloShape(os, expected.getType(expected.getElementType().getContext()));
  }
  if (!actual.isArray() ||
      actual.getElementType() != expected.getElementType() ||
      actual.getShape() != expected.getShape()) {
    result.match = false;
    std::string got;
    llvm::raw_string_ostream os(got);
    if (actual.isArray())
      printHloShape(os, actual.getType(expected.getElementType().getContext()));
    else
      os << (actual.isTuple() ? "a tuple" : "a token");
    result.note = "shape differs: expected " + result.shape + ", got " + got;
    return;
  }
  ElemKind kind = expected.getKind();
  result.exact = isIntegralKind(kind);
  Tolerance tol = getDefaultTolerance(kind);
  if (rtol)
    tol.rtol = *rtol;
  if (atol)
    tol.atol = *atol;
  result.tolerance = tol;
  int64_t n = expected.getNumElements();
  result.numElements = n;
  // Bit-identical values (the common case for exact partitionings, and for
  // gigabyte outputs where the element loop dominates): every element
  // matches with zero error, which is what the loop below would find.
  if (expected.hasSameArrayBits(actual)) {
    result.normwise = normwise && !result.exact;
    result.match = true;
    return;
  }
  // Normwise: every element's error is measured against the leaf's largest
  // finite magnitude instead of its own.
  double scale = -1;
  if (normwise && !result.exact) {
    scale = 0;
    for (int64_t i = 0; i < n; ++i) {
      double magnitude = std::abs(expected.getComplex(i));
      if (std::isfinite(magnitude))
        scale = std::max(scale, magnitude);
    }
    result.normwise = true;
  }
  for (int64_t i = 0; i < n; ++i) {
    bool ok;
    double absError = 0, relError = 0;
    if (result.exact) {
      ok = expected.getBits(i) == actual.getBits(i) ||
           expected.getInt(i) == actual.getInt(i);
      absError = std::fabs(expected.getAsDouble(i) - actual.getAsDouble(i));
    } else {
      std::complex<double> e = expected.getComplex(i), a = actual.getComplex(i);
      bool eNan = std::isnan(e.real()) || std::isnan(e.imag());
      bool aNan = std::isnan(a.real()) || std::isnan(a.imag());
      if (eNan || aNan) {
        ok = eNan && aNan;
        absError = ok ? 0 : INFINITY;
      } else if (std::isinf(e.real()) || std::isinf(e.imag()) ||
                 std::isinf(a.real()) || std::isinf(a.imag())) {
        ok = e == a;
        absError = ok ? 0 : INFINITY;
      } else {
        absError = std::abs(a - e);
        relError = std::abs(e) > 0 ? absError / std::abs(e) : 0;
        ok = absError <=
             tol.atol + tol.rtol * (scale >= 0 ? scale : std::abs(e));
      }
    }
    result.maxAbsError = std::max(result.maxAbsError, absError);
    result.maxRelError = std::max(result.maxRelError, relError);
    if (!ok) {
      if (result.numMismatches++ == 0) {
        result.firstIndex.assign(expected.getRank(), 0);
        int64_t rem = i;
        for (int64_t d = expected.getRank() - 1; d >= 0; --d) {
          result.firstIndex[d] = rem % expected.getShape()[d];
          rem /= expected.getShape()[d];
        }
        llvm::raw_string_ostream es(result.expected), as(result.actual);
        expected.printElement(es, i);
        actual.printElement(as, i);
      }
    }
  }
  result.match = result.numMismatches == 0;
}

static void compareRec(const Literal &expected, const Literal &actual,
                       const std::string &path, std::optional<double> rtol,
                       std::optional<double> atol, bool normwise,
                       std::vector<LeafComparison> &results) {
  if (expected.isTuple()) {
    if (!actual.isTuple() ||
        actual.getNumTupleElements() != expected.getNumTupleElements()) {
      LeafComparison leaf;
      leaf.path = path.empty() ? "0" : path;
      leaf.match = false;
      leaf.shape = "tuple";
      leaf.note = "tuple arity differs";
      results.push_back(leaf);
      return;
    }
    for (size_t i = 0; i < expected.getNumTupleElements(); ++i)
      compareRec(*expected.getElements()[i], *actual.getElements()[i],
                 path.empty() ? std::to_string(i)
                              : path + "." + std::to_string(i),
                 rtol, atol, normwise, results);
    return;
  }
  if (expected.isToken())
    return;
  LeafComparison leaf;
  leaf.path = path.empty() ? "0" : path;
  compareLeaf(expected, actual, rtol, atol, normwise, leaf);
  results.push_back(leaf);
}

std::vector<LeafComparison>
gshard::sim::compareValues(const Literal &expected, const Literal &actual,
                           std::optional<double> rtol,
                           std::optional<double> atol, bool normwise) {
  std::vector<LeafComparison> results;
  compareRec(expected, actual, "", rtol, atol, normwise, results);
  return results;
}

//===----------------------------------------------------------------------===//
// Module queries
//===----------------------------------------------------------------------===//

int64_t gshard::sim::getHeaderInt(ModuleOp module, StringRef key) {
  auto header =
      module->getAttrOfType<DictionaryAttr>(hlo::module_attrs::kHeader);
  if (!header)
    return 0;
  if (auto value = header.getAs<IntegerAttr>(key))
    return value.getInt();
  return 0;
}

int64_t gshard::sim::getMaxShardingDevice(ModuleOp module) {
  int64_t best = -1;
  module.walk([&](Operation *op) {
    if (auto sharding = op->getAttrOfType<hlo::ShardingAttr>("sharding"))
      best = std::max(best, getMaxDevice(sharding));
  });
  return best;
}

bool gshard::sim::needsAllDevices(ModuleOp module) {
  bool needs = false;
  module.walk([&](Operation *op) {
    if (isa<hlo::AllReduceOp, hlo::AllGatherOp, hlo::AllToAllOp,
            hlo::ReduceScatterOp, hlo::CollectivePermuteOp,
            hlo::CollectiveBroadcastOp>(op))
      needs = true;
    if (auto call = dyn_cast<hlo::CustomCallOp>(op))
      if (call.getCustomCallTarget() == "SPMDFullToShardShape" ||
          call.getCustomCallTarget() == "SPMDShardToFullShape")
        needs = true;
  });
  return needs;
}
