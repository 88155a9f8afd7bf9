//===- Passes.td - SPMD partitioner passes -----------------*- tablegen -*-===//

#ifndef GSHARD_PARTITIONER_PASSES_TD
#define GSHARD_PARTITIONER_PASSES_TD

include "mlir/Pass/PassBase.td"

def SpmdPartitioner : Pass<"gshard-partition", "mlir::ModuleOp"> {
  let summary = "Partitions a fully sharded module into one SPMD program";
  let description = [{
    GSPMD's SPMD partitioner over the hlo dialect. Every instruction of the
    ENTRY computation (and of the while/conditional/call computations it
    reaches) is rewritten to work on its local shard: parameters and the
    root take the local shapes of their shardings, each op family has a
    handler that reshards its operands with the cheapest collectives
    (dynamic-slice, all-gather, all-to-all, collective-permute, all-reduce)
    and emits the local computation. Uneven shapes use shards of
    ceil(n/k), padded and masked where padding could change a result.
    Instructions without a sharding are replicated. Ops without a dedicated
    handler run replicated, with a warning naming them and the bytes.

    The result keeps the ENTRY parameters' and root's shardings (the
    per-device program's calling convention) and sets `num_partitions` in
    the module header.
  }];
  let options = [
    Option<"numPartitions", "num-partitions", "int64_t", /*default=*/"0",
           "Number of partitions (0: the module's num_partitions header, "
           "else the largest device its shardings name + 1)">,
    Option<"explainCollectives", "explain-collectives", "bool",
           /*default=*/"false",
           "Print every inserted collective with the instruction and "
           "sharding conflict that caused it and its bytes per device">,
    Option<"warnOnReplication", "warn-on-replication", "bool",
           /*default=*/"true",
           "Warn when an op runs replicated or a tensor is fully "
           "rematerialized on every device">,
    Option<"windowedEinsumThresholdMiB", "windowed-einsum-threshold-mib",
           "int64_t", /*default=*/"256",
           "Stream a dot operand around a ring (windowed einsum) instead of "
           "all-gathering it when the gathered operand exceeds this many MiB "
           "per device; negative disables">,
  ];
}

#endif // GSHARD_PARTITIONER_PASSES_TD
