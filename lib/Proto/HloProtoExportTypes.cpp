//===- HloProtoExportTypes.cpp - Shapes, shardings, literals to proto -----===//
//
// The value-level half of the proto exporter: shapes, shardings, metadata
// and literals, as the importer's HloProtoImportTypes.cpp reads them.
//
//===----------------------------------------------------------------------===//

#include "HloProtoExporterImpl.h"

#include "gshard/IR/HloDict.h"

#include "mlir/IR/TypeUtilities.h"
#include "llvm/ADT/StringExtras.h"

using namespace mlir;
using namespace gshard;
using namespace gshard::proto;

LogicalResult ProtoExporter::convertType(Type type, pb::ShapeProto *shape,
                                         Operation *op) {
  if (auto tuple = dyn_cast<TupleType>(type)) {
    shape->set_element_type(pb::TUPLE);
    for (Type t : tuple.getTypes())
      if (failed(convertType(t, shape->add_tuple_shapes(), op)))
        return failure();
    return success();
  }
  if (isa<hlo::TokenType>(type)) {
    shape->set_element_type(pb::TOKEN);
    return success();
  }
  auto tensor = dyn_cast<RankedTensorType>(type);
  pb::PrimitiveType pt = tensor ? getPrimitiveType(tensor.getElementType())
                                : pb::PRIMITIVE_TYPE_INVALID;
  if (pt == pb::PRIMITIVE_TYPE_INVALID)
    return op->emitError() << "type " << type
                           << " has no HloModuleProto encoding";
  shape->set_element_type(pt);
  for (int64_t d : tensor.getShape()) {
    if (ShapedType::isDynamic(d))
      return op->emitError() << "dynamic dimensions have no HloModuleProto "
                                "encoding";
    shape->add_dimensions(d);
  }
  if (auto layout = dyn_cast_or_null<hlo::LayoutAttr>(tensor.getEncoding())) {
    pb::LayoutProto *l = shape->mutable_layout();
    for (int64_t d : layout.getMinorToMajor())
      l->add_minor_to_major(d);
    std::string error;
    if (!parseLayoutSuffix(layout.getSuffix(), *l, error))
      return op->emitError() << error;
  } else if (tensor.getRank() == 0) {
    shape->mutable_layout(); // XLA gives scalars the empty layout.
  }
  return success();
}

void ProtoExporter::convertMetadata(DictionaryAttr dict, pb::OpMetadata *m,
                                    Operation *op) {
  for (NamedAttribute entry : dict) {
    llvm::StringRef key = entry.getName();
    Attribute v = entry.getValue();
    std::string s;
    int64_t n = 0;
    if (auto str = dyn_cast<StringAttr>(v))
      s = str.str();
    else if (auto i = dyn_cast<IntegerAttr>(v))
      n = i.getInt(), s = std::to_string(n);
    else if (auto bv = dyn_cast<BoolAttr>(v))
      n = bv.getValue(), s = bv.getValue() ? "true" : "false";
    if (key == "op_type")
      m->set_op_type(s);
    else if (key == "op_name")
      m->set_op_name(s);
    else if (key == "source_file")
      m->set_source_file(s);
    else if (key == "source_line")
      m->set_source_line(n);
    else if (key == "source_end_line")
      m->set_source_end_line(n);
    else if (key == "source_column")
      m->set_source_column(n);
    else if (key == "source_end_column")
      m->set_source_end_column(n);
    else if (key == "deduplicated_name")
      m->set_deduplicated_name(s);
    else if (key == "preserve_layout")
      m->set_preserve_layout(n != 0);
    else if (key == "stack_frame_id")
      m->set_stack_frame_id(n);
    else if (key == "scheduling_name")
      m->set_scheduling_name(s);
    else
      warn(op,
           "metadata key '" + key + "' has no OpMetadata field; not written");
  }
}

void ProtoExporter::convertSharding(hlo::ShardingAttr s, pb::OpSharding *out) {
  if (s.isTuple()) {
    out->set_type(pb::OpSharding::TUPLE);
    for (hlo::ShardingAttr e : s.getTupleElements())
      convertSharding(e, out->add_tuple_shardings());
    return;
  }
  switch (s.getKind()) {
  case hlo::ShardingKind::Replicated:
    out->set_type(pb::OpSharding::REPLICATED);
    break;
  case hlo::ShardingKind::Manual:
    out->set_type(pb::OpSharding::MANUAL);
    break;
  case hlo::ShardingKind::Unknown:
    out->set_type(pb::OpSharding::UNKNOWN);
    break;
  case hlo::ShardingKind::Maximal:
    out->set_type(pb::OpSharding::MAXIMAL);
    out->add_tile_assignment_dimensions(1);
    out->add_tile_assignment_devices(s.getDevices()[0]);
    break;
  case hlo::ShardingKind::Tiled:
    out->set_type(pb::OpSharding::OTHER);
    for (int64_t d : s.getTileDims())
      out->add_tile_assignment_dimensions(d);
    if (s.isIota()) {
      for (int64_t d : s.getIotaReshapeDims())
        out->add_iota_reshape_dims(d);
      for (int64_t p : s.getIotaPerm())
        out->add_iota_transpose_perm(p);
    } else {
      for (int64_t d : s.getDevices())
        out->add_tile_assignment_devices(d);
    }
    out->set_replicate_on_last_tile_dim(s.getReplicateOnLastTileDim());
    for (hlo::SubgroupKind k : s.getLastTileDims())
      out->add_last_tile_dims(k == hlo::SubgroupKind::Manual
                                  ? pb::OpSharding::MANUAL
                                  : pb::OpSharding::REPLICATED);
    break;
  case hlo::ShardingKind::Tuple:
    break;
  }
  if (ArrayAttr md = s.getMetadata())
    for (Attribute d : md)
      if (auto dict = dyn_cast<DictionaryAttr>(d))
        convertMetadata(dict, out->add_metadata(), nullptr);
  if (s.getShardGroupKind() != hlo::ShardGroupKind::None) {
    out->set_is_shard_group(true);
    out->set_shard_group_id(s.getShardGroupId());
    out->set_shard_group_type(s.getShardGroupKind() == hlo::ShardGroupKind::Like
                                  ? pb::OpSharding::LIKE
                                  : pb::OpSharding::AS);
  }
}

template <typename T>
static void appendRaw(google::protobuf::RepeatedField<T> *field,
                      ArrayRef<char> raw, int64_t count, bool splat) {
  field->Resize(int(count), T());
  size_t width = sizeof(T);
  for (int64_t i = 0; i < count; ++i)
    std::memcpy(field->mutable_data() + i, raw.data() + (splat ? 0 : i * width),
                width);
}

LogicalResult ProtoExporter::convertLiteral(Attribute value, Type type,
                                            pb::LiteralProto *out,
                                            Operation *op) {
  if (failed(convertType(type, out->mutable_shape(), op)))
    return failure();
  if (auto tuple = dyn_cast<TupleType>(type)) {
    auto elements = dyn_cast<ArrayAttr>(value);
    if (!elements || elements.size() != tuple.size())
      return op->emitError() << "tuple constant value does not match its type";
    for (auto [e, t] : llvm::zip(elements, tuple.getTypes()))
      if (failed(convertLiteral(e, t, out->add_tuple_literals(), op)))
        return failure();
    return success();
  }
  auto dense = dyn_cast<DenseElementsAttr>(value);
  if (!dense)
    return op->emitError() << "constant value " << value
                           << " has no LiteralProto encoding";
  int64_t count = dense.getNumElements();
  Type et = dense.getElementType();
  pb::PrimitiveType pt = getPrimitiveType(et);
  if (pt == pb::PRED) {
    for (bool v : dense.getValues<bool>())
      out->add_preds(v);
    return success();
  }
  ArrayRef<char> raw = dense.getRawData();
  bool splat = dense.isSplat();
  auto bytes = [&](std::string *field, size_t width) {
    field->resize(count * width);
    for (int64_t i = 0; i < count; ++i)
      std::memcpy(&(*field)[i * width], raw.data() + (splat ? 0 : i * width),
                  width);
  };
  switch (pt) {
  case pb::S32:
    appendRaw(out->mutable_s32s(), raw, count, splat);
    break;
  case pb::S64:
    appendRaw(out->mutable_s64s(), raw, count, splat);
    break;
  case pb::U32:
    appendRaw(out->mutable_u32s(), raw, count, splat);
    break;
  case pb::U64:
    appendRaw(out->mutable_u64s(), raw, count, splat);
    break;
  case pb::F32:
    appendRaw(out->mutable_f32s(), raw, count, splat);
    break;
  case pb::F64:
    appendRaw(out->mutable_f64s(), raw, count, splat);
    break;
  case pb::C64:
    appendRaw(out->mutable_c64s(), raw, count * 2, false);
    if (splat)
      for (int64_t i = 1; i < count; ++i)
        for (int j = 0; j < 2; ++j)
          out->set_c64s(2 * i + j, out->c64s(j));
    break;
  case pb::C128:
    appendRaw(out->mutable_c128s(), raw, count * 2, false);
    if (splat)
      for (int64_t i = 1; i < count; ++i)
        for (int j = 0; j < 2; ++j)
          out->set_c128s(2 * i + j, out->c128s(j));
    break;
  case pb::S8:
    bytes(out->mutable_s8s(), 1);
    break;
  case pb::U8:
    bytes(out->mutable_u8s(), 1);
    break;
  case pb::S16:
    bytes(out->mutable_s16s(), 2);
    break;
  case pb::U16:
    bytes(out->mutable_u16s(), 2);
    break;
  case pb::F16:
    bytes(out->mutable_f16s(), 2);
    break;
  case pb::BF16:
    bytes(out->mutable_bf16s(), 2);
    break;
  case pb::S4:
    bytes(out->mutable_s4s(), 1);
    break;
  case pb::U4:
    bytes(out->mutable_u4s(), 1);
    break;
  case pb::S2:
    bytes(out->mutable_s2s(), 1);
    break;
  case pb::U2:
    bytes(out->mutable_u2s(), 1);
    break;
  case pb::F8E5M2:
    bytes(out->mutable_f8e5m2s(), 1);
    break;
  case pb::F8E4M3:
    bytes(out->mutable_f8e4m3s(), 1);
    break;
  case pb::F8E4M3FN:
    bytes(out->mutable_f8e4m3fns(), 1);
    break;
  case pb::F8E4M3B11FNUZ:
    bytes(out->mutable_f8e4m3b11fnuzs(), 1);
    break;
  case pb::F8E5M2FNUZ:
    bytes(out->mutable_f8e5m2fnuzs(), 1);
    break;
  case pb::F8E4M3FNUZ:
    bytes(out->mutable_f8e4m3fnuzs(), 1);
    break;
  default:
    return op->emitError() << "constant of element type " << et
                           << " has no LiteralProto encoding";
  }
  return success();
}
