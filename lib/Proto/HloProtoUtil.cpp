//===- HloProtoUtil.cpp - Helpers shared by proto import and export -------===//

#include "HloProtoUtil.h"

#include "gshard/IR/HloDict.h"
#include "gshard/IR/HloSyntax.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/raw_ostream.h"

#include <limits>

using namespace mlir;

namespace gshard::proto {

Type getElementType(MLIRContext *context, pb::PrimitiveType type) {
  Builder b(context);
  auto sInt = [&](unsigned w) { return b.getIntegerType(w); };
  auto uInt = [&](unsigned w) {
    return IntegerType::get(context, w, IntegerType::Unsigned);
  };
  switch (type) {
  case pb::PRED:
    return b.getI1Type();
  case pb::S2:
    return sInt(2);
  case pb::S4:
    return sInt(4);
  case pb::S8:
    return sInt(8);
  case pb::S16:
    return sInt(16);
  case pb::S32:
    return sInt(32);
  case pb::S64:
    return sInt(64);
  case pb::U2:
    return uInt(2);
  case pb::U4:
    return uInt(4);
  case pb::U8:
    return uInt(8);
  case pb::U16:
    return uInt(16);
  case pb::U32:
    return uInt(32);
  case pb::U64:
    return uInt(64);
  case pb::F16:
    return b.getF16Type();
  case pb::BF16:
    return b.getBF16Type();
  case pb::F32:
    return b.getF32Type();
  case pb::F64:
    return b.getF64Type();
  case pb::F8E5M2:
    return b.getFloat8E5M2Type();
  case pb::F8E4M3:
    return b.getFloat8E4M3Type();
  case pb::F8E4M3FN:
    return b.getFloat8E4M3FNType();
  case pb::F8E4M3B11FNUZ:
    return b.getFloat8E4M3B11FNUZType();
  case pb::F8E5M2FNUZ:
    return b.getFloat8E5M2FNUZType();
  case pb::F8E4M3FNUZ:
    return b.getFloat8E4M3FNUZType();
  case pb::C64:
    return ComplexType::get(b.getF32Type());
  case pb::C128:
    return ComplexType::get(b.getF64Type());
  default:
    return {};
  }
}

pb::PrimitiveType getPrimitiveType(Type t) {
  if (auto i = dyn_cast<IntegerType>(t)) {
    unsigned w = i.getWidth();
    if (w == 1)
      return pb::PRED;
    bool u = i.isUnsigned();
    switch (w) {
    case 2:
      return u ? pb::U2 : pb::S2;
    case 4:
      return u ? pb::U4 : pb::S4;
    case 8:
      return u ? pb::U8 : pb::S8;
    case 16:
      return u ? pb::U16 : pb::S16;
    case 32:
      return u ? pb::U32 : pb::S32;
    case 64:
      return u ? pb::U64 : pb::S64;
    default:
      return pb::PRIMITIVE_TYPE_INVALID;
    }
  }
  if (t.isF16())
    return pb::F16;
  if (t.isBF16())
    return pb::BF16;
  if (t.isF32())
    return pb::F32;
  if (t.isF64())
    return pb::F64;
  if (t.isFloat8E5M2())
    return pb::F8E5M2;
  if (t.isFloat8E4M3())
    return pb::F8E4M3;
  if (t.isFloat8E4M3FN())
    return pb::F8E4M3FN;
  if (t.isFloat8E4M3B11FNUZ())
    return pb::F8E4M3B11FNUZ;
  if (t.isFloat8E5M2FNUZ())
    return pb::F8E5M2FNUZ;
  if (t.isFloat8E4M3FNUZ())
    return pb::F8E4M3FNUZ;
  if (auto c = dyn_cast<ComplexType>(t)) {
    if (c.getElementType().isF32())
      return pb::C64;
    if (c.getElementType().isF64())
      return pb::C128;
  }
  return pb::PRIMITIVE_TYPE_INVALID;
}

llvm::StringRef getPrimitiveTypeName(pb::PrimitiveType type) {
  switch (type) {
  case pb::PRED:
    return "pred";
  case pb::S8:
    return "s8";
  case pb::S16:
    return "s16";
  case pb::S32:
    return "s32";
  case pb::S64:
    return "s64";
  case pb::U8:
    return "u8";
  case pb::U16:
    return "u16";
  case pb::U32:
    return "u32";
  case pb::U64:
    return "u64";
  default:
    return "?";
  }
}

// XLA's Tile::kCombineDimension, printed as `*`.
static constexpr int64_t kCombineDimension =
    std::numeric_limits<int64_t>::min();

bool printLayoutSuffix(const pb::LayoutProto &layout, std::string &suffix,
                       std::string &error) {
  if (layout.dim_level_types_size() || layout.dim_unique_size() ||
      layout.dim_ordered_size() || !layout.physical_shape().empty() ||
      layout.index_primitive_type() || layout.pointer_primitive_type()) {
    error = "sparse layouts (LayoutProto fields dim_level_types, "
            "index/pointer_primitive_type, physical_shape) are not supported";
    return false;
  }
  if (layout.split_configs_size()) {
    error = "LayoutProto.split_configs is not supported";
    return false;
  }
  llvm::raw_string_ostream os(suffix);
  if (layout.tiles_size()) {
    os << 'T';
    for (const pb::TileProto &tile : layout.tiles()) {
      os << '(';
      llvm::interleave(
          tile.dimensions(), os,
          [&](int64_t d) {
            if (d == kCombineDimension)
              os << '*';
            else
              os << d;
          },
          ",");
      os << ')';
    }
  }
  if (layout.tail_padding_alignment_in_elements() > 1)
    os << "L(" << layout.tail_padding_alignment_in_elements() << ')';
  if (layout.element_size_in_bits())
    os << "E(" << layout.element_size_in_bits() << ')';
  if (layout.memory_space())
    os << "S(" << layout.memory_space() << ')';
  if (layout.dynamic_shape_metadata_prefix_bytes() > 0)
    os << "M(" << layout.dynamic_shape_metadata_prefix_bytes() << ')';
  return true;
}

bool parseLayoutSuffix(llvm::StringRef suffix, pb::LayoutProto &layout,
                       std::string &error) {
  hlo::SyntaxCursor c(suffix);
  auto parseOne = [&](int64_t &value) {
    return c.expect("(") && c.parseInt(value) && c.expect(")");
  };
  while (!c.atEnd()) {
    int64_t value;
    if (c.consumeIf("T")) {
      if (c.peek() != '(')
        c.fail("expected '(' after 'T'");
      while (!c.hasError() && c.consumeIf("(")) {
        pb::TileProto *tile = layout.add_tiles();
        if (!c.consumeIf(")")) {
          do {
            if (c.consumeIf("*")) {
              tile->add_dimensions(kCombineDimension);
            } else if (c.parseInt(value)) {
              tile->add_dimensions(value);
            }
          } while (!c.hasError() && c.consumeIf(","));
          c.expect(")");
        }
      }
    } else if (c.consumeIf("L")) {
      if (parseOne(value))
        layout.set_tail_padding_alignment_in_elements(value);
    } else if (c.consumeIf("E")) {
      if (parseOne(value))
        layout.set_element_size_in_bits(value);
    } else if (c.consumeIf("SC")) {
      c.fail("split configs (SC) are not supported in HloModuleProto export");
    } else if (c.consumeIf("S")) {
      if (parseOne(value))
        layout.set_memory_space(value);
    } else if (c.consumeIf("M")) {
      if (parseOne(value))
        layout.set_dynamic_shape_metadata_prefix_bytes(value);
    } else {
      c.fail("unsupported layout component '" + c.rest().take_front(8) + "'");
    }
    if (c.hasError()) {
      error = "layout suffix ':" + suffix.str() + "': " + c.error();
      return false;
    }
  }
  return true;
}

std::string cEscape(llvm::StringRef text) {
  std::string out;
  llvm::raw_string_ostream os(out);
  hlo::printEscapedString(os, text);
  return out;
}

// XLA prints backend configs that lex as a JSON dictionary verbatim and
// everything else as an escaped string.
static bool looksLikeJsonDict(llvm::StringRef text) {
  text = text.trim();
  if (!text.starts_with("{") || !text.ends_with("}"))
    return false;
  int depth = 0;
  bool inString = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char ch = text[i];
    if (inString) {
      if (ch == '\\')
        ++i;
      else if (ch == '"')
        inString = false;
      continue;
    }
    if (ch == '"')
      inString = true;
    else if (ch == '{' || ch == '[')
      ++depth;
    else if (ch == '}' || ch == ']') {
      if (--depth == 0 && i + 1 != text.size())
        return false;
    }
  }
  return depth == 0 && !inString;
}

std::string configTextFromBytes(llvm::StringRef bytes) {
  if (looksLikeJsonDict(bytes))
    return bytes.str();
  return "\"" + cEscape(bytes) + "\"";
}

bool configBytesFromText(llvm::StringRef text, std::string &bytes,
                         std::string &error) {
  if (text.starts_with("\"")) {
    hlo::SyntaxCursor c(text);
    if (!hlo::parseQuotedString(c, bytes) || !c.atEnd()) {
      error = c.hasError() ? c.error() : "trailing text after string";
      return false;
    }
    return true;
  }
  bytes = text.str();
  return true;
}

std::string printShapeIndex(llvm::ArrayRef<int64_t> index) {
  std::string out = "{";
  llvm::raw_string_ostream os(out);
  hlo::printJoined(os, index);
  os << '}';
  return out;
}

} // namespace gshard::proto
