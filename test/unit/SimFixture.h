//===- SimFixture.h - Shared fixture of the interpreter tests ---*- C++ -*-===//
//
// Part of gshard, under the Apache License v2.0.
//
// Imports an HLO module without parameters, runs it on N simulated devices
// and returns each device's result printed (or the run's error).
//
//===----------------------------------------------------------------------===//

#ifndef GSHARD_TEST_UNIT_SIMFIXTURE_H
#define GSHARD_TEST_UNIT_SIMFIXTURE_H

#include "gshard/IR/HloOps.h"
#include "gshard/Import/HloTextImporter.h"
#include "gshard/Sim/Interpreter.h"
#include "gshard/Sim/Literal.h"

#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace gshard::sim {

class SimFixture : public ::testing::Test {
protected:
  SimFixture() { context.loadDialect<hlo::HloDialect>(); }

  /// Runs a module without parameters on `devices` partitions; returns
  /// device 0's (or all devices') result printed.
  std::vector<std::string> runAll(llvm::StringRef text, int64_t devices = 1) {
    mlir::OwningOpRef<mlir::ModuleOp> module = importHloText(text, &context);
    EXPECT_TRUE(module);
    if (!module)
      return {};
    std::string error;
    auto exe = Executable::create(*module, error);
    EXPECT_TRUE(exe) << error;
    if (!exe)
      return {};
    ExecOptions options;
    options.numPartitions = devices;
    std::vector<std::vector<LiteralRef>> args(devices);
    auto results = exe->run(args, options, error);
    EXPECT_FALSE(results.empty()) << error;
    lastError = error;
    std::vector<std::string> printed;
    for (const LiteralRef &r : results) {
      std::string s;
      llvm::raw_string_ostream os(s);
      r->print(os, 1000);
      printed.push_back(os.str());
    }
    return printed;
  }

  std::string run(llvm::StringRef body, int64_t devices = 1) {
    auto all = runAll(body, devices);
    return all.empty() ? "" : all[0];
  }

  /// Error of a failing run.
  std::string runError(llvm::StringRef text, int64_t devices = 1) {
    mlir::OwningOpRef<mlir::ModuleOp> module = importHloText(text, &context);
    if (!module)
      return "import failed";
    std::string error;
    auto exe = Executable::create(*module, error);
    if (!exe)
      return error;
    if (!exe->checkExecutable(error))
      return error;
    ExecOptions options;
    options.numPartitions = devices;
    std::vector<std::vector<LiteralRef>> args(devices);
    auto results = exe->run(args, options, error);
    return results.empty() ? error : "";
  }

  mlir::MLIRContext context;
  std::string lastError;
};

} // namespace gshard::sim

#endif // GSHARD_TEST_UNIT_SIMFIXTURE_H
