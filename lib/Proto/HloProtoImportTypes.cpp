//===- HloProtoImportTypes.cpp - Shapes, shardings, literals --------------===//
//
// The proto importer's conversions of the value-like messages: ShapeProto to
// builtin types (layouts as #hlo.layout), OpSharding to #hlo.sharding (incl.
// the iota tile-assignment form), OpMetadata to the metadata dictionary, and
// LiteralProto to dense elements.
//
//===----------------------------------------------------------------------===//

#include "HloProtoImporterImpl.h"

#include "gshard/IR/HloSyntax.h"

#include "llvm/ADT/STLExtras.h"

using namespace mlir;
using namespace gshard;
using namespace gshard::proto;

//===----------------------------------------------------------------------===//
// Shapes, shardings, metadata, literals
//===----------------------------------------------------------------------===//

Type ProtoImporter::convertShape(const pb::ShapeProto &shape,
                                 llvm::StringRef where) {
  switch (shape.element_type()) {
  case pb::TUPLE: {
    SmallVector<Type> elements;
    for (const pb::ShapeProto &element : shape.tuple_shapes()) {
      Type t = convertShape(element, where);
      if (!t)
        return {};
      elements.push_back(t);
    }
    return TupleType::get(context, elements);
  }
  case pb::TOKEN:
    return hlo::TokenType::get(context);
  default:
    break;
  }
  Type elementType = getElementType(context, shape.element_type());
  if (!elementType) {
    error(where, "unsupported element type " +
                     llvm::Twine(int(shape.element_type())) + " (" +
                     pb::PrimitiveType_Name(shape.element_type()) + ")");
    return {};
  }
  SmallVector<int64_t> dims;
  for (int64_t d : shape.dimensions()) {
    if (d < 0) {
      error(where, "negative dimension size " + llvm::Twine(d));
      return {};
    }
    dims.push_back(d);
  }
  if (llvm::is_contained(shape.is_dynamic_dimension(), true)) {
    error(where, "dynamic dimensions (ShapeProto.is_dynamic_dimension) are "
                 "not supported");
    return {};
  }
  Attribute encoding;
  if (shape.has_layout()) {
    const pb::LayoutProto &layout = shape.layout();
    std::string suffix, message;
    if (!printLayoutSuffix(layout, suffix, message)) {
      error(where, message);
      return {};
    }
    SmallVector<int64_t> minorToMajor(layout.minor_to_major().begin(),
                                      layout.minor_to_major().end());
    if (minorToMajor.size() != dims.size()) {
      error(where, "layout has " + llvm::Twine(minorToMajor.size()) +
                       " dimensions for a rank-" + llvm::Twine(dims.size()) +
                       " shape");
      return {};
    }
    for (int64_t d : minorToMajor)
      if (d < 0 || d >= int64_t(dims.size())) {
        error(where, "layout dimension " + llvm::Twine(d) + " out of range");
        return {};
      }
    // XLA prints scalars without a layout unless it has a suffix.
    if (!dims.empty() || !suffix.empty())
      encoding = hlo::LayoutAttr::get(context, minorToMajor, suffix);
  }
  return RankedTensorType::get(dims, elementType, encoding);
}

DictionaryAttr ProtoImporter::convertMetadata(const pb::OpMetadata &m,
                                              llvm::StringRef where) {
  NamedAttrList entries;
  auto str = [&](llvm::StringRef key, const std::string &value) {
    if (!value.empty())
      entries.append(key, b.getStringAttr(value));
  };
  auto num = [&](llvm::StringRef key, int64_t value) {
    if (value != 0)
      entries.append(key, b.getI64IntegerAttr(value));
  };
  str("op_type", m.op_type());
  str("op_name", m.op_name());
  str("source_file", m.source_file());
  num("source_line", m.source_line());
  num("source_end_line", m.source_end_line());
  num("source_column", m.source_column());
  num("source_end_column", m.source_end_column());
  str("deduplicated_name", m.deduplicated_name());
  if (m.preserve_layout())
    entries.append("preserve_layout", b.getBoolAttr(true));
  num("stack_frame_id", m.stack_frame_id());
  str("scheduling_name", m.scheduling_name());
  if (m.profile_type_size())
    warn("OpMetadata.profile_type is not supported and was ignored", where);
  if (entries.empty())
    return {};
  return entries.getDictionary(context);
}

ShardingAttr ProtoImporter::convertSharding(const pb::OpSharding &s,
                                            llvm::StringRef where) {
  auto emitErr = [&]() -> InFlightDiagnostic {
    return error(where, "invalid sharding: ");
  };
  if (!s.named_sharding().empty()) {
    error(where, "OpSharding.named_sharding (Shardy) is not supported");
    return {};
  }
  if (s.type() == pb::OpSharding::TUPLE) {
    SmallVector<ShardingAttr> elements;
    for (const pb::OpSharding &element : s.tuple_shardings()) {
      ShardingAttr e = convertSharding(element, where);
      if (!e)
        return {};
      elements.push_back(e);
    }
    return ShardingAttr::getTuple(context, elements);
  }
  hlo::ShardingKind kind;
  SmallVector<int64_t> tileDims, reshape, perm, devices;
  switch (s.type()) {
  case pb::OpSharding::REPLICATED:
    kind = hlo::ShardingKind::Replicated;
    break;
  case pb::OpSharding::MANUAL:
    kind = hlo::ShardingKind::Manual;
    break;
  case pb::OpSharding::UNKNOWN:
    kind = hlo::ShardingKind::Unknown;
    break;
  case pb::OpSharding::MAXIMAL:
    kind = hlo::ShardingKind::Maximal;
    if (s.tile_assignment_devices_size() != 1) {
      error(where, "maximal sharding needs exactly one device, has " +
                       llvm::Twine(s.tile_assignment_devices_size()));
      return {};
    }
    devices.push_back(s.tile_assignment_devices(0));
    break;
  case pb::OpSharding::OTHER:
    kind = hlo::ShardingKind::Tiled;
    tileDims.assign(s.tile_assignment_dimensions().begin(),
                    s.tile_assignment_dimensions().end());
    if (s.iota_reshape_dims_size()) {
      reshape.assign(s.iota_reshape_dims().begin(),
                     s.iota_reshape_dims().end());
      if (s.iota_transpose_perm_size())
        perm.assign(s.iota_transpose_perm().begin(),
                    s.iota_transpose_perm().end());
      else
        for (size_t i = 0; i < reshape.size(); ++i)
          perm.push_back(i);
    } else {
      devices.assign(s.tile_assignment_devices().begin(),
                     s.tile_assignment_devices().end());
    }
    break;
  default:
    error(where,
          "unsupported sharding type " + pb::OpSharding::Type_Name(s.type()));
    return {};
  }
  SmallVector<hlo::SubgroupKind> lastTileDims;
  for (int t : s.last_tile_dims()) {
    if (t == pb::OpSharding::REPLICATED)
      lastTileDims.push_back(hlo::SubgroupKind::Replicated);
    else if (t == pb::OpSharding::MANUAL)
      lastTileDims.push_back(hlo::SubgroupKind::Manual);
    else {
      error(where, "unsupported last_tile_dims entry " + llvm::Twine(t));
      return {};
    }
  }
  ArrayAttr metadata;
  if (s.metadata_size()) {
    SmallVector<Attribute> dicts;
    for (const pb::OpMetadata &m : s.metadata())
      if (DictionaryAttr d = convertMetadata(m, where))
        dicts.push_back(d);
    if (!dicts.empty())
      metadata = b.getArrayAttr(dicts);
  }
  hlo::ShardGroupKind groupKind = hlo::ShardGroupKind::None;
  if (s.is_shard_group())
    groupKind = s.shard_group_type() == pb::OpSharding::LIKE
                    ? hlo::ShardGroupKind::Like
                    : hlo::ShardGroupKind::As;
  if (s.tile_shape().ByteSizeLong())
    warn("OpSharding.tile_shape is derived data and was ignored", where);
  return ShardingAttr::getChecked(
      emitErr, context, kind, ArrayRef<int64_t>(tileDims),
      ArrayRef<int64_t>(reshape), ArrayRef<int64_t>(perm),
      ArrayRef<int64_t>(devices), s.replicate_on_last_tile_dim(),
      ArrayRef<hlo::SubgroupKind>(lastTileDims), ArrayRef<ShardingAttr>(),
      metadata, groupKind, s.is_shard_group() ? s.shard_group_id() : 0);
}

template <typename T>
static ArrayRef<char> rawBytes(const google::protobuf::RepeatedField<T> &f) {
  return ArrayRef<char>(reinterpret_cast<const char *>(f.data()),
                        f.size() * sizeof(T));
}

Attribute ProtoImporter::convertLiteral(const pb::LiteralProto &lit, Type type,
                                        llvm::StringRef where) {
  if (auto tuple = dyn_cast<TupleType>(type)) {
    if (lit.tuple_literals_size() != int(tuple.size())) {
      error(where, "tuple literal has " +
                       llvm::Twine(lit.tuple_literals_size()) +
                       " elements, its shape " + llvm::Twine(tuple.size()));
      return {};
    }
    SmallVector<Attribute> elements;
    for (auto [element, elementType] :
         llvm::zip(lit.tuple_literals(), tuple.getTypes())) {
      Attribute a = convertLiteral(element, elementType, where);
      if (!a)
        return {};
      elements.push_back(a);
    }
    return b.getArrayAttr(elements);
  }
  auto tensor = dyn_cast<RankedTensorType>(type);
  if (!tensor) {
    error(where, "literal of a non-array shape");
    return {};
  }
  tensor = RankedTensorType::get(tensor.getShape(), tensor.getElementType());
  int64_t count = hlo::checkedProduct(tensor.getShape());
  if (count < 0 || count > (int64_t(1) << 32)) {
    error(where, "literal too large");
    return {};
  }
  Type et = tensor.getElementType();
  pb::PrimitiveType pt = getPrimitiveType(et);
  ArrayRef<char> raw;
  int64_t have = -1;
  size_t width = 0;
  switch (pt) {
  case pb::PRED: {
    if (lit.preds_size() != count)
      break;
    SmallVector<bool> bits(lit.preds().begin(), lit.preds().end());
    return DenseElementsAttr::get(tensor, llvm::ArrayRef<bool>(bits));
  }
  case pb::S32:
    raw = rawBytes(lit.s32s()), width = 4;
    break;
  case pb::S64:
    raw = rawBytes(lit.s64s()), width = 8;
    break;
  case pb::U32:
    raw = rawBytes(lit.u32s()), width = 4;
    break;
  case pb::U64:
    raw = rawBytes(lit.u64s()), width = 8;
    break;
  case pb::F32:
    raw = rawBytes(lit.f32s()), width = 4;
    break;
  case pb::F64:
    raw = rawBytes(lit.f64s()), width = 8;
    break;
  case pb::C64:
    raw = rawBytes(lit.c64s()), width = 8;
    break;
  case pb::C128:
    raw = rawBytes(lit.c128s()), width = 16;
    break;
  default: {
    const std::string *bytes = nullptr;
    switch (pt) {
    case pb::S8:
      bytes = &lit.s8s();
      break;
    case pb::U8:
      bytes = &lit.u8s();
      break;
    case pb::S16:
      bytes = &lit.s16s(), width = 2;
      break;
    case pb::U16:
      bytes = &lit.u16s(), width = 2;
      break;
    case pb::F16:
      bytes = &lit.f16s(), width = 2;
      break;
    case pb::BF16:
      bytes = &lit.bf16s(), width = 2;
      break;
    case pb::S4:
      bytes = &lit.s4s();
      break;
    case pb::U4:
      bytes = &lit.u4s();
      break;
    case pb::S2:
      bytes = &lit.s2s();
      break;
    case pb::U2:
      bytes = &lit.u2s();
      break;
    case pb::F8E5M2:
      bytes = &lit.f8e5m2s();
      break;
    case pb::F8E4M3:
      bytes = &lit.f8e4m3s();
      break;
    case pb::F8E4M3FN:
      bytes = &lit.f8e4m3fns();
      break;
    case pb::F8E4M3B11FNUZ:
      bytes = &lit.f8e4m3b11fnuzs();
      break;
    case pb::F8E5M2FNUZ:
      bytes = &lit.f8e5m2fnuzs();
      break;
    case pb::F8E4M3FNUZ:
      bytes = &lit.f8e4m3fnuzs();
      break;
    default:
      error(where, "unsupported literal element type");
      return {};
    }
    if (!width)
      width = 1;
    raw = ArrayRef<char>(bytes->data(), bytes->size());
  }
  }
  if (width)
    have = raw.size() / width;
  if (have != count || raw.size() % std::max<size_t>(width, 1)) {
    error(where, "literal holds " +
                     llvm::Twine(pt == pb::PRED ? lit.preds_size() : have) +
                     " values, its shape needs " + llvm::Twine(count));
    return {};
  }
  if (count == 0)
    return DenseElementsAttr::get(tensor, ArrayRef<Attribute>());
  return DenseElementsAttr::getFromRawBuffer(tensor, raw);
}
