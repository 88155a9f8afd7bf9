//===- ShardingRuleInterface.td - Op sharding rules --------*- tablegen -*-===//
//
// The op interface through which sharding propagation asks an op how its
// dimensions correspond. The hlo ops get it as external models attached by
// gshard::registerShardingRuleExternalModels (lib/Propagation), so the IR
// library does not depend on propagation.
//
//===----------------------------------------------------------------------===//

#ifndef GSHARD_PROPAGATION_SHARDINGRULEINTERFACE_TD
#define GSHARD_PROPAGATION_SHARDINGRULEINTERFACE_TD

include "mlir/IR/OpBase.td"

def ShardingRuleOpInterface : OpInterface<"ShardingRuleOpInterface"> {
  let cppNamespace = "::gshard";
  let description = [{
    A factor-based sharding rule (see gshard/Propagation/OpShardingRule.h):
    how each operand and result dimension maps onto factors shared across
    the op, plus the GSPMD propagation policy of the op's family. An invalid
    rule (no result mapping) means the op propagates no sharding.
  }];
  let methods = [
    InterfaceMethod<
      /*desc=*/"Returns the op's factor-based sharding rule.",
      /*retTy=*/"::gshard::OpShardingRule",
      /*methodName=*/"getShardingRule",
      /*args=*/(ins)>,
  ];
}

#endif // GSHARD_PROPAGATION_SHARDINGRULEINTERFACE_TD
