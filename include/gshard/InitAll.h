//===- InitAll.h - Register gshard's dialects and passes --------*- C++ -*-===//
//
// The MLIR convention for tools that embed gshard: call registerAllDialects
// on the DialectRegistry and registerAllPasses once at start-up.
//
//===----------------------------------------------------------------------===//

#ifndef GSHARD_INITALL_H
#define GSHARD_INITALL_H

#include "gshard/IR/HloOps.h"
#include "gshard/Propagation/Propagation.h"
#include "gshard/Partitioner/Partitioner.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Transforms/Passes.h"

namespace gshard {

inline void registerAllDialects(mlir::DialectRegistry &registry) {
  registry.insert<hlo::HloDialect>();
  registerShardingRuleExternalModels(registry);
}

/// Registers gshard's passes (and the generic MLIR ones gshard-opt offers)
/// for `--pass-pipeline` and per-pass flags.
inline void registerAllPasses() {
  mlir::registerCSEPass();
  mlir::registerCanonicalizerPass();
  registerShardingPropagation();
  registerPartitionerPasses();
}

} // namespace gshard

#endif // GSHARD_INITALL_H
