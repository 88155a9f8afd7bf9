//===- CostModelTest.cpp - Mesh presets, collective algorithms, liveness --===//
//
// Part of gshard, under the Apache License v2.0.
//
// Expected values are derived by hand from the formulas in
// docs/cost-model.md.
//
//===----------------------------------------------------------------------===//

#include "gshard/Sim/CostModel.h"
#include "gshard/IR/HloOps.h"
#include "gshard/Import/HloTextImporter.h"
#include "gshard/Sim/Mesh.h"

#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>

#include <numeric>

using namespace mlir;
using namespace gshard;
using namespace gshard::sim;

namespace {

constexpr double MiB = 1024.0 * 1024.0;

Mesh preset(llvm::StringRef name) {
  Mesh mesh;
  std::string error;
  EXPECT_TRUE(getMeshPreset(name, mesh, error)) << error;
  return mesh;
}

std::vector<int64_t> iota(int64_t n, int64_t start = 0, int64_t step = 1) {
  std::vector<int64_t> v(n);
  for (int64_t i = 0; i < n; ++i)
    v[i] = start + i * step;
  return v;
}

TEST(MeshTest, Presets) {
  Mesh v3 = preset("tpu-v3-2048");
  EXPECT_EQ(v3.getNumDevices(), 2048);
  EXPECT_EQ(llvm::ArrayRef<int64_t>(v3.shape),
            llvm::ArrayRef<int64_t>({32, 32, 2}));
  EXPECT_TRUE(v3.isRing(0));
  EXPECT_TRUE(v3.isRing(1));
  EXPECT_FALSE(v3.isRing(2));
  // 123 TF/s and 32 GiB at 900 GB/s per chip of two cores.
  EXPECT_DOUBLE_EQ(v3.bf16Flops * 2, 123e12);
  EXPECT_EQ(v3.hbmBytes * 2, int64_t(32) << 30);
  EXPECT_DOUBLE_EQ(v3.hbmBandwidth * 2, 900e9);

  Mesh v4 = preset("tpu-v4-64");
  EXPECT_EQ(llvm::ArrayRef<int64_t>(v4.shape),
            llvm::ArrayRef<int64_t>({4, 4, 4}));
  EXPECT_TRUE(v4.isRing(0) && v4.isRing(1) && v4.isRing(2));
  EXPECT_DOUBLE_EQ(v4.bf16Flops, 275e12);
  EXPECT_EQ(preset("tpu-v4-2048").getNumDevices(), 2048);
  EXPECT_FALSE(preset("tpu-v4-8").isRing(0));

  Mesh small = preset("2x4");
  EXPECT_EQ(small.getNumDevices(), 8);
  EXPECT_FALSE(small.wraparound[0]);
  EXPECT_TRUE(small.wraparound[1]);

  Mesh bad;
  std::string error;
  EXPECT_FALSE(getMeshPreset("tpu-v4-3", bad, error));
  EXPECT_FALSE(getMeshPreset("2x0", bad, error));
  EXPECT_FALSE(getMeshPreset("banana", bad, error));
}

TEST(MeshTest, CoordinatesAndHops) {
  Mesh ring = preset("8");
  EXPECT_EQ(ring.getHopDistance(0, 7), 1); // wraparound
  EXPECT_EQ(ring.getHopDistance(0, 4), 4);
  EXPECT_EQ(ring.getSignedDistance(0, 0, 4), 4); // ties go forward
  EXPECT_EQ(ring.getSignedDistance(0, 1, 0), -1);

  Mesh grid = preset("2x2");
  EXPECT_EQ(grid.getHopDistance(0, 3), 2);
  grid.deviceOrder = {3, 2, 1, 0};
  auto c = grid.getCoordinates(0);
  EXPECT_EQ(c[0], 1);
  EXPECT_EQ(c[1], 1);
  std::string error;
  EXPECT_TRUE(grid.validate(error)) << error;
  grid.deviceOrder = {0, 0, 1, 2};
  EXPECT_FALSE(grid.validate(error));
}

TEST(MeshTest, TextFormat) {
  Mesh mesh;
  std::string error;
  ASSERT_TRUE(parseMeshText(R"(
    name: "lab"
    shape: [4, 2]
    wraparound: [true, false]
    link_bandwidth: 5e10
    link_latency: 0
    device { bf16_flops: 1e14 hbm_bytes: 1000 hbm_bandwidth: 1e12 }
  )",
                            "lab.textproto", mesh, error))
      << error;
  EXPECT_EQ(mesh.name, "lab");
  EXPECT_EQ(mesh.getNumDevices(), 8);
  EXPECT_DOUBLE_EQ(mesh.linkBandwidth[1], 5e10);
  EXPECT_DOUBLE_EQ(mesh.f32Flops, 1e14);        // defaults to bf16
  EXPECT_DOUBLE_EQ(mesh.vectorFlops, 1e14 / 8); // defaults to 1/8

  // Round trip through the printer.
  Mesh again;
  ASSERT_TRUE(parseMeshText(mesh.toTextProto(), "again", again, error))
      << error;
  EXPECT_EQ(again.shape, mesh.shape);
  EXPECT_EQ(again.wraparound, mesh.wraparound);

  EXPECT_FALSE(
      parseMeshText("shape: [2]\nfoo: 1\n", "f.textproto", mesh, error));
  EXPECT_EQ(error.rfind("f.textproto:2:4: error:", 0), 0u) << error;
  EXPECT_FALSE(parseMeshText("shape: [2]\nlink_bandwidth: 1\n"
                             "device { bf16_flops: 1 hbm_bytes: 1 "
                             "hbm_bandwidth: 1 }\nwraparound: [true, true]\n",
                             "w.textproto", mesh, error));
  EXPECT_EQ(error.rfind("w.textproto:4:1: error: wraparound", 0), 0u) << error;
}

TEST(CollectiveTest, AllReduceOnGrid) {
  // 4 MiB over 2x2 (open lines, 100 GB/s): 2 * (4 - 1)/4 * 4 MiB sent;
  // phases 2*1/2*4 MiB/1e11 + 2*1/2*2 MiB/1e11, 4 hops of 1 us, 2 us start.
  Mesh mesh = preset("2x2");
  CollectiveCost c =
      getGroupCollectiveCost(mesh, CollectiveKind::AllReduce, iota(4), 4 * MiB);
  EXPECT_DOUBLE_EQ(c.bytesPerDevice, 6 * MiB);
  EXPECT_NEAR(c.seconds, 6 * MiB / 1e11 + 4e-6 + 2e-6, 1e-12);
}

TEST(CollectiveTest, RingFormulas) {
  Mesh mesh = preset("8");
  mesh.linkLatency = 0;
  mesh.collectiveLatency = 0;
  double B = 8 * MiB, bidir = 2e11;
  auto cost = [&](CollectiveKind kind, std::vector<int64_t> group) {
    return getGroupCollectiveCost(mesh, kind, group, B);
  };
  // Bidirectional ring: 2(n-1)/n B / (2 link bw).
  EXPECT_NEAR(cost(CollectiveKind::AllReduce, iota(8)).seconds,
              2.0 * 7 / 8 * B / bidir, 1e-12);
  EXPECT_NEAR(cost(CollectiveKind::AllGather, iota(8)).seconds,
              7.0 / 8 * B / bidir, 1e-12);
  EXPECT_NEAR(cost(CollectiveKind::ReduceScatter, iota(8)).seconds,
              7.0 / 8 * B / bidir, 1e-12);
  // All-to-all on a ring is bisection-bound: N B / 4 over 2 links.
  EXPECT_NEAR(cost(CollectiveKind::AllToAll, iota(8)).seconds,
              8 * B / 4 / (2 * 1e11), 1e-12);
  // Half the ring is an open line: one direction only.
  EXPECT_NEAR(cost(CollectiveKind::AllReduce, iota(4)).seconds,
              2.0 * 3 / 4 * B / 1e11, 1e-12);
  // Interleaved groups {0,2,4,6}: strided ring sharing links with the other
  // group: half the bandwidth.
  EXPECT_NEAR(cost(CollectiveKind::AllReduce, iota(4, 0, 2)).seconds,
              2.0 * 3 / 4 * B / (bidir / 2), 1e-12);
  // A single device costs nothing.
  EXPECT_EQ(cost(CollectiveKind::AllReduce, {3}).seconds, 0);
}

TEST(CollectiveTest, AllToAllGrowsWithSqrtDevices) {
  // Fixed bytes per device on square 2-D tori: bisection time ~ sqrt(N).
  double previous = 0;
  for (int n : {8, 16, 32}) {
    Mesh mesh = preset(std::to_string(n) + "x" + std::to_string(n));
    mesh.linkLatency = mesh.collectiveLatency = 0;
    double t = getGroupCollectiveCost(mesh, CollectiveKind::AllToAll,
                                      iota(n * n), 16 * MiB)
                   .seconds;
    if (previous > 0) {
      EXPECT_NEAR(t / previous, 2.0, 1e-9);
    }
    previous = t;
    // All-reduce on the same torus stays flat (2(N-1)/N B over rings).
    double ar = getGroupCollectiveCost(mesh, CollectiveKind::AllReduce,
                                       iota(n * n), 16 * MiB)
                    .seconds;
    EXPECT_LT(ar, 2 * 16 * MiB / 2e11 * 1.01);
  }
}

TEST(CollectiveTest, PermuteCountsLinkContention) {
  Mesh mesh = preset("8");
  mesh.linkLatency = mesh.collectiveLatency = 0;
  std::vector<std::pair<int64_t, int64_t>> shift1, shift4, self;
  for (int64_t i = 0; i < 8; ++i) {
    shift1.push_back({i, (i + 1) % 8});
    shift4.push_back({i, (i + 4) % 8});
    self.push_back({i, i});
  }
  EXPECT_NEAR(getPermuteCost(mesh, shift1, MiB).seconds, MiB / 1e11, 1e-12);
  EXPECT_NEAR(getPermuteCost(mesh, shift4, MiB).seconds, 4 * MiB / 1e11, 1e-12);
  EXPECT_EQ(getPermuteCost(mesh, self, MiB).seconds, 0);
  EXPECT_EQ(getPermuteCost(mesh, self, MiB).bytesPerDevice, 0);
}

class ProgramCostTest : public ::testing::Test {
protected:
  ProgramCostTest() { context.loadDialect<hlo::HloDialect>(); }
  MLIRContext context;
};

TEST_F(ProgramCostTest, LivenessAndRoofline) {
  OwningOpRef<ModuleOp> module = importHloText(R"(
HloModule m, num_partitions=2

ENTRY %main (p: f32[256], q: f32[256]) -> f32[256] {
  %p = f32[256]{0} parameter(0)
  %q = f32[256]{0} parameter(1)
  %a = f32[4,256]{1,0} broadcast(%p), dimensions={1}
  %b = f32[1,256]{1,0} slice(%a), slice={[0:1], [0:256]}
  %r = f32[256]{0} reshape(%b)
  %c = f32[256]{0} add(%r, %q)
  %t = (f32[256]{0}, f32[256]{0}) tuple(%c, %r)
  ROOT %d = f32[256]{0} get-tuple-element(%t), index=0
}
)",
                                               &context);
  ASSERT_TRUE(module);
  hlo::ComputationOp entry;
  for (auto c : module->getOps<hlo::ComputationOp>())
    if (c.getIsEntry())
      entry = c;
  ASSERT_TRUE(entry);
  std::string at;
  // params 2 KiB + %a 4 KiB + %b 1 KiB at %b; %a dies there.
  EXPECT_EQ(getPeakMemory(entry, &at), 2048 + 4096 + 1024);
  EXPECT_EQ(at, "b");

  CostReport report;
  std::string error;
  CostOptions options;
  ASSERT_TRUE(analyzeCost(*module, preset("2"), options, report, error))
      << error;
  EXPECT_EQ(report.numDevices, 2);
  EXPECT_EQ(report.peakMemoryBytes, 7168);
  EXPECT_EQ(report.outputBytes, 1024);
  // broadcast, slice, reshape, add: all memory-bound at 450 GB/s.
  double bytes = (1024 + 4096) + 2 * 1024 + 2 * 1024 + 3 * 1024;
  EXPECT_NEAR(report.stepSeconds, bytes / 450e9, 1e-15);
  EXPECT_EQ(report.commSeconds, 0);

  // More devices than the mesh has is an error.
  options.numPartitions = 4;
  EXPECT_FALSE(analyzeCost(*module, preset("2"), options, report, error));
}

} // namespace
