//===- gshard-propagation-conformance.cpp - XLA propagation conformance ---===//
//
// Runs every case of the xla-propagation corpus (cases.tsv: one HLO module
// and the ShardingPropagation options of one XLA test) and checks each row
// of expected.tsv: the named instruction's sharding must equal the expected
// one semantically (iota == explicit device list, metadata ignored), or be
// absent for `NoSharding`. Options given as the gtest parameter (`PARAM`)
// are run with every value; a row passes only if it holds for all.
//
//   gshard-propagation-conformance CORPUS_DIR [--failures=FILE]
//                                  [--min-rows=N] [--verbose]
//
// Prints `propagation conformance: N/M rows`; exit 1 when N < --min-rows,
// 2 on unreadable input.
//
//===----------------------------------------------------------------------===//

#include "gshard/Import/HloTextImporter.h"
#include "gshard/Propagation/Propagation.h"
#include "gshard/Sharding/Sharding.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <map>
#include <string>
#include <vector>

using namespace mlir;

namespace {

llvm::cl::opt<std::string> corpusDir(llvm::cl::Positional,
                                     llvm::cl::desc("<xla-propagation dir>"),
                                     llvm::cl::Required);
llvm::cl::opt<std::string>
    failuresFile("failures", llvm::cl::desc("Write failing rows here"),
                 llvm::cl::init(""));
llvm::cl::opt<unsigned>
    minRows("min-rows",
            llvm::cl::desc("Exit 1 when fewer rows than this pass"),
            llvm::cl::init(0));
llvm::cl::opt<bool> verbose("verbose",
                            llvm::cl::desc("Print every failing row"),
                            llvm::cl::init(false));
llvm::cl::opt<std::string> onlyCase("case",
                                    llvm::cl::desc("Run only this file"),
                                    llvm::cl::init(""));

struct Case {
  std::string file;
  std::vector<gshard::PropagationOptions> variants;
};

struct Row {
  std::string file, instruction, expected;
};

std::vector<std::vector<std::string>> readTsv(llvm::StringRef path) {
  std::vector<std::vector<std::string>> rows;
  auto buffer = llvm::MemoryBuffer::getFile(path);
  if (!buffer)
    return rows;
  llvm::SmallVector<llvm::StringRef> lines;
  (*buffer)->getBuffer().split(lines, '\n', -1, false);
  for (llvm::StringRef line : llvm::drop_begin(lines)) {
    llvm::SmallVector<llvm::StringRef> fields;
    line.split(fields, '\t');
    std::vector<std::string> row;
    for (llvm::StringRef f : fields)
      row.push_back(f.str());
    rows.push_back(std::move(row));
  }
  return rows;
}

/// Expands one option column: PARAM values become both alternatives.
std::vector<std::string> alternatives(const std::string &value,
                                      llvm::StringRef whenParam1,
                                      llvm::StringRef whenParam2) {
  if (llvm::StringRef(value).contains("PARAM"))
    return {whenParam1.str(), whenParam2.str()};
  return {value};
}

bool parseBool(llvm::StringRef text) { return text.trim() == "true"; }

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);
  llvm::cl::ParseCommandLineOptions(argc, argv,
                                    "XLA sharding-propagation conformance\n");
  std::string casesPath = (corpusDir + "/cases.tsv");
  std::string expectedPath = (corpusDir + "/expected.tsv");
  auto caseRows = readTsv(casesPath);
  auto expectedRows = readTsv(expectedPath);
  if (caseRows.empty() || expectedRows.empty()) {
    llvm::errs() << "gshard-propagation-conformance: error: cannot read "
                 << casesPath << " / " << expectedPath << "\n";
    return 2;
  }

  std::map<std::string, Case> cases;
  for (auto &row : caseRows) {
    if (row.size() < 9)
      continue;
    Case c;
    c.file = row[0];
    for (const std::string &out : alternatives(row[6], "{false}", "{true}"))
      for (const std::string &params :
           alternatives(row[7], "{false}", "{true}")) {
        gshard::PropagationOptions options;
        options.isSpmd = parseBool(row[4]);
        options.propagateMetadata = parseBool(row[5]);
        options.csePreventionOnly = parseBool(row[8]);
        if (failed(gshard::parseBoolList(out, options.allowToOutput)) ||
            failed(gshard::parseBoolList(params, options.allowToParameters)))
          continue;
        c.variants.push_back(options);
      }
    cases[c.file] = c;
  }
  std::map<std::string, std::vector<Row>> rowsByFile;
  size_t total = 0;
  for (auto &row : expectedRows) {
    if (row.size() < 3)
      continue;
    if (!onlyCase.empty() && row[0] != onlyCase)
      continue;
    rowsByFile[row[0]].push_back({row[0], row[1], row[2]});
    ++total;
  }

  DialectRegistry registry;
  registry.insert<gshard::hlo::HloDialect>();
  gshard::registerShardingRuleExternalModels(registry);
  std::string failures;
  llvm::raw_string_ostream failOs(failures);
  size_t passed = 0;
  for (auto &[file, rows] : rowsByFile) {
    auto it = cases.find(file);
    std::vector<gshard::PropagationOptions> variants =
        it == cases.end() ? std::vector<gshard::PropagationOptions>{{}}
                          : it->second.variants;
    std::vector<bool> ok(rows.size(), true);
    std::vector<std::string> got(rows.size());
    for (const gshard::PropagationOptions &options : variants) {
      MLIRContext context(registry);
      context.loadAllAvailableDialects();
      std::string diagnostics;
      ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
        diagnostics += diag.str() + "\n";
        return success();
      });
      std::string path = corpusDir + "/" + file;
      auto buffer = llvm::MemoryBuffer::getFile(path);
      if (!buffer) {
        ok.assign(rows.size(), false);
        got.assign(rows.size(), "unreadable");
        break;
      }
      llvm::SourceMgr sourceMgr;
      sourceMgr.AddNewSourceBuffer(std::move(*buffer), llvm::SMLoc());
      OwningOpRef<ModuleOp> module =
          gshard::importHloText(sourceMgr, &context);
      if (!module ||
          failed(gshard::propagateShardings(*module, options, nullptr))) {
        ok.assign(rows.size(), false);
        got.assign(rows.size(), "import/propagation failed: " +
                                    llvm::StringRef(diagnostics)
                                        .split('\n')
                                        .first.str());
        break;
      }
      for (auto [i, row] : llvm::enumerate(rows)) {
        Operation *op = gshard::findInstruction(*module, row.instruction);
        if (!op) {
          ok[i] = false;
          got[i] = "no such instruction";
          continue;
        }
        auto actual = op->getAttrOfType<gshard::hlo::ShardingAttr>("sharding");
        std::string actualText = "NoSharding";
        if (actual) {
          actualText.clear();
          llvm::raw_string_ostream os(actualText);
          actual.withoutMetadata().printHlo(os);
        }
        bool match;
        if (row.expected == "NoSharding") {
          match = !actual;
        } else {
          std::string error;
          size_t errorPos = 0;
          auto expected = gshard::hlo::ShardingAttr::parseHlo(
              &context, row.expected, error, errorPos);
          match = succeeded(expected) && actual &&
                  gshard::shardingsEqual(actual, *expected);
        }
        if (!match) {
          ok[i] = false;
          got[i] = actualText;
        }
      }
    }
    for (auto [i, row] : llvm::enumerate(rows)) {
      if (ok[i]) {
        ++passed;
        continue;
      }
      failOs << row.file << "\t" << row.instruction << "\texpected "
             << row.expected << "\tgot " << got[i] << "\n";
    }
  }
  if (!failuresFile.empty()) {
    std::error_code ec;
    llvm::raw_fd_ostream out(failuresFile, ec);
    if (ec) {
      llvm::errs() << "gshard-propagation-conformance: error: cannot write "
                   << failuresFile << ": " << ec.message() << "\n";
      return 2;
    }
    out << failures;
  }
  if (verbose)
    llvm::outs() << failures;
  llvm::outs() << "propagation conformance: " << passed << "/" << total
               << " rows\n";
  return passed < minRows ? 1 : 0;
}
