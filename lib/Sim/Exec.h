//===- Exec.h - Internals shared by the op-family handlers ------*- C++ -*-===//
//
// Part of gshard, under the Apache License v2.0.
//
// The interpreter maps an op name to a handler function; each op family
// (Elementwise.cpp, DataMovement.cpp, ...) registers its handlers in the
// table. A handler receives the evaluated operands and returns the result
// literal, or fails after recording an error in the context.
//
//===----------------------------------------------------------------------===//

#ifndef GSHARD_LIB_SIM_EXEC_H
#define GSHARD_LIB_SIM_EXEC_H

#include "gshard/IR/HloOps.h"
#include "gshard/Sim/Interpreter.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringMap.h"

#include <functional>

namespace gshard::sim {

class ExecContext;
class Rendezvous;
class SharedWork;

using Handler = LiteralRef (*)(ExecContext &ctx, mlir::Operation *op,
                               llvm::ArrayRef<LiteralRef> operands);
using HandlerTable = llvm::StringMap<Handler>;

void registerElementwiseHandlers(HandlerTable &table);
void registerDataMovementHandlers(HandlerTable &table);
void registerContractionHandlers(HandlerTable &table);
void registerReductionHandlers(HandlerTable &table);
void registerIndexingHandlers(HandlerTable &table);
void registerControlFlowHandlers(HandlerTable &table);
void registerCollectiveHandlers(HandlerTable &table);
void registerMiscHandlers(HandlerTable &table);
void registerSortHandlers(HandlerTable &table);
void registerFeedHandlers(HandlerTable &table);

/// A computation prepared for execution: its instructions in order, their
/// handlers, operand slots and the values that die after each instruction.
struct CompiledComputation {
  mutable hlo::ComputationOp op;
  std::vector<mlir::Operation *> ops;
  std::vector<Handler> handlers;
  std::vector<llvm::SmallVector<int, 4>> operandSlots;
  std::vector<llvm::SmallVector<int, 2>> releaseAfter;
  /// Whether devices may share the instruction's result (SharedWork.h).
  std::vector<bool> shareable;
  /// Slot of the root value.
  int rootSlot = -1;
  size_t numParameters = 0;
};

class Program {
public:
  bool build(mlir::ModuleOp module, std::string &error);
  const CompiledComputation *lookup(llvm::StringRef name) const {
    auto it = computations.find(name);
    return it == computations.end() ? nullptr : it->second.get();
  }
  const CompiledComputation *getEntry() const { return entry; }

private:
  llvm::StringMap<std::unique_ptr<CompiledComputation>> computations;
  const CompiledComputation *entry = nullptr;
};

/// Per-device execution state.
class ExecContext {
public:
  ExecContext(const Program &program, const ExecOptions &options,
              int64_t replicaId, int64_t partitionId, Rendezvous *rendezvous)
      : program(program), options(options), replicaId(replicaId),
        partitionId(partitionId), rendezvous(rendezvous) {}

  /// Runs a computation on `args`.
  LiteralRef call(const CompiledComputation &computation,
                  llvm::ArrayRef<LiteralRef> args);
  /// As above, taking the arguments: each parameter's value is moved out of
  /// `args`, so it dies after its last use.
  LiteralRef callConsuming(const CompiledComputation &computation,
                           std::vector<LiteralRef> &args);
  /// Runs the computation named by `callee` for `user`; reports a missing
  /// computation against `user`.
  LiteralRef call(mlir::Operation *user, mlir::FlatSymbolRefAttr callee,
                  llvm::ArrayRef<LiteralRef> args);
  const CompiledComputation *lookup(mlir::Operation *user,
                                    mlir::FlatSymbolRefAttr callee);

  /// Records `file:line:col: error: message` for `op`; returns null.
  std::nullptr_t fail(mlir::Operation *op, const llvm::Twine &message);
  /// "cannot execute OPCODE at FILE:LINE: reason".
  std::nullptr_t unsupported(mlir::Operation *op, const llvm::Twine &reason);
  bool failed() const { return !error.empty(); }

  const Program &program;
  const ExecOptions &options;
  int64_t replicaId;
  int64_t partitionId;
  Rendezvous *rendezvous;
  /// Results devices of a multi-device run share (SharedWork.h); null on
  /// one device and without ExecOptions::fastPaths.
  SharedWork *sharedWork = nullptr;
  /// How often each collective has executed on this device (matching key).
  llvm::DenseMap<mlir::Operation *, int64_t> occurrences;
  uint64_t rngCounter = 0;
  /// How many infeeds this device has executed (selects the data stream).
  uint64_t infeedCounter = 0;
  std::string error;

private:
  LiteralRef callImpl(const CompiledComputation &computation,
                      llvm::ArrayRef<LiteralRef> args,
                      std::vector<LiteralRef> *owned);
};

//===----------------------------------------------------------------------===//
// Scalar computations (reducers, comparators)
//===----------------------------------------------------------------------===//

/// A computation whose root is one binary op of its two parameters.
enum class Combiner {
  None,
  Add,
  Multiply,
  Maximum,
  Minimum,
  And,
  Or,
  Xor,
  /// Returns parameter 1 (scatter's "overwrite").
  TakeSecond,
  TakeFirst,
};
Combiner recognizeCombiner(const CompiledComputation &computation);

/// Applies a recognized combiner to two elements of `kind` held as
/// double (floats), uint64 bits (integers) or complex.
double combineFloat(Combiner combiner, double a, double b);
uint64_t combineInt(Combiner combiner, ElemKind kind, uint64_t a, uint64_t b);
std::complex<double> combineComplex(Combiner combiner, std::complex<double> a,
                                    std::complex<double> b);

/// Scalar literal holding element `i` of `lit`.
LiteralRef scalarOf(const Literal &lit, int64_t i);

/// Applies a reduction computation elementwise to lists of N-tuples: the
/// general path calls the interpreter per element, the fast path uses a
/// recognized combiner (accumulating floats in double and rounding once).
class ScalarReducer {
public:
  ScalarReducer(ExecContext &ctx, mlir::Operation *user,
                const CompiledComputation &computation, size_t arity);
  bool isFast() const { return combiner != Combiner::None && arity == 1; }
  Combiner getCombiner() const { return combiner; }
  /// General path: (acc..., x...) -> acc'. Returns false on error.
  bool apply(llvm::SmallVectorImpl<LiteralRef> &acc,
             llvm::ArrayRef<LiteralRef> values);

private:
  ExecContext &ctx;
  mlir::Operation *user;
  const CompiledComputation &computation;
  size_t arity;
  Combiner combiner;
};

/// A comparator (sort, select-and-scatter's select) of the form
/// `compare(key(p[2k]), key(p[2k+1]))`: the same expression of the left
/// and of the right elements (parameter 2k replaced by 2k+1), compared once.
/// Keys are computed once per element, then compared natively.
struct NativeComparator {
  bool valid = false;
  /// The key is operand `keyOperand` itself when `keyFunction` is null;
  /// else `keyFunction` (the comparator cut at the key) computes it from
  /// all operands' elements.
  int64_t keyOperand = 0;
  std::shared_ptr<const CompiledComputation> keyFunction;
  ElemKind keyKind = ElemKind::F32;
  unsigned keyBits = 32;
  hlo::ComparisonDirection direction = hlo::ComparisonDirection::LT;
  hlo::ComparisonType type = hlo::ComparisonType::FLOAT;
  /// The left key expression (for sharing keys between comparators).
  mlir::Value keyValue;
};
NativeComparator recognizeNativeComparator(const CompiledComputation &comp);

/// Keys of a list of elements, compared with a NativeComparator's
/// direction and type (floats IEEE or total order, integers signed or
/// unsigned).
struct NativeKeys {
  std::vector<int64_t> ints;
  std::vector<double> floats;
  /// Room for n keys (only the vector the comparator uses).
  void resize(const NativeComparator &c, size_t n);
  /// Key i from element `offset` of `lit` (of the key's type).
  void set(size_t i, const NativeComparator &c, const Literal &lit,
           int64_t offset);
  /// compare(key a, key b).
  bool compare(const NativeComparator &c, size_t a, size_t b) const;
};
/// compare(a, b) of elements a and b of `lit` for a comparator whose key
/// is the operand itself (no keyFunction).
bool compareElements(const NativeComparator &c, const Literal &lit, int64_t a,
                     int64_t b);
/// The keys of the elements at `offsets` of `operands`.
bool computeNativeKeys(ExecContext &ctx, const NativeComparator &c,
                       llvm::ArrayRef<LiteralRef> operands,
                       llvm::ArrayRef<int64_t> offsets, NativeKeys &keys);

/// Whether the simulator defines `target`'s semantics (identity
/// annotations, SPMD shape changes, TopK, AllocateBuffer, host moves).
bool hasCustomCallSemantics(llvm::StringRef target);

/// XLA's `TopK` custom-call: (values, indices) of the k largest elements
/// along the last dimension, k from the result shape.
LiteralRef runTopKCustomCall(ExecContext &ctx, mlir::Operation *op,
                             llvm::ArrayRef<LiteralRef> operands);

/// Elementwise fold of equally shaped arrays with a combiner computation
/// (all-reduce, reduce-scatter): result[i] = f(...f(f(a0[i], a1[i]),
/// a2[i])...). Floats accumulate in double when the combiner is recognized.
LiteralRef foldArrays(ExecContext &ctx, mlir::Operation *op,
                      const CompiledComputation &computation,
                      llvm::ArrayRef<LiteralRef> arrays);

//===----------------------------------------------------------------------===//
// Small helpers
//===----------------------------------------------------------------------===//

mlir::RankedTensorType getResultTensorType(mlir::Operation *op);
/// Reads an integer scalar of any integral kind.
int64_t getScalarIndex(const Literal &lit);
/// Copies a box of `source` (at `sourceStart`, `size`) into `dest` at
/// `destStart`; both arrays of the same element type.
void copyBox(const Literal &source, llvm::ArrayRef<int64_t> sourceStart,
             Literal &dest, llvm::ArrayRef<int64_t> destStart,
             llvm::ArrayRef<int64_t> size);
/// `value` itself when the caller holds its only reference, else a deep
/// copy: for handlers that update an operand in place (dynamic-update-slice,
/// scatter). The interpreter hands over operands that die at the
/// instruction, so a value nobody reads later is updated without a copy;
/// shared values (parameters, constants, values read again) are copied.
inline LiteralRef takeOrClone(const LiteralRef &value) {
  return value.use_count() == 1 ? value : value->clone();
}
/// Concatenates arrays along `dim`.
LiteralRef concatenateArrays(llvm::ArrayRef<LiteralRef> parts, int64_t dim);
/// The `index`-th of `count` equal chunks of `lit` along `dim`.
LiteralRef sliceChunk(const Literal &lit, int64_t dim, int64_t index,
                      int64_t count);

} // namespace gshard::sim

#endif // GSHARD_LIB_SIM_EXEC_H
