//===- Explanations.cpp - Where each sharding came from ---------*- C++ -*-===//

#include "Driver.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Path.h"

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
    return "along a computation edge from";
  case OriginKind::ShardGroup:
    return "from shard group member";
  case OriginKind::Refinement:
    return "unspecified dims refined from";
  case OriginKind::Reset:
    return "reset";
  }
  return "";
}

/// `file:line` of the instruction's text, or "".
static std::string whereOf(Operation *op) {
  Location loc = op->getLoc();
  if (auto nameLoc = dyn_cast<NameLoc>(loc))
    loc = nameLoc.getChildLoc();
  auto fileLoc = dyn_cast<FileLineColLoc>(loc);
  // Binary protos have no lines.
  if (!fileLoc || fileLoc.getLine() == 0)
    return "";
  return (llvm::sys::path::filename(fileLoc.getFilename().strref()) + ":" +
          Twine(fileLoc.getLine()))
      .str();
}

/// How the last op of a chain got its sharding, for the summary line.
static std::string describeEnd(Operation *op, const ShardingOrigin *origin) {
  std::string where = whereOf(op);
  std::string at = where.empty() ? "" : " at " + where;
  if (!origin)
    return "given in the input to " + nameOf(op) + at;
  if (origin->kind == OriginKind::Reset)
    return "reset of " + nameOf(op) + " (" + origin->rule + ")";
  if (origin->kind != OriginKind::Annotation)
    return nameOf(op) + " (" + describe(origin->kind).str() + " " +
           origin->rule + ")";
  if (origin->rule == "Sharding custom-call") {
    Operation *call = origin->source ? origin->source : op;
    std::string callWhere = whereOf(call);
    return "the Sharding custom-call " + nameOf(call) +
           (callWhere.empty() ? "" : " at " + callWhere);
  }
  return "the annotation of " + nameOf(op) + at;
}

void ShardingExplanations::explain(Operation *op, raw_ostream &os) const {
  // The chain op <- source <- ... back to an annotation (or to an
  // instruction whose sharding was given in the input).
  SmallVector<Operation *> chain;
  llvm::SmallPtrSet<Operation *, 16> seen;
  for (Operation *cur = op; cur && seen.insert(cur).second;) {
    chain.push_back(cur);
    const ShardingOrigin *origin = lookup(cur);
    if (!origin || origin->kind == OriginKind::Annotation ||
        origin->kind == OriginKind::Reset)
      break;
    cur = origin->source;
  }
  Operation *end = chain.back();
  const ShardingOrigin *endOrigin = lookup(end);
  os << nameOf(op) << " " << shardingText(op) << ": ";
  if (!op->hasAttr("sharding")) {
    os << "none assigned";
    auto parent = op->getParentOfType<hlo::ComputationOp>();
    bool inEntry = parent && parent.getIsEntry();
    if (inEntry && isa<hlo::ParameterOp>(op))
      os << " (an entry parameter only changes with "
            "allow-spmd-sharding-propagation-to-parameters)";
    else if (inEntry && llvm::any_of(op->getUsers(), [](Operation *user) {
               return isa<hlo::ReturnOp>(user);
             }))
      os << " (the entry root only changes with "
            "allow-spmd-sharding-propagation-to-output)";
    os << "\n";
    return;
  }
  int64_t steps = chain.size() - 1;
  if (steps == 0 && endOrigin && endOrigin->kind == OriginKind::Annotation) {
    Operation *at = endOrigin->source ? endOrigin->source : op;
    std::string where = whereOf(at);
    os << "annotated";
    if (!endOrigin->rule.empty())
      os << " by the " << endOrigin->rule << " " << nameOf(at);
    os << (where.empty() ? "" : " at " + where) << "\n";
    return;
  }
  os << "from " << describeEnd(end, endOrigin);
  if (steps > 0)
    os << " (" << steps << (steps == 1 ? " step" : " steps") << ")";
  os << "\n";
  if (steps == 0)
    return;
  // One line per run of steps of the same kind, rule, sharding and round.
  auto sameStep = [&](Operation *a, Operation *b) {
    const ShardingOrigin *x = lookup(a), *y = lookup(b);
    return x->kind == y->kind && x->rule == y->rule &&
           x->iteration == y->iteration &&
           x->aggressiveness == y->aggressiveness &&
           shardingText(a) == shardingText(b);
  };
  for (int64_t i = 0; i < steps;) {
    int64_t j = i + 1;
    while (j < steps && sameStep(chain[i], chain[j]))
      ++j;
    const ShardingOrigin *origin = lookup(chain[i]);
    os << "  ";
    for (int64_t k = i; k < j; ++k)
      os << (k == i ? "" : ", ") << nameOf(chain[k]);
    os << " " << shardingText(chain[i]) << ": " << describe(origin->kind) << " "
       << nameOf(chain[j]) << " (";
    if (!origin->rule.empty())
      os << origin->rule << ", ";
    os << "iteration " << origin->iteration << ", aggressiveness "
       << origin->aggressiveness << ")\n";
    i = j;
  }
  os << "  " << nameOf(end) << " " << shardingText(end) << ": ";
  if (!endOrigin)
    os << "given in the input";
  else if (endOrigin->kind == OriginKind::Reset)
    os << "reset (" << endOrigin->rule << ")";
  else if (endOrigin->kind != OriginKind::Annotation)
    os << describe(endOrigin->kind) << " (" << endOrigin->rule << ")";
  else if (endOrigin->source && endOrigin->source != end)
    os << "annotated by " << nameOf(endOrigin->source);
  else if (endOrigin->rule.empty())
    os << "annotated";
  else
    os << "annotated (" << endOrigin->rule << ")";
  std::string where = whereOf(end);
  if (!where.empty())
    os << " at " << where;
  os << "\n";
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
