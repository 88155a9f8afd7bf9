//===- PipelineUtil.cpp - Import, propagate, partition in-process ---------===//

#include "PipelineUtil.h"

#include "gshard/Import/HloTextImporter.h"
#include "gshard/InitAll.h"
#include "gshard/Propagation/Propagation.h"

using namespace gshard;

std::unique_ptr<mlir::MLIRContext> gshard::bench::makeGShardContext() {
  mlir::DialectRegistry registry;
  registerAllDialects(registry);
  auto context = std::make_unique<mlir::MLIRContext>(registry);
  context->loadAllAvailableDialects();
  context->disableMultithreading();
  return context;
}

mlir::OwningOpRef<mlir::ModuleOp>
gshard::bench::importModule(const std::string &text,
                            mlir::MLIRContext *context) {
  return importHloText(text, context);
}

bool gshard::bench::propagateAndPartition(
    mlir::ModuleOp module, std::vector<CollectiveRecord> *records) {
  if (mlir::failed(propagateShardings(module, {}, nullptr)))
    return false;
  PartitionOptions options;
  options.warnOnReplication = true;
  return mlir::succeeded(partitionModule(module, options, records));
}
