//===- Mesh.h - Simulated mesh/topology of the cost model -------*- C++ -*-===//
//
// Part of gshard, under the Apache License v2.0.
//
// A mesh is an N-dimensional torus (or grid: a dimension without wraparound
// links) of identical devices, with per-link bandwidth and latency and a
// per-device roofline (FLOP/s by element type, HBM size and bandwidth). It
// is configured by a preset name (`tpu-v3-2048`, `tpu-v4-64`, `2x4`, ...) or
// a Protocol Buffers text file (schema: include/gshard/Sim/mesh.proto).
// This header is independent of the generated protobuf code.
//
//===----------------------------------------------------------------------===//

#ifndef GSHARD_SIM_MESH_H
#define GSHARD_SIM_MESH_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <string>
#include <vector>

namespace gshard::sim {

struct Mesh {
  std::string name;
  std::string description;
  /// Torus extents; the mesh has prod(shape) devices.
  llvm::SmallVector<int64_t, 4> shape;
  /// One entry per dimension.
  llvm::SmallVector<bool, 4> wraparound;
  /// Bytes/s of one link in one direction, per dimension.
  llvm::SmallVector<double, 4> linkBandwidth;
  /// Seconds per hop.
  double linkLatency = 1e-6;
  /// Fixed start-up cost of a collective, seconds.
  double collectiveLatency = 0;
  /// Per-device roofline.
  double bf16Flops = 0;
  double f32Flops = 0;
  double vectorFlops = 0;
  int64_t hbmBytes = 0;
  double hbmBandwidth = 0;
  /// Logical device -> row-major physical index (empty: identity).
  std::vector<int64_t> deviceOrder;

  int64_t getNumDevices() const;
  int64_t getRank() const { return shape.size(); }
  /// Physical coordinates of logical device `logical`.
  llvm::SmallVector<int64_t, 4> getCoordinates(int64_t logical) const;
  /// Whether dimension `dim` is a closed ring (wraparound and extent > 2).
  bool isRing(int64_t dim) const { return wraparound[dim] && shape[dim] > 2; }
  /// Shortest hop count between two logical devices.
  int64_t getHopDistance(int64_t a, int64_t b) const;
  /// Signed shortest step count from `from` to `to` along `dim` (ties go
  /// in the positive direction).
  int64_t getSignedDistance(int64_t dim, int64_t from, int64_t to) const;

  /// Checks the invariants; `error` says what is wrong.
  bool validate(std::string &error) const;
  /// Prints the mesh as Protocol Buffers text (what --mesh=FILE reads).
  std::string toTextProto() const;
  /// One line: `tpu-v3-2048: 32x32x2 torus (wrap 1,1,0), 2048 devices`.
  std::string summary() const;
};

/// The names of the built-in presets (patterns included: `tpu-v4-N`, `AxB`).
std::vector<std::string> getMeshPresetNames();

/// Builds a preset; returns false (with `error`) if `name` is no preset.
bool getMeshPreset(llvm::StringRef name, Mesh &mesh, std::string &error);

/// Parses a mesh from Protocol Buffers text. Errors read
/// `FILENAME:LINE:COL: error: message`.
bool parseMeshText(llvm::StringRef text, llvm::StringRef filename, Mesh &mesh,
                   std::string &error);

/// `--mesh=` semantics: a preset name, else a text-format file.
bool loadMesh(llvm::StringRef spec, Mesh &mesh, std::string &error);

} // namespace gshard::sim

#endif // GSHARD_SIM_MESH_H
