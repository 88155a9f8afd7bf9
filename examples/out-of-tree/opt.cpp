// An mlir-opt for the hlo dialect: MLIR's driver with gshard's dialects
// and passes registered the MLIR way (gshard/InitAll.h), e.g.
//   gshard-example-opt module.mlir --pass-pipeline='builtin.module(
//       gshard-propagate, gshard-partition)'
#include "gshard/InitAll.h"

#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  gshard::registerAllDialects(registry);
  gshard::registerAllPasses();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "gshard example opt\n", registry));
}
