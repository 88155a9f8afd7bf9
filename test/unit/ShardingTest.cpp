//===- ShardingTest.cpp - Tests of the sharding value model ---------------===//

#include "gshard/Sharding/Sharding.h"
#include "gshard/IR/HloOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/MLIRContext.h"
#include "gtest/gtest.h"

#include <algorithm>
#include <numeric>
#include <set>

using namespace mlir;
using namespace gshard;
using llvm::ArrayRef;
using llvm::SmallVector;

namespace {

/// Reference iota: scatters every source position to its transposed slot.
SmallVector<int64_t> referenceIota(ArrayRef<int64_t> reshape,
                                   ArrayRef<int64_t> perm) {
  int64_t n = 1;
  for (int64_t d : reshape)
    n *= d;
  SmallVector<int64_t> result(n);
  for (int64_t s = 0; s < n; ++s) {
    SmallVector<int64_t> digits(reshape.size());
    int64_t rest = s;
    for (int64_t m = int64_t(reshape.size()) - 1; m >= 0; --m) {
      digits[m] = rest % reshape[m];
      rest /= reshape[m];
    }
    int64_t flat = 0;
    for (int64_t p : perm)
      flat = flat * reshape[p] + digits[p];
    result[flat] = s;
  }
  return result;
}

/// Reference transpose of a row-major array.
SmallVector<int64_t> referenceTranspose(ArrayRef<int64_t> values,
                                        ArrayRef<int64_t> dims,
                                        ArrayRef<int64_t> perm) {
  TileAssignment shape = TileAssignment::getIota(dims);
  SmallVector<int64_t> newDims;
  for (int64_t p : perm)
    newDims.push_back(dims[p]);
  TileAssignment newShape = TileAssignment::getIota(newDims);
  SmallVector<int64_t> result(values.size());
  for (int64_t f = 0; f < int64_t(values.size()); ++f) {
    SmallVector<int64_t> index = shape.unflatten(f);
    SmallVector<int64_t> newIndex;
    for (int64_t p : perm)
      newIndex.push_back(index[p]);
    result[newShape.flatten(newIndex)] = values[f];
  }
  return result;
}

class ShardingTest : public ::testing::Test {
protected:
  ShardingTest() { context.loadDialect<hlo::HloDialect>(); }

  ShardingAttr parse(llvm::StringRef text) {
    std::string error;
    size_t pos = 0;
    FailureOr<ShardingAttr> attr =
        ShardingAttr::parseHlo(&context, text, error, pos);
    EXPECT_TRUE(succeeded(attr)) << text.str() << ": " << error;
    return succeeded(attr) ? *attr : ShardingAttr();
  }
  static std::string str(ShardingAttr s) {
    std::string text;
    llvm::raw_string_ostream os(text);
    s.printHlo(os);
    return text;
  }
  static std::string str(hlo::ReplicaGroupsAttr g) {
    std::string text;
    llvm::raw_string_ostream os(text);
    g.printHlo(os);
    return text;
  }
  bool eq(llvm::StringRef a, llvm::StringRef b) {
    return shardingsEqual(parse(a), parse(b));
  }
  Type tensor(ArrayRef<int64_t> shape) {
    return RankedTensorType::get(shape, Float32Type::get(&context));
  }

  MLIRContext context;
};

//===----------------------------------------------------------------------===//
// TileAssignment
//===----------------------------------------------------------------------===//

struct IotaCase {
  SmallVector<int64_t> dims, reshape, perm;
};
const IotaCase kIotaCases[] = {
    {{8}, {8}, {0}},
    {{2, 4}, {8}, {0}},
    {{2, 1, 4, 1}, {4, 2}, {1, 0}},
    {{1, 2, 4}, {2, 2, 2}, {1, 0, 2}},
    {{4, 6}, {2, 3, 4}, {2, 0, 1}},
    {{3, 2, 4}, {4, 6}, {1, 0}},
    {{2, 2, 2, 2}, {2, 2, 2, 2}, {3, 1, 0, 2}},
    {{6, 2}, {3, 2, 2}, {2, 0, 1}},
};

TEST_F(ShardingTest, IotaMatchesReference) {
  for (const IotaCase &c : kIotaCases) {
    TileAssignment ta = TileAssignment::getIota(c.dims, c.reshape, c.perm);
    SmallVector<int64_t> ref = referenceIota(c.reshape, c.perm);
    EXPECT_EQ(ta.materialize(), ref) << ta.toString();
    for (int64_t f = 0; f < ta.getNumDevices(); ++f) {
      EXPECT_EQ(ta.deviceAt(f), ref[f]);
      EXPECT_EQ(ta.flatIndexOf(ref[f]), f)
          << ta.toString() << " device " << ref[f];
    }
    EXPECT_FALSE(ta.flatIndexOf(ta.getNumDevices()).has_value());
    EXPECT_FALSE(ta.flatIndexOf(-1).has_value());
    // Explicit lists: same answers through the lazy inverse map.
    TileAssignment ex = TileAssignment::getExplicit(c.dims, ref);
    EXPECT_EQ(ex, ta);
    EXPECT_EQ(ta, ex);
    for (int64_t f = 0; f < ex.getNumDevices(); ++f)
      EXPECT_EQ(ex.flatIndexOf(ref[f]), f);
  }
}

TEST_F(ShardingTest, ExplicitToIotaRecoversCanonicalForm) {
  for (const IotaCase &c : kIotaCases) {
    TileAssignment ta = TileAssignment::getIota(c.dims, c.reshape, c.perm);
    TileAssignment ex = TileAssignment::getExplicit(c.dims, ta.materialize());
    std::optional<TileAssignment> iota = ex.toIota();
    ASSERT_TRUE(iota.has_value()) << ta.toString();
    EXPECT_TRUE(iota->isIota());
    EXPECT_EQ(iota->materialize(), ta.materialize());
    // Canonical forms of equal arrays are identical.
    EXPECT_EQ(iota->toString(), ta.canonicalize().toString());
  }
  EXPECT_EQ(TileAssignment::getExplicit({2, 2}, {0, 2, 1, 3})
                .canonicalize()
                .toString(),
            "[2,2]<=[2,2]T(1,0)");
  EXPECT_EQ(TileAssignment::getExplicit({2, 1, 4, 1}, {0, 2, 4, 6, 1, 3, 5, 7})
                .canonicalize()
                .toString(),
            "[2,1,4,1]<=[4,2]T(1,0)");
  // Not iotas.
  for (SmallVector<int64_t> devices : {SmallVector<int64_t>{1, 0, 2, 3},
                                       {0, 1, 3, 2},
                                       {0, 3, 1, 2},
                                       {0, 2, 3, 1}})
    EXPECT_FALSE(TileAssignment::getExplicit({4}, devices).toIota())
        << devices[1] << devices[2] << devices[3];
  EXPECT_FALSE(TileAssignment::getExplicit({2}, {1, 2}).toIota());
}

TEST_F(ShardingTest, SimplifyIota) {
  SmallVector<int64_t> reshape = {2, 1, 4}, perm = {0, 1, 2};
  simplifyIota(reshape, perm);
  EXPECT_EQ(reshape, (SmallVector<int64_t>{8}));
  EXPECT_EQ(perm, (SmallVector<int64_t>{0}));
  reshape = {2, 3, 4};
  perm = {2, 0, 1};
  simplifyIota(reshape, perm);
  EXPECT_EQ(reshape, (SmallVector<int64_t>{6, 4}));
  EXPECT_EQ(perm, (SmallVector<int64_t>{1, 0}));
  reshape = {1};
  perm = {0};
  simplifyIota(reshape, perm);
  EXPECT_EQ(reshape, (SmallVector<int64_t>{1}));
}

TEST_F(ShardingTest, TransposeStaysIotaAndMatchesReference) {
  for (const IotaCase &c : kIotaCases) {
    TileAssignment ta = TileAssignment::getIota(c.dims, c.reshape, c.perm);
    SmallVector<int64_t> perm(c.dims.size());
    std::iota(perm.begin(), perm.end(), 0);
    do {
      TileAssignment t = ta.transpose(perm);
      EXPECT_EQ(t.materialize(),
                referenceTranspose(ta.materialize(), c.dims, perm))
          << ta.toString();
      // Transposing a whole mesh axis is always expressible.
      bool meshLike = llvm::all_of(c.dims, [&](int64_t d) {
        return llvm::is_contained(ta.canonicalize().getIotaReshapeDims(), d) ||
               d == 1;
      });
      if (meshLike) {
        EXPECT_TRUE(t.isIota()) << ta.toString();
      }
      // Explicit transposes agree.
      TileAssignment ex = TileAssignment::getExplicit(c.dims, ta.materialize());
      EXPECT_EQ(ex.transpose(perm), t);
    } while (std::next_permutation(perm.begin(), perm.end()));
  }
  // [2,3]<=[6] transposed is [3,2]<=[2,3]T(1,0).
  EXPECT_EQ(TileAssignment::getIota({2, 3}).transpose({1, 0}).toString(),
            "[3,2]<=[2,3]T(1,0)");
}

//===----------------------------------------------------------------------===//
// Equality and normalization
//===----------------------------------------------------------------------===//

TEST_F(ShardingTest, IotaEqualsExplicit) {
  EXPECT_TRUE(eq("{devices=[2,1,4,1]<=[4,2]T(1,0)}",
                 "{devices=[2,1,4,1]0,2,4,6,1,3,5,7}"));
  EXPECT_FALSE(eq("{devices=[2,1,4,1]<=[4,2]T(1,0)}",
                  "{devices=[2,1,4,1]0,1,2,3,4,5,6,7}"));
  EXPECT_TRUE(eq("{devices=[4]<=[4]}", "{devices=[4]0,1,2,3}"));
  EXPECT_TRUE(eq("{devices=[2,2]<=[4]}", "{devices=[2,2]<=[2,2]}"));
  EXPECT_TRUE(eq("{devices=[2,2]<=[2,2]T(1,0)}", "{devices=[2,2]0,2,1,3}"));
  // Same devices, other tile dims: different.
  EXPECT_FALSE(eq("{devices=[4,1]<=[4]}", "{devices=[1,4]<=[4]}"));
  EXPECT_TRUE(eq("{devices=[1,2,4]<=[2,2,2]T(1,0,2) last_tile_dim_replicate}",
                 "{devices=[1,2,4]0,1,4,5,2,3,6,7 last_tile_dim_replicate}"));
  // XLA sorts replication groups: member order does not matter.
  EXPECT_TRUE(eq("{devices=[1,2,4]<=[2,2,2]T(1,0,2) last_tile_dim_replicate}",
                 "{devices=[1,2,4]5,4,1,0,7,6,3,2 last_tile_dim_replicate}"));
  EXPECT_FALSE(eq("{devices=[1,2,4]<=[2,2,2]T(1,0,2) last_tile_dim_replicate}",
                  "{devices=[1,2,4]<=[8] last_tile_dim_replicate}"));
  EXPECT_TRUE(eq("{devices=[2,2]<=[4] last_tile_dim_replicate}",
                 "{devices=[2,2]<=[2,2]T(0,1) last_tile_dim_replicate}"));
  EXPECT_TRUE(eq("{devices=[2,2]<=[2,2]T(1,0) last_tile_dim_replicate}",
                 "{devices=[2,2]2,0,3,1 last_tile_dim_replicate}"));
}

TEST_F(ShardingTest, EqualityIgnoresMetadataNotShardGroups) {
  EXPECT_TRUE(
      eq("{devices=[2]<=[2] metadata={op_name=\"a\"}}", "{devices=[2]0,1}"));
  EXPECT_TRUE(eq("{replicated metadata={op_name=\"a\"}}", "{replicated}"));
  EXPECT_FALSE(eq("{replicated shard_as 1}", "{replicated}"));
  EXPECT_FALSE(eq("{replicated shard_as 1}", "{replicated shard_like 1}"));
  EXPECT_TRUE(eq("{replicated shard_as 1}", "{replicated shard_as 1}"));
  EXPECT_FALSE(eq("{maximal device=0}", "{maximal device=1}"));
  EXPECT_FALSE(eq("{maximal device=0}", "{replicated}"));
  EXPECT_FALSE(eq("{manual}", "{replicated}"));
  EXPECT_TRUE(eq("{{replicated}, {devices=[2]0,1}}",
                 "{{replicated}, {devices=[2]<=[2]}}"));
  EXPECT_FALSE(eq("{{replicated}, {devices=[2]0,1}}", "{{replicated}}"));
}

TEST_F(ShardingTest, NormalizationFollowsXlaConstructors) {
  // PartialTile: all replicated -> replicated; unit last dim -> tiled.
  EXPECT_TRUE(
      eq("{devices=[1,4]<=[4] last_tile_dim_replicate}", "{replicated}"));
  EXPECT_TRUE(
      eq("{devices=[2,1]<=[2] last_tile_dim_replicate}", "{devices=[2]<=[2]}"));
  // Subgroups: one kind without data tiling folds; unit dims dropped;
  // replicated-only becomes last_tile_dim_replicate.
  EXPECT_TRUE(eq("{devices=[1,1,4]<=[4] last_tile_dims={manual}}", "{manual}"));
  EXPECT_TRUE(
      eq("{devices=[1,4]<=[4] last_tile_dims={replicated}}", "{replicated}"));
  EXPECT_TRUE(eq("{devices=[2,2]<=[4] last_tile_dims={replicated}}",
                 "{devices=[2,2]<=[4] last_tile_dim_replicate}"));
  EXPECT_TRUE(eq("{devices=[2,1,2]<=[4] last_tile_dims={replicated, manual}}",
                 "{devices=[2,2]<=[4] last_tile_dims={manual}}"));
  // {replicated, manual} reorders to {manual, replicated}.
  EXPECT_TRUE(eq("{devices=[2,2,2]<=[8] last_tile_dims={replicated, manual}}",
                 "{devices=[2,2,2]<=[2,2,2]T(0,2,1) "
                 "last_tile_dims={manual, replicated}}"));
  EXPECT_EQ(
      str(normalizeSharding(parse("{devices=[2,2,2]<=[8] "
                                  "last_tile_dims={replicated, manual}}"))),
      "{devices=[2,2,2]<=[2,2,2]T(0,2,1) "
      "last_tile_dims={manual, replicated}}");
  // XLA does not normalize one-device tiled shardings.
  EXPECT_FALSE(eq("{devices=[1,1]0}", "{replicated}"));
  EXPECT_TRUE(isTriviallyReplicated(parse("{devices=[1,1]0}")));
  EXPECT_TRUE(isTriviallyReplicated(
      parse("{devices=[1,1,4]<=[4] last_tile_dim_replicate}")));
  EXPECT_FALSE(isTriviallyReplicated(parse("{devices=[2,1]<=[2]}")));
}

TEST_F(ShardingTest, CanonicalizeTurnsExplicitIntoIota) {
  EXPECT_EQ(str(canonicalizeSharding(parse("{devices=[2,2]0,2,1,3}"))),
            "{devices=[2,2]<=[2,2]T(1,0)}");
  EXPECT_EQ(
      str(canonicalizeSharding(parse(
          "{devices=[2,1,4,1]0,2,4,6,1,3,5,7 metadata={op_name=\"x\"}}"))),
      "{devices=[2,1,4,1]<=[4,2]T(1,0) metadata={op_name=\"x\"}}");
  EXPECT_EQ(str(canonicalizeSharding(
                parse("{devices=[2,2]1,0,3,2 last_tile_dim_replicate}"))),
            "{devices=[2,2]<=[4] last_tile_dim_replicate}");
  EXPECT_EQ(str(canonicalizeSharding(parse("{devices=[2,2]<=[2,2]}"))),
            "{devices=[2,2]<=[4]}");
  // No iota: stays explicit.
  EXPECT_EQ(str(canonicalizeSharding(parse("{devices=[4]0,1,3,2}"))),
            "{devices=[4]0,1,3,2}");
}

//===----------------------------------------------------------------------===//
// Queries
//===----------------------------------------------------------------------===//

TEST_F(ShardingTest, KindsAndSubgroups) {
  ShardingAttr s = parse("{devices=[2,2,2]<=[8] last_tile_dims={manual, "
                         "replicated}}");
  EXPECT_EQ(getTiledDataRank(s), 1);
  EXPECT_EQ(getNumTiles(s), 2);
  EXPECT_TRUE(isManualSubgroup(s));
  EXPECT_TRUE(hasPartialReplication(s));
  EXPECT_EQ(getManualDim(s), 1);
  EXPECT_EQ(getReplicationDim(s), 2);
  SmallVector<SubgroupDim> sub = getSubgroupDims(s);
  ASSERT_EQ(sub.size(), 2u);
  EXPECT_EQ(sub[0].kind, hlo::SubgroupKind::Manual);
  EXPECT_EQ(sub[1].size, 2);

  ShardingAttr p =
      parse("{devices=[1,2,4]<=[2,2,2]T(1,0,2) last_tile_dim_replicate}");
  EXPECT_EQ(getTiledDataRank(p), 2);
  EXPECT_EQ(getTilesPerDim(p, 2), (SmallVector<int64_t>{1, 2}));
  EXPECT_EQ(getReplicationDim(p), 2);
  EXPECT_FALSE(getManualDim(p));

  EXPECT_TRUE(isFullyReplicated(parse("{{replicated}, {replicated}}")));
  EXPECT_FALSE(isFullyReplicated(parse("{{replicated}, {maximal device=1}}")));
  EXPECT_TRUE(isTileMaximal(parse("{{replicated}, {maximal device=1}}")));
  EXPECT_EQ(getUniqueDevice(parse("{{maximal device=1}, {maximal device=1}}")),
            1);
  EXPECT_FALSE(getUniqueDevice(parse("{{maximal device=1}, {replicated}}")));
  EXPECT_EQ(getTilesPerDim(parse("{replicated}"), 3),
            (SmallVector<int64_t>{1, 1, 1}));
}

TEST_F(ShardingTest, TileShapesOffsetsAndLimits) {
  // devices=[2,1,4,1]<=[4,2]T(1,0): device 3 sits at tile (1,0,1,0).
  ShardingAttr s = parse("{devices=[2,1,4,1]<=[4,2]T(1,0)}");
  SmallVector<int64_t> shape = {6, 3, 10, 5};
  EXPECT_EQ(getTileShape(s, shape), (SmallVector<int64_t>{3, 3, 3, 5}));
  EXPECT_EQ(*getTileIndex(s, 3), (SmallVector<int64_t>{1, 0, 1, 0}));
  EXPECT_EQ(*getTileOffset(s, 3, shape), (SmallVector<int64_t>{3, 0, 3, 0}));
  EXPECT_EQ(*getTileLimit(s, 3, shape), (SmallVector<int64_t>{6, 3, 6, 5}));
  // Uneven: the last tile of dim 2 holds 10 - 9 = 1 element.
  EXPECT_EQ(*getTileOffset(s, 7, shape), (SmallVector<int64_t>{3, 0, 9, 0}));
  EXPECT_EQ(*getTileLimit(s, 7, shape), (SmallVector<int64_t>{6, 3, 10, 5}));
  EXPECT_FALSE(getTileOffset(s, 8, shape));
  // Very uneven: 3 elements over 4 tiles leaves the last tile empty.
  ShardingAttr u = parse("{devices=[4]<=[4]}");
  EXPECT_EQ(*getTileOffset(u, 3, {3}), (SmallVector<int64_t>{3}));
  EXPECT_EQ(*getTileLimit(u, 3, {3}), (SmallVector<int64_t>{3}));
  // Partial replication: both members of a group hold the same tile.
  ShardingAttr p = parse("{devices=[2,2]<=[4] last_tile_dim_replicate}");
  EXPECT_EQ(*getTileOffset(p, 0, {8}), *getTileOffset(p, 1, {8}));
  EXPECT_EQ(*getTileOffset(p, 2, {8}), (SmallVector<int64_t>{4}));
  // Replicated / maximal.
  EXPECT_EQ(*getTileLimit(parse("{replicated}"), 5, {8, 2}),
            (SmallVector<int64_t>{8, 2}));
  EXPECT_EQ(*getTileOffset(parse("{maximal device=2}"), 2, {8}),
            (SmallVector<int64_t>{0}));
  EXPECT_FALSE(getTileOffset(parse("{maximal device=2}"), 1, {8}));
}

TEST_F(ShardingTest, DeviceGroupsAreCompactIota) {
  ShardingAttr s = parse("{devices=[2,4]<=[8]}");
  EXPECT_EQ(str(getDeviceGroupsForDim(s, 1)), "[2,4]<=[8]");
  EXPECT_EQ(str(getDeviceGroupsForDim(s, 0)), "[4,2]<=[2,4]T(1,0)");
  EXPECT_EQ(str(getDeviceGroupsForDims(s, {0, 1})), "[1,8]<=[8]");
  EXPECT_EQ(str(getDeviceGroupsForDims(s, {1, 0})), "[1,8]<=[2,4]T(1,0)");

  ShardingAttr t = parse("{devices=[2,1,4,1]<=[4,2]T(1,0)}");
  hlo::ReplicaGroupsAttr g = getDeviceGroupsForDim(t, 2);
  EXPECT_TRUE(g.getIsIota());
  auto groups = g.getGroups();
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0], (SmallVector<int64_t>{0, 2, 4, 6}));
  EXPECT_EQ(groups[1], (SmallVector<int64_t>{1, 3, 5, 7}));
  EXPECT_EQ(getDevicesAlongDims(t, 5, {2}), (SmallVector<int64_t>{1, 3, 5, 7}));
  EXPECT_EQ(getDevicesAlongDims(t, 5, {0}), (SmallVector<int64_t>{4, 5}));

  // Explicit non-iota lists give explicit groups.
  ShardingAttr e = parse("{devices=[2,2]0,1,3,2}");
  hlo::ReplicaGroupsAttr eg = getDeviceGroupsForDim(e, 0);
  EXPECT_EQ(str(eg), "{{0,3},{1,2}}");

  // Every group form agrees with getDevicesAlongDims.
  ShardingAttr m = parse("{devices=[2,3,4]<=[3,2,4]T(2,0,1)}");
  for (SmallVector<int64_t> dims :
       {SmallVector<int64_t>{0}, {1}, {2}, {0, 2}, {2, 1}, {}}) {
    hlo::ReplicaGroupsAttr rg = getDeviceGroupsForDims(m, dims);
    std::set<SmallVector<int64_t>> fromAttr, fromQuery;
    for (auto &group : rg.getGroups())
      fromAttr.insert(SmallVector<int64_t>(group.begin(), group.end()));
    for (int64_t d = 0; d < 24; ++d)
      fromQuery.insert(getDevicesAlongDims(m, d, dims));
    EXPECT_EQ(fromAttr, fromQuery) << str(rg);
  }
}

TEST_F(ShardingTest, ReplicationGroups) {
  EXPECT_EQ(str(getReplicationGroups(parse("{devices=[1,2,4]<=[2,2,2]T(1,0,2) "
                                           "last_tile_dim_replicate}"),
                                     8)),
            "[2,4]<=[2,2,2]T(1,0,2)");
  EXPECT_EQ(str(getReplicationGroups(parse("{replicated}"), 4)), "[1,4]<=[4]");
  EXPECT_EQ(str(getReplicationGroups(parse("{devices=[4]<=[4]}"), 4)),
            "[4,1]<=[4]");
  EXPECT_EQ(str(getReplicationGroups(
                parse("{devices=[2,2,2]<=[8] last_tile_dims={manual, "
                      "replicated}}"),
                8)),
            "[4,2]<=[8]");
}

//===----------------------------------------------------------------------===//
// Transformations
//===----------------------------------------------------------------------===//

TEST_F(ShardingTest, ReplicateOnDims) {
  ShardingAttr s = parse("{devices=[2,4]<=[8]}");
  EXPECT_EQ(str(replicateOnDims(s, {1})),
            "{devices=[2,1,4]<=[8] last_tile_dim_replicate}");
  EXPECT_EQ(str(replicateOnDims(s, {0})),
            "{devices=[1,4,2]<=[2,4]T(1,0) last_tile_dim_replicate}");
  EXPECT_EQ(str(replicateOnDims(s, {0, 1})), "{replicated}");
  EXPECT_EQ(str(replicateAllDimsExcept(s, {0})),
            "{devices=[2,1,4]<=[8] last_tile_dim_replicate}");
  EXPECT_EQ(replicateOnDims(parse("{replicated}"), {0}), parse("{replicated}"));
  // Into an existing replicated dim: groups merge and stay sorted.
  ShardingAttr p = parse("{devices=[2,2,2]<=[8] last_tile_dim_replicate}");
  ShardingAttr r = replicateOnDims(p, {0});
  EXPECT_TRUE(eq(str(r), "{devices=[1,2,4]0,1,4,5,2,3,6,7 "
                         "last_tile_dim_replicate}"))
      << str(r);
  EXPECT_TRUE(getTileAssignment(r).isIota());
  // With a manual subgroup.
  ShardingAttr m = parse("{devices=[2,2,2]<=[8] last_tile_dims={manual}}");
  ShardingAttr mr = replicateOnDims(m, {0});
  EXPECT_EQ(str(mr), "{devices=[1,2,2,2]<=[2,4]T(1,0) "
                     "last_tile_dims={manual, replicated}}");
  // Property: every device keeps its tile on the kept dims.
  for (int64_t d = 0; d < 8; ++d) {
    EXPECT_EQ((*getTileIndex(mr, d))[1], (*getTileIndex(m, d))[1]);
    EXPECT_EQ(getTileAssignment(mr).indexOf(d)->back() < 2, true);
  }
}

TEST_F(ShardingTest, TransposeSharding) {
  ShardingAttr s = parse("{devices=[2,1,4]<=[8]}");
  ShardingAttr t = transposeSharding(s, {2, 0, 1});
  EXPECT_EQ(str(t), "{devices=[4,2,1]<=[2,4]T(1,0)}");
  // Device d holds element (i,j,k) in s iff it holds (k,i,j) in t.
  for (int64_t d = 0; d < 8; ++d) {
    auto a = *getTileIndex(s, d), b = *getTileIndex(t, d);
    EXPECT_EQ(b, (SmallVector<int64_t>{a[2], a[0], a[1]}));
  }
  ShardingAttr p =
      parse("{devices=[1,2,4]<=[2,2,2]T(1,0,2) last_tile_dim_replicate}");
  EXPECT_EQ(str(transposeSharding(p, {1, 0})),
            "{devices=[2,1,4]<=[2,2,2]T(1,0,2) last_tile_dim_replicate}");
  EXPECT_EQ(transposeSharding(parse("{replicated}"), {1, 0}),
            parse("{replicated}"));
}

/// Checks that every device holds the same elements (by linear index) under
/// `before` on `src` and `after` on `dst`.
static void expectSameElements(ShardingAttr before, ArrayRef<int64_t> src,
                               ShardingAttr after, ArrayRef<int64_t> dst,
                               int64_t numDevices) {
  auto elements = [](ShardingAttr s, ArrayRef<int64_t> shape, int64_t device) {
    std::set<int64_t> result;
    auto lo = *getTileOffset(s, device, shape);
    auto hi = *getTileLimit(s, device, shape);
    TileAssignment box = TileAssignment::getIota(shape);
    for (int64_t f = 0; f < box.getNumDevices(); ++f) {
      SmallVector<int64_t> index = box.unflatten(f);
      bool inside = true;
      for (size_t i = 0; i < index.size(); ++i)
        inside &= index[i] >= lo[i] && index[i] < hi[i];
      if (inside)
        result.insert(f);
    }
    return result;
  };
  for (int64_t d = 0; d < numDevices; ++d)
    EXPECT_EQ(elements(before, src, d), elements(after, dst, d))
        << "device " << d;
}

TEST_F(ShardingTest, ReshapeSharding) {
  struct Case {
    const char *sharding;
    SmallVector<int64_t> src, dst;
    const char *expected; // nullptr: must fail
  };
  const Case cases[] = {
      {"{devices=[4,2]<=[8]}", {4, 8}, {32}, "{devices=[8]<=[8]}"},
      {"{devices=[2,4]<=[8]}", {4, 8}, {32}, nullptr},
      {"{devices=[8]<=[8]}", {32}, {4, 8}, "{devices=[4,2]<=[8]}"},
      {"{devices=[4]<=[4]}", {16}, {4, 4}, "{devices=[4,1]<=[4]}"},
      {"{devices=[2,1]<=[2]}", {6, 4}, {2, 3, 4}, "{devices=[2,1,1]<=[2]}"},
      {"{devices=[2,2]<=[4]}", {6, 4}, {6, 2, 2}, "{devices=[2,2,1]<=[4]}"},
      {"{devices=[1,2,2]<=[4] last_tile_dim_replicate}",
       {3, 8},
       {3, 2, 4},
       "{devices=[1,2,1,2]<=[4] last_tile_dim_replicate}"},
      {"{devices=[2,1]<=[2]}", {5, 3}, {5, 1, 3}, "{devices=[2,1,1]<=[2]}"},
      {"{devices=[2]<=[2]}", {6}, {2, 3}, "{devices=[2,1]<=[2]}"},
      {"{devices=[4]<=[4]}", {6}, {2, 3}, nullptr},
      {"{devices=[2,1]<=[2]}", {2, 3}, {3, 2}, nullptr},
      {"{devices=[2,1,4]<=[4,2]T(1,0)}",
       {2, 1, 8},
       {2, 8},
       "{devices=[2,4]<=[4,2]T(1,0)}"},
  };
  for (const Case &c : cases) {
    ShardingAttr s = parse(c.sharding);
    FailureOr<ShardingAttr> r = reshapeSharding(s, c.src, c.dst);
    if (!c.expected) {
      EXPECT_TRUE(failed(r)) << c.sharding << " -> " << str(*r);
      continue;
    }
    ASSERT_TRUE(succeeded(r)) << c.sharding;
    EXPECT_EQ(str(*r), c.expected);
    expectSameElements(s, c.src, *r, c.dst, s.getNumTileDevices());
  }
}

TEST_F(ShardingTest, TupleElements) {
  Type f = tensor({4});
  Type nested =
      TupleType::get(&context, {f, TupleType::get(&context, {f, f}), f});
  ShardingAttr s = parse("{{replicated}, {maximal device=0}, "
                         "{maximal device=1}, {devices=[2]<=[2]}}");
  EXPECT_EQ(getLeafCount(nested), 4);
  EXPECT_EQ(getTupleElementSharding(s, nested, 0), parse("{replicated}"));
  EXPECT_EQ(str(getTupleElementSharding(s, nested, 1)),
            "{{maximal device=0}, {maximal device=1}}");
  EXPECT_EQ(str(getTupleElementSharding(s, nested, 2)), "{devices=[2]<=[2]}");
  EXPECT_EQ(getTupleElementSharding(parse("{replicated}"), nested, 1),
            parse("{replicated}"));
  ShardingAttr withMeta =
      parse("{{devices=[2]<=[2] metadata={op_name=\"a\"}}, {replicated}}");
  EXPECT_EQ(str(withoutMetadata(withMeta)),
            "{{devices=[2]<=[2]}, {replicated}}");
}

TEST_F(ShardingTest, MoreSpecific) {
  EXPECT_TRUE(isShardingMoreSpecific(parse("{devices=[2,2]<=[4]}"),
                                     parse("{devices=[2,1]<=[2]}")));
  EXPECT_TRUE(isShardingMoreSpecific(parse("{devices=[2]<=[2]}"),
                                     parse("{replicated}")));
  EXPECT_TRUE(isShardingMoreSpecific(parse("{maximal device=0}"),
                                     parse("{replicated}")));
  EXPECT_FALSE(isShardingMoreSpecific(parse("{replicated}"),
                                      parse("{maximal device=0}")));
  EXPECT_TRUE(isShardingMoreSpecific(parse("{manual}"), parse("{replicated}")));
  EXPECT_FALSE(isShardingMoreSpecific(parse("{devices=[2]<=[2]}"),
                                      parse("{devices=[2]<=[2]}")));
}

TEST_F(ShardingTest, MergePartialShardings) {
  ShardingAttr dst = parse("{devices=[2,1,2]<=[4] last_tile_dim_replicate}");
  ShardingAttr toMerge =
      parse("{devices=[1,2,2]<=[2,2]T(1,0) last_tile_dim_replicate}");
  std::optional<ShardingAttr> merged =
      mergeShardingIfCompatible(toMerge, dst, 3);
  ASSERT_TRUE(merged.has_value());
  EXPECT_EQ(str(*merged), "{devices=[2,2]<=[4]}");
  // Same through the explicit (general) path.
  merged = mergeShardingIfCompatible(
      parse("{devices=[1,2,2]0,2,1,3 last_tile_dim_replicate}"),
      parse("{devices=[2,1,2]0,1,2,3 last_tile_dim_replicate}"), 3);
  ASSERT_TRUE(merged.has_value());
  EXPECT_EQ(str(*merged), "{devices=[2,2]<=[4]}");
  // Incompatible device placement: dim 1 halves do not split dst's groups.
  EXPECT_FALSE(mergeShardingIfCompatible(
      parse("{devices=[1,2,2]<=[4] last_tile_dim_replicate}"), dst, 3));
  // Conflicting tiling on one dim.
  EXPECT_FALSE(mergeShardingIfCompatible(
      parse("{devices=[4,1]<=[4]}"),
      parse("{devices=[2,1,2]<=[4] last_tile_dim_replicate}"), 3));
  // Partial result keeps replication.
  ShardingAttr d8 = parse("{devices=[2,1,1,4]<=[8] last_tile_dim_replicate}");
  ShardingAttr m8 =
      parse("{devices=[1,2,1,4]<=[2,4]T(1,0) last_tile_dim_replicate}");
  merged = mergeShardingIfCompatible(m8, d8, 3);
  ASSERT_TRUE(merged.has_value());
  EXPECT_EQ(str(*merged), "{devices=[2,2,1,2]<=[8] last_tile_dim_replicate}");
  for (int64_t d = 0; d < 8; ++d) {
    SmallVector<int64_t> index = *getTileIndex(*merged, d);
    EXPECT_EQ(index[0], (*getTileIndex(d8, d))[0]);
    EXPECT_EQ(index[1], (*getTileIndex(m8, d))[1]);
  }
  // Manual subgroups must agree; subgroup order is normalized first.
  merged =
      mergeShardingIfCompatible(parse("{devices=[1,2,2,2]<=[2,2,2]T(2,1,0) "
                                      "last_tile_dims={manual, replicated}}"),
                                parse("{devices=[2,1,2,2]<=[2,2,2]T(0,2,1) "
                                      "last_tile_dims={replicated, manual}}"),
                                3);
  ASSERT_TRUE(merged.has_value());
  EXPECT_EQ(str(*merged), "{devices=[2,2,2]<=[2,2,2]T(0,2,1) "
                          "last_tile_dims={manual}}");
  // Same dst tile on two dims: no consistent merge.
  EXPECT_FALSE(mergeShardingIfCompatible(
      parse("{devices=[1,2,2,2]<=[8] last_tile_dims={manual, replicated}}"),
      parse("{devices=[2,1,2,2]<=[2,2,2]T(0,2,1) "
            "last_tile_dims={replicated, manual}}"),
      3));
  EXPECT_FALSE(mergeShardingIfCompatible(
      parse("{devices=[1,2,2,2]<=[8] last_tile_dims={manual, replicated}}"),
      parse("{devices=[2,1,4]<=[8] last_tile_dim_replicate}"), 3));
  // mergeSharding: tuples elementwise; returns whether dst improved.
  ShardingAttr tupleDst = ShardingAttr::getTuple(&context, {dst, dst});
  ShardingAttr tupleMerge =
      ShardingAttr::getTuple(&context, {toMerge, parse("{replicated}")});
  EXPECT_TRUE(mergeSharding(tupleMerge, tupleDst));
  EXPECT_EQ(str(tupleDst), "{{devices=[2,2]<=[4]}, {devices=[2,1,2]<=[4] "
                           "last_tile_dim_replicate}}");
}

TEST_F(ShardingTest, MergeFastPathAgreesWithGeneralPath) {
  // Every pair of 2-D partial shardings over 8 devices built from the iota
  // cases: the iota inputs (fast path) and their explicit copies (general
  // path) must agree, and any result must refine both inputs per device.
  SmallVector<ShardingAttr> partials;
  const char *forms[] = {"<=[8]", "<=[2,4]T(1,0)", "<=[2,2,2]T(2,0,1)",
                         "<=[4,2]T(1,0)", "<=[2,2,2]T(1,0,2)"};
  const char *tilings[] = {"[2,1,4]", "[1,2,4]", "[4,1,2]", "[1,4,2]",
                           "[2,2,2]", "[1,1,8]", "[2,4,1]"};
  for (const char *t : tilings)
    for (const char *f : forms)
      partials.push_back(parse(std::string("{devices=") + t + f +
                               " last_tile_dim_replicate}"));
  int mergedCount = 0;
  for (ShardingAttr a : partials)
    for (ShardingAttr b : partials) {
      if (getTiledDataRank(a) != getTiledDataRank(b))
        continue;
      auto explicitCopy = [&](ShardingAttr s) {
        TileAssignment ta = getTileAssignment(s);
        return getTiledSharding(
            &context,
            TileAssignment::getExplicit(ta.getDims(), ta.materialize()),
            s.getReplicateOnLastTileDim());
      };
      std::optional<ShardingAttr> fast = mergeShardingIfCompatible(a, b, 2);
      std::optional<ShardingAttr> slow =
          mergeShardingIfCompatible(explicitCopy(a), explicitCopy(b), 2);
      ASSERT_EQ(fast.has_value(), slow.has_value())
          << str(a) << " + " << str(b);
      if (!fast)
        continue;
      ++mergedCount;
      EXPECT_TRUE(shardingsEqual(*fast, *slow)) << str(*fast) << str(*slow);
      int64_t rank = getTiledDataRank(a);
      SmallVector<int64_t> ta = getTilesPerDim(a, rank),
                           tb = getTilesPerDim(b, rank);
      for (int64_t d = 0; d < 8; ++d) {
        SmallVector<int64_t> m = *getTileIndex(*fast, d),
                             ia = *getTileIndex(a, d), ib = *getTileIndex(b, d);
        for (int64_t i = 0; i < rank; ++i) {
          if (ta[i] > 1) {
            EXPECT_EQ(m[i], ia[i]);
          }
          if (tb[i] > 1) {
            EXPECT_EQ(m[i], ib[i]);
          }
        }
      }
    }
  EXPECT_GT(mergedCount, 10);
}

//===----------------------------------------------------------------------===//
// Verification
//===----------------------------------------------------------------------===//

TEST_F(ShardingTest, VerifySharding) {
  std::string last;
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
    last = diag.str();
    return success();
  });
  auto check = [&](llvm::StringRef text, Type type, int64_t numDevices) {
    last.clear();
    return succeeded(verifySharding(parse(text), type, numDevices, [&] {
      return emitError(UnknownLoc::get(&context));
    }));
  };
  Type t2 = tensor({4, 6});
  EXPECT_TRUE(check("{devices=[2,2]<=[4]}", t2, 4));
  EXPECT_TRUE(check("{devices=[2,1,2]<=[4] last_tile_dim_replicate}", t2, 4));
  EXPECT_FALSE(check("{devices=[2,2,2]<=[8]}", t2, 8));
  EXPECT_EQ(last, "sharding tiles 3 dimensions but the value has rank 2");
  EXPECT_FALSE(check("{devices=[2,2]<=[4]}", t2, 2));
  EXPECT_FALSE(check("{devices=[2,1]0,5}", t2, 4));
  EXPECT_EQ(last, "sharding device 5 is out of range for 4 devices");
  EXPECT_TRUE(check("{devices=[2,1]0,5}", t2, 0));
  EXPECT_FALSE(check("{maximal device=4}", t2, 4));
  EXPECT_TRUE(check("{replicated}", t2, 4));
  Type tuple = TupleType::get(&context, {t2, tensor({3})});
  EXPECT_TRUE(check("{{devices=[2,2]<=[4]}, {replicated}}", tuple, 4));
  EXPECT_FALSE(check("{{devices=[2,2]<=[4]}}", tuple, 4));
  EXPECT_EQ(last, "tuple sharding has 1 elements but the value's tuple type "
                  "has 2 leaves");
  EXPECT_FALSE(check("{{replicated}, {devices=[2,2]<=[4]}}", tuple, 4));
  EXPECT_TRUE(check("{replicated}", tuple, 4));
  EXPECT_FALSE(check("{devices=[2,2]<=[4]}", tuple, 4));
  EXPECT_FALSE(check("{{replicated}}", t2, 4));
  EXPECT_TRUE(check("{{replicated}}", TupleType::get(&context, {}), 4));
  EXPECT_TRUE(check("{devices=[2]<=[2]}", hlo::TokenType::get(&context), 4));
}

//===----------------------------------------------------------------------===//
// Scale: 2^20 devices, nothing materialized
//===----------------------------------------------------------------------===//

TEST_F(ShardingTest, MillionDeviceIotaQueriesStayCompact) {
  // A [1024,1024] mesh transposed, plus a 4-way replicated variant.
  ShardingAttr s = parse("{devices=[256,4096]<=[1024,1024]T(1,0)}");
  TileAssignment ta = getTileAssignment(s);
  ASSERT_TRUE(ta.isIota());
  EXPECT_EQ(ta.getNumDevices(), int64_t(1) << 20);
  // Entry [i, j] is device (f % 1024) * 1024 + f / 1024 with f = i*4096+j.
  for (int64_t f : {int64_t(0), int64_t(1), int64_t(1023), int64_t(1024),
                    int64_t(777777), (int64_t(1) << 20) - 1}) {
    int64_t device = (f % 1024) * 1024 + f / 1024;
    EXPECT_EQ(ta.deviceAt(f), device);
    EXPECT_EQ(ta.flatIndexOf(device), f);
  }
  SmallVector<int64_t> shape = {1 << 12, 1 << 14};
  EXPECT_EQ(getTileShape(s, shape), (SmallVector<int64_t>{16, 4}));
  // Device 1: f = 1024 -> tile (0, 1024).
  EXPECT_EQ(*getTileOffset(s, 1, shape), (SmallVector<int64_t>{0, 4096}));
  // Collectives along each dim: compact iota groups.
  hlo::ReplicaGroupsAttr g0 = getDeviceGroupsForDim(s, 0);
  EXPECT_TRUE(g0.getIsIota());
  EXPECT_EQ(g0.getNumGroups(), 4096);
  EXPECT_EQ(g0.getGroupSize(), 256);
  hlo::ReplicaGroupsAttr g1 = getDeviceGroupsForDim(s, 1);
  EXPECT_TRUE(g1.getIsIota());
  EXPECT_EQ(str(g1), "[256,4096]<=[1024,1024]T(1,0)");
  SmallVector<int64_t> along = getDevicesAlongDims(s, 1, {0});
  EXPECT_EQ(along.size(), 256u);
  EXPECT_EQ(along[1], 1 + 4);
  // Transformations stay iota.
  ShardingAttr t = transposeSharding(s, {1, 0});
  EXPECT_TRUE(getTileAssignment(t).isIota());
  EXPECT_EQ(getTileAssignment(t).deviceAt(1), ta.deviceAt(4096));
  ShardingAttr r = replicateOnDims(s, {0});
  EXPECT_TRUE(getTileAssignment(r).isIota());
  EXPECT_EQ(getTiledDataRank(r), 2);
  EXPECT_EQ(*getTileIndex(r, 1), *getTileIndex(s, 1) /*dim 0 is 0*/);
  FailureOr<ShardingAttr> reshaped =
      reshapeSharding(s, shape, {1 << 12, 1 << 12, 4});
  ASSERT_TRUE(succeeded(reshaped));
  EXPECT_TRUE(getTileAssignment(*reshaped).isIota());
  ShardingAttr same = parse("{devices=[256,4096]<=[1024,4,256]T(1,2,0)}");
  EXPECT_TRUE(shardingsEqual(s, same) ==
              (getTileAssignment(same).deviceAt(1) == ta.deviceAt(1) &&
               getTileAssignment(same).deviceAt(4096) == ta.deviceAt(4096)));
  EXPECT_TRUE(shardingsEqual(s, parse("{devices=[256,4096]<=[1024,1024]T(1,0) "
                                      "metadata={op_name=\"x\"}}")));
  ShardingAttr p = parse(
      "{devices=[256,1024,4]<=[1024,1024]T(1,0) last_tile_dim_replicate}");
  EXPECT_TRUE(getTileAssignment(normalizeSharding(p)).isIota());
  EXPECT_EQ(str(getReplicationGroups(p, 1 << 20)),
            "[262144,4]<=[1024,1024]T(1,0)");
  std::optional<ShardingAttr> merged = mergeShardingIfCompatible(
      parse("{devices=[1,1024,1024]<=[1024,1024]T(1,0) "
            "last_tile_dim_replicate}"),
      parse("{devices=[1024,1,1024]<=[1048576] last_tile_dim_replicate}"), 2);
  ASSERT_TRUE(merged.has_value());
  EXPECT_TRUE(getTileAssignment(*merged).isIota());
  EXPECT_EQ(getNumTiles(*merged), int64_t(1) << 20);
}

} // namespace
