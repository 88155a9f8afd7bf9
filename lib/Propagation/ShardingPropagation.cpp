//===- ShardingPropagation.cpp - GSPMD sharding propagation ---------------===//
//
// XLA's ShardingPropagation over the hlo dialect. Annotated instructions
// keep their shardings; every other one is improved from its operands
// (forward, in program order) and its users (backward, in reverse order)
// until nothing changes, at aggressiveness 0 (pass-through ops only), 1
// (everything but broadcasts), 2 (broadcasts backward) and 3 (broadcasts
// forward, aggressive resharding). How a sharding crosses an op comes from
// the op's factor-based rule (OpShardingRule); how it crosses a tuple, a
// while loop, a conditional or a call comes from ControlFlow.cpp.
//
//===----------------------------------------------------------------------===//

#include "Driver.h"
#include "Rules.h"

#include "mlir/IR/BuiltinTypes.h"

using namespace mlir;

namespace gshard::propagation {

bool isCustomCall(Operation *op, StringRef target) {
  auto call = dyn_cast<hlo::CustomCallOp>(op);
  return call && call.getCustomCallTarget() == target;
}

//===----------------------------------------------------------------------===//
// Sharding access
//===----------------------------------------------------------------------===//

ShardingAttr Driver::getSharding(Operation *op) {
  return op->getAttrOfType<ShardingAttr>("sharding");
}

void Driver::setSharding(Operation *op, ShardingAttr sharding, OriginKind kind,
                         Operation *source, StringRef rule) {
  op->setAttr("sharding", sharding);
  if (explanations)
    explanations->record(
        op, {kind, source, rule.str(), iteration, currentAggressiveness});
}

bool Driver::maybeImprove(ShardingAttr sharding, Operation *op, bool mayCombine,
                          bool allowAggressive, OriginKind kind,
                          Operation *source, StringRef rule) {
  if (!sharding)
    return false;
  Type type = op->getResult(0).getType();
  if (isa<TupleType>(type))
    sharding = expandToTuple(sharding, type);
  ShardingAttr current = getSharding(op);
  if (current && isa<TupleType>(type))
    current = expandToTuple(current, type);
  std::optional<ShardingAttr> improved = returnImprovedSharding(
      sharding, current, type, mayCombine, allowAggressive);
  if (!improved)
    return false;
  setSharding(op, *improved, kind, source, rule);
  return true;
}

bool Driver::maybeImproveSub(ShardingAttr sharding, Operation *op,
                             int64_t index, bool mayCombine,
                             bool allowAggressive, OriginKind kind,
                             Operation *source, StringRef rule) {
  Type type = op->getResult(0).getType();
  auto tuple = dyn_cast<TupleType>(type);
  if (!tuple)
    return maybeImprove(sharding, op, mayCombine, allowAggressive, kind, source,
                        rule);
  if (!sharding)
    return false;
  ShardingAttr current = getSharding(op);
  ShardingAttr currentSub =
      current ? getTupleElementSharding(current, type, index) : ShardingAttr();
  std::optional<ShardingAttr> improved = returnImprovedSharding(
      sharding, currentSub, tuple.getType(index), mayCombine, allowAggressive);
  if (!improved)
    return false;
  ShardingAttr whole =
      current
          ? current
          : expandToTuple(ShardingAttr::getReplicated(op->getContext()), type);
  setSharding(op, replaceTupleElement(whole, type, index, *improved), kind,
              source, rule);
  return true;
}

//===----------------------------------------------------------------------===//
// Graph queries
//===----------------------------------------------------------------------===//

SmallVector<Operation *> Driver::getUsers(Operation *op) {
  SmallVector<Operation *> users;
  for (Operation *user : op->getUsers())
    if (!isa<hlo::ReturnOp>(user) && !llvm::is_contained(users, user))
      users.push_back(user);
  return users;
}

bool Driver::isRoot(Operation *op) {
  return llvm::any_of(op->getUsers(),
                      [](Operation *u) { return isa<hlo::ReturnOp>(u); });
}

bool Driver::isEntryRoot(Operation *op) {
  return isRoot(op) && parentComputation(op) == entry;
}

int64_t Driver::countNonRootUsers(Operation *op) {
  // Distinct users, like HLO's user list (add(%x, %x) is one user).
  return llvm::count_if(getUsers(op), [&](Operation *u) { return !isRoot(u); });
}

hlo::ComputationOp Driver::lookupComputation(Attribute ref) {
  auto symbol = dyn_cast_or_null<FlatSymbolRefAttr>(ref);
  if (!symbol)
    return {};
  return computations.lookup(symbol.getValue());
}

const OpShardingRule &Driver::getRule(Operation *op) {
  auto it = ruleCache.find(op);
  if (it != ruleCache.end())
    return it->second;
  return ruleCache[op] = gshard::getShardingRule(op);
}

//===----------------------------------------------------------------------===//
// Levels and support
//===----------------------------------------------------------------------===//

bool Driver::canPropagateAtLevel(Operation *op, int64_t aggressiveness) {
  if (isDataFlowOp(op))
    return !isa<hlo::ParameterOp, hlo::ConditionalOp>(op) ||
           aggressiveness >= 1;
  const OpShardingRule &rule = getRule(op);
  int64_t minLevel = rule.isValid() ? rule.minAggressiveness : 1;
  return aggressiveness >= minLevel;
}

bool Driver::supportsSpatialPartitioning(Operation *op, bool allowToOutput,
                                         bool allowToParameters) {
  hlo::ComputationOp parent = parentComputation(op);
  if (isRoot(op) && !computationMap.count(parent) &&
      !(parent == entry && allowToOutput))
    return false;
  if (isa<hlo::ParameterOp>(op))
    return allowToParameters || computationMap.count(parent);
  if (isa<hlo::ReverseOp>(op))
    return options.isSpmd;
  if (isa<hlo::CustomCallOp>(op))
    return options.isSpmd && getRule(op).isValid();
  if (isa<hlo::ConstantOp, hlo::IotaOp, hlo::InfeedOp, hlo::RngBitGeneratorOp,
          hlo::TupleOp, hlo::GetTupleElementOp, hlo::WhileOp,
          hlo::ConditionalOp, hlo::OptimizationBarrierOp>(op))
    return true;
  if (isa<hlo::AllGatherOp, hlo::AllToAllOp, hlo::CollectivePermuteOp,
          hlo::CollectiveBroadcastOp, hlo::MapOp>(op))
    return false;
  return getRule(op).isValid();
}

//===----------------------------------------------------------------------===//
// Forward
//===----------------------------------------------------------------------===//

/// The operand XLA's PickRepresentativeOperand chooses.
static Operation *pickRepresentative(Operation *op, const OpShardingRule &rule,
                                     bool firstOnly) {
  Operation *best = nullptr;
  ShardingAttr bestSharding;
  for (auto [i, operand] : llvm::enumerate(op->getOperands())) {
    if (i < rule.operandInvolved.size() && !rule.operandInvolved[i])
      continue;
    Operation *def = operand.getDefiningOp();
    if (!def)
      continue;
    ShardingAttr s = Driver::getSharding(def);
    if (firstOnly)
      return s ? def : nullptr;
    if (s && (!best || isShardingMoreSpecific(s, bestSharding))) {
      best = def;
      bestSharding = s;
    }
  }
  return best;
}

static int64_t operandIndex(Operation *op, Operation *def) {
  for (auto [i, operand] : llvm::enumerate(op->getOperands()))
    if (operand.getDefiningOp() == def)
      return i;
  return -1;
}

bool Driver::inferWithRule(Operation *op, const OpShardingRule &rule,
                           int64_t aggressiveness, bool mayCombine) {
  bool allowAggressive = countNonRootUsers(op) == 1;
  Type type = op->getResult(0).getType();
  auto project = [&](Operation *def, int64_t operand, int64_t leaf) {
    return projectSharding(getSharding(def), rule, rule.operandDims[operand],
                           rule.resultDims[leaf]);
  };
  StringRef family = rule.family;
  // Reduce-like ops give every leaf the sharding of one input.
  if (family == "reduce" || family == "reduce-window" || family == "sort") {
    bool changed = false;
    SmallVector<int64_t> inputs;
    if (family == "sort") {
      Operation *rep = pickRepresentative(op, rule, false);
      if (!rep || !isPartitioned(rep))
        return false;
      inputs.push_back(operandIndex(op, rep));
    } else {
      for (int64_t i = 0, e = rule.resultDims.size(); i < e; ++i)
        inputs.push_back(i);
    }
    for (int64_t i : inputs) {
      Operation *def = op->getOperand(i).getDefiningOp();
      if (!def || !isPartitioned(def))
        continue;
      ShardingAttr s = getSharding(def);
      if (s.isManual()) {
        changed |= maybeImproveSub(s, op, i, mayCombine, allowAggressive,
                                   OriginKind::Forward, def, family);
        continue;
      }
      ShardingAttr leaf;
      if (family == "reduce" && !options.isSpmd && s.isTiled()) {
        SmallVector<int64_t> tiles =
            getTilesPerDim(s, rule.operandDims[i].size());
        for (auto [d, f] : llvm::enumerate(rule.operandDims[i]))
          if (f >= 0 && rule.factorKinds[f] == FactorKind::Reduction &&
              tiles[d] > 1)
            leaf = replicateAllDataDims(s, rule.resultDims[0].size());
      }
      if (!leaf)
        leaf = s.isReplicated() ? replicateAllDataDims(s) : project(def, i, 0);
      changed |=
          maybeImprove(expandToTuple(leaf, type), op, mayCombine,
                       allowAggressive, OriginKind::Forward, def, family);
    }
    return changed;
  }
  if (family == "scatter") {
    bool changed = false;
    int64_t n = rule.resultDims.size();
    if (!options.isSpmd) {
      for (int64_t i = 0; i < n; ++i)
        changed |= maybeImproveSub(
            ShardingAttr::getReplicated(op->getContext()), op, i, mayCombine,
            false, OriginKind::Forward, nullptr, family);
      return changed;
    }
    for (int64_t i = 0; i < n; ++i)
      if (Operation *def = op->getOperand(i).getDefiningOp();
          def && isPartitioned(def))
        changed |= maybeImproveSub(getSharding(def), op, i, mayCombine, false,
                                   OriginKind::Forward, def, family);
    for (int64_t j = n; j < 2 * n + 1; ++j) {
      Operation *def = op->getOperand(j).getDefiningOp();
      if (!def || !isPartitioned(def))
        continue;
      for (int64_t i = 0; i < n; ++i) {
        if (j > n && j - n - 1 != i)
          continue;
        ShardingAttr s = project(def, j, i);
        if (s && isSpatiallyPartitioned(s) && !isTileMaximal(s))
          changed |= maybeImproveSub(s, op, i, mayCombine, false,
                                     OriginKind::Forward, def, family);
      }
    }
    return changed;
  }
  bool eachOperand = rule.combine == OperandCombine::EachOperand &&
                     (mayCombine || family != "elementwise");
  if (eachOperand) {
    bool changed = false;
    SmallVector<int64_t> order;
    for (int64_t i = 0, e = op->getNumOperands(); i < e; ++i)
      order.push_back(i);
    if (family == "dynamic-update-slice")
      std::swap(order[0], order[1]);
    int64_t involved = llvm::count(rule.operandInvolved, true);
    for (int64_t i : order) {
      if (!rule.operandInvolved[i])
        continue;
      if (family == "gather" && i == 0 && !options.isSpmd)
        continue;
      Operation *def = op->getOperand(i).getDefiningOp();
      if (!def || !isPartitioned(def))
        continue;
      ShardingAttr s = project(def, i, 0);
      if (family == "gather" && s && isTileMaximal(s) &&
          !isTileMaximal(getSharding(def)))
        continue;
      bool aggressive =
          family == "elementwise"
              ? involved == 1 && allowAggressive
              : (family == "dynamic-update-slice" && i == 1 ? allowAggressive
                                                            : false);
      changed |= maybeImprove(s, op, mayCombine, aggressive,
                              OriginKind::Forward, def, family);
    }
    return changed;
  }
  bool firstOnly = rule.combine == OperandCombine::FirstOperand ||
                   rule.firstOperandRepresentative;
  Operation *rep = pickRepresentative(op, rule, firstOnly);
  if (!rep || !isPartitioned(rep))
    return false;
  int64_t index = operandIndex(op, rep);
  if (family == "concatenate" && aggressiveness == 0) {
    for (Value operand : op->getOperands()) {
      Operation *def = operand.getDefiningOp();
      ShardingAttr s = def ? getSharding(def) : ShardingAttr();
      if (!def || !s || !isSpatiallyPartitioned(s) || getNumTiles(s) <= 1 ||
          !isa<hlo::ReshapeOp>(def))
        return false;
      Operation *src = def->getOperand(0).getDefiningOp();
      if (!src || !isa<hlo::ParameterOp, hlo::GetTupleElementOp>(src))
        return false;
      int64_t dim = cast<hlo::ConcatenateOp>(op).getDimensions()[0];
      if (s.isTiled() && getTilesPerDim(s, rule.resultDims[0].size())[dim] > 1)
        return false;
    }
  }
  ShardingAttr s = getSharding(rep);
  ShardingAttr projected =
      (s.isReplicated() || s.isMaximal() || s.isManual())
          ? s
          : (rule.projection == OpShardingRule::Projection::Reshape
                 ? propagateThroughReshape(s,
                                           rules::getShape(op->getOperand(0)),
                                           rules::getShape(op->getResult(0)))
                 : project(rep, index, 0));
  if (isa<hlo::BroadcastOp>(op) && s.isReplicated())
    return false;
  return maybeImprove(projected, op, mayCombine, allowAggressive,
                      OriginKind::Forward, rep, family);
}

static bool hasSideEffectAttr(Operation *op) {
  auto attr = op->getAttrOfType<BoolAttr>("custom_call_has_side_effect");
  return attr && attr.getValue();
}

bool Driver::inferFromOperands(Operation *op, int64_t aggressiveness) {
  if (!canPropagateAtLevel(op, aggressiveness))
    return false;
  ShardingAttr current = getSharding(op);
  if (current && isManual(current))
    return false;
  Type type = op->getResult(0).getType();
  bool tupleLike = isa<hlo::ReduceOp, hlo::SortOp, hlo::ReduceWindowOp>(op) ||
                   (isa<hlo::CustomCallOp>(op) && isa<TupleType>(type));
  if ((!current || isTileMaximal(current)) &&
      (isa<RankedTensorType>(type) || tupleLike)) {
    for (Value operand : op->getOperands()) {
      Operation *def = operand.getDefiningOp();
      ShardingAttr s = def ? getSharding(def) : ShardingAttr();
      if (!s || !isManual(s))
        continue;
      if (isCustomCall(op, "SPMDShardToFullShape"))
        return false;
      if (aggressiveness == 0 &&
          isa<hlo::ConcatenateOp, hlo::DynamicSliceOp>(op))
        return false;
      setSharding(
          op, expandToTuple(ShardingAttr::getManual(op->getContext()), type),
          OriginKind::Forward, def, "manual");
      return true;
    }
  }
  bool mayCombine = options.isSpmd && aggressiveness > 0;
  bool allowOutput = llvm::is_contained(options.allowToOutput, true);
  if (!supportsSpatialPartitioning(op, allowOutput, false)) {
    if (isa<TupleType>(type) || op->getNumOperands() == 0 || isRoot(op) ||
        isa<hlo::OutfeedOp, hlo::SendOp, hlo::RecvOp, hlo::InfeedOp, hlo::RngOp,
            hlo::RngGetAndUpdateStateOp>(op) ||
        hasSideEffectAttr(op))
      return false;
    for (Value operand : op->getOperands()) {
      Operation *def = operand.getDefiningOp();
      ShardingAttr s = def ? getSharding(def) : ShardingAttr();
      if (s && isTileMaximal(s) && !getUniqueDevice(s))
        return maybeImprove(s, op, mayCombine, false, OriginKind::Forward, def,
                            "replicated-operand");
    }
    return false;
  }
  if (isDataFlowOp(op))
    return inferDataFlowFromOperands(op, aggressiveness, mayCombine);
  // A ShardBarrierFrom lets nothing through forward.
  if (isCustomCall(op, "ShardBarrierFrom"))
    return false;
  const OpShardingRule &rule = getRule(op);
  if (!rule.isValid())
    return false;
  if (aggressiveness < rule.minForwardAggressiveness)
    return false;
  if (!options.isSpmd && !rule.supportsNonSpmd)
    return false;
  if (isa<hlo::ConvolutionOp>(op))
    return inferConvolution(op, rule, mayCombine);
  if (rule.combine == OperandCombine::Contraction)
    return inferContraction(op, rule, mayCombine);
  return inferWithRule(op, rule, aggressiveness, mayCombine);
}

//===----------------------------------------------------------------------===//
// Backward
//===----------------------------------------------------------------------===//

bool Driver::inferFromUsers(Operation *op, int64_t aggressiveness) {
  if (aggressiveness < 2 && isa<hlo::BroadcastOp>(op))
    return false;
  ShardingAttr current = getSharding(op);
  if (current && isManual(current))
    return false;
  Type type = op->getResult(0).getType();
  SmallVector<Operation *> users = getUsers(op);
  if (!current || isTileMaximal(current)) {
    for (Operation *user : users) {
      ShardingAttr us = getSharding(user);
      if (!us || isCustomCall(user, "SPMDFullToShardShape"))
        continue;
      if (isa<RankedTensorType>(type) && us.isManual()) {
        setSharding(op, ShardingAttr::getManual(op->getContext()),
                    OriginKind::Backward, user, "manual");
        return true;
      }
      std::optional<ShardingAttr> fromUser =
          getShardingFromUser(op, user, aggressiveness);
      if (fromUser && *fromUser && isManual(*fromUser)) {
        setSharding(op, *fromUser, OriginKind::Backward, user, "manual");
        return true;
      }
    }
  }
  bool allowParams = llvm::is_contained(options.allowToParameters, true);
  if (!supportsSpatialPartitioning(op, false, allowParams))
    return false;
  bool mayCombine = options.isSpmd && aggressiveness > 0;
  bool improved = false;
  for (Operation *user : users) {
    std::optional<ShardingAttr> fromUser =
        getShardingFromUser(op, user, aggressiveness);
    if (fromUser && *fromUser) {
      const OpShardingRule &rule = getRule(user);
      StringRef family = rule.isValid() ? rule.family : StringRef("data-flow");
      // A ShardBarrierTo blocks backward propagation: its users only make
      // it replicated.
      if (isCustomCall(op, "ShardBarrierTo")) {
        fromUser = ShardingAttr::getReplicated(op->getContext());
        family = "shard-barrier-to";
      }
      improved |= maybeImprove(*fromUser, op, mayCombine, false,
                               OriginKind::Backward, user, family);
    }
  }
  return improved;
}

std::optional<ShardingAttr>
Driver::getShardingFromUser(Operation *op, Operation *user,
                            int64_t aggressiveness) {
  if (!canPropagateAtLevel(user, aggressiveness))
    return std::nullopt;
  ShardingAttr us = getSharding(user);
  if (!isSpatiallyPartitioned(us))
    return std::nullopt;
  if (isDataFlowOp(user) || isa<hlo::OutfeedOp>(user))
    return dataFlowUserSharding(op, user);
  const OpShardingRule &rule = getRule(user);
  if (!rule.isValid()) {
    if (isa<hlo::CustomCallOp>(user) || !isa<hlo::CustomCallOp>(user)) {
      if (rules::isArray(op->getResult(0).getType()) &&
          rules::getShape(op->getResult(0)) ==
              rules::getShape(user->getResult(0)) &&
          rules::isArray(user->getResult(0).getType()))
        return us;
    }
    return std::nullopt;
  }
  return userShardingWithRule(op, user, rule, aggressiveness);
}

/// MPMD: operand `index` of a concatenate tiled along its concatenated dim
/// `dim` lives on the devices of the tiles it overlaps; the sharding is that
/// slice of the tile assignment (one device: maximal). O(devices).
static ShardingAttr concatOperandSlice(Operation *concat, int64_t index,
                                       int64_t dim) {
  ShardingAttr us = Driver::getSharding(concat);
  TileAssignment ta = getTileAssignment(us);
  int64_t size = rules::getShape(concat->getResult(0))[dim];
  int64_t tileSize = llvm::divideCeil(size, ta.getDim(dim));
  int64_t offset = 0;
  for (int64_t i = 0; i < index; ++i)
    offset += rules::getShape(concat->getOperand(i))[dim];
  int64_t first = offset / tileSize;
  int64_t last = llvm::divideCeil(
      offset + rules::getShape(concat->getOperand(index))[dim], tileSize);
  SmallVector<int64_t> dims(ta.getDims().begin(), ta.getDims().end());
  dims[dim] = last - first;
  SmallVector<int64_t> devices;
  for (int64_t flat = 0, e = ta.getNumDevices(); flat < e; ++flat) {
    SmallVector<int64_t> coord = ta.unflatten(flat);
    if (coord[dim] >= first && coord[dim] < last)
      devices.push_back(ta.deviceAt(flat));
  }
  if (devices.size() == 1)
    return ShardingAttr::getMaximal(concat->getContext(), devices[0]);
  return getTiledSharding(concat->getContext(),
                          TileAssignment::getExplicit(dims, devices),
                          us.getReplicateOnLastTileDim(), us.getLastTileDims());
}

std::optional<ShardingAttr>
Driver::userShardingWithRule(Operation *op, Operation *user,
                             const OpShardingRule &rule,
                             int64_t aggressiveness) {
  ShardingAttr us = getSharding(user);
  int64_t index = operandIndex(user, op);
  if (index < 0 || !rule.operandInvolved[index])
    return std::nullopt;
  bool mayCombine = options.isSpmd && aggressiveness > 0;
  StringRef family = rule.family;
  Type userType = user->getResult(0).getType();
  // The user's sharding of the result leaf paired with this operand.
  int64_t leaf = 0;
  if (isa<TupleType>(userType)) {
    leaf = index < static_cast<int64_t>(rule.resultOperand.size()) &&
                   rule.resultOperand[index] >= 0
               ? rule.resultOperand[index]
               : 0;
  }
  ShardingAttr leafSharding = isa<TupleType>(userType)
                                  ? getTupleElementSharding(us, userType, leaf)
                                  : us;
  if (family == "concatenate" || family == "dynamic-slice" ||
      family == "dynamic-update-slice") {
    if (aggressiveness == 0)
      return std::nullopt;
    if (us.isReplicated())
      return us;
    if (family == "concatenate" && !options.isSpmd) {
      int64_t dim = cast<hlo::ConcatenateOp>(user).getDimensions()[0];
      if (us.isTiled() &&
          getTilesPerDim(us, rule.resultDims[0].size())[dim] > 1)
        return concatOperandSlice(user, index, dim);
    }
  }
  if (family == "broadcast") {
    if (us.isReplicated() || us.isManual())
      return us;
    if (!options.isSpmd && us.isTiled()) {
      SmallVector<int64_t> tiles =
          getTilesPerDim(us, rule.resultDims[0].size());
      for (auto [d, f] : llvm::enumerate(rule.resultDims[0]))
        if (!llvm::is_contained(rule.operandDims[0], f) && tiles[d] > 1)
          return std::nullopt;
    }
  }
  if (family == "convolution" && !rule.convSpatialFactors.empty())
    return std::nullopt;
  if (family == "reduce" && rules::getShape(op->getResult(0)).empty())
    return std::nullopt;
  if (family == "gather" && index == 0 && !options.isSpmd)
    return std::nullopt;
  if (family == "scatter") {
    int64_t n = rule.resultDims.size();
    if (index < n)
      return leafSharding;
    if (index == n) {
      // Indices: the common sharding the partitioned updates imply.
      std::optional<ShardingAttr> common;
      for (int64_t j = n + 1; j < 2 * n + 1; ++j) {
        Operation *def = user->getOperand(j).getDefiningOp();
        if (!def || !isPartitioned(def))
          continue;
        ShardingAttr s = projectSharding(
            getSharding(def), rule, rule.operandDims[j], rule.operandDims[n]);
        if (!common) {
          common = s;
        } else if (auto merged = mergeShardingIfCompatible(
                       s, *common, getNumTiles(*common))) {
          common = *merged;
        }
      }
      return common;
    }
    // Updates: from the indices, refined by the output (SPMD).
    Operation *indices = user->getOperand(n).getDefiningOp();
    ShardingAttr fromIndices =
        indices && isPartitioned(indices)
            ? projectSharding(getSharding(indices), rule, rule.operandDims[n],
                              rule.operandDims[index])
            : ShardingAttr::getReplicated(user->getContext());
    if (options.isSpmd) {
      ShardingAttr leafOut =
          isa<TupleType>(userType)
              ? getTupleElementSharding(us, userType, index - n - 1)
              : us;
      ShardingAttr fromOutput =
          projectSharding(leafOut, rule, rule.resultDims[index - n - 1],
                          rule.operandDims[index]);
      if (fromOutput) {
        if (auto merged = mergeShardingIfCompatible(
                fromIndices, fromOutput, getNumTiles(fromOutput) + 1))
          fromOutput = *merged;
        if (!isTileMaximal(fromOutput))
          return fromOutput;
      }
    }
    if (fromIndices && !isTileMaximal(fromIndices))
      return fromIndices;
    return std::nullopt;
  }
  ShardingAttr result;
  if (leafSharding.isReplicated() || leafSharding.isMaximal() ||
      leafSharding.isManual())
    result = leafSharding;
  else if (rule.projection == OpShardingRule::Projection::Reshape)
    result = propagateThroughReshape(leafSharding,
                                     rules::getShape(user->getResult(0)),
                                     rules::getShape(op->getResult(0)));
  else
    result = projectSharding(leafSharding, rule, rule.resultDims[leaf],
                             rule.operandDims[index]);
  if (!result)
    return std::nullopt;
  if (rule.backwardConsidersOtherOperands) {
    for (auto [j, other] : llvm::enumerate(user->getOperands())) {
      if (static_cast<int64_t>(j) == index || !rule.operandInvolved[j])
        continue;
      Operation *def = other.getDefiningOp();
      if (!def || !hasSharding(def))
        continue;
      ShardingAttr s = getSharding(def);
      if (family == "reduce") {
        if (!result.isTiled() || !s.isTiled() ||
            rule.operandDims[j].size() != rule.operandDims[index].size())
          continue;
        if (auto merged =
                mergeShardingIfCompatible(s, result, getNumTiles(result) + 1))
          result = *merged;
        continue;
      }
      if (!isSpatiallyPartitioned(s))
        continue;
      ShardingAttr fromOther = projectSharding(s, rule, rule.operandDims[j],
                                               rule.operandDims[index]);
      if (!fromOther)
        continue;
      if (isTileMaximal(result) && !isTileMaximal(fromOther)) {
        result = fromOther;
        continue;
      }
      mergeSharding(fromOther, result, mayCombine);
    }
  }
  return result;
}

//===----------------------------------------------------------------------===//
// The fixed-point loop
//===----------------------------------------------------------------------===//

LogicalResult Driver::run() {
  for (auto computation : module.getOps<hlo::ComputationOp>()) {
    computations[computation.getSymName()] = computation;
    if (computation.getIsEntry())
      entry = computation;
  }
  if (!entry) {
    auto range = module.getOps<hlo::ComputationOp>();
    if (range.empty())
      return success();
    for (auto c : range)
      entry = c;
  }
  MLIRContext *context = module.getContext();
  SmallVector<hlo::ComputationOp> order(
      module.getOps<hlo::ComputationOp>().begin(),
      module.getOps<hlo::ComputationOp>().end());

  // Original shardings for CSE prevention runs; otherwise drop leftovers of
  // an earlier CSE prevention run.
  DenseMap<Operation *, ShardingAttr> original;
  auto isCsePrevention = [](ShardingAttr s) {
    ArrayAttr metadata = s.getMetadata();
    if (!metadata || metadata.size() != 1)
      return false;
    auto dict = dyn_cast<DictionaryAttr>(metadata[0]);
    auto name = dict ? dict.getAs<StringAttr>("op_name") : StringAttr();
    return name && name.getValue() == "_sharding_propagation_cse_prevention";
  };
  module.walk([&](Operation *op) {
    ShardingAttr s = getSharding(op);
    if (!s)
      return;
    if (options.csePreventionOnly)
      original[op] = s;
    else if (isCsePrevention(s))
      op->removeAttr("sharding");
  });
  if (!options.propagateMetadata)
    module.walk([&](Operation *op) {
      if (ShardingAttr s = getSharding(op))
        if (s.getMetadata())
          op->setAttr("sharding", s.withoutMetadata());
    });

  // Sharding custom calls: unspecified dims, operand annotation.
  module.walk([&](hlo::CustomCallOp call) {
    if (call.getCustomCallTarget() != "Sharding")
      return;
    ShardingAttr s = getSharding(call);
    if (!s)
      return;
    SmallVector<int64_t> dims;
    if (std::optional<StringRef> config = call.getBackendConfig()) {
      StringRef text = *config;
      size_t pos = text.find("unspecified_dims=[");
      if (pos != StringRef::npos) {
        StringRef list = text.drop_front(pos + 18);
        list = list.take_until([](char c) { return c == ']'; });
        SmallVector<StringRef> parts;
        list.split(parts, ',', -1, false);
        for (StringRef part : parts) {
          int64_t v;
          if (!part.trim().getAsInteger(10, v))
            dims.push_back(v);
        }
        llvm::sort(dims);
      }
    }
    if (explanations)
      explanations->record(call, {OriginKind::Annotation, nullptr,
                                  "Sharding custom-call", 0, 0});
    if (!dims.empty()) {
      unspecifiedDims[call] = dims;
    } else if (Operation *def = call.getArgs()[0].getDefiningOp();
               def && !getSharding(def) && call.getArgs().size() == 1) {
      setSharding(def, s, OriginKind::Annotation, call, "Sharding custom-call");
    }
  });

  // Saved root/parameter shardings.
  Operation *entryRoot =
      entry.getRoot() ? entry.getRoot().getDefiningOp() : nullptr;
  SmallVector<ShardingAttr> savedRoot;
  bool allowOutput = llvm::is_contained(options.allowToOutput, true);
  bool allowParams = llvm::is_contained(options.allowToParameters, true);
  if (allowOutput && entryRoot && getSharding(entryRoot) &&
      isa<TupleType>(entryRoot->getResult(0).getType()))
    savedRoot =
        getLeaves(getSharding(entryRoot), entryRoot->getResult(0).getType());
  SmallVector<hlo::ParameterOp> params = hlo::getParameters(entry);
  DenseMap<int64_t, ShardingAttr> savedParams;
  if (allowParams)
    for (auto [i, param] : llvm::enumerate(params))
      if (param && getSharding(param))
        savedParams[i] = getSharding(param);

  buildComputationMap();
  collectShardGroups();

  // Provided shardings are fixed.
  auto isUnknown = [](ShardingAttr s) {
    return s.getKind() == ShardingKind::Unknown;
  };
  module.walk([&](Operation *op) {
    ShardingAttr s = getSharding(op);
    if (!s || isa<hlo::ComputationOp>(op))
      return;
    if (op != entryRoot && !isa<hlo::ParameterOp>(op) && !isUnknown(s)) {
      provided.insert(op);
      if (explanations && !explanations->lookup(op))
        explanations->record(op, {OriginKind::Annotation, nullptr, "", 0, 0});
    }
  });
  if (entryRoot && !allowOutput &&
      (!getSharding(entryRoot) || !isUnknown(getSharding(entryRoot))))
    provided.insert(entryRoot);
  if (!allowParams)
    for (hlo::ParameterOp param : params)
      if (param && getSharding(param) && !isUnknown(getSharding(param)))
        provided.insert(param);
  for (Operation *op : provided)
    if (explanations && getSharding(op) && !explanations->lookup(op))
      explanations->record(op, {OriginKind::Annotation, nullptr, "", 0, 0});
  module.walk([&](Operation *op) {
    if (ShardingAttr s = getSharding(op); s && isUnknown(s))
      op->setAttr("sharding", ShardingAttr::getReplicated(context));
  });

  // Fixed point at each aggressiveness.
  for (int64_t level = 0; level < 4; ++level) {
    currentAggressiveness = level;
    DenseSet<Operation *> doneOperands, doneUsers;
    bool changedLastIter = true;
    bool mayMergePartial = options.isSpmd && level > 0;
    while (changedLastIter) {
      changedLastIter = false;
      for (hlo::ComputationOp computation : order) {
        SmallVector<Operation *> ops;
        for (Operation &op : computation.getBody().front())
          if (!isa<hlo::ReturnOp>(op))
            ops.push_back(&op);
        auto clearCache = [&](Operation *op) {
          for (Value operand : op->getOperands())
            if (Operation *def = operand.getDefiningOp())
              doneUsers.erase(def);
          for (Operation *user : getUsers(op)) {
            doneOperands.erase(user);
            for (NamedAttribute attr : user->getAttrs()) {
              SmallVector<Attribute> refs;
              if (auto ref = dyn_cast<FlatSymbolRefAttr>(attr.getValue()))
                refs.push_back(ref);
              else if (auto array = dyn_cast<ArrayAttr>(attr.getValue()))
                refs.append(array.begin(), array.end());
              for (Attribute r : refs)
                if (hlo::ComputationOp callee = lookupComputation(r))
                  for (hlo::ParameterOp p : hlo::getParameters(callee))
                    if (p)
                      doneOperands.erase(p);
            }
          }
        };
        auto afterChange = [&](Operation *op) {
          SetVector<Operation *> changed;
          propagateThroughComputations(op, changed);
          clearCache(op);
          for (Operation *c : changed)
            clearCache(c);
          changedLastIter = true;
        };
        for (Operation *op : ops) {
          if (doneOperands.contains(op))
            continue;
          if (provided.contains(op)) {
            if (mayMergePartial && unspecifiedDims.count(op) &&
                refineUnspecifiedFromOperand(op)) {
              clearCache(op);
              doneOperands.insert(op);
              changedLastIter = true;
            }
            continue;
          }
          doneOperands.insert(op);
          if (inferFromOperands(op, level))
            afterChange(op);
        }
        for (Operation *op : llvm::reverse(ops)) {
          if (doneUsers.contains(op))
            continue;
          if (provided.contains(op)) {
            if (mayMergePartial && unspecifiedDims.count(op) &&
                refineUnspecifiedFromUsers(op, level)) {
              clearCache(op);
              doneUsers.insert(op);
              changedLastIter = true;
            }
            continue;
          }
          doneUsers.insert(op);
          if (inferFromUsers(op, level))
            afterChange(op);
        }
      }
      if (syncShardGroups()) {
        doneOperands.clear();
        doneUsers.clear();
        changedLastIter = true;
      }
      ++iteration;
    }
  }

  // CSE prevention: keep only scalar-broadcast shardings, marked.
  if (options.csePreventionOnly) {
    module.walk([&](Operation *op) {
      ShardingAttr s = getSharding(op);
      if (!s)
        return;
      auto broadcast = dyn_cast<hlo::BroadcastOp>(op);
      if (broadcast && rules::getShape(broadcast.getOperand()).empty()) {
        if (!original.count(op)) {
          auto name =
              StringAttr::get(context, "_sharding_propagation_cse_prevention");
          auto dict = DictionaryAttr::get(
              context,
              {NamedAttribute(StringAttr::get(context, "op_name"), name)});
          op->setAttr(
              "sharding",
              ShardingAttr::get(context, s.getKind(), s.getTileDims(),
                                s.getIotaReshapeDims(), s.getIotaPerm(),
                                s.getDevices(), s.getReplicateOnLastTileDim(),
                                s.getLastTileDims(), s.getTupleElements(),
                                ArrayAttr::get(context, {dict}),
                                s.getShardGroupKind(), s.getShardGroupId()));
        }
        return;
      }
      auto it = original.find(op);
      if (it != original.end())
        op->setAttr("sharding", it->second);
      else
        op->removeAttr("sharding");
    });
  }

  // Outputs and parameters the options do not allow to change.
  if (entryRoot && getSharding(entryRoot) &&
      savedRoot.size() == options.allowToOutput.size()) {
    Type type = entryRoot->getResult(0).getType();
    SmallVector<ShardingAttr> leaves = getLeaves(getSharding(entryRoot), type);
    for (size_t i = 0; i < savedRoot.size() && i < leaves.size(); ++i)
      if (!options.allowToOutput[i] && !isUnknown(savedRoot[i]))
        leaves[i] = savedRoot[i];
    entryRoot->setAttr("sharding", ShardingAttr::getTuple(context, leaves));
  }
  if (allowParams) {
    if (options.allowToParameters.size() == params.size()) {
      for (auto [i, param] : llvm::enumerate(params)) {
        if (!param || options.allowToParameters[i])
          continue;
        auto it = savedParams.find(i);
        if (it != savedParams.end() && !isUnknown(it->second))
          param->setAttr("sharding", it->second);
        else
          param->removeAttr("sharding");
      }
    } else if (params.size() == 1 && params[0] && savedParams.size() == 1 &&
               isa<TupleType>(params[0].getResult().getType())) {
      Type type = params[0].getResult().getType();
      auto tuple = cast<TupleType>(type);
      if (tuple.size() == options.allowToParameters.size()) {
        ShardingAttr whole = getSharding(params[0]);
        for (size_t i = 0; i < tuple.size(); ++i) {
          ShardingAttr saved = getTupleElementSharding(savedParams[0], type, i);
          if (!options.allowToParameters[i] && !isUnknown(saved))
            whole = replaceTupleElement(whole, type, i, saved);
        }
        params[0]->setAttr("sharding", whole);
      }
    }
  }
  auto replicated = ShardingAttr::getReplicated(context);
  if (allowOutput && entryRoot && getSharding(entryRoot)) {
    Type type = entryRoot->getResult(0).getType();
    if (auto tuple = dyn_cast<TupleType>(type)) {
      if (options.allowToOutput.size() == tuple.size()) {
        ShardingAttr whole = getSharding(entryRoot);
        for (size_t i = 0; i < tuple.size(); ++i)
          if (options.allowToOutput[i] &&
              !evenlyPartitions(tuple.getType(i),
                                getTupleElementSharding(whole, type, i)))
            whole = replaceTupleElement(whole, type, i, replicated);
        entryRoot->setAttr("sharding", whole);
      }
    } else if (!evenlyPartitions(type, getSharding(entryRoot))) {
      setSharding(entryRoot, replicated, OriginKind::Reset, nullptr,
                  "output not evenly divisible");
    }
  }
  if (allowParams) {
    if (options.allowToParameters.size() == params.size()) {
      for (auto [i, param] : llvm::enumerate(params))
        if (param && getSharding(param) && options.allowToParameters[i] &&
            !evenlyPartitions(param.getResult().getType(), getSharding(param)))
          setSharding(param, replicated, OriginKind::Reset, nullptr,
                      "parameter not evenly divisible");
    } else if (params.size() == 1 && params[0] && getSharding(params[0])) {
      Type type = params[0].getResult().getType();
      if (auto tuple = dyn_cast<TupleType>(type);
          tuple && tuple.size() == options.allowToParameters.size()) {
        ShardingAttr whole = getSharding(params[0]);
        for (size_t i = 0; i < tuple.size(); ++i)
          if (options.allowToParameters[i] &&
              !evenlyPartitions(tuple.getType(i),
                                getTupleElementSharding(whole, type, i)))
            whole = replaceTupleElement(whole, type, i, replicated);
        params[0]->setAttr("sharding", whole);
      }
    }
  }
  return success();
}

} // namespace gshard::propagation
