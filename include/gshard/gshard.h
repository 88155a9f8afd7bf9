//===- gshard.h - The C++ API for embedding gshard --------------*- C++ -*-===//
//
// One header for programs that use gshard as a library: parse an HLO module
// (text or binary HloModuleProto), propagate shardings, partition it into
// the per-device SPMD program, print it as HLO text or serialize it as a
// proto, and check a partitioned program against the original on the
// simulator.
//
// Nothing here exits or prints: every failure comes back as an llvm::Error
// (or an llvm::Expected holding one) whose message is the diagnostics the
// step emitted, `file:line:col: error: ...` as gshard-opt prints them.
// Warnings do not fail a step; they are kept in Module::getWarnings().
//
//   #include "gshard/gshard.h"
//
//   llvm::Expected<gshard::Module> m = gshard::Module::parseFile("in.hlo");
//   if (!m) { llvm::errs() << llvm::toString(m.takeError()); return 2; }
//   gshard::Module original = m->clone();
//   if (llvm::Error e = m->propagate()) { ... }
//   if (llvm::Error e = m->partition()) { ... }
//   llvm::Expected<std::string> text = m->toHloText();
//   llvm::Expected<gshard::CheckResult> r =
//       gshard::checkPartitioned(*m, original);
//
// See docs/library.md for a complete program and how to link it
// (find_package(GShard CONFIG), target GShard::API).
//
//===----------------------------------------------------------------------===//

#ifndef GSHARD_GSHARD_H
#define GSHARD_GSHARD_H

#include "gshard/Partitioner/Partitioner.h"
#include "gshard/Propagation/Propagation.h"
#include "gshard/Sim/Check.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace llvm {
class MemoryBuffer;
} // namespace llvm

namespace gshard {

/// The input formats Module::parse understands.
enum class InputFormat {
  /// Binary protobuf if the bytes look like one, else HLO text.
  Auto,
  /// XLA HLO text (`HloModule name ... ENTRY ...`).
  HloText,
  /// Binary `xla.HloModuleProto`, or the `xla.HloProto` wrapper of
  /// `*.hlo.pb` dumps.
  HloProto,
};

/// An HLO module as the `hlo` dialect, with the MLIRContext (gshard's
/// dialects registered) and source buffers it refers to. Copies made with
/// clone() share the context; a Module and its clones must be used from one
/// thread at a time. Modules from separate parse calls are independent.
class Module {
public:
  /// Parses `bytes` as `format`. `bufferName` is the file name diagnostics
  /// and instruction locations use.
  static llvm::Expected<Module> parse(llvm::StringRef bytes,
                                      llvm::StringRef bufferName = "<input>",
                                      InputFormat format = InputFormat::Auto);
  /// Parses HLO text.
  static llvm::Expected<Module>
  parseHloText(llvm::StringRef text, llvm::StringRef bufferName = "<input>");
  /// Parses a binary HloModuleProto or HloProto.
  static llvm::Expected<Module>
  parseHloProto(llvm::StringRef bytes, llvm::StringRef bufferName = "<input>");
  /// Reads and parses a file; with InputFormat::Auto a `.pb` file is a
  /// proto, anything else is sniffed like parse().
  static llvm::Expected<Module>
  parseFile(llvm::StringRef path, InputFormat format = InputFormat::Auto);

  Module(Module &&) noexcept;
  Module &operator=(Module &&) noexcept;
  ~Module();

  /// A deep copy of the module in the same context (e.g. to keep the
  /// original for checkPartitioned before transforming this one).
  Module clone() const;

  /// Runs sharding propagation (XLA's ShardingPropagation) in place.
  llvm::Error propagate(const PropagationOptions &options = {});
  /// Partitions the module in place into the program every device runs.
  /// Instructions without a sharding are partitioned as replicated: call
  /// propagate() first for a module that only has a few annotations.
  /// `collectives`, if given, receives every collective inserted and why.
  llvm::Error partition(const PartitionOptions &options = {},
                        std::vector<CollectiveRecord> *collectives = nullptr);

  /// The module as XLA HLO text.
  llvm::Expected<std::string> toHloText() const;
  /// The module as a binary HloModuleProto.
  llvm::Expected<std::string> toHloProto() const;

  /// Warnings the steps so far emitted (unsupported proto fields ignored,
  /// replicated fallbacks of the partitioner, ...), formatted like errors.
  llvm::ArrayRef<std::string> getWarnings() const;

  /// The underlying `builtin.module` of hlo ops, for direct use of the
  /// component APIs (Propagation.h, Partitioner.h, ...). Owned by this
  /// Module.
  mlir::ModuleOp getOperation() const;

private:
  struct State;
  Module(std::shared_ptr<State> state, mlir::OwningOpRef<mlir::ModuleOp> op);
  static llvm::Expected<Module>
  parseBuffer(std::unique_ptr<llvm::MemoryBuffer> buffer, InputFormat format);

  /// The context and source buffers, shared with clones. Declared before
  /// `op` so that the module is destroyed before its context.
  std::shared_ptr<State> state;
  mlir::OwningOpRef<mlir::ModuleOp> op;
  /// Appended to by the const printers too.
  mutable std::vector<std::string> warnings;
};

/// Options of checkPartitioned: gshard-sim --check's flags (device counts
/// default to the modules' headers, random inputs from `seed`, per-type float
/// tolerances unless overridden).
using CheckOptions = sim::DifferentialCheckOptions;
/// The outcome of a check that ran: `match`, the device counts, one
/// comparison per output leaf, and `runError` when the partitioned program
/// did not run to completion.
using CheckResult = sim::DifferentialCheckResult;

/// Runs `original` on one device and `partitioned` on every device of the
/// mesh on the same random inputs (sharded by the partitioned ENTRY's
/// parameter shardings), reassembles the partitioned output by its ROOT
/// sharding and compares, like `gshard-sim PARTITIONED --check=ORIGINAL`.
/// A mismatch is a CheckResult with match == false; an Error means the
/// check could not run (a module the simulator cannot execute, parameter
/// lists that differ, a shape that does not fit its sharding).
/// The two modules need not share a context: an `original` from another
/// parse call is copied into `partitioned`'s context through its proto form.
llvm::Expected<CheckResult> checkPartitioned(const Module &partitioned,
                                             const Module &original,
                                             const CheckOptions &options = {});

} // namespace gshard

#endif // GSHARD_GSHARD_H
