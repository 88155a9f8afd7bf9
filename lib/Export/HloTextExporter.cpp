//===- HloTextExporter.cpp - Print hlo-dialect modules as HLO text --------===//
//
// Prints a module in the layout of XLA's `HloModule::ToString()`:
//
//   HloModule name, header...
//
//   %callee (p: f32[]) -> f32[] {
//     ...
//   }
//
//   ENTRY %main (p: f32[4]) -> f32[4] {
//     %p = f32[4]{0} parameter(0), sharding={replicated}
//     ROOT %add = f32[4]{0} add(%p, %p)
//   }
//
// Instruction attributes are printed by HloAttrSyntax.def, in the order XLA
// prints them: opcode-specific attributes, called computations, sharding,
// frontend_attributes, control-predecessors, metadata, backend_config.
//
//===----------------------------------------------------------------------===//

#include "gshard/Export/HloTextExporter.h"
#include "ExportUtils.h"
#include "gshard/IR/HloDict.h"
#include "gshard/IR/HloOps.h"
#include "gshard/IR/HloSyntax.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/Allocator.h"
#include "llvm/Support/StringSaver.h"

using namespace mlir;
using namespace gshard;
using namespace gshard::hlo;
using namespace gshard::export_detail;

namespace {

//===----------------------------------------------------------------------===//
// The printer
//===----------------------------------------------------------------------===//

class Exporter {
public:
  Exporter(ModuleOp module, llvm::raw_ostream &os) : module(module), os(os) {}

  LogicalResult run();

private:
  LogicalResult collectComputations();
  LogicalResult assignNames();
  LogicalResult printHeader();
  LogicalResult printComputation(ComputationOp computation);
  LogicalResult printInstruction(Operation *op, bool isRoot);
  LogicalResult printOperands(Operation *op);
  LogicalResult printAttributes(Operation *op);
  LogicalResult printValue(Operation *op, llvm::StringRef key, Kind kind,
                           Attribute value);
  LogicalResult printComputationRef(Operation *op, Attribute ref);
  LogicalResult printShape(Operation *op, Type type, bool withLayout = true);

  ModuleOp module;
  llvm::raw_ostream &os;

  /// Computations in print order: callees before callers, ENTRY last.
  SmallVector<ComputationOp> computations;
  llvm::StringMap<ComputationOp> computationsByName;

  /// The printed (unique, valid) name of every instruction.
  llvm::DenseMap<Operation *, llvm::StringRef> names;
  /// Per computation: the name an instruction was given -> printed name,
  /// to resolve control-predecessors (built on first use).
  llvm::DenseMap<Operation *, llvm::StringMap<llvm::StringRef>> localNames;
  const llvm::StringMap<llvm::StringRef> &
  getLocalNames(ComputationOp computation);
  /// HLO opcode per op name, and print rank and syntax per attribute name.
  llvm::DenseMap<OperationName, std::string> opcodes;
  llvm::StringRef getOpcode(Operation *op);
  llvm::DenseMap<std::pair<OperationName, StringAttr>,
                 std::optional<std::pair<unsigned, Kind>>>
      attrInfo;
  llvm::BumpPtrAllocator allocator;
  llvm::StringSaver saver{allocator};
};

} // namespace

llvm::StringRef Exporter::getOpcode(Operation *op) {
  auto [it, inserted] = opcodes.try_emplace(op->getName());
  if (inserted)
    it->second = getHloOpcode(op);
  return it->second;
}

LogicalResult Exporter::run() {
  if (failed(collectComputations()) || failed(assignNames()) ||
      failed(printHeader()))
    return failure();
  for (ComputationOp computation : computations)
    if (failed(printComputation(computation)))
      return failure();
  return success();
}

/// All attributes of `op`, inherent and discardable, in no particular order.
/// (Operation::getAttrDictionary would unique a new dictionary per op.)
static SmallVector<NamedAttribute, 8> getAllAttrs(Operation *op) {
  SmallVector<NamedAttribute, 8> attrs(op->getDiscardableAttrs());
  // By the registered names: populateInherentAttrs would re-unique each name.
  for (StringAttr name : op->getName().getAttributeNames())
    if (std::optional<Attribute> value = op->getInherentAttr(name.strref()))
      if (*value)
        attrs.push_back(NamedAttribute(name, *value));
  return attrs;
}

/// Appends the computations `op` calls to `callees`.
static void collectCallees(Operation *op,
                           SmallVectorImpl<llvm::StringRef> &callees) {
  for (NamedAttribute attr : getAllAttrs(op)) {
    if (auto ref = dyn_cast<FlatSymbolRefAttr>(attr.getValue())) {
      callees.push_back(ref.getValue());
    } else if (auto array = dyn_cast<ArrayAttr>(attr.getValue())) {
      for (Attribute element : array)
        if (auto ref = dyn_cast<FlatSymbolRefAttr>(element))
          callees.push_back(ref.getValue());
    }
  }
}

LogicalResult Exporter::collectComputations() {
  SmallVector<ComputationOp> inModuleOrder;
  ComputationOp entry;
  for (Operation &op : module.getBody()->getOperations()) {
    auto computation = dyn_cast<ComputationOp>(op);
    if (!computation)
      return op.emitError("cannot be printed as HLO: only hlo.computation "
                          "ops may appear at module level");
    inModuleOrder.push_back(computation);
    computationsByName[computation.getSymName()] = computation;
    if (computation.getIsEntry()) {
      if (entry)
        return computation.emitError("a module has one ENTRY computation; '")
               << entry.getSymName() << "' is one already";
      entry = computation;
    }
  }
  if (!entry && !inModuleOrder.empty())
    return module.emitError("cannot be printed as HLO: no computation is "
                            "marked is_entry");

  // Post-order over the call graph, starting from each computation in module
  // order (so an already well-ordered module keeps its order) and the ENTRY
  // computation last, as XLA prints.
  llvm::DenseSet<Operation *> visited;
  SmallVector<std::pair<ComputationOp, SmallVector<llvm::StringRef>>> stack;
  auto visit = [&](ComputationOp root) {
    if (!visited.insert(root).second)
      return;
    stack.push_back({root, {}});
    Block &block = root.getBody().front();
    for (Operation &op : block)
      collectCallees(&op, stack.back().second);
    std::reverse(stack.back().second.begin(), stack.back().second.end());
    while (!stack.empty()) {
      auto &[computation, pending] = stack.back();
      if (pending.empty()) {
        computations.push_back(computation);
        stack.pop_back();
        continue;
      }
      ComputationOp callee = computationsByName.lookup(pending.pop_back_val());
      if (!callee || callee == entry || !visited.insert(callee).second)
        continue;
      SmallVector<llvm::StringRef> calleePending;
      for (Operation &op : callee.getBody().front())
        collectCallees(&op, calleePending);
      std::reverse(calleePending.begin(), calleePending.end());
      stack.push_back({callee, std::move(calleePending)});
    }
  };
  for (ComputationOp computation : inModuleOrder)
    if (computation != entry)
      visit(computation);
  if (entry)
    visit(entry);
  return success();
}

static bool isNameChar(char c) {
  return llvm::isAlnum(c) || c == '_' || c == '.' || c == '-';
}

/// Makes `name` a valid HLO identifier ([A-Za-z_][A-Za-z0-9_.-]*).
static std::string sanitizeName(llvm::StringRef name) {
  std::string result;
  result.reserve(name.size() + 1);
  for (char c : name)
    result.push_back(
        llvm::isAlnum(c) || c == '_' || c == '.' || c == '-' ? c : '_');
  if (!result.empty() && !llvm::isAlpha(result[0]) && result[0] != '_')
    result.insert(result.begin(), '_');
  return result;
}

LogicalResult Exporter::assignNames() {
  // Given names are kept where they are unique (the first use wins, in print
  // order); the others and unnamed instructions get `base.N`.
  size_t count = 0;
  for (ComputationOp computation : computations)
    count += computation.getBody().front().getOperations().size();
  names.reserve(count);
  llvm::StringSet<> used;
  SmallVector<std::pair<Operation *, std::string>> pending;
  for (ComputationOp computation : computations) {
    for (Operation &op : computation.getBody().front()) {
      if (isa<ReturnOp>(op))
        continue;
      llvm::StringRef given = getInstructionName(op.getLoc());
      bool valid = !given.empty() &&
                   (llvm::isAlpha(given[0]) || given[0] == '_') &&
                   llvm::all_of(given, isNameChar);
      if (valid) {
        // The location's string is owned by the context: no copy needed.
        if (used.insert(given).second) {
          names[&op] = given;
          continue;
        }
      }
      std::string name = valid ? given.str() : sanitizeName(given);
      if (!valid && !name.empty() && used.insert(name).second)
        names[&op] = saver.save(name);
      else
        pending.push_back({&op, std::move(name)});
    }
  }
  llvm::StringMap<unsigned> nextSuffix;
  for (auto &[op, given] : pending) {
    std::string base = given;
    if (base.empty()) {
      base = getOpcode(op).str();
    } else {
      // `add.3` clashing continues as `add.4`, like XLA's name uniquer.
      size_t dot = base.rfind('.');
      unsigned suffix;
      if (dot != std::string::npos &&
          !llvm::StringRef(base).drop_front(dot + 1).getAsInteger(10, suffix)) {
        base.resize(dot);
        unsigned &next = nextSuffix[base];
        next = std::max(next, suffix + 1);
      }
    }
    unsigned &next = nextSuffix[base];
    if (next == 0)
      next = 1;
    std::string candidate;
    do {
      candidate = base + "." + std::to_string(next++);
    } while (!used.insert(candidate).second);
    names[op] = saver.save(candidate);
  }
  return success();
}

const llvm::StringMap<llvm::StringRef> &
Exporter::getLocalNames(ComputationOp computation) {
  auto [it, inserted] = localNames.try_emplace(computation);
  if (inserted)
    for (Operation &op : computation.getBody().front()) {
      llvm::StringRef given = getInstructionName(op.getLoc());
      if (!given.empty() && !isa<ReturnOp>(op))
        it->second.try_emplace(given, names[&op]);
    }
  return it->second;
}

//===----------------------------------------------------------------------===//
// Module header
//===----------------------------------------------------------------------===//

LogicalResult Exporter::printShape(Operation *op, Type type, bool withLayout) {
  // `os` is a buffer that is dropped on failure: partial text is harmless.
  if (failed(printHloShape(os, type, withLayout)))
    return op->emitError("cannot be printed as HLO: type ")
           << type << " has no HLO shape";
  return success();
}

LogicalResult Exporter::printHeader() {
  os << "HloModule ";
  std::optional<llvm::StringRef> name = module.getSymName();
  os << sanitizeName(name && !name->empty() ? *name : "module");

  auto header = module->getAttrOfType<DictionaryAttr>(module_attrs::kHeader);
  if (!header && module->hasAttr(module_attrs::kHeader))
    return module.emitError("'")
           << module_attrs::kHeader << "' must be a dictionary";
  SmallVector<NamedAttribute> entries;
  if (header) {
    for (llvm::StringRef key : getHeaderOrder())
      if (auto entry = header.getNamed(key))
        entries.push_back(*entry);
    for (NamedAttribute entry : header)
      if (!llvm::is_contained(getHeaderOrder(), entry.getName().strref()))
        entries.push_back(entry);
  }
  for (NamedAttribute entry : entries) {
    os << ", " << entry.getName().strref() << '=';
    Attribute value = entry.getValue();
    if (auto type = dyn_cast<TypeAttr>(value)) {
      auto function = dyn_cast<FunctionType>(type.getValue());
      if (!function)
        return module.emitError("header '")
               << entry.getName().strref() << "' must be a function type";
      os << "{(";
      for (auto [i, input] : llvm::enumerate(function.getInputs())) {
        if (i)
          os << ", ";
        if (failed(printShape(module, input)))
          return failure();
      }
      os << ")->";
      if (function.getNumResults() == 1) {
        if (failed(printShape(module, function.getResult(0))))
          return failure();
      } else if (failed(printShape(module,
                                   TupleType::get(module.getContext(),
                                                  function.getResults())))) {
        return failure();
      }
      os << '}';
    } else if (auto boolean = dyn_cast<BoolAttr>(value)) {
      os << (boolean.getValue() ? "true" : "false");
    } else if (auto integer = dyn_cast<IntegerAttr>(value)) {
      os << integer.getValue().getSExtValue();
    } else if (auto bools = dyn_cast<DenseBoolArrayAttr>(value)) {
      os << '{';
      llvm::interleave(
          bools.asArrayRef(), os, [&](bool b) { os << (b ? "true" : "false"); },
          ",");
      os << '}';
    } else if (auto dict = dyn_cast<DictionaryAttr>(value)) {
      printFrontendAttributes(os, dict);
    } else if (auto text = dyn_cast<StringAttr>(value)) {
      os << text.getValue();
    } else {
      return module.emitError("header '")
             << entry.getName().strref() << "' has no HLO spelling: " << value;
    }
  }
  os << "\n\n";

  if (auto frames =
          module->getAttrOfType<StringAttr>(module_attrs::kStackFrameIndex)) {
    llvm::StringRef text = frames.getValue().trim("\n");
    if (!text.empty())
      os << text << "\n\n\n";
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Computations and instructions
//===----------------------------------------------------------------------===//

LogicalResult Exporter::printComputation(ComputationOp computation) {
  if (computation.getIsEntry())
    os << "ENTRY ";
  os << '%' << computation.getSymName() << " (";
  for (auto [i, param] : llvm::enumerate(getParameters(computation))) {
    if (i)
      os << ", ";
    if (!param)
      return computation.emitError("parameter ") << i << " is missing";
    os << names[param] << ": ";
    if (failed(printShape(param, param.getType(), /*withLayout=*/false)))
      return failure();
  }
  os << ") -> ";
  Value root = computation.getRoot();
  if (!root)
    return computation.emitError("has no ROOT instruction");
  if (failed(printShape(computation, root.getType(), /*withLayout=*/false)))
    return failure();
  os << " {\n";
  Operation *rootOp = root.getDefiningOp();
  if (!rootOp)
    return computation.emitError("its ROOT is not an instruction");
  for (Operation &op : computation.getBody().front()) {
    if (isa<ReturnOp>(op))
      continue;
    if (failed(printInstruction(&op, &op == rootOp)))
      return failure();
  }
  os << '}';
  if (auto thread = computation.getExecutionThread()) {
    os << ", execution_thread=\"";
    printEscapedString(os, *thread);
    os << '"';
  }
  os << "\n\n";
  return success();
}

LogicalResult Exporter::printInstruction(Operation *op, bool isRoot) {
  if (!isa_and_nonnull<HloDialect>(op->getDialect()))
    return op->emitError("cannot be printed as HLO: not an hlo op");
  if (op->getNumResults() != 1 || op->getNumRegions() != 0)
    return op->emitError("cannot be printed as HLO: an instruction has "
                         "exactly one result and no regions");
  os << "  ";
  if (isRoot)
    os << "ROOT ";
  os << '%' << names[op] << " = ";
  if (failed(printShape(op, op->getResult(0).getType())))
    return failure();
  os << ' ' << getOpcode(op) << '(';
  if (auto param = dyn_cast<ParameterOp>(op)) {
    os << param.getParameterNumber();
  } else if (auto constant = dyn_cast<ConstantOp>(op)) {
    if (Attribute value = constant.getValueAttr()) {
      if (failed(printHloLiteral(os, value)))
        return op->emitError("cannot be printed as HLO: unsupported "
                             "constant value ")
               << value;
    } else {
      os << "{...}";
    }
  } else if (failed(printOperands(op))) {
    return failure();
  }
  os << ')';
  if (failed(printAttributes(op)))
    return failure();
  os << '\n';
  return success();
}

LogicalResult Exporter::printOperands(Operation *op) {
  for (auto [i, operand] : llvm::enumerate(op->getOperands())) {
    if (i) {
      os << ", ";
      if (i % 5 == 0)
        os << "/*index=" << i << "*/";
    }
    Operation *def = operand.getDefiningOp();
    auto it = def ? names.find(def) : names.end();
    if (it == names.end())
      return op->emitError("cannot be printed as HLO: operand ")
             << i << " is not an instruction of this computation";
    os << '%' << it->second;
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Attributes
//===----------------------------------------------------------------------===//

/// Attributes printed inside the parentheses rather than as `key=value`.
static bool isInherentOperand(Operation *op, llvm::StringRef name) {
  return (name == "parameter_number" && isa<ParameterOp>(op)) ||
         (name == "value" && isa<ConstantOp>(op)) ||
         name == "operandSegmentSizes";
}

/// Print rank and syntax of attribute `name` on `op`, or none for the ones
/// printed otherwise (operands, slice and pad arrays) or not printable.
static std::optional<std::pair<unsigned, Kind>> classify(Operation *op,
                                                         llvm::StringRef name) {
  if (isInherentOperand(op, name))
    return std::nullopt;
  const llvm::StringMap<Kind> &table = getSyntaxTable();
  auto it = table.find(name);
  if (it == table.end())
    return std::nullopt;
  return std::make_pair(getRank(op, name), it->second);
}

LogicalResult Exporter::printAttributes(Operation *op) {
  struct Entry {
    unsigned rank;
    llvm::StringRef key;
    Kind kind;
    Attribute value;
  };
  SmallVector<Entry> entries;
  const llvm::StringMap<Kind> &table = getSyntaxTable();
  bool isSlice = false, isPad = false;
  for (NamedAttribute attr : getAllAttrs(op)) {
    auto [it, inserted] = attrInfo.try_emplace({op->getName(), attr.getName()});
    if (inserted)
      it->second = classify(op, attr.getName().strref());
    if (!it->second) {
      llvm::StringRef name = attr.getName().strref();
      if (name == "start_indices" || name == "limit_indices" ||
          name == "strides")
        isSlice = true;
      else if (name == "edge_padding_low" || name == "edge_padding_high" ||
               name == "interior_padding")
        isPad = true;
      else if (!table.count(name) && !isInherentOperand(op, name))
        return op->emitError("cannot be printed as HLO: attribute '")
               << name << "' has no HLO spelling (it is not in "
               << "HloAttrSyntax.def)";
      continue;
    }
    entries.push_back({it->second->first, attr.getName().strref(),
                       it->second->second, attr.getValue()});
  }
  if (isSlice)
    entries.push_back({getRank(op, "slice"), "slice", Kind::Slice, {}});
  if (isPad)
    entries.push_back({getRank(op, "padding"), "padding", Kind::Padding, {}});
  llvm::sort(entries, [](const Entry &a, const Entry &b) {
    return std::tie(a.rank, a.key) < std::tie(b.rank, b.key);
  });
  for (const Entry &entry : entries) {
    os << ", "
       << (entry.key == "control_predecessors" ? "control-predecessors"
                                               : entry.key)
       << '=';
    if (failed(printValue(op, entry.key, entry.kind, entry.value)))
      return failure();
  }
  return success();
}

/// Prints `{a,b,c}`.
static void printIntList(llvm::raw_ostream &os, ArrayRef<int64_t> values) {
  os << '{';
  printJoined(os, values);
  os << '}';
}

/// The three same-length arrays of slice or pad, or failure.
static FailureOr<std::array<ArrayRef<int64_t>, 3>>
getArrays(Operation *op, std::array<llvm::StringRef, 3> names,
          llvm::StringRef key) {
  std::array<ArrayRef<int64_t>, 3> arrays;
  for (size_t i = 0; i < 3; ++i) {
    auto array = op->getAttrOfType<DenseI64ArrayAttr>(names[i]);
    if (!array)
      return op->emitError("cannot print '")
             << key << "': '" << names[i] << "' must be an array<i64>";
    arrays[i] = array.asArrayRef();
  }
  if (arrays[1].size() != arrays[0].size() ||
      arrays[2].size() != arrays[0].size())
    return op->emitError("cannot print '")
           << key << "': '" << names[0] << "', '" << names[1] << "' and '"
           << names[2] << "' differ in length";
  return arrays;
}

LogicalResult Exporter::printComputationRef(Operation *op, Attribute ref) {
  auto symbol = dyn_cast<FlatSymbolRefAttr>(ref);
  if (!symbol)
    return op->emitError("cannot be printed as HLO: expected a computation "
                         "reference, got ")
           << ref;
  if (!computationsByName.count(symbol.getValue()))
    return op->emitError("cannot be printed as HLO: computation '")
           << symbol.getValue() << "' does not exist";
  os << '%' << symbol.getValue();
  return success();
}

LogicalResult Exporter::printValue(Operation *op, llvm::StringRef key,
                                   Kind kind, Attribute value) {
  auto mismatch = [&](llvm::StringRef expected) {
    return op->emitError("cannot be printed as HLO: attribute '")
           << key << "' must be " << expected << ", got " << value;
  };
  switch (kind) {
  case Kind::IntList:
    if (auto array = dyn_cast<DenseI64ArrayAttr>(value)) {
      printIntList(os, array.asArrayRef());
      return success();
    }
    return mismatch("an array<i64>");
  case Kind::Int:
    if (auto integer = dyn_cast<IntegerAttr>(value)) {
      if (integer.getType().isUnsignedInteger())
        os << integer.getValue().getZExtValue();
      else
        os << integer.getValue().getSExtValue();
      return success();
    }
    return mismatch("an integer");
  case Kind::Float:
    if (auto real = dyn_cast<FloatAttr>(value)) {
      os << formatHloFloat(real.getValue());
      return success();
    }
    return mismatch("a float");
  case Kind::Bool:
    if (auto boolean = dyn_cast<BoolAttr>(value)) {
      os << (boolean.getValue() ? "true" : "false");
      return success();
    }
    return mismatch("a bool");
  case Kind::BoolList:
    if (auto bools = dyn_cast<DenseBoolArrayAttr>(value)) {
      os << '{';
      llvm::interleave(
          bools.asArrayRef(), os, [&](bool b) { os << (b ? "true" : "false"); },
          ",");
      os << '}';
      return success();
    }
    return mismatch("an array<i1>");
  case Kind::String:
    if (auto text = dyn_cast<StringAttr>(value)) {
      os << '"';
      printEscapedString(os, text.getValue());
      os << '"';
      return success();
    }
    return mismatch("a string");
  case Kind::Config:
  case Kind::RawString:
    if (auto text = dyn_cast<StringAttr>(value)) {
      if (kind == Kind::Config)
        printConfig(os, text.getValue());
      else
        os << text.getValue();
      return success();
    }
    return mismatch("a string");
  case Kind::Ident: {
    std::string ident =
        llvm::TypeSwitch<Attribute, std::string>(value)
            .Case([](ComparisonDirectionAttr a) {
              return stringifyComparisonDirection(a.getValue()).str();
            })
            .Case([](ComparisonTypeAttr a) {
              return stringifyComparisonType(a.getValue()).str();
            })
            .Case([](FftTypeAttr a) {
              return stringifyFftType(a.getValue()).str();
            })
            .Case([](RngDistributionAttr a) {
              return stringifyRngDistribution(a.getValue()).str();
            })
            .Case([](FusionKindAttr a) {
              return stringifyFusionKind(a.getValue()).str();
            })
            .Case([](CustomCallApiVersionAttr a) {
              return stringifyCustomCallApiVersion(a.getValue()).str();
            })
            .Case([](PrecisionAttr a) {
              return stringifyPrecision(a.getValue()).str();
            })
            .Case([](StringAttr a) { return a.getValue().str(); })
            .Default([](Attribute) { return std::string(); });
    if (ident.empty())
      return mismatch("an hlo enum");
    os << ident;
    return success();
  }
  case Kind::Computation:
    return printComputationRef(op, value);
  case Kind::ComputationList: {
    auto array = dyn_cast<ArrayAttr>(value);
    if (!array)
      return mismatch("an array of computation references");
    os << '{';
    for (auto [i, ref] : llvm::enumerate(array)) {
      if (i)
        os << ", ";
      if (failed(printComputationRef(op, ref)))
        return failure();
    }
    os << '}';
    return success();
  }
  case Kind::NameList: {
    auto array = dyn_cast<ArrayAttr>(value);
    if (!array)
      return mismatch("an array of instruction names");
    const auto &local = getLocalNames(op->getParentOfType<ComputationOp>());
    os << '{';
    for (auto [i, element] : llvm::enumerate(array)) {
      auto name = dyn_cast<StringAttr>(element);
      if (!name)
        return mismatch("an array of instruction names");
      auto it = local.find(name.getValue());
      if (it == local.end())
        return op->emitError("cannot be printed as HLO: ")
               << key << " names '" << name.getValue()
               << "', which is not an instruction of its computation";
      os << (i ? ", %" : "%") << it->second;
    }
    os << '}';
    return success();
  }
  case Kind::Sharding:
    if (auto sharding = dyn_cast<ShardingAttr>(value)) {
      sharding.printHlo(os);
      return success();
    }
    return mismatch("an #hlo.sharding");
  case Kind::Window:
    if (auto window = dyn_cast<WindowAttr>(value)) {
      window.printHlo(os);
      return success();
    }
    return mismatch("an #hlo.window");
  case Kind::ConvDims:
    if (auto dims = dyn_cast<ConvDimensionNumbersAttr>(value)) {
      dims.printHlo(os);
      return success();
    }
    return mismatch("an #hlo.conv_dims");
  case Kind::ReplicaGroups:
    if (auto groups = dyn_cast<ReplicaGroupsAttr>(value)) {
      groups.printHlo(os);
      return success();
    }
    return mismatch("an #hlo.replica_groups");
  case Kind::Pairs: {
    auto array = dyn_cast<DenseI64ArrayAttr>(value);
    if (!array || array.size() % 2 != 0)
      return mismatch("an array<i64> of source,target pairs");
    ArrayRef<int64_t> flat = array.asArrayRef();
    os << '{';
    for (size_t i = 0; i < flat.size(); i += 2)
      os << (i ? ",{" : "{") << flat[i] << ',' << flat[i + 1] << '}';
    os << '}';
    return success();
  }
  case Kind::Dict:
    if (auto dict = dyn_cast<DictionaryAttr>(value)) {
      if (key == "metadata")
        printHloDict(os, dict, " ", getMetadataKeyOrder());
      else
        printFrontendAttributes(os, dict);
      return success();
    }
    return mismatch("a dictionary");
  case Kind::Shape:
    if (auto type = dyn_cast<TypeAttr>(value))
      return printShape(op, type.getValue());
    return mismatch("a type");
  case Kind::ShapeList: {
    auto array = dyn_cast<ArrayAttr>(value);
    if (!array)
      return mismatch("an array of types");
    os << '{';
    for (auto [i, element] : llvm::enumerate(array)) {
      auto type = dyn_cast<TypeAttr>(element);
      if (!type)
        return mismatch("an array of types");
      if (i)
        os << ", ";
      if (failed(printShape(op, type.getValue())))
        return failure();
    }
    os << '}';
    return success();
  }
  case Kind::PrecisionList: {
    auto array = dyn_cast<ArrayAttr>(value);
    if (!array)
      return mismatch("an array of #hlo.precision");
    os << '{';
    for (auto [i, element] : llvm::enumerate(array)) {
      auto precision = dyn_cast<PrecisionAttr>(element);
      if (!precision)
        return mismatch("an array of #hlo.precision");
      os << (i ? "," : "") << stringifyPrecision(precision.getValue());
    }
    os << '}';
    return success();
  }
  case Kind::Slice: {
    auto arrays =
        getArrays(op, {"start_indices", "limit_indices", "strides"}, "slice");
    if (failed(arrays))
      return failure();
    auto [starts, limits, strides] = *arrays;
    // Like XLA: strides are printed only when one of them is not 1.
    bool unitStrides = llvm::all_of(strides, [](int64_t s) { return s == 1; });
    os << '{';
    for (size_t i = 0; i < starts.size(); ++i) {
      os << (i ? ", [" : "[") << starts[i] << ':' << limits[i];
      if (!unitStrides)
        os << ':' << strides[i];
      os << ']';
    }
    os << '}';
    return success();
  }
  case Kind::Padding: {
    auto arrays = getArrays(
        op, {"edge_padding_low", "edge_padding_high", "interior_padding"},
        "padding");
    if (failed(arrays))
      return failure();
    auto [low, high, interior] = *arrays;
    // `low_high` per dimension, joined by `x`; like XLA, `low_high_interior`
    // everywhere once one dimension has interior padding.
    bool hasInterior = llvm::any_of(interior, [](int64_t i) { return i != 0; });
    for (size_t i = 0; i < low.size(); ++i) {
      os << (i ? "x" : "") << low[i] << '_' << high[i];
      if (hasInterior)
        os << '_' << interior[i];
    }
    return success();
  }
  }
  llvm_unreachable("unknown attribute syntax");
}

LogicalResult gshard::exportHloText(ModuleOp module, llvm::raw_ostream &os) {
  // Print into a buffer so that a failure leaves `os` untouched.
  std::string text;
  llvm::raw_string_ostream buffer(text);
  Exporter exporter(module, buffer);
  if (failed(exporter.run()))
    return failure();
  os << text;
  return success();
}
