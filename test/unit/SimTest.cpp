//===- SimTest.cpp - The reference interpreter, op family by op family ----===//
//
// Part of gshard, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#include "SimFixture.h"
#include "gshard/IR/HloOps.h"
#include "gshard/Import/HloTextImporter.h"
#include "gshard/Sim/Check.h"
#include "gshard/Sim/Interpreter.h"
#include "gshard/Sim/Literal.h"

#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>

using namespace mlir;
using namespace gshard;
using namespace gshard::sim;

namespace {

class SimTest : public SimFixture {};

constexpr const char *kAdd = R"(
%add (x: f32[], y: f32[]) -> f32[] {
  %x = f32[] parameter(0)
  %y = f32[] parameter(1)
  ROOT %s = f32[] add(%x, %y)
}
)";

std::string module(llvm::StringRef entry, llvm::StringRef extra = "") {
  return ("HloModule m\n" + extra + "\nENTRY %main () -> f32[] {\n" + entry +
          "\n}\n")
      .str();
}

TEST_F(SimTest, IntegerArithmeticWrapsAndDivisionByZero) {
  EXPECT_EQ(run(module(R"(
  %a = s32[4] constant({2147483647, -2147483648, 7, -7})
  %b = s32[4] constant({1, -1, 0, 2})
  ROOT %r = s32[4] add(%a, %b))")),
            "s32[4] {-2147483648, 2147483647, 7, -5}");
  EXPECT_EQ(run(module(R"(
  %a = s32[4] constant({7, -2147483648, -7, 9})
  %b = s32[4] constant({0, -1, 2, -4})
  ROOT %r = s32[4] divide(%a, %b))")),
            "s32[4] {-1, -2147483648, -3, -2}");
  EXPECT_EQ(run(module(R"(
  %a = s32[3] constant({7, -2147483648, -7})
  %b = s32[3] constant({0, -1, 2})
  ROOT %r = s32[3] remainder(%a, %b))")),
            "s32[3] {7, 0, -1}");
  EXPECT_EQ(run(module(R"(
  %a = u8[3] constant({200, 255, 1})
  %b = u8[3] constant({100, 1, 9})
  ROOT %r = u8[3] shift-left(%a, %b))")),
            "u8[3] {0, 254, 0}");
}

TEST_F(SimTest, Shifts) {
  EXPECT_EQ(run(module(R"(
  %a = s8[4] constant({-128, 64, -1, 5})
  %b = s8[4] constant({1, 9, 8, 1})
  ROOT %r = s8[4] shift-right-arithmetic(%a, %b))")),
            "s8[4] {-64, 0, -1, 2}");
  EXPECT_EQ(run(module(R"(
  %a = s8[3] constant({-128, 64, 1})
  %b = s8[3] constant({1, 1, 8})
  ROOT %r = s8[3] shift-right-logical(%a, %b))")),
            "s8[3] {64, 32, 0}");
}

TEST_F(SimTest, Bf16RoundsToNearestEven) {
  // 1 + 2^-8 is a tie between 1 and 1 + 2^-7: rounds to even (1).
  EXPECT_EQ(run(module(R"(
  %a = f32[3] constant({1.00390625, 1.01171875, 3.14159274})
  ROOT %r = bf16[3] convert(%a))")),
            "bf16[3] {1, 1.015625, 3.140625}");
}

TEST_F(SimTest, CompareTypes) {
  EXPECT_EQ(run(module(R"(
  %a = f32[3] constant({nan, -0, 1})
  %b = f32[3] constant({nan, 0, 2})
  ROOT %r = pred[3] compare(%a, %b), direction=EQ)")),
            "pred[3] {false, true, false}");
  EXPECT_EQ(run(module(R"(
  %a = f32[2] constant({-0, -nan})
  %b = f32[2] constant({0, -inf})
  ROOT %r = pred[2] compare(%a, %b), direction=LT, type=TOTALORDER)")),
            "pred[2] {true, true}");
  EXPECT_EQ(run(module(R"(
  %a = s32[1] constant({-1})
  %b = s32[1] constant({1})
  ROOT %r = pred[1] compare(%a, %b), direction=GT, type=UNSIGNED)")),
            "pred[1] {true}");
}

TEST_F(SimTest, ConvertSaturatesAndMapsNanToZero) {
  EXPECT_EQ(run(module(R"(
  %a = f32[4] constant({1e10, -1e10, nan, -2.7})
  ROOT %r = s32[4] convert(%a))")),
            "s32[4] {2147483647, -2147483648, 0, -2}");
}

TEST_F(SimTest, DataMovement) {
  EXPECT_EQ(run(module(R"(
  %a = s32[2,3] constant({{1,2,3},{4,5,6}})
  ROOT %r = s32[3,2] transpose(%a), dimensions={1,0})")),
            "s32[3,2] {{1, 4}, {2, 5}, {3, 6}}");
  EXPECT_EQ(run(module(R"(
  %a = s32[2,3] constant({{1,2,3},{4,5,6}})
  ROOT %r = s32[2,2] slice(%a), slice={[0:2], [0:3:2]})")),
            "s32[2,2] {{1, 3}, {4, 6}}");
  EXPECT_EQ(run(module(R"(
  %a = s32[3] constant({1,2,3})
  %z = s32[] constant(0)
  ROOT %r = s32[6] pad(%a, %z), padding=-1_2_1)")),
            "s32[6] {0, 2, 0, 3, 0, 0}");
  EXPECT_EQ(run(module(R"(
  %a = s32[2] constant({1,2})
  ROOT %r = s32[2,3] broadcast(%a), dimensions={0})")),
            "s32[2,3] {{1, 1, 1}, {2, 2, 2}}");
  EXPECT_EQ(run(module(R"(
  %a = s32[2,2] constant({{1,2},{3,4}})
  ROOT %r = s32[2,2] reverse(%a), dimensions={0,1})")),
            "s32[2,2] {{4, 3}, {2, 1}}");
  EXPECT_EQ(run(module(R"(
  %a = s32[1,2] constant({{1,2}})
  %b = s32[1,2] constant({{3,4}})
  ROOT %r = s32[2,2] concatenate(%a, %b), dimensions={0})")),
            "s32[2,2] {{1, 2}, {3, 4}}");
}

TEST_F(SimTest, DynamicSliceClamps) {
  EXPECT_EQ(run(module(R"(
  %a = s32[5] constant({0,1,2,3,4})
  %i = s32[] constant(4)
  ROOT %r = s32[2] dynamic-slice(%a, %i), dynamic_slice_sizes={2})")),
            "s32[2] {3, 4}");
  EXPECT_EQ(run(module(R"(
  %a = s32[5] constant({0,1,2,3,4})
  %u = s32[2] constant({9,9})
  %i = s32[] constant(-3)
  ROOT %r = s32[5] dynamic-update-slice(%a, %u, %i))")),
            "s32[5] {9, 9, 2, 3, 4}");
}

TEST_F(SimTest, DotWithBatchAndContractingDims) {
  EXPECT_EQ(run(module(R"(
  %a = f32[2,1,2] constant({{{1,2}},{{3,4}}})
  %b = f32[2,2,1] constant({{{5},{6}},{{7},{8}}})
  ROOT %r = f32[2,1,1] dot(%a, %b), lhs_batch_dims={0}, rhs_batch_dims={0}, lhs_contracting_dims={2}, rhs_contracting_dims={1})")),
            "f32[2,1,1] {{{17}}, {{53}}}");
}

TEST_F(SimTest, ConvolutionWithPaddingAndGroups) {
  // 1-D: input 1,2,3 with kernel 1,1 and padding 1 on both sides.
  EXPECT_EQ(run(module(R"(
  %a = f32[1,1,3] constant({{{1,2,3}}})
  %k = f32[1,1,2] constant({{{1,1}}})
  ROOT %r = f32[1,1,4] convolution(%a, %k), window={size=2 pad=1_1}, dim_labels=bf0_oi0->bf0)")),
            "f32[1,1,4] {{{1, 3, 5, 3}}}");
  // Depthwise: two features, each with its own kernel.
  EXPECT_EQ(run(module(R"(
  %a = f32[1,2,2] constant({{{1,2},{3,4}}})
  %k = f32[2,1,1] constant({{{10}},{{100}}})
  ROOT %r = f32[1,2,2] convolution(%a, %k), window={size=1}, dim_labels=bf0_oi0->bf0, feature_group_count=2)")),
            "f32[1,2,2] {{{10, 20}, {300, 400}}}");
}

TEST_F(SimTest, ReduceAndReduceWindow) {
  EXPECT_EQ(run(module(R"(
  %a = f32[2,3] constant({{1,2,3},{4,5,6}})
  %z = f32[] constant(0)
  ROOT %r = f32[2] reduce(%a, %z), dimensions={1}, to_apply=%add)",
                       kAdd)),
            "f32[2] {6, 15}");
  EXPECT_EQ(run(module(R"(
  %a = f32[4] constant({1,2,3,4})
  %z = f32[] constant(0)
  ROOT %r = f32[2] reduce-window(%a, %z), window={size=2 stride=2}, to_apply=%add)",
                       kAdd)),
            "f32[2] {3, 7}");
}

TEST_F(SimTest, GatherAndScatter) {
  EXPECT_EQ(run(module(R"(
  %a = s32[3,2] constant({{1,2},{3,4},{5,6}})
  %i = s32[2] constant({2,0})
  ROOT %r = s32[2,2] gather(%a, %i), offset_dims={1}, collapsed_slice_dims={0}, start_index_map={0}, index_vector_dim=1, slice_sizes={1,2})")),
            "s32[2,2] {{5, 6}, {1, 2}}");
  // Out-of-bounds windows are skipped.
  EXPECT_EQ(run(module(R"(
  %a = f32[3] constant({1,2,3})
  %i = s32[2] constant({1,7})
  %u = f32[2] constant({10,20})
  ROOT %r = f32[3] scatter(%a, %i, %u), update_window_dims={}, inserted_window_dims={0}, scatter_dims_to_operand_dims={0}, index_vector_dim=1, to_apply=%add)",
                       kAdd)),
            "f32[3] {1, 12, 3}");
}

TEST_F(SimTest, SortIsStableOverMultipleOperands) {
  EXPECT_EQ(run(R"(
HloModule m
%lt (a: s32[], b: s32[], c: s32[], d: s32[]) -> pred[] {
  %a = s32[] parameter(0)
  %b = s32[] parameter(1)
  %c = s32[] parameter(2)
  %d = s32[] parameter(3)
  ROOT %r = pred[] compare(%a, %b), direction=LT
}
ENTRY %main () -> (s32[4], s32[4]) {
  %k = s32[4] constant({3,1,3,1})
  %v = s32[4] constant({0,1,2,3})
  ROOT %s = (s32[4], s32[4]) sort(%k, %v), dimensions={0}, to_apply=%lt
}
)"),
            "(s32[4] {1, 1, 3, 3}, s32[4] {1, 3, 0, 2})");
}

TEST_F(SimTest, WhileLoop) {
  EXPECT_EQ(run(R"(
HloModule m
%cond (s: s32[]) -> pred[] {
  %s = s32[] parameter(0)
  %n = s32[] constant(5)
  ROOT %lt = pred[] compare(%s, %n), direction=LT
}
%body (s: s32[]) -> s32[] {
  %s = s32[] parameter(0)
  %one = s32[] constant(1)
  ROOT %next = s32[] add(%s, %one)
}
ENTRY %main () -> s32[] {
  %zero = s32[] constant(0)
  ROOT %w = s32[] while(%zero), condition=%cond, body=%body
}
)"),
            "s32[] 5");
}

TEST_F(SimTest, AllReduceAcrossDevices) {
  auto results = runAll(R"(
HloModule m, num_partitions=4
%add (x: s32[], y: s32[]) -> s32[] {
  %x = s32[] parameter(0)
  %y = s32[] parameter(1)
  ROOT %s = s32[] add(%x, %y)
}
ENTRY %main () -> s32[] {
  %pid = u32[] partition-id()
  %p = s32[] convert(%pid)
  ROOT %ar = s32[] all-reduce(%p), channel_id=1, replica_groups={{0,3},{1,2}}, use_global_device_ids=true, to_apply=%add
}
)",
                        4);
  ASSERT_EQ(results.size(), 4u);
  EXPECT_EQ(results[0], "s32[] 3");
  EXPECT_EQ(results[1], "s32[] 3");
  EXPECT_EQ(results[3], "s32[] 3");
}

TEST_F(SimTest, SortWithNativeComparators) {
  // compare(p0, p1) with GE, unsigned keys, and a mirrored key expression
  // (negation) all agree with the interpreted meaning.
  auto sortWith = [&](llvm::StringRef type, llvm::StringRef values,
                      llvm::StringRef keyOps, llvm::StringRef direction) {
    std::string text = R"(
HloModule m
%cmp (a: T[], b: T[]) -> pred[] {
  %a = T[] parameter(0)
  %b = T[] parameter(1)
  KEYS
  ROOT %r = pred[] compare(%ka, %kb), direction=DIR
}
ENTRY %main () -> T[5] {
  %k = T[5] constant({VALUES})
  ROOT %s = T[5] sort(%k), dimensions={0}, to_apply=%cmp
}
)";
    auto replace = [&](llvm::StringRef from, llvm::StringRef to) {
      for (size_t at; (at = text.find(from.str())) != std::string::npos;)
        text.replace(at, from.size(), to.str());
    };
    replace("KEYS", keyOps);
    replace("VALUES", values);
    replace("DIR", direction);
    replace("T[", (type + "[").str());
    return run(text);
  };
  EXPECT_EQ(sortWith("s32", "3,-1,2,-1,0",
                     "%ka = s32[] copy(%a)\n  %kb = s32[] copy(%b)", "GT"),
            "s32[5] {3, 2, 0, -1, -1}");
  EXPECT_EQ(sortWith("u8", "3,200,2,1,0",
                     "%ka = u8[] copy(%a)\n  %kb = u8[] copy(%b)", "LT"),
            "u8[5] {0, 1, 2, 3, 200}");
  EXPECT_EQ(sortWith("f32", "0.5,-2,1,3,-1",
                     "%ka = f32[] negate(%a)\n  %kb = f32[] negate(%b)", "LT"),
            "f32[5] {3, 1, 0.5, -1, -2}");
  // LE is no strict order; the stable merge sort still orders the keys.
  EXPECT_EQ(sortWith("s32", "3,1,2,5,4",
                     "%ka = s32[] copy(%a)\n  %kb = s32[] copy(%b)", "LE"),
            "s32[5] {1, 2, 3, 4, 5}");
}

TEST_F(SimTest, SortWithLexicographicComparator) {
  // Descending on the key, ties broken by ascending value: the
  // select(tie, next, order) form JAX emits, run natively.
  EXPECT_EQ(run(R"(
HloModule m
%cmp (a: s32[], b: s32[], c: s32[], d: s32[]) -> pred[] {
  %a = s32[] parameter(0)
  %b = s32[] parameter(1)
  %c = s32[] parameter(2)
  %d = s32[] parameter(3)
  %gt = pred[] compare(%a, %b), direction=GT
  %lt = pred[] compare(%b, %a), direction=GT
  %tie = pred[] compare(%gt, %lt), direction=EQ
  %next = pred[] compare(%c, %d), direction=LT
  ROOT %r = pred[] select(%tie, %next, %gt)
}
ENTRY %main () -> (s32[4], s32[4]) {
  %k = s32[4] constant({1,0,1,0})
  %v = s32[4] constant({3,2,1,0})
  ROOT %s = (s32[4], s32[4]) sort(%k, %v), dimensions={0}, to_apply=%cmp
}
)"),
            "(s32[4] {1, 1, 0, 0}, s32[4] {1, 3, 0, 2})");
}

TEST_F(SimTest, TopKCustomCallAndFft) {
  EXPECT_EQ(run(module(R"(
  %a = f32[2,4] constant({{1,4,2,3},{0,-1,5,5}})
  ROOT %r = (f32[2,2], s32[2,2]) custom-call(%a), custom_call_target="TopK")")),
            "(f32[2,2] {{4, 3}, {5, 5}}, s32[2,2] {{1, 3}, {2, 3}})");
  EXPECT_EQ(run(module(R"(
  %a = c64[4] constant({(1,0), (0,0), (0,0), (0,0)})
  ROOT %r = c64[4] fft(%a), fft_type=FFT, fft_length={4})")),
            "c64[4] {(1, 0), (1, 0), (1, 0), (1, 0)}");
  EXPECT_EQ(run(module(R"(
  %a = f32[4] constant({1, 2, 3, 4})
  %f = c64[3] fft(%a), fft_type=RFFT, fft_length={4}
  ROOT %r = f32[4] fft(%f), fft_type=IRFFT, fft_length={4})")),
            "f32[4] {1, 2, 3, 4}");
}

TEST_F(SimTest, InfeedIsDeterministicOutfeedReturnsAToken) {
  const char *text = R"(
HloModule m
ENTRY %main () -> (f32[3], token[]) {
  %t = token[] after-all()
  %in = (f32[3], token[]) infeed(%t)
  %d = f32[3] get-tuple-element(%in), index=0
  %t2 = token[] get-tuple-element(%in), index=1
  %o = token[] outfeed(%d, %t2)
  ROOT %r = (f32[3], token[]) tuple(%d, %o)
}
)";
  std::vector<std::string> devices = runAll(text, 2);
  ASSERT_EQ(devices.size(), 2u);
  EXPECT_EQ(devices[0], devices[1]);
  EXPECT_EQ(run(text), devices[0]);
  EXPECT_NE(devices[0].find("token"), std::string::npos) << devices[0];
}

TEST_F(SimTest, UnsupportedOpsAreReported) {
  std::string error = runError(R"(
HloModule m
ENTRY %main () -> f32[] {
  ROOT %c = f32[] constant({...})
}
)");
  EXPECT_NE(error.find("cannot execute constant"), std::string::npos) << error;
}

TEST_F(SimTest, CompareValuesUsesTolerances) {
  LiteralRef a = Literal::makeArray(Float32Type::get(&context), {2});
  LiteralRef b = Literal::makeArray(Float32Type::get(&context), {2});
  a->setFloat(0, 1.0);
  b->setFloat(0, 1.0 + 5e-6);
  a->setFloat(1, 2.0);
  b->setFloat(1, 2.0);
  auto leaves = compareValues(*a, *b, std::nullopt, std::nullopt);
  ASSERT_EQ(leaves.size(), 1u);
  EXPECT_TRUE(leaves[0].match);
  b->setFloat(1, 2.1);
  leaves = compareValues(*a, *b, std::nullopt, std::nullopt);
  EXPECT_FALSE(leaves[0].match);
  EXPECT_EQ(leaves[0].numMismatches, 1);
  EXPECT_EQ(leaves[0].firstIndex[0], 1);
}

TEST_F(SimTest, CompareValuesNormwiseScalesByLargestMagnitude) {
  // A small element next to a large one: its error of 1e-3 is 1e-3
  // relative to itself but 1e-6 relative to the output's largest magnitude.
  LiteralRef a = Literal::makeArray(Float32Type::get(&context), {2});
  LiteralRef b = Literal::makeArray(Float32Type::get(&context), {2});
  a->setFloat(0, 1000.0);
  b->setFloat(0, 1000.0);
  a->setFloat(1, 1.0);
  b->setFloat(1, 1.001);
  EXPECT_FALSE(compareValues(*a, *b, std::nullopt, std::nullopt)[0].match);
  auto leaves = compareValues(*a, *b, std::nullopt, std::nullopt, true);
  EXPECT_TRUE(leaves[0].match);
  EXPECT_TRUE(leaves[0].normwise);
  // Normwise is still a bound: 1e-1 is 1e-4 of the largest magnitude.
  b->setFloat(1, 1.1);
  EXPECT_FALSE(
      compareValues(*a, *b, std::nullopt, std::nullopt, true)[0].match);
  // Integers stay exact.
  LiteralRef i = Literal::makeArray(IntegerType::get(&context, 32), {2});
  LiteralRef j = Literal::makeArray(IntegerType::get(&context, 32), {2});
  i->setInt(0, 1000);
  j->setInt(0, 1000);
  i->setInt(1, 1);
  j->setInt(1, 2);
  EXPECT_FALSE(
      compareValues(*i, *j, std::nullopt, std::nullopt, true)[0].match);
}

} // namespace
