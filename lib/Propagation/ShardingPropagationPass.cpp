//===- ShardingPropagationPass.cpp - The gshard-propagate pass ------------===//

#include "gshard/Propagation/Propagation.h"

namespace gshard {

#define GEN_PASS_DEF_SHARDINGPROPAGATION
#include "gshard/Propagation/Passes.h.inc"

namespace {

struct ShardingPropagationPass
    : public impl::ShardingPropagationBase<ShardingPropagationPass> {
  using ShardingPropagationBase::ShardingPropagationBase;

  void runOnOperation() override {
    PropagationOptions options;
    options.isSpmd = isSpmd;
    options.propagateMetadata = propagateMetadata;
    if (failed(parseBoolList(allowSpmdShardingPropagationToOutput,
                             options.allowToOutput)) ||
        failed(parseBoolList(allowSpmdShardingPropagationToParameters,
                             options.allowToParameters))) {
      getOperation().emitError()
          << "expected `true`/`false` lists for the allow-spmd-sharding-"
             "propagation options";
      return signalPassFailure();
    }
    options.csePreventionOnly = csePreventionOnly;
    if (failed(propagateShardings(getOperation(), options, nullptr)))
      signalPassFailure();
  }
};

} // namespace
} // namespace gshard
