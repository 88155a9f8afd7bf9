//===- ExportUtils.cpp - Shared pieces of the HLO printers ----------------===//

#include "ExportUtils.h"
#include "gshard/IR/HloDict.h"
#include "gshard/IR/HloOps.h"
#include "gshard/IR/HloSyntax.h"

using namespace mlir;
using namespace gshard;
using namespace gshard::hlo;
using namespace gshard::export_detail;

/// XLA's print order. Opcode-specific attributes first (in the order each
/// instruction class prints them; no instruction carries two keys whose
/// order differs below, except reduce-scatter: see getRank), then called
/// computations, then the attributes common to every instruction.
static constexpr llvm::StringLiteral kPrintOrder[] = {
    "parameter_replication",
    // convolution, custom-call
    "window", "dim_labels", "feature_group_count", "batch_group_count",
    // dot
    "lhs_batch_dims", "lhs_contracting_dims", "rhs_batch_dims",
    "rhs_contracting_dims", "operand_precision", "algorithm", "sparsity",
    // custom-call
    "custom_call_target", "operand_layout_constraints",
    "custom_call_has_side_effect", "output_to_operand_aliasing",
    "custom_call_schedule", "api_version",
    // collectives, send/recv
    "channel_id", "replica_groups", "constrain_layout", "dimensions",
    "use_global_device_ids", "source_target_pairs", "is_host_transfer",
    // shapes
    "slice", "padding", "iota_dimension", "index", "dynamic_slice_sizes",
    "direction", "type",
    // gather, scatter
    "offset_dims", "collapsed_slice_dims", "start_index_map",
    "operand_batching_dims", "start_indices_batching_dims",
    "update_window_dims", "inserted_window_dims",
    "scatter_dims_to_operand_dims", "input_batching_dims",
    "scatter_indices_batching_dims", "index_vector_dim", "slice_sizes",
    "indices_are_sorted", "unique_indices",
    // the rest
    "is_stable", "k", "largest", "kind", "distribution", "fft_type",
    "fft_length", "epsilon", "feature_index", "exponent_bits", "mantissa_bits",
    "triangular_solve_options", "lower", "infeed_config", "outfeed_shape",
    "outfeed_config", "delta",
    // called computations
    "condition", "body", "select", "scatter", "true_computation",
    "false_computation", "branch_computations", "to_apply", "calls",
    "called_computations", "known_trip_count",
    // common to every instruction
    "sharding", "frontend_attributes", "control_predecessors", "metadata",
    "backend_config"};

/// Sort key of an attribute: table keys missing from kPrintOrder go between
/// the opcode-specific ones and the called computations, by name.
unsigned gshard::export_detail::getRank(Operation *op, llvm::StringRef key) {
  static const llvm::StringMap<unsigned> ranks = [] {
    llvm::StringMap<unsigned> r;
    for (auto [i, name] : llvm::enumerate(kPrintOrder))
      r[name] = 2 * i;
    return r;
  }();
  static const unsigned unlisted = ranks.lookup("condition") - 1;
  // reduce-scatter prints its dimensions after use_global_device_ids.
  if (key == "dimensions" && isa<ReduceScatterOp>(op))
    return ranks.lookup("use_global_device_ids") + 1;
  auto it = ranks.find(key);
  return it == ranks.end() ? unlisted : it->second;
}

/// Header keys in XLA's `HloModule::ToString()` order; others follow by name.
static constexpr llvm::StringLiteral kHeaderOrder[] = {
    "is_scheduled",
    "input_output_alias",
    "buffer_donor",
    "alias_passthrough_params",
    "entry_computation_layout",
    "allow_spmd_sharding_propagation_to_parameters",
    "allow_spmd_sharding_propagation_to_output",
    "replica_count",
    "num_partitions",
    "frontend_attributes"};

llvm::ArrayRef<llvm::StringLiteral> gshard::export_detail::getHeaderOrder() {
  return kHeaderOrder;
}

/// Whether `text` is one balanced `{...}` group (quotes honoured), which the
/// importer keeps as raw text and XLA prints unquoted.
bool gshard::export_detail::isBraceGroup(llvm::StringRef text) {
  if (!text.starts_with("{") || !text.ends_with("}"))
    return false;
  int depth = 0;
  bool inString = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (inString) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        inString = false;
    } else if (c == '"') {
      inString = true;
    } else if (c == '{') {
      ++depth;
    } else if (c == '}' && --depth == 0 && i + 1 != text.size()) {
      return false;
    }
  }
  return depth == 0 && !inString;
}

/// `frontend_attributes={a="x",b={raw}}`: like printHloDict, but values that
/// are a `{...}` group print unquoted, as XLA prints them.
void gshard::export_detail::printFrontendAttributes(llvm::raw_ostream &os,
                                                    DictionaryAttr dict) {
  os << '{';
  llvm::interleave(
      dict, os,
      [&](NamedAttribute entry) {
        auto text = dyn_cast<StringAttr>(entry.getValue());
        if (text && isBraceGroup(text.getValue())) {
          os << entry.getName().strref() << '=' << text.getValue();
          return;
        }
        NamedAttribute single[] = {entry};
        std::string one;
        llvm::raw_string_ostream oneOs(one);
        printHloDict(oneOs, DictionaryAttr::get(dict.getContext(), single),
                     ",");
        os << llvm::StringRef(one).drop_front().drop_back();
      },
      ",");
  os << '}';
}

void gshard::export_detail::printConfig(llvm::raw_ostream &os,
                                        llvm::StringRef text) {
  // The importer keeps the raw text (`"..."` or `{...}`); text a pass made
  // up is quoted unless it is a `{...}` dictionary, as XLA prints it.
  if (text.starts_with("{") ||
      (text.size() >= 2 && text.starts_with("\"") && text.ends_with("\""))) {
    os << text;
    return;
  }
  os << '"';
  printEscapedString(os, text);
  os << '"';
}
