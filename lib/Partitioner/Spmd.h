//===- Spmd.h - Partitioner internals ---------------------------*- C++ -*-===//
//
// The pieces every handler uses:
//
//   * `PValue`: a partitioned value (local value + sharding + global type);
//   * `ModuleState`: per-module state (partitions, channel ids, reduction
//     computations, the collective record);
//   * `Spmd`: the per-computation rewriter handlers talk to: operand lookup,
//     `reshard`, op-creation helpers (local index arithmetic from
//     partition-id, collectives with iota replica groups, masking).
//
// Handlers live one op family per file and register themselves in a table
// keyed by op name (see registerAllHandlers).
//
//===----------------------------------------------------------------------===//

#ifndef GSHARD_LIB_PARTITIONER_SPMD_H
#define GSHARD_LIB_PARTITIONER_SPMD_H

#include "gshard/IR/HloOps.h"
#include "gshard/Partitioner/Partitioner.h"
#include "gshard/Sharding/Sharding.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"

#include <functional>

namespace gshard::spmd {

using mlir::Location;
using mlir::LogicalResult;
using mlir::Operation;
using mlir::RankedTensorType;
using mlir::Type;
using mlir::Value;

/// A partitioned value: `local` is this device's piece of a value of type
/// `global` laid out by `sharding` (never null; tuples carry a tuple
/// sharding or one sharding for every leaf).
struct PValue {
  Value local;
  ShardingAttr sharding;
  Type global;
};

//===----------------------------------------------------------------------===//
// Sharding utilities (ShardingUtil.cpp)
//===----------------------------------------------------------------------===//

/// The sharding of a tensor of rank `dstRank` whose dim `dstDimOfSrc[i]`
/// carries the tiling of dim i of a tensor sharded by `s` (-1: dim i is
/// dropped and must not be tiled; replicateOnDims it first). Unmapped dst
/// dims are not tiled. Subgroups are kept. Non-tiled shardings pass through.
ShardingAttr mapDims(ShardingAttr s, llvm::ArrayRef<int64_t> dstDimOfSrc,
                     int64_t dstRank);

/// Null, tuple-of-one, trivially replicated and rank-0 tiled shardings
/// become {replicated}; others normalized.
ShardingAttr normalizeForTensor(ShardingAttr s, int64_t rank);

/// The local (per-device) type of a value of `global` type under `s`.
Type getLocalType(Type global, ShardingAttr s);

/// Element bytes (at least 1) and byte size of a tensor type (0 otherwise;
/// tuples: sum of leaves).
int64_t getElementBytes(Type elementType);
int64_t getByteSize(Type type);

/// A tensor type with `shape` and the element type (and layout encoding,
/// when the rank matches) of `like`.
RankedTensorType withShape(RankedTensorType like,
                           llvm::ArrayRef<int64_t> shape);

/// HLO text of a sharding (`{devices=[2,1]<=[2]}`).
std::string toString(ShardingAttr s);

/// The sharding an instruction's result must have: its `sharding`
/// attribute, {replicated} when absent; a non-tuple sharding on a tuple
/// result applies to every leaf.
ShardingAttr getResultSharding(Operation *op);

/// Whether values of `type` laid out by `a` and `b` have the same shards.
bool sameSharding(Type type, ShardingAttr a, ShardingAttr b);

/// The sharding of a tensor of rank `rank` whose dim i is dim `map[i]` of
/// an iteration space sharded by `iter` (dot, gather, scatter), with the
/// tilings of the iteration dims `drop` moved to replication first.
ShardingAttr project(ShardingAttr iter, llvm::ArrayRef<int64_t> drop,
                     llvm::ArrayRef<int64_t> map, int64_t rank);

/// Rough bytes moved to reshard a value of `type` from `from` to `to` (a
/// cost for choosing between strategies: refinements by a local slice are
/// nearly free, anything else moves the local or the global size).
double reshardCost(ShardingAttr from, ShardingAttr to, RankedTensorType type);

/// Whether every one of `numDevices` devices has the same manual-subgroup
/// coordinate under `a` and `b` (true when neither has a manual subgroup).
bool sameManualGroups(ShardingAttr a, ShardingAttr b, int64_t numDevices);

/// For an op whose result sharding is `s` and an operand of rank `rank`:
/// the operand sharding that holds the whole operand on every device of
/// each manual group: {manual} for manual, every data dim replicated with
/// the manual subgroup kept for manual subgroups, {replicated} otherwise.
ShardingAttr wholeValueSharding(ShardingAttr s, int64_t rank);

//===----------------------------------------------------------------------===//
// Module state
//===----------------------------------------------------------------------===//

enum class ReduceKind { Add, Max, Min, Mul, Or, And };

class ModuleState {
public:
  ModuleState(mlir::ModuleOp module, const PartitionOptions &options);

  mlir::ModuleOp module;
  mlir::MLIRContext *context;
  PartitionOptions options;
  int64_t numPartitions = 1;
  std::vector<CollectiveRecord> records;

  int64_t nextChannelId() { return channelId++; }
  /// A scalar reduction computation `kind` over `elementType` (created once
  /// per module, before the ENTRY computation).
  mlir::FlatSymbolRefAttr getReducer(ReduceKind kind, Type elementType);
  /// A fresh computation symbol name based on `base`.
  std::string uniqueComputationName(llvm::StringRef base);

private:
  int64_t channelId = 1;
  llvm::StringMap<mlir::FlatSymbolRefAttr> reducers;
};

//===----------------------------------------------------------------------===//
// Per-computation rewriter
//===----------------------------------------------------------------------===//

class Spmd;
using Handler = LogicalResult (*)(Operation *op, Spmd &spmd);
using HandlerMap = llvm::StringMap<Handler>;

/// Handlers by op name; filled once by the registerXxxHandlers functions.
const HandlerMap &getHandlers();
void registerElementwiseHandlers(HandlerMap &map);
void registerLeafHandlers(HandlerMap &map);
void registerShapeHandlers(HandlerMap &map);
void registerReduceHandlers(HandlerMap &map);
void registerDotHandlers(HandlerMap &map);
void registerTupleHandlers(HandlerMap &map);
void registerCustomCallHandlers(HandlerMap &map);
void registerControlFlowHandlers(HandlerMap &map);
void registerSliceHandlers(HandlerMap &map);
void registerConvolutionHandlers(HandlerMap &map);
void registerCollectiveHandlers(HandlerMap &map);
void registerGatherScatterHandlers(HandlerMap &map);

/// A dot-like op (dot, convolution) as an iteration space: operand and
/// result dims map to iteration dims (-1: outside the space, kept
/// replicated, e.g. convolution windows) and back.
struct ContractionSpec {
  int64_t iterRank = 0;
  llvm::SmallVector<int64_t> lhsToIter, rhsToIter, outToIter;
  llvm::SmallVector<int64_t> iterToLhs, iterToRhs, iterToOut;
  /// Iteration dims of only the lhs (and result), only the rhs, and the
  /// contracting ones.
  llvm::SmallVector<int64_t> lhsOnlyIter, rhsOnlyIter, contractingIter;
  /// Operand dims that are contracted (masked when unevenly sharded).
  llvm::SmallVector<int64_t> lhsContracting, rhsContracting;
  /// For ops whose local form depends on the split (grouped and spatially
  /// split convolutions); both optional. `legalize` returns a candidate
  /// iteration-space sharding with the dims the op cannot split that way
  /// replicated. `buildLocal` builds the local op from the resharded
  /// operands (`lhsSharding` is the lhs's plan sharding; `extra` the other
  /// operands, replicated) instead of a clone with the local result type.
  std::function<ShardingAttr(ShardingAttr iter)> legalize;
  std::function<Value(ShardingAttr iter, ShardingAttr lhsSharding,
                      Value lhsLocal, Value rhsLocal,
                      llvm::ArrayRef<Value> extra, RankedTensorType localOut)>
      buildLocal;
};
/// Partitions operands 0 and 1 of `op` as a contraction (Dot.cpp).
LogicalResult partitionContraction(Operation *op, Spmd &spmd,
                                   const ContractionSpec &spec);

/// The local result of a dot whose plan (operand and result shardings)
/// gathers one operand along one of its non-contracting dims, computed by
/// streaming that operand's chunks around the ring of the gather's devices
/// in a while loop (WindowedEinsum.cpp); null when the plan is not of that
/// form or the gathered operand is within the windowed-einsum threshold.
Value buildWindowedEinsum(Operation *op, Spmd &spmd,
                          const ContractionSpec &spec, const PValue &lhs,
                          const PValue &rhs, ShardingAttr lhsPlan,
                          ShardingAttr rhsPlan, ShardingAttr outPlan);

/// The fallback: reshard operands to replicated (or to the op's maximal
/// device), run the op on global shapes, warn.
LogicalResult partitionReplicated(Operation *op, Spmd &spmd,
                                  llvm::StringRef why = {});

class Spmd {
public:
  Spmd(ModuleState &state, hlo::ComputationOp computation);

  ModuleState &state;
  hlo::ComputationOp computation;
  mlir::OpBuilder builder;
  /// The instruction being partitioned (its location names new ops).
  Operation *current = nullptr;

  mlir::MLIRContext *getContext() { return state.context; }
  Location loc();
  int64_t numPartitions() const { return state.numPartitions; }

  /// The partitioned value of an original value.
  PValue get(Value original) const;
  bool has(Value original) const { return values.count(original); }
  void set(Value original, PValue value) { values[original] = value; }

  /// The local value of `v` resharded to `target` (see Reshard.cpp).
  Value reshard(const PValue &v, ShardingAttr target);
  PValue reshardTo(const PValue &v, ShardingAttr target) {
    return {reshard(v, target), target, v.global};
  }
  /// get(original) resharded to `target`.
  Value operand(Value original, ShardingAttr target) {
    return reshard(get(original), target);
  }

  /// Emits a warning at the current instruction (once per message).
  void warn(const llvm::Twine &message);
  /// Emits an error at the current instruction; partitioning then fails.
  void error(const llvm::Twine &message);
  bool hadError = false;

  //===--- Op creation ----------------------------------------------------===//

  /// Creates `name` with the given operands, result type and attributes.
  Operation *create(llvm::StringRef name, mlir::ValueRange operands,
                    Type resultType,
                    llvm::ArrayRef<mlir::NamedAttribute> attrs = {});
  /// Clones `op` (minus its sharding) with new operands and result type.
  Operation *cloneWith(Operation *op, mlir::ValueRange operands,
                       Type resultType);

  Value constantScalar(Type elementType, double value);
  Value constantI32(int64_t value);
  /// A zero (false for pred) tensor of `type`.
  Value zeros(RankedTensorType type);
  Value broadcastScalar(Value scalar, RankedTensorType type);
  Value binary(llvm::StringRef name, Value a, Value b);
  Value compare(Value a, Value b, hlo::ComparisonDirection direction);
  Value select(Value pred, Value onTrue, Value onFalse);
  Value convert(Value v, Type elementType);
  Value reshape(Value v, llvm::ArrayRef<int64_t> shape);
  Value transpose(Value v, llvm::ArrayRef<int64_t> perm);
  Value slice(Value v, llvm::ArrayRef<int64_t> start,
              llvm::ArrayRef<int64_t> limit);
  /// `v` padded with `padValue`: `low`/`high` at the edges and `interior`
  /// (optional) between elements of each dim.
  Value pad(Value v, Value padValue, llvm::ArrayRef<int64_t> low,
            llvm::ArrayRef<int64_t> high,
            llvm::ArrayRef<int64_t> interior = {});
  Value dynamicSlice(Value v, llvm::ArrayRef<Value> starts,
                     llvm::ArrayRef<int64_t> sizes);
  Value dynamicUpdateSlice(Value v, Value update, llvm::ArrayRef<Value> starts);
  Value iota(RankedTensorType type, int64_t dim);
  Value getTupleElement(Value tuple, int64_t index);
  Value tuple(llvm::ArrayRef<Value> elements);

  //===--- Device index arithmetic ----------------------------------------===//

  /// This device's partition id as an s32 scalar.
  Value partitionId();
  /// The tile index of this device along tile dim `tileDim` of `s` (s32
  /// scalar): iota arithmetic for iota assignments, a table otherwise.
  Value tileIndex(ShardingAttr s, int64_t tileDim);
  /// This device's element offset along data dim `dim` of a tensor of
  /// `globalShape` sharded by `s`.
  Value tileOffset(ShardingAttr s, int64_t dim,
                   llvm::ArrayRef<int64_t> globalShape);
  /// A table lookup: `table[partition_id]` as an s32 scalar.
  Value lookup(llvm::ArrayRef<int64_t> table);

  /// `local` (a shard of `global` by `s`) with every element past the
  /// global bound along `dims` replaced by `fill` (a scalar; zero if null).
  /// Dims that are not padded are skipped; returns `local` if none is.
  Value maskPadding(Value local, ShardingAttr s, RankedTensorType global,
                    llvm::ArrayRef<int64_t> dims, Value fill = {});

  //===--- Collectives (recorded) -----------------------------------------===//

  Value allReduce(Value v, hlo::ReplicaGroupsAttr groups,
                  mlir::FlatSymbolRefAttr reducer, llvm::StringRef reason);
  Value allGather(Value v, int64_t dim, hlo::ReplicaGroupsAttr groups,
                  llvm::StringRef reason);
  Value allToAll(Value v, int64_t dim, hlo::ReplicaGroupsAttr groups,
                 llvm::StringRef reason);
  Value collectivePermute(Value v, llvm::ArrayRef<int64_t> pairs,
                          llvm::StringRef reason);
  Value reduceScatter(Value v, int64_t dim, hlo::ReplicaGroupsAttr groups,
                      mlir::FlatSymbolRefAttr reducer, llvm::StringRef reason);

  /// Shardings shown in the record of the next collectives.
  ShardingAttr recordFrom, recordTo;

private:
  void record(llvm::StringRef kind, Operation *op, llvm::StringRef reason);
  Value reshardTensor(Value local, ShardingAttr from, ShardingAttr to,
                      RankedTensorType global);

  llvm::DenseMap<Value, PValue> values;
  llvm::StringSet<> warned;
};

/// On the device holding tile t of `s` along `dim` (of a value of type
/// `global` whose local shard is `local`), the `rangeSize` elements of the
/// input starting at global index `rangeStart[t]` (one start per tile; may
/// be negative), brought from neighbouring tiles by collective-permutes
/// (Halo.cpp). Only the first `rangeUsed[t]` elements of tile t's range
/// must be right (the rest is output padding); elements past the end of the
/// input are garbage.
/// The range of tile offsets j (tile t reads input tile t + j) the ranges
/// of exchangeHalo touch, and whether that many collective-permutes move
/// less than gathering the dim (the caller gathers otherwise).
std::pair<int64_t, int64_t> haloTileOffsets(int64_t n, int64_t k,
                                            llvm::ArrayRef<int64_t> rangeStart,
                                            llvm::ArrayRef<int64_t> rangeUsed,
                                            bool mirrored = false);
/// `trimmed`: each collective-permute moves only the rows of its source
/// shard some range reads (haloPieceRows), not the whole shard; the cost is
/// then the rows moved against the k - 1 shards of a gather.
bool haloIsCheaperThanGather(int64_t n, int64_t k,
                             llvm::ArrayRef<int64_t> rangeStart,
                             llvm::ArrayRef<int64_t> rangeUsed,
                             bool mirrored = false, bool trimmed = false);
Value exchangeHalo(Spmd &spmd, Value local, ShardingAttr s,
                   RankedTensorType global, int64_t dim,
                   llvm::ArrayRef<int64_t> rangeStart, int64_t rangeSize,
                   llvm::ArrayRef<int64_t> rangeUsed, bool mirrored = false,
                   bool trimmed = false);
/// The rows [lo, hi) of the shard of tile base(t) + j that the ranges read
/// (whole for inner offsets, trimmed at the first and last offset).
std::pair<int64_t, int64_t> haloPieceRows(int64_t n, int64_t k,
                                          llvm::ArrayRef<int64_t> rangeStart,
                                          llvm::ArrayRef<int64_t> rangeUsed,
                                          bool mirrored, int64_t j);
/// `exchanged` (exchangeHalo's result along `dim`) with every element whose
/// input index lies outside [0, inputSize) replaced by the scalar `fill`:
/// the padding value of a pad, the init value of a reduce-window.
Value replaceOutsideInput(Spmd &spmd, Value exchanged, ShardingAttr s,
                          int64_t dim, llvm::ArrayRef<int64_t> rangeStart,
                          int64_t inputSize, Value fill);

/// Whether the padding of a reduction split across devices may be filled
/// with its init value `init` (Reduce.cpp): the reducer (a computation
/// symbol) is idempotent (max, min, and, or) or `init` is a constant equal
/// to its identity (add: 0, multiply: 1). Otherwise the init would count
/// once per shard.
bool initFillIsExact(Operation *op, mlir::FlatSymbolRefAttr reducer,
                     Value init);

/// The root of the computation `reducer` (a symbol in `op`'s module) when it
/// is one binary op of the computation's two distinct parameters, such as
/// `add(p0, p1)` (Reduce.cpp); null otherwise.
Operation *binaryReducerRoot(Operation *op, mlir::FlatSymbolRefAttr reducer);

/// Partitions `computation` in place: parameters take the given shardings
/// (one per parameter, or the parameters' own for ENTRY) and the root is
/// resharded to `rootSharding` (the root's own for ENTRY).
LogicalResult partitionComputation(ModuleState &state,
                                   hlo::ComputationOp computation,
                                   llvm::ArrayRef<ShardingAttr> paramShardings,
                                   ShardingAttr rootSharding, bool isEntry);

} // namespace gshard::spmd

#endif // GSHARD_LIB_PARTITIONER_SPMD_H
