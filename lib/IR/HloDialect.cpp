//===- HloDialect.cpp - The hlo dialect -----------------------------------===//

#include "gshard/IR/HloOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace gshard::hlo;

#include "gshard/IR/HloDialect.cpp.inc"

#define GET_TYPEDEF_CLASSES
#include "gshard/IR/HloTypes.cpp.inc"

void HloDialect::registerTypes() {
  addTypes<
#define GET_TYPEDEF_LIST
#include "gshard/IR/HloTypes.cpp.inc"
      >();
}

void HloDialect::initialize() {
  registerAttributes();
  registerTypes();
  addOperations<
#define GET_OP_LIST
#include "gshard/IR/HloOps.cpp.inc"
      >();
}

std::string gshard::hlo::getHloOpcode(Operation *op) {
  std::string opcode = op->getName().stripDialect().str();
  // MLIR names cannot hold '-'; a few HLO spellings differ otherwise.
  if (opcode == "opt_barrier")
    return "opt-barrier";
  if (opcode == "topk")
    return "topk";
  for (char &c : opcode)
    if (c == '_')
      c = '-';
  return opcode;
}

std::string gshard::hlo::getOpNameForOpcode(llvm::StringRef opcode) {
  std::string name = "hlo.";
  for (char c : opcode)
    name.push_back(c == '-' ? '_' : c);
  return name;
}

llvm::StringRef gshard::hlo::getInstructionName(Location loc) {
  if (auto nameLoc = dyn_cast<NameLoc>(loc))
    return nameLoc.getName().strref();
  if (auto fused = dyn_cast<FusedLoc>(loc))
    for (Location inner : fused.getLocations())
      if (auto nameLoc = dyn_cast<NameLoc>(inner))
        return nameLoc.getName().strref();
  return {};
}
