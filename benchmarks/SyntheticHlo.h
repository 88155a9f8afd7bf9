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
std::string generateLayeredModule(int64_t numInstructions);

} // namespace gshard::bench

#endif // GSHARD_BENCHMARKS_SYNTHETICHLO_H
