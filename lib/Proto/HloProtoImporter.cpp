//===- HloProtoImporter.cpp - Binary HloModuleProto to the hlo dialect ----===//
//
// Builds the same IR as the HLO text importer (docs/architecture.md): one op
// per instruction named by a NameLoc, attributes under their HLO text keys
// (HloAttrSyntax.def), and values defaulted the way XLA's text printer
// omits them, so that printing the result gives XLA's text for the module.
//
//===----------------------------------------------------------------------===//

#include "gshard/Import/HloProtoImporter.h"

#include "HloProtoImporterImpl.h"

#include "mlir/IR/Verifier.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/raw_ostream.h"

#include <google/protobuf/arena.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

using namespace mlir;
using namespace gshard;
using namespace gshard::proto;
using google::protobuf::FieldDescriptor;
using google::protobuf::Reflection;

//===----------------------------------------------------------------------===//
// Diagnostics
//===----------------------------------------------------------------------===//

void ProtoImporter::flushWarnings() {
  for (auto &[message, entry] : warnings) {
    InFlightDiagnostic diag = emitWarning(fileLoc) << message;
    if (!entry.second.empty())
      diag << " (at " << entry.second;
    if (entry.first > 1)
      diag << (entry.second.empty() ? " (" : " and ") << entry.first - 1
           << " more";
    if (!entry.second.empty() || entry.first > 1)
      diag << ")";
  }
  warnings.clear();
  warningIndex.clear();
}

void ProtoImporter::checkUnknownFields(const Message &message,
                                       llvm::StringRef where) {
  const Reflection *reflection = message.GetReflection();
  const auto &unknown = reflection->GetUnknownFields(message);
  for (int i = 0; i < unknown.field_count(); ++i)
    warn("unknown field " + std::to_string(unknown.field(i).number()) + " in " +
             message.GetDescriptor()->full_name() +
             " was ignored (not in gshard's HLO schema)",
         where);
  const auto *descriptor = message.GetDescriptor();
  auto [it, inserted] = messageFields.try_emplace(descriptor);
  if (inserted)
    for (int i = 0; i < descriptor->field_count(); ++i) {
      const FieldDescriptor *field = descriptor->field(i);
      if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE &&
          !field->is_map())
        it->second.push_back(field);
    }
  llvm::ArrayRef<const FieldDescriptor *> fields = it->second;
  for (const FieldDescriptor *field : fields) {
    if (field->is_repeated()) {
      int n = reflection->FieldSize(message, field);
      for (int j = 0; j < n; ++j)
        checkUnknownFields(reflection->GetRepeatedMessage(message, field, j),
                           where);
    } else if (reflection->HasField(message, field)) {
      checkUnknownFields(reflection->GetMessage(message, field), where);
    }
  }
}

//===----------------------------------------------------------------------===//
// Computations and the module
//===----------------------------------------------------------------------===//

LogicalResult
ProtoImporter::importComputation(const pb::HloComputationProto &comp,
                                 bool isEntry,
                                 const pb::HloScheduleProto *schedule) {
  std::string where = "computation '" + comp.name() + "'";
  OpBuilder builder(context);
  OperationState state(NameLoc::get(b.getStringAttr(comp.name()), fileLoc),
                       hlo::ComputationOp::getOperationName());
  state.addAttribute("sym_name", b.getStringAttr(comp.name()));
  if (isEntry)
    state.addAttribute("is_entry", b.getUnitAttr());
  if (!comp.execution_thread().empty() && comp.execution_thread() != "main")
    state.addAttribute("execution_thread",
                       b.getStringAttr(comp.execution_thread()));
  Region *region = state.addRegion();
  Block *block = new Block();
  region->push_back(block);
  pendingOps.push_back(Operation::create(state));
  builder.setInsertionPointToEnd(block);

  values.clear();
  instrNames.clear();
  llvm::DenseMap<int64_t, int> indexOf;
  for (auto [i, instr] : llvm::enumerate(comp.instructions())) {
    if (!indexOf.try_emplace(instr.id(), int(i)).second)
      return error(where, "instruction id " + llvm::Twine(instr.id()) +
                              " appears twice");
    instrNames[instr.id()] = instr.name();
  }
  // A scheduled module lists instructions in schedule order in text.
  SmallVector<int> order;
  if (schedule) {
    auto it = schedule->sequences().find(comp.id());
    if (it != schedule->sequences().end()) {
      llvm::DenseSet<int> seen;
      for (int64_t id : it->second.instruction_ids()) {
        auto found = indexOf.find(id);
        if (found == indexOf.end() || !seen.insert(found->second).second) {
          order.clear();
          warn("schedule of computation does not match its instructions; "
               "using proto order",
               where);
          break;
        }
        order.push_back(found->second);
      }
      if (order.size() != size_t(comp.instructions_size()))
        order.clear();
    }
  }
  if (order.empty())
    for (int i = 0; i < comp.instructions_size(); ++i)
      order.push_back(i);

  for (int i : order) {
    const pb::HloInstructionProto &instr = comp.instructions(i);
    Operation *op = importInstruction(instr, builder);
    if (!op)
      return failure();
    values[instr.id()] = op->getResult(0);
  }
  Value root = values.lookup(comp.root_id());
  if (!root) {
    if (comp.instructions_size() == 0)
      return error(where, "computation has no instructions");
    return error(where, "root id " + llvm::Twine(comp.root_id()) +
                            " does not name an instruction");
  }
  OperationState ret(root.getLoc(), hlo::ReturnOp::getOperationName());
  ret.addOperands(root);
  builder.create(ret);
  return success();
}

DictionaryAttr ProtoImporter::convertHeader(const pb::HloModuleProto &m) {
  NamedAttrList header;
  if (m.has_host_program_shape() && m.host_program_shape().has_result()) {
    const auto &ps = m.host_program_shape();
    SmallVector<Type> inputs;
    for (const auto &p : ps.parameters())
      if (Type t = convertShape(p, "entry_computation_layout"))
        inputs.push_back(t);
      else
        return {};
    Type result = convertShape(ps.result(), "entry_computation_layout");
    if (!result)
      return {};
    header.set("entry_computation_layout",
               TypeAttr::get(FunctionType::get(context, inputs, {result})));
  }
  if (m.has_schedule())
    header.set("is_scheduled", b.getBoolAttr(true));
  if (m.input_output_alias().entries_size()) {
    std::string text = "{ ";
    llvm::raw_string_ostream os(text);
    llvm::interleave(
        m.input_output_alias().entries(), os,
        [&](const auto &e) {
          os << printShapeIndex(
                    SmallVector<int64_t>(e.output_shape_index().begin(),
                                         e.output_shape_index().end()))
             << ": (" << e.parameter_number() << ", "
             << printShapeIndex(
                    SmallVector<int64_t>(e.parameter_shape_index().begin(),
                                         e.parameter_shape_index().end()))
             << ", " << (e.kind() == 2 ? "must-alias" : "may-alias") << ")";
        },
        ", ");
    os << " }";
    header.set("input_output_alias", b.getStringAttr(text));
  }
  if (m.buffer_donor().entries_size()) {
    std::string text = "{ ";
    llvm::raw_string_ostream os(text);
    llvm::interleave(
        m.buffer_donor().entries(), os,
        [&](const auto &e) {
          os << "(" << e.parameter_number() << ", "
             << printShapeIndex(
                    SmallVector<int64_t>(e.parameter_shape_index().begin(),
                                         e.parameter_shape_index().end()))
             << ")";
        },
        ", ");
    os << " }";
    header.set("buffer_donor", b.getStringAttr(text));
  }
  if (m.has_device_assignment()) {
    const auto &da = m.device_assignment();
    if (da.replica_count() > 1)
      header.set("replica_count", b.getI64IntegerAttr(da.replica_count()));
    if (da.computation_count() > 1)
      header.set("num_partitions", b.getI64IntegerAttr(da.computation_count()));
    // Only the default assignment (device = replica * partitions +
    // partition) has a text form.
    bool isDefault = da.computation_devices_size() == 0 ||
                     da.computation_devices_size() == da.computation_count();
    for (int c = 0; isDefault && c < da.computation_devices_size(); ++c) {
      const auto &ids = da.computation_devices(c).replica_device_ids();
      if (ids.size() != da.replica_count())
        isDefault = false;
      for (int r = 0; isDefault && r < ids.size(); ++r)
        isDefault = ids[r] == int64_t(r) * da.computation_count() + c;
    }
    if (!isDefault)
      warn("HloModuleProto.device_assignment is not the default assignment; "
           "only replica_count and num_partitions were kept",
           "");
  }
  if (m.frontend_attributes().map_size()) {
    SmallVector<std::pair<std::string, std::string>> sorted(
        m.frontend_attributes().map().begin(),
        m.frontend_attributes().map().end());
    NamedAttrList fa;
    for (auto &[k, v] : sorted)
      fa.append(k, b.getStringAttr(v));
    header.set("frontend_attributes", fa.getDictionary(context));
  }
  return header.getDictionary(context);
}

static std::string printStackFrames(const pb::StackFrameIndexProto &index) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << "FileNames\n";
  for (auto [i, name] : llvm::enumerate(index.file_names()))
    os << i + 1 << " \"" << cEscape(name) << "\"\n";
  os << "\nFunctionNames\n";
  for (auto [i, name] : llvm::enumerate(index.function_names()))
    os << i + 1 << " \"" << cEscape(name) << "\"\n";
  os << "\nFileLocations\n";
  for (auto [i, l] : llvm::enumerate(index.file_locations()))
    os << i + 1 << " {file_name_id=" << l.file_name_id()
       << " function_name_id=" << l.function_name_id() << " line=" << l.line()
       << " end_line=" << l.end_line() << " column=" << l.column()
       << " end_column=" << l.end_column() << "}\n";
  os << "\nStackFrames\n";
  for (auto [i, f] : llvm::enumerate(index.stack_frames()))
    os << i + 1 << " {file_location_id=" << f.file_location_id()
       << " parent_frame_id=" << f.parent_frame_id() + 1 << "}\n";
  return llvm::StringRef(text).rtrim().str();
}

OwningOpRef<ModuleOp> ProtoImporter::importModule(const pb::HloModuleProto &m) {
  checkUnknownFields(m, "");
  auto fail = [&]() -> OwningOpRef<ModuleOp> {
    for (Operation *op : pendingOps)
      op->destroy();
    pendingOps.clear();
    flushWarnings();
    return nullptr;
  };
  if (m.computations_size() == 0) {
    emitError(fileLoc) << "HloModuleProto has no computations";
    return fail();
  }
  llvm::StringSet<> namesSeen;
  for (const auto &comp : m.computations()) {
    if (comp.name().empty()) {
      emitError(fileLoc) << "computation id " << comp.id() << " has no name";
      return fail();
    }
    if (!compNames.try_emplace(comp.id(), comp.name()).second ||
        !namesSeen.insert(comp.name()).second) {
      emitError(fileLoc) << "computation '" << comp.name() << "' (id "
                         << comp.id() << ") is defined twice";
      return fail();
    }
  }
  // The entry: by id, else by name, else the last computation (XLA's rule).
  int entry = -1;
  for (auto [i, comp] : llvm::enumerate(m.computations()))
    if ((m.entry_computation_id() && comp.id() == m.entry_computation_id()) ||
        (entry < 0 && !m.entry_computation_name().empty() &&
         comp.name() == m.entry_computation_name()))
      entry = i;
  if (entry < 0)
    entry = m.computations_size() - 1;

  DictionaryAttr header = convertHeader(m);
  if (!header)
    return fail();
  for (auto [i, comp] : llvm::enumerate(m.computations()))
    if (failed(importComputation(comp, int(i) == entry,
                                 m.has_schedule() ? &m.schedule() : nullptr)))
      return fail();

  OwningOpRef<ModuleOp> module =
      ModuleOp::create(fileLoc, llvm::StringRef(m.name()));
  if (!header.empty())
    (*module)->setAttr(hlo::module_attrs::kHeader, header);
  if (m.stack_frame_index().file_names_size())
    (*module)->setAttr(
        hlo::module_attrs::kStackFrameIndex,
        b.getStringAttr(printStackFrames(m.stack_frame_index())));
  for (Operation *op : pendingOps)
    module->getBody()->push_back(op);
  pendingOps.clear();
  flushWarnings();
  if (failed(verify(*module)))
    return nullptr;
  return module;
}

//===----------------------------------------------------------------------===//
// Entry points
//===----------------------------------------------------------------------===//

/// Top-level field numbers of a serialized message, or false if the bytes
/// are not a well-formed sequence of fields.
static bool scanTopLevelFields(llvm::StringRef bytes,
                               llvm::SmallVectorImpl<int> &numbers) {
  google::protobuf::io::CodedInputStream in(
      reinterpret_cast<const uint8_t *>(bytes.data()), int(bytes.size()));
  while (true) {
    uint32_t tag = in.ReadTag();
    if (tag == 0)
      return in.ConsumedEntireMessage() ||
             in.CurrentPosition() == int(bytes.size());
    numbers.push_back(int(tag >> 3));
    if (!google::protobuf::internal::WireFormatLite::SkipField(&in, tag))
      return false;
  }
}

bool gshard::looksLikeHloProto(llvm::StringRef buffer) {
  if (buffer.empty())
    return false;
  // HLO text and MLIR are printable; a protobuf starts with a tag byte
  // (field 1..3, wire type 2 for our messages: 0x0a, 0x12, 0x1a).
  unsigned char first = buffer[0];
  return first == 0x0a || first == 0x12 || first == 0x1a;
}

OwningOpRef<ModuleOp> gshard::importHloProto(llvm::MemoryBufferRef buffer,
                                             MLIRContext *context) {
  context->loadDialect<hlo::HloDialect>();
  llvm::StringRef bytes = buffer.getBuffer();
  Location fileLoc =
      FileLineColLoc::get(context, buffer.getBufferIdentifier(), 0, 0);
  if (bytes.size() > size_t(INT32_MAX)) {
    emitError(fileLoc) << "protobuf larger than 2 GiB";
    return nullptr;
  }
  SmallVector<int> fields;
  if (bytes.empty() || !scanTopLevelFields(bytes, fields)) {
    emitError(fileLoc) << "not a binary HloModuleProto or HloProto: "
                       << (bytes.empty() ? "the file is empty"
                                         : "malformed or truncated protocol "
                                           "buffer");
    return nullptr;
  }
  // HloProto has only fields 1 (hlo_module) and 3 (buffer_assignment);
  // an HloModuleProto nearly always has entry_computation_name (2) or ids.
  bool wrapper = llvm::all_of(fields, [](int f) { return f == 1 || f == 3; }) &&
                 llvm::count(fields, 1) == 1;
  // An arena: the messages are freed at once instead of one by one (tens of
  // thousands of instructions, each with several submessages).
  google::protobuf::Arena arena;
  pb::HloModuleProto *module = nullptr;
  if (wrapper) {
    auto *proto = google::protobuf::Arena::CreateMessage<pb::HloProto>(&arena);
    if (proto->ParseFromArray(bytes.data(), int(bytes.size())) &&
        proto->hlo_module().computations_size())
      module = proto->mutable_hlo_module();
    else
      wrapper = false;
  }
  if (!wrapper) {
    module = google::protobuf::Arena::CreateMessage<pb::HloModuleProto>(&arena);
    if (!module->ParseFromArray(bytes.data(), int(bytes.size()))) {
      emitError(fileLoc) << "not a binary HloModuleProto or HloProto: "
                            "malformed or truncated protocol buffer";
      return nullptr;
    }
  }
  ProtoImporter importer(context, buffer.getBufferIdentifier());
  return importer.importModule(*module);
}
