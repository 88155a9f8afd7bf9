//===- ImportTest.cpp - Tests of the HLO text importer --------------------===//

#include "gshard/IR/HloOps.h"
#include "gshard/Import/HloTextImporter.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>

using namespace mlir;
using namespace gshard;

namespace {

struct ImportResult {
  OwningOpRef<ModuleOp> module;
  std::string errors;
};

ImportResult import(MLIRContext &context, llvm::StringRef text) {
  ImportResult result;
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
    if (diag.getSeverity() != DiagnosticSeverity::Error)
      return success();
    if (auto loc = dyn_cast<FileLineColLoc>(diag.getLocation()))
      result.errors +=
          (loc.getFilename().str() + ":" + std::to_string(loc.getLine()) + ":" +
           std::to_string(loc.getColumn()) + ": ");
    result.errors += diag.str() + "\n";
    return success();
  });
  result.module = importHloText(text, &context);
  return result;
}

hlo::ComputationOp getComputation(ModuleOp module, llvm::StringRef name) {
  return module.lookupSymbol<hlo::ComputationOp>(name);
}

TEST(ImportTest, SimpleModule) {
  MLIRContext context;
  auto result = import(context, R"(HloModule m, num_partitions=2
ENTRY %e {
  %p = f32[4]{0} parameter(0), sharding={devices=[2]<=[2]}
  ROOT %n = f32[4]{0} negate(%p)
})");
  ASSERT_TRUE(result.module) << result.errors;
  EXPECT_EQ(result.module->getSymName(), "m");
  auto header = (*result.module)->getAttrOfType<DictionaryAttr>("hlo.header");
  ASSERT_TRUE(header);
  EXPECT_EQ(cast<IntegerAttr>(header.get("num_partitions")).getInt(), 2);
  auto entry = getComputation(*result.module, "e");
  ASSERT_TRUE(entry);
  EXPECT_TRUE(entry.getIsEntry());
  Value root = entry.getRoot();
  ASSERT_TRUE(root);
  EXPECT_TRUE(isa<hlo::NegateOp>(root.getDefiningOp()));
  EXPECT_EQ(hlo::getInstructionName(root.getDefiningOp()->getLoc()), "n");
  auto params = hlo::getParameters(entry);
  ASSERT_EQ(params.size(), 1u);
  EXPECT_TRUE(params[0].getSharding().has_value());
}

TEST(ImportTest, OutOfOrderAndForwardComputationReference) {
  MLIRContext context;
  auto result = import(context, R"(HloModule m
ENTRY e {
  ROOT r = f32[] reduce(p, z), dimensions={0}, to_apply=sum
  z = f32[] constant(0)
  p = f32[8] parameter(0)
}
sum {
  a = f32[] parameter(0)
  b = f32[] parameter(1)
  ROOT s = f32[] add(a, b)
})");
  ASSERT_TRUE(result.module) << result.errors;
  auto entry = getComputation(*result.module, "e");
  // Operands come before their users.
  auto &ops = entry.getBody().front().getOperations();
  EXPECT_TRUE(isa<hlo::ConstantOp>(ops.front()) ||
              isa<hlo::ParameterOp>(ops.front()));
  EXPECT_TRUE(isa<hlo::ReduceOp>(entry.getRoot().getDefiningOp()));
}

TEST(ImportTest, MissingRootIsLastInstruction) {
  MLIRContext context;
  auto result = import(context, R"(HloModule m
ENTRY e {
  p = f32[2] parameter(0)
  n = f32[2] negate(p)
})");
  ASSERT_TRUE(result.module) << result.errors;
  auto entry = getComputation(*result.module, "e");
  EXPECT_TRUE(isa<hlo::NegateOp>(entry.getRoot().getDefiningOp()));
}

TEST(ImportTest, ElidedConstantHasNoValue) {
  MLIRContext context;
  auto result = import(context, R"(HloModule m
ENTRY e {
  ROOT c = bf16[3]{0} constant({...})
})");
  ASSERT_TRUE(result.module) << result.errors;
  auto constant = cast<hlo::ConstantOp>(
      getComputation(*result.module, "e").getRoot().getDefiningOp());
  EXPECT_FALSE(constant.getValue().has_value());
}

TEST(ImportTest, SliceAndPaddingExpand) {
  MLIRContext context;
  auto result = import(context, R"(HloModule m
ENTRY e {
  p = f32[8] parameter(0)
  z = f32[] constant(0)
  s = f32[2] slice(p), slice={[0:4:2]}
  ROOT q = f32[5] pad(s, z), padding=1_2
})");
  ASSERT_TRUE(result.module) << result.errors;
  auto pad = cast<hlo::PadOp>(
      getComputation(*result.module, "e").getRoot().getDefiningOp());
  EXPECT_EQ(pad.getEdgePaddingLow(), ArrayRef<int64_t>{1});
  EXPECT_EQ(pad.getEdgePaddingHigh(), ArrayRef<int64_t>{2});
  EXPECT_EQ(pad.getInteriorPadding(), ArrayRef<int64_t>{0});
}

struct ErrorCase {
  const char *text;
  const char *expected;
};

TEST(ImportTest, ErrorsNameFileLineAndColumn) {
  const ErrorCase cases[] = {
      {"", "<string>:1:1: expected 'HloModule', found end of file"},
      {"HloModule m\nENTRY e {\n  ROOT p = f32[4] blah(0)\n}",
       "<string>:3:19: unknown opcode 'blah'"},
      {"HloModule m\nENTRY e {\n  ROOT p = f32[<=4] parameter(0)\n}",
       "<string>:3:16: dynamic shapes are not supported"},
      {"HloModule m\nENTRY e {\n  a = f32[] negate(b)\n  ROOT b = f32[] "
       "negate(a)\n}",
       "<string>:3:3: cyclic reference: %a -> %b -> %a"},
      {"HloModule m\nENTRY e {\n  ROOT p = f32[4] parameter(0), foo=1\n}",
       "<string>:3:33: unknown attribute 'foo'"},
      {"HloModule m\nENTRY e {\n  ROOT c = f32[2] constant({1,2,3})\n}",
       "<string>:3:28: literal has 3 elements in dimension 0"},
      {"HloModule m\nENTRY e {\n  ROOT p = f32[4] parameter(0), "
       "metadata={op_name=\"x",
       "<string>:3:51: unterminated string literal"},
  };
  for (const ErrorCase &c : cases) {
    MLIRContext context;
    auto result = import(context, c.text);
    EXPECT_FALSE(result.module) << c.text;
    EXPECT_NE(result.errors.find(c.expected), std::string::npos)
        << "input:\n"
        << c.text << "\nerrors:\n"
        << result.errors;
  }
}

TEST(ImportTest, DeepNestingIsRejectedNotRecursed) {
  MLIRContext context;
  std::string text =
      "HloModule m\nENTRY e {\n  ROOT p = " + std::string(100000, '(') +
      " parameter(0)\n}";
  auto result = import(context, text);
  EXPECT_FALSE(result.module);
  EXPECT_NE(result.errors.find("nested deeper than 256"), std::string::npos)
      << result.errors;
}

TEST(ImportTest, GarbageNeverCrashes) {
  // Every prefix of a valid module, and some byte noise, gives a clean
  // error or a module.
  std::string valid =
      R"(HloModule m, entry_computation_layout={(f32[2]{0})->f32[2]{0}}
%add (x: f32[], y: f32[]) -> f32[] {
  %x = f32[] parameter(0)
  %y = f32[] parameter(1)
  ROOT %s = f32[] add(%x, %y)
}
ENTRY %e {
  %p = f32[2]{0} parameter(0), sharding={devices=[2]0,1 metadata={op_name="a"}}
  %c = f32[2,2] constant({{1,2},{3,4}})
  %r = f32[] reduce(%p, %z), dimensions={0}, to_apply=%add
  %z = f32[] constant(0)
  ROOT %n = f32[2]{0} negate(f32[2]{0} %p), metadata={op_name="n" source_line=1}
})";
  for (size_t i = 0; i <= valid.size(); ++i) {
    MLIRContext context;
    auto result = import(context, llvm::StringRef(valid).take_front(i));
    EXPECT_TRUE(result.module || !result.errors.empty()) << i;
  }
  std::string noise = valid;
  for (size_t i = 0; i < noise.size(); i += 7) {
    std::string mutated = noise;
    mutated[i] = char(0x80 + i % 64);
    MLIRContext context;
    auto result = import(context, mutated);
    EXPECT_TRUE(result.module || !result.errors.empty()) << i;
  }
}

} // namespace
