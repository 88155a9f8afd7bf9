//===- HloDialect.td - The hlo dialect ---------------------*- tablegen -*-===//
//
// Part of gshard, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#ifndef GSHARD_IR_HLODIALECT_TD
#define GSHARD_IR_HLODIALECT_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"

def Hlo_Dialect : Dialect {
  let name = "hlo";
  let cppNamespace = "::gshard::hlo";
  let summary = "A dialect that mirrors XLA's HLO instruction set";
  let description = [{
    One operation per HLO opcode. A module is a `builtin.module` of
    `hlo.computation` symbols; instructions keep their HLO names as `NameLoc`
    locations; attributes use HLO's own attribute keys so that the text
    importer and printer map them one-to-one.
  }];
  let useDefaultAttributePrinterParser = 1;
  let useDefaultTypePrinterParser = 1;
  let extraClassDeclaration = [{
    void registerAttributes();
    void registerTypes();
  }];
}

#endif // GSHARD_IR_HLODIALECT_TD
