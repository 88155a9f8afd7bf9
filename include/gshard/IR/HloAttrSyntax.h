//===- HloAttrSyntax.h - Syntax of each HLO attribute key -------*- C++ -*-===//
//
// The table of HloAttrSyntax.def as a C++ lookup, shared by the text
// importer (which parses `key=value` by it) and the printer (which prints
// by it), so that the two cannot disagree.
//
//===----------------------------------------------------------------------===//

#ifndef GSHARD_IR_HLOATTRSYNTAX_H
#define GSHARD_IR_HLOATTRSYNTAX_H

#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"

namespace gshard::hlo {

/// The value syntaxes of HloAttrSyntax.def (see there for each spelling).
enum class AttrSyntax {
  IntList,
  Int,
  Float,
  Bool,
  BoolList,
  String,
  Ident,
  Computation,
  ComputationList,
  NameList,
  Sharding,
  Window,
  ConvDims,
  ReplicaGroups,
  Pairs,
  Dict,
  Shape,
  ShapeList,
  Slice,
  Padding,
  Config,
  PrecisionList,
  RawString,
};

/// HLO attribute key (with `-` spelled `_`) -> the syntax of its value.
const llvm::StringMap<AttrSyntax> &getAttrSyntaxTable();

} // namespace gshard::hlo

#endif // GSHARD_IR_HLOATTRSYNTAX_H
