//===- CostModel.cpp - Static cost model of partitioned programs ----------===//
//
// Part of gshard, under the Apache License v2.0.
//
// Collective algorithms on the torus, the per-op roofline and the liveness
// analysis. The formulas are documented in docs/cost-model.md; keep both in
// sync.
//
//===----------------------------------------------------------------------===//

#include "gshard/Sim/CostModel.h"

#include "gshard/IR/HloOps.h"

#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <cmath>
#include <numeric>

using namespace mlir;
using namespace gshard;
using namespace gshard::sim;

llvm::StringRef gshard::sim::getCollectiveKindName(CollectiveKind kind) {
  switch (kind) {
  case CollectiveKind::AllReduce:
    return "all-reduce";
  case CollectiveKind::AllGather:
    return "all-gather";
  case CollectiveKind::ReduceScatter:
    return "reduce-scatter";
  case CollectiveKind::AllToAll:
    return "all-to-all";
  case CollectiveKind::CollectivePermute:
    return "collective-permute";
  case CollectiveKind::CollectiveBroadcast:
    return "collective-broadcast";
  }
  return "collective";
}

//===----------------------------------------------------------------------===//
// Groups on the torus
//===----------------------------------------------------------------------===//

namespace {

/// One torus dimension a group spans: n members `stride` hops apart.
struct GroupDim {
  int64_t dim;
  int64_t n;
  int64_t stride;
  /// Closed ring (both directions usable) or an open line.
  bool ring;
  /// Ring bandwidth per device: link bandwidth x directions / stride (the
  /// `stride` interleaved groups share the links).
  double bandwidth;
};

struct GroupShape {
  int64_t size = 0;
  /// The group is a (strided) sub-mesh: the product of `dims`.
  bool regular = false;
  llvm::SmallVector<GroupDim, 4> dims;
  /// Irregular groups: a ring in group order.
  double avgHops = 1, maxHops = 1, minLinkBandwidth = 0;
};

GroupShape analyzeGroup(const Mesh &mesh, ArrayRef<int64_t> group) {
  GroupShape shape;
  shape.size = group.size();
  int64_t rank = mesh.getRank();
  std::vector<llvm::SmallVector<int64_t, 4>> coords;
  coords.reserve(group.size());
  for (int64_t id : group)
    coords.push_back(mesh.getCoordinates(id));
  shape.minLinkBandwidth = *llvm::min_element(mesh.linkBandwidth);
  int64_t product = 1;
  bool even = true;
  for (int64_t d = 0; d < rank; ++d) {
    llvm::SmallVector<int64_t> values;
    for (auto &c : coords)
      values.push_back(c[d]);
    llvm::sort(values);
    values.erase(std::unique(values.begin(), values.end()), values.end());
    int64_t n = values.size();
    product *= n;
    if (n == 1)
      continue;
    int64_t stride = values[1] - values[0];
    for (int64_t i = 2; i < n; ++i)
      even &= values[i] - values[i - 1] == stride;
    bool ring = n * stride == mesh.shape[d] && mesh.isRing(d);
    double bw = mesh.linkBandwidth[d] * (ring ? 2 : 1) / stride;
    shape.dims.push_back({d, n, stride, ring, bw});
  }
  shape.regular = even && product == shape.size;
  if (!shape.regular) {
    double total = 0, maxHops = 0;
    for (size_t i = 0; i < group.size(); ++i) {
      double h = mesh.getHopDistance(group[i], group[(i + 1) % group.size()]);
      total += h;
      maxHops = std::max(maxHops, h);
    }
    shape.avgHops = std::max(1.0, total / group.size());
    shape.maxHops = std::max(1.0, maxHops);
  }
  return shape;
}

std::string describeDims(const GroupShape &shape) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << "dims {";
  llvm::interleaveComma(shape.dims, os, [&](const GroupDim &g) {
    os << g.dim << ":" << g.n << (g.ring ? "r" : "l");
    if (g.stride > 1)
      os << "/" << g.stride;
  });
  os << "}";
  return os.str();
}

} // namespace

CollectiveCost gshard::sim::getGroupCollectiveCost(const Mesh &mesh,
                                                   CollectiveKind kind,
                                                   ArrayRef<int64_t> group,
                                                   double bytes) {
  CollectiveCost cost;
  double N = group.size();
  if (group.size() <= 1 || bytes <= 0) {
    cost.algorithm = "local";
    return cost;
  }
  GroupShape shape = analyzeGroup(mesh, group);
  double lat = mesh.linkLatency;
  cost.seconds = mesh.collectiveLatency;
  if (!shape.regular) {
    // A unidirectional ring in group order over multi-hop routes.
    double bw = shape.minLinkBandwidth / shape.avgHops;
    double hopLat = shape.maxHops * lat;
    switch (kind) {
    case CollectiveKind::AllReduce:
      cost.bytesPerDevice = 2 * (N - 1) / N * bytes;
      cost.seconds += cost.bytesPerDevice / bw + 2 * (N - 1) * hopLat;
      break;
    case CollectiveKind::AllGather:
    case CollectiveKind::ReduceScatter:
      cost.bytesPerDevice = (N - 1) / N * bytes;
      cost.seconds += cost.bytesPerDevice / bw + (N - 1) * hopLat;
      break;
    case CollectiveKind::AllToAll:
      cost.bytesPerDevice = (N - 1) / N * bytes;
      cost.seconds +=
          std::max(cost.bytesPerDevice / bw, N * bytes / 4 / (2 * bw)) +
          N / 2 * hopLat;
      break;
    case CollectiveKind::CollectiveBroadcast:
    case CollectiveKind::CollectivePermute:
      cost.bytesPerDevice = bytes;
      cost.seconds += bytes / bw + (N - 1) * hopLat;
      break;
    }
    cost.algorithm = "ring in group order (irregular group, " +
                     llvm::formatv("{0:F1}", shape.avgHops).str() +
                     " hops/step)";
    return cost;
  }
  // Regular sub-mesh: one phase per spanned dimension. Reduce-scatter
  // phases shrink the data, so the fastest dimension goes first (and, in
  // all-gather, last).
  llvm::SmallVector<GroupDim, 4> dims = shape.dims;
  llvm::stable_sort(dims, [](const GroupDim &a, const GroupDim &b) {
    return a.bandwidth > b.bandwidth;
  });
  auto phases = [&](double data, double factor) {
    double t = 0;
    for (const GroupDim &g : dims) {
      t += factor * (g.n - 1) / g.n * data / g.bandwidth +
           factor * (g.n - 1) * g.stride * lat;
      data /= g.n;
    }
    return t;
  };
  std::string where = describeDims(shape);
  switch (kind) {
  case CollectiveKind::AllReduce:
    cost.bytesPerDevice = 2 * (N - 1) / N * bytes;
    cost.seconds += phases(bytes, 2);
    cost.algorithm = "reduce-scatter + all-gather rings over " + where;
    break;
  case CollectiveKind::AllGather:
  case CollectiveKind::ReduceScatter:
    cost.bytesPerDevice = (N - 1) / N * bytes;
    cost.seconds += phases(bytes, 1);
    cost.algorithm = "rings over " + where;
    break;
  case CollectiveKind::AllToAll: {
    cost.bytesPerDevice = (N - 1) / N * bytes;
    double injection = 0, bisection = 0, hops = 0;
    for (const GroupDim &g : dims) {
      injection += g.bandwidth;
      double links = N / g.n * (g.ring ? 2 : 1);
      bisection = std::max(bisection,
                           N * bytes / 4 /
                               (links * mesh.linkBandwidth[g.dim] / g.stride));
      hops += std::floor(g.n / 2.0) * g.stride;
    }
    double inject = cost.bytesPerDevice / injection;
    cost.seconds += std::max(inject, bisection) + hops * lat;
    cost.algorithm = std::string(bisection >= inject ? "bisection-bound"
                                                     : "injection-bound") +
                     " over " + where;
    break;
  }
  case CollectiveKind::CollectiveBroadcast:
  case CollectiveKind::CollectivePermute: {
    // Pipelined along the spanned rings.
    double hops = 0;
    for (const GroupDim &g : dims)
      hops += (g.n - 1) * g.stride;
    cost.bytesPerDevice = bytes;
    cost.seconds += bytes / dims.back().bandwidth + hops * lat;
    cost.algorithm = "pipelined broadcast over " + where;
    break;
  }
  }
  return cost;
}

CollectiveCost
gshard::sim::getPermuteCost(const Mesh &mesh,
                            ArrayRef<std::pair<int64_t, int64_t>> pairs,
                            double bytes) {
  CollectiveCost cost;
  // Directed link (node, dim, direction) -> messages crossing it.
  llvm::DenseMap<uint64_t, int64_t> load;
  int64_t maxHops = 0, maxLoad = 0;
  double worst = 0;
  int64_t rank = mesh.getRank();
  for (auto [source, target] : pairs) {
    if (source == target)
      continue;
    auto from = mesh.getCoordinates(source), to = mesh.getCoordinates(target);
    int64_t hops = 0;
    auto cur = from;
    for (int64_t d = 0; d < rank; ++d) {
      int64_t steps = mesh.getSignedDistance(d, from[d], to[d]);
      int64_t dir = steps < 0 ? -1 : 1;
      for (int64_t s = 0; s < std::abs(steps); ++s) {
        int64_t node = 0;
        for (int64_t k = 0; k < rank; ++k)
          node = node * mesh.shape[k] + cur[k];
        uint64_t key = (uint64_t(node) * rank + d) * 2 + (dir > 0);
        int64_t l = ++load[key];
        maxLoad = std::max(maxLoad, l);
        worst = std::max(worst, l / mesh.linkBandwidth[d]);
        cur[d] =
            ((cur[d] + dir) % mesh.shape[d] + mesh.shape[d]) % mesh.shape[d];
        ++hops;
      }
    }
    maxHops = std::max(maxHops, hops);
    cost.bytesPerDevice = bytes;
  }
  if (maxHops == 0 || bytes <= 0) {
    cost.algorithm = "local";
    cost.bytesPerDevice = 0;
    return cost;
  }
  cost.seconds =
      mesh.collectiveLatency + worst * bytes + maxHops * mesh.linkLatency;
  cost.algorithm = "dimension-ordered routes, max " + std::to_string(maxHops) +
                   " hops, max link load " + std::to_string(maxLoad);
  return cost;
}
