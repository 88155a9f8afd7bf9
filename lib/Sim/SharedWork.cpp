//===- SharedWork.cpp - One computation for devices with equal inputs -----===//
//
// Part of gshard, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#include "SharedWork.h"

#include "llvm/Support/xxhash.h"

using namespace mlir;
using namespace gshard;
using namespace gshard::sim;

/// Operand bytes below which hashing is not worth it (the op is cheap).
static constexpr size_t kMinSharedBytes = 64 << 10;

/// Ops whose result depends on the device, not only on the operands.
static bool isDeviceDependent(Operation *op) {
  StringRef name = op->getName().getStringRef();
  static const char *const names[] = {"hlo.partition_id",
                                      "hlo.replica_id",
                                      "hlo.rng",
                                      "hlo.rng_bit_generator",
                                      "hlo.rng_get_and_update_state",
                                      "hlo.infeed",
                                      "hlo.outfeed",
                                      "hlo.custom_call",
                                      "hlo.send",
                                      "hlo.recv"};
  for (const char *n : names)
    if (name == n)
      return true;
  return op->hasAttr("replica_groups") || op->hasAttr("channel_id") ||
         op->hasAttr("source_target_pairs");
}

/// A comparator (or other called computation) that is a pure function of
/// its parameters: no device-dependent op and no further calls.
static bool isPureLeafComputation(Operation *user, FlatSymbolRefAttr callee) {
  auto module = user->getParentOfType<ModuleOp>();
  if (!module)
    return false;
  auto computation = dyn_cast_or_null<hlo::ComputationOp>(
      SymbolTable::lookupSymbolIn(module, callee.getAttr()));
  if (!computation)
    return false;
  bool pure = true;
  computation.walk([&](Operation *op) {
    if (op == computation.getOperation())
      return;
    if (isDeviceDependent(op))
      pure = false;
    for (NamedAttribute attr : op->getAttrs())
      if (isa<FlatSymbolRefAttr, ArrayAttr>(attr.getValue()))
        pure = false;
  });
  return pure;
}

static size_t totalBytes(const Literal &lit) {
  if (!lit.isTuple())
    return lit.getNumBytes();
  size_t total = 0;
  for (const LiteralRef &e : lit.getElements())
    total += totalBytes(*e);
  return total;
}

bool SharedWork::isCandidate(Operation *op) {
  StringRef name = op->getName().getStringRef();
  if (name == "hlo.convolution" || name == "hlo.dot" || name == "hlo.fft" ||
      name == "hlo.topk")
    return true;
  if (auto sort = dyn_cast<hlo::SortOp>(op)) {
    FlatSymbolRefAttr comparator = sort.getToApplyAttr();
    return comparator && isPureLeafComputation(op, comparator);
  }
  if (auto call = dyn_cast<hlo::CustomCallOp>(op))
    return call.getCustomCallTarget() == "TopK";
  return false;
}

bool SharedWork::isWorthSharing(ArrayRef<LiteralRef> operands) {
  size_t bytes = 0;
  for (const LiteralRef &operand : operands) {
    if (!operand)
      return false;
    bytes += totalBytes(*operand);
  }
  return bytes >= kMinSharedBytes;
}

static uint64_t hashLiteral(const Literal &lit, uint64_t seed) {
  uint64_t h = llvm::xxh3_64bits(ArrayRef<uint8_t>(
      reinterpret_cast<const uint8_t *>(&seed), sizeof(seed)));
  if (lit.isTuple()) {
    for (const LiteralRef &e : lit.getElements())
      h = hashLiteral(*e, h);
    return h;
  }
  if (lit.isToken())
    return h ^ 0x70cc;
  h ^= llvm::xxh3_64bits(ArrayRef<uint8_t>(
      reinterpret_cast<const uint8_t *>(lit.getShape().data()),
      lit.getShape().size() * sizeof(int64_t)));
  h = h * 0x9e3779b97f4a7c15ull +
      reinterpret_cast<uintptr_t>(lit.getElementType().getAsOpaquePointer());
  return h ^
         llvm::xxh3_64bits(ArrayRef<uint8_t>(lit.data(), lit.getNumBytes()));
}

/// Same form, element type, shape and bits.
static bool sameBits(const Literal &a, const Literal &b) {
  if (&a == &b)
    return true;
  if (a.getForm() != b.getForm())
    return false;
  if (a.isTuple()) {
    if (a.getNumTupleElements() != b.getNumTupleElements())
      return false;
    for (size_t i = 0; i < a.getNumTupleElements(); ++i)
      if (!sameBits(*a.getElements()[i], *b.getElements()[i]))
        return false;
    return true;
  }
  if (a.isToken())
    return true;
  return a.hasSameArrayBits(b);
}

LiteralRef SharedWork::run(ExecContext &ctx, Operation *op, Handler handler,
                           ArrayRef<LiteralRef> operands) {
  uint64_t key = reinterpret_cast<uintptr_t>(op);
  for (const LiteralRef &operand : operands)
    key = hashLiteral(*operand, key);

  std::shared_ptr<Entry> mine;
  {
    std::unique_lock<std::mutex> lock(mutex);
    auto &bucket = entries[key];
    for (auto it = bucket.begin(); it != bucket.end();) {
      std::shared_ptr<Entry> entry = *it;
      // An entry whose operands are gone cannot be verified: drop it.
      SmallVector<LiteralRef, 4> held;
      bool alive = true;
      for (const std::weak_ptr<Literal> &w : entry->operands) {
        held.push_back(w.lock());
        alive &= held.back() != nullptr;
      }
      if (entry->done && entry->waiters == 0 && entry->result.expired())
        alive = false;
      if (!alive) {
        if (entry->done && entry->waiters == 0) {
          it = bucket.erase(it);
          continue;
        }
        ++it;
        continue;
      }
      bool same = entry->op == op && held.size() == operands.size();
      for (size_t i = 0; same && i < operands.size(); ++i)
        same = sameBits(*held[i], *operands[i]);
      if (!same) {
        ++it;
        continue;
      }
      if (!entry->done) {
        ++entry->waiters;
        cv.wait(lock, [&] { return entry->done; });
        --entry->waiters;
      }
      // `held` is referenced by the waiters, so nobody updated it in place.
      bool verify = !entry->held;
      LiteralRef result = entry->held ? entry->held : entry->result.lock();
      if (entry->waiters == 0)
        entry->held.reset();
      if (result && !entry->failed &&
          (!verify || hashLiteral(*result, 0) == entry->resultHash))
        return result;
      // The computing device failed, or the result is gone or was updated
      // in place: compute here (and forget the entry once nobody waits).
      if (entry->waiters == 0)
        bucket.erase(it);
      break;
    }
    mine = std::make_shared<Entry>();
    mine->op = op;
    for (const LiteralRef &operand : operands)
      mine->operands.push_back(operand);
    bucket.push_back(mine);
  }

  // Operands stay referenced here, so no handler updates them in place.
  SmallVector<LiteralRef, 4> keepAlive(operands.begin(), operands.end());
  LiteralRef result = handler(ctx, op, operands);

  uint64_t resultHash = result ? hashLiteral(*result, 0) : 0;
  std::lock_guard<std::mutex> lock(mutex);
  mine->done = true;
  mine->resultHash = resultHash;
  mine->failed = !result;
  mine->result = result;
  if (mine->waiters > 0)
    mine->held = result;
  if (!result) {
    auto &bucket = entries[key];
    bucket.remove(mine);
  }
  cv.notify_all();
  return result;
}
