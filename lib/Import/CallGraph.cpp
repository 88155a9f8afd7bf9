//===- CallGraph.cpp - Reject recursive computation call graphs -----------===//
//
// XLA's computations form a DAG: a computation that (transitively) calls
// itself has no meaning, and every pass that follows calls (propagation,
// partitioning, the simulator) would recurse forever. The importer rejects
// such modules with the call that closes the cycle. Call chains deeper than
// kMaxCallDepth are rejected too: the passes that follow calls recurse once
// per level, so a chain of tens of thousands of computations would overflow
// their stacks.
//
//===----------------------------------------------------------------------===//

#include "gshard/IR/HloOps.h"
#include "gshard/Import/HloTextImporter.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"

using namespace mlir;
using namespace gshard;

/// Far above real programs (a few nested loops and calls), far below what
/// the recursive passes' stacks hold (tested to 2,000).
static constexpr unsigned kMaxCallDepth = 512;

namespace {
/// One call edge: the calling op and the computation it names.
struct CallEdge {
  Operation *call;
  unsigned callee;
};
} // namespace

/// Appends the computations `op` names (to_apply, body, condition, calls,
/// branch_computations, called_computations, ...) as edges. Reads inherent
/// attributes by name: Operation::getAttrDictionary would unique a dictionary
/// per op.
static void collectCalls(Operation *op, const llvm::StringMap<unsigned> &index,
                         SmallVectorImpl<CallEdge> &edges) {
  auto add = [&](Attribute attr) {
    if (auto ref = dyn_cast_or_null<FlatSymbolRefAttr>(attr)) {
      auto it = index.find(ref.getValue());
      if (it != index.end())
        edges.push_back({op, it->second});
    }
  };
  auto visit = [&](Attribute value) {
    if (auto array = dyn_cast_or_null<ArrayAttr>(value)) {
      for (Attribute element : array)
        add(element);
      return;
    }
    add(value);
  };
  for (NamedAttribute attr : op->getDiscardableAttrs())
    visit(attr.getValue());
  for (StringAttr name : op->getName().getAttributeNames())
    if (std::optional<Attribute> value = op->getInherentAttr(name.strref()))
      visit(*value);
}

LogicalResult gshard::verifyAcyclicCallGraph(ModuleOp module) {
  SmallVector<hlo::ComputationOp> computations;
  llvm::StringMap<unsigned> index;
  for (auto computation : module.getOps<hlo::ComputationOp>()) {
    index[computation.getSymName()] = computations.size();
    computations.push_back(computation);
  }
  SmallVector<SmallVector<CallEdge>> calls(computations.size());
  for (auto [i, computation] : llvm::enumerate(computations))
    computation.walk([&](Operation *op) { collectCalls(op, index, calls[i]); });

  // Iterative depth-first search (call chains may be thousands deep):
  // 0 unvisited, 1 on the current path, 2 done. depth[c]: the longest chain
  // of calls from c, known when c is done.
  SmallVector<uint8_t> state(computations.size(), 0);
  SmallVector<unsigned> depth(computations.size(), 1);
  struct Frame {
    unsigned computation;
    unsigned nextEdge;
  };
  for (unsigned root = 0; root < computations.size(); ++root) {
    if (state[root])
      continue;
    SmallVector<Frame> stack = {{root, 0}};
    state[root] = 1;
    while (!stack.empty()) {
      Frame &frame = stack.back();
      unsigned current = frame.computation;
      if (frame.nextEdge == calls[current].size()) {
        for (const CallEdge &edge : calls[current])
          depth[current] = std::max(depth[current], depth[edge.callee] + 1);
        if (depth[current] > kMaxCallDepth)
          return computations[current].emitError()
                 << "calls nested too deeply: computation '%"
                 << computations[current].getSymName() << "' starts a chain of "
                 << depth[current] << " nested calls (limit " << kMaxCallDepth
                 << ")";
        state[current] = 2;
        stack.pop_back();
        continue;
      }
      CallEdge edge = calls[current][frame.nextEdge++];
      if (state[edge.callee] == 2)
        continue;
      if (state[edge.callee] == 0) {
        state[edge.callee] = 1;
        stack.push_back({edge.callee, 0});
        continue;
      }
      // A back edge: name the cycle from the callee to this call.
      std::string cycle;
      bool inCycle = false;
      for (const Frame &f : stack) {
        inCycle |= f.computation == edge.callee;
        if (inCycle)
          cycle +=
              "%" + computations[f.computation].getSymName().str() + " -> ";
      }
      cycle += "%" + computations[edge.callee].getSymName().str();
      return edge.call->emitError()
             << "recursive call: computation '%"
             << computations[edge.callee].getSymName() << "' calls itself ("
             << cycle << "); HLO call graphs must be acyclic";
    }
  }
  return success();
}
