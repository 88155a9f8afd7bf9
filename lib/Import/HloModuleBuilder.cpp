//===- HloModuleBuilder.cpp - From parsed records to hlo ops --------------===//
//
// Checks what needs a whole computation or module (operand names,
// computation references, parameter numbers, cycles), orders instructions
// topologically (keeping the written order where it is already valid),
// creates the ops generically from their records and verifies the result.
//
//===----------------------------------------------------------------------===//

#include "HloParser.h"

#include "gshard/IR/HloOps.h"
#include "gshard/Import/HloTextImporter.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringSwitch.h"

using namespace mlir;
using namespace gshard;
using namespace gshard::import;

/// `type` with layout encodings dropped (shape comparisons ignore layouts).
static Type stripLayouts(Type type) {
  if (auto tensor = dyn_cast<RankedTensorType>(type))
    return tensor.getEncoding() ? RankedTensorType::get(tensor.getShape(),
                                                        tensor.getElementType())
                                : type;
  if (auto tuple = dyn_cast<TupleType>(type)) {
    SmallVector<Type> elements;
    for (Type element : tuple.getTypes())
      elements.push_back(stripLayouts(element));
    return TupleType::get(type.getContext(), elements);
  }
  return type;
}

/// Whether two shapes are equal when layouts are ignored (without creating
/// layout-free types).
static bool sameShape(Type a, Type b) {
  if (a == b)
    return true;
  auto ta = dyn_cast<RankedTensorType>(a), tb = dyn_cast<RankedTensorType>(b);
  if (ta && tb)
    return ta.getShape() == tb.getShape() &&
           ta.getElementType() == tb.getElementType();
  auto tupleA = dyn_cast<TupleType>(a), tupleB = dyn_cast<TupleType>(b);
  if (!tupleA || !tupleB || tupleA.size() != tupleB.size())
    return false;
  for (auto [x, y] : llvm::zip(tupleA.getTypes(), tupleB.getTypes()))
    if (!sameShape(x, y))
      return false;
  return true;
}

/// HLO spelling of a shape for messages: f32[2,3], (s32[], token[]).
static void printShape(llvm::raw_ostream &os, Type type) {
  if (auto tensor = dyn_cast<RankedTensorType>(type)) {
    Type element = tensor.getElementType();
    if (element.isInteger(1))
      os << "pred";
    else if (auto intType = dyn_cast<IntegerType>(element))
      os << (intType.isUnsigned() ? "u" : "s") << intType.getWidth();
    else if (auto complex = dyn_cast<ComplexType>(element))
      os << (complex.getElementType().isF32() ? "c64" : "c128");
    else
      os << element;
    os << '[';
    llvm::interleave(tensor.getShape(), os, ",");
    os << ']';
  } else if (auto tuple = dyn_cast<TupleType>(type)) {
    os << '(';
    llvm::interleaveComma(tuple.getTypes(), os,
                          [&](Type t) { printShape(os, t); });
    os << ')';
  } else {
    os << "token[]";
  }
}

static std::string shapeString(Type type) {
  std::string text;
  llvm::raw_string_ostream os(text);
  printShape(os, type);
  return text;
}

Type HloParser::inferType(const InstrRecord &instr, ArrayRef<Value> operands) {
  auto fail = [&](const llvm::Twine &why) -> Type {
    emitError(instr.opcodeLoc, "cannot infer the shape of '%" + instr.name +
                                   "' (" + why + "); write its shape");
    return {};
  };
  llvm::StringRef opcode = instr.opcode;
  if (opcode == "tuple") {
    SmallVector<Type> types;
    for (Value operand : operands)
      types.push_back(operand.getType());
    return TupleType::get(context, types);
  }
  if (operands.empty())
    return fail("'" + opcode + "' without operands");
  // These produce their (first) operand's shape.
  if (opcode == "copy" || opcode == "opt-barrier" ||
      (opcode == "while" && operands.size() == 1))
    return stripLayouts(operands[0].getType());
  if (opcode == "get-tuple-element") {
    auto tuple = dyn_cast<TupleType>(operands[0].getType());
    auto index = dyn_cast_or_null<IntegerAttr>(instr.attrs.get("index"));
    if (!tuple || !index || index.getInt() < 0 ||
        index.getInt() >= int64_t(tuple.size()))
      return fail("needs a tuple operand and a valid index");
    return tuple.getType(index.getInt());
  }
  auto tensor = dyn_cast<RankedTensorType>(operands[0].getType());
  if (opcode == "select" && operands.size() == 3)
    tensor = dyn_cast<RankedTensorType>(operands[1].getType());
  if (!tensor)
    return fail("its operand is not an array");
  auto plain =
      RankedTensorType::get(tensor.getShape(), tensor.getElementType());
  if (opcode == "compare")
    return RankedTensorType::get(tensor.getShape(),
                                 IntegerType::get(context, 1));
  if (opcode == "select" ||
      (instr.opName->hasTrait<hlo::OpTrait::HloSameShape>() &&
       instr.opName->hasTrait<hlo::OpTrait::HloSameElementType>()))
    return plain;
  return fail("only elementwise ops, compare, select, tuple and "
              "get-tuple-element are inferred");
}

/// Whether XLA lets `opcode` produce a tuple or token. Every other opcode
/// produces an array; checking it here keeps a wrong declared shape from
/// reaching op verifiers that assume an array result.
static bool mayProduceNonArray(llvm::StringRef opcode) {
  return llvm::StringSwitch<bool>(opcode)
      .Cases("tuple", "get-tuple-element", "parameter", "constant", "while",
             "conditional", "call", "fusion", "custom-call", true)
      .Cases("sort", "reduce", "reduce-window", "scatter", "all-reduce",
             "all-gather", "all-to-all", "reduce-scatter", true)
      .Cases("collective-permute", "collective-broadcast", "infeed", "outfeed",
             "send", "send-done", "recv", "recv-done", true)
      .Cases("after-all", "add-dependency", "opt-barrier", "copy",
             "rng-bit-generator", "batch-norm-training", "batch-norm-grad",
             "topk", true)
      .Cases("select-and-scatter", "map", "domain", true)
      .Default(false);
}

bool HloParser::buildComputation(CompRecord &comp, Block &block) {
  std::deque<InstrRecord> &instrs = comp.instrs;
  size_t n = instrs.size();

  // Resolve operand and control-predecessor names to indices.
  std::vector<unsigned> depStart(n + 1, 0);
  std::vector<unsigned> deps;
  auto resolve = [&](const NameRef &ref, const InstrRecord &user,
                     llvm::StringRef what) -> bool {
    auto it = comp.indexByName.find(ref.name);
    if (it != comp.indexByName.end()) {
      deps.push_back(it->second);
      return true;
    }
    auto owner = instrOwner.find(ref.name);
    if (owner != instrOwner.end())
      return emitError(ref.loc, what + " '%" + ref.name + "' of '%" +
                                    user.name +
                                    "' is defined in computation '" +
                                    comps[owner->second].name + "', not in '" +
                                    comp.name + "'");
    return emitError(ref.loc, "use of undefined " + what + " '%" + ref.name +
                                  "' in '%" + user.name + "'");
  };
  for (size_t i = 0; i < n; ++i) {
    depStart[i] = deps.size();
    for (const NameRef &ref : instrs[i].operands)
      if (!resolve(ref, instrs[i], "operand"))
        return false;
    for (const NameRef &ref : instrs[i].controlPredecessors)
      if (!resolve(ref, instrs[i], "control predecessor"))
        return false;
  }
  depStart[n] = deps.size();

  // Parameter numbers must be 0..N-1, each once.
  llvm::DenseMap<int64_t, unsigned> params;
  int64_t maxNumber = -1;
  unsigned maxIndex = 0;
  for (size_t i = 0; i < n; ++i) {
    int64_t number = instrs[i].parameterNumber;
    if (number < 0)
      continue;
    auto [it, inserted] = params.try_emplace(number, i);
    if (!inserted)
      return emitError(instrs[i].loc,
                       "parameter number " + llvm::Twine(number) +
                           " is used twice in computation '" + comp.name +
                           "' (also by '%" + instrs[it->second].name + "')");
    if (number > maxNumber) {
      maxNumber = number;
      maxIndex = i;
    }
  }
  if (maxNumber >= int64_t(params.size())) {
    int64_t missing = 0;
    while (params.count(missing))
      ++missing;
    return emitError(instrs[maxIndex].loc,
                     "parameter numbers of computation '" + comp.name +
                         "' must be 0.." + llvm::Twine(params.size() - 1) +
                         " without gaps; parameter " + llvm::Twine(missing) +
                         " is missing");
  }

  // Topological order by iterative depth-first search: an instruction is
  // placed as soon as its operands are, so a valid written order is kept.
  enum : uint8_t { Unvisited, OnStack, Done };
  std::vector<uint8_t> state(n, Unvisited);
  std::vector<unsigned> order;
  order.reserve(n);
  std::vector<std::pair<unsigned, unsigned>> stack; // (node, next dep)
  for (size_t start = 0; start < n; ++start) {
    if (state[start] != Unvisited)
      continue;
    stack.push_back({unsigned(start), depStart[start]});
    state[start] = OnStack;
    while (!stack.empty()) {
      auto &[node, next] = stack.back();
      if (next < depStart[node + 1]) {
        unsigned dep = deps[next++];
        if (state[dep] == Unvisited) {
          state[dep] = OnStack;
          stack.push_back({dep, depStart[dep]});
        } else if (state[dep] == OnStack) {
          std::string path;
          size_t from = 0;
          while (stack[from].first != dep)
            ++from;
          for (size_t i = from; i < stack.size(); ++i)
            path += "%" + instrs[stack[i].first].name.str() + " -> ";
          path += "%" + instrs[dep].name.str();
          return emitError(instrs[dep].loc, "cyclic reference: " + path);
        }
        continue;
      }
      state[node] = Done;
      order.push_back(node);
      stack.pop_back();
    }
  }

  // Create the ops.
  std::vector<Value> values(n);
  for (unsigned index : order) {
    InstrRecord &instr = instrs[index];
    Location loc =
        NameLoc::get(StringAttr::get(context, instr.name), getLoc(instr.loc));
    OperationState state(loc, *instr.opName);
    state.operands.reserve(instr.operands.size());
    for (auto [i, ref] : llvm::enumerate(instr.operands)) {
      Value value = values[deps[depStart[index] + i]];
      if (ref.declaredType && !sameShape(ref.declaredType, value.getType()))
        return emitError(ref.loc, "operand '%" + ref.name + "' is written as " +
                                      shapeString(ref.declaredType) +
                                      " but its shape is " +
                                      shapeString(value.getType()));
      state.operands.push_back(value);
    }
    if (!instr.type &&
        !(instr.type = inferType(instr, ArrayRef<Value>(state.operands))))
      return false;
    if (!isa<RankedTensorType>(instr.type) && !mayProduceNonArray(instr.opcode))
      return emitError(instr.loc, "'" + instr.opcode +
                                      "' produces an array, not " +
                                      shapeString(instr.type));
    state.types.push_back(instr.type);
    // Every attribute was checked to be one the op declares, so they all go
    // straight to the op's properties (no attribute dictionary is built).
    Operation *op = Operation::create(state);
    for (const NamedAttribute &attr : instr.attrs)
      op->setInherentAttr(attr.getName(), attr.getValue());
    instr.attrs = NamedAttrList();
    block.push_back(op);
    values[index] = op->getResult(0);
  }
  InstrRecord &root = instrs[comp.rootIndex];
  OperationState ret(
      NameLoc::get(StringAttr::get(context, root.name), getLoc(root.loc)),
      "hlo.return");
  ret.operands.push_back(values[comp.rootIndex]);
  block.push_back(Operation::create(ret));
  return true;
}

OwningOpRef<ModuleOp> HloParser::buildModule() {
  for (const NameRef &ref : computationRefs)
    if (!compByName.count(ref.name)) {
      emitError(ref.loc, "unknown computation '%" + ref.name + "'");
      return nullptr;
    }
  // Without an ENTRY marker the last computation is the entry, as in XLA.
  if (llvm::none_of(comps, [](const CompRecord &c) { return c.isEntry; }))
    comps.back().isEntry = true;

  OwningOpRef<ModuleOp> module =
      ModuleOp::create(getLoc(moduleLoc), moduleName);
  Builder b(context);
  if (!header.empty())
    (*module)->setAttr(hlo::module_attrs::kHeader,
                       header.getDictionary(context));
  if (!stackFrameText.empty())
    (*module)->setAttr(hlo::module_attrs::kStackFrameIndex,
                       b.getStringAttr(stackFrameText));
  Block *body = module->getBody();
  SmallVector<Operation *> computations;
  for (CompRecord &comp : comps) {
    OperationState state(getLoc(comp.loc), "hlo.computation");
    state.addAttribute(SymbolTable::getSymbolAttrName(),
                       b.getStringAttr(comp.name));
    if (comp.isEntry)
      state.addAttribute("is_entry", b.getUnitAttr());
    if (comp.executionThread)
      state.addAttribute("execution_thread", comp.executionThread);
    Region *region = state.addRegion();
    Block *block = new Block();
    region->push_back(block);
    Operation *op = Operation::create(state);
    body->push_back(op);
    computations.push_back(op);
    if (!buildComputation(comp, *block))
      return nullptr;
  }
  // Verify computation by computation, in order, so the first error in the
  // file is the one reported.
  for (Operation *op : computations)
    if (failed(mlir::verify(op)))
      return nullptr;
  if (failed(mlir::verify(*module, /*verifyRecursively=*/false)) ||
      failed(gshard::verifyAcyclicCallGraph(*module)))
    return nullptr;
  return module;
}
