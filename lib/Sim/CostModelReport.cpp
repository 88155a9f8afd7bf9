//===- CostModelReport.cpp - Text, JSON and trace output of the cost model ===//
//
// Part of gshard, under the Apache License v2.0.
//
// The JSON schema ("gshard-sim-cost/1") and the trace format are documented
// in docs/cost-model.md; scripts rely on them, so add fields, never rename.
//
//===----------------------------------------------------------------------===//

#include "gshard/Sim/CostModel.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"

#include <cmath>

using namespace gshard::sim;

namespace {

std::string formatSeconds(double s) {
  if (s == 0)
    return "0 s";
  if (s < 1e-6)
    return llvm::formatv("{0:F3} ns", s * 1e9).str();
  if (s < 1e-3)
    return llvm::formatv("{0:F3} us", s * 1e6).str();
  if (s < 1)
    return llvm::formatv("{0:F3} ms", s * 1e3).str();
  return llvm::formatv("{0:F3} s", s).str();
}

std::string formatBytes(double b) {
  const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) {
    b /= 1024;
    ++u;
  }
  if (u == 0)
    return llvm::formatv("{0} B", int64_t(std::llround(b))).str();
  return llvm::formatv("{0:F2} {1}", b, units[u]).str();
}

std::string formatFlops(double f) {
  const char *units[] = {"", "K", "M", "G", "T", "P", "E"};
  int u = 0;
  while (f >= 1000 && u < 6) {
    f /= 1000;
    ++u;
  }
  return llvm::formatv("{0:F2} {1}FLOP", f, units[u]).str();
}

std::string percent(double part, double whole) {
  return whole > 0 ? llvm::formatv("{0,5:F1}%", 100 * part / whole).str()
                   : "    -";
}

std::string formatCount(double c) {
  if (c == std::floor(c) && c < 1e15)
    return std::to_string(int64_t(c));
  return llvm::formatv("{0:F2}", c).str();
}

std::string opLabel(const OpCost &op) {
  return op.name.empty() ? op.opcode : "%" + op.name;
}

} // namespace

void gshard::sim::printCostReportText(const CostReport &r,
                                      llvm::raw_ostream &os) {
  os << "cost model: " << (r.moduleName.empty() ? "module" : r.moduleName)
     << " on " << r.meshSummary << "\n";
  os << "program: " << r.numDevices << " device(s) = " << r.numReplicas
     << " replica(s) x " << r.numPartitions << " partition(s)";
  if (r.meshDevices > r.numDevices)
    os << " (mesh devices " << r.numDevices << ".." << r.meshDevices - 1
       << " idle)";
  os << "\n\n";
  auto row = [&](llvm::StringRef label, double seconds,
                 const std::string &detail) {
    os << llvm::formatv("  {0,-22} {1,12} {2}  {3}\n", label,
                        formatSeconds(seconds), percent(seconds, r.stepSeconds),
                        detail);
  };
  os << llvm::formatv("  {0,-22} {1,12}\n", "step time (no overlap)",
                      formatSeconds(r.stepSeconds));
  os << llvm::formatv("  {0,-22} {1,12}  (compute and collectives on two "
                      "streams, data dependencies only)\n",
                      "step time (overlapped)",
                      formatSeconds(r.stepSecondsOverlapped));
  row("compute", r.computeSeconds,
      formatFlops(r.flops) + ", " + formatBytes(r.hbmBytes) +
          " HBM traffic per device");
  for (auto &[kind, totals] : r.collectives)
    row(kind, totals.seconds,
        std::to_string(totals.count) + " op(s), " +
            formatBytes(totals.bytesPerDevice) + " sent per device");
  row("communication", r.commSeconds,
      formatBytes(r.commBytesPerDevice) + " sent per device");
  os << "\n  peak memory per device: " << formatBytes(r.peakMemoryBytes);
  if (!r.peakAt.empty())
    os << " at %" << r.peakAt;
  os << " (parameters " << formatBytes(r.parameterBytes) << ", output "
     << formatBytes(r.outputBytes) << "); HBM " << formatBytes(r.hbmCapacity)
     << (r.exceedsHbm ? ": EXCEEDS HBM" : ": fits") << "\n";

  auto top = r.getTopOps(10);
  if (!top.empty()) {
    os << "\n  top " << top.size() << " op" << (top.size() == 1 ? "" : "s")
       << " by time:\n";
    os << llvm::formatv("  {0,3} {1,12} {2,6} {3,6}  {4,-28} {5}\n", "#",
                        "time", "share", "count", "instruction", "what");
    int i = 0;
    for (const OpCost *op : top) {
      std::string what;
      if (op->isCollective) {
        what = op->opcode + " " + formatBytes(op->commBytes) +
               " sent/device, " + std::to_string(op->numGroups) +
               " group(s) of " + std::to_string(op->groupSize);
        if (!op->source.empty())
          what += ", from " + op->source;
        what += "; " + op->algorithm;
      } else {
        what = op->opcode + " " + formatFlops(op->flops) + ", " +
               formatBytes(op->hbmBytes);
        if (op->computation.size() && op->count != 1)
          what += " (in " + op->computation + ")";
      }
      if (!op->location.empty())
        what += " [" + op->location + "]";
      os << llvm::formatv("  {0,3} {1,12} {2} {3,6}  {4,-28} {5}\n", ++i,
                          formatSeconds(op->totalSeconds()),
                          percent(op->totalSeconds(), r.stepSeconds),
                          formatCount(op->count), opLabel(*op), what);
    }
  }
  if (!r.notes.empty()) {
    os << "\n  notes:\n";
    for (const std::string &n : r.notes)
      os << "    " << n << "\n";
  }
}

void gshard::sim::printCostReportJson(const CostReport &r,
                                      llvm::raw_ostream &out) {
  llvm::json::OStream j(out, 2);
  const Mesh &m = r.mesh;
  auto opObject = [&](const OpCost &op) {
    j.object([&] {
      j.attribute("name", op.name);
      j.attribute("opcode", op.opcode);
      j.attribute("computation", op.computation);
      j.attribute("location", op.location);
      j.attribute("count", op.count);
      j.attribute("seconds", op.seconds);
      j.attribute("total_seconds", op.totalSeconds());
      j.attribute("flops", op.flops);
      j.attribute("hbm_bytes", op.hbmBytes);
      if (op.isCollective) {
        j.attribute("bytes_per_device", op.commBytes);
        j.attribute("group_size", op.groupSize);
        j.attribute("num_groups", op.numGroups);
        j.attribute("algorithm", op.algorithm);
        j.attribute("source", op.source);
      }
    });
  };
  j.object([&] {
    j.attribute("schema", "gshard-sim-cost/1");
    j.attribute("module", r.moduleName);
    j.attributeObject("mesh", [&] {
      j.attribute("name", m.name);
      j.attribute("summary", r.meshSummary);
      j.attribute("devices", r.meshDevices);
      j.attributeArray("shape", [&] {
        for (int64_t e : m.shape)
          j.value(e);
      });
      j.attributeArray("wraparound", [&] {
        for (bool w : m.wraparound)
          j.value(w);
      });
      j.attributeArray("link_bandwidth", [&] {
        for (double b : m.linkBandwidth)
          j.value(b);
      });
      j.attribute("link_latency", m.linkLatency);
      j.attribute("collective_latency", m.collectiveLatency);
      j.attribute("bf16_flops", m.bf16Flops);
      j.attribute("f32_flops", m.f32Flops);
      j.attribute("vector_flops", m.vectorFlops);
      j.attribute("hbm_bytes", m.hbmBytes);
      j.attribute("hbm_bandwidth", m.hbmBandwidth);
    });
    j.attribute("devices", r.numDevices);
    j.attribute("num_replicas", r.numReplicas);
    j.attribute("num_partitions", r.numPartitions);
    j.attribute("step_seconds", r.stepSeconds);
    j.attribute("step_seconds_overlapped", r.stepSecondsOverlapped);
    j.attribute("compute_seconds", r.computeSeconds);
    j.attribute("communication_seconds", r.commSeconds);
    j.attribute("flops", r.flops);
    j.attribute("hbm_bytes", r.hbmBytes);
    j.attribute("communication_bytes_per_device", r.commBytesPerDevice);
    j.attributeObject("collectives", [&] {
      for (auto &[kind, t] : r.collectives)
        j.attributeObject(kind, [&] {
          j.attribute("count", t.count);
          j.attribute("seconds", t.seconds);
          j.attribute("bytes_per_device", t.bytesPerDevice);
        });
    });
    j.attributeObject("memory", [&] {
      j.attribute("peak_bytes", r.peakMemoryBytes);
      j.attribute("peak_at", r.peakAt);
      j.attribute("parameter_bytes", r.parameterBytes);
      j.attribute("output_bytes", r.outputBytes);
      j.attribute("hbm_bytes", r.hbmCapacity);
      j.attribute("exceeds_hbm", r.exceedsHbm);
    });
    j.attributeArray("top_ops", [&] {
      for (const OpCost *op : r.getTopOps(10))
        opObject(*op);
    });
    j.attributeArray("collective_ops", [&] {
      for (const OpCost &op : r.ops)
        if (op.isCollective)
          opObject(op);
    });
    j.attributeArray("notes", [&] {
      for (const std::string &n : r.notes)
        j.value(n);
    });
  });
  out << "\n";
}

void gshard::sim::printCostTrace(const CostReport &r, llvm::raw_ostream &out) {
  llvm::json::OStream j(out, 1);
  std::string group =
      r.numDevices > 1 ? llvm::formatv("devices 0-{0}", r.numDevices - 1).str()
                       : std::string("device 0");
  j.object([&] {
    j.attribute("displayTimeUnit", "ns");
    j.attributeObject("otherData", [&] {
      j.attribute("schema", "gshard-sim-trace/1");
      j.attribute("module", r.moduleName);
      j.attribute("mesh", r.meshSummary);
      j.attribute("step_seconds", r.stepSeconds);
    });
    j.attributeArray("traceEvents", [&] {
      auto meta = [&](const char *what, int tid, const std::string &name) {
        j.object([&] {
          j.attribute("ph", "M");
          j.attribute("name", what);
          j.attribute("pid", 0);
          j.attribute("tid", tid);
          j.attributeObject("args", [&] { j.attribute("name", name); });
        });
      };
      meta("process_name", 0,
           group + " (SPMD: every device runs this timeline)");
      meta("thread_name", 0, "compute");
      meta("thread_name", 1, "collectives");
      for (const OpCost &op : r.ops) {
        j.object([&] {
          j.attribute("ph", "X");
          j.attribute("name", op.name.empty() ? op.opcode : op.name);
          j.attribute("cat", op.isCollective ? "collective" : "compute");
          j.attribute("pid", 0);
          j.attribute("tid", op.isCollective ? 1 : 0);
          j.attribute("ts", op.start * 1e6);
          j.attribute("dur", op.totalSeconds() * 1e6);
          j.attributeObject("args", [&] {
            j.attribute("opcode", op.opcode);
            j.attribute("computation", op.computation);
            j.attribute("count", op.count);
            if (op.isCollective) {
              j.attribute("bytes_per_device", op.commBytes);
              j.attribute("group_size", op.groupSize);
              j.attribute("algorithm", op.algorithm);
              j.attribute("source", op.source);
            } else {
              j.attribute("flops", op.flops);
              j.attribute("hbm_bytes", op.hbmBytes);
            }
          });
        });
      }
    });
  });
  out << "\n";
}
