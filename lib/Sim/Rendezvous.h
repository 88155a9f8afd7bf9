//===- Rendezvous.h - Where simulated devices meet for collectives -*- C++ -*-//
//
// Part of gshard, under the Apache License v2.0.
//
// Every device runs on its own thread. A collective instance is identified
// by (instruction, how many times this device executed it before, the
// participating devices in group order); devices deposit their operands in
// that slot, the last one to arrive computes everybody's results, and the
// others wake up. When every unfinished device is waiting and no slot can
// complete, the rendezvous reports who waits where (a deadlock or a
// mismatched collective) and releases everybody with that error.
//
//===----------------------------------------------------------------------===//

#ifndef GSHARD_LIB_SIM_RENDEZVOUS_H
#define GSHARD_LIB_SIM_RENDEZVOUS_H

#include "gshard/Sim/Literal.h"

#include "mlir/IR/Operation.h"

#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace gshard::sim {

class Rendezvous {
public:
  using Values = std::vector<LiteralRef>;
  /// Computes each participant's result from all contributions (in group
  /// order); returns false and sets `error` on failure.
  using Combine =
      std::function<bool(llvm::ArrayRef<Values> contributions,
                         std::vector<Values> &results, std::string &error)>;

  Rendezvous(int64_t numDevices, int64_t numPartitions)
      : numDevices(numDevices), numPartitions(numPartitions),
        waiting(numDevices), finished(numDevices, false) {}

  /// Blocks until all `participants` (global device ids, group order) have
  /// contributed to this instance of `op`. `self` must be among them.
  bool exchange(mlir::Operation *op, int64_t occurrence,
                llvm::ArrayRef<int64_t> participants, int64_t self,
                Values contribution, const Combine &combine, Values &result,
                std::string &error);

  /// A device returned from ENTRY (or failed with `error`).
  void deviceFinished(int64_t device, const std::string &error);
  /// The device whose own failure aborted the run, or -1.
  int64_t getFailedDevice() const { return failedDevice; }

private:
  struct Slot {
    std::vector<int64_t> participants;
    std::vector<Values> contributions;
    size_t arrived = 0;
    bool done = false;
    bool failed = false;
    std::string error;
    std::vector<Values> results;
    size_t pickedUp = 0;
  };
  using Key = std::tuple<mlir::Operation *, int64_t, std::vector<int64_t>>;
  struct Waiting {
    mlir::Operation *op = nullptr;
    std::vector<int64_t> participants;
  };

  /// Called with the lock held: aborts if nobody can make progress.
  void checkDeadlock();
  std::string describeDevice(int64_t device) const;

  int64_t numDevices;
  int64_t numPartitions;
  std::mutex mutex;
  std::condition_variable cv;
  std::map<Key, Slot> slots;
  std::vector<Waiting> waiting;
  std::vector<bool> finished;
  int64_t numWaiting = 0;
  int64_t numFinished = 0;
  bool aborted = false;
  int64_t failedDevice = -1;
  std::string abortMessage;
};

} // namespace gshard::sim

#endif // GSHARD_LIB_SIM_RENDEZVOUS_H
