// RUN: gshard-opt %s | FileCheck %s
// RUN: gshard-opt %s -o %t.1.hlo && gshard-opt %t.1.hlo -o %t.2.hlo && cmp %t.1.hlo %t.2.hlo

// Instructions keep the names of their NameLocs; unnamed ones (made by
// passes) get `opcode.N`; clashes are renamed `name.N`, module-wide and in
// print order, so printing is deterministic.

// CHECK:      %callee (parameter.1: f32[]) -> f32[] {
// CHECK-NEXT:   %parameter.1 = f32[] parameter(0)
// CHECK-NEXT:   ROOT %x = f32[] negate(%parameter.1)
// CHECK-NEXT: }
// CHECK:      ENTRY %main (x.1: f32[]) -> (f32[], f32[], f32[], f32[], f32[], /*index=5*/f32[]) {
// CHECK-NEXT:   %x.1 = f32[] parameter(0)
// CHECK-NEXT:   %negate.1 = f32[] negate(%x.1)
// CHECK-NEXT:   %negate.2 = f32[] negate(%negate.1)
// CHECK-NEXT:   %add.7 = f32[] add(%negate.1, %negate.2)
// CHECK-NEXT:   %add.8 = f32[] add(%add.7, %add.7)
// CHECK-NEXT:   %call = f32[] call(%add.8), to_apply=%callee, control-predecessors={%add.7}
// CHECK-NEXT:   ROOT %tuple.1 = (f32[], f32[], f32[], f32[], f32[], /*index=5*/f32[]) tuple(%x.1, %negate.1, %negate.2, %add.7, %add.8, /*index=5*/%call)
// CHECK-NEXT: }

module @names {
  hlo.computation @main attributes {is_entry} {
    %0 = hlo.parameter {parameter_number = 0 : i64} : () -> tensor<f32> loc("x")
    %1 = hlo.negate %0 : (tensor<f32>) -> tensor<f32>
    %2 = hlo.negate %1 : (tensor<f32>) -> tensor<f32>
    %3 = hlo.add %1, %2 : (tensor<f32>, tensor<f32>) -> tensor<f32> loc("add.7")
    %4 = hlo.add %3, %3 : (tensor<f32>, tensor<f32>) -> tensor<f32> loc("add.7")
    %5 = hlo.call %4 {to_apply = @callee, control_predecessors = ["add.7"]} : (tensor<f32>) -> tensor<f32> loc("call")
    %6 = hlo.tuple %0, %1, %2, %3, %4, %5 : (tensor<f32>, tensor<f32>, tensor<f32>, tensor<f32>, tensor<f32>, tensor<f32>) -> tuple<tensor<f32>, tensor<f32>, tensor<f32>, tensor<f32>, tensor<f32>, tensor<f32>>
    hlo.return %6 : tuple<tensor<f32>, tensor<f32>, tensor<f32>, tensor<f32>, tensor<f32>, tensor<f32>>
  }
  hlo.computation @callee {
    %0 = hlo.parameter {parameter_number = 0 : i64} : () -> tensor<f32>
    %1 = hlo.negate %0 : (tensor<f32>) -> tensor<f32> loc("x")
    hlo.return %1 : tensor<f32>
  }
}
