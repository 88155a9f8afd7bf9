//===- HloProtoImportInstruction.cpp - One instruction to an op -----------===//
//
// Maps an instruction's proto fields onto the attributes the hlo op declares
// under their HLO text keys, defaulting what XLA's text printer omits, and
// warns about every set field it did not interpret.
//
//===----------------------------------------------------------------------===//

#include "HloProtoImporterImpl.h"

#include "gshard/IR/HloSyntax.h"

#include "mlir/IR/TypeUtilities.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallBitVector.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace gshard;
using namespace gshard::proto;
using google::protobuf::FieldDescriptor;
using google::protobuf::Reflection;

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
