//===- CostModelProgram.cpp - Roofline, schedules and liveness ------------===//
//
// Part of gshard, under the Apache License v2.0.
//
// Walks a partitioned module: per-op roofline costs, collectives priced by
// CostModel.cpp's algorithms, the serial and overlapped schedules and the
// liveness analysis of ENTRY. Formulas: docs/cost-model.md.
//
//===----------------------------------------------------------------------===//

#include "gshard/Sim/CostModel.h"

#include "gshard/IR/HloOps.h"
#include "gshard/Sim/Check.h"

#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <optional>

using namespace mlir;
using namespace gshard;
using namespace gshard::sim;

//===----------------------------------------------------------------------===//
// Sizes
//===----------------------------------------------------------------------===//

namespace {

int64_t elementBytes(Type type) {
  if (auto complex = dyn_cast<ComplexType>(type))
    return 2 * elementBytes(complex.getElementType());
  if (type.isIntOrFloat())
    return (type.getIntOrFloatBitWidth() + 7) / 8;
  return 0;
}

int64_t numElements(Type type) {
  if (auto tensor = dyn_cast<RankedTensorType>(type))
    return tensor.getNumElements();
  return 0;
}

/// Leaf array sizes of a value type, flattened (tuples in order).
void leafBytes(Type type, llvm::SmallVectorImpl<int64_t> &out) {
  if (auto tuple = dyn_cast<TupleType>(type)) {
    for (Type t : tuple.getTypes())
      leafBytes(t, out);
    return;
  }
  if (auto tensor = dyn_cast<RankedTensorType>(type)) {
    out.push_back(tensor.getNumElements() *
                  elementBytes(tensor.getElementType()));
    return;
  }
  out.push_back(0); // token
}

int64_t typeBytes(Type type) {
  llvm::SmallVector<int64_t> leaves;
  leafBytes(type, leaves);
  return std::accumulate(leaves.begin(), leaves.end(), int64_t(0));
}

size_t numLeaves(Type type) {
  if (auto tuple = dyn_cast<TupleType>(type)) {
    size_t n = 0;
    for (Type t : tuple.getTypes())
      n += numLeaves(t);
    return n;
  }
  return 1;
}

hlo::ComputationOp lookupComputation(Operation *user, Attribute attr) {
  auto ref = dyn_cast_or_null<FlatSymbolRefAttr>(attr);
  if (!ref)
    return nullptr;
  return dyn_cast_or_null<hlo::ComputationOp>(
      SymbolTable::lookupNearestSymbolFrom(user, ref));
}

llvm::SmallVector<hlo::ComputationOp> getCallees(Operation *op) {
  llvm::SmallVector<hlo::ComputationOp> callees;
  for (NamedAttribute attr : op->getAttrs()) {
    if (auto array = dyn_cast<ArrayAttr>(attr.getValue())) {
      for (Attribute a : array)
        if (auto c = lookupComputation(op, a))
          callees.push_back(c);
    } else if (auto c = lookupComputation(op, attr.getValue())) {
      callees.push_back(c);
    }
  }
  return callees;
}

bool isAliasOp(Operation *op) {
  return isa<hlo::TupleOp, hlo::GetTupleElementOp, hlo::BitcastOp,
             hlo::OptimizationBarrierOp, hlo::AddDependencyOp, hlo::WhileOp,
             hlo::ParameterOp>(op);
}

int64_t peakMemory(hlo::ComputationOp computation, std::string *peakAt,
                   int depth);

/// Extra bytes a call-like op needs while it runs (its callee's
/// temporaries; fusions materialize none).
int64_t transientBytes(Operation *op, int depth) {
  if (isa<hlo::FusionOp>(op) || depth > 16)
    return 0;
  if (!isa<hlo::WhileOp, hlo::CallOp, hlo::ConditionalOp>(op))
    return 0;
  int64_t worst = 0;
  for (hlo::ComputationOp callee : getCallees(op)) {
    int64_t params = 0;
    for (hlo::ParameterOp p : hlo::getParameters(callee))
      if (p)
        params += typeBytes(p.getResult().getType());
    worst = std::max(worst, peakMemory(callee, nullptr, depth + 1) - params);
  }
  return std::max<int64_t>(worst, 0);
}

int64_t peakMemory(hlo::ComputationOp computation, std::string *peakAt,
                   int depth) {
  std::vector<Operation *> ops;
  for (Operation &op : computation.getBody().front())
    if (!isa<hlo::ReturnOp>(op))
      ops.push_back(&op);
  std::vector<int64_t> sizes;
  std::vector<int64_t> lastUse; // op index; INT64_MAX = never freed
  std::vector<bool> pinned;
  std::vector<int64_t> definedAt;
  int64_t current = 0;
  llvm::DenseMap<Value, llvm::SmallVector<int, 2>> buffers;
  auto allocate = [&](Value v, bool pin) {
    llvm::SmallVector<int64_t> leaves;
    leafBytes(v.getType(), leaves);
    auto &list = buffers[v];
    for (int64_t bytes : leaves) {
      list.push_back(sizes.size());
      sizes.push_back(bytes);
      lastUse.push_back(-1);
      pinned.push_back(pin);
      definedAt.push_back(current);
    }
  };
  std::vector<llvm::SmallVector<int, 2>> created(ops.size());
  for (size_t i = 0; i < ops.size(); ++i) {
    Operation *op = ops[i];
    current = i;
    for (Value operand : op->getOperands()) {
      auto it = buffers.find(operand);
      if (it != buffers.end())
        for (int b : it->second)
          lastUse[b] = std::max<int64_t>(lastUse[b], i);
    }
    if (op->getNumResults() != 1)
      continue;
    Value result = op->getResult(0);
    size_t before = sizes.size();
    if (isa<hlo::ParameterOp>(op)) {
      allocate(result, /*pin=*/true);
    } else if (isa<hlo::TupleOp>(op)) {
      auto &list = buffers[result];
      for (Value operand : op->getOperands())
        list.append(buffers.lookup(operand));
    } else if (auto gte = dyn_cast<hlo::GetTupleElementOp>(op)) {
      auto source = buffers.lookup(op->getOperand(0));
      auto tuple = dyn_cast<TupleType>(op->getOperand(0).getType());
      int64_t index = gte->getAttrOfType<IntegerAttr>("index")
                          ? gte->getAttrOfType<IntegerAttr>("index").getInt()
                          : 0;
      if (tuple && index >= 0 && index < int64_t(tuple.size())) {
        size_t begin = 0;
        for (int64_t k = 0; k < index; ++k)
          begin += numLeaves(tuple.getType(k));
        size_t count = numLeaves(tuple.getType(index));
        if (begin + count <= source.size())
          buffers[result].assign(source.begin() + begin,
                                 source.begin() + begin + count);
      }
    } else if (isAliasOp(op) && op->getNumOperands() >= 1 &&
               numLeaves(result.getType()) ==
                   buffers.lookup(op->getOperand(0)).size()) {
      buffers[result] = buffers.lookup(op->getOperand(0));
    } else {
      allocate(result, /*pin=*/false);
    }
    for (size_t b = before; b < sizes.size(); ++b)
      created[i].push_back(b);
  }
  Value root = computation.getRoot();
  if (root)
    for (int b : buffers.lookup(root))
      pinned[b] = true;

  int64_t live = 0, peak = 0;
  std::string at;
  std::vector<llvm::SmallVector<int, 2>> freeAfter(ops.size());
  for (size_t b = 0; b < sizes.size(); ++b) {
    if (pinned[b])
      continue;
    // A buffer nobody reads dies right after its definition.
    int64_t last = lastUse[b] < 0 ? definedAt[b] : lastUse[b];
    freeAfter[last].push_back(b);
  }
  for (size_t i = 0; i < ops.size(); ++i) {
    for (int b : created[i])
      live += sizes[b];
    int64_t now = live + transientBytes(ops[i], depth);
    if (now > peak) {
      peak = now;
      at = hlo::getInstructionName(ops[i]->getLoc()).str();
    }
    for (int b : freeAfter[i])
      live -= sizes[b];
  }
  if (peakAt)
    *peakAt = at;
  return peak;
}

} // namespace

int64_t gshard::sim::getPeakMemory(Operation *computation,
                                   std::string *peakAt) {
  auto comp = dyn_cast_or_null<hlo::ComputationOp>(computation);
  return comp ? peakMemory(comp, peakAt, 0) : 0;
}

//===----------------------------------------------------------------------===//
// Program analysis
//===----------------------------------------------------------------------===//

namespace {

/// Groups of global device ids taking part in each instance of `op`
/// (XLA's CollectiveOpGroupMode; see lib/Sim/Collectives.cpp).
std::vector<llvm::SmallVector<int64_t>> getDeviceGroups(Operation *op,
                                                        int64_t R, int64_t P) {
  auto attr = op->getAttrOfType<hlo::ReplicaGroupsAttr>("replica_groups");
  llvm::SmallVector<llvm::SmallVector<int64_t>> groups;
  if (attr)
    groups = attr.getGroups();
  bool all = groups.empty() || (groups.size() == 1 && groups[0].empty());
  bool hasChannel = op->hasAttr("channel_id");
  auto useGlobal = op->getAttrOfType<BoolAttr>("use_global_device_ids");
  auto everyone = [](int64_t n) {
    llvm::SmallVector<llvm::SmallVector<int64_t>> g(1);
    for (int64_t i = 0; i < n; ++i)
      g[0].push_back(i);
    return g;
  };
  std::vector<llvm::SmallVector<int64_t>> out;
  if (useGlobal && useGlobal.getValue()) {
    for (auto &g : all ? everyone(R * P) : groups)
      out.push_back(g);
  } else if (!hasChannel) {
    for (auto &g : all ? everyone(R) : groups)
      for (int64_t p = 0; p < P; ++p) {
        out.emplace_back();
        for (int64_t r : g)
          out.back().push_back(r * P + p);
      }
  } else if (!useGlobal) {
    for (int64_t r = 0; r < R; ++r)
      for (auto &g : all ? everyone(P) : groups) {
        out.emplace_back();
        for (int64_t p : g)
          out.back().push_back(r * P + p);
      }
  } else {
    for (auto &g : all ? everyone(R) : groups) {
      out.emplace_back();
      for (int64_t r : g)
        for (int64_t p = 0; p < P; ++p)
          out.back().push_back(r * P + p);
    }
  }
  return out;
}

double operandBytes(Operation *op) {
  double bytes = 0;
  for (Value v : op->getOperands())
    bytes += typeBytes(v.getType());
  return bytes;
}

double resultBytes(Operation *op) {
  double bytes = 0;
  for (Value v : op->getResults())
    bytes += typeBytes(v.getType());
  return bytes;
}

Type elementTypeOf(Value v) {
  if (auto t = dyn_cast<RankedTensorType>(v.getType()))
    return t.getElementType();
  return nullptr;
}

bool isLowPrecision(Type t) {
  return t && (t.isBF16() || t.isF16() ||
               (isa<FloatType>(t) && t.getIntOrFloatBitWidth() <= 8));
}

/// FLOPs of one execution of `op` (matrix ops set `matrix`).
double opFlops(Operation *op, bool &matrix, int depth);

double opFlops(Operation *op, bool &matrix, int depth) {
  matrix = false;
  if (op->getNumResults() == 0)
    return 0;
  double out = numElements(op->getResult(0).getType());
  if (auto dot = dyn_cast<hlo::DotOp>(op)) {
    matrix = true;
    double k = 1;
    auto lhs = cast<RankedTensorType>(dot.getLhs().getType());
    if (auto dims = dot.getLhsContractingDimsAttr())
      for (int64_t d : dims.asArrayRef())
        if (d >= 0 && d < lhs.getRank())
          k *= lhs.getDimSize(d);
    return 2 * out * k;
  }
  if (auto conv = dyn_cast<hlo::ConvolutionOp>(op)) {
    matrix = true;
    auto kernel = cast<RankedTensorType>(conv.getRhs().getType());
    auto dims = conv.getDimLabels();
    double k = 1;
    for (int64_t d : dims.getKernelSpatial())
      if (d >= 0 && d < kernel.getRank())
        k *= kernel.getDimSize(d);
    int64_t in = dims.getKernelInputFeature();
    if (in >= 0 && in < kernel.getRank())
      k *= kernel.getDimSize(in);
    return 2 * out * k;
  }
  if (auto fusion = dyn_cast<hlo::FusionOp>(op)) {
    double flops = 0;
    if (auto callee = lookupComputation(op, fusion.getCallsAttr())) {
      for (Operation &inner : callee.getBody().front()) {
        bool m = false;
        flops += opFlops(&inner, m, depth + 1);
        matrix |= m;
      }
    }
    return flops;
  }
  if (isa<hlo::ReduceOp>(op)) {
    double in = 0;
    for (Value v : cast<hlo::ReduceOp>(op).getInputs())
      in += numElements(v.getType());
    return in;
  }
  if (auto rw = dyn_cast<hlo::ReduceWindowOp>(op)) {
    double window = 1;
    auto inputType = dyn_cast<RankedTensorType>(op->getOperand(0).getType());
    if (auto w = op->getAttrOfType<hlo::WindowAttr>("window"))
      for (auto [d, s] : llvm::enumerate(w.getSize())) {
        // A window spanning the whole dim, padded by n-1 below, stride 1, is
        // a prefix scan (cumsum, cummax): XLA rewrites it into a tree scan
        // (ReduceWindowRewriter), log2(n) passes, not n.
        auto at = [](llvm::ArrayRef<int64_t> a, size_t i, int64_t dflt) {
          return i < a.size() ? a[i] : dflt;
        };
        bool scan =
            inputType && d < (size_t)inputType.getRank() && s > 2 &&
            s == inputType.getDimSize(d) && at(w.getPadLow(), d, 0) == s - 1 &&
            at(w.getPadHigh(), d, 0) == 0 && at(w.getStride(), d, 1) == 1;
        window *= scan ? std::ceil(std::log2((double)s)) : s;
      }
    return out * window;
  }
  if (isa<hlo::SortOp>(op)) {
    double n = numElements(op->getOperand(0).getType());
    return n * std::max(1.0, std::log2(std::max(2.0, n))) *
           op->getNumOperands();
  }
  if (isa<hlo::ScatterOp>(op))
    return numElements(op->getOperand(op->getNumOperands() - 1).getType());
  // Pure data movement and free ops.
  if (isa<hlo::BroadcastOp, hlo::ReshapeOp, hlo::TransposeOp, hlo::SliceOp,
          hlo::ConcatenateOp, hlo::PadOp, hlo::CopyOp, hlo::DynamicSliceOp,
          hlo::DynamicUpdateSliceOp, hlo::GatherOp, hlo::ReverseOp, hlo::IotaOp,
          hlo::ConstantOp, hlo::ParameterOp, hlo::TupleOp,
          hlo::GetTupleElementOp, hlo::BitcastOp, hlo::ReturnOp,
          hlo::CustomCallOp>(op))
    return 0;
  return out;
}

/// HBM traffic of one execution: operands read, result written (no fusion
/// across instructions unless the module has fusion ops).
double opHbmBytes(Operation *op) {
  if (isa<hlo::DynamicUpdateSliceOp>(op))
    return 2 * typeBytes(op->getOperand(1).getType());
  if (isa<hlo::DynamicSliceOp, hlo::SliceOp, hlo::GatherOp>(op))
    return 2 * resultBytes(op);
  return operandBytes(op) + resultBytes(op);
}

bool isFreeOp(Operation *op) {
  if (isa<hlo::ParameterOp, hlo::ConstantOp, hlo::TupleOp,
          hlo::GetTupleElementOp, hlo::BitcastOp, hlo::ReturnOp,
          hlo::AfterAllOp, hlo::AddDependencyOp, hlo::OptimizationBarrierOp,
          hlo::PartitionIdOp, hlo::ReplicaIdOp>(op))
    return true;
  if (auto cc = dyn_cast<hlo::CustomCallOp>(op)) {
    StringRef target = cc.getCustomCallTarget();
    return target == "Sharding" || target == "SPMDFullToShardShape" ||
           target == "SPMDShardToFullShape" || target == "AllocateBuffer";
  }
  return false;
}

std::optional<CollectiveKind> getCollectiveKind(Operation *op) {
  if (isa<hlo::AllReduceOp>(op))
    return CollectiveKind::AllReduce;
  if (isa<hlo::AllGatherOp>(op))
    return CollectiveKind::AllGather;
  if (isa<hlo::ReduceScatterOp>(op))
    return CollectiveKind::ReduceScatter;
  if (isa<hlo::AllToAllOp>(op))
    return CollectiveKind::AllToAll;
  if (isa<hlo::CollectivePermuteOp>(op))
    return CollectiveKind::CollectivePermute;
  if (isa<hlo::CollectiveBroadcastOp>(op))
    return CollectiveKind::CollectiveBroadcast;
  return std::nullopt;
}

std::string sourceOf(Operation *op) {
  if (auto md = op->getAttrOfType<DictionaryAttr>("metadata"))
    if (auto name = md.getAs<StringAttr>("op_name"))
      if (!name.getValue().empty())
        return name.getValue().str();
  for (Value v : op->getOperands())
    if (Operation *def = v.getDefiningOp()) {
      StringRef name = hlo::getInstructionName(def->getLoc());
      if (!name.empty())
        return ("%" + name).str();
    }
  return "";
}

std::string locationOf(Operation *op) {
  Location loc = op->getLoc();
  std::string out;
  loc->walk([&](Location l) {
    if (auto file = dyn_cast<FileLineColLoc>(l)) {
      out = (file.getFilename().str() + ":" + std::to_string(file.getLine()));
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return out;
}

int64_t parseTripCount(StringRef text) {
  // known_trip_count={"n":"8"} or a bare number.
  size_t start = text.find_first_of("0123456789");
  if (start == StringRef::npos)
    return -1;
  int64_t n;
  StringRef digits = text.drop_front(start).take_while(llvm::isDigit);
  if (digits.getAsInteger(10, n))
    return -1;
  return n;
}

class Analyzer {
public:
  Analyzer(const Mesh &mesh, const CostOptions &options, CostReport &report)
      : mesh(mesh), options(options), report(report) {}

  void visitComputation(hlo::ComputationOp comp, double count, int depth) {
    if (depth > 32) {
      note("call depth over 32: deeper computations not costed");
      return;
    }
    for (Operation &op : comp.getBody().front())
      visitOp(&op, comp, count, depth);
  }

  /// Total seconds (all executions) added while visiting ENTRY op `op`.
  llvm::DenseMap<Operation *, double> entryDuration;
  llvm::DenseMap<Operation *, bool> entryHasCollective;
  Operation *currentEntryOp = nullptr;

private:
  void note(const std::string &text) {
    if (notes.insert(text).second)
      report.notes.push_back(text);
  }

  void visitOp(Operation *op, hlo::ComputationOp comp, double count,
               int depth) {
    if (isFreeOp(op))
      return;
    if (auto loop = dyn_cast<hlo::WhileOp>(op)) {
      int64_t trips = -1;
      if (auto attr = loop.getKnownTripCountAttr())
        trips = parseTripCount(attr.getValue());
      // XLA's while backend_config={"known_trip_count":{"n":"10"}}.
      if (auto config = op->getAttrOfType<StringAttr>("backend_config")) {
        size_t at = config.getValue().find("known_trip_count");
        if (trips < 0 && at != StringRef::npos)
          trips = parseTripCount(config.getValue().drop_front(at));
      }
      if (trips < 0) {
        trips = options.defaultTripCount;
        note("while %" + hlo::getInstructionName(op->getLoc()).str() +
             ": unknown trip count, assumed " + std::to_string(trips) +
             " (known_trip_count absent; --assumed-trip-count)");
      }
      if (auto body = lookupComputation(op, loop.getBodyAttr()))
        visitComputation(body, count * trips, depth + 1);
      if (auto cond = lookupComputation(op, loop.getConditionAttr()))
        visitComputation(cond, count * (trips + 1), depth + 1);
      return;
    }
    if (isa<hlo::CallOp>(op)) {
      for (auto callee : getCallees(op))
        visitComputation(callee, count, depth + 1);
      return;
    }
    if (isa<hlo::ConditionalOp>(op)) {
      auto callees = getCallees(op);
      if (callees.size() > 1)
        note("conditional: each of the branches weighted 1/branches");
      for (auto callee : callees)
        visitComputation(callee, count / callees.size(), depth + 1);
      return;
    }
    OpCost cost;
    cost.op = op;
    cost.name = hlo::getInstructionName(op->getLoc()).str();
    cost.opcode = hlo::getHloOpcode(op);
    cost.location = locationOf(op);
    cost.computation = comp.getSymName().str();
    cost.count = count;
    if (auto kind = getCollectiveKind(op)) {
      costCollective(op, *kind, cost);
    } else {
      bool matrix = false;
      cost.flops = opFlops(op, matrix, depth);
      cost.hbmBytes = opHbmBytes(op);
      double peak = mesh.vectorFlops;
      if (matrix) {
        Type t =
            op->getNumOperands() ? elementTypeOf(op->getOperand(0)) : Type();
        peak = isLowPrecision(t) ? mesh.bf16Flops : mesh.f32Flops;
      }
      cost.seconds =
          std::max(cost.flops / peak, cost.hbmBytes / mesh.hbmBandwidth);
      if (auto cc = dyn_cast<hlo::CustomCallOp>(op))
        note("custom-call " + cc.getCustomCallTarget().str() +
             ": costed as memory traffic only");
      if (isa<hlo::SendOp, hlo::RecvOp, hlo::InfeedOp, hlo::OutfeedOp>(op))
        note(cost.opcode + ": host/peer transfers not modelled");
    }
    if (currentEntryOp) {
      entryDuration[currentEntryOp] += cost.totalSeconds();
      if (cost.isCollective)
        entryHasCollective[currentEntryOp] = true;
    }
    report.ops.push_back(std::move(cost));
  }

  void costCollective(Operation *op, CollectiveKind kind, OpCost &cost) {
    cost.isCollective = true;
    cost.kind = kind;
    cost.source = sourceOf(op);
    int64_t R = options.numReplicas, P = options.numPartitions;
    CollectiveCost worst;
    if (kind == CollectiveKind::CollectivePermute) {
      double bytes = operandBytes(op);
      auto flat = op->getAttrOfType<DenseI64ArrayAttr>("source_target_pairs");
      std::vector<std::pair<int64_t, int64_t>> pairs;
      bool global = !op->hasAttr("channel_id");
      // Without channel_id the pairs are replica ids (one set per
      // partition), with it partition ids (one set per replica).
      if (flat)
        for (int64_t i = 0; i + 1 < int64_t(flat.size()); i += 2) {
          int64_t s = flat[i], t = flat[i + 1];
          if (global)
            for (int64_t p = 0; p < P; ++p)
              pairs.push_back({s * P + p, t * P + p});
          else
            for (int64_t r = 0; r < R; ++r)
              pairs.push_back({r * P + s, r * P + t});
        }
      llvm::erase_if(pairs, [&](auto &pr) {
        return pr.first < 0 || pr.second < 0 || pr.first >= R * P ||
               pr.second >= R * P;
      });
      worst = getPermuteCost(mesh, pairs, bytes);
      cost.groupSize = 2;
      cost.numGroups = pairs.size();
    } else {
      double bytes = kind == CollectiveKind::AllGather ? resultBytes(op)
                                                       : operandBytes(op);
      auto groups = getDeviceGroups(op, R, P);
      cost.numGroups = groups.size();
      // Every group of this size and placement costs the same; cache by
      // the group's first member offset pattern.
      for (auto &group : groups) {
        cost.groupSize = std::max<int64_t>(cost.groupSize, group.size());
        llvm::erase_if(group, [&](int64_t d) { return d < 0 || d >= R * P; });
        CollectiveCost c = getGroupCollectiveCost(mesh, kind, group, bytes);
        if (c.seconds >= worst.seconds)
          worst = c;
      }
    }
    cost.seconds = worst.seconds;
    cost.commBytes = worst.bytesPerDevice;
    cost.algorithm = worst.algorithm;
    cost.hbmBytes = operandBytes(op) + resultBytes(op);
  }

  const Mesh &mesh;
  const CostOptions &options;
  CostReport &report;
  llvm::StringSet<> notes;

public:
  void visitEntry(hlo::ComputationOp entry) {
    for (Operation &op : entry.getBody().front()) {
      currentEntryOp = &op;
      visitOp(&op, entry, 1, 0);
    }
    currentEntryOp = nullptr;
  }
};

/// Infers unset device counts from the ids the collectives name: replica
/// ids (no channel_id), partition ids (channel_id) or global ids
/// (use_global_device_ids, which need the partition count).
void inferDeviceCounts(ModuleOp module, int64_t &R, int64_t &P) {
  int64_t maxReplica = -1, maxPartition = -1, maxGlobal = -1;
  module.walk([&](Operation *op) {
    if (!getCollectiveKind(op))
      return;
    int64_t maxId = -1;
    if (auto attr = op->getAttrOfType<hlo::ReplicaGroupsAttr>("replica_groups"))
      for (auto &g : attr.getGroups())
        for (int64_t id : g)
          maxId = std::max(maxId, id);
    if (auto pairs =
            op->getAttrOfType<DenseI64ArrayAttr>("source_target_pairs"))
      for (int64_t id : pairs.asArrayRef())
        maxId = std::max(maxId, id);
    auto useGlobal = op->getAttrOfType<BoolAttr>("use_global_device_ids");
    if (useGlobal && useGlobal.getValue())
      maxGlobal = std::max(maxGlobal, maxId);
    else if (op->hasAttr("channel_id") && !useGlobal)
      maxPartition = std::max(maxPartition, maxId);
    else
      maxReplica = std::max(maxReplica, maxId);
  });
  if (P <= 0)
    P = getHeaderInt(module, "num_partitions");
  if (R <= 0)
    R = getHeaderInt(module, "replica_count");
  if (P <= 0)
    P = std::max(
        {int64_t(1), maxPartition + 1, getMaxShardingDevice(module) + 1});
  if (R <= 0)
    R = std::max({int64_t(1), maxReplica + 1, (maxGlobal + 1 + P - 1) / P});
}

} // namespace

std::vector<const OpCost *> CostReport::getTopOps(size_t n) const {
  std::vector<const OpCost *> sorted;
  for (const OpCost &op : ops)
    sorted.push_back(&op);
  llvm::stable_sort(sorted, [](const OpCost *a, const OpCost *b) {
    return a->totalSeconds() > b->totalSeconds();
  });
  if (sorted.size() > n)
    sorted.resize(n);
  return sorted;
}

bool gshard::sim::analyzeCost(ModuleOp module, const Mesh &mesh,
                              const CostOptions &options, CostReport &report,
                              std::string &error) {
  report = CostReport();
  hlo::ComputationOp entry;
  for (auto comp : module.getOps<hlo::ComputationOp>())
    if (comp.getIsEntry())
      entry = comp;
  if (!entry) {
    error = "error: the module has no ENTRY computation";
    return false;
  }
  report.mesh = mesh;
  report.meshSummary = mesh.summary();
  if (auto name = module.getSymNameAttr())
    report.moduleName = name.getValue().str();
  else if (auto name =
               module->getAttrOfType<StringAttr>(hlo::module_attrs::kName))
    report.moduleName = name.getValue().str();
  CostOptions opts = options;
  inferDeviceCounts(module, opts.numReplicas, opts.numPartitions);
  report.numReplicas = opts.numReplicas;
  report.numPartitions = opts.numPartitions;
  report.numDevices = opts.numReplicas * opts.numPartitions;
  report.meshDevices = mesh.getNumDevices();
  report.hbmCapacity = mesh.hbmBytes;
  if (report.numDevices > report.meshDevices) {
    error = "error: the program runs on " + std::to_string(report.numDevices) +
            " devices (" + std::to_string(opts.numReplicas) + " replica(s) x " +
            std::to_string(opts.numPartitions) + " partition(s)) but mesh " +
            mesh.name + " has only " + std::to_string(report.meshDevices);
    return false;
  }
  Analyzer analyzer(mesh, opts, report);
  analyzer.visitEntry(entry);

  // Totals and the serial schedule.
  double cursor = 0;
  for (OpCost &op : report.ops) {
    op.start = cursor;
    cursor += op.totalSeconds();
    report.flops += op.flops * op.count;
    if (!op.isCollective)
      report.hbmBytes += op.hbmBytes * op.count;
    if (op.isCollective) {
      report.commSeconds += op.totalSeconds();
      auto &k = report.collectives[op.opcode];
      k.count += std::llround(op.count);
      k.seconds += op.totalSeconds();
      k.bytesPerDevice += op.commBytes * op.count;
      report.commBytesPerDevice += op.commBytes * op.count;
    } else {
      report.computeSeconds += op.totalSeconds();
    }
  }
  report.stepSeconds = cursor;

  // Overlapped schedule over ENTRY: a compute stream and a collective
  // stream, each in program order, ops waiting for their operands.
  llvm::DenseMap<Operation *, double> finish;
  double streams[2] = {0, 0};
  double end = 0;
  for (Operation &op : entry.getBody().front()) {
    double ready = 0;
    for (Value v : op.getOperands())
      if (Operation *def = v.getDefiningOp())
        ready = std::max(ready, finish.lookup(def));
    double duration = analyzer.entryDuration.lookup(&op);
    bool comm = getCollectiveKind(&op).has_value();
    double start = std::max(ready, streams[comm]);
    finish[&op] = start + duration;
    if (duration > 0)
      streams[comm] = start + duration;
    end = std::max(end, start + duration);
  }
  report.stepSecondsOverlapped = end;

  // Memory.
  for (hlo::ParameterOp p : hlo::getParameters(entry))
    if (p)
      report.parameterBytes += typeBytes(p.getResult().getType());
  if (Value root = entry.getRoot())
    report.outputBytes = typeBytes(root.getType());
  report.peakMemoryBytes = peakMemory(entry, &report.peakAt, 0);
  report.exceedsHbm = report.peakMemoryBytes > mesh.hbmBytes;
  return true;
}
