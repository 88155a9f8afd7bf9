//===- PipelineUtil.h - Import, propagate, partition in-process -*- C++ -*-===//
//
// What `gshard-opt --partition` does, as a library call for the benchmarks
// and the trend tool.
//
//===----------------------------------------------------------------------===//

#ifndef GSHARD_BENCHMARKS_PIPELINEUTIL_H
#define GSHARD_BENCHMARKS_PIPELINEUTIL_H

#include "gshard/Partitioner/Partitioner.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"

#include <memory>
#include <string>
#include <vector>

namespace gshard::bench {

/// A context with every gshard dialect and interface, single-threaded.
std::unique_ptr<mlir::MLIRContext> makeGShardContext();

/// Imports HLO text; null (diagnostics printed) on failure.
mlir::OwningOpRef<mlir::ModuleOp> importModule(const std::string &text,
                                               mlir::MLIRContext *context);

/// Propagates shardings and partitions `module` in place; false on failure.
bool propagateAndPartition(mlir::ModuleOp module,
                           std::vector<CollectiveRecord> *records);

} // namespace gshard::bench

#endif // GSHARD_BENCHMARKS_PIPELINEUTIL_H
