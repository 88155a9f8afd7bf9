//===- Interpreter.cpp - Reference interpreter core -----------------------===//
//
// Part of gshard, under the Apache License v2.0.
//
// Computations are compiled once into instruction lists with operand slots
// (so calling a reducer per element is cheap), then executed by ExecContext.
// Op semantics live in the per-family files; this file dispatches by op name.
//
//===----------------------------------------------------------------------===//

#include "Exec.h"
#include "Rendezvous.h"
#include "SharedWork.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/Support/raw_ostream.h"

#include <thread>

using namespace mlir;
using namespace gshard;
using namespace gshard::sim;

//===----------------------------------------------------------------------===//
// Diagnostics
//===----------------------------------------------------------------------===//

static FileLineColLoc findFileLoc(Location loc) {
  if (auto file = dyn_cast<FileLineColLoc>(loc))
    return file;
  if (auto name = dyn_cast<NameLoc>(loc))
    return findFileLoc(name.getChildLoc());
  if (auto fused = dyn_cast<FusedLoc>(loc))
    for (Location inner : fused.getLocations())
      if (FileLineColLoc file = findFileLoc(inner))
        return file;
  if (auto callSite = dyn_cast<CallSiteLoc>(loc))
    return findFileLoc(callSite.getCallee());
  return {};
}

std::string gshard::sim::formatLocation(Operation *op) {
  if (!op)
    return "<unknown>";
  if (FileLineColLoc file = findFileLoc(op->getLoc()))
    return (file.getFilename().str() + ":" + Twine(file.getLine())).str();
  StringRef name = hlo::getInstructionName(op->getLoc());
  if (!name.empty())
    return ("%" + name).str();
  return "<unknown>";
}

std::string gshard::sim::formatError(Operation *op, const Twine &message) {
  std::string text;
  llvm::raw_string_ostream os(text);
  if (op)
    if (FileLineColLoc file = findFileLoc(op->getLoc()))
      os << file.getFilename().str() << ':' << file.getLine() << ':'
         << file.getColumn() << ": ";
  os << "error: " << message;
  return os.str();
}

std::nullptr_t ExecContext::fail(Operation *op, const Twine &message) {
  if (error.empty()) {
    std::string text;
    llvm::raw_string_ostream os(text);
    os << message;
    StringRef name = op ? hlo::getInstructionName(op->getLoc()) : "";
    if (!name.empty())
      os << " (instruction %" << name << ")";
    error = formatError(op, os.str());
  }
  return nullptr;
}

std::nullptr_t ExecContext::unsupported(Operation *op, const Twine &reason) {
  return fail(op, "cannot execute " + hlo::getHloOpcode(op) + " at " +
                      formatLocation(op) + ": " + reason);
}

//===----------------------------------------------------------------------===//
// Program
//===----------------------------------------------------------------------===//

static const HandlerTable &getHandlerTable() {
  static const HandlerTable table = [] {
    HandlerTable t;
    registerElementwiseHandlers(t);
    registerDataMovementHandlers(t);
    registerContractionHandlers(t);
    registerReductionHandlers(t);
    registerIndexingHandlers(t);
    registerControlFlowHandlers(t);
    registerCollectiveHandlers(t);
    registerMiscHandlers(t);
    registerSortHandlers(t);
    registerFeedHandlers(t);
    return t;
  }();
  return table;
}

bool Program::build(ModuleOp module, std::string &error) {
  const HandlerTable &table = getHandlerTable();
  for (auto computation : module.getOps<hlo::ComputationOp>()) {
    auto compiled = std::make_unique<CompiledComputation>();
    compiled->op = computation;
    DenseMap<Value, int> slotOf;
    Block &block = computation.getBody().front();
    for (Operation &op : block) {
      if (auto ret = dyn_cast<hlo::ReturnOp>(op)) {
        auto it = slotOf.find(ret.getRoot());
        if (it == slotOf.end()) {
          error = formatError(&op, "ROOT is not defined in its computation");
          return false;
        }
        compiled->rootSlot = it->second;
        break;
      }
      if (op.getNumResults() != 1) {
        error = formatError(&op, "instruction must have one result");
        return false;
      }
      int slot = compiled->ops.size();
      llvm::SmallVector<int, 4> operands;
      for (Value operand : op.getOperands()) {
        auto it = slotOf.find(operand);
        if (it == slotOf.end()) {
          error = formatError(&op, "operand defined outside its computation");
          return false;
        }
        operands.push_back(it->second);
      }
      compiled->ops.push_back(&op);
      compiled->operandSlots.push_back(std::move(operands));
      compiled->handlers.push_back(table.lookup(op.getName().getStringRef()));
      compiled->shareable.push_back(SharedWork::isCandidate(&op));
      slotOf[op.getResult(0)] = slot;
      if (auto param = dyn_cast<hlo::ParameterOp>(op))
        compiled->numParameters = std::max<size_t>(
            compiled->numParameters, param.getParameterNumber() + 1);
    }
    if (compiled->rootSlot < 0) {
      error =
          formatError(computation, "computation @" + computation.getSymName() +
                                       " has no ROOT");
      return false;
    }
    // Last uses: release a value after the last instruction reading it.
    size_t n = compiled->ops.size();
    std::vector<int> lastUse(n, -1);
    for (size_t i = 0; i < n; ++i)
      for (int operand : compiled->operandSlots[i])
        lastUse[operand] = i;
    compiled->releaseAfter.resize(n);
    for (size_t v = 0; v < n; ++v)
      if (lastUse[v] >= 0 && static_cast<int>(v) != compiled->rootSlot)
        compiled->releaseAfter[lastUse[v]].push_back(v);
    if (computation.getIsEntry())
      entry = compiled.get();
    computations[computation.getSymName()] = std::move(compiled);
  }
  if (!entry) {
    error = "error: module has no ENTRY computation";
    return false;
  }
  return true;
}

//===----------------------------------------------------------------------===//
// ExecContext
//===----------------------------------------------------------------------===//

const CompiledComputation *ExecContext::lookup(Operation *user,
                                               FlatSymbolRefAttr callee) {
  const CompiledComputation *computation =
      callee ? program.lookup(callee.getValue()) : nullptr;
  if (!computation)
    fail(user, "calls unknown computation " +
                   (callee ? "%" + callee.getValue().str() : "<none>"));
  return computation;
}

LiteralRef ExecContext::call(Operation *user, FlatSymbolRefAttr callee,
                             ArrayRef<LiteralRef> args) {
  const CompiledComputation *computation = lookup(user, callee);
  if (!computation)
    return nullptr;
  return call(*computation, args);
}

LiteralRef ExecContext::call(const CompiledComputation &computation,
                             ArrayRef<LiteralRef> args) {
  return callImpl(computation, args, nullptr);
}

LiteralRef ExecContext::callConsuming(const CompiledComputation &computation,
                                      std::vector<LiteralRef> &args) {
  return callImpl(computation, args, &args);
}

LiteralRef ExecContext::callImpl(const CompiledComputation &computation,
                                 ArrayRef<LiteralRef> args,
                                 std::vector<LiteralRef> *owned) {
  if (args.size() != computation.numParameters)
    return fail(computation.op, "computation @" + computation.op.getSymName() +
                                    " takes " +
                                    Twine(computation.numParameters) +
                                    " parameters, given " + Twine(args.size()));
  size_t n = computation.ops.size();
  std::vector<LiteralRef> values(n);
  llvm::SmallVector<LiteralRef, 4> operands;
  for (size_t i = 0; i < n; ++i) {
    Operation *op = computation.ops[i];
    if (auto param = dyn_cast<hlo::ParameterOp>(op)) {
      const LiteralRef &arg = args[param.getParameterNumber()];
      if (!arg || !arg->matchesType(op->getResult(0).getType())) {
        std::string expected;
        llvm::raw_string_ostream os(expected);
        printHloShape(os, op->getResult(0).getType());
        return fail(op, "argument does not match parameter shape " + os.str());
      }
      if (owned)
        values[i] = std::move((*owned)[param.getParameterNumber()]);
      else
        values[i] = arg;
      continue;
    }
    Handler handler = computation.handlers[i];
    if (!handler)
      return unsupported(op, "no defined semantics in the simulator");
    operands.clear();
    const llvm::SmallVector<int, 4> &slots = computation.operandSlots[i];
    for (int slot : slots)
      operands.push_back(values[slot]);
    // Operands read for the last time (once) are handed over, so in-place
    // handlers (takeOrClone) see themselves as the only holder.
    for (int dead : computation.releaseAfter[i])
      if (llvm::count(slots, dead) == 1)
        values[dead].reset();
    LiteralRef result = sharedWork && computation.shareable[i] &&
                                SharedWork::isWorthSharing(operands)
                            ? sharedWork->run(*this, op, handler, operands)
                            : handler(*this, op, operands);
    operands.clear();
    if (!result) {
      if (error.empty())
        fail(op, "execution failed");
      return nullptr;
    }
    if (!result->matchesType(op->getResult(0).getType())) {
      std::string text;
      llvm::raw_string_ostream os(text);
      os << "internal error: " << hlo::getHloOpcode(op) << " produced ";
      printHloShape(os, result->getType(op->getContext()));
      os << ", expected ";
      printHloShape(os, op->getResult(0).getType());
      return fail(op, os.str());
    }
    values[i] = std::move(result);
    for (int dead : computation.releaseAfter[i])
      values[dead].reset();
  }
  return values[computation.rootSlot];
}

//===----------------------------------------------------------------------===//
// Executable
//===----------------------------------------------------------------------===//

Executable::~Executable() = default;

std::unique_ptr<Executable> Executable::create(ModuleOp module,
                                               std::string &error) {
  std::unique_ptr<Executable> exe(new Executable());
  exe->module = module;
  exe->program = std::make_unique<Program>();
  if (!exe->program->build(module, error))
    return nullptr;
  return exe;
}

hlo::ComputationOp Executable::getEntry() const {
  return program->getEntry()->op;
}

static bool checkComputation(const Program &program,
                             const CompiledComputation &computation,
                             llvm::SmallPtrSetImpl<const void *> &visited,
                             std::string &error, const ExecOptions &options);

/// Bytes a value of `type` occupies in the simulator (saturating).
static int64_t typeBytes(Type type) {
  if (auto tensor = dyn_cast<RankedTensorType>(type)) {
    ElemKind kind;
    if (!getElemKind(tensor.getElementType(), kind))
      return 0;
    int64_t bytes = kind == ElemKind::Pred
                        ? 1
                        : (getBitWidth(kind, tensor.getElementType()) + 7) / 8;
    for (int64_t d : tensor.getShape()) {
      if (d > 0 && bytes > (int64_t(1) << 62) / d)
        return int64_t(1) << 62;
      bytes *= d;
    }
    return bytes;
  }
  if (auto tuple = dyn_cast<TupleType>(type)) {
    int64_t total = 0;
    for (Type t : tuple.getTypes())
      total = std::min<int64_t>(int64_t(1) << 62, total + typeBytes(t));
    return total;
  }
  return 0;
}

static bool checkCallee(const Program &program, Operation *user,
                        FlatSymbolRefAttr callee,
                        llvm::SmallPtrSetImpl<const void *> &visited,
                        std::string &error, const ExecOptions &options) {
  const CompiledComputation *computation = program.lookup(callee.getValue());
  if (!computation) {
    error = formatError(user, "calls unknown computation %" +
                                  callee.getValue().str());
    return false;
  }
  return checkComputation(program, *computation, visited, error, options);
}

static bool checkComputation(const Program &program,
                             const CompiledComputation &computation,
                             llvm::SmallPtrSetImpl<const void *> &visited,
                             std::string &error, const ExecOptions &options) {
  int64_t maxBytes = options.maxValueBytes;
  if (!visited.insert(&computation).second)
    return true;
  for (size_t i = 0; i < computation.ops.size(); ++i) {
    Operation *op = computation.ops[i];
    auto cannot = [&](const Twine &reason) {
      error = formatError(op, "cannot execute " + hlo::getHloOpcode(op) +
                                  " at " + formatLocation(op) + ": " + reason);
      return false;
    };
    int64_t bytes = typeBytes(op->getResult(0).getType());
    if (bytes > maxBytes) {
      std::string shape;
      llvm::raw_string_ostream os(shape);
      printHloShape(os, op->getResult(0).getType());
      std::string name;
      if (StringRef n = hlo::getInstructionName(op->getLoc()); !n.empty())
        name = "%" + n.str() + " ";
      return cannot("too large to simulate: value " + name + os.str() +
                    " needs " + Twine(bytes >> 20) + " MiB (" + Twine(bytes) +
                    " bytes), more than the simulator's " +
                    Twine(maxBytes >> 20) + " MiB per value (--max-value-mib)");
    }
    if (isa<hlo::ParameterOp>(op))
      continue;
    if (!computation.handlers[i])
      return cannot("no defined semantics in the simulator");
    if (auto constant = dyn_cast<hlo::ConstantOp>(op)) {
      if (!constant.getValue())
        return cannot("the constant's literal was elided ({...}) in the dump");
    }
    if (auto custom = dyn_cast<hlo::CustomCallOp>(op)) {
      StringRef target = custom.getCustomCallTarget();
      if (!hasCustomCallSemantics(target) &&
          !llvm::is_contained(options.opaqueCustomCalls, target))
        return cannot("unknown custom-call target \"" + target + "\"");
    }
    for (NamedAttribute attr : op->getAttrs()) {
      if (auto ref = dyn_cast<FlatSymbolRefAttr>(attr.getValue())) {
        if (!checkCallee(program, op, ref, visited, error, options))
          return false;
      } else if (auto array = dyn_cast<ArrayAttr>(attr.getValue())) {
        for (Attribute element : array)
          if (auto ref = dyn_cast<FlatSymbolRefAttr>(element))
            if (!checkCallee(program, op, ref, visited, error, options))
              return false;
      }
    }
  }
  return true;
}

bool Executable::checkExecutable(std::string &error,
                                 int64_t maxValueBytes) const {
  ExecOptions options;
  options.maxValueBytes = maxValueBytes;
  return checkExecutable(error, options);
}

bool Executable::checkExecutable(std::string &error,
                                 const ExecOptions &options) const {
  llvm::SmallPtrSet<const void *, 16> visited;
  return checkComputation(*program, *program->getEntry(), visited, error,
                          options);
}

LiteralRef Executable::runSingle(ArrayRef<LiteralRef> args,
                                 const ExecOptions &options,
                                 std::string &error) const {
  ExecOptions single = options;
  single.numReplicas = 1;
  single.numPartitions = 1;
  std::vector<std::vector<LiteralRef>> perDevice = {
      std::vector<LiteralRef>(args.begin(), args.end())};
  std::vector<LiteralRef> results = run(perDevice, single, error);
  return results.empty() ? nullptr : results.front();
}

std::vector<LiteralRef> Executable::run(ArrayRef<std::vector<LiteralRef>> args,
                                        const ExecOptions &options,
                                        std::string &error) const {
  return runImpl(args, nullptr, options, error);
}

std::vector<LiteralRef>
Executable::runConsuming(std::vector<std::vector<LiteralRef>> args,
                         const ExecOptions &options, std::string &error) const {
  return runImpl(args, &args, options, error);
}

std::vector<LiteralRef>
Executable::runImpl(ArrayRef<std::vector<LiteralRef>> args,
                    std::vector<std::vector<LiteralRef>> *owned,
                    const ExecOptions &options, std::string &error) const {
  int64_t numDevices = options.numReplicas * options.numPartitions;
  if (numDevices <= 0 || static_cast<int64_t>(args.size()) != numDevices) {
    error = "error: expected arguments for " + std::to_string(numDevices) +
            " devices, got " + std::to_string(args.size());
    return {};
  }
  const CompiledComputation &entry = *program->getEntry();
  std::vector<LiteralRef> results(numDevices);
  std::vector<std::string> errors(numDevices);
  if (numDevices == 1) {
    ExecContext ctx(*program, options, 0, 0, nullptr);
    results[0] = owned ? ctx.callConsuming(entry, (*owned)[0])
                       : ctx.call(entry, args[0]);
    if (!results[0]) {
      error = ctx.error.empty() ? "error: execution failed" : ctx.error;
      return {};
    }
    return results;
  }
  Rendezvous rendezvous(numDevices, options.numPartitions);
  SharedWork sharedWork;
  auto runDevice = [&](int64_t device) {
    ExecContext ctx(*program, options, device / options.numPartitions,
                    device % options.numPartitions, &rendezvous);
    if (options.fastPaths)
      ctx.sharedWork = &sharedWork;
    results[device] = owned ? ctx.callConsuming(entry, (*owned)[device])
                            : ctx.call(entry, args[device]);
    if (!results[device])
      errors[device] =
          ctx.error.empty() ? "error: execution failed" : ctx.error;
    rendezvous.deviceFinished(device, errors[device]);
  };
  std::vector<std::thread> threads;
  threads.reserve(numDevices);
  for (int64_t d = 0; d < numDevices; ++d)
    threads.emplace_back(runDevice, d);
  for (std::thread &thread : threads)
    thread.join();
  // Report the failure that aborted the run (others were released with it).
  if (int64_t d = rendezvous.getFailedDevice(); d >= 0) {
    error = errors[d] + " [on device " + std::to_string(d) + "]";
    return {};
  }
  for (int64_t d = 0; d < numDevices; ++d) {
    if (!errors[d].empty()) {
      error = errors[d];
      return {};
    }
  }
  return results;
}
