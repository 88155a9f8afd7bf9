// RUN: not gshard-opt %s 2>&1 | FileCheck %s

// IR that HLO text cannot express is an error naming the op and the reason,
// never silently dropped.

// CHECK: {{.*}}errors.mlir:[[@LINE+3]]:10: error: cannot be printed as HLO: attribute 'my_attr' has no HLO spelling (it is not in HloAttrSyntax.def)
module @errors {
  hlo.computation @main attributes {is_entry} {
    %0 = hlo.parameter {parameter_number = 0 : i64, my_attr = 1 : i64} : () -> tensor<f32>
    hlo.return %0 : tensor<f32>
  }
}
