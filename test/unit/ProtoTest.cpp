//===- ProtoTest.cpp - Tests of HloModuleProto import and export ----------===//
//
// Round trips through the binary proto (text -> proto -> text must be the
// identity), the proto fields the exporter writes for the compact forms
// (iota tile assignments and replica groups), and malformed bytes.
//
//===----------------------------------------------------------------------===//

#include "gshard/Export/HloProtoExporter.h"
#include "gshard/Export/HloTextExporter.h"
#include "gshard/IR/HloOps.h"
#include "gshard/Import/HloProtoImporter.h"
#include "gshard/Import/HloTextImporter.h"
#include "gshard/Proto/hlo.pb.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>

using namespace mlir;
using namespace gshard;

namespace {

/// Collects error and warning messages while it lives.
struct Diagnostics {
  explicit Diagnostics(MLIRContext &context)
      : handler(&context, [this](Diagnostic &diag) {
          (diag.getSeverity() == DiagnosticSeverity::Error ? errors : warnings)
              .push_back(diag.str());
          return success();
        }) {}
  std::string allErrors() const {
    std::string text;
    for (const std::string &e : errors)
      text += e + "\n";
    return text;
  }
  std::vector<std::string> errors, warnings;
  ScopedDiagnosticHandler handler;
};

std::string printText(ModuleOp module) {
  std::string text;
  llvm::raw_string_ostream os(text);
  EXPECT_TRUE(succeeded(exportHloText(module, os)));
  return text;
}

OwningOpRef<ModuleOp> importBytes(MLIRContext &context, llvm::StringRef bytes) {
  auto buffer = llvm::MemoryBuffer::getMemBuffer(bytes, "test.pb",
                                                 /*RequiresNullTerminator=*/
                                                 false);
  return importHloProto(buffer->getMemBufferRef(), &context);
}

// Shardings in every form (iota with and without transpose, explicit device
// lists, partial replication, tuple, maximal), replica groups in iota and
// explicit form, a literal, metadata and frontend attributes on instructions
// and the module.
constexpr llvm::StringLiteral kModule =
    R"(HloModule proto_round_trip, entry_computation_layout={(f32[8,16]{1,0}, f32[16,4]{1,0})->f32[8,4]{1,0}}, num_partitions=4, frontend_attributes={_xla_compute_type="dense",fingerprint="abc"}

%add (a: f32[], b: f32[]) -> f32[] {
  %a = f32[] parameter(0)
  %b = f32[] parameter(1)
  ROOT %sum = f32[] add(%a, %b)
}

ENTRY %main (x: f32[8,16], w: f32[16,4]) -> f32[8,4] {
  %x = f32[8,16]{1,0} parameter(0), sharding={devices=[2,2]<=[2,2]T(1,0)}, metadata={op_type="x" op_name="jit(f)/x" source_file="model.py" source_line=12}
  %w = f32[16,4]{1,0} parameter(1), sharding={devices=[2,1,2]0,3,1,2 last_tile_dim_replicate}
  %dot = f32[8,4]{1,0} dot(%x, %w), lhs_contracting_dims={1}, rhs_contracting_dims={0}, sharding={devices=[2,1,2]<=[4] last_tile_dim_replicate}, frontend_attributes={_scheduling_group_id="1",kind="matmul"}
  %k = s32[3]{0} constant({1, -2, 3}), metadata={op_name="unused"}
  %ar = f32[8,4]{1,0} all-reduce(%dot), channel_id=1, replica_groups=[2,2]<=[2,2]T(1,0), use_global_device_ids=true, to_apply=%add
  %ar2 = f32[8,4]{1,0} all-reduce(%ar), channel_id=2, replica_groups={{0,1},{2,3}}, use_global_device_ids=true, to_apply=%add
  %t = (f32[8,4]{1,0}, f32[8,16]{1,0}) tuple(%ar2, %x), sharding={{replicated}, {maximal device=1}}
  ROOT %r = f32[8,4]{1,0} get-tuple-element(%t), index=0
}

)";

class ProtoTest : public ::testing::Test {
protected:
  void SetUp() override {
    Diagnostics diagnostics(context);
    textModule = importHloText(kModule, &context);
    ASSERT_TRUE(textModule) << diagnostics.allErrors();
    ASSERT_TRUE(succeeded(exportHloProto(*textModule, bytes)));
    ASSERT_FALSE(bytes.empty());
  }

  const xla::HloInstructionProto *findInstruction(const xla::HloModuleProto &m,
                                                  llvm::StringRef name) {
    for (const auto &computation : m.computations())
      for (const auto &instruction : computation.instructions())
        if (instruction.name() == name)
          return &instruction;
    return nullptr;
  }

  MLIRContext context;
  OwningOpRef<ModuleOp> textModule;
  std::string bytes;
};

TEST_F(ProtoTest, TextProtoTextIsTheIdentity) {
  std::string original = printText(*textModule);
  Diagnostics diagnostics(context);
  OwningOpRef<ModuleOp> fromProto = importBytes(context, bytes);
  ASSERT_TRUE(fromProto) << diagnostics.allErrors();
  EXPECT_TRUE(diagnostics.warnings.empty())
      << "first warning: " << diagnostics.warnings.front();
  EXPECT_EQ(printText(*fromProto), original);
  // Serializing again gives the same bytes (deterministic, map fields in key
  // order).
  std::string again;
  ASSERT_TRUE(succeeded(exportHloProto(*fromProto, again)));
  EXPECT_EQ(again, bytes);
}

TEST_F(ProtoTest, IotaShardingsStayIota) {
  xla::HloModuleProto proto;
  ASSERT_TRUE(proto.ParseFromString(bytes));
  const xla::HloInstructionProto *x = findInstruction(proto, "x");
  ASSERT_TRUE(x);
  const xla::OpSharding &s = x->sharding();
  EXPECT_EQ(s.type(), xla::OpSharding::OTHER);
  EXPECT_EQ(std::vector<int64_t>(s.tile_assignment_dimensions().begin(),
                                 s.tile_assignment_dimensions().end()),
            (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(std::vector<int64_t>(s.iota_reshape_dims().begin(),
                                 s.iota_reshape_dims().end()),
            (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(std::vector<int32_t>(s.iota_transpose_perm().begin(),
                                 s.iota_transpose_perm().end()),
            (std::vector<int32_t>{1, 0}));
  // The iota form is not expanded into a device list.
  EXPECT_EQ(s.tile_assignment_devices_size(), 0);

  const xla::HloInstructionProto *w = findInstruction(proto, "w");
  ASSERT_TRUE(w);
  EXPECT_TRUE(w->sharding().replicate_on_last_tile_dim());
  EXPECT_EQ(
      std::vector<int64_t>(w->sharding().tile_assignment_devices().begin(),
                           w->sharding().tile_assignment_devices().end()),
      (std::vector<int64_t>{0, 3, 1, 2}));

  const xla::HloInstructionProto *t = findInstruction(proto, "t");
  ASSERT_TRUE(t);
  ASSERT_EQ(t->sharding().type(), xla::OpSharding::TUPLE);
  ASSERT_EQ(t->sharding().tuple_shardings_size(), 2);
  EXPECT_EQ(t->sharding().tuple_shardings(1).type(), xla::OpSharding::MAXIMAL);
  EXPECT_EQ(t->sharding().tuple_shardings(1).tile_assignment_devices(0), 1);
}

TEST_F(ProtoTest, IotaReplicaGroupsStayIota) {
  xla::HloModuleProto proto;
  ASSERT_TRUE(proto.ParseFromString(bytes));
  const xla::HloInstructionProto *ar = findInstruction(proto, "ar");
  ASSERT_TRUE(ar);
  ASSERT_TRUE(ar->has_collective_device_list());
  const auto &iota = ar->collective_device_list().iota_replica_group_list();
  EXPECT_EQ(iota.num_replica_groups(), 2);
  EXPECT_EQ(iota.num_devices_per_group(), 2);
  EXPECT_EQ(std::vector<int32_t>(iota.iota_transpose_perm().begin(),
                                 iota.iota_transpose_perm().end()),
            (std::vector<int32_t>{1, 0}));
  EXPECT_EQ(ar->replica_groups_size(), 0);

  const xla::HloInstructionProto *ar2 = findInstruction(proto, "ar2");
  ASSERT_TRUE(ar2);
  int explicitGroups = ar2->replica_groups_size();
  if (ar2->has_collective_device_list())
    explicitGroups += ar2->collective_device_list().replica_groups_size();
  EXPECT_EQ(explicitGroups, 2);
}

TEST_F(ProtoTest, MetadataAndFrontendAttributes) {
  xla::HloModuleProto proto;
  ASSERT_TRUE(proto.ParseFromString(bytes));
  const xla::HloInstructionProto *x = findInstruction(proto, "x");
  ASSERT_TRUE(x);
  EXPECT_EQ(x->metadata().op_type(), "x");
  EXPECT_EQ(x->metadata().op_name(), "jit(f)/x");
  EXPECT_EQ(x->metadata().source_file(), "model.py");
  EXPECT_EQ(x->metadata().source_line(), 12);

  const xla::HloInstructionProto *dot = findInstruction(proto, "dot");
  ASSERT_TRUE(dot);
  const auto &attrs = dot->frontend_attributes().map();
  ASSERT_EQ(attrs.size(), 2u);
  EXPECT_EQ(attrs.at("kind"), "matmul");
  EXPECT_EQ(attrs.at("_scheduling_group_id"), "1");

  EXPECT_EQ(proto.frontend_attributes().map().at("fingerprint"), "abc");
  EXPECT_EQ(proto.name(), "proto_round_trip");
}

TEST_F(ProtoTest, HloProtoWrapperImports) {
  // *.hlo.pb dumps wrap the module in xla.HloProto (field 1).
  xla::HloProto wrapper;
  ASSERT_TRUE(wrapper.mutable_hlo_module()->ParseFromString(bytes));
  std::string wrapped = wrapper.SerializeAsString();
  Diagnostics diagnostics(context);
  OwningOpRef<ModuleOp> module = importBytes(context, wrapped);
  ASSERT_TRUE(module) << diagnostics.allErrors();
  EXPECT_EQ(printText(*module), printText(*textModule));
}

TEST_F(ProtoTest, UnknownFieldsAreWarnedAbout) {
  xla::HloModuleProto proto;
  ASSERT_TRUE(proto.ParseFromString(bytes));
  // Field 1000 (varint) is in no version of the schema.
  proto.mutable_computations(0)
      ->mutable_instructions(0)
      ->GetReflection()
      ->MutableUnknownFields(
          proto.mutable_computations(0)->mutable_instructions(0))
      ->AddVarint(1000, 7);
  Diagnostics diagnostics(context);
  OwningOpRef<ModuleOp> module =
      importBytes(context, proto.SerializeAsString());
  ASSERT_TRUE(module) << diagnostics.allErrors();
  ASSERT_EQ(diagnostics.warnings.size(), 1u);
  EXPECT_NE(diagnostics.warnings[0].find("unknown field 1000"),
            std::string::npos)
      << diagnostics.warnings[0];
}

TEST_F(ProtoTest, MalformedBytesAreErrors) {
  struct Case {
    std::string bytes;
    const char *expected;
  };
  std::vector<Case> cases = {
      {"", "the file is empty"},
      // Every truncation of the module inside a length-delimited field.
      {bytes.substr(0, bytes.size() / 2), "malformed or truncated"},
      {bytes.substr(0, bytes.size() - 1), "malformed or truncated"},
      // A length prefix running past the end.
      {std::string("\n\xff\xff\xff\x0f"
                   "abc"),
       "malformed or truncated"},
      // Wire type 7 does not exist.
      {std::string("\x0f\x01\x02", 3), "malformed or truncated"},
  };
  for (const Case &c : cases) {
    Diagnostics diagnostics(context);
    OwningOpRef<ModuleOp> module = importBytes(context, c.bytes);
    EXPECT_FALSE(module);
    ASSERT_FALSE(diagnostics.errors.empty()) << "no error for a case";
    EXPECT_NE(diagnostics.errors[0].find(c.expected), std::string::npos)
        << diagnostics.errors[0];
  }
}

TEST_F(ProtoTest, WellFormedButWrongContentsAreErrors) {
  xla::HloModuleProto proto;
  ASSERT_TRUE(proto.ParseFromString(bytes));
  // An operand id naming nothing.
  xla::HloModuleProto dangling = proto;
  auto *entry = dangling.mutable_computations(dangling.computations_size() - 1);
  entry->mutable_instructions(entry->instructions_size() - 1)
      ->set_operand_ids(0, 123456);
  // An opcode that does not exist.
  xla::HloModuleProto opcode = proto;
  opcode.mutable_computations(0)->mutable_instructions(0)->set_opcode(
      "frobnicate");
  // A root that is not an instruction.
  xla::HloModuleProto root = proto;
  root.mutable_computations(0)->set_root_id(987654);
  for (auto [message, expected] :
       {std::pair{&dangling, "operand id 123456"},
        std::pair{&opcode, "unsupported opcode 'frobnicate'"},
        std::pair{&root, "root id 987654"}}) {
    Diagnostics diagnostics(context);
    OwningOpRef<ModuleOp> module =
        importBytes(context, message->SerializeAsString());
    EXPECT_FALSE(module);
    ASSERT_FALSE(diagnostics.errors.empty()) << expected;
    EXPECT_NE(diagnostics.errors[0].find(expected), std::string::npos)
        << diagnostics.errors[0];
  }
}

TEST(ProtoSniffTest, LooksLikeHloProto) {
  EXPECT_TRUE(looksLikeHloProto("\x0a\x03"
                                "abc"));
  EXPECT_FALSE(looksLikeHloProto("HloModule m"));
  EXPECT_FALSE(looksLikeHloProto("module {"));
  EXPECT_FALSE(looksLikeHloProto(""));
}

} // namespace
