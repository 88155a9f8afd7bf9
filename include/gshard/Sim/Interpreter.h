//===- Interpreter.h - Reference interpreter for the hlo dialect -*- C++
//-*-===//
//
// Part of gshard, under the Apache License v2.0.
//
// Executes `hlo.computation`s with XLA's semantics on simulated devices. A
// device is (replica, partition); every device runs the same ENTRY
// computation on its own arguments, and collectives rendezvous across the
// devices of their replica groups. Errors are returned as text already
// prefixed with `file:line:col: error:` of the offending instruction.
//
//===----------------------------------------------------------------------===//

#ifndef GSHARD_SIM_INTERPRETER_H
#define GSHARD_SIM_INTERPRETER_H

#include "gshard/IR/HloOps.h"
#include "gshard/Sim/Literal.h"

#include "mlir/IR/BuiltinOps.h"

#include <memory>
#include <string>
#include <vector>

namespace gshard::sim {

struct ExecOptions {
  int64_t numReplicas = 1;
  int64_t numPartitions = 1;
  /// Seed of `rng` instructions (each device derives its own stream).
  uint64_t seed = 0;
  /// A while loop that runs longer than this is reported, not waited for.
  int64_t maxWhileIterations = 10000000;
  /// Largest value (array or tuple) the simulator materializes; programs
  /// with larger values are rejected up front by checkExecutable.
  int64_t maxValueBytes = int64_t(1) << 30;
  /// Fast paths that compute the same bits as the general interpreter
  /// (native comparators and sort keys, scalar programs, top-k selection,
  /// window tap tables). Off only in tests that check them against the
  /// general path. (Recognized reducers are not affected: accumulating in
  /// double is a numeric rule, not a fast path.)
  bool fastPaths = true;
  /// Custom-call targets without semantics here that run as opaque pure
  /// functions: each result leaf is pseudo-random data drawn from a hash of
  /// the target and the bits of all operands. A differential check then
  /// proves that every call receives the same operands in the partitioned
  /// program as in the original (`gshard-sim --opaque-custom-call`).
  std::vector<std::string> opaqueCustomCalls;
};

class Program;

/// A module prepared for execution (computations resolved, handlers bound).
/// Immutable once built; shared by all devices.
class Executable {
public:
  ~Executable();
  /// Prepares `module`; fails (with `error`) if it has no ENTRY computation.
  static std::unique_ptr<Executable> create(mlir::ModuleOp module,
                                            std::string &error);

  hlo::ComputationOp getEntry() const;
  mlir::ModuleOp getModule() const { return module; }

  /// Reports the first instruction reachable from ENTRY that the interpreter
  /// cannot execute (unknown opcode, custom-call target, elided constant).
  /// Values larger than `maxValueBytes` are reported too (they would not
  /// fit in memory).
  bool checkExecutable(std::string &error, int64_t maxValueBytes = int64_t(1)
                                                                   << 30) const;
  /// As above, with the value limit and the opaque custom-call targets of
  /// `options`.
  bool checkExecutable(std::string &error, const ExecOptions &options) const;

  /// Runs ENTRY on numReplicas*numPartitions devices; `args[d]` are the
  /// arguments of device d = replica * numPartitions + partition. Returns
  /// one result per device, or an empty vector and `error`.
  std::vector<LiteralRef> run(llvm::ArrayRef<std::vector<LiteralRef>> args,
                              const ExecOptions &options,
                              std::string &error) const;

  /// As run, but takes the arguments: each device drops a parameter after
  /// its last use, so a run's peak memory does not include inputs it has
  /// consumed (the differential check's shards of gigabyte inputs).
  std::vector<LiteralRef>
  runConsuming(std::vector<std::vector<LiteralRef>> args,
               const ExecOptions &options, std::string &error) const;

  /// Runs ENTRY on a single device (replica 0, partition 0).
  LiteralRef runSingle(llvm::ArrayRef<LiteralRef> args,
                       const ExecOptions &options, std::string &error) const;

  const Program &getProgram() const { return *program; }

private:
  Executable() = default;
  /// run / runConsuming: `owned` (null for run) holds the arguments the
  /// devices may take.
  std::vector<LiteralRef> runImpl(llvm::ArrayRef<std::vector<LiteralRef>> args,
                                  std::vector<std::vector<LiteralRef>> *owned,
                                  const ExecOptions &options,
                                  std::string &error) const;
  mlir::ModuleOp module;
  std::unique_ptr<Program> program;
};

/// Formats `file:line:col: error: message` for `op` (or `error: message`
/// when the op has no file location).
std::string formatError(mlir::Operation *op, const llvm::Twine &message);
/// `file:line` of an op's location (or the instruction name).
std::string formatLocation(mlir::Operation *op);

} // namespace gshard::sim

#endif // GSHARD_SIM_INTERPRETER_H
