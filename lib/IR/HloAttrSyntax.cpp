//===- HloAttrSyntax.cpp - Syntax of each HLO attribute key ---------------===//

#include "gshard/IR/HloAttrSyntax.h"

using namespace gshard::hlo;

const llvm::StringMap<AttrSyntax> &gshard::hlo::getAttrSyntaxTable() {
  static const llvm::StringMap<AttrSyntax> table = [] {
    llvm::StringMap<AttrSyntax> map;
#define HLO_ATTR(Key, Syntax) map[#Key] = AttrSyntax::Syntax;
#include "gshard/IR/HloAttrSyntax.def"
    return map;
  }();
  return table;
}
