//===- PartitionerTest.cpp - Tests of the SPMD partitioner's choices ------===//
//
// Which collective the reshard routine picks for a pair of shardings (a
// `copy` from a parameter's sharding to another), the replica groups it
// gives them (compact iota form, groups along the right tile dim, never
// across manual groups), partial sums, and the errors for reshards that
// have no meaning. Everything goes through the public partitionModule and
// its collective records.
//
//===----------------------------------------------------------------------===//

#include "gshard/Partitioner/Partitioner.h"
#include "gshard/IR/HloOps.h"
#include "gshard/Import/HloTextImporter.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>

using namespace mlir;
using namespace gshard;

namespace {

using Groups = std::vector<std::vector<int64_t>>;

class PartitionerTest : public ::testing::Test {
protected:
  PartitionerTest() {
    DialectRegistry registry;
    registry.insert<hlo::HloDialect>();
    context.appendDialectRegistry(registry);
    context.loadAllAvailableDialects();
  }

  /// Partitions `text` on `n` devices; `ok` tells whether it succeeded and
  /// `errors` collects the diagnostics.
  std::vector<CollectiveRecord> partition(llvm::StringRef text, int64_t n,
                                          bool &ok) {
    errors.clear();
    ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
      if (diag.getSeverity() == DiagnosticSeverity::Error)
        errors += diag.str() + "\n";
      return success();
    });
    module = importHloText(text, &context);
    EXPECT_TRUE(module) << errors;
    std::vector<CollectiveRecord> records;
    ok = module && succeeded(partitionModule(
                       *module, PartitionOptions{n, false}, &records));
    return records;
  }

  std::vector<CollectiveRecord> partitionOk(llvm::StringRef text, int64_t n) {
    bool ok;
    std::vector<CollectiveRecord> records = partition(text, n, ok);
    EXPECT_TRUE(ok) << errors;
    return records;
  }

  /// A module copying a f32[8,12] parameter from sharding `from` to `to`.
  static std::string copyModule(llvm::StringRef from, llvm::StringRef to) {
    return ("HloModule m\n\nENTRY e {\n"
            "  p = f32[8,12] parameter(0), sharding=" +
            from +
            "\n"
            "  ROOT c = f32[8,12] copy(p), sharding=" +
            to + "\n}\n")
        .str();
  }

  static std::vector<std::string> kinds(ArrayRef<CollectiveRecord> records) {
    std::vector<std::string> result;
    for (const CollectiveRecord &r : records)
      result.push_back(r.kind);
    return result;
  }

  static hlo::ReplicaGroupsAttr groupsOf(const CollectiveRecord &r) {
    return r.op->getAttrOfType<hlo::ReplicaGroupsAttr>("replica_groups");
  }

  static Groups expand(hlo::ReplicaGroupsAttr groups) {
    Groups result;
    for (const auto &g : groups.getGroups())
      result.emplace_back(g.begin(), g.end());
    return result;
  }

  MLIRContext context;
  OwningOpRef<ModuleOp> module;
  std::string errors;
};

TEST_F(PartitionerTest, ReplicatedToTiledIsALocalSlice) {
  auto records =
      partitionOk(copyModule("{replicated}", "{devices=[2,2]<=[4]}"), 4);
  EXPECT_TRUE(records.empty());
}

TEST_F(PartitionerTest, FinerTilingIsALocalSlice) {
  // [2,1] -> [2,2]: every device's new tile lies inside the one it holds.
  auto records =
      partitionOk(copyModule("{devices=[2,1,2]<=[4] last_tile_dim_replicate}",
                             "{devices=[2,2]<=[4]}"),
                  4);
  EXPECT_TRUE(records.empty());
}

TEST_F(PartitionerTest, TiledToReplicatedIsOneAllGatherWithIotaGroups) {
  auto records =
      partitionOk(copyModule("{devices=[4,1]<=[4]}", "{replicated}"), 4);
  ASSERT_EQ(kinds(records), std::vector<std::string>{"all-gather"});
  hlo::ReplicaGroupsAttr groups = groupsOf(records[0]);
  ASSERT_TRUE(groups);
  EXPECT_TRUE(groups.getIsIota());
  EXPECT_EQ(groups.getNumGroups(), 1);
  EXPECT_EQ(groups.getGroupSize(), 4);
  EXPECT_EQ(expand(groups), (Groups{{0, 1, 2, 3}}));
}

TEST_F(PartitionerTest, PartialReplicationGathersAlongOneMeshDim) {
  // [2,2] -> dim 1 replicated: gather along tile dim 1 only, in groups of
  // the devices that share the dim-0 tile.
  auto records =
      partitionOk(copyModule("{devices=[2,2]<=[4]}",
                             "{devices=[2,1,2]<=[4] last_tile_dim_replicate}"),
                  4);
  ASSERT_EQ(kinds(records), std::vector<std::string>{"all-gather"});
  hlo::ReplicaGroupsAttr groups = groupsOf(records[0]);
  EXPECT_TRUE(groups.getIsIota());
  EXPECT_EQ(expand(groups), (Groups{{0, 1}, {2, 3}}));
  EXPECT_EQ(records[0].bytesPerDevice, 4 * 12 * 4);
}

TEST_F(PartitionerTest, TransposedMeshGroupsFollowTheTileAssignment) {
  // Devices laid out [2,2]<=[2,2]T(1,0): tile (i, j) is device 2j + i, so
  // gathering dim 1 groups {0, 2} and {1, 3}, still in iota form.
  auto records = partitionOk(
      copyModule("{devices=[2,2]<=[2,2]T(1,0)}",
                 "{devices=[2,1,2]<=[2,2]T(1,0) last_tile_dim_replicate}"),
      4);
  ASSERT_EQ(kinds(records), std::vector<std::string>{"all-gather"});
  hlo::ReplicaGroupsAttr groups = groupsOf(records[0]);
  EXPECT_TRUE(groups.getIsIota());
  EXPECT_EQ(expand(groups), (Groups{{0, 2}, {1, 3}}));
}

TEST_F(PartitionerTest, MovingASplitBetweenDimsIsOneAllToAll) {
  auto records = partitionOk(
      copyModule("{devices=[4,1]<=[4]}", "{devices=[1,4]<=[4]}"), 4);
  ASSERT_EQ(kinds(records), std::vector<std::string>{"all-to-all"});
  EXPECT_EQ(expand(groupsOf(records[0])), (Groups{{0, 1, 2, 3}}));
}

TEST_F(PartitionerTest, AllToAllWithinMeshRows) {
  // [2,2,1] -> [2,1,2]: the dim-1 split (tile dim 1) moves to dim 2; the
  // dim-0 tiling stays, so the all-to-all runs within each mesh row.
  auto records = partitionOk(
      "HloModule m\n\nENTRY e {\n"
      "  p = f32[4,8,8] parameter(0), sharding={devices=[2,2,1]<=[4]}\n"
      "  ROOT c = f32[4,8,8] copy(p), sharding={devices=[2,1,2]<=[4]}\n}\n",
      4);
  ASSERT_EQ(kinds(records), std::vector<std::string>{"all-to-all"});
  EXPECT_EQ(expand(groupsOf(records[0])), (Groups{{0, 1}, {2, 3}}));
}

TEST_F(PartitionerTest, SameTilesOnOtherDevicesIsOneCollectivePermute) {
  auto records = partitionOk(
      copyModule("{devices=[4,1]<=[4]}", "{devices=[4,1]3,2,1,0}"), 4);
  ASSERT_EQ(kinds(records), std::vector<std::string>{"collective-permute"});
  auto pairs =
      records[0].op->getAttrOfType<DenseI64ArrayAttr>("source_target_pairs");
  ASSERT_TRUE(pairs);
  // Device d needs tile 3 - d, which device 3 - d holds.
  EXPECT_EQ(pairs.asArrayRef(), ArrayRef<int64_t>({3, 0, 2, 1, 1, 2, 0, 3}));
}

TEST_F(PartitionerTest, MaximalToReplicatedIsABroadcastAllReduce) {
  auto records =
      partitionOk(copyModule("{maximal device=1}", "{replicated}"), 4);
  ASSERT_EQ(kinds(records), std::vector<std::string>{"all-reduce"});
  EXPECT_EQ(expand(groupsOf(records[0])), (Groups{{0, 1, 2, 3}}));
}

TEST_F(PartitionerTest, ShardedContractionIsOneAllReduceOfPartialSums) {
  auto records = partitionOk(
      "HloModule m\n\nENTRY e {\n"
      "  a = f32[8,16] parameter(0), sharding={devices=[1,4]<=[4]}\n"
      "  b = f32[16,4] parameter(1), sharding={devices=[4,1]<=[4]}\n"
      "  ROOT d = f32[8,4] dot(a, b), lhs_contracting_dims={1}, "
      "rhs_contracting_dims={0}, sharding={replicated}\n}\n",
      4);
  ASSERT_EQ(kinds(records), std::vector<std::string>{"all-reduce"});
  EXPECT_EQ(expand(groupsOf(records[0])), (Groups{{0, 1, 2, 3}}));
}

TEST_F(PartitionerTest, NarrowFloatPartialSumsAreAllReducedInF32) {
  auto records = partitionOk(
      "HloModule m\n\nENTRY e {\n"
      "  a = bf16[8,16] parameter(0), sharding={devices=[1,4]<=[4]}\n"
      "  b = bf16[16,4] parameter(1), sharding={devices=[4,1]<=[4]}\n"
      "  ROOT d = bf16[8,4] dot(a, b), lhs_contracting_dims={1}, "
      "rhs_contracting_dims={0}, sharding={replicated}\n}\n",
      4);
  ASSERT_EQ(kinds(records), std::vector<std::string>{"all-reduce"});
  auto type = cast<RankedTensorType>(records[0].op->getResult(0).getType());
  EXPECT_TRUE(type.getElementType().isF32());
}

TEST_F(PartitionerTest, GatherOnATrivialSlicedDimAllReducesAlongItsSplit) {
  // The operand is split 2 ways along the indexed dim and replicated over
  // the other mesh dim: rows are combined within {0,2} and {1,3} only.
  auto records = partitionOk(
      "HloModule m\n\nENTRY e {\n"
      "  a = f32[8,4] parameter(0), sharding={devices=[2,1,2]<=[4] "
      "last_tile_dim_replicate}\n"
      "  i = s32[5,1] parameter(1), sharding={replicated}\n"
      "  ROOT g = f32[5,4] gather(a, i), offset_dims={1}, "
      "collapsed_slice_dims={0}, start_index_map={0}, index_vector_dim=1, "
      "slice_sizes={1,4}, sharding={replicated}\n}\n",
      4);
  ASSERT_EQ(kinds(records), std::vector<std::string>{"all-reduce"});
  EXPECT_EQ(expand(groupsOf(records[0])), (Groups{{0, 2}, {1, 3}}));
}

TEST_F(PartitionerTest, GatherOnShardedIndicesOrPassthroughDimsMovesNothing) {
  auto records = partitionOk(
      "HloModule m\n\nENTRY e {\n"
      "  a = f32[8,4] parameter(0), sharding={devices=[1,2,2]<=[4] "
      "last_tile_dim_replicate}\n"
      "  i = s32[6,1] parameter(1), sharding={devices=[2,1,2]<=[2,2]T(1,0) "
      "last_tile_dim_replicate}\n"
      "  ROOT g = f32[6,4] gather(a, i), offset_dims={1}, "
      "collapsed_slice_dims={0}, start_index_map={0}, index_vector_dim=1, "
      "slice_sizes={1,4}, sharding={devices=[2,2]<=[2,2]T(1,0)}\n}\n",
      4);
  EXPECT_TRUE(records.empty());
}

/// A scatter of f32[32,4] updates at s32[32,1] indices sharded 4 ways into
/// a replicated f32[8,4] operand with the combiner `root` of (a, b).
static std::string indexParallelScatter(llvm::StringRef root) {
  return ("HloModule m\n\nc {\n  a = f32[] parameter(0)\n"
          "  b = f32[] parameter(1)\n  ROOT r = f32[] " +
          root +
          "\n}\n\nENTRY e {\n"
          "  o = f32[8,4] parameter(0), sharding={replicated}\n"
          "  i = s32[32,1] parameter(1), sharding={devices=[4,1]<=[4]}\n"
          "  u = f32[32,4] parameter(2), sharding={devices=[4,1]<=[4]}\n"
          "  ROOT s = f32[8,4] scatter(o, i, u), update_window_dims={1}, "
          "inserted_window_dims={0}, scatter_dims_to_operand_dims={0}, "
          "index_vector_dim=1, to_apply=c, sharding={replicated}\n}\n")
      .str();
}

TEST_F(PartitionerTest, IndexParallelScatterCombinesWithItsCombiner) {
  auto records = partitionOk(indexParallelScatter("minimum(a, b)"), 4);
  ASSERT_EQ(kinds(records), std::vector<std::string>{"all-reduce"});
  EXPECT_EQ(expand(groupsOf(records[0])), (Groups{{0, 1, 2, 3}}));
  auto reducer = records[0].op->getAttrOfType<FlatSymbolRefAttr>("to_apply");
  ASSERT_TRUE(reducer);
  EXPECT_TRUE(reducer.getValue().contains("minimum"));
}

TEST_F(PartitionerTest, OverwritingScatterIsNotSplitAlongIndices) {
  // The last write wins: partial results cannot be combined, so the
  // indices and updates are gathered instead.
  auto records = partitionOk(indexParallelScatter("copy(b)"), 4);
  for (const CollectiveRecord &r : records)
    EXPECT_EQ(r.kind, "all-gather");
  EXPECT_EQ(records.size(), 2u);
}

TEST_F(PartitionerTest, ReplicatedEntersAManualRegionAsIs) {
  auto records =
      partitionOk("HloModule m\n\nENTRY e {\n"
                  "  p = f32[8,12] parameter(0), sharding={replicated}\n"
                  "  ROOT c = f32[8,12] negate(p), sharding={manual}\n}\n",
                  4);
  EXPECT_TRUE(records.empty());
}

TEST_F(PartitionerTest, ManualSubgroupGathersNeverCrossManualGroups) {
  // Tile (i, m): dim 0 tile i, manual group m; device 2i + m. Replicating
  // dim 0 gathers {0, 2} (group 0) and {1, 3} (group 1).
  auto records = partitionOk(
      copyModule("{devices=[2,1,2]<=[4] last_tile_dims={manual}}",
                 "{devices=[1,1,2,2]<=[4] last_tile_dims={replicated, "
                 "manual}}"),
      4);
  ASSERT_EQ(kinds(records), std::vector<std::string>{"all-gather"});
  EXPECT_EQ(expand(groupsOf(records[0])), (Groups{{0, 2}, {1, 3}}));
}

TEST_F(PartitionerTest, TiledToManualIsAnError) {
  bool ok;
  partition(copyModule("{devices=[4,1]<=[4]}", "{manual}"), 4, ok);
  EXPECT_FALSE(ok);
  EXPECT_NE(errors.find("cannot reshard"), std::string::npos) << errors;
}

TEST_F(PartitionerTest, LeavingAManualSubgroupWithoutShardToFullIsAnError) {
  bool ok;
  partition(copyModule("{devices=[2,1,2]<=[4] last_tile_dims={manual}}",
                       "{replicated}"),
            4, ok);
  EXPECT_FALSE(ok);
  EXPECT_NE(errors.find("manual subgroups differ"), std::string::npos)
      << errors;
}

} // namespace
