// Times gshard::Module::parseFile on one module: CPU seconds per import
// (std::clock, this process only) and instructions per CPU second, best and
// median of N runs. Built only with -DGSHARD_EXAMPLE_TIMING=ON; the numbers
// in docs/performance.md come from it.
//   gshard-import-timing MODULE.hlo|MODULE.pb [RUNS]
#include "gshard/gshard.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <vector>

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3) {
    llvm::errs() << "usage: gshard-import-timing MODULE [RUNS]\n";
    return 2;
  }
  int runs = argc == 3 ? std::atoi(argv[2]) : 5;
  if (runs < 1) {
    llvm::errs() << "gshard-import-timing: RUNS must be >= 1\n";
    return 2;
  }
  std::vector<double> seconds;
  int64_t instructions = 0;
  for (int i = 0; i < runs; ++i) {
    std::clock_t start = std::clock();
    llvm::Expected<gshard::Module> module = gshard::Module::parseFile(argv[1]);
    std::clock_t end = std::clock();
    if (!module) {
      llvm::errs() << llvm::toString(module.takeError()) << "\n";
      return 2;
    }
    seconds.push_back(double(end - start) / CLOCKS_PER_SEC);
    // Instructions: every op inside a computation except its terminator.
    instructions = 0;
    for (auto computation :
         module->getOperation().getOps<gshard::hlo::ComputationOp>())
      instructions += computation.getBody().front().getOperations().size() - 1;
  }
  std::sort(seconds.begin(), seconds.end());
  double best = seconds.front(), median = seconds[seconds.size() / 2];
  llvm::outs() << argv[1] << ": " << instructions << " instructions, " << runs
               << " runs, CPU s per import: best " << llvm::format("%.3f", best)
               << ", median " << llvm::format("%.3f", median)
               << "; instructions/CPU s: best "
               << llvm::format("%.0f", instructions / best) << ", median "
               << llvm::format("%.0f", instructions / median) << "\n";
  return 0;
}
