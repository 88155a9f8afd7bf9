//===- HloProtoUtil.h - Helpers shared by proto import and export -*- C++
//-*-===//
//
// Element types, layout suffixes and the textual forms (as the HLO text
// importer stores them) of proto fields that the hlo dialect keeps as text.
//
//===----------------------------------------------------------------------===//

#ifndef GSHARD_LIB_PROTO_HLOPROTOUTIL_H
#define GSHARD_LIB_PROTO_HLOPROTOUTIL_H

#include "gshard/Proto/hlo.pb.h"

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"

#include <string>

namespace gshard::proto {

namespace pb = ::gshard::xla;

/// The builtin element type of an XLA primitive type, or null.
mlir::Type getElementType(mlir::MLIRContext *context, pb::PrimitiveType type);
/// The XLA primitive type of a builtin element type, or INVALID.
pb::PrimitiveType getPrimitiveType(mlir::Type elementType);
/// Lower-case XLA name (`f32`, `pred`) of a primitive type.
llvm::StringRef getPrimitiveTypeName(pb::PrimitiveType type);

/// The layout suffix (what follows ':' in `{1,0:T(8,128)S(1)}`) of a proto
/// layout in XLA's print order. Fails with `error` naming the field for
/// layout features the hlo dialect cannot carry.
bool printLayoutSuffix(const pb::LayoutProto &layout, std::string &suffix,
                       std::string &error);
/// Parses a layout suffix into `layout` (tiles, L, E, S, M).
bool parseLayoutSuffix(llvm::StringRef suffix, pb::LayoutProto &layout,
                       std::string &error);

/// `backend_config` and friends: bytes <-> the raw text the HLO text
/// importer keeps (`{...}` verbatim for a JSON dictionary, else a quoted,
/// escaped string).
std::string configTextFromBytes(llvm::StringRef bytes);
bool configBytesFromText(llvm::StringRef text, std::string &bytes,
                         std::string &error);

/// Escapes like absl::CEscape (what XLA's printer uses for strings).
std::string cEscape(llvm::StringRef text);

/// `{0,1}` / `{}` shape indices.
std::string printShapeIndex(llvm::ArrayRef<int64_t> index);

/// PrecisionConfig.Algorithm values by enum number, as the text form spells
/// them (`algorithm=dot_bf16_bf16_f32`).
inline constexpr const char *kDotAlgorithms[] = {
    "unset",
    "dot_any_f8_any_f8_f32",
    "dot_any_f8_any_f8_f32_fast_accum",
    "dot_f16_f16_f16",
    "dot_f16_f16_f32",
    "dot_bf16_bf16_bf16",
    "dot_bf16_bf16_f32",
    "dot_bf16_bf16_f32_x3",
    "dot_bf16_bf16_f32_x6",
    "dot_tf32_tf32_f32",
    "dot_tf32_tf32_f32_x3",
    "dot_f32_f32_f32",
    "dot_f64_f64_f64",
    "dot_bf16_bf16_f32_x9"};

} // namespace gshard::proto

#endif // GSHARD_LIB_PROTO_HLOPROTOUTIL_H
