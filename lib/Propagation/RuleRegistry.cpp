//===- RuleRegistry.cpp - Which hlo op uses which sharding rule -----------===//
//
// The one alphabetical table attaching a ShardingRuleOpInterface external
// model to every hlo op that has a rule. Ops not listed (parameters,
// constants, tuples, control flow, collectives with layouts of their own,
// ...) have no factor rule: the driver treats tuple/get-tuple-element/
// while/conditional/call/optimization-barrier as data-flow edges, and
// leaves others to XLA's "replicated operand makes a replicated result"
// fallback.
//
//===----------------------------------------------------------------------===//

#include "Rules.h"
#include "gshard/Propagation/Propagation.h"

#include "gshard/Propagation/ShardingRuleInterface.cpp.inc"

using namespace mlir;

namespace gshard {
namespace {

using RuleBuilder = OpShardingRule (*)(Operation *);

template <typename OpTy, RuleBuilder Builder>
struct RuleModel
    : public ShardingRuleOpInterface::ExternalModel<RuleModel<OpTy, Builder>,
                                                    OpTy> {
  OpShardingRule getShardingRule(Operation *op) const { return Builder(op); }
};

template <typename OpTy, RuleBuilder Builder>
void attach(MLIRContext *context) {
  OpTy::template attachInterface<RuleModel<OpTy, Builder>>(*context);
}

void attachAll(MLIRContext *context) {
  using namespace hlo;
  using namespace rules;
  // clang-format off
  attach<AbsOp, buildElementwiseRule>(context);
  attach<AddOp, buildElementwiseRule>(context);
  attach<AllGatherOp, buildCollectiveRule>(context);
  attach<AllReduceOp, buildCollectiveRule>(context);
  attach<AllToAllOp, buildCollectiveRule>(context);
  attach<AndOp, buildElementwiseRule>(context);
  attach<Atan2Op, buildElementwiseRule>(context);
  attach<BitcastConvertOp, buildElementwiseRule>(context);
  attach<BroadcastOp, buildBroadcastRule>(context);
  attach<CbrtOp, buildElementwiseRule>(context);
  attach<CeilOp, buildElementwiseRule>(context);
  attach<ClampOp, buildElementwiseRule>(context);
  attach<ClzOp, buildElementwiseRule>(context);
  attach<CollectiveBroadcastOp, buildCollectiveRule>(context);
  attach<CollectivePermuteOp, buildCollectiveRule>(context);
  attach<CompareOp, buildElementwiseRule>(context);
  attach<ComplexOp, buildElementwiseRule>(context);
  attach<ConcatenateOp, buildConcatenateRule>(context);
  attach<ConvertOp, buildElementwiseRule>(context);
  attach<ConvolutionOp, buildConvolutionRule>(context);
  attach<CopyOp, buildElementwiseRule>(context);
  attach<CosineOp, buildElementwiseRule>(context);
  attach<CustomCallOp, buildCustomCallRule>(context);
  attach<DivideOp, buildElementwiseRule>(context);
  attach<DotOp, buildDotRule>(context);
  attach<DynamicSliceOp, buildDynamicSliceRule>(context);
  attach<DynamicUpdateSliceOp, buildDynamicUpdateSliceRule>(context);
  attach<ErfOp, buildElementwiseRule>(context);
  attach<ExponentialMinusOneOp, buildElementwiseRule>(context);
  attach<ExponentialOp, buildElementwiseRule>(context);
  attach<FloorOp, buildElementwiseRule>(context);
  attach<GatherOp, buildGatherRule>(context);
  attach<ImagOp, buildElementwiseRule>(context);
  attach<IsFiniteOp, buildElementwiseRule>(context);
  attach<LogOp, buildElementwiseRule>(context);
  attach<LogPlusOneOp, buildElementwiseRule>(context);
  attach<LogisticOp, buildElementwiseRule>(context);
  attach<MapOp, buildElementwiseRule>(context);
  attach<MaximumOp, buildElementwiseRule>(context);
  attach<MinimumOp, buildElementwiseRule>(context);
  attach<MultiplyOp, buildElementwiseRule>(context);
  attach<NegateOp, buildElementwiseRule>(context);
  attach<NotOp, buildElementwiseRule>(context);
  attach<OrOp, buildElementwiseRule>(context);
  attach<PadOp, buildPadRule>(context);
  attach<PopulationCountOp, buildElementwiseRule>(context);
  attach<PowerOp, buildShiftLikeRule>(context);
  attach<RealOp, buildElementwiseRule>(context);
  attach<ReduceOp, buildReduceRule>(context);
  attach<ReducePrecisionOp, buildElementwiseRule>(context);
  attach<ReduceScatterOp, buildCollectiveRule>(context);
  attach<ReduceWindowOp, buildReduceWindowRule>(context);
  attach<RemainderOp, buildElementwiseRule>(context);
  attach<ReshapeOp, buildReshapeRule>(context);
  attach<ReverseOp, buildReverseRule>(context);
  attach<RoundNearestAfzOp, buildElementwiseRule>(context);
  attach<RoundNearestEvenOp, buildElementwiseRule>(context);
  attach<RsqrtOp, buildElementwiseRule>(context);
  attach<ScatterOp, buildScatterRule>(context);
  attach<SelectAndScatterOp, buildSelectAndScatterRule>(context);
  attach<SelectOp, buildElementwiseRule>(context);
  attach<ShiftLeftOp, buildShiftLikeRule>(context);
  attach<ShiftRightArithmeticOp, buildShiftLikeRule>(context);
  attach<ShiftRightLogicalOp, buildShiftLikeRule>(context);
  attach<SignOp, buildElementwiseRule>(context);
  attach<SineOp, buildElementwiseRule>(context);
  attach<SliceOp, buildSliceRule>(context);
  attach<SortOp, buildSortRule>(context);
  attach<SqrtOp, buildElementwiseRule>(context);
  attach<StochasticConvertOp, buildElementwiseRule>(context);
  attach<SubtractOp, buildElementwiseRule>(context);
  attach<TanOp, buildElementwiseRule>(context);
  attach<TanhOp, buildElementwiseRule>(context);
  attach<TransposeOp, buildTransposeRule>(context);
  attach<XorOp, buildElementwiseRule>(context);
  // clang-format on
}

} // namespace

void registerShardingRuleExternalModels(DialectRegistry &registry) {
  registry.addExtension(
      +[](MLIRContext *context, hlo::HloDialect *) { attachAll(context); });
}

OpShardingRule getShardingRule(Operation *op) {
  if (auto iface = dyn_cast<ShardingRuleOpInterface>(op))
    return iface.getShardingRule();
  return OpShardingRule();
}

} // namespace gshard
