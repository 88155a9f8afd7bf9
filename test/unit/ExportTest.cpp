//===- ExportTest.cpp - Tests of the HLO text printer ---------------------===//

#include "gshard/Export/HloTextExporter.h"
#include "gshard/IR/HloOps.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/Error.h"
#include "gtest/gtest.h"

using namespace mlir;
using llvm::APFloat;

namespace {

class ExportTest : public ::testing::Test {
protected:
  ExportTest() { context.loadDialect<gshard::hlo::HloDialect>(); }

  /// Parses hlo-dialect MLIR and prints it as HLO text (or "error: ...").
  std::string print(llvm::StringRef mlir) {
    std::string diagnostics;
    ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
      diagnostics += "error: " + diag.str();
      return success();
    });
    OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(mlir, &context);
    if (!module)
      return "parse failed: " + diagnostics;
    std::string text;
    llvm::raw_string_ostream os(text);
    if (failed(gshard::exportHloText(*module, os)))
      return diagnostics;
    return text;
  }

  /// Prints one instruction line of `body` (an entry computation whose ROOT
  /// is the last op), without the leading indentation.
  std::string printLine(llvm::StringRef body, llvm::StringRef name) {
    std::string text = print(("module @m {\n hlo.computation @main "
                              "attributes {is_entry} {\n" +
                              body + "\n }\n}")
                                 .str());
    std::string needle = ("%" + name + " = ").str();
    size_t at = text.find(needle);
    if (at == std::string::npos)
      return text;
    size_t start = text.rfind('\n', at) + 1;
    size_t end = text.find('\n', at);
    return llvm::StringRef(text).slice(start, end).trim().str();
  }

  std::string literal(llvm::StringRef value, llvm::StringRef type) {
    return printLine(("%0 = hlo.constant {value = " + value + " : " + type +
                      "} : () -> " + type +
                      " loc(\"c\")\n hlo.return %0 : " + type)
                         .str(),
                     "c");
  }

  MLIRContext context;
};

TEST_F(ExportTest, ModuleLayout) {
  const char *mlir = R"mlir(
module @jit_f attributes {hlo.header = {
    entry_computation_layout = (tensor<4xf32, #hlo.layout<"{0}">>) -> tensor<4xf32, #hlo.layout<"{0}">>,
    num_partitions = 4 : i64,
    allow_spmd_sharding_propagation_to_output = array<i1: true>,
    is_scheduled = true,
    input_output_alias = "{ {0}: (0, {}, may-alias) }"}} {
  hlo.computation @add {
    %0 = hlo.parameter {parameter_number = 0 : i64} : () -> tensor<f32> loc("x")
    %1 = hlo.parameter {parameter_number = 1 : i64} : () -> tensor<f32> loc("y")
    %2 = hlo.add %0, %1 : (tensor<f32>, tensor<f32>) -> tensor<f32> loc("sum")
    hlo.return %2 : tensor<f32>
  }
  hlo.computation @main attributes {is_entry} {
    %0 = hlo.parameter {parameter_number = 0 : i64, sharding = #hlo.sharding<"{devices=[4]<=[4]}">} : () -> tensor<4xf32, #hlo.layout<"{0}">> loc("p")
    %1 = hlo.constant {value = dense<0.0> : tensor<f32>} : () -> tensor<f32> loc("zero")
    %2 = hlo.reduce %0, %1 {dimensions = array<i64: 0>, to_apply = @add} : (tensor<4xf32, #hlo.layout<"{0}">>, tensor<f32>) -> tensor<f32> loc("r")
    %3 = hlo.broadcast %2 {dimensions = array<i64>} : (tensor<f32>) -> tensor<4xf32, #hlo.layout<"{0}">> loc("b")
    hlo.return %3 : tensor<4xf32, #hlo.layout<"{0}">>
  }
}
)mlir";
  EXPECT_EQ(print(mlir),
            "HloModule jit_f, is_scheduled=true, input_output_alias={ {0}: "
            "(0, {}, may-alias) }, entry_computation_layout={(f32[4]{0})->"
            "f32[4]{0}}, allow_spmd_sharding_propagation_to_output={true}, "
            "num_partitions=4\n\n"
            "%add (x: f32[], y: f32[]) -> f32[] {\n"
            "  %x = f32[] parameter(0)\n"
            "  %y = f32[] parameter(1)\n"
            "  ROOT %sum = f32[] add(%x, %y)\n"
            "}\n\n"
            "ENTRY %main (p: f32[4]) -> f32[4] {\n"
            "  %p = f32[4]{0} parameter(0), sharding={devices=[4]<=[4]}\n"
            "  %zero = f32[] constant(0)\n"
            "  %r = f32[] reduce(%p, %zero), dimensions={0}, to_apply=%add\n"
            "  ROOT %b = f32[4]{0} broadcast(%r), dimensions={}\n"
            "}\n\n");
}

TEST_F(ExportTest, CalleesBeforeCallersEntryLast) {
  const char *mlir = R"mlir(
module @m {
  hlo.computation @main attributes {is_entry} {
    %0 = hlo.parameter {parameter_number = 0 : i64} : () -> tensor<f32> loc("p")
    %1 = hlo.call %0 {to_apply = @f} : (tensor<f32>) -> tensor<f32> loc("c")
    hlo.return %1 : tensor<f32>
  }
  hlo.computation @f {
    %0 = hlo.parameter {parameter_number = 0 : i64} : () -> tensor<f32> loc("q")
    hlo.return %0 : tensor<f32>
  }
}
)mlir";
  std::string text = print(mlir);
  EXPECT_LT(text.find("%f (q: f32[])"), text.find("ENTRY %main"));
}

TEST_F(ExportTest, NamesAreUniqueAndFresh) {
  const char *mlir = R"mlir(
module @m {
  hlo.computation @main attributes {is_entry} {
    %0 = hlo.parameter {parameter_number = 0 : i64} : () -> tensor<f32> loc("a.1")
    %1 = hlo.negate %0 : (tensor<f32>) -> tensor<f32> loc("a.1")
    %2 = hlo.negate %1 : (tensor<f32>) -> tensor<f32>
    %3 = hlo.negate %2 : (tensor<f32>) -> tensor<f32> loc("bad name!")
    %4 = hlo.tuple %0, %1, %2, %3, %0, %1 : (tensor<f32>, tensor<f32>, tensor<f32>, tensor<f32>, tensor<f32>, tensor<f32>) -> tuple<tensor<f32>, tensor<f32>, tensor<f32>, tensor<f32>, tensor<f32>, tensor<f32>>
    hlo.return %4 : tuple<tensor<f32>, tensor<f32>, tensor<f32>, tensor<f32>, tensor<f32>, tensor<f32>>
  }
}
)mlir";
  std::string text = print(mlir);
  EXPECT_NE(text.find("%a.2 = f32[] negate(%a.1)"), std::string::npos) << text;
  EXPECT_NE(text.find("%negate.1 = f32[] negate(%a.2)"), std::string::npos);
  EXPECT_NE(text.find("%bad_name_ = f32[] negate(%negate.1)"),
            std::string::npos);
  EXPECT_NE(text.find("ROOT %tuple.1 = (f32[], f32[], f32[], f32[], f32[], "
                      "/*index=5*/f32[]) tuple(%a.1, %a.2, %negate.1, "
                      "%bad_name_, %a.1, /*index=5*/%a.2)"),
            std::string::npos)
      << text;
}

TEST_F(ExportTest, SliceAndPad) {
  EXPECT_EQ(printLine(R"(
    %0 = hlo.parameter {parameter_number = 0 : i64} : () -> tensor<8x8xf32> loc("p")
    %1 = hlo.slice %0 {start_indices = array<i64: 0, 1>, limit_indices = array<i64: 4, 8>, strides = array<i64: 1, 1>} : (tensor<8x8xf32>) -> tensor<4x7xf32> loc("s")
    hlo.return %1 : tensor<4x7xf32>)",
                      "s"),
            "ROOT %s = f32[4,7] slice(%p), slice={[0:4], [1:8]}");
  EXPECT_EQ(printLine(R"(
    %0 = hlo.parameter {parameter_number = 0 : i64} : () -> tensor<8x8xf32> loc("p")
    %1 = hlo.slice %0 {start_indices = array<i64: 0, 1>, limit_indices = array<i64: 4, 8>, strides = array<i64: 1, 2>} : (tensor<8x8xf32>) -> tensor<4x4xf32> loc("s")
    hlo.return %1 : tensor<4x4xf32>)",
                      "s"),
            "ROOT %s = f32[4,4] slice(%p), slice={[0:4:1], [1:8:2]}");
  EXPECT_EQ(printLine(R"(
    %0 = hlo.parameter {parameter_number = 0 : i64} : () -> tensor<2x3xf32> loc("p")
    %1 = hlo.constant {value = dense<0.0> : tensor<f32>} : () -> tensor<f32> loc("z")
    %2 = hlo.pad %0, %1 {edge_padding_low = array<i64: 0, 2>, edge_padding_high = array<i64: 1, 2>, interior_padding = array<i64: 0, 1>} : (tensor<2x3xf32>, tensor<f32>) -> tensor<3x9xf32> loc("q")
    hlo.return %2 : tensor<3x9xf32>)",
                      "q"),
            "ROOT %q = f32[3,9] pad(%p, %z), padding=0_1_0x2_2_1");
}

TEST_F(ExportTest, AttributeOrderFollowsXla) {
  EXPECT_EQ(
      printLine(R"(
    %0 = hlo.parameter {parameter_number = 0 : i64} : () -> tensor<4xf32> loc("p")
    %1 = hlo.all_gather %0 {backend_config = "{\"x\":1}", metadata = {source_line = 3 : i64, op_name = "a/b"}, frontend_attributes = {b = "2", a = "1"}, sharding = #hlo.sharding<"{replicated}">, use_global_device_ids = true, channel_id = 1 : i64, dimensions = array<i64: 0>, replica_groups = #hlo.replica_groups<"[2,2]<=[4]">, control_predecessors = ["p"]} : (tensor<4xf32>) -> tensor<8xf32> loc("g")
    hlo.return %1 : tensor<8xf32>)",
                "g"),
      "ROOT %g = f32[8] all-gather(%p), channel_id=1, "
      "replica_groups=[2,2]<=[4], dimensions={0}, use_global_device_ids=true, "
      "sharding={replicated}, frontend_attributes={a=\"1\",b=\"2\"}, "
      "control-predecessors={%p}, metadata={op_name=\"a/b\" source_line=3}, "
      "backend_config={\"x\":1}");
}

TEST_F(ExportTest, UnknownAttributeIsAnError) {
  std::string text = printLine(R"(
    %0 = hlo.parameter {parameter_number = 0 : i64, my_attr = 1 : i64} : () -> tensor<4xf32> loc("p")
    hlo.return %0 : tensor<4xf32>)",
                               "p");
  EXPECT_NE(text.find("attribute 'my_attr' has no HLO spelling"),
            std::string::npos)
      << text;
}

TEST_F(ExportTest, Literals) {
  EXPECT_EQ(literal("dense<-42>", "tensor<i32>"),
            "ROOT %c = s32[] constant(-42)");
  EXPECT_EQ(literal("dense<4294967295>", "tensor<ui32>"),
            "ROOT %c = u32[] constant(4294967295)");
  EXPECT_EQ(literal("dense<true>", "tensor<i1>"),
            "ROOT %c = pred[] constant(true)");
  EXPECT_EQ(literal("dense<[true, false]>", "tensor<2xi1>"),
            "ROOT %c = pred[2] constant({1, 0})");
  EXPECT_EQ(literal("dense<[1, 2, 3]>", "tensor<3xi64>"),
            "ROOT %c = s64[3] constant({1, 2, 3})");
  EXPECT_EQ(literal("dense<[[1, 2, 3], [4, 5, 6]]>", "tensor<2x3xi32>"),
            "ROOT %c = s32[2,3] constant({ { 1, 2, 3 }, { 4, 5, 6 } })");
  EXPECT_EQ(literal("dense<[[1], [2]]>", "tensor<2x1xi32>"),
            "ROOT %c = s32[2,1] constant({ {1}, {2} })");
  EXPECT_EQ(literal("dense<[[[[-1.0]], [[4.1]]], [[[2.0]], [[4.1]]], "
                    "[[[5.0]], [[4.4]]]]>",
                    "tensor<3x2x1x1xf32>"),
            "ROOT %c = f32[3,2,1,1] constant({ { /*i0=0*/ { /*i1=0*/ {-1} }, "
            "{ /*i1=1*/ {4.1} } }, { /*i0=1*/ { /*i1=0*/ {2} }, { /*i1=1*/ "
            "{4.1} } }, { /*i0=2*/ { /*i1=0*/ {5} }, { /*i1=1*/ {4.4} } } })");
  EXPECT_EQ(literal("dense<>", "tensor<0xf32>"),
            "ROOT %c = f32[0] constant({})");
  EXPECT_EQ(literal("dense<>", "tensor<2x0x4x3xf32>"),
            "ROOT %c = f32[2,0,4,3] constant({ { /*i0=0*/ }, { /*i0=1*/ } })");
  EXPECT_EQ(literal("dense<[0x7FC00000, 7.0, 0xFF800000, 0x7F800000, "
                    "1.0e-5, 0.1]>",
                    "tensor<6xf32>"),
            "ROOT %c = f32[6] constant({nan, 7, -inf, inf, 1e-05, 0.1})");
  EXPECT_EQ(literal("dense<[3.140625, 0.5, 1.0e10]>", "tensor<3xbf16>"),
            "ROOT %c = bf16[3] constant({3.14, 0.5, 1e+10})");
  EXPECT_EQ(literal("dense<[0.1, 65504.0]>", "tensor<2xf16>"),
            "ROOT %c = f16[2] constant({0.1, 65504})");
  EXPECT_EQ(literal("dense<[0.1, 448.0]>", "tensor<2xf8E4M3FN>"),
            "ROOT %c = f8e4m3fn[2] constant({0.1, 448})");
  EXPECT_EQ(
      literal("dense<[(1.0, -2.5), (0.0, 0.1)]>", "tensor<2xcomplex<f32>>"),
      "ROOT %c = c64[2] constant({(1, -2.5), (0, 0.1)})");
  EXPECT_EQ(literal("dense<0.1>", "tensor<f64>"),
            "ROOT %c = f64[] constant(0.1)");
  EXPECT_EQ(literal("dense<7>", "tensor<2x2xi8>"),
            "ROOT %c = s8[2,2] constant({ { 7, 7 }, { 7, 7 } })");
}

TEST_F(ExportTest, TupleAndElidedLiterals) {
  EXPECT_EQ(printLine(R"(
    %0 = hlo.constant {value = [dense<[[1.0], [2.0]]> : tensor<2x1xf32>, dense<[2.0, 42.0]> : tensor<2xf32>]} : () -> tuple<tensor<2x1xf32, #hlo.layout<"{1,0}">>, tensor<2xf32, #hlo.layout<"{0}">>> loc("t")
    hlo.return %0 : tuple<tensor<2x1xf32, #hlo.layout<"{1,0}">>, tensor<2xf32, #hlo.layout<"{0}">>>)",
                      "t"),
            "ROOT %t = (f32[2,1]{1,0}, f32[2]{0}) constant(( { {1}, {2} }, "
            "{2, 42} ))");
  EXPECT_EQ(printLine(R"(
    %0 = hlo.constant : () -> tensor<1000xf32, #hlo.layout<"{0:T(256)}">> loc("big")
    hlo.return %0 : tensor<1000xf32, #hlo.layout<"{0:T(256)}">>)",
                      "big"),
            "ROOT %big = f32[1000]{0:T(256)} constant({...})");
}

TEST_F(ExportTest, FloatSpellings) {
  EXPECT_EQ(gshard::formatHloFloat(APFloat(0.1f)), "0.1");
  EXPECT_EQ(gshard::formatHloFloat(APFloat(1.0f / 3)), "0.33333334");
  EXPECT_EQ(gshard::formatHloFloat(APFloat(-0.0f)), "-0");
  EXPECT_EQ(gshard::formatHloFloat(APFloat(1e-45f)), "1e-45");
  EXPECT_EQ(gshard::formatHloFloat(APFloat(0.1)), "0.1");
  EXPECT_EQ(gshard::formatHloFloat(APFloat(100.0f)), "100");
  EXPECT_EQ(gshard::formatHloFloat(APFloat(123456.0f)), "123456");
  EXPECT_EQ(gshard::formatHloFloat(APFloat(1e6f)), "1e+06");
  EXPECT_EQ(gshard::formatHloFloat(APFloat(1.5e-7)), "1.5e-07");
  EXPECT_EQ(gshard::formatHloFloat(APFloat(1.0 / 3)), "0.3333333333333333");
  EXPECT_EQ(gshard::formatHloFloat(APFloat::getQNaN(APFloat::IEEEsingle(),
                                                    /*Negative=*/true)),
            "-nan");
  APFloat payload = APFloat::getSNaN(APFloat::IEEEsingle());
  EXPECT_EQ(gshard::formatHloFloat(payload), "nan(0x200000)");
  // Every bf16 and f16 bit pattern reads back exactly.
  for (const llvm::fltSemantics *semantics :
       {&APFloat::BFloat(), &APFloat::IEEEhalf()}) {
    for (uint32_t bits = 0; bits < 0x10000; ++bits) {
      APFloat value(*semantics, llvm::APInt(16, bits));
      if (!value.isFinite())
        continue;
      std::string text = gshard::formatHloFloat(value);
      APFloat back(*semantics);
      auto status = back.convertFromString(text, APFloat::rmNearestTiesToEven);
      ASSERT_TRUE(bool(status)) << text;
      ASSERT_TRUE(back.bitwiseIsEqual(value)) << text << " bits " << bits;
    }
  }
}

TEST_F(ExportTest, ComputationSignatureAndThread) {
  const char *mlir = R"mlir(
module @m {
  hlo.computation @host attributes {execution_thread = "host"} {
    %0 = hlo.parameter {parameter_number = 1 : i64} : () -> !hlo.token loc("tok")
    %1 = hlo.parameter {parameter_number = 0 : i64} : () -> tuple<tensor<2xf32, #hlo.layout<"{0}">>, tensor<i32>> loc("t")
    hlo.return %1 : tuple<tensor<2xf32, #hlo.layout<"{0}">>, tensor<i32>>
  }
  hlo.computation @main attributes {is_entry} {
    %0 = hlo.parameter {parameter_number = 0 : i64} : () -> tensor<f32> loc("p")
    hlo.return %0 : tensor<f32>
  }
}
)mlir";
  std::string text = print(mlir);
  EXPECT_NE(text.find("%host (t: (f32[2], s32[]), tok: token[]) -> (f32[2], "
                      "s32[]) {\n  %tok = token[] parameter(1)\n  ROOT %t = "
                      "(f32[2]{0}, s32[]) parameter(0)\n}, "
                      "execution_thread=\"host\"\n\n"),
            std::string::npos)
      << text;
}

TEST_F(ExportTest, NonHloOpIsAnError) {
  const char *mlir = R"mlir(
module @m {
  hlo.computation @main attributes {is_entry} {
    %0 = "test.op"() : () -> tensor<f32>
    hlo.return %0 : tensor<f32>
  }
}
)mlir";
  context.allowUnregisteredDialects();
  std::string text = print(mlir);
  EXPECT_NE(text.find("not an hlo op"), std::string::npos) << text;
}

} // namespace
