//===- Explanations.cpp - Where each sharding came from ---------*- C++ -*-===//

#include "Driver.h"

#include "llvm/ADT/StringExtras.h"

using namespace mlir;

namespace gshard {

static std::string nameOf(Operation *op) {
  StringRef name = hlo::getInstructionName(op->getLoc());
  if (!name.empty())
    return ("%" + name).str();
  return op->getName().getStringRef().str();
}

static std::string shardingText(Operation *op) {
  auto s = op->getAttrOfType<hlo::ShardingAttr>("sharding");
  if (!s)
    return "no sharding";
  std::string text;
  llvm::raw_string_ostream os(text);
  s.withoutMetadata().printHlo(os);
  return text;
}

static StringRef describe(OriginKind kind) {
  switch (kind) {
  case OriginKind::Annotation:
    return "annotated";
  case OriginKind::Forward:
    return "forward from operand";
  case OriginKind::Backward:
    return "backward from user";
  case OriginKind::ComputationEdge:
    return "along computation edge from";
  case OriginKind::ShardGroup:
    return "from shard group member";
  case OriginKind::Refinement:
    return "unspecified dims refined from";
  case OriginKind::Reset:
    return "reset";
  }
  return "";
}

void ShardingExplanations::explain(Operation *op, raw_ostream &os) const {
  llvm::SmallPtrSet<Operation *, 16> seen;
  for (int depth = 0; op && depth < 64 && seen.insert(op).second; ++depth) {
    os.indent(2 * depth) << nameOf(op) << " " << shardingText(op);
    const ShardingOrigin *origin = lookup(op);
    if (!origin) {
      os << (op->hasAttr("sharding") ? ": given in the input\n"
                                     : ": none assigned\n");
      return;
    }
    os << ": " << describe(origin->kind);
    if (origin->source && origin->kind != OriginKind::Annotation)
      os << " " << nameOf(origin->source);
    if (!origin->rule.empty())
      os << " (" << origin->rule;
    else
      os << " (";
    if (origin->kind != OriginKind::Annotation)
      os << (origin->rule.empty() ? "" : ", ") << "iteration "
         << origin->iteration << ", aggressiveness " << origin->aggressiveness;
    os << ")\n";
    if (origin->kind == OriginKind::Annotation ||
        origin->kind == OriginKind::Reset)
      return;
    op = origin->source;
  }
}

Operation *findInstruction(ModuleOp module, StringRef name) {
  name.consume_front("%");
  Operation *found = nullptr;
  module.walk([&](Operation *op) {
    if (!found && !isa<hlo::ComputationOp, hlo::ReturnOp>(op) &&
        hlo::getInstructionName(op->getLoc()) == name)
      found = op;
  });
  return found;
}

LogicalResult explainSharding(ModuleOp module,
                              const ShardingExplanations &explanations,
                              StringRef name, raw_ostream &os) {
  Operation *op = findInstruction(module, name);
  if (!op)
    return failure();
  explanations.explain(op, os);
  return success();
}

LogicalResult parseBoolList(StringRef text, SmallVectorImpl<bool> &values) {
  values.clear();
  text = text.trim().trim("{}");
  for (StringRef part : llvm::split(text, ',')) {
    for (StringRef item : llvm::split(part, ';')) {
      item = item.trim();
      if (item.empty())
        continue;
      if (item == "true" || item == "1")
        values.push_back(true);
      else if (item == "false" || item == "0")
        values.push_back(false);
      else
        return failure();
    }
  }
  if (values.empty())
    values.push_back(false);
  return success();
}

LogicalResult propagateShardings(ModuleOp module,
                                 const PropagationOptions &options,
                                 ShardingExplanations *explanations) {
  return propagation::Driver(module, options, explanations).run();
}

} // namespace gshard
