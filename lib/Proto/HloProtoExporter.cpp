//===- HloProtoExporter.cpp - The hlo dialect to binary HloModuleProto ----===//
//
// The inverse of HloProtoImporter.cpp: every attribute key of
// HloAttrSyntax.def maps to its HloInstructionProto field; values the
// importer leaves out because XLA's printer omits them (comparison type,
// precision, group counts, API version) are written with XLA's defaults.
//
//===----------------------------------------------------------------------===//

#include "gshard/Export/HloProtoExporter.h"

#include "HloProtoExporterImpl.h"

#include "gshard/IR/HloDict.h"
#include "gshard/IR/HloOps.h"

#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/TypeUtilities.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"

using namespace mlir;
using namespace gshard;
using namespace gshard::proto;

static void addAll(google::protobuf::RepeatedField<int64_t> *f,
                   ArrayRef<int64_t> values) {
  f->Add(values.begin(), values.end());
}

LogicalResult ProtoExporter::exportInstruction(Operation *op,
                                               pb::HloInstructionProto &in) {
  std::string opcode = hlo::getHloOpcode(op);
  in.set_opcode(opcode);
  if (failed(convertType(op->getResult(0).getType(), in.mutable_shape(), op)))
    return failure();
  for (Value v : op->getOperands()) {
    auto it = opIds.find(v.getDefiningOp());
    if (it == opIds.end() || v.getDefiningOp()->getBlock() != op->getBlock())
      return op->emitError() << "operand is not an instruction of the same "
                                "computation";
    in.add_operand_ids(it->second);
  }
  auto dims = [](Attribute a) {
    auto d = cast<DenseI64ArrayAttr>(a);
    return d.asArrayRef();
  };
  // Called computations, in XLA's order.
  auto callee = [&](llvm::StringRef key) -> LogicalResult {
    auto ref = op->getAttrOfType<FlatSymbolRefAttr>(key);
    if (!ref)
      return success();
    auto it = compIds.find(ref.getValue());
    if (it == compIds.end())
      return op->emitError() << "calls unknown computation " << ref;
    in.add_called_computation_ids(it->second);
    return success();
  };
  for (llvm::StringRef key :
       {"condition", "body", "select", "scatter", "true_computation",
        "false_computation", "calls", "to_apply"})
    if (failed(callee(key)))
      return failure();
  for (llvm::StringRef key : {"branch_computations", "called_computations"})
    if (auto list = op->getAttrOfType<ArrayAttr>(key))
      for (Attribute a : list) {
        auto ref = dyn_cast<FlatSymbolRefAttr>(a);
        auto it = ref ? compIds.find(ref.getValue()) : compIds.end();
        if (it == compIds.end())
          return op->emitError() << "'" << key << "' names an unknown "
                                 << "computation";
        in.add_called_computation_ids(it->second);
      }

  pb::PrecisionConfig *precision = nullptr;
  for (NamedAttribute attr : op->getAttrs()) {
    llvm::StringRef key = attr.getName();
    Attribute v = attr.getValue();
    auto i64 = [&]() { return cast<IntegerAttr>(v).getInt(); };
    auto flag = [&]() { return cast<BoolAttr>(v).getValue(); };
    if (key == "condition" || key == "body" || key == "select" ||
        key == "scatter" || key == "true_computation" ||
        key == "false_computation" || key == "calls" || key == "to_apply" ||
        key == "branch_computations" || key == "called_computations") {
      continue;
    } else if (key == "sharding") {
      convertSharding(cast<hlo::ShardingAttr>(v), in.mutable_sharding());
    } else if (key == "metadata") {
      convertMetadata(cast<DictionaryAttr>(v), in.mutable_metadata(), op);
    } else if (key == "frontend_attributes") {
      auto *map = in.mutable_frontend_attributes()->mutable_map();
      for (NamedAttribute e : cast<DictionaryAttr>(v)) {
        std::string s;
        if (auto str = dyn_cast<StringAttr>(e.getValue()))
          s = str.str();
        else if (auto i = dyn_cast<IntegerAttr>(e.getValue()))
          s = std::to_string(i.getInt());
        else if (auto bv = dyn_cast<BoolAttr>(e.getValue()))
          s = bv.getValue() ? "true" : "false";
        (*map)[e.getName().str()] = s;
      }
    } else if (key == "backend_config") {
      std::string bytes, error;
      if (!configBytesFromText(cast<StringAttr>(v).getValue(), bytes, error))
        return op->emitError() << "backend_config: " << error;
      in.set_backend_config(bytes);
    } else if (key == "control_predecessors") {
      for (Attribute a : cast<ArrayAttr>(v)) {
        auto it = instrIds.find(cast<StringAttr>(a).getValue());
        if (it == instrIds.end())
          return op->emitError() << "control predecessor " << a
                                 << " is not an instruction of the "
                                    "computation";
        in.add_control_predecessor_ids(it->second);
      }
    } else if (key == "parameter_number") {
      in.set_parameter_number(i64());
    } else if (key == "index" && opcode == "get-tuple-element") {
      in.set_tuple_index(i64());
    } else if (key == "kind" && opcode == "fusion") {
      in.set_fusion_kind(
          hlo::stringifyFusionKind(cast<hlo::FusionKindAttr>(v).getValue())
              .str());
    } else if (key == "iota_dimension") {
      in.add_dimensions(i64());
    } else if (key == "dimensions") {
      addAll(in.mutable_dimensions(), dims(v));
    } else if (key == "window") {
      auto w = cast<hlo::WindowAttr>(v);
      for (size_t i = 0; i < w.getRank(); ++i) {
        pb::WindowDimension *d = in.mutable_window()->add_dimensions();
        d->set_size(w.getSize()[i]);
        d->set_stride(w.getStride()[i]);
        d->set_padding_low(w.getPadLow()[i]);
        d->set_padding_high(w.getPadHigh()[i]);
        d->set_base_dilation(w.getLhsDilate()[i]);
        d->set_window_dilation(w.getRhsDilate()[i]);
        d->set_window_reversal(w.getReversal()[i] != 0);
      }
    } else if (key == "dim_labels") {
      auto c = cast<hlo::ConvDimensionNumbersAttr>(v);
      auto *d = in.mutable_convolution_dimension_numbers();
      d->set_input_batch_dimension(c.getInputBatch());
      d->set_input_feature_dimension(c.getInputFeature());
      addAll(d->mutable_input_spatial_dimensions(), c.getInputSpatial());
      d->set_kernel_input_feature_dimension(c.getKernelInputFeature());
      d->set_kernel_output_feature_dimension(c.getKernelOutputFeature());
      addAll(d->mutable_kernel_spatial_dimensions(), c.getKernelSpatial());
      d->set_output_batch_dimension(c.getOutputBatch());
      d->set_output_feature_dimension(c.getOutputFeature());
      addAll(d->mutable_output_spatial_dimensions(), c.getOutputSpatial());
    } else if (key == "feature_group_count") {
      in.set_feature_group_count(i64());
    } else if (key == "batch_group_count") {
      in.set_batch_group_count(i64());
    } else if (key == "start_indices" && opcode == "slice") {
      auto start = dims(v);
      auto limit = dims(op->getAttr("limit_indices"));
      auto stride = dims(op->getAttr("strides"));
      for (size_t i = 0; i < start.size(); ++i) {
        auto *d = in.add_slice_dimensions();
        d->set_start(start[i]);
        d->set_limit(i < limit.size() ? limit[i] : 0);
        d->set_stride(i < stride.size() ? stride[i] : 1);
      }
    } else if ((key == "limit_indices" || key == "strides") &&
               opcode == "slice") {
      continue;
    } else if (key == "exponent_bits") {
      in.set_exponent_bits(i64());
    } else if (key == "mantissa_bits") {
      in.set_mantissa_bits(i64());
    } else if (key == "dynamic_slice_sizes") {
      addAll(in.mutable_dynamic_slice_sizes(), dims(v));
    } else if (key == "edge_padding_low") {
      auto lo = dims(v);
      auto hi = dims(op->getAttr("edge_padding_high"));
      auto interior = dims(op->getAttr("interior_padding"));
      for (size_t i = 0; i < lo.size(); ++i) {
        auto *d = in.mutable_padding_config()->add_dimensions();
        d->set_edge_padding_low(lo[i]);
        d->set_edge_padding_high(i < hi.size() ? hi[i] : 0);
        d->set_interior_padding(i < interior.size() ? interior[i] : 0);
      }
    } else if (key == "edge_padding_high" || key == "interior_padding") {
      continue;
    } else if (key == "outfeed_config") {
      in.set_outfeed_config(cast<StringAttr>(v).str());
    } else if (key == "infeed_config") {
      in.set_infeed_config(cast<StringAttr>(v).str());
    } else if (key == "distribution") {
      in.set_distribution(cast<hlo::RngDistributionAttr>(v).getValue() ==
                                  hlo::RngDistribution::Uniform
                              ? 1
                              : 2);
    } else if (key == "epsilon") {
      in.set_epsilon(cast<FloatAttr>(v).getValueAsDouble());
    } else if (key == "feature_index") {
      in.set_feature_index(i64());
    } else if (key == "channel_id") {
      in.set_channel_id(i64());
    } else if (key == "custom_call_target") {
      in.set_custom_call_target(cast<StringAttr>(v).str());
    } else if (key == "outfeed_shape") {
      if (failed(convertType(cast<TypeAttr>(v).getValue(),
                             in.mutable_outfeed_shape(), op)))
        return failure();
    } else if (key == "lhs_batch_dims") {
      addAll(in.mutable_dot_dimension_numbers()->mutable_lhs_batch_dimensions(),
             dims(v));
    } else if (key == "rhs_batch_dims") {
      addAll(in.mutable_dot_dimension_numbers()->mutable_rhs_batch_dimensions(),
             dims(v));
    } else if (key == "lhs_contracting_dims") {
      addAll(in.mutable_dot_dimension_numbers()
                 ->mutable_lhs_contracting_dimensions(),
             dims(v));
    } else if (key == "rhs_contracting_dims") {
      addAll(in.mutable_dot_dimension_numbers()
                 ->mutable_rhs_contracting_dimensions(),
             dims(v));
    } else if (key == "fft_type") {
      in.set_fft_type(int(cast<hlo::FftTypeAttr>(v).getValue()));
    } else if (key == "fft_length") {
      addAll(in.mutable_fft_length(), dims(v));
    } else if (opcode == "gather" &&
               (key == "offset_dims" || key == "collapsed_slice_dims" ||
                key == "start_index_map" || key == "index_vector_dim" ||
                key == "operand_batching_dims" ||
                key == "start_indices_batching_dims")) {
      auto *g = in.mutable_gather_dimension_numbers();
      if (key == "offset_dims")
        addAll(g->mutable_offset_dims(), dims(v));
      else if (key == "collapsed_slice_dims")
        addAll(g->mutable_collapsed_slice_dims(), dims(v));
      else if (key == "start_index_map")
        addAll(g->mutable_start_index_map(), dims(v));
      else if (key == "index_vector_dim")
        g->set_index_vector_dim(i64());
      else if (key == "operand_batching_dims")
        addAll(g->mutable_operand_batching_dims(), dims(v));
      else
        addAll(g->mutable_start_indices_batching_dims(), dims(v));
    } else if (key == "slice_sizes") {
      addAll(in.mutable_gather_slice_sizes(), dims(v));
    } else if (opcode == "scatter" &&
               (key == "update_window_dims" || key == "inserted_window_dims" ||
                key == "scatter_dims_to_operand_dims" ||
                key == "index_vector_dim" || key == "input_batching_dims" ||
                key == "scatter_indices_batching_dims")) {
      auto *s = in.mutable_scatter_dimension_numbers();
      if (key == "update_window_dims")
        addAll(s->mutable_update_window_dims(), dims(v));
      else if (key == "inserted_window_dims")
        addAll(s->mutable_inserted_window_dims(), dims(v));
      else if (key == "scatter_dims_to_operand_dims")
        addAll(s->mutable_scatter_dims_to_operand_dims(), dims(v));
      else if (key == "index_vector_dim")
        s->set_index_vector_dim(i64());
      else if (key == "input_batching_dims")
        addAll(s->mutable_input_batching_dims(), dims(v));
      else
        addAll(s->mutable_scatter_indices_batching_dims(), dims(v));
    } else if (key == "direction") {
      in.set_comparison_direction(
          hlo::stringifyComparisonDirection(
              cast<hlo::ComparisonDirectionAttr>(v).getValue())
              .str());
    } else if (key == "type" && opcode == "compare") {
      in.set_comparison_type(hlo::stringifyComparisonType(
                                 cast<hlo::ComparisonTypeAttr>(v).getValue())
                                 .str());
    } else if (key == "replica_groups") {
      auto g = cast<hlo::ReplicaGroupsAttr>(v);
      if (g.getIsIota()) {
        auto *iota = in.mutable_collective_device_list()
                         ->mutable_iota_replica_group_list();
        iota->set_num_replica_groups(g.getNumGroups());
        iota->set_num_devices_per_group(g.getGroupSize());
        addAll(iota->mutable_iota_reshape_dims(), g.getIotaReshapeDims());
        for (int64_t p : g.getIotaPerm())
          iota->add_iota_transpose_perm(p);
      } else {
        size_t at = 0;
        for (int64_t size : g.getGroupSizes()) {
          auto *group = in.add_replica_groups();
          for (int64_t i = 0; i < size; ++i)
            group->add_replica_ids(g.getDevices()[at++]);
        }
      }
    } else if (key == "use_global_device_ids") {
      in.set_use_global_device_ids(flag());
    } else if (key == "is_host_transfer") {
      in.set_is_host_transfer(flag());
    } else if (key == "is_stable") {
      in.set_is_stable(flag());
    } else if (key == "constrain_layout") {
      in.set_constrain_layout(flag());
    } else if (key == "indices_are_sorted") {
      in.set_indices_are_sorted(flag());
    } else if (key == "unique_indices") {
      in.set_unique_indices(flag());
    } else if (key == "custom_call_has_side_effect") {
      in.set_custom_call_has_side_effect(flag());
    } else if (key == "operand_precision") {
      precision = in.mutable_precision_config();
      for (Attribute p : cast<ArrayAttr>(v))
        precision->add_operand_precision(pb::PrecisionConfig::Precision(
            cast<hlo::PrecisionAttr>(p).getValue()));
    } else if (key == "algorithm" && opcode == "rng-bit-generator") {
      llvm::StringRef name = cast<StringAttr>(v).getValue();
      int alg = name == "rng_three_fry" ? 1 : name == "rng_philox" ? 2 : 0;
      if (alg == 0 && name != "rng_default")
        return op->emitError() << "unknown rng algorithm '" << name << "'";
      in.set_rng_algorithm(alg);
    } else if (key == "algorithm") {
      llvm::StringRef name = cast<StringAttr>(v).getValue();
      auto *it = llvm::find(kDotAlgorithms, name);
      if (it == std::end(kDotAlgorithms))
        return op->emitError() << "unknown dot algorithm '" << name << "'";
      in.mutable_precision_config()->set_algorithm(
          int(it - std::begin(kDotAlgorithms)));
    } else if (key == "source_target_pairs") {
      auto pairs = dims(v);
      for (size_t i = 0; i + 1 < pairs.size(); i += 2) {
        auto *p = in.add_source_target_pairs();
        p->set_source(pairs[i]);
        p->set_target(pairs[i + 1]);
      }
    } else if (key == "operand_layout_constraints") {
      for (Attribute t : cast<ArrayAttr>(v))
        if (failed(convertType(cast<TypeAttr>(t).getValue(),
                               in.add_operand_shapes_with_layout(), op)))
          return failure();
    } else if (key == "lower" && opcode == "cholesky") {
      in.mutable_cholesky_options()->set_lower(flag());
    } else if (key == "parameter_replication") {
      for (bool bit : cast<DenseBoolArrayAttr>(v).asArrayRef())
        in.mutable_parameter_replication()->add_replicated_at_leaf_buffers(bit);
    } else if (key == "output_to_operand_aliasing") {
      // {{out}: (operand, {index}), ...}
      hlo::SyntaxCursor c(cast<StringAttr>(v).getValue());
      c.expect("{");
      while (!c.hasError() && !c.consumeIf("}")) {
        SmallVector<int64_t> outIndex, operandIndex;
        int64_t operand;
        if (c.parseIntList(outIndex, '{') && c.expect(":") && c.expect("(") &&
            c.parseInt(operand) && c.expect(",") &&
            c.parseIntList(operandIndex, '{') && c.expect(")")) {
          auto *a = in.add_output_operand_aliasing();
          addAll(a->mutable_output_shape_index(), outIndex);
          a->set_operand_index(operand);
          addAll(a->mutable_operand_shape_index(), operandIndex);
        }
        c.consumeIf(",");
      }
      if (c.hasError())
        return op->emitError() << "output_to_operand_aliasing: " << c.error();
    } else if (key == "custom_call_schedule") {
      llvm::StringRef s = cast<StringAttr>(v).getValue();
      in.set_custom_call_schedule(s == "SCHEDULE_LATEST"     ? 1
                                  : s == "SCHEDULE_EARLIEST" ? 2
                                                             : 0);
    } else if (key == "api_version") {
      in.set_custom_call_api_version(
          int(cast<hlo::CustomCallApiVersionAttr>(v).getValue()));
    } else if (key == "delta") {
      in.set_delta(i64());
    } else if (key == "k") {
      in.set_k(i64());
    } else if (key == "largest") {
      in.set_largest(flag());
    } else if (key == "sparsity") {
      // L.1@2:4[_R.0@2:4]
      hlo::SyntaxCursor c(cast<StringAttr>(v).getValue());
      do {
        auto *s = in.add_dot_sparsity();
        s->set_type(1);
        int64_t dim, n, m;
        if (c.consumeIf("L"))
          s->set_index(0);
        else if (c.expect("R"))
          s->set_index(1);
        if (c.expect(".") && c.parseInt(dim) && c.expect("@") &&
            c.parseInt(n) && c.expect(":") && c.parseInt(m)) {
          s->set_dimension(dim);
          s->set_n(n);
          s->set_m(m);
        }
      } while (!c.hasError() && c.consumeIf("_"));
      if (c.hasError() || !c.atEnd())
        return op->emitError() << "bad sparsity '" << v << "'";
    } else if (key == "value" && opcode == "constant") {
      if (failed(convertLiteral(v, op->getResult(0).getType(),
                                in.mutable_literal(), op)))
        return failure();
    } else {
      warn(op, "attribute '" + key + "' of '" + opcode +
                   "' has no HloInstructionProto field; not written");
    }
  }
  // XLA's defaults for values the text form leaves implicit.
  if (opcode == "compare" && in.comparison_type().empty()) {
    Type et = getElementTypeOrSelf(op->getOperand(0).getType());
    auto i = dyn_cast<IntegerType>(et);
    in.set_comparison_type(!i                                    ? "FLOAT"
                           : i.isUnsigned() || i.getWidth() == 1 ? "UNSIGNED"
                                                                 : "SIGNED");
  }
  if ((opcode == "dot" || opcode == "convolution") &&
      in.precision_config().operand_precision_size() == 0) {
    in.mutable_precision_config()->add_operand_precision(
        pb::PrecisionConfig::DEFAULT);
    in.mutable_precision_config()->add_operand_precision(
        pb::PrecisionConfig::DEFAULT);
  }
  if (opcode == "convolution") {
    if (!in.feature_group_count())
      in.set_feature_group_count(1);
    if (!in.batch_group_count())
      in.set_batch_group_count(1);
  }
  if (opcode == "custom-call" && !op->hasAttr("api_version"))
    in.set_custom_call_api_version(1);
  return success();
}

static bool parseStackFrames(llvm::StringRef text,
                             pb::StackFrameIndexProto &index,
                             std::string &error) {
  llvm::StringRef section;
  llvm::SmallVector<llvm::StringRef> lines;
  text.split(lines, '\n');
  for (llvm::StringRef line : lines) {
    line = line.trim();
    if (line.empty())
      continue;
    if (!llvm::isDigit(line[0])) {
      section = line;
      continue;
    }
    auto [number, rest] = line.split(' ');
    hlo::SyntaxCursor c(rest);
    if (section == "FileNames" || section == "FunctionNames") {
      std::string name;
      if (!hlo::parseQuotedString(c, name)) {
        error = c.error();
        return false;
      }
      if (section == "FileNames")
        index.add_file_names(name);
      else
        index.add_function_names(name);
      continue;
    }
    MLIRContext context;
    DictionaryAttr dict = hlo::parseHloDict(&context, c);
    if (!dict) {
      error = c.error();
      return false;
    }
    auto get = [&](llvm::StringRef key) -> int64_t {
      auto v = dict.getAs<IntegerAttr>(key);
      return v ? v.getInt() : 0;
    };
    if (section == "FileLocations") {
      auto *l = index.add_file_locations();
      l->set_file_name_id(get("file_name_id"));
      l->set_function_name_id(get("function_name_id"));
      l->set_line(get("line"));
      l->set_end_line(get("end_line"));
      l->set_column(get("column"));
      l->set_end_column(get("end_column"));
    } else if (section == "StackFrames") {
      auto *f = index.add_stack_frames();
      f->set_file_location_id(get("file_location_id"));
      f->set_parent_frame_id(get("parent_frame_id") - 1);
    } else {
      error = "unknown section '" + section.str() + "'";
      return false;
    }
  }
  return true;
}

LogicalResult ProtoExporter::exportHeader(ModuleOp module,
                                          DictionaryAttr header,
                                          pb::HloModuleProto &proto) {
  Operation *op = module;
  int64_t replicas = 0, partitions = 0;
  for (NamedAttribute attr : header) {
    llvm::StringRef key = attr.getName();
    Attribute v = attr.getValue();
    if (key == "entry_computation_layout") {
      // Written from the entry computation below, as XLA does; a layout that
      // differs from the entry signature wins.
      auto fn = dyn_cast<FunctionType>(cast<TypeAttr>(v).getValue());
      if (!fn || fn.getNumResults() != 1)
        return op->emitError() << "bad entry_computation_layout";
      auto *ps = proto.mutable_host_program_shape();
      ps->Clear();
      for (Type t : fn.getInputs())
        if (failed(convertType(t, ps->add_parameters(), op)))
          return failure();
      if (failed(convertType(fn.getResult(0), ps->mutable_result(), op)))
        return failure();
    } else if (key == "is_scheduled") {
      if (cast<BoolAttr>(v).getValue())
        proto.mutable_schedule();
    } else if (key == "replica_count") {
      replicas = cast<IntegerAttr>(v).getInt();
    } else if (key == "num_partitions") {
      partitions = cast<IntegerAttr>(v).getInt();
    } else if (key == "frontend_attributes") {
      auto *map = proto.mutable_frontend_attributes()->mutable_map();
      for (NamedAttribute e : cast<DictionaryAttr>(v))
        if (auto s = dyn_cast<StringAttr>(e.getValue()))
          (*map)[e.getName().str()] = s.str();
    } else if (key == "input_output_alias" || key == "buffer_donor") {
      bool alias = key == "input_output_alias";
      hlo::SyntaxCursor c(cast<StringAttr>(v).getValue());
      c.expect("{");
      while (!c.hasError() && !c.consumeIf("}")) {
        SmallVector<int64_t> outIndex, paramIndex;
        int64_t param = 0;
        llvm::StringRef kind = "may-alias";
        if (alias && !(c.parseIntList(outIndex, '{') && c.expect(":")))
          break;
        if (c.expect("(") && c.parseInt(param) && c.expect(",") &&
            c.parseIntList(paramIndex, '{')) {
          if (alias && c.consumeIf(","))
            c.parseIdentifier(kind);
          c.expect(")");
        }
        if (alias) {
          auto *e = proto.mutable_input_output_alias()->add_entries();
          addAll(e->mutable_output_shape_index(), outIndex);
          e->set_parameter_number(param);
          addAll(e->mutable_parameter_shape_index(), paramIndex);
          e->set_kind(kind == "must-alias" ? 2 : 1);
        } else {
          auto *e = proto.mutable_buffer_donor()->add_entries();
          e->set_parameter_number(param);
          addAll(e->mutable_parameter_shape_index(), paramIndex);
        }
        c.consumeIf(",");
      }
      if (c.hasError())
        return op->emitError() << key << ": " << c.error();
    } else {
      warn(op, "module attribute '" + key +
                   "' is module configuration with no HloModuleProto field; "
                   "not written");
    }
  }
  if (replicas > 0 || partitions > 0) {
    replicas = std::max<int64_t>(replicas, 1);
    partitions = std::max<int64_t>(partitions, 1);
    auto *da = proto.mutable_device_assignment();
    da->set_replica_count(replicas);
    da->set_computation_count(partitions);
    if (replicas * partitions <= (int64_t(1) << 20))
      for (int64_t c = 0; c < partitions; ++c) {
        auto *devices = da->add_computation_devices();
        for (int64_t r = 0; r < replicas; ++r)
          devices->add_replica_device_ids(r * partitions + c);
      }
  }
  return success();
}

LogicalResult ProtoExporter::exportModule(ModuleOp module,
                                          pb::HloModuleProto &proto) {
  proto.set_name(module.getSymName() ? module.getSymName()->str() : "module");
  SmallVector<hlo::ComputationOp> comps;
  for (Operation &op : *module.getBody()) {
    auto comp = dyn_cast<hlo::ComputationOp>(op);
    if (!comp)
      return op.emitError() << "only hlo.computation ops can be exported to "
                               "an HloModuleProto";
    comps.push_back(comp);
    compIds[comp.getSymName()] = int64_t(comps.size());
  }
  if (comps.empty())
    return module.emitError() << "module has no computations";
  hlo::ComputationOp entry = comps.back();
  for (hlo::ComputationOp comp : comps)
    if (comp.getIsEntry())
      entry = comp;
  // Fusion bodies are not scheduled.
  llvm::StringSet<> fused;
  module.walk([&](hlo::FusionOp f) { fused.insert(f.getCalls()); });

  bool scheduled = false;
  if (auto header =
          module->getAttrOfType<DictionaryAttr>(hlo::module_attrs::kHeader)) {
    if (failed(exportHeader(module, header, proto)))
      return failure();
    scheduled = proto.has_schedule();
  }
  if (auto frames = module->getAttrOfType<StringAttr>(
          hlo::module_attrs::kStackFrameIndex)) {
    std::string error;
    if (!parseStackFrames(frames.getValue(), *proto.mutable_stack_frame_index(),
                          error))
      return module.emitError() << "stack frame index: " << error;
  }

  for (hlo::ComputationOp comp : comps) {
    pb::HloComputationProto *c = proto.add_computations();
    c->set_name(comp.getSymName().str());
    c->set_id(compIds[comp.getSymName()]);
    if (auto thread = comp.getExecutionThread())
      c->set_execution_thread(thread->str());
    instrIds.clear();
    opIds.clear();
    pb::HloScheduleProto::InstructionSequence *sequence = nullptr;
    if (scheduled && !fused.contains(comp.getSymName()))
      sequence = &(*proto.mutable_schedule()->mutable_sequences())[c->id()];
    for (Operation &op : comp.getBody().front()) {
      if (isa<hlo::ReturnOp>(op))
        continue;
      if (op.getNumResults() != 1 || op.getDialect() != comp->getDialect())
        return op.emitError() << "not an HLO instruction";
      pb::HloInstructionProto *in = c->add_instructions();
      int64_t id = nextId++;
      std::string name = hlo::getInstructionName(op.getLoc()).str();
      if (name.empty())
        name = hlo::getHloOpcode(&op) + "." + std::to_string(id);
      if (!instrIds.try_emplace(name, id).second)
        return op.emitError() << "instruction name '" << name
                              << "' is not unique in its computation";
      opIds[&op] = id;
      in->set_name(name);
      in->set_id(id);
      if (failed(exportInstruction(&op, *in)))
        return failure();
      if (sequence)
        sequence->add_instruction_ids(id);
    }
    Value root = comp.getRoot();
    if (!root)
      return comp.emitError() << "computation has no root";
    auto rootId = opIds.find(root.getDefiningOp());
    if (rootId == opIds.end())
      return comp.emitError() << "the root is not an instruction of the "
                                 "computation";
    c->set_root_id(rootId->second);
    auto *ps = c->mutable_program_shape();
    for (hlo::ParameterOp p : hlo::getParameters(comp)) {
      if (!p)
        return comp.emitError() << "parameter numbers are not contiguous";
      if (failed(convertType(p.getType(), ps->add_parameters(), comp)))
        return failure();
      ps->add_parameter_names(hlo::getInstructionName(p.getLoc()).str());
    }
    if (failed(convertType(root.getType(), ps->mutable_result(), comp)))
      return failure();
    if (comp == entry) {
      proto.set_entry_computation_name(c->name());
      proto.set_entry_computation_id(c->id());
      // XLA requires the host program shape; the entry signature is the
      // default entry_computation_layout.
      if (!proto.has_host_program_shape())
        *proto.mutable_host_program_shape() = *ps;
    }
  }
  proto.mutable_host_program_shape()->clear_parameter_names();
  return success();
}

LogicalResult gshard::exportHloProto(ModuleOp module, std::string &bytes) {
  pb::HloModuleProto proto;
  ProtoExporter exporter;
  if (failed(exporter.exportModule(module, proto)))
    return failure();
  // Deterministic: map fields (frontend attributes) in key order, so the
  // same module always gives the same bytes.
  bytes.clear();
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    if (!proto.SerializeToCodedStream(&coded))
      return module.emitError() << "HloModuleProto serialization failed (over "
                                   "2 GiB?)";
  }
  return success();
}

LogicalResult gshard::exportHloProto(ModuleOp module, llvm::raw_ostream &os) {
  std::string bytes;
  if (failed(exportHloProto(module, bytes)))
    return failure();
  os << bytes;
  return success();
}
