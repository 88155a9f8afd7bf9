//===- HloOps.td - Operations of the hlo dialect -----------*- tablegen -*-===//
//
// One op per HLO opcode (`hlo.<opcode>` with `-` spelled `_`). Attribute
// names are HLO's attribute keys, so that the text importer and printer are
// generic over them (see HloAttrSyntax.def). Every op produces exactly one
// value, like an HLO instruction; tuples are builtin `tuple<...>` types.
//
//===----------------------------------------------------------------------===//

#ifndef GSHARD_IR_HLOOPS_TD
#define GSHARD_IR_HLOOPS_TD

include "gshard/IR/HloDialect.td"
include "gshard/IR/HloAttrs.td"
include "gshard/IR/HloTypes.td"
include "mlir/IR/SymbolInterfaces.td"
include "mlir/IR/RegionKindInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/IR/BuiltinAttributes.td"

// Attributes that any HLO instruction may carry.
defvar HLO_CommonAttrs = (ins
  OptionalAttr<HLO_ShardingAttr>:$sharding,
  OptionalAttr<DictionaryAttr>:$metadata,
  OptionalAttr<DictionaryAttr>:$frontend_attributes,
  OptionalAttr<StrAttr>:$backend_config,
  OptionalAttr<StrArrayAttr>:$control_predecessors);

class HLO_Op<string mnemonic, list<Trait> traits = [], dag args = (ins)>
    : Op<Hlo_Dialect, mnemonic, traits> {
  let arguments = !con(args, HLO_CommonAttrs);
  let results = (outs HLO_Value:$result);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

// Shape rules follow XLA's ShapeInference (lib/IR/HloVerifiers.cpp): ops with
// a rule set `hasVerifier`; elementwise ops share the traits below.
def HLO_SameShape : NativeOpTrait<"HloSameShape"> {
  let cppNamespace = "::gshard::hlo::OpTrait";
}
def HLO_SameElementType : NativeOpTrait<"HloSameElementType"> {
  let cppNamespace = "::gshard::hlo::OpTrait";
}
// Ops that name computations (to_apply, body, branches, ...): their
// signatures are checked against the callee in verifySymbolUses.
defvar HLO_CallsComputations = DeclareOpInterfaceMethods<SymbolUserOpInterface>;

class HLO_VerifiedOp<string mnemonic, list<Trait> traits = [], dag args = (ins)>
    : HLO_Op<mnemonic, traits, args> {
  let hasVerifier = 1;
}

// Ops whose only rule is "all operands and the result have the same shape".
class HLO_UnaryOp<string mnemonic,
                  list<Trait> traits = [HLO_SameElementType]>
    : HLO_Op<mnemonic, !listconcat([Pure, HLO_SameShape], traits),
             (ins HLO_Tensor:$operand)> {
  let results = (outs HLO_Tensor:$result);
}
class HLO_BinaryOp<string mnemonic,
                   list<Trait> traits = [HLO_SameElementType]>
    : HLO_Op<mnemonic, !listconcat([Pure, HLO_SameShape], traits),
             (ins HLO_Tensor:$lhs, HLO_Tensor:$rhs)> {
  let results = (outs HLO_Tensor:$result);
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

def HLO_AbsOp : HLO_UnaryOp<"abs">;
def HLO_CbrtOp : HLO_UnaryOp<"cbrt">;
def HLO_CeilOp : HLO_UnaryOp<"ceil">;
def HLO_ClzOp : HLO_UnaryOp<"count_leading_zeros">;
// copy also copies tuples (XLA allows any shape).
def HLO_CopyOp : HLO_VerifiedOp<"copy", [Pure], (ins HLO_Value:$operand)>;
def HLO_CosineOp : HLO_UnaryOp<"cosine">;
def HLO_ErfOp : HLO_UnaryOp<"erf">;
def HLO_ExponentialOp : HLO_UnaryOp<"exponential">;
def HLO_ExponentialMinusOneOp : HLO_UnaryOp<"exponential_minus_one">;
def HLO_FloorOp : HLO_UnaryOp<"floor">;
def HLO_ImagOp : HLO_UnaryOp<"imag", []> { let hasVerifier = 1; }
def HLO_IsFiniteOp : HLO_UnaryOp<"is_finite", []> { let hasVerifier = 1; }
def HLO_LogOp : HLO_UnaryOp<"log">;
def HLO_LogPlusOneOp : HLO_UnaryOp<"log_plus_one">;
def HLO_LogisticOp : HLO_UnaryOp<"logistic">;
def HLO_NegateOp : HLO_UnaryOp<"negate">;
def HLO_NotOp : HLO_UnaryOp<"not">;
def HLO_PopulationCountOp : HLO_UnaryOp<"popcnt">;
def HLO_RealOp : HLO_UnaryOp<"real", []> { let hasVerifier = 1; }
def HLO_RoundNearestAfzOp : HLO_UnaryOp<"round_nearest_afz">;
def HLO_RoundNearestEvenOp : HLO_UnaryOp<"round_nearest_even">;
def HLO_RsqrtOp : HLO_UnaryOp<"rsqrt">;
def HLO_SignOp : HLO_UnaryOp<"sign">;
def HLO_SineOp : HLO_UnaryOp<"sine">;
def HLO_SqrtOp : HLO_UnaryOp<"sqrt">;
def HLO_TanOp : HLO_UnaryOp<"tan">;
def HLO_TanhOp : HLO_UnaryOp<"tanh">;
def HLO_ConvertOp : HLO_UnaryOp<"convert", []>;
def HLO_BitcastConvertOp : HLO_VerifiedOp<"bitcast_convert", [Pure],
    (ins HLO_Tensor:$operand)> {
  let results = (outs HLO_Tensor:$result);
}
def HLO_StochasticConvertOp : HLO_VerifiedOp<"stochastic_convert", [Pure],
    (ins HLO_Tensor:$operand, HLO_Tensor:$random)> {
  let results = (outs HLO_Tensor:$result);
}
def HLO_ReducePrecisionOp : HLO_VerifiedOp<"reduce_precision", [Pure],
    (ins HLO_Tensor:$operand, I64Attr:$exponent_bits, I64Attr:$mantissa_bits)> {
  let results = (outs HLO_Tensor:$result);
}

def HLO_AddOp : HLO_BinaryOp<"add">;
def HLO_AndOp : HLO_BinaryOp<"and">;
def HLO_Atan2Op : HLO_BinaryOp<"atan2">;
def HLO_ComplexOp : HLO_BinaryOp<"complex", []>;
def HLO_DivideOp : HLO_BinaryOp<"divide">;
def HLO_MaximumOp : HLO_BinaryOp<"maximum">;
def HLO_MinimumOp : HLO_BinaryOp<"minimum">;
def HLO_MultiplyOp : HLO_BinaryOp<"multiply">;
def HLO_OrOp : HLO_BinaryOp<"or">;
def HLO_PowerOp : HLO_BinaryOp<"power">;
def HLO_RemainderOp : HLO_BinaryOp<"remainder">;
def HLO_ShiftLeftOp : HLO_BinaryOp<"shift_left">;
def HLO_ShiftRightArithmeticOp : HLO_BinaryOp<"shift_right_arithmetic">;
def HLO_ShiftRightLogicalOp : HLO_BinaryOp<"shift_right_logical">;
def HLO_SubtractOp : HLO_BinaryOp<"subtract">;
def HLO_XorOp : HLO_BinaryOp<"xor">;

def HLO_CompareOp : HLO_VerifiedOp<"compare", [Pure],
    (ins HLO_Tensor:$lhs, HLO_Tensor:$rhs,
         HLO_ComparisonDirectionAttr:$direction,
         OptionalAttr<HLO_ComparisonTypeAttr>:$type)> {
  let results = (outs HLO_Tensor:$result);
}
def HLO_SelectOp : HLO_VerifiedOp<"select", [Pure],
    (ins HLO_Tensor:$pred, HLO_Tensor:$on_true, HLO_Tensor:$on_false)> {
  let results = (outs HLO_Tensor:$result);
}
def HLO_ClampOp : HLO_VerifiedOp<"clamp", [Pure],
    (ins HLO_Tensor:$min, HLO_Tensor:$operand, HLO_Tensor:$max)> {
  let results = (outs HLO_Tensor:$result);
}
def HLO_MapOp : HLO_VerifiedOp<"map", [HLO_CallsComputations],
    (ins Variadic<HLO_Tensor>:$inputs, OptionalAttr<DenseI64ArrayAttr>:$dimensions,
         FlatSymbolRefAttr:$to_apply)> {
  let results = (outs HLO_Tensor:$result);
}

//===----------------------------------------------------------------------===//
// Leaves: parameter, constant, iota, ids, rng
//===----------------------------------------------------------------------===//

def HLO_ParameterOp : HLO_Op<"parameter", [],
    (ins I64Attr:$parameter_number,
         OptionalAttr<DenseBoolArrayAttr>:$parameter_replication)>;
def HLO_ConstantOp : HLO_Op<"constant", [Pure],
    (ins OptionalAttr<AnyAttr>:$value)> {
  let description = [{
    `value` is an ElementsAttr (or an ArrayAttr of them for a tuple literal).
    Absent `value` means the literal was elided in the dump (`{...}`).
  }];
}
def HLO_IotaOp : HLO_VerifiedOp<"iota", [Pure], (ins I64Attr:$iota_dimension)> {
  let results = (outs HLO_Tensor:$result);
}
def HLO_PartitionIdOp : HLO_Op<"partition_id", [Pure]> {
  let results = (outs HLO_Tensor:$result);
}
def HLO_ReplicaIdOp : HLO_Op<"replica_id", [Pure]> {
  let results = (outs HLO_Tensor:$result);
}
def HLO_RngOp : HLO_Op<"rng", [],
    (ins HLO_Tensor:$a, HLO_Tensor:$b,
         HLO_RngDistributionAttr:$distribution)> {
  let results = (outs HLO_Tensor:$result);
}
def HLO_RngBitGeneratorOp : HLO_Op<"rng_bit_generator", [],
    (ins HLO_Tensor:$state, StrAttr:$algorithm)>;
def HLO_RngGetAndUpdateStateOp : HLO_Op<"rng_get_and_update_state", [],
    (ins I64Attr:$delta)>;

//===----------------------------------------------------------------------===//
// Shape manipulation
//===----------------------------------------------------------------------===//

def HLO_BroadcastOp : HLO_VerifiedOp<"broadcast", [Pure],
    (ins HLO_Tensor:$operand, DenseI64ArrayAttr:$dimensions)> {
  let results = (outs HLO_Tensor:$result);
}
def HLO_ReshapeOp : HLO_VerifiedOp<"reshape", [Pure],
    (ins HLO_Tensor:$operand, OptionalAttr<BoolAttr>:$inferred_dimension)> {
  let results = (outs HLO_Tensor:$result);
}
def HLO_DynamicReshapeOp : HLO_Op<"dynamic_reshape", [Pure],
    (ins HLO_Tensor:$operand, Variadic<HLO_Tensor>:$output_dims)> {
  let results = (outs HLO_Tensor:$result);
}
def HLO_BitcastOp : HLO_VerifiedOp<"bitcast", [Pure], (ins HLO_Tensor:$operand)> {
  let results = (outs HLO_Tensor:$result);
}
def HLO_TransposeOp : HLO_VerifiedOp<"transpose", [Pure],
    (ins HLO_Tensor:$operand, DenseI64ArrayAttr:$dimensions)> {
  let results = (outs HLO_Tensor:$result);
}
def HLO_ReverseOp : HLO_VerifiedOp<"reverse", [Pure],
    (ins HLO_Tensor:$operand, DenseI64ArrayAttr:$dimensions)> {
  let results = (outs HLO_Tensor:$result);
}
def HLO_SliceOp : HLO_VerifiedOp<"slice", [Pure],
    (ins HLO_Tensor:$operand, DenseI64ArrayAttr:$start_indices,
         DenseI64ArrayAttr:$limit_indices, DenseI64ArrayAttr:$strides)> {
  let results = (outs HLO_Tensor:$result);
}
def HLO_DynamicSliceOp : HLO_VerifiedOp<"dynamic_slice", [Pure],
    (ins HLO_Tensor:$operand, Variadic<HLO_Tensor>:$start_indices,
         DenseI64ArrayAttr:$dynamic_slice_sizes)> {
  let results = (outs HLO_Tensor:$result);
}
def HLO_DynamicUpdateSliceOp : HLO_VerifiedOp<"dynamic_update_slice", [Pure],
    (ins HLO_Tensor:$operand, HLO_Tensor:$update,
         Variadic<HLO_Tensor>:$start_indices)> {
  let results = (outs HLO_Tensor:$result);
}
def HLO_ConcatenateOp : HLO_VerifiedOp<"concatenate", [Pure],
    (ins Variadic<HLO_Tensor>:$inputs, DenseI64ArrayAttr:$dimensions)> {
  let results = (outs HLO_Tensor:$result);
}
def HLO_PadOp : HLO_VerifiedOp<"pad", [Pure],
    (ins HLO_Tensor:$operand, HLO_Tensor:$padding_value,
         DenseI64ArrayAttr:$edge_padding_low,
         DenseI64ArrayAttr:$edge_padding_high,
         DenseI64ArrayAttr:$interior_padding)> {
  let results = (outs HLO_Tensor:$result);
}
def HLO_GetDimensionSizeOp : HLO_Op<"get_dimension_size", [Pure],
    (ins HLO_Tensor:$operand, DenseI64ArrayAttr:$dimensions)> {
  let results = (outs HLO_Tensor:$result);
}
def HLO_SetDimensionSizeOp : HLO_Op<"set_dimension_size", [Pure],
    (ins HLO_Tensor:$operand, HLO_Tensor:$size,
         DenseI64ArrayAttr:$dimensions)> {
  let results = (outs HLO_Tensor:$result);
}

//===----------------------------------------------------------------------===//
// Tuples and tokens
//===----------------------------------------------------------------------===//

def HLO_TupleOp : HLO_VerifiedOp<"tuple", [Pure], (ins Variadic<HLO_Value>:$elements)>;
def HLO_GetTupleElementOp : HLO_VerifiedOp<"get_tuple_element", [Pure],
    (ins HLO_Tuple:$operand, I64Attr:$index)>;
def HLO_AfterAllOp : HLO_Op<"after_all", [], (ins Variadic<HLO_Token>:$tokens)>;
def HLO_AddDependencyOp : HLO_Op<"add_dependency", [],
    (ins HLO_Value:$operand, HLO_Token:$token)>;
def HLO_OptimizationBarrierOp : HLO_Op<"opt_barrier", [],
    (ins HLO_Value:$operand)>;

//===----------------------------------------------------------------------===//
// Contractions, windows, reductions
//===----------------------------------------------------------------------===//

def HLO_DotOp : HLO_VerifiedOp<"dot", [Pure],
    (ins HLO_Tensor:$lhs, HLO_Tensor:$rhs,
         Variadic<HLO_Tensor>:$sparsity_meta,
         OptionalAttr<DenseI64ArrayAttr>:$lhs_batch_dims,
         OptionalAttr<DenseI64ArrayAttr>:$lhs_contracting_dims,
         OptionalAttr<DenseI64ArrayAttr>:$rhs_batch_dims,
         OptionalAttr<DenseI64ArrayAttr>:$rhs_contracting_dims,
         OptionalAttr<TypedArrayAttrBase<HLO_PrecisionAttr, "precisions">>:$operand_precision,
         OptionalAttr<StrAttr>:$sparsity,
         OptionalAttr<StrAttr>:$algorithm)> {
  let results = (outs HLO_Tensor:$result);
  let description = [{
    `sparsity=L.2@2:4` marks a structured-sparse operand (L or R), its
    sparse dimension and the N:M pattern; the compressed operand stores N of
    every M elements along that dimension and `sparsity_meta` holds the
    metadata operand.
  }];
}
def HLO_ConvolutionOp : HLO_VerifiedOp<"convolution", [Pure],
    (ins HLO_Tensor:$lhs, HLO_Tensor:$rhs,
         OptionalAttr<HLO_WindowAttr>:$window,
         HLO_ConvDimensionNumbersAttr:$dim_labels,
         OptionalAttr<I64Attr>:$feature_group_count,
         OptionalAttr<I64Attr>:$batch_group_count,
         OptionalAttr<TypedArrayAttrBase<HLO_PrecisionAttr, "precisions">>:$operand_precision)> {
  let results = (outs HLO_Tensor:$result);
}
def HLO_ReduceOp : HLO_VerifiedOp<"reduce", [HLO_CallsComputations],
    (ins Variadic<HLO_Tensor>:$operands_and_inits,
         DenseI64ArrayAttr:$dimensions, FlatSymbolRefAttr:$to_apply)> {
  let description = "Operands are N inputs followed by N init values.";
  let extraClassDeclaration = [{
    size_t getNumInputs() { return getOperandsAndInits().size() / 2; }
    ::mlir::OperandRange getInputs() {
      return getOperandsAndInits().take_front(getNumInputs());
    }
    ::mlir::OperandRange getInitValues() {
      return getOperandsAndInits().drop_front(getNumInputs());
    }
  }];
}
def HLO_ReduceWindowOp : HLO_VerifiedOp<"reduce_window", [HLO_CallsComputations],
    (ins Variadic<HLO_Tensor>:$operands_and_inits,
         HLO_WindowAttr:$window, FlatSymbolRefAttr:$to_apply)> {
  let description = "Operands are N inputs followed by N init values.";
}
def HLO_SelectAndScatterOp : HLO_VerifiedOp<"select_and_scatter", [HLO_CallsComputations],
    (ins HLO_Tensor:$operand, HLO_Tensor:$source, HLO_Tensor:$init_value,
         OptionalAttr<HLO_WindowAttr>:$window, FlatSymbolRefAttr:$select,
         FlatSymbolRefAttr:$scatter)> {
  let results = (outs HLO_Tensor:$result);
}
def HLO_GatherOp : HLO_VerifiedOp<"gather", [Pure],
    (ins HLO_Tensor:$operand, HLO_Tensor:$start_indices,
         DenseI64ArrayAttr:$offset_dims,
         DenseI64ArrayAttr:$collapsed_slice_dims,
         DenseI64ArrayAttr:$start_index_map,
         OptionalAttr<DenseI64ArrayAttr>:$operand_batching_dims,
         OptionalAttr<DenseI64ArrayAttr>:$start_indices_batching_dims,
         I64Attr:$index_vector_dim, DenseI64ArrayAttr:$slice_sizes,
         OptionalAttr<BoolAttr>:$indices_are_sorted)> {
  let results = (outs HLO_Tensor:$result);
}
def HLO_ScatterOp : HLO_VerifiedOp<"scatter", [HLO_CallsComputations],
    (ins Variadic<HLO_Tensor>:$args,
         DenseI64ArrayAttr:$update_window_dims,
         DenseI64ArrayAttr:$inserted_window_dims,
         DenseI64ArrayAttr:$scatter_dims_to_operand_dims,
         OptionalAttr<DenseI64ArrayAttr>:$input_batching_dims,
         OptionalAttr<DenseI64ArrayAttr>:$scatter_indices_batching_dims,
         I64Attr:$index_vector_dim,
         OptionalAttr<BoolAttr>:$indices_are_sorted,
         OptionalAttr<BoolAttr>:$unique_indices,
         FlatSymbolRefAttr:$to_apply)> {
  let description = "Operands are N inputs, the indices, then N updates.";
}
def HLO_SortOp : HLO_VerifiedOp<"sort", [HLO_CallsComputations],
    (ins Variadic<HLO_Tensor>:$inputs, DenseI64ArrayAttr:$dimensions,
         OptionalAttr<BoolAttr>:$is_stable, FlatSymbolRefAttr:$to_apply)>;
def HLO_TopKOp : HLO_Op<"topk", [],
    (ins HLO_Tensor:$operand, I64Attr:$k, OptionalAttr<BoolAttr>:$largest)>;
def HLO_FftOp : HLO_Op<"fft", [Pure],
    (ins HLO_Tensor:$operand, HLO_FftTypeAttr:$fft_type,
         DenseI64ArrayAttr:$fft_length)> {
  let results = (outs HLO_Tensor:$result);
}
def HLO_TriangularSolveOp : HLO_Op<"triangular_solve", [Pure],
    (ins HLO_Tensor:$a, HLO_Tensor:$b, StrAttr:$triangular_solve_options)> {
  let results = (outs HLO_Tensor:$result);
}
def HLO_CholeskyOp : HLO_Op<"cholesky", [Pure],
    (ins HLO_Tensor:$a, OptionalAttr<BoolAttr>:$lower)> {
  let results = (outs HLO_Tensor:$result);
}
def HLO_BatchNormTrainingOp : HLO_Op<"batch_norm_training", [Pure],
    (ins HLO_Tensor:$operand, HLO_Tensor:$scale, HLO_Tensor:$offset,
         F32Attr:$epsilon, I64Attr:$feature_index)>;
def HLO_BatchNormInferenceOp : HLO_Op<"batch_norm_inference", [Pure],
    (ins HLO_Tensor:$operand, HLO_Tensor:$scale, HLO_Tensor:$offset,
         HLO_Tensor:$mean, HLO_Tensor:$variance,
         F32Attr:$epsilon, I64Attr:$feature_index)> {
  let results = (outs HLO_Tensor:$result);
}
def HLO_BatchNormGradOp : HLO_Op<"batch_norm_grad", [Pure],
    (ins HLO_Tensor:$operand, HLO_Tensor:$scale, HLO_Tensor:$mean,
         HLO_Tensor:$variance, HLO_Tensor:$grad_output,
         F32Attr:$epsilon, I64Attr:$feature_index)>;

//===----------------------------------------------------------------------===//
// Control flow and calls
//===----------------------------------------------------------------------===//

def HLO_WhileOp : HLO_Op<"while", [HLO_CallsComputations],
    (ins HLO_Value:$init, FlatSymbolRefAttr:$condition,
         FlatSymbolRefAttr:$body,
         OptionalAttr<StrAttr>:$known_trip_count)>;
def HLO_ConditionalOp : HLO_Op<"conditional", [HLO_CallsComputations],
    (ins HLO_Tensor:$branch_index, Variadic<HLO_Value>:$branch_operands,
         OptionalAttr<FlatSymbolRefAttr>:$true_computation,
         OptionalAttr<FlatSymbolRefAttr>:$false_computation,
         OptionalAttr<FlatSymbolRefArrayAttr>:$branch_computations)>;
def HLO_CallOp : HLO_Op<"call", [HLO_CallsComputations],
    (ins Variadic<HLO_Value>:$args, FlatSymbolRefAttr:$to_apply)>;
def HLO_FusionOp : HLO_Op<"fusion", [HLO_CallsComputations],
    (ins Variadic<HLO_Value>:$args, HLO_FusionKindAttr:$kind,
         FlatSymbolRefAttr:$calls)>;
def HLO_CustomCallOp : HLO_VerifiedOp<"custom_call", [HLO_CallsComputations],
    (ins Variadic<HLO_Value>:$args, StrAttr:$custom_call_target,
         OptionalAttr<BoolAttr>:$custom_call_has_side_effect,
         OptionalAttr<HLO_CustomCallApiVersionAttr>:$api_version,
         OptionalAttr<TypeArrayAttr>:$operand_layout_constraints,
         OptionalAttr<FlatSymbolRefArrayAttr>:$called_computations,
         OptionalAttr<StrAttr>:$output_to_operand_aliasing,
         OptionalAttr<HLO_WindowAttr>:$window,
         OptionalAttr<HLO_ConvDimensionNumbersAttr>:$dim_labels,
         OptionalAttr<I64Attr>:$feature_group_count,
         OptionalAttr<I64Attr>:$batch_group_count,
         OptionalAttr<StrAttr>:$custom_call_schedule)>;

//===----------------------------------------------------------------------===//
// Collectives and communication
//===----------------------------------------------------------------------===//

defvar HLO_CollectiveAttrs = (ins
  OptionalAttr<HLO_ReplicaGroupsAttr>:$replica_groups,
  OptionalAttr<I64Attr>:$channel_id,
  OptionalAttr<BoolAttr>:$use_global_device_ids,
  OptionalAttr<BoolAttr>:$constrain_layout);

def HLO_AllReduceOp : HLO_VerifiedOp<"all_reduce", [HLO_CallsComputations],
    !con((ins Variadic<HLO_Tensor>:$operands, FlatSymbolRefAttr:$to_apply),
         HLO_CollectiveAttrs)>;
def HLO_AllGatherOp : HLO_VerifiedOp<"all_gather", [],
    !con((ins Variadic<HLO_Tensor>:$operands, DenseI64ArrayAttr:$dimensions),
         HLO_CollectiveAttrs)>;
def HLO_AllToAllOp : HLO_VerifiedOp<"all_to_all", [],
    !con((ins Variadic<HLO_Tensor>:$operands,
              OptionalAttr<DenseI64ArrayAttr>:$dimensions),
         HLO_CollectiveAttrs)>;
def HLO_ReduceScatterOp : HLO_VerifiedOp<"reduce_scatter", [HLO_CallsComputations],
    !con((ins Variadic<HLO_Tensor>:$operands, DenseI64ArrayAttr:$dimensions,
              FlatSymbolRefAttr:$to_apply),
         HLO_CollectiveAttrs)>;
def HLO_CollectivePermuteOp : HLO_Op<"collective_permute", [],
    (ins Variadic<HLO_Tensor>:$operands,
         DenseI64ArrayAttr:$source_target_pairs,
         OptionalAttr<I64Attr>:$channel_id)> {
  let description = "`source_target_pairs` is flattened: s0,t0,s1,t1,...";
}
def HLO_CollectiveBroadcastOp : HLO_Op<"collective_broadcast", [],
    !con((ins Variadic<HLO_Tensor>:$operands), HLO_CollectiveAttrs)>;
def HLO_InfeedOp : HLO_Op<"infeed", [],
    (ins HLO_Token:$token, OptionalAttr<StrAttr>:$infeed_config)>;
def HLO_OutfeedOp : HLO_Op<"outfeed", [],
    (ins HLO_Value:$operand, HLO_Token:$token,
         OptionalAttr<TypeAttr>:$outfeed_shape,
         OptionalAttr<StrAttr>:$outfeed_config)>;
def HLO_SendOp : HLO_Op<"send", [],
    (ins HLO_Value:$operand, HLO_Token:$token, I64Attr:$channel_id,
         OptionalAttr<BoolAttr>:$is_host_transfer)>;
def HLO_SendDoneOp : HLO_Op<"send_done", [],
    (ins HLO_Tuple:$operand, I64Attr:$channel_id,
         OptionalAttr<BoolAttr>:$is_host_transfer)>;
def HLO_RecvOp : HLO_Op<"recv", [],
    (ins HLO_Token:$token, I64Attr:$channel_id,
         OptionalAttr<BoolAttr>:$is_host_transfer)>;
def HLO_RecvDoneOp : HLO_Op<"recv_done", [],
    (ins HLO_Tuple:$operand, I64Attr:$channel_id,
         OptionalAttr<BoolAttr>:$is_host_transfer)>;

//===----------------------------------------------------------------------===//
// Structure: computations
//===----------------------------------------------------------------------===//

def HLO_ComputationOp : Op<Hlo_Dialect, "computation", [
    Symbol, IsolatedFromAbove, SingleBlock]> {
  let summary = "an HLO computation (ENTRY, to_apply, body, fused, ...)";
  let description = [{
    A named list of instructions. Its parameters are `hlo.parameter` ops and
    its root is the operand of the `hlo.return` that ends the body. The body
    is in HLO order (operands before users).
  }];
  let arguments = (ins SymbolNameAttr:$sym_name, UnitAttr:$is_entry,
                       OptionalAttr<StrAttr>:$execution_thread);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = "$sym_name attr-dict-with-keyword $body";
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The ROOT instruction's value.
    ::mlir::Value getRoot();
  }];
}

def HLO_ReturnOp : Op<Hlo_Dialect, "return", [
    Pure, HasParent<"ComputationOp">, Terminator]> {
  let summary = "marks the ROOT instruction of a computation";
  let arguments = (ins HLO_Value:$root);
  let assemblyFormat = "$root attr-dict `:` type($root)";
}

#endif // GSHARD_IR_HLOOPS_TD
