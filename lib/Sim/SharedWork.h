//===- SharedWork.h - One computation for devices with equal inputs -*- C++
//-*-//
//
// Part of gshard, under the Apache License v2.0.
//
// Partitioned programs often run the same expensive op on the same data on
// many devices: the devices of a replication group all hold the gathered
// operand (a convolution with its lhs all-gathered, a sort after gathering
// the sort dimension). Simulating each copy multiplies the run time by the
// group size (16x for a 128-device convolution replicated 16 ways).
//
// SharedWork lets devices of one run share such results: a device about to
// run a pure op (no partition-id, rng, collective or feed anywhere in it)
// looks for an entry with the same instruction and operands of equal bits;
// it takes that entry's result (waiting while another device computes it)
// or computes the op itself and publishes the result. The result is the
// literal the handler produced for operands of identical bits, so it is
// bit-identical to computing again (values are immutable once produced).
//
// Entries refer to operands and results weakly: an entry lives while some
// device still holds them, so the cache never keeps dead values alive.
// Operands are compared in full; a result taken through its weak reference
// must still have the hash it was published with (a device holding it
// alone may have updated it in place since).
//
//===----------------------------------------------------------------------===//

#ifndef GSHARD_LIB_SIM_SHAREDWORK_H
#define GSHARD_LIB_SIM_SHAREDWORK_H

#include "Exec.h"

#include <condition_variable>
#include <list>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace gshard::sim {

class SharedWork {
public:
  /// Whether `op` may be shared: a pure op whose work is large next to
  /// hashing its operands (dot, convolution, sort with a pure comparator,
  /// fft, topk, the TopK custom-call).
  static bool isCandidate(mlir::Operation *op);
  /// Whether the operands are large enough for hashing them to pay off.
  static bool isWorthSharing(llvm::ArrayRef<LiteralRef> operands);

  /// `handler(ctx, op, operands)`, or the result another device computed
  /// for the same instruction on operands with the same bits.
  LiteralRef run(ExecContext &ctx, mlir::Operation *op, Handler handler,
                 llvm::ArrayRef<LiteralRef> operands);

private:
  struct Entry {
    mlir::Operation *op = nullptr;
    std::vector<std::weak_ptr<Literal>> operands;
    std::weak_ptr<Literal> result;
    /// The result's hash when published: an in-place handler (dynamic-
    /// update-slice, scatter) may update a literal it holds alone, which a
    /// weak reference does not prevent; such a result is not handed out.
    uint64_t resultHash = 0;
    /// Held while devices wait, so they all get it.
    LiteralRef held;
    bool done = false;
    bool failed = false;
    int64_t waiters = 0;
  };

  std::mutex mutex;
  std::condition_variable cv;
  std::unordered_map<uint64_t, std::list<std::shared_ptr<Entry>>> entries;
};

} // namespace gshard::sim

#endif // GSHARD_LIB_SIM_SHAREDWORK_H
