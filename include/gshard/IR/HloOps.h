//===- HloOps.h - The hlo dialect -------------------------------*- C++ -*-===//
//
// Part of gshard, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#ifndef GSHARD_IR_HLOOPS_H
#define GSHARD_IR_HLOOPS_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "gshard/IR/HloTraits.h"

#include "gshard/IR/HloDialect.h.inc"
#include "gshard/IR/HloEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "gshard/IR/HloAttrs.h.inc"

#define GET_TYPEDEF_CLASSES
#include "gshard/IR/HloTypes.h.inc"

#define GET_OP_CLASSES
#include "gshard/IR/HloOps.h.inc"

namespace gshard::hlo {

/// Parameter ops of `computation` ordered by parameter_number (null where
/// missing).
llvm::SmallVector<ParameterOp> getParameters(ComputationOp computation);

/// The HLO opcode spelling of an hlo op (`get-tuple-element` for
/// `hlo.get_tuple_element`).
std::string getHloOpcode(mlir::Operation *op);

/// The registered op name (`hlo.get_tuple_element`) for an HLO opcode.
std::string getOpNameForOpcode(llvm::StringRef opcode);

/// The HLO instruction name carried by `loc` (a NameLoc), or "".
llvm::StringRef getInstructionName(mlir::Location loc);

/// Module-level attribute names (on the builtin.module).
namespace module_attrs {
inline constexpr llvm::StringLiteral kName = "sym_name";
/// Dictionary of the HloModule header attributes other than the name
/// (entry_computation_layout, num_partitions, is_scheduled, ...).
inline constexpr llvm::StringLiteral kHeader = "hlo.header";
/// The verbatim FileNames/FunctionNames/FileLocations/StackFrames sections.
inline constexpr llvm::StringLiteral kStackFrameIndex = "hlo.stack_frame_index";
} // namespace module_attrs

} // namespace gshard::hlo

#endif // GSHARD_IR_HLOOPS_H
