//===- SimOpsTest.cpp - Interpreter ops with hand-computed results --------===//
//
// Part of gshard, under the Apache License v2.0.
//
// Complements SimTest.cpp: the blocked GEMM across its tile and block edges,
// convolution with lhs dilation and batch groups, gather's row path and its
// clamping, in-place updates never touching values read again, and the
// collectives beyond all-reduce. Every expectation is computed by hand (in
// the comment next to it) or in closed form.
//
//===----------------------------------------------------------------------===//

#include "SimFixture.h"
#include "gshard/IR/HloOps.h"
#include "gshard/Import/HloTextImporter.h"
#include "gshard/Sim/Interpreter.h"
#include "gshard/Sim/Literal.h"

#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>

using namespace mlir;
using namespace gshard;
using namespace gshard::sim;

namespace {

class SimOpsTest : public SimFixture {};

TEST_F(SimOpsTest, DotAcrossMicroTileAndBlockEdges) {
  // A[i][k] = i, B[k][j] = j, so C[i][j] = K * i * j: m = 5 and n = 1030
  // leave partial 4x8 tiles and a second 1024-wide N block, k = 300 a
  // second 256-deep K block. f64 keeps every value exact.
  EXPECT_EQ(run(R"(
HloModule m
ENTRY %main () -> (f64[1,1], f64[1,1], f64[1,1]) {
  %a = f64[5,300] iota(), iota_dimension=0
  %b = f64[300,1030] iota(), iota_dimension=1
  %c = f64[5,1030] dot(%a, %b), lhs_contracting_dims={1}, rhs_contracting_dims={0}
  %c1 = f64[1,1] slice(%c), slice={[4:5], [1029:1030]}
  %c2 = f64[1,1] slice(%c), slice={[3:4], [517:518]}
  %c3 = f64[1,1] slice(%c), slice={[1:2], [1:2]}
  ROOT %t = (f64[1,1], f64[1,1], f64[1,1]) tuple(%c1, %c2, %c3)
}
)"),
            // 300*4*1029, 300*3*517, 300*1*1
            "(f64[1,1] {{1234800}}, f64[1,1] {{465300}}, f64[1,1] {{300}})");
}

TEST_F(SimOpsTest, DotTransposedOperandsAndIntegers) {
  // lhs contracting dim 0 (a transposed A), s32 accumulation:
  // A^T = {{1,3},{2,4}}, B = {{5,6},{7,8}} -> {{26,30},{38,44}}.
  EXPECT_EQ(run(R"(
HloModule m
ENTRY %main () -> s32[2,2] {
  %a = s32[2,2] constant({{1,2},{3,4}})
  %b = s32[2,2] constant({{5,6},{7,8}})
  ROOT %c = s32[2,2] dot(%a, %b), lhs_contracting_dims={0}, rhs_contracting_dims={0}
}
)"),
            "s32[2,2] {{26, 30}, {38, 44}}");
}

TEST_F(SimOpsTest, ConvolutionLhsDilationAndBatchGroups) {
  // lhs_dilate=2 turns {1,2,3} into {1,0,2,0,3}; a {1,1} window sums
  // neighbours: {1, 2, 2, 3}.
  EXPECT_EQ(run(R"(
HloModule m
ENTRY %main () -> f32[1,1,4] {
  %a = f32[1,1,3] constant({{{1,2,3}}})
  %k = f32[1,1,2] constant({{{1,1}}})
  ROOT %r = f32[1,1,4] convolution(%a, %k), window={size=2 lhs_dilate=2}, dim_labels=bf0_oi0->bf0
}
)"),
            "f32[1,1,4] {{{1, 2, 2, 3}}}");
  // batch_group_count=2: output feature 0 sees batch 0 (x10), feature 1
  // batch 1 (x100).
  EXPECT_EQ(run(R"(
HloModule m
ENTRY %main () -> f32[1,2,2] {
  %a = f32[2,1,2] constant({{{1,2}},{{3,4}}})
  %k = f32[2,1,1] constant({{{10}},{{100}}})
  ROOT %r = f32[1,2,2] convolution(%a, %k), window={size=1}, dim_labels=bf0_oi0->bf0, batch_group_count=2
}
)"),
            "f32[1,2,2] {{{10, 20}, {300, 400}}}");
  // rhs_dilate=2 with stride 2 over {1..6}: taps (0,2), (2,4):
  // 1+3 = 4, 3+5 = 8.
  EXPECT_EQ(run(R"(
HloModule m
ENTRY %main () -> f32[1,1,2] {
  %a = f32[1,1,6] constant({{{1,2,3,4,5,6}}})
  %k = f32[1,1,2] constant({{{1,1}}})
  ROOT %r = f32[1,1,2] convolution(%a, %k), window={size=2 stride=2 rhs_dilate=2}, dim_labels=bf0_oi0->bf0
}
)"),
            "f32[1,1,2] {{{4, 8}}}");
}

TEST_F(SimOpsTest, GatherRowsClampAndBatchInnermost) {
  // Rows of 3 columns at (row, col) starts (2, 3) and (0, 0): col 3 clamps
  // to 4 - 3 = 1.
  EXPECT_EQ(run(R"(
HloModule m
ENTRY %main () -> s32[2,3] {
  %a = s32[3,4] constant({{0,1,2,3},{10,11,12,13},{20,21,22,23}})
  %i = s32[2,2] constant({{2,3},{0,0}})
  ROOT %g = s32[2,3] gather(%a, %i), offset_dims={1}, collapsed_slice_dims={0}, start_index_map={0,1}, index_vector_dim=1, slice_sizes={1,3}
}
)"),
            "s32[2,3] {{21, 22, 23}, {0, 1, 2}}");
  // The same gather with the batch dim innermost (offset_dims={0}): the
  // transpose of the above.
  EXPECT_EQ(run(R"(
HloModule m
ENTRY %main () -> s32[3,2] {
  %a = s32[3,4] constant({{0,1,2,3},{10,11,12,13},{20,21,22,23}})
  %i = s32[2,2] constant({{2,3},{0,0}})
  ROOT %g = s32[3,2] gather(%a, %i), offset_dims={0}, collapsed_slice_dims={0}, start_index_map={0,1}, index_vector_dim=1, slice_sizes={1,3}
}
)"),
            "s32[3,2] {{21, 0}, {22, 1}, {23, 2}}");
}

TEST_F(SimOpsTest, InPlaceUpdatesLeaveSharedValuesAlone) {
  // %a is read again after the dynamic-update-slice and the scatter, and
  // %c (a copy, sharing %a's buffer) dies at its update: %a stays 0..3.
  EXPECT_EQ(run(R"(
HloModule m
%add (x: s32[], y: s32[]) -> s32[] {
  %x = s32[] parameter(0)
  %y = s32[] parameter(1)
  ROOT %s = s32[] add(%x, %y)
}
ENTRY %main () -> (s32[4], s32[4], s32[4], s32[4]) {
  %a = s32[4] iota(), iota_dimension=0
  %u = s32[1] constant({9})
  %i = s32[] constant(1)
  %d = s32[4] dynamic-update-slice(%a, %u, %i)
  %c = s32[4] copy(%a)
  %e = s32[4] dynamic-update-slice(%c, %u, %i)
  %idx = s32[1] constant({3})
  %v = s32[1] constant({100})
  %s = s32[4] scatter(%a, %idx, %v), update_window_dims={}, inserted_window_dims={0}, scatter_dims_to_operand_dims={0}, index_vector_dim=1, to_apply=%add
  ROOT %t = (s32[4], s32[4], s32[4], s32[4]) tuple(%a, %d, %e, %s)
}
)"),
            "(s32[4] {0, 1, 2, 3}, s32[4] {0, 9, 2, 3}, s32[4] {0, 9, 2, 3}, "
            "s32[4] {0, 1, 2, 103})");
  // A constant updated in a loop body must be fresh on every iteration:
  // acc += dus(zeros, i, at i) for i = 0, 1, 2 gives {0, 1, 2} (a constant
  // updated in place would give {0, 2, 2}).
  EXPECT_EQ(run(R"(
HloModule m
%cond (s: (s32[], s32[3])) -> pred[] {
  %s = (s32[], s32[3]) parameter(0)
  %i = s32[] get-tuple-element(%s), index=0
  %n = s32[] constant(3)
  ROOT %lt = pred[] compare(%i, %n), direction=LT
}
%body (s: (s32[], s32[3])) -> (s32[], s32[3]) {
  %s = (s32[], s32[3]) parameter(0)
  %i = s32[] get-tuple-element(%s), index=0
  %acc = s32[3] get-tuple-element(%s), index=1
  %z = s32[3] constant({0,0,0})
  %iv = s32[1] reshape(%i)
  %d = s32[3] dynamic-update-slice(%z, %iv, %i)
  %acc2 = s32[3] add(%acc, %d)
  %one = s32[] constant(1)
  %i2 = s32[] add(%i, %one)
  ROOT %r = (s32[], s32[3]) tuple(%i2, %acc2)
}
ENTRY %main () -> s32[3] {
  %zero = s32[] constant(0)
  %init = s32[3] constant({0,0,0})
  %s0 = (s32[], s32[3]) tuple(%zero, %init)
  %w = (s32[], s32[3]) while(%s0), condition=%cond, body=%body
  ROOT %out = s32[3] get-tuple-element(%w), index=1
}
)"),
            "s32[3] {0, 1, 2}");
}

constexpr const char *kCollectives = R"(
HloModule m, num_partitions=4
%add (x: s32[], y: s32[]) -> s32[] {
  %x = s32[] parameter(0)
  %y = s32[] parameter(1)
  ROOT %s = s32[] add(%x, %y)
}
ENTRY %main () -> (s32[1], s32[], s32[4], s32[4]) {
  %pid = u32[] partition-id()
  %p = s32[] convert(%pid)
  %pv = s32[4] broadcast(%p), dimensions={}
  %io = s32[4] iota(), iota_dimension=0
  %x = s32[4] add(%io, %pv)
  %rs = s32[1] reduce-scatter(%x), channel_id=1, replica_groups={{0,1,2,3}}, dimensions={0}, use_global_device_ids=true, to_apply=%add
  %ten = s32[] constant(10)
  %p10 = s32[] add(%p, %ten)
  %cp = s32[] collective-permute(%p10), channel_id=2, source_target_pairs={{0,1},{1,2}}
  %tens = s32[4] broadcast(%ten), dimensions={}
  %p10v = s32[4] multiply(%pv, %tens)
  %y = s32[4] add(%p10v, %io)
  %a2a = s32[4] all-to-all(%y), channel_id=3, replica_groups={{0,1,2,3}}, dimensions={0}
  %one = s32[1] reshape(%p)
  %ag = s32[4] all-gather(%one), channel_id=4, replica_groups={{3,2,1,0}}, dimensions={0}, use_global_device_ids=true
  ROOT %t = (s32[1], s32[], s32[4], s32[4]) tuple(%rs, %cp, %a2a, %ag)
}
)";

TEST_F(SimOpsTest, ReduceScatterPermuteAllToAllAllGather) {
  auto results = runAll(kCollectives, 4);
  ASSERT_EQ(results.size(), 4u);
  // reduce-scatter: device d gets sum over p of (d + p) = 4d + 6.
  // collective-permute {0->1, 1->2}: 1 gets 10, 2 gets 11, 0 and 3 zeros.
  // all-to-all: device d gets element d of every y_p = 10p + iota:
  // {d, 10+d, 20+d, 30+d}.
  // all-gather in group order {3,2,1,0}: {3, 2, 1, 0} everywhere.
  EXPECT_EQ(results[0], "(s32[1] {6}, s32[] 0, s32[4] {0, 10, 20, 30}, "
                        "s32[4] {3, 2, 1, 0})");
  EXPECT_EQ(results[1], "(s32[1] {10}, s32[] 10, s32[4] {1, 11, 21, 31}, "
                        "s32[4] {3, 2, 1, 0})");
  EXPECT_EQ(results[2], "(s32[1] {14}, s32[] 11, s32[4] {2, 12, 22, 32}, "
                        "s32[4] {3, 2, 1, 0})");
  EXPECT_EQ(results[3], "(s32[1] {18}, s32[] 0, s32[4] {3, 13, 23, 33}, "
                        "s32[4] {3, 2, 1, 0})");
}

} // namespace
