//===- IRTest.cpp - Tests of the hlo dialect's attributes -----------------===//

#include "gshard/IR/HloDict.h"
#include "gshard/IR/HloOps.h"

#include "mlir/IR/MLIRContext.h"
#include "gtest/gtest.h"

using namespace mlir;
using namespace gshard::hlo;

namespace {

class IRTest : public ::testing::Test {
protected:
  IRTest() { context.loadDialect<HloDialect>(); }

  /// Parses `text` as AttrT and prints it back.
  template <typename AttrT> std::string roundTrip(llvm::StringRef text) {
    std::string error;
    size_t pos = 0;
    FailureOr<AttrT> attr = AttrT::parseHlo(&context, text, error, pos);
    if (failed(attr))
      return "error@" + std::to_string(pos) + ": " + error;
    std::string printed;
    llvm::raw_string_ostream os(printed);
    attr->printHlo(os);
    return printed;
  }

  MLIRContext context;
};

TEST_F(IRTest, ShardingSpellingsRoundTrip) {
  for (llvm::StringRef text :
       {"{replicated}", "{manual}", "{unknown shard_as 0}",
        "{maximal device=3}", "{devices=[2,1]0,1}", "{devices=[4]<=[4]}",
        "{devices=[2,1,4,1]<=[4,2]T(1,0)}",
        "{devices=[1,2,4]<=[2,2,2]T(1,0,2) last_tile_dim_replicate}",
        "{devices=[2,2,2]<=[8] last_tile_dims={manual, replicated}}",
        "{{replicated}, {devices=[2]0,1}}", "{}",
        "{devices=[1,2,2,1]0,1,2,3 metadata={op_name=\"a\"}}"})
    EXPECT_EQ(roundTrip<ShardingAttr>(text), text.str());
}

TEST_F(IRTest, ShardingCanonicalSpelling) {
  // Identity transposes are not printed; spaces are normalized.
  EXPECT_EQ(roundTrip<ShardingAttr>("{devices=[2,2]<=[4]T(0)}"),
            "{devices=[2,2]<=[4]}");
  EXPECT_EQ(roundTrip<ShardingAttr>("{ {replicated},{manual} }"),
            "{{replicated}, {manual}}");
}

TEST_F(IRTest, ShardingErrorsNameTheProblem) {
  EXPECT_EQ(roundTrip<ShardingAttr>("{devices=[2,2]0,1,2}"),
            "error@1: tile assignment [2, 2] needs 4 devices, 3 listed");
  EXPECT_EQ(roundTrip<ShardingAttr>("{devices=[2]0,0}"),
            "error@1: device 0 appears twice in the tile assignment");
  EXPECT_EQ(roundTrip<ShardingAttr>("{devices=[4]<=[3]}"),
            "error@1: iota reshape dims [3] do not hold the 4 devices of the "
            "tile assignment");
  EXPECT_EQ(roundTrip<ShardingAttr>("{replicatd}"),
            "error@1: expected 'replicated', 'manual', 'maximal', 'unknown' "
            "or 'devices=' in sharding");
  EXPECT_EQ(roundTrip<ShardingAttr>("{devices=[99999999999999999999]0}"),
            "error@10: integer is too large");
}

TEST_F(IRTest, WindowDefaultsAreOmitted) {
  EXPECT_EQ(roundTrip<WindowAttr>("{size=3x3 stride=1x1 pad=0_0x0_0}"),
            "{size=3x3}");
  EXPECT_EQ(
      roundTrip<WindowAttr>("{size=3x3 stride=2x2 pad=0_1x1_1 lhs_dilate=1x2 "
                            "rhs_dilate=2x1 rhs_reversal=0x1}"),
      "{size=3x3 stride=2x2 pad=0_1x1_1 lhs_dilate=1x2 rhs_dilate=2x1 "
      "rhs_reversal=0x1}");
  EXPECT_EQ(roundTrip<WindowAttr>("{size=3x3 stride=2}"),
            "error@0: window fields must all have 2 entries");
}

TEST_F(IRTest, ConvDimLabels) {
  EXPECT_EQ(roundTrip<ConvDimensionNumbersAttr>("b01f_01io->b01f"),
            "b01f_01io->b01f");
  EXPECT_EQ(roundTrip<ConvDimensionNumbersAttr>("bf0_oi0->bf0"),
            "bf0_oi0->bf0");
  EXPECT_EQ(roundTrip<ConvDimensionNumbersAttr>("b01f_01io->b0f"),
            "error@0: input, kernel and output must have the same number of "
            "spatial dimensions");
}

TEST_F(IRTest, ReplicaGroups) {
  EXPECT_EQ(roundTrip<ReplicaGroupsAttr>("{{0,1},{2,3}}"), "{{0,1},{2,3}}");
  EXPECT_EQ(roundTrip<ReplicaGroupsAttr>("{}"), "{}");
  EXPECT_EQ(roundTrip<ReplicaGroupsAttr>("[2,4]<=[4,2]T(1,0)"),
            "[2,4]<=[4,2]T(1,0)");
  std::string error;
  size_t pos;
  auto groups =
      ReplicaGroupsAttr::parseHlo(&context, "[2,4]<=[4,2]T(1,0)", error, pos);
  ASSERT_TRUE(succeeded(groups));
  auto materialized = groups->getGroups();
  ASSERT_EQ(materialized.size(), 2u);
  EXPECT_EQ(materialized[0], (SmallVector<int64_t>{0, 2, 4, 6}));
  EXPECT_EQ(materialized[1], (SmallVector<int64_t>{1, 3, 5, 7}));
  EXPECT_EQ(roundTrip<ReplicaGroupsAttr>("{{0,1},{1,2}}"),
            "error@0: replica id 1 appears in more than one group");
}

TEST_F(IRTest, Layouts) {
  EXPECT_EQ(roundTrip<LayoutAttr>("{1,0}"), "{1,0}");
  EXPECT_EQ(roundTrip<LayoutAttr>("{}"), "{}");
  EXPECT_EQ(roundTrip<LayoutAttr>("{0:T(128)}"), "{0:T(128)}");
  EXPECT_EQ(roundTrip<LayoutAttr>("{1,0:T(8,128)(2,1)S(1)}"),
            "{1,0:T(8,128)(2,1)S(1)}");
}

TEST_F(IRTest, Dictionaries) {
  SyntaxCursor cursor("{op_name=\"a\\\"b\" source_line=12 op_type=\"Add\"}");
  DictionaryAttr dict = parseHloDict(&context, cursor);
  ASSERT_TRUE(dict);
  std::string printed;
  llvm::raw_string_ostream os(printed);
  printHloDict(os, dict, " ", getMetadataKeyOrder());
  EXPECT_EQ(printed, "{op_type=\"Add\" op_name=\"a\\\"b\" source_line=12}");
}

} // namespace
