//===- Rendezvous.cpp - Where simulated devices meet for collectives ------===//
//
// Part of gshard, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#include "Rendezvous.h"

#include "gshard/IR/HloOps.h"
#include "gshard/Sim/Interpreter.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/raw_ostream.h"

using namespace gshard::sim;

std::string Rendezvous::describeDevice(int64_t device) const {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << "device " << device << " (replica " << device / numPartitions
     << ", partition " << device % numPartitions << ")";
  return os.str();
}

void Rendezvous::checkDeadlock() {
  if (aborted || numWaiting == 0 || numWaiting + numFinished < numDevices)
    return;
  // Everybody alive waits: any slot that could complete would have.
  std::string text;
  llvm::raw_string_ostream os(text);
  os << "collectives do not match (deadlock): ";
  bool first = true;
  for (int64_t d = 0; d < numDevices; ++d) {
    if (!first)
      os << "; ";
    first = false;
    os << describeDevice(d);
    if (finished[d]) {
      os << " has finished";
      continue;
    }
    const Waiting &w = waiting[d];
    os << " waits in " << gshard::hlo::getHloOpcode(w.op);
    llvm::StringRef name = gshard::hlo::getInstructionName(w.op->getLoc());
    if (!name.empty())
      os << " %" << name;
    os << " at " << formatLocation(w.op) << " for devices {";
    llvm::interleaveComma(w.participants, os);
    os << "}";
  }
  aborted = true;
  abortMessage = formatError(waiting[0].op ? waiting[0].op : nullptr, os.str());
  for (int64_t d = 0; d < numDevices; ++d)
    if (!finished[d] && waiting[d].op) {
      abortMessage = formatError(waiting[d].op, os.str());
      break;
    }
  cv.notify_all();
}

bool Rendezvous::exchange(mlir::Operation *op, int64_t occurrence,
                          llvm::ArrayRef<int64_t> participants, int64_t self,
                          Values contribution, const Combine &combine,
                          Values &result, std::string &error) {
  std::unique_lock<std::mutex> lock(mutex);
  if (aborted) {
    error = abortMessage;
    return false;
  }
  Key key(op, occurrence,
          std::vector<int64_t>(participants.begin(), participants.end()));
  Slot &slot = slots[key];
  if (slot.participants.empty()) {
    slot.participants.assign(participants.begin(), participants.end());
    slot.contributions.resize(participants.size());
  }
  size_t position = llvm::find(participants, self) - participants.begin();
  if (position >= participants.size() ||
      !slot.contributions[position].empty() || slot.done) {
    error = formatError(op, "device " + std::to_string(self) +
                                " joined a collective twice or is not among "
                                "its participants");
    return false;
  }
  slot.contributions[position] = std::move(contribution);
  if (slot.contributions[position].empty())
    slot.contributions[position].push_back(nullptr);
  ++slot.arrived;
  if (slot.arrived == participants.size()) {
    std::string combineError;
    if (!combine(slot.contributions, slot.results, combineError)) {
      slot.failed = true;
      slot.error = combineError;
    }
    slot.done = true;
    slot.contributions.clear();
    // The others are released now, even before their threads wake up: they
    // no longer count as waiting for deadlock detection.
    for (int64_t p : participants)
      if (p != self && waiting[p].op) {
        waiting[p] = Waiting();
        --numWaiting;
      }
    cv.notify_all();
  } else {
    waiting[self] = Waiting{
        op, std::vector<int64_t>(participants.begin(), participants.end())};
    ++numWaiting;
    checkDeadlock();
    cv.wait(lock, [&] { return slot.done || aborted; });
    if (waiting[self].op) {
      waiting[self] = Waiting();
      --numWaiting;
    }
    if (!slot.done) {
      error = abortMessage;
      return false;
    }
  }
  bool ok = !slot.failed;
  if (ok)
    result = std::move(slot.results[position]);
  else
    error = slot.error;
  if (++slot.pickedUp == participants.size())
    slots.erase(key);
  return ok;
}

void Rendezvous::deviceFinished(int64_t device, const std::string &error) {
  std::lock_guard<std::mutex> lock(mutex);
  finished[device] = true;
  ++numFinished;
  if (!error.empty() && !aborted) {
    aborted = true;
    failedDevice = device;
    abortMessage = error;
    cv.notify_all();
    return;
  }
  checkDeadlock();
}
