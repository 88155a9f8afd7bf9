//===- Partitioner.cpp - The SPMD partitioner driver ----------------------===//
//
// Rewrites a computation in place, instruction by instruction in HLO order:
// each instruction's handler (one op family per file, looked up by op name)
// emits the local computation before the original instruction, using the
// partitioned values of its operands; the result is then resharded to the
// instruction's own sharding. When every instruction is done, the root is
// resharded to the computation's output sharding and the original
// instructions are erased.
//
//===----------------------------------------------------------------------===//

#include "Spmd.h"

#include "mlir/IR/SymbolTable.h"
#include "mlir/IR/Verifier.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace gshard {

#define GEN_PASS_DEF_SPMDPARTITIONER
#include "gshard/Partitioner/Passes.h.inc"

namespace spmd {

const HandlerMap &getHandlers() {
  static const HandlerMap handlers = [] {
    HandlerMap map;
    registerElementwiseHandlers(map);
    registerLeafHandlers(map);
    registerShapeHandlers(map);
    registerReduceHandlers(map);
    registerDotHandlers(map);
    registerTupleHandlers(map);
    registerCustomCallHandlers(map);
    registerControlFlowHandlers(map);
    registerSliceHandlers(map);
    registerConvolutionHandlers(map);
    registerCollectiveHandlers(map);
    registerGatherScatterHandlers(map);
    return map;
  }();
  return handlers;
}

LogicalResult partitionReplicated(Operation *op, Spmd &spmd, StringRef why) {
  MLIRContext *context = op->getContext();
  ShardingAttr result = getResultSharding(op);
  Type resultType = op->getResult(0).getType();
  auto resultTensor = dyn_cast<RankedTensorType>(resultType);
  ShardingAttr target = ShardingAttr::getReplicated(context);
  // Manual results (and manual subgroups of a tensor) run on whole values
  // within each manual group: user code, or an op without a rule.
  bool manual = isManual(result);
  bool manualSubgroup =
      !manual && result.isTiled() && resultTensor &&
      isManualSubgroup(normalizeForTensor(result, resultTensor.getRank()));
  if (isManualSubgroup(result) && !manualSubgroup)
    return op->emitError("cannot partition '")
           << hlo::getHloOpcode(op)
           << "': a tuple result with manual subgroups has no rule";
  if (result.isMaximal())
    target = result;
  if (manual)
    target = ShardingAttr::getManual(context);
  auto operandTarget = [&](Type type) {
    auto tensor = dyn_cast<RankedTensorType>(type);
    if (!manualSubgroup || !tensor)
      return target;
    return wholeValueSharding(result, tensor.getRank());
  };
  if (manualSubgroup)
    target = wholeValueSharding(result, resultTensor.getRank());
  bool gathered = false;
  int64_t bytes = 0;
  SmallVector<Value> operands;
  for (Value operand : op->getOperands()) {
    PValue pv = spmd.get(operand);
    ShardingAttr to = operandTarget(pv.global);
    if (!sameSharding(pv.global, pv.sharding, to) &&
        !(to.isMaximal() && isTileMaximal(pv.sharding)) && !manual &&
        !isManual(pv.sharding)) {
      gathered = true;
      bytes += getByteSize(pv.global);
    }
    operands.push_back(spmd.reshard(pv, to));
  }
  if (spmd.hadError)
    return failure();
  if (manualSubgroup)
    resultType = getLocalType(resultType, target);
  bool resultTiled =
      !sameSharding(op->getResult(0).getType(), result, target) &&
      !result.isMaximal() && !manual;
  if (gathered || resultTiled) {
    std::string text;
    llvm::raw_string_ostream os(text);
    os << "'" << hlo::getHloOpcode(op) << "' runs replicated";
    if (!why.empty())
      os << " (" << why << ")";
    else
      os << " (no partitioning rule for this case)";
    os << ": its sharding is " << toString(result);
    if (gathered)
      os << "; " << bytes << " bytes of operands gathered to every device";
    spmd.warn(os.str());
  }
  Operation *clone = spmd.cloneWith(op, operands, resultType);
  spmd.set(op->getResult(0),
           {clone->getResult(0), target, op->getResult(0).getType()});
  return success();
}

static ShardingAttr getParameterSharding(hlo::ParameterOp param) {
  return getResultSharding(param);
}

LogicalResult partitionComputation(ModuleState &state,
                                   hlo::ComputationOp computation,
                                   ArrayRef<ShardingAttr> paramShardings,
                                   ShardingAttr rootSharding, bool isEntry) {
  Spmd spmd(state, computation);
  Block &block = computation.getBody().front();
  Operation *ret = block.getTerminator();
  SmallVector<Operation *> ops;
  for (Operation &op : block.without_terminator())
    ops.push_back(&op);
  const HandlerMap &handlers = getHandlers();
  for (Operation *op : ops) {
    spmd.current = op;
    spmd.builder.setInsertionPoint(op);
    if (auto param = dyn_cast<hlo::ParameterOp>(op)) {
      int64_t number = param.getParameterNumber();
      ShardingAttr s = getParameterSharding(param);
      if (!isEntry && number < int64_t(paramShardings.size()) &&
          paramShardings[number])
        s = paramShardings[number];
      Type global = param.getType();
      Type local = getLocalType(global, s);
      Operation *clone = spmd.cloneWith(op, {}, local);
      if (isEntry && op->hasAttr("sharding"))
        clone->setAttr("sharding", op->getAttr("sharding"));
      spmd.set(param.getResult(), {clone->getResult(0), s, global});
      continue;
    }
    Handler handler = handlers.lookup(op->getName().getStringRef());
    if (!handler)
      handler = [](Operation *op, Spmd &spmd) {
        return partitionReplicated(op, spmd);
      };
    if (failed(handler(op, spmd)) || spmd.hadError)
      return failure();
    Value result = op->getResult(0);
    if (!spmd.has(result))
      return op->emitError("internal error: '")
             << hlo::getHloOpcode(op) << "' produced no partitioned value";
    PValue pv = spmd.get(result);
    ShardingAttr target = getResultSharding(op);
    if (!sameSharding(pv.global, pv.sharding, target))
      spmd.set(result, spmd.reshardTo(pv, target));
    if (spmd.hadError)
      return failure();
  }
  // The root.
  spmd.current = nullptr;
  spmd.builder.setInsertionPoint(ret);
  Value rootValue = ret->getOperand(0);
  if (Operation *def = rootValue.getDefiningOp())
    spmd.current = def;
  PValue root = spmd.get(rootValue);
  if (!rootSharding)
    rootSharding = ShardingAttr::getReplicated(state.context);
  Value local = spmd.reshard(root, rootSharding);
  if (spmd.hadError)
    return failure();
  if (isEntry) {
    Operation *def = local.getDefiningOp();
    bool needsCopy =
        !def || isa<hlo::ParameterOp>(def) ||
        (def->hasAttr("sharding") && def->getAttr("sharding") != rootSharding);
    if (needsCopy) {
      if (isa<TupleType>(local.getType())) {
        auto tuple = cast<TupleType>(local.getType());
        SmallVector<Value> elements;
        for (int64_t i = 0, e = tuple.size(); i < e; ++i)
          elements.push_back(spmd.getTupleElement(local, i));
        local = spmd.tuple(elements);
      } else if (isa<RankedTensorType>(local.getType())) {
        local = spmd.create("hlo.copy", local, local.getType())->getResult(0);
      }
      def = local.getDefiningOp();
    }
    if (def) {
      auto original = ret->getOperand(0).getDefiningOp();
      Attribute attr = original ? original->getAttr("sharding") : Attribute();
      def->setAttr("sharding", attr ? attr : rootSharding);
    }
  }
  ret->setOperand(0, local);
  for (Operation *op : llvm::reverse(ops)) {
    op->dropAllUses();
    op->erase();
  }
  return success();
}

} // namespace spmd

//===----------------------------------------------------------------------===//
// Module driver
//===----------------------------------------------------------------------===//

static int64_t maxShardingDevice(ShardingAttr s, int64_t rank) {
  if (!s)
    return -1;
  if (s.isTuple()) {
    int64_t m = -1;
    for (ShardingAttr e : s.getTupleElements())
      m = std::max(m, maxShardingDevice(e, rank));
    return m;
  }
  if (s.isMaximal())
    return s.getDevices()[0];
  if (s.isTiled())
    return s.getNumTileDevices() - 1;
  return -1;
}

static void updateHeader(ModuleOp module, int64_t numPartitions,
                         hlo::ComputationOp entry) {
  MLIRContext *context = module.getContext();
  NamedAttrList attrs;
  if (auto header =
          module->getAttrOfType<DictionaryAttr>(hlo::module_attrs::kHeader))
    attrs.append(header.getValue());
  attrs.set("num_partitions",
            IntegerAttr::get(IntegerType::get(context, 64), numPartitions));
  if (attrs.get("entry_computation_layout")) {
    SmallVector<Type> inputs;
    for (hlo::ParameterOp param : hlo::getParameters(entry))
      if (param)
        inputs.push_back(param.getType());
    Type result = entry.getRoot().getType();
    attrs.set("entry_computation_layout",
              TypeAttr::get(FunctionType::get(context, inputs, result)));
  }
  module->setAttr(hlo::module_attrs::kHeader, attrs.getDictionary(context));
}

/// Erases the computations the entry no longer reaches (partitioning replaces
/// the ops that called some of them). One walk collects each computation's
/// callees, so this is linear in the module: asking MLIR whether each symbol
/// is still used walks the whole module per computation, which took minutes
/// on a 27k-instruction PaxML step with hundreds of computations.
static void eraseDeadComputations(ModuleOp module) {
  llvm::StringMap<hlo::ComputationOp> byName;
  llvm::DenseMap<Operation *, llvm::SmallVector<hlo::ComputationOp>> callees;
  hlo::ComputationOp entry;
  for (auto computation : module.getOps<hlo::ComputationOp>()) {
    byName[computation.getSymName()] = computation;
    if (computation.getIsEntry())
      entry = computation;
  }
  for (auto computation : module.getOps<hlo::ComputationOp>()) {
    auto &list = callees[computation];
    computation->walk([&](Operation *op) {
      for (NamedAttribute attr : op->getAttrs())
        attr.getValue().walk([&](SymbolRefAttr ref) {
          auto it = byName.find(ref.getRootReference().getValue());
          if (it != byName.end())
            list.push_back(it->second);
        });
    });
  }
  if (!entry)
    return;
  llvm::SmallPtrSet<Operation *, 32> live{entry};
  llvm::SmallVector<hlo::ComputationOp> worklist{entry};
  while (!worklist.empty())
    for (hlo::ComputationOp callee : callees[worklist.pop_back_val()])
      if (live.insert(callee).second)
        worklist.push_back(callee);
  for (auto computation :
       llvm::make_early_inc_range(module.getOps<hlo::ComputationOp>()))
    if (!live.contains(computation))
      computation.erase();
}

LogicalResult partitionModule(ModuleOp module, const PartitionOptions &options,
                              std::vector<CollectiveRecord> *records) {
  hlo::ComputationOp entry;
  for (auto computation : module.getOps<hlo::ComputationOp>())
    if (computation.getIsEntry())
      entry = computation;
  if (!entry)
    return module.emitError("module has no ENTRY computation");
  int64_t numPartitions = options.numPartitions;
  if (numPartitions <= 0)
    if (auto header =
            module->getAttrOfType<DictionaryAttr>(hlo::module_attrs::kHeader))
      if (auto n = header.getAs<IntegerAttr>("num_partitions"))
        numPartitions = n.getInt();
  int64_t maxDevice = -1;
  WalkResult walk = module.walk([&](Operation *op) {
    if (auto s = op->getAttrOfType<ShardingAttr>("sharding"))
      maxDevice = std::max(maxDevice, maxShardingDevice(s, 0));
    return WalkResult::advance();
  });
  (void)walk;
  if (numPartitions <= 0)
    numPartitions = std::max<int64_t>(1, maxDevice + 1);
  if (maxDevice >= numPartitions)
    return module.emitError("a sharding names device ")
           << maxDevice << " but the module has " << numPartitions
           << " partitions";
  // Every sharding must fit its value.
  bool bad = false;
  module.walk([&](Operation *op) {
    auto s = op->getAttrOfType<ShardingAttr>("sharding");
    if (!s || op->getNumResults() != 1)
      return;
    if (failed(verifySharding(s, op->getResult(0).getType(), numPartitions,
                              [&] { return op->emitError(); })))
      bad = true;
  });
  if (bad)
    return failure();

  spmd::ModuleState state(module, options);
  state.numPartitions = numPartitions;
  ShardingAttr rootSharding;
  if (Operation *def = entry.getRoot().getDefiningOp())
    rootSharding = spmd::getResultSharding(def);
  if (failed(spmd::partitionComputation(state, entry, {}, rootSharding,
                                        /*isEntry=*/true)))
    return failure();
  eraseDeadComputations(module);
  updateHeader(module, numPartitions, entry);
  if (records)
    *records = std::move(state.records);
  return success();
}

void printCollectiveRecords(ArrayRef<CollectiveRecord> records,
                            llvm::raw_ostream &os) {
  for (const CollectiveRecord &r : records) {
    os << r.kind << " for %" << r.instruction << ": " << r.bytesPerDevice
       << " B/device";
    if (!r.fromSharding.empty() || !r.toSharding.empty())
      os << ", " << r.fromSharding << " -> " << r.toSharding;
    if (!r.reason.empty())
      os << " (" << r.reason << ")";
    os << "\n";
  }
}

namespace {
struct SpmdPartitionerPass
    : public impl::SpmdPartitionerBase<SpmdPartitionerPass> {
  using SpmdPartitionerBase::SpmdPartitionerBase;

  void runOnOperation() override {
    PartitionOptions options;
    options.numPartitions = numPartitions;
    options.warnOnReplication = warnOnReplication;
    options.windowedEinsumThresholdMiB = windowedEinsumThresholdMiB;
    std::vector<CollectiveRecord> records;
    if (failed(partitionModule(getOperation(), options, &records)))
      return signalPassFailure();
    if (explainCollectives)
      printCollectiveRecords(records, llvm::errs());
  }
};
} // namespace

void registerPartitionerPasses() {
  static bool once = [] {
    ::mlir::registerPass(
        [] { return std::make_unique<SpmdPartitionerPass>(); });
    return true;
  }();
  (void)once;
}

} // namespace gshard
