//===- APITest.cpp - Tests of the embedding API (gshard/gshard.h) ---------===//

#include "gshard/gshard.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>

using namespace gshard;

namespace {

// Megatron-style MLP on 4 devices (examples/megatron_mlp.hlo): propagation
// shards the hidden activation, the partitioner inserts one all-reduce.
constexpr llvm::StringLiteral kMlp = R"(HloModule mlp, num_partitions=4

ENTRY %main (x: f32[8,16], w1: f32[16,32], w2: f32[32,16]) -> f32[8,16] {
  %x = f32[8,16]{1,0} parameter(0), sharding={replicated}
  %w1 = f32[16,32]{1,0} parameter(1), sharding={devices=[1,4]<=[4]}
  %w2 = f32[32,16]{1,0} parameter(2), sharding={devices=[4,1]<=[4]}
  %h = f32[8,32]{1,0} dot(%x, %w1), lhs_contracting_dims={1}, rhs_contracting_dims={0}
  %zero = f32[] constant(0)
  %zeros = f32[8,32]{1,0} broadcast(%zero), dimensions={}
  %relu = f32[8,32]{1,0} maximum(%h, %zeros)
  ROOT %y = f32[8,16]{1,0} dot(%relu, %w2), lhs_contracting_dims={1}, rhs_contracting_dims={0}, sharding={replicated}
}
)";

std::string errorText(llvm::Error error) {
  return llvm::toString(std::move(error));
}

/// `auto var = *expr;`, or a fatal test failure with the Error's message.
#define ASSIGN_OR_FAIL(var, expr)                                              \
  auto var##OrError = (expr);                                                  \
  ASSERT_TRUE(bool(var##OrError)) << errorText(var##OrError.takeError());      \
  auto var = std::move(*var##OrError)

TEST(APITest, ParseErrorsAreLocatedDiagnostics) {
  llvm::Expected<Module> module = Module::parseHloText(
      "HloModule m\nENTRY %e {\n  ROOT %p = f32[4] bogus()\n}\n", "bad.hlo");
  ASSERT_FALSE(module);
  std::string message = errorText(module.takeError());
  EXPECT_EQ(message.rfind("bad.hlo:3:", 0), 0u) << message;
  EXPECT_NE(message.find("error:"), std::string::npos) << message;
}

TEST(APITest, MissingFileIsAnError) {
  llvm::Expected<Module> module =
      Module::parseFile("/nonexistent/gshard/api-test.hlo");
  ASSERT_FALSE(module);
  EXPECT_NE(errorText(module.takeError()).find("cannot read"),
            std::string::npos);
}

TEST(APITest, MalformedProtoIsAnError) {
  llvm::Expected<Module> module =
      Module::parseHloProto(llvm::StringRef("\n\xff\xff\xff\x0f", 5), "x.pb");
  ASSERT_FALSE(module);
  std::string message = errorText(module.takeError());
  EXPECT_NE(message.find("x.pb"), std::string::npos) << message;
  EXPECT_NE(message.find("malformed or truncated"), std::string::npos)
      << message;
}

TEST(APITest, TextAndProtoRoundTrip) {
  ASSIGN_OR_FAIL(module, Module::parseHloText(kMlp, "mlp.hlo"));
  ASSIGN_OR_FAIL(text, module.toHloText());
  EXPECT_NE(text.find("HloModule mlp"), std::string::npos);
  ASSIGN_OR_FAIL(bytes, module.toHloProto());
  // InputFormat::Auto recognizes the bytes as a proto. The proto always
  // has the entry's program shape, so the header gains
  // entry_computation_layout; from there on text and proto are fixed points.
  ASSIGN_OR_FAIL(fromProto, Module::parse(bytes, "mlp.pb"));
  ASSIGN_OR_FAIL(fromProtoText, fromProto.toHloText());
  EXPECT_EQ(fromProtoText.substr(0, 42),
            "HloModule mlp, entry_computation_layout={(");
  EXPECT_EQ(llvm::StringRef(fromProtoText).split('\n').second,
            llvm::StringRef(text).split('\n').second);
  ASSIGN_OR_FAIL(again, Module::parseHloText(fromProtoText, "again.hlo"));
  ASSIGN_OR_FAIL(againBytes, again.toHloProto());
  EXPECT_EQ(againBytes, bytes);
  // And a file with the .pb extension is read as one.
  llvm::SmallString<128> path;
  ASSERT_FALSE(llvm::sys::fs::createTemporaryFile("api-test", "pb", path));
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(path, ec);
    ASSERT_FALSE(ec);
    os << bytes;
  }
  auto fromFile = Module::parseFile(path);
  llvm::sys::fs::remove(path);
  ASSERT_TRUE(bool(fromFile)) << errorText(fromFile.takeError());
  ASSIGN_OR_FAIL(fromFileText, fromFile->toHloText());
  EXPECT_EQ(fromFileText, fromProtoText);
}

TEST(APITest, PropagatePartitionAndCheck) {
  ASSIGN_OR_FAIL(module, Module::parseHloText(kMlp, "mlp.hlo"));
  Module original = module.clone();
  ASSERT_FALSE(bool(module.propagate())) << "propagation failed";
  std::vector<CollectiveRecord> collectives;
  llvm::Error error = module.partition({}, &collectives);
  ASSERT_FALSE(bool(error)) << errorText(std::move(error));
  ASSERT_EQ(collectives.size(), 1u);
  EXPECT_EQ(collectives[0].kind, "all-reduce");
  ASSIGN_OR_FAIL(text, module.toHloText());
  EXPECT_NE(text.find("f32[16,8]{1,0} parameter(1)"), std::string::npos)
      << text;
  EXPECT_NE(text.find("all-reduce("), std::string::npos) << text;
  // The clone kept the original program.
  ASSIGN_OR_FAIL(fresh, Module::parseHloText(kMlp, "mlp.hlo"));
  ASSIGN_OR_FAIL(freshText, fresh.toHloText());
  ASSIGN_OR_FAIL(originalText, original.toHloText());
  EXPECT_EQ(originalText, freshText);

  ASSIGN_OR_FAIL(result, checkPartitioned(module, original));
  EXPECT_TRUE(result.match);
  EXPECT_EQ(result.numPartitions, 4);
  EXPECT_EQ(result.numReplicas, 1);
  ASSERT_EQ(result.outputs.size(), 1u);
  EXPECT_EQ(result.outputs[0].shape, "f32[8,16]");
  EXPECT_TRUE(result.runError.empty());
}

TEST(APITest, CheckFindsAWrongPartitioning) {
  // The per-device program without the all-reduce: each device returns its
  // partial sum. (Parsed separately from the original: the check copies
  // the original into this module's context.)
  ASSIGN_OR_FAIL(wrong, Module::parseHloText(R"(HloModule mlp, num_partitions=4

ENTRY %main (x: f32[8,16], w1: f32[16,8], w2: f32[8,16]) -> f32[8,16] {
  %x = f32[8,16]{1,0} parameter(0), sharding={replicated}
  %w1 = f32[16,8]{1,0} parameter(1), sharding={devices=[1,4]<=[4]}
  %w2 = f32[8,16]{1,0} parameter(2), sharding={devices=[4,1]<=[4]}
  %h = f32[8,8]{1,0} dot(%x, %w1), lhs_contracting_dims={1}, rhs_contracting_dims={0}
  %zero = f32[] constant(0)
  %zeros = f32[8,8]{1,0} broadcast(%zero), dimensions={}
  %relu = f32[8,8]{1,0} maximum(%h, %zeros)
  ROOT %y = f32[8,16]{1,0} dot(%relu, %w2), lhs_contracting_dims={1}, rhs_contracting_dims={0}, sharding={replicated}
}
)",
                                             "wrong.hlo"));
  ASSIGN_OR_FAIL(original, Module::parseHloText(kMlp, "mlp.hlo"));
  ASSIGN_OR_FAIL(result, checkPartitioned(wrong, original));
  EXPECT_FALSE(result.match);
  ASSERT_EQ(result.outputs.size(), 1u);
  EXPECT_GT(result.outputs[0].numMismatches, 0);
}

TEST(APITest, CheckRejectsDifferentParameterLists) {
  ASSIGN_OR_FAIL(one, Module::parseHloText("HloModule a\nENTRY %e {\n  ROOT "
                                           "%p = f32[4] parameter(0)\n}\n"));
  ASSIGN_OR_FAIL(
      two,
      Module::parseHloText(
          "HloModule b\nENTRY %e {\n  %p = f32[4] parameter(0)\n"
          "  %q = f32[4] parameter(1)\n  ROOT %s = f32[4] add(%p, %q)\n}\n"));
  llvm::Expected<CheckResult> result = checkPartitioned(one, two);
  ASSERT_FALSE(result);
  EXPECT_NE(errorText(result.takeError()).find("takes 2 parameters"),
            std::string::npos);
}

TEST(APITest, WarningsAreKeptNotPrinted) {
  ASSIGN_OR_FAIL(
      module,
      Module::parseHloText(
          "HloModule m, allow_spmd_sharding_propagation_to_output={true}\n"
          "ENTRY %e {\n  ROOT %p = f32[4] parameter(0)\n}\n"));
  EXPECT_TRUE(module.getWarnings().empty());
  ASSIGN_OR_FAIL(bytes, module.toHloProto());
  EXPECT_FALSE(bytes.empty());
  ASSERT_EQ(module.getWarnings().size(), 1u);
  EXPECT_NE(module.getWarnings()[0].find("warning: module attribute "
                                         "'allow_spmd_sharding_propagation_to_"
                                         "output'"),
            std::string::npos)
      << module.getWarnings()[0];
}

} // namespace
