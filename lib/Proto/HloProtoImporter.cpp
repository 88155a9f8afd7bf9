//===- HloProtoImporter.cpp - Binary HloModuleProto to the hlo dialect ----===//
//
// Builds the same IR as the HLO text importer (docs/architecture.md): one op
// per instruction named by a NameLoc, attributes under their HLO text keys
// (HloAttrSyntax.def), and values defaulted the way XLA's text printer
// omits them, so that printing the result gives XLA's text for the module.
//
//===----------------------------------------------------------------------===//

#include "gshard/Import/HloProtoImporter.h"

#include "HloProtoUtil.h"

#include "gshard/IR/HloOps.h"
#include "gshard/IR/HloSyntax.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/TypeUtilities.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/raw_ostream.h"

#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/SmallBitVector.h"
#include "llvm/ADT/StringSet.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

using namespace mlir;
using namespace gshard;
using namespace gshard::proto;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

using ShardingAttr = hlo::ShardingAttr;

namespace {

class ProtoImporter {
public:
  ProtoImporter(MLIRContext *context, llvm::StringRef filename)
      : context(context), b(context),
        fileLoc(FileLineColLoc::get(context, filename, 0, 0)) {}

  OwningOpRef<ModuleOp> importModule(const pb::HloModuleProto &proto);

private:
  InFlightDiagnostic error(const llvm::Twine &where,
                           const llvm::Twine &message) {
    return emitError(fileLoc) << where << ": " << message;
  }
  /// Records a warning; identical messages are reported once with a count.
  void warn(const std::string &message, llvm::StringRef where) {
    auto [it, inserted] = warningIndex.try_emplace(message, warnings.size());
    if (inserted)
      warnings.push_back({message, {0, where.str()}});
    ++warnings[it->second].second.first;
  }
  void flushWarnings();
  void checkUnknownFields(const Message &message, llvm::StringRef where);

  Type convertShape(const pb::ShapeProto &shape, llvm::StringRef where);
  ShardingAttr convertSharding(const pb::OpSharding &sharding,
                               llvm::StringRef where);
  DictionaryAttr convertMetadata(const pb::OpMetadata &metadata,
                                 llvm::StringRef where);
  Attribute convertLiteral(const pb::LiteralProto &literal, Type type,
                           llvm::StringRef where);
  LogicalResult importComputation(const pb::HloComputationProto &comp,
                                  bool isEntry,
                                  const pb::HloScheduleProto *schedule);
  Operation *importInstruction(const pb::HloInstructionProto &instr,
                               OpBuilder &builder);
  DictionaryAttr convertHeader(const pb::HloModuleProto &proto);

  MLIRContext *context;
  Builder b;
  Location fileLoc;
  /// Instruction id -> value, per computation being imported.
  llvm::DenseMap<int64_t, Value> values;
  llvm::DenseMap<int64_t, llvm::StringRef> instrNames;
  /// Computation id -> name.
  llvm::DenseMap<int64_t, llvm::StringRef> compNames;
  /// Distinct warnings in order: message -> (count, first place).
  std::vector<std::pair<std::string, std::pair<unsigned, std::string>>>
      warnings;
  llvm::StringMap<size_t> warningIndex;
  /// Computations built so far, not yet in a module.
  SmallVector<Operation *> pendingOps;
};

} // namespace

//===----------------------------------------------------------------------===//
// Diagnostics
//===----------------------------------------------------------------------===//

void ProtoImporter::flushWarnings() {
  for (auto &[message, entry] : warnings) {
    InFlightDiagnostic diag = emitWarning(fileLoc) << message;
    if (!entry.second.empty())
      diag << " (at " << entry.second;
    if (entry.first > 1)
      diag << (entry.second.empty() ? " (" : " and ") << entry.first - 1
           << " more";
    if (!entry.second.empty() || entry.first > 1)
      diag << ")";
  }
  warnings.clear();
  warningIndex.clear();
}

void ProtoImporter::checkUnknownFields(const Message &message,
                                       llvm::StringRef where) {
  const Reflection *reflection = message.GetReflection();
  const auto &unknown = reflection->GetUnknownFields(message);
  for (int i = 0; i < unknown.field_count(); ++i)
    warn("unknown field " + std::to_string(unknown.field(i).number()) + " in " +
             message.GetDescriptor()->full_name() +
             " was ignored (not in gshard's HLO schema)",
         where);
  const auto *descriptor = message.GetDescriptor();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const FieldDescriptor *field = descriptor->field(i);
    if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE ||
        field->is_map())
      continue;
    if (field->is_repeated()) {
      int n = reflection->FieldSize(message, field);
      for (int j = 0; j < n; ++j)
        checkUnknownFields(reflection->GetRepeatedMessage(message, field, j),
                           where);
    } else if (reflection->HasField(message, field)) {
      checkUnknownFields(reflection->GetMessage(message, field), where);
    }
  }
}

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

//===----------------------------------------------------------------------===//
// Instructions
//===----------------------------------------------------------------------===//

static llvm::StringRef defaultComparisonType(Type operandType) {
  Type et = getElementTypeOrSelf(operandType);
  if (isa<FloatType, ComplexType>(et))
    return "FLOAT";
  if (auto i = dyn_cast<IntegerType>(et))
    return i.isUnsigned() || i.getWidth() == 1 ? "UNSIGNED" : "SIGNED";
  return "";
}

Operation *ProtoImporter::importInstruction(const pb::HloInstructionProto &in,
                                            OpBuilder &builder) {
  std::string where = "instruction '" + in.name() + "'";
  llvm::StringRef opcode = in.opcode();
  std::string opName = hlo::getOpNameForOpcode(opcode);
  std::optional<RegisteredOperationName> info =
      RegisteredOperationName::lookup(opName, context);
  if (!info || opName == "hlo.computation" || opName == "hlo.return") {
    error(where, "unsupported opcode '" + opcode + "'");
    return nullptr;
  }
  auto declared = [&](llvm::StringRef name) {
    return llvm::any_of(info->getAttributeNames(),
                        [&](StringAttr a) { return a.getValue() == name; });
  };
  // Field numbers this function interprets; anything else set is reported.
  llvm::SmallBitVector used(128);
  for (int f : {1, 2, 3, 35, 36, 37, 38, 7, 68, 40, 43, 82, 88})
    used.set(f);

  Type type = convertShape(in.shape(), where);
  if (!type)
    return nullptr;
  SmallVector<Value> operands;
  for (int64_t id : in.operand_ids()) {
    Value v = values.lookup(id);
    if (!v) {
      error(where, "operand id " + llvm::Twine(id) +
                       " does not name an earlier instruction of its "
                       "computation");
      return nullptr;
    }
    operands.push_back(v);
  }
  NamedAttrList attrs;
  auto set = [&](int field, llvm::StringRef name, Attribute value) {
    if (!declared(name))
      return;
    used.set(field);
    attrs.set(name, value);
  };
  auto i64s = [&](const auto &field) {
    return b.getDenseI64ArrayAttr(
        SmallVector<int64_t>(field.begin(), field.end()));
  };

  // Common attributes.
  if (in.has_metadata())
    if (DictionaryAttr md = convertMetadata(in.metadata(), where))
      attrs.set("metadata", md);
  if (in.frontend_attributes().map_size()) {
    SmallVector<std::pair<std::string, std::string>> sorted(
        in.frontend_attributes().map().begin(),
        in.frontend_attributes().map().end());
    NamedAttrList fa;
    for (auto &[k, v] : sorted)
      fa.append(k, b.getStringAttr(v));
    attrs.set("frontend_attributes", fa.getDictionary(context));
  }
  if (in.has_sharding()) {
    ShardingAttr s = convertSharding(in.sharding(), where);
    if (!s)
      return nullptr;
    attrs.set("sharding", s);
  }
  if (!in.backend_config().empty())
    attrs.set("backend_config",
              b.getStringAttr(configTextFromBytes(in.backend_config())));
  if (in.control_predecessor_ids_size()) {
    SmallVector<Attribute> names;
    for (int64_t id : in.control_predecessor_ids()) {
      llvm::StringRef name = instrNames.lookup(id);
      if (name.empty()) {
        error(where, "control predecessor id " + llvm::Twine(id) +
                         " does not name an instruction of its computation");
        return nullptr;
      }
      names.push_back(b.getStringAttr(name));
    }
    attrs.set("control_predecessors", b.getArrayAttr(names));
  }

  // Called computations.
  SmallVector<Attribute> callees;
  for (int64_t id : in.called_computation_ids()) {
    llvm::StringRef name = compNames.lookup(id);
    if (name.empty()) {
      error(where, "called computation id " + llvm::Twine(id) +
                       " does not name a computation");
      return nullptr;
    }
    callees.push_back(FlatSymbolRefAttr::get(context, name));
  }
  if (!callees.empty()) {
    auto need = [&](size_t n) {
      if (callees.size() == n)
        return true;
      error(where, "'" + opcode + "' calls " + llvm::Twine(n) +
                       " computations, the proto lists " +
                       llvm::Twine(callees.size()));
      return false;
    };
    if (opcode == "while") {
      if (!need(2))
        return nullptr;
      attrs.set("condition", callees[0]);
      attrs.set("body", callees[1]);
    } else if (opcode == "select-and-scatter") {
      if (!need(2))
        return nullptr;
      attrs.set("select", callees[0]);
      attrs.set("scatter", callees[1]);
    } else if (opcode == "conditional") {
      auto index = operands.empty()
                       ? RankedTensorType()
                       : dyn_cast<RankedTensorType>(operands[0].getType());
      if (index && index.getElementType().isInteger(1) && callees.size() == 2) {
        attrs.set("true_computation", callees[0]);
        attrs.set("false_computation", callees[1]);
      } else {
        attrs.set("branch_computations", b.getArrayAttr(callees));
      }
    } else if (opcode == "fusion") {
      if (!need(1))
        return nullptr;
      attrs.set("calls", callees[0]);
    } else if (declared("called_computations")) {
      attrs.set("called_computations", b.getArrayAttr(callees));
    } else if (declared("to_apply")) {
      if (!need(1))
        return nullptr;
      attrs.set("to_apply", callees[0]);
    } else {
      error(where, "'" + opcode + "' does not call computations");
      return nullptr;
    }
  }

  // Per-opcode fields.
  if (opcode == "parameter")
    set(9, "parameter_number", b.getI64IntegerAttr(in.parameter_number()));
  if (opcode == "get-tuple-element")
    set(13, "index", b.getI64IntegerAttr(in.tuple_index()));
  if (!in.fusion_kind().empty()) {
    auto kind = hlo::symbolizeFusionKind(in.fusion_kind());
    if (!kind) {
      error(where, "unknown fusion kind '" + in.fusion_kind() + "'");
      return nullptr;
    }
    set(11, "kind", hlo::FusionKindAttr::get(context, *kind));
  }
  if (opcode == "iota") {
    if (in.dimensions_size() != 1) {
      error(where, "iota needs one dimension in 'dimensions'");
      return nullptr;
    }
    set(14, "iota_dimension", b.getI64IntegerAttr(in.dimensions(0)));
  } else if (in.dimensions_size() ||
             (opcode != "map" && opcode != "all-to-all")) {
    set(14, "dimensions", i64s(in.dimensions()));
  }
  if (in.has_window() && in.window().dimensions_size()) {
    SmallVector<int64_t> size, stride, lo, hi, lhs, rhs, rev;
    auto one = [](int64_t v) { return v == 0 ? 1 : v; };
    for (const pb::WindowDimension &d : in.window().dimensions()) {
      size.push_back(d.size());
      stride.push_back(one(d.stride()));
      lo.push_back(d.padding_low());
      hi.push_back(d.padding_high());
      lhs.push_back(one(d.base_dilation()));
      rhs.push_back(one(d.window_dilation()));
      rev.push_back(d.window_reversal());
    }
    auto w = hlo::WindowAttr::getChecked(
        [&] { return error(where, "invalid window: "); }, context,
        ArrayRef<int64_t>(size), ArrayRef<int64_t>(stride),
        ArrayRef<int64_t>(lo), ArrayRef<int64_t>(hi), ArrayRef<int64_t>(lhs),
        ArrayRef<int64_t>(rhs), ArrayRef<int64_t>(rev));
    if (!w)
      return nullptr;
    set(15, "window", w);
  }
  if (in.has_convolution_dimension_numbers()) {
    const auto &c = in.convolution_dimension_numbers();
    auto v = [](const auto &f) {
      return SmallVector<int64_t>(f.begin(), f.end());
    };
    set(16, "dim_labels",
        hlo::ConvDimensionNumbersAttr::get(
            context, c.input_batch_dimension(), c.input_feature_dimension(),
            v(c.input_spatial_dimensions()), c.kernel_input_feature_dimension(),
            c.kernel_output_feature_dimension(),
            v(c.kernel_spatial_dimensions()), c.output_batch_dimension(),
            c.output_feature_dimension(), v(c.output_spatial_dimensions())));
  }
  if (in.feature_group_count() > 1)
    set(50, "feature_group_count",
        b.getI64IntegerAttr(in.feature_group_count()));
  else if (in.feature_group_count() == 1)
    used.set(50);
  if (in.batch_group_count() > 1)
    set(58, "batch_group_count", b.getI64IntegerAttr(in.batch_group_count()));
  else if (in.batch_group_count() == 1)
    used.set(58);
  if (opcode == "slice") {
    SmallVector<int64_t> start, limit, stride;
    for (const auto &d : in.slice_dimensions()) {
      start.push_back(d.start());
      limit.push_back(d.limit());
      stride.push_back(d.stride());
    }
    used.set(17);
    attrs.set("start_indices", b.getDenseI64ArrayAttr(start));
    attrs.set("limit_indices", b.getDenseI64ArrayAttr(limit));
    attrs.set("strides", b.getDenseI64ArrayAttr(stride));
  }
  if (opcode == "reduce-precision") {
    set(18, "exponent_bits", b.getI64IntegerAttr(in.exponent_bits()));
    set(19, "mantissa_bits", b.getI64IntegerAttr(in.mantissa_bits()));
  }
  if (in.dynamic_slice_sizes_size() || opcode == "dynamic-slice")
    set(20, "dynamic_slice_sizes", i64s(in.dynamic_slice_sizes()));
  if (opcode == "pad") {
    SmallVector<int64_t> lo, hi, interior;
    for (const auto &d : in.padding_config().dimensions()) {
      lo.push_back(d.edge_padding_low());
      hi.push_back(d.edge_padding_high());
      interior.push_back(d.interior_padding());
    }
    used.set(21);
    attrs.set("edge_padding_low", b.getDenseI64ArrayAttr(lo));
    attrs.set("edge_padding_high", b.getDenseI64ArrayAttr(hi));
    attrs.set("interior_padding", b.getDenseI64ArrayAttr(interior));
  }
  if (!in.outfeed_config().empty())
    set(22, "outfeed_config", b.getStringAttr(in.outfeed_config()));
  if (!in.infeed_config().empty())
    set(27, "infeed_config", b.getStringAttr(in.infeed_config()));
  if (opcode == "rng") {
    if (in.distribution() != 1 && in.distribution() != 2) {
      error(where,
            "unknown rng distribution " + llvm::Twine(in.distribution()));
      return nullptr;
    }
    set(23, "distribution",
        hlo::RngDistributionAttr::get(
            context, in.distribution() == 1 ? hlo::RngDistribution::Uniform
                                            : hlo::RngDistribution::Normal));
  }
  if (opcode.starts_with("batch-norm-")) {
    set(24, "epsilon", b.getF32FloatAttr(in.epsilon()));
    set(25, "feature_index", b.getI64IntegerAttr(in.feature_index()));
  }
  if (in.channel_id() > 0)
    set(26, "channel_id", b.getI64IntegerAttr(in.channel_id()));
  if (opcode == "custom-call")
    set(28, "custom_call_target", b.getStringAttr(in.custom_call_target()));
  if (in.has_outfeed_shape()) {
    Type t = convertShape(in.outfeed_shape(), where);
    if (!t)
      return nullptr;
    set(29, "outfeed_shape", TypeAttr::get(t));
  }
  if (in.has_dot_dimension_numbers()) {
    const auto &d = in.dot_dimension_numbers();
    used.set(30);
    auto opt = [&](llvm::StringRef name, const auto &f) {
      if (f.size())
        set(30, name, i64s(f));
    };
    opt("lhs_batch_dims", d.lhs_batch_dimensions());
    opt("lhs_contracting_dims", d.lhs_contracting_dimensions());
    opt("rhs_batch_dims", d.rhs_batch_dimensions());
    opt("rhs_contracting_dims", d.rhs_contracting_dimensions());
  }
  if (opcode == "fft") {
    if (in.fft_type() < 0 || in.fft_type() > 3) {
      error(where, "unknown fft type " + llvm::Twine(in.fft_type()));
      return nullptr;
    }
    set(31, "fft_type",
        hlo::FftTypeAttr::get(context, hlo::FftType(in.fft_type())));
    set(32, "fft_length", i64s(in.fft_length()));
  }
  if (opcode == "gather") {
    const auto &g = in.gather_dimension_numbers();
    used.set(33);
    set(34, "slice_sizes", i64s(in.gather_slice_sizes()));
    attrs.set("offset_dims", i64s(g.offset_dims()));
    attrs.set("collapsed_slice_dims", i64s(g.collapsed_slice_dims()));
    attrs.set("start_index_map", i64s(g.start_index_map()));
    attrs.set("index_vector_dim", b.getI64IntegerAttr(g.index_vector_dim()));
    if (g.operand_batching_dims_size())
      attrs.set("operand_batching_dims", i64s(g.operand_batching_dims()));
    if (g.start_indices_batching_dims_size())
      attrs.set("start_indices_batching_dims",
                i64s(g.start_indices_batching_dims()));
  }
  if (opcode == "scatter") {
    const auto &s = in.scatter_dimension_numbers();
    used.set(48);
    attrs.set("update_window_dims", i64s(s.update_window_dims()));
    attrs.set("inserted_window_dims", i64s(s.inserted_window_dims()));
    attrs.set("scatter_dims_to_operand_dims",
              i64s(s.scatter_dims_to_operand_dims()));
    attrs.set("index_vector_dim", b.getI64IntegerAttr(s.index_vector_dim()));
    if (s.input_batching_dims_size())
      attrs.set("input_batching_dims", i64s(s.input_batching_dims()));
    if (s.scatter_indices_batching_dims_size())
      attrs.set("scatter_indices_batching_dims",
                i64s(s.scatter_indices_batching_dims()));
  }
  if (opcode == "compare") {
    auto dir = hlo::symbolizeComparisonDirection(in.comparison_direction());
    if (!dir) {
      error(where,
            "unknown comparison direction '" + in.comparison_direction() + "'");
      return nullptr;
    }
    set(63, "direction", hlo::ComparisonDirectionAttr::get(context, *dir));
    used.set(72);
    if (!in.comparison_type().empty() && !operands.empty() &&
        in.comparison_type() != defaultComparisonType(operands[0].getType())) {
      auto t = hlo::symbolizeComparisonType(in.comparison_type());
      if (!t) {
        error(where, "unknown comparison type '" + in.comparison_type() + "'");
        return nullptr;
      }
      attrs.set("type", hlo::ComparisonTypeAttr::get(context, *t));
    }
  }
  if (declared("replica_groups")) {
    hlo::ReplicaGroupsAttr groups;
    auto emitErr = [&] { return error(where, "invalid replica groups: "); };
    const auto &list = in.collective_device_list();
    if (list.has_iota_replica_group_list()) {
      const auto &iota = list.iota_replica_group_list();
      SmallVector<int64_t> reshape(iota.iota_reshape_dims().begin(),
                                   iota.iota_reshape_dims().end());
      SmallVector<int64_t> perm(iota.iota_transpose_perm().begin(),
                                iota.iota_transpose_perm().end());
      if (perm.empty())
        for (size_t i = 0; i < reshape.size(); ++i)
          perm.push_back(i);
      groups = hlo::ReplicaGroupsAttr::getChecked(
          emitErr, context, ArrayRef<int64_t>(), ArrayRef<int64_t>(), true,
          iota.num_replica_groups(), iota.num_devices_per_group(),
          ArrayRef<int64_t>(reshape), ArrayRef<int64_t>(perm));
    } else {
      const auto &explicitGroups = list.replica_groups_size()
                                       ? list.replica_groups()
                                       : in.replica_groups();
      SmallVector<int64_t> devices, sizes;
      for (const pb::ReplicaGroup &g : explicitGroups) {
        sizes.push_back(g.replica_ids_size());
        devices.append(g.replica_ids().begin(), g.replica_ids().end());
      }
      groups = hlo::ReplicaGroupsAttr::getChecked(
          emitErr, context, ArrayRef<int64_t>(devices),
          ArrayRef<int64_t>(sizes), false, int64_t(sizes.size()), int64_t(0),
          ArrayRef<int64_t>(), ArrayRef<int64_t>());
    }
    if (!groups)
      return nullptr;
    used.set(49);
    used.set(87);
    attrs.set("replica_groups", groups);
  }
  auto flag = [&](int field, llvm::StringRef name, bool value) {
    if (value)
      set(field, name, b.getBoolAttr(true));
  };
  flag(71, "use_global_device_ids", in.use_global_device_ids());
  flag(47, "is_host_transfer", in.is_host_transfer());
  flag(60, "is_stable", in.is_stable());
  flag(56, "constrain_layout", in.constrain_layout());
  flag(67, "indices_are_sorted", in.indices_are_sorted());
  flag(69, "unique_indices", in.unique_indices());
  flag(65, "custom_call_has_side_effect", in.custom_call_has_side_effect());
  if (in.has_precision_config()) {
    const auto &pc = in.precision_config();
    used.set(51);
    if (llvm::any_of(pc.operand_precision(), [](int p) { return p != 0; })) {
      SmallVector<Attribute> ps;
      for (int p : pc.operand_precision()) {
        if (p < 0 || p > 2) {
          error(where, "unknown operand precision " + llvm::Twine(p));
          return nullptr;
        }
        ps.push_back(hlo::PrecisionAttr::get(context, hlo::Precision(p)));
      }
      set(51, "operand_precision", b.getArrayAttr(ps));
    }
    if (pc.algorithm()) {
      if (pc.algorithm() < 0 ||
          pc.algorithm() >= int(std::size(kDotAlgorithms))) {
        error(where, "unknown dot algorithm " + llvm::Twine(pc.algorithm()));
        return nullptr;
      }
      set(51, "algorithm", b.getStringAttr(kDotAlgorithms[pc.algorithm()]));
    }
  }
  if (opcode == "collective-permute") {
    SmallVector<int64_t> pairs;
    for (const auto &p : in.source_target_pairs()) {
      pairs.push_back(p.source());
      pairs.push_back(p.target());
    }
    set(52, "source_target_pairs", b.getDenseI64ArrayAttr(pairs));
  }
  if (in.operand_shapes_with_layout_size()) {
    SmallVector<Attribute> shapes;
    for (const auto &s : in.operand_shapes_with_layout()) {
      Type t = convertShape(s, where);
      if (!t)
        return nullptr;
      shapes.push_back(TypeAttr::get(t));
    }
    set(57, "operand_layout_constraints", b.getArrayAttr(shapes));
  }
  if (in.has_cholesky_options()) {
    used.set(62);
    if (in.cholesky_options().lower())
      set(62, "lower", b.getBoolAttr(true));
  }
  if (in.parameter_replication().replicated_at_leaf_buffers_size()) {
    const auto &r = in.parameter_replication().replicated_at_leaf_buffers();
    SmallVector<bool> bits(r.begin(), r.end());
    set(61, "parameter_replication", b.getDenseBoolArrayAttr(bits));
  }
  if (in.output_operand_aliasing_size()) {
    std::string text = "{";
    llvm::raw_string_ostream os(text);
    llvm::interleave(
        in.output_operand_aliasing(), os,
        [&](const pb::OutputOperandAliasing &a) {
          os << printShapeIndex(
                    SmallVector<int64_t>(a.output_shape_index().begin(),
                                         a.output_shape_index().end()))
             << ": (" << a.operand_index() << ", "
             << printShapeIndex(
                    SmallVector<int64_t>(a.operand_shape_index().begin(),
                                         a.operand_shape_index().end()))
             << ")";
        },
        ", ");
    os << '}';
    set(74, "output_to_operand_aliasing", b.getStringAttr(text));
  }
  if (in.custom_call_schedule() == 1)
    set(76, "custom_call_schedule", b.getStringAttr("SCHEDULE_LATEST"));
  else if (in.custom_call_schedule() == 2)
    set(76, "custom_call_schedule", b.getStringAttr("SCHEDULE_EARLIEST"));
  if (opcode == "custom-call") {
    int v = in.custom_call_api_version();
    if (v < 0 || v > 4) {
      error(where, "unknown custom-call API version " + llvm::Twine(v));
      return nullptr;
    }
    used.set(77);
    if (v != 1)
      attrs.set("api_version", hlo::CustomCallApiVersionAttr::get(
                                   context, hlo::CustomCallApiVersion(v)));
  }
  if (opcode == "rng-get-and-update-state")
    set(66, "delta", b.getI64IntegerAttr(in.delta()));
  if (opcode == "rng-bit-generator") {
    static const char *const names[] = {"rng_default", "rng_three_fry",
                                        "rng_philox"};
    if (in.rng_algorithm() < 0 || in.rng_algorithm() > 2) {
      error(where, "unknown rng algorithm " + llvm::Twine(in.rng_algorithm()));
      return nullptr;
    }
    set(70, "algorithm", b.getStringAttr(names[in.rng_algorithm()]));
  }
  if (opcode == "topk") {
    set(81, "k", b.getI64IntegerAttr(in.k()));
    set(85, "largest", b.getBoolAttr(in.largest()));
  }
  if (in.dot_sparsity_size()) {
    std::string text;
    llvm::raw_string_ostream os(text);
    for (const auto &s : in.dot_sparsity()) {
      if (s.type() != 1) {
        error(where, "unsupported dot sparsity type " + llvm::Twine(s.type()));
        return nullptr;
      }
      if (!text.empty())
        os << '_';
      os << (s.index() == 0 ? "L." : "R.") << s.dimension() << '@' << s.n()
         << ':' << s.m();
    }
    set(86, "sparsity", b.getStringAttr(text));
  }
  if (opcode == "constant") {
    used.set(8);
    if (in.has_literal()) {
      Attribute value = convertLiteral(in.literal(), type, where);
      if (!value)
        return nullptr;
      attrs.set("value", value);
    }
  }

  // Report what is set but was not interpreted.
  const Reflection *reflection = in.GetReflection();
  std::vector<const FieldDescriptor *> setFields;
  reflection->ListFields(in, &setFields);
  for (const FieldDescriptor *field : setFields) {
    if (field->number() < 128 && used.test(field->number()))
      continue;
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE &&
        !field->is_repeated() &&
        reflection->GetMessage(in, field).ByteSizeLong() == 0)
      continue;
    warn("HloInstructionProto." + field->name() + " (field " +
             std::to_string(field->number()) + ") is not supported for '" +
             opcode.str() + "' and was ignored",
         where);
  }

  Location loc = NameLoc::get(b.getStringAttr(in.name()), fileLoc);
  OperationState state(loc, *info);
  state.addOperands(operands);
  state.addTypes(type);
  state.attributes = attrs;
  return builder.create(state);
}

//===----------------------------------------------------------------------===//
// Computations and the module
//===----------------------------------------------------------------------===//

LogicalResult
ProtoImporter::importComputation(const pb::HloComputationProto &comp,
                                 bool isEntry,
                                 const pb::HloScheduleProto *schedule) {
  std::string where = "computation '" + comp.name() + "'";
  OpBuilder builder(context);
  OperationState state(NameLoc::get(b.getStringAttr(comp.name()), fileLoc),
                       hlo::ComputationOp::getOperationName());
  state.addAttribute("sym_name", b.getStringAttr(comp.name()));
  if (isEntry)
    state.addAttribute("is_entry", b.getUnitAttr());
  if (!comp.execution_thread().empty() && comp.execution_thread() != "main")
    state.addAttribute("execution_thread",
                       b.getStringAttr(comp.execution_thread()));
  Region *region = state.addRegion();
  Block *block = new Block();
  region->push_back(block);
  pendingOps.push_back(Operation::create(state));
  builder.setInsertionPointToEnd(block);

  values.clear();
  instrNames.clear();
  llvm::DenseMap<int64_t, int> indexOf;
  for (auto [i, instr] : llvm::enumerate(comp.instructions())) {
    if (!indexOf.try_emplace(instr.id(), int(i)).second)
      return error(where, "instruction id " + llvm::Twine(instr.id()) +
                              " appears twice");
    instrNames[instr.id()] = instr.name();
  }
  // A scheduled module lists instructions in schedule order in text.
  SmallVector<int> order;
  if (schedule) {
    auto it = schedule->sequences().find(comp.id());
    if (it != schedule->sequences().end()) {
      llvm::DenseSet<int> seen;
      for (int64_t id : it->second.instruction_ids()) {
        auto found = indexOf.find(id);
        if (found == indexOf.end() || !seen.insert(found->second).second) {
          order.clear();
          warn("schedule of computation does not match its instructions; "
               "using proto order",
               where);
          break;
        }
        order.push_back(found->second);
      }
      if (order.size() != size_t(comp.instructions_size()))
        order.clear();
    }
  }
  if (order.empty())
    for (int i = 0; i < comp.instructions_size(); ++i)
      order.push_back(i);

  for (int i : order) {
    const pb::HloInstructionProto &instr = comp.instructions(i);
    Operation *op = importInstruction(instr, builder);
    if (!op)
      return failure();
    values[instr.id()] = op->getResult(0);
  }
  Value root = values.lookup(comp.root_id());
  if (!root) {
    if (comp.instructions_size() == 0)
      return error(where, "computation has no instructions");
    return error(where, "root id " + llvm::Twine(comp.root_id()) +
                            " does not name an instruction");
  }
  OperationState ret(root.getLoc(), hlo::ReturnOp::getOperationName());
  ret.addOperands(root);
  builder.create(ret);
  return success();
}

DictionaryAttr ProtoImporter::convertHeader(const pb::HloModuleProto &m) {
  NamedAttrList header;
  if (m.has_host_program_shape() && m.host_program_shape().has_result()) {
    const auto &ps = m.host_program_shape();
    SmallVector<Type> inputs;
    for (const auto &p : ps.parameters())
      if (Type t = convertShape(p, "entry_computation_layout"))
        inputs.push_back(t);
      else
        return {};
    Type result = convertShape(ps.result(), "entry_computation_layout");
    if (!result)
      return {};
    header.set("entry_computation_layout",
               TypeAttr::get(FunctionType::get(context, inputs, {result})));
  }
  if (m.has_schedule())
    header.set("is_scheduled", b.getBoolAttr(true));
  if (m.input_output_alias().entries_size()) {
    std::string text = "{ ";
    llvm::raw_string_ostream os(text);
    llvm::interleave(
        m.input_output_alias().entries(), os,
        [&](const auto &e) {
          os << printShapeIndex(
                    SmallVector<int64_t>(e.output_shape_index().begin(),
                                         e.output_shape_index().end()))
             << ": (" << e.parameter_number() << ", "
             << printShapeIndex(
                    SmallVector<int64_t>(e.parameter_shape_index().begin(),
                                         e.parameter_shape_index().end()))
             << ", " << (e.kind() == 2 ? "must-alias" : "may-alias") << ")";
        },
        ", ");
    os << " }";
    header.set("input_output_alias", b.getStringAttr(text));
  }
  if (m.buffer_donor().entries_size()) {
    std::string text = "{ ";
    llvm::raw_string_ostream os(text);
    llvm::interleave(
        m.buffer_donor().entries(), os,
        [&](const auto &e) {
          os << "(" << e.parameter_number() << ", "
             << printShapeIndex(
                    SmallVector<int64_t>(e.parameter_shape_index().begin(),
                                         e.parameter_shape_index().end()))
             << ")";
        },
        ", ");
    os << " }";
    header.set("buffer_donor", b.getStringAttr(text));
  }
  if (m.has_device_assignment()) {
    const auto &da = m.device_assignment();
    if (da.replica_count() > 1)
      header.set("replica_count", b.getI64IntegerAttr(da.replica_count()));
    if (da.computation_count() > 1)
      header.set("num_partitions", b.getI64IntegerAttr(da.computation_count()));
    // Only the default assignment (device = replica * partitions +
    // partition) has a text form.
    bool isDefault = da.computation_devices_size() == 0 ||
                     da.computation_devices_size() == da.computation_count();
    for (int c = 0; isDefault && c < da.computation_devices_size(); ++c) {
      const auto &ids = da.computation_devices(c).replica_device_ids();
      if (ids.size() != da.replica_count())
        isDefault = false;
      for (int r = 0; isDefault && r < ids.size(); ++r)
        isDefault = ids[r] == int64_t(r) * da.computation_count() + c;
    }
    if (!isDefault)
      warn("HloModuleProto.device_assignment is not the default assignment; "
           "only replica_count and num_partitions were kept",
           "");
  }
  if (m.frontend_attributes().map_size()) {
    SmallVector<std::pair<std::string, std::string>> sorted(
        m.frontend_attributes().map().begin(),
        m.frontend_attributes().map().end());
    NamedAttrList fa;
    for (auto &[k, v] : sorted)
      fa.append(k, b.getStringAttr(v));
    header.set("frontend_attributes", fa.getDictionary(context));
  }
  return header.getDictionary(context);
}

static std::string printStackFrames(const pb::StackFrameIndexProto &index) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << "FileNames\n";
  for (auto [i, name] : llvm::enumerate(index.file_names()))
    os << i + 1 << " \"" << cEscape(name) << "\"\n";
  os << "\nFunctionNames\n";
  for (auto [i, name] : llvm::enumerate(index.function_names()))
    os << i + 1 << " \"" << cEscape(name) << "\"\n";
  os << "\nFileLocations\n";
  for (auto [i, l] : llvm::enumerate(index.file_locations()))
    os << i + 1 << " {file_name_id=" << l.file_name_id()
       << " function_name_id=" << l.function_name_id() << " line=" << l.line()
       << " end_line=" << l.end_line() << " column=" << l.column()
       << " end_column=" << l.end_column() << "}\n";
  os << "\nStackFrames\n";
  for (auto [i, f] : llvm::enumerate(index.stack_frames()))
    os << i + 1 << " {file_location_id=" << f.file_location_id()
       << " parent_frame_id=" << f.parent_frame_id() + 1 << "}\n";
  return llvm::StringRef(text).rtrim().str();
}

OwningOpRef<ModuleOp> ProtoImporter::importModule(const pb::HloModuleProto &m) {
  checkUnknownFields(m, "");
  auto fail = [&]() -> OwningOpRef<ModuleOp> {
    for (Operation *op : pendingOps)
      op->destroy();
    pendingOps.clear();
    flushWarnings();
    return nullptr;
  };
  if (m.computations_size() == 0) {
    emitError(fileLoc) << "HloModuleProto has no computations";
    return fail();
  }
  llvm::StringSet<> namesSeen;
  for (const auto &comp : m.computations()) {
    if (comp.name().empty()) {
      emitError(fileLoc) << "computation id " << comp.id() << " has no name";
      return fail();
    }
    if (!compNames.try_emplace(comp.id(), comp.name()).second ||
        !namesSeen.insert(comp.name()).second) {
      emitError(fileLoc) << "computation '" << comp.name() << "' (id "
                         << comp.id() << ") is defined twice";
      return fail();
    }
  }
  // The entry: by id, else by name, else the last computation (XLA's rule).
  int entry = -1;
  for (auto [i, comp] : llvm::enumerate(m.computations()))
    if ((m.entry_computation_id() && comp.id() == m.entry_computation_id()) ||
        (entry < 0 && !m.entry_computation_name().empty() &&
         comp.name() == m.entry_computation_name()))
      entry = i;
  if (entry < 0)
    entry = m.computations_size() - 1;

  DictionaryAttr header = convertHeader(m);
  if (!header)
    return fail();
  for (auto [i, comp] : llvm::enumerate(m.computations()))
    if (failed(importComputation(comp, int(i) == entry,
                                 m.has_schedule() ? &m.schedule() : nullptr)))
      return fail();

  OwningOpRef<ModuleOp> module =
      ModuleOp::create(fileLoc, llvm::StringRef(m.name()));
  if (!header.empty())
    (*module)->setAttr(hlo::module_attrs::kHeader, header);
  if (m.stack_frame_index().file_names_size())
    (*module)->setAttr(
        hlo::module_attrs::kStackFrameIndex,
        b.getStringAttr(printStackFrames(m.stack_frame_index())));
  for (Operation *op : pendingOps)
    module->getBody()->push_back(op);
  pendingOps.clear();
  flushWarnings();
  if (failed(verify(*module)))
    return nullptr;
  return module;
}

//===----------------------------------------------------------------------===//
// Entry points
//===----------------------------------------------------------------------===//

/// Top-level field numbers of a serialized message, or false if the bytes
/// are not a well-formed sequence of fields.
static bool scanTopLevelFields(llvm::StringRef bytes,
                               llvm::SmallVectorImpl<int> &numbers) {
  google::protobuf::io::CodedInputStream in(
      reinterpret_cast<const uint8_t *>(bytes.data()), int(bytes.size()));
  while (true) {
    uint32_t tag = in.ReadTag();
    if (tag == 0)
      return in.ConsumedEntireMessage() ||
             in.CurrentPosition() == int(bytes.size());
    numbers.push_back(int(tag >> 3));
    if (!google::protobuf::internal::WireFormatLite::SkipField(&in, tag))
      return false;
  }
}

bool gshard::looksLikeHloProto(llvm::StringRef buffer) {
  if (buffer.empty())
    return false;
  // HLO text and MLIR are printable; a protobuf starts with a tag byte
  // (field 1..3, wire type 2 for our messages: 0x0a, 0x12, 0x1a).
  unsigned char first = buffer[0];
  return first == 0x0a || first == 0x12 || first == 0x1a;
}

OwningOpRef<ModuleOp> gshard::importHloProto(llvm::MemoryBufferRef buffer,
                                             MLIRContext *context) {
  context->loadDialect<hlo::HloDialect>();
  llvm::StringRef bytes = buffer.getBuffer();
  Location fileLoc =
      FileLineColLoc::get(context, buffer.getBufferIdentifier(), 0, 0);
  if (bytes.size() > size_t(INT32_MAX)) {
    emitError(fileLoc) << "protobuf larger than 2 GiB";
    return nullptr;
  }
  SmallVector<int> fields;
  if (bytes.empty() || !scanTopLevelFields(bytes, fields)) {
    emitError(fileLoc) << "not a binary HloModuleProto or HloProto: "
                       << (bytes.empty() ? "the file is empty"
                                         : "malformed or truncated protocol "
                                           "buffer");
    return nullptr;
  }
  // HloProto has only fields 1 (hlo_module) and 3 (buffer_assignment);
  // an HloModuleProto nearly always has entry_computation_name (2) or ids.
  bool wrapper = llvm::all_of(fields, [](int f) { return f == 1 || f == 3; }) &&
                 llvm::count(fields, 1) == 1;
  pb::HloModuleProto module;
  if (wrapper) {
    pb::HloProto proto;
    if (proto.ParseFromArray(bytes.data(), int(bytes.size())) &&
        proto.hlo_module().computations_size())
      module = std::move(*proto.mutable_hlo_module());
    else
      wrapper = false;
  }
  if (!wrapper && !module.ParseFromArray(bytes.data(), int(bytes.size()))) {
    emitError(fileLoc) << "not a binary HloModuleProto or HloProto: "
                          "malformed or truncated protocol buffer";
    return nullptr;
  }
  ProtoImporter importer(context, buffer.getBufferIdentifier());
  return importer.importModule(module);
}
