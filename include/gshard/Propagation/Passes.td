//===- Passes.td - Sharding propagation passes -------------*- tablegen -*-===//

#ifndef GSHARD_PROPAGATION_PASSES_TD
#define GSHARD_PROPAGATION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ShardingPropagation : Pass<"gshard-propagate", "mlir::ModuleOp"> {
  let summary = "Completes the shardings of every HLO instruction (GSPMD)";
  let description = [{
    XLA's sharding propagation over the hlo dialect: user annotations stay
    fixed; every other instruction gets a sharding from its operands
    (forward) or its users (backward), following each op's factor-based
    sharding rule, at increasing aggressiveness levels 0..3 until a fixed
    point. Tiled and partially replicated shardings merge; manual shardings,
    tuple shardings, while/conditional/call edges and the `Sharding`,
    `SPMDFullToShardShape` and `SPMDShardToFullShape` custom calls follow
    XLA's semantics. Every assigned sharding records where it came from
    (see gshard/Propagation/Propagation.h).
  }];
  let options = [
    Option<"isSpmd", "is-spmd", "bool", /*default=*/"true",
           "SPMD mode (partial shardings merge); false is XLA's MPMD mode">,
    Option<"propagateMetadata", "propagate-metadata", "bool",
           /*default=*/"false",
           "Attach instruction metadata to the shardings it originates">,
    Option<"allowSpmdShardingPropagationToOutput",
           "allow-spmd-sharding-propagation-to-output", "std::string",
           /*default=*/"\"false\"",
           "Per output (or one for all), `true`/`false` separated by `;`: "
           "the entry root's sharding may be changed">,
    Option<"allowSpmdShardingPropagationToParameters",
           "allow-spmd-sharding-propagation-to-parameters", "std::string",
           /*default=*/"\"false\"",
           "Per parameter (or one for all), `true`/`false` separated by `;`: "
           "entry parameters' shardings may be changed">,
    Option<"csePreventionOnly", "cse-prevention-only", "bool",
           /*default=*/"false",
           "Only keep shardings on CSE prevention targets (scalar "
           "broadcasts), marked for removal by a later run">,
  ];
}

#endif // GSHARD_PROPAGATION_PASSES_TD
