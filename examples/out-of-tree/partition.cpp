// Partitions an HLO module (text or binary proto) with gshard's C++ API,
// prints the per-device program and checks it against the original on the
// simulator. Exit status: 0 match, 1 mismatch, 2 error.
#include "gshard/gshard.h"

#include "llvm/Support/raw_ostream.h"

int main(int argc, char **argv) {
  if (argc != 2) {
    llvm::errs() << "usage: gshard-partition-example MODULE.hlo|MODULE.pb\n";
    return 2;
  }
  auto fail = [](llvm::Error error) {
    llvm::errs() << llvm::toString(std::move(error)) << "\n";
    return 2;
  };
  llvm::Expected<gshard::Module> module = gshard::Module::parseFile(argv[1]);
  if (!module)
    return fail(module.takeError());
  gshard::Module original = module->clone();
  std::vector<gshard::CollectiveRecord> collectives;
  if (llvm::Error error = module->propagate())
    return fail(std::move(error));
  if (llvm::Error error = module->partition({}, &collectives))
    return fail(std::move(error));
  llvm::Expected<std::string> text = module->toHloText();
  if (!text)
    return fail(text.takeError());
  llvm::outs() << *text;
  gshard::printCollectiveRecords(collectives, llvm::outs());

  llvm::Expected<gshard::CheckResult> check =
      gshard::checkPartitioned(*module, original);
  if (!check)
    return fail(check.takeError());
  llvm::outs() << "check on " << check->numPartitions
               << " devices: " << (check->match ? "match" : "MISMATCH") << "\n";
  return check->match ? 0 : 1;
}
