//===- SyntheticHlo.h - Generated HLO modules for benchmarks ----*- C++ -*-===//

#ifndef GSHARD_BENCHMARKS_SYNTHETICHLO_H
#define GSHARD_BENCHMARKS_SYNTHETICHLO_H

#include <cstdint>
#include <string>

namespace gshard::bench {

/// HLO text of a module with about `numInstructions` instructions: a chain
/// of elementwise ops, broadcasts, dots and reduces over sharded
/// parameters, shaped like a layer stack (metadata on every instruction, as
/// real dumps have).
///
/// With `numDevices` 0 the parameters are tiled over 8 devices in one dim
/// (the import benchmark's input). Otherwise `numDevices` (a multiple of 4)
/// devices form a [numDevices/4, 4] mesh in iota form: %x rows over the
/// first axis, replicated over the second; %w columns over the second,
/// replicated over the first; every dot merges both partial shardings into
/// a 2-D tiling, so propagation exercises merging, not just copying. Mesh
/// modules use f32[4096,1024] activations (evenly divisible up to 16k
/// devices).
std::string generateLayeredModule(int64_t numInstructions,
                                  int64_t numDevices = 0);

} // namespace gshard::bench

#endif // GSHARD_BENCHMARKS_SYNTHETICHLO_H
