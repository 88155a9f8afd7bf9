//===- Mesh.cpp - Mesh presets and text-format mesh files -----------------===//
//
// Part of gshard, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#include "gshard/Sim/Mesh.h"
#include "gshard/Sim/mesh.pb.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>

#include <set>

using namespace gshard::sim;
using llvm::StringRef;

namespace {

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

/// TPU v3 core: 123 TF/s bf16 and 32 GiB at 900 GB/s per chip, 2 cores.
void setTpuV3Core(Mesh &mesh) {
  mesh.bf16Flops = 61.5e12;
  mesh.f32Flops = 61.5e12 / 4;
  mesh.vectorFlops = 61.5e12 / 8;
  mesh.hbmBytes = int64_t(16 * kGiB);
  mesh.hbmBandwidth = 450e9;
  mesh.linkLatency = 1e-6;
  mesh.collectiveLatency = 2e-6;
}

/// TPU v4 chip (one device per chip, megacore): 275 TF/s bf16, 32 GiB at
/// 1200 GB/s.
void setTpuV4Chip(Mesh &mesh) {
  mesh.bf16Flops = 275e12;
  mesh.f32Flops = 275e12 / 4;
  mesh.vectorFlops = 275e12 / 8;
  mesh.hbmBytes = int64_t(32 * kGiB);
  mesh.hbmBandwidth = 1200e9;
  mesh.linkLatency = 1e-6;
  mesh.collectiveLatency = 2e-6;
}

/// Splits 2^k into `rank` power-of-two extents as equal as possible
/// (largest last): 2048 over 3 -> 8x16x16.
bool balancedShape(int64_t n, int rank, llvm::SmallVectorImpl<int64_t> &out) {
  if (n < 1 || (n & (n - 1)))
    return false;
  int log = llvm::Log2_64(n);
  out.assign(rank, 1);
  for (int i = 0; i < log; ++i)
    out[rank - 1 - (i % rank)] *= 2;
  llvm::sort(out);
  return true;
}

bool parseInt(StringRef text, int64_t &value) {
  return !text.empty() && !text.getAsInteger(10, value) && value > 0;
}

class Collector : public google::protobuf::io::ErrorCollector {
public:
  explicit Collector(std::string filename) : filename(std::move(filename)) {}
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string &message) override {
    if (!first.empty())
      return;
    first = filename + ":" + std::to_string(line + 1) + ":" +
            std::to_string(column + 1) + ": error: " + message;
  }
  void AddWarning(int, google::protobuf::io::ColumnNumber,
                  const std::string &) override {}
  std::string filename;
  std::string first;
};

} // namespace

int64_t Mesh::getNumDevices() const {
  int64_t n = 1;
  for (int64_t e : shape)
    n *= e;
  return n;
}

llvm::SmallVector<int64_t, 4> Mesh::getCoordinates(int64_t logical) const {
  int64_t index = logical;
  if (!deviceOrder.empty() && logical >= 0 &&
      logical < static_cast<int64_t>(deviceOrder.size()))
    index = deviceOrder[logical];
  llvm::SmallVector<int64_t, 4> coords(shape.size(), 0);
  for (int64_t d = getRank() - 1; d >= 0; --d) {
    coords[d] = index % shape[d];
    index /= shape[d];
  }
  return coords;
}

int64_t Mesh::getSignedDistance(int64_t dim, int64_t from, int64_t to) const {
  int64_t delta = to - from;
  if (!wraparound[dim])
    return delta;
  int64_t n = shape[dim];
  int64_t forward = ((delta % n) + n) % n;
  return forward <= n - forward ? forward : forward - n;
}

int64_t Mesh::getHopDistance(int64_t a, int64_t b) const {
  auto ca = getCoordinates(a), cb = getCoordinates(b);
  int64_t hops = 0;
  for (int64_t d = 0; d < getRank(); ++d)
    hops += std::abs(getSignedDistance(d, ca[d], cb[d]));
  return hops;
}

bool Mesh::validate(std::string &error) const {
  if (shape.empty()) {
    error = "mesh has no shape";
    return false;
  }
  int64_t n = 1;
  for (int64_t e : shape) {
    if (e < 1 || e > (1 << 20)) {
      error = "mesh extent " + std::to_string(e) + " out of range [1, 2^20]";
      return false;
    }
    n *= e;
    if (n > (int64_t(1) << 24)) {
      error = "mesh has more than 2^24 devices";
      return false;
    }
  }
  if (wraparound.size() != shape.size() ||
      linkBandwidth.size() != shape.size()) {
    error = "wraparound and link bandwidth need one entry per dimension";
    return false;
  }
  for (double bw : linkBandwidth)
    if (!(bw > 0)) {
      error = "link_bandwidth must be positive";
      return false;
    }
  if (!(bf16Flops > 0) || !(f32Flops > 0) || !(vectorFlops > 0)) {
    error = "device FLOP/s (bf16_flops, f32_flops) must be positive";
    return false;
  }
  if (!(hbmBandwidth > 0) || hbmBytes <= 0) {
    error = "device hbm_bytes and hbm_bandwidth must be positive";
    return false;
  }
  if (!(linkLatency >= 0) || !(collectiveLatency >= 0)) {
    error = "latencies must not be negative";
    return false;
  }
  if (!deviceOrder.empty()) {
    if (static_cast<int64_t>(deviceOrder.size()) != n) {
      error = "device_order has " + std::to_string(deviceOrder.size()) +
              " entries but the mesh has " + std::to_string(n) + " devices";
      return false;
    }
    std::vector<bool> seen(n, false);
    for (int64_t p : deviceOrder) {
      if (p < 0 || p >= n || seen[p]) {
        error = "device_order is not a permutation of 0.." +
                std::to_string(n - 1) + " (entry " + std::to_string(p) + ")";
        return false;
      }
      seen[p] = true;
    }
  }
  return true;
}

std::string Mesh::summary() const {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << name << ": ";
  llvm::interleave(shape, os, "x");
  os << " "
     << (llvm::any_of(wraparound, [](bool w) { return w; }) ? "torus" : "grid")
     << " (wraparound ";
  llvm::interleave(
      wraparound, os, [&](bool w) { os << (w ? 1 : 0); }, ",");
  os << "), " << getNumDevices() << " devices";
  return os.str();
}

std::string Mesh::toTextProto() const {
  proto::Mesh m;
  m.set_name(name);
  m.set_description(description);
  for (int64_t d = 0; d < getRank(); ++d) {
    m.add_shape(shape[d]);
    m.add_wraparound(wraparound[d]);
    m.add_dim_link_bandwidth(linkBandwidth[d]);
  }
  m.set_link_bandwidth(linkBandwidth.empty() ? 0 : linkBandwidth[0]);
  m.set_link_latency(linkLatency);
  m.set_collective_latency(collectiveLatency);
  proto::Device *dev = m.mutable_device();
  dev->set_bf16_flops(bf16Flops);
  dev->set_f32_flops(f32Flops);
  dev->set_vector_flops(vectorFlops);
  dev->set_hbm_bytes(hbmBytes);
  dev->set_hbm_bandwidth(hbmBandwidth);
  for (int64_t p : deviceOrder)
    m.add_device_order(p);
  std::string out;
  google::protobuf::TextFormat::PrintToString(m, &out);
  return out;
}

std::vector<std::string> gshard::sim::getMeshPresetNames() {
  return {"tpu-v3-2048", "tpu-v3-N (N cores, N/2 chips)", "tpu-v4-N (N chips)",
          "AxB..., e.g. 2x2, 2x4, 4x4, 8"};
}

bool gshard::sim::getMeshPreset(StringRef name, Mesh &mesh,
                                std::string &error) {
  mesh = Mesh();
  mesh.name = name.str();
  int64_t n = 0;
  if (name.consume_front("tpu-v3-")) {
    // N cores on N/2 chips; the chips form a 2-D grid (a 32x32 torus for
    // the full pod: only full 32-chip dimensions have wraparound links),
    // the third dimension is the two cores of a chip.
    llvm::SmallVector<int64_t> chips;
    if (!parseInt(name, n) || n < 2 || !balancedShape(n / 2, 2, chips) ||
        n > 2048) {
      error = "tpu-v3-N needs a power-of-two core count N in [2, 2048]";
      return false;
    }
    setTpuV3Core(mesh);
    mesh.shape = {chips[0], chips[1], 2};
    mesh.wraparound = {chips[0] == 32, chips[1] == 32, false};
    mesh.linkBandwidth = {100e9, 100e9, 450e9};
    mesh.description = "TPU v3: " + std::to_string(chips[0]) + "x" +
                       std::to_string(chips[1]) +
                       " chips x 2 cores; per core 61.5 TF/s bf16, 16 GiB "
                       "HBM at 450 GB/s; 100 GB/s per link per direction";
    return true;
  }
  if (name.consume_front("tpu-v4-")) {
    llvm::SmallVector<int64_t> dims;
    if (!parseInt(name, n) || !balancedShape(n, 3, dims) || n > 4096) {
      error = "tpu-v4-N needs a power-of-two chip count N in [1, 4096]";
      return false;
    }
    setTpuV4Chip(mesh);
    mesh.shape.assign(dims.begin(), dims.end());
    // Slices made of full 4x4x4 cubes get wraparound (optical switches).
    for (int64_t e : dims)
      mesh.wraparound.push_back(n >= 64 && e % 4 == 0);
    mesh.linkBandwidth.assign(3, 50e9);
    mesh.description = "TPU v4: 275 TF/s bf16, 32 GiB HBM at 1200 GB/s per "
                       "chip; 50 GB/s per link per direction";
    return true;
  }
  // AxBxC: a small torus of TPU v3 cores.
  llvm::SmallVector<StringRef> parts;
  name.split(parts, 'x');
  for (StringRef part : parts) {
    int64_t e;
    if (!parseInt(part, e) || e > 4096) {
      error = "unknown mesh preset '" + mesh.name + "'";
      return false;
    }
    mesh.shape.push_back(e);
  }
  setTpuV3Core(mesh);
  for (int64_t e : mesh.shape) {
    mesh.wraparound.push_back(e > 2);
    mesh.linkBandwidth.push_back(100e9);
  }
  mesh.description = "TPU v3 cores, 100 GB/s per link per direction";
  return mesh.validate(error);
}

bool gshard::sim::parseMeshText(StringRef text, StringRef filename, Mesh &mesh,
                                std::string &error) {
  proto::Mesh m;
  google::protobuf::TextFormat::Parser parser;
  Collector collector(filename.str());
  parser.RecordErrorsTo(&collector);
  google::protobuf::TextFormat::ParseInfoTree tree;
  parser.WriteLocationsTo(&tree);
  if (!parser.ParseFromString(std::string(text), &m)) {
    error = collector.first.empty()
                ? filename.str() + ": error: cannot parse the mesh"
                : collector.first;
    return false;
  }
  // Semantic errors point at the offending field.
  auto fail = [&](const char *field, int index, const std::string &message) {
    const auto *fd = proto::Mesh::descriptor()->FindFieldByName(field);
    auto loc = tree.GetLocation(fd, fd && fd->is_repeated() ? index : -1);
    // Lists (`shape: [2, 0]`) record only where the field starts.
    if (loc.line < 0 && fd && fd->is_repeated())
      loc = tree.GetLocation(fd, 0);
    if (loc.line < 0)
      error = filename.str() + ": error: " + message;
    else
      error = filename.str() + ":" + std::to_string(loc.line + 1) + ":" +
              std::to_string(loc.column + 1) + ": error: " + message;
    return false;
  };
  mesh = Mesh();
  mesh.name = m.name().empty() ? filename.str() : m.name();
  mesh.description = m.description();
  if (m.shape_size() == 0)
    return fail("shape", 0, "the mesh needs a shape (e.g. shape: [4, 4])");
  for (int i = 0; i < m.shape_size(); ++i) {
    if (m.shape(i) < 1 || m.shape(i) > (1 << 20))
      return fail("shape", i,
                  "extent " + std::to_string(m.shape(i)) +
                      " out of range [1, 2^20]");
    mesh.shape.push_back(m.shape(i));
  }
  if (m.wraparound_size() && m.wraparound_size() != m.shape_size())
    return fail("wraparound", 0,
                "wraparound needs one entry per dimension (" +
                    std::to_string(m.shape_size()) + ")");
  if (m.dim_link_bandwidth_size() > m.shape_size())
    return fail("dim_link_bandwidth", 0,
                "dim_link_bandwidth has more entries than dimensions");
  if (!(m.link_bandwidth() > 0) && m.dim_link_bandwidth_size() == 0)
    return fail("link_bandwidth", 0, "link_bandwidth must be positive");
  for (int i = 0; i < m.shape_size(); ++i) {
    mesh.wraparound.push_back(m.wraparound_size() ? m.wraparound(i)
                                                  : m.shape(i) > 2);
    double bw = i < m.dim_link_bandwidth_size() && m.dim_link_bandwidth(i) > 0
                    ? m.dim_link_bandwidth(i)
                    : m.link_bandwidth();
    if (!(bw > 0))
      return fail("dim_link_bandwidth", i,
                  "dimension " + std::to_string(i) + " has no bandwidth");
    mesh.linkBandwidth.push_back(bw);
  }
  mesh.linkLatency = m.link_latency();
  mesh.collectiveLatency = m.collective_latency();
  if (mesh.linkLatency < 0)
    return fail("link_latency", 0, "link_latency must not be negative");
  if (mesh.collectiveLatency < 0)
    return fail("collective_latency", 0,
                "collective_latency must not be negative");
  if (!m.has_device())
    return fail("device", 0, "the mesh needs a device { ... } roofline");
  const proto::Device &dev = m.device();
  mesh.bf16Flops = dev.bf16_flops();
  mesh.f32Flops = dev.f32_flops() > 0 ? dev.f32_flops() : dev.bf16_flops();
  mesh.vectorFlops =
      dev.vector_flops() > 0 ? dev.vector_flops() : dev.bf16_flops() / 8;
  mesh.hbmBytes = dev.hbm_bytes();
  mesh.hbmBandwidth = dev.hbm_bandwidth();
  if (!(mesh.bf16Flops > 0))
    return fail("device", 0, "device.bf16_flops must be positive");
  if (mesh.hbmBytes <= 0 || !(mesh.hbmBandwidth > 0))
    return fail("device", 0,
                "device.hbm_bytes and device.hbm_bandwidth must be positive");
  mesh.deviceOrder.assign(m.device_order().begin(), m.device_order().end());
  std::string why;
  if (!mesh.validate(why))
    return fail(mesh.deviceOrder.empty() ? "shape" : "device_order", 0, why);
  return true;
}

bool gshard::sim::loadMesh(StringRef spec, Mesh &mesh, std::string &error) {
  if (spec.empty()) {
    error = "error: empty --mesh";
    return false;
  }
  bool looksLikeFile = spec.contains('/') || spec.contains('.');
  if (!looksLikeFile) {
    if (getMeshPreset(spec, mesh, error))
      return true;
    error = "error: " + error +
            " (presets: " + llvm::join(getMeshPresetNames(), "; ") +
            "; or a .textproto file)";
    return false;
  }
  auto buffer = llvm::MemoryBuffer::getFile(spec, /*IsText=*/true);
  if (!buffer) {
    error = "error: cannot read mesh file '" + spec.str() +
            "': " + buffer.getError().message();
    return false;
  }
  return parseMeshText((*buffer)->getBuffer(), spec, mesh, error);
}
