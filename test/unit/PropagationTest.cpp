//===- PropagationTest.cpp - Tests of the sharding propagation API --------===//
//
// The factor rules of a few ops (through ShardingRuleOpInterface), the dim
// mapping that projections use, propagateShardings with its options, and the
// explanation records and their printed chain.
//
//===----------------------------------------------------------------------===//

#include "gshard/Propagation/Propagation.h"
#include "gshard/IR/HloOps.h"
#include "gshard/Import/HloTextImporter.h"
#include "gshard/Sharding/Sharding.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>

using namespace mlir;
using namespace gshard;

namespace {

class PropagationTest : public ::testing::Test {
protected:
  PropagationTest() : context(makeRegistry()) {
    context.loadAllAvailableDialects();
  }

  static DialectRegistry makeRegistry() {
    DialectRegistry registry;
    registry.insert<hlo::HloDialect>();
    registerShardingRuleExternalModels(registry);
    return registry;
  }

  OwningOpRef<ModuleOp> parse(llvm::StringRef text) {
    std::string errors;
    ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
      errors += diag.str() + "\n";
      return success();
    });
    OwningOpRef<ModuleOp> module = importHloText(text, &context);
    EXPECT_TRUE(module) << errors;
    return module;
  }

  Operation *find(ModuleOp module, llvm::StringRef name) {
    Operation *op = findInstruction(module, name);
    EXPECT_TRUE(op) << "no instruction " << name.str();
    return op;
  }

  /// The sharding of `name` in HLO syntax ("" when none).
  std::string shardingOf(ModuleOp module, llvm::StringRef name) {
    Operation *op = find(module, name);
    auto s = op ? op->getAttrOfType<hlo::ShardingAttr>("sharding")
                : hlo::ShardingAttr();
    if (!s)
      return "";
    std::string text;
    llvm::raw_string_ostream os(text);
    s.printHlo(os);
    return text;
  }

  MLIRContext context;
};

const char *kDotModule = R"(HloModule m
ENTRY %e {
  %a = f32[8,64,32] parameter(0), sharding={devices=[2,2,1]<=[4]}
  %b = f32[8,32,16] parameter(1)
  %dot = f32[8,64,16] dot(%a, %b), lhs_batch_dims={0}, rhs_batch_dims={0}, lhs_contracting_dims={2}, rhs_contracting_dims={1}
  %r = f32[8,64,16] reshape(%dot)
  %sum = f32[8,64] reduce(%r, %zero), dimensions={2}, to_apply=%add
  %zero = f32[] constant(0)
  ROOT %t = (f32[8,64]) tuple(%sum)
}
%add {
  %x = f32[] parameter(0)
  %y = f32[] parameter(1)
  ROOT %s = f32[] add(%x, %y)
})";

TEST_F(PropagationTest, DotRuleFactors) {
  auto module = parse(kDotModule);
  ASSERT_TRUE(module);
  Operation *dot = find(*module, "dot");
  ASSERT_TRUE(dot);
  EXPECT_TRUE(isa<ShardingRuleOpInterface>(dot));
  OpShardingRule rule = getShardingRule(dot);
  ASSERT_TRUE(rule.isValid());
  EXPECT_EQ(rule.family, "dot");
  EXPECT_EQ(rule.combine, OperandCombine::Contraction);
  // batch, lhs non-contracting, rhs non-contracting, contracting.
  ASSERT_EQ(rule.getNumFactors(), 4);
  ASSERT_EQ(rule.operandDims.size(), 2u);
  ASSERT_EQ(rule.resultDims.size(), 1u);
  const auto &lhs = rule.operandDims[0], &rhs = rule.operandDims[1];
  const auto &out = rule.resultDims[0];
  EXPECT_EQ(lhs[0], rhs[0]); // batch
  EXPECT_EQ(lhs[0], out[0]);
  EXPECT_EQ(lhs[1], out[1]); // lhs non-contracting
  EXPECT_EQ(rhs[2], out[2]); // rhs non-contracting
  EXPECT_EQ(lhs[2], rhs[1]); // contracting
  EXPECT_EQ(rule.factorKinds[lhs[2]], FactorKind::Reduction);
  EXPECT_EQ(rule.factorKinds[lhs[0]], FactorKind::PassThrough);
  EXPECT_EQ(rule.factorSizes[lhs[2]], 32);
  EXPECT_FALSE(llvm::is_contained(out, lhs[2]));
}

TEST_F(PropagationTest, ProjectionDimMapping) {
  auto module = parse(kDotModule);
  ASSERT_TRUE(module);
  OpShardingRule rule = getShardingRule(find(*module, "dot"));
  // lhs -> result: batch and non-contracting dims map, contracting does not.
  EXPECT_EQ(
      mapDimsThroughFactors(rule, rule.operandDims[0], rule.resultDims[0]),
      (llvm::SmallVector<int64_t>{0, 1, -1}));
  // result -> rhs: batch to batch, rhs non-contracting to dim 2.
  EXPECT_EQ(
      mapDimsThroughFactors(rule, rule.resultDims[0], rule.operandDims[1]),
      (llvm::SmallVector<int64_t>{0, -1, 2}));
  // lhs -> rhs: batch and the contracting dim (shared by both operands).
  EXPECT_EQ(
      mapDimsThroughFactors(rule, rule.operandDims[0], rule.operandDims[1]),
      (llvm::SmallVector<int64_t>{0, -1, 1}));
}

TEST_F(PropagationTest, ReduceAndReshapeRules) {
  auto module = parse(kDotModule);
  ASSERT_TRUE(module);
  OpShardingRule reduce = getShardingRule(find(*module, "sum"));
  ASSERT_TRUE(reduce.isValid());
  EXPECT_EQ(reduce.family, "reduce");
  // The init value takes no part; the reduced dim is a reduction factor.
  ASSERT_EQ(reduce.operandInvolved.size(), 2u);
  EXPECT_TRUE(reduce.operandInvolved[0]);
  EXPECT_FALSE(reduce.operandInvolved[1]);
  EXPECT_EQ(reduce.factorKinds[reduce.operandDims[0][2]],
            FactorKind::Reduction);
  EXPECT_EQ(mapDimsThroughFactors(reduce, reduce.operandDims[0],
                                  reduce.resultDims[0]),
            (llvm::SmallVector<int64_t>{0, 1, -1}));

  OpShardingRule reshape = getShardingRule(find(*module, "r"));
  ASSERT_TRUE(reshape.isValid());
  EXPECT_EQ(reshape.projection, OpShardingRule::Projection::Reshape);
}

TEST_F(PropagationTest, ElementwiseRuleIsPointwise) {
  auto module = parse(R"(HloModule m
ENTRY %e {
  %a = f32[4,6] parameter(0)
  %b = f32[4,6] parameter(1)
  ROOT %add = f32[4,6] add(%a, %b)
})");
  ASSERT_TRUE(module);
  OpShardingRule rule = getShardingRule(find(*module, "add"));
  ASSERT_TRUE(rule.isValid());
  EXPECT_EQ(rule.family, "elementwise");
  EXPECT_EQ(rule.minAggressiveness, 0);
  EXPECT_EQ(rule.operandDims[0], rule.resultDims[0]);
  EXPECT_EQ(rule.operandDims[1], rule.resultDims[0]);
  EXPECT_EQ(rule.factorSizes, (llvm::SmallVector<int64_t>{4, 6}));
}

TEST_F(PropagationTest, OpaqueCustomCallHasNoRule) {
  auto module = parse(R"(HloModule m
ENTRY %e {
  %a = f32[4] parameter(0)
  ROOT %cc = f32[4] custom-call(%a), custom_call_target="foo"
})");
  ASSERT_TRUE(module);
  EXPECT_FALSE(getShardingRule(find(*module, "cc")).isValid());
}

TEST_F(PropagationTest, PropagatesForwardAndBackward) {
  auto module = parse(kDotModule);
  ASSERT_TRUE(module);
  ASSERT_TRUE(succeeded(propagateShardings(*module, {}, nullptr)));
  EXPECT_EQ(shardingOf(*module, "dot"), "{devices=[2,2,1]<=[4]}");
  EXPECT_EQ(shardingOf(*module, "r"), "{devices=[2,2,1]<=[4]}");
  EXPECT_EQ(shardingOf(*module, "sum"), "{devices=[2,2]<=[4]}");
  // The entry root is not changed by default...
  EXPECT_EQ(shardingOf(*module, "t"), "");
  // ... but is with allow-spmd-sharding-propagation-to-output.
  auto again = parse(kDotModule);
  PropagationOptions options;
  options.allowToOutput = {true};
  ASSERT_TRUE(succeeded(propagateShardings(*again, options, nullptr)));
  EXPECT_EQ(shardingOf(*again, "t"), "{{devices=[2,2]<=[4]}}");
}

TEST_F(PropagationTest, ExplanationRecords) {
  auto module = parse(kDotModule);
  ASSERT_TRUE(module);
  ShardingExplanations explanations;
  ASSERT_TRUE(succeeded(propagateShardings(*module, {}, &explanations)));
  Operation *a = find(*module, "a");
  Operation *dot = find(*module, "dot");
  Operation *r = find(*module, "r");
  const ShardingOrigin *origin = explanations.lookup(r);
  ASSERT_TRUE(origin);
  EXPECT_EQ(origin->kind, OriginKind::Forward);
  EXPECT_EQ(origin->source, dot);
  EXPECT_EQ(origin->rule, "reshape");
  origin = explanations.lookup(dot);
  ASSERT_TRUE(origin);
  EXPECT_EQ(origin->kind, OriginKind::Forward);
  EXPECT_EQ(origin->source, a);
  EXPECT_EQ(origin->rule, "dot");
  origin = explanations.lookup(a);
  ASSERT_TRUE(origin);
  EXPECT_EQ(origin->kind, OriginKind::Annotation);
  // Nothing recorded for what propagation did not touch.
  EXPECT_EQ(explanations.lookup(find(*module, "zero")), nullptr);
}

TEST_F(PropagationTest, ExplainPrintsTheChain) {
  auto module = parse(kDotModule);
  ASSERT_TRUE(module);
  ShardingExplanations explanations;
  ASSERT_TRUE(succeeded(propagateShardings(*module, {}, &explanations)));
  std::string text;
  llvm::raw_string_ostream os(text);
  ASSERT_TRUE(succeeded(explainSharding(*module, explanations, "%sum", os)));
  EXPECT_NE(text.find("%sum {devices=[2,2]<=[4]}: forward from operand %r"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("%dot {devices=[2,2,1]<=[4]}: forward from operand %a"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("%a {devices=[2,2,1]<=[4]}: annotated"),
            std::string::npos)
      << text;
  std::string unknown;
  llvm::raw_string_ostream unknownOs(unknown);
  EXPECT_TRUE(
      failed(explainSharding(*module, explanations, "nope", unknownOs)));
}

TEST_F(PropagationTest, ParseBoolList) {
  llvm::SmallVector<bool> values;
  ASSERT_TRUE(succeeded(parseBoolList("{true,false}", values)));
  EXPECT_EQ(values, (llvm::SmallVector<bool>{true, false}));
  ASSERT_TRUE(succeeded(parseBoolList("true;true;false", values)));
  EXPECT_EQ(values, (llvm::SmallVector<bool>{true, true, false}));
  ASSERT_TRUE(succeeded(parseBoolList("", values)));
  EXPECT_EQ(values, (llvm::SmallVector<bool>{false}));
  EXPECT_TRUE(failed(parseBoolList("maybe", values)));
}

} // namespace
