//===- SimFastPathTest.cpp - Fast paths against the general interpreter ---===//
//
// Part of gshard, under the Apache License v2.0.
//
// Every fast path that promises the general interpreter's bits (scalar
// programs for sort keys and comparators, top-k selection, reduce-window
// tap tables, convolution without padding/hole taps) runs here on
// pseudo-random data full of ties, NaN, -0 and infinities, once with
// ExecOptions::fastPaths and once without; the printed results must be
// identical.
//
//===----------------------------------------------------------------------===//

#include "gshard/IR/HloOps.h"
#include "gshard/Import/HloTextImporter.h"
#include "gshard/Sim/Interpreter.h"
#include "gshard/Sim/Literal.h"

#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

using namespace mlir;
using namespace gshard;
using namespace gshard::sim;

namespace {

class SimFastPathTest : public ::testing::Test {
protected:
  SimFastPathTest() { context.loadDialect<hlo::HloDialect>(); }

  /// Runs a module without parameters; every output printed in full.
  std::string run(const std::string &text, bool fastPaths) {
    OwningOpRef<ModuleOp> module = importHloText(text, &context);
    EXPECT_TRUE(module) << text;
    if (!module)
      return "import failed";
    std::string error;
    auto exe = Executable::create(*module, error);
    EXPECT_TRUE(exe) << error;
    if (!exe)
      return error;
    ExecOptions options;
    options.fastPaths = fastPaths;
    std::vector<std::vector<LiteralRef>> args(1);
    auto results = exe->run(args, options, error);
    EXPECT_FALSE(results.empty()) << error;
    if (results.empty())
      return error;
    std::string s;
    llvm::raw_string_ostream os(s);
    results[0]->print(os, int64_t(1) << 30);
    return os.str();
  }

  /// Same output with and without the fast paths.
  void expectSame(const std::string &text) {
    std::string fast = run(text, true), general = run(text, false);
    EXPECT_EQ(fast, general) << text;
    EXPECT_FALSE(fast.empty());
  }

  /// A `{{...}, ...}` literal of rows x cols values drawn from a small set
  /// (many ties), with NaN, +-0 and +-inf when `specials`.
  std::string floats(int64_t rows, int64_t cols, bool specials) {
    static const char *pool[] = {"-2",  "-1", "-0.5", "0",   "0.25", "1",
                                 "1.5", "3",  "-0",   "nan", "inf",  "-inf"};
    std::uniform_int_distribution<int> pick(0, specials ? 11 : 7);
    std::string s = "{";
    for (int64_t r = 0; r < rows; ++r) {
      s += r ? ", {" : "{";
      for (int64_t c = 0; c < cols; ++c)
        s += std::string(c ? ", " : "") + pool[pick(rng)];
      s += "}";
    }
    return s + "}";
  }

  std::string ints(int64_t rows, int64_t cols, int lo, int hi) {
    std::uniform_int_distribution<int> pick(lo, hi);
    std::string s = "{";
    for (int64_t r = 0; r < rows; ++r) {
      s += r ? ", {" : "{";
      for (int64_t c = 0; c < cols; ++c)
        s += (c ? ", " : "") + std::to_string(pick(rng));
      s += "}";
    }
    return s + "}";
  }

  MLIRContext context;
  std::mt19937 rng{12345};
};

/// The total-order key comparator with an index tie-break that JAX emits
/// for top-k (corpus 339/340): its keys run as a scalar program.
const char *kTotalOrderComparator = R"(
%cmp (p0: f32[], p1: f32[], p2: s32[], p3: s32[]) -> pred[] {
  %p0 = f32[] parameter(0)
  %b0 = s32[] bitcast-convert(%p0)
  %zero = s32[] constant(0)
  %neg0 = pred[] compare(%b0, %zero), direction=LT
  %max = u32[] constant(2147483647)
  %u0 = u32[] bitcast-convert(%p0)
  %s0 = u32[] subtract(%max, %u0)
  %f0 = s32[] bitcast-convert(%s0)
  %k0 = s32[] select(%neg0, %f0, %b0)
  %p1 = f32[] parameter(1)
  %b1 = s32[] bitcast-convert(%p1)
  %neg1 = pred[] compare(%b1, %zero), direction=LT
  %u1 = u32[] bitcast-convert(%p1)
  %s1 = u32[] subtract(%max, %u1)
  %f1 = s32[] bitcast-convert(%s1)
  %k1 = s32[] select(%neg1, %f1, %b1)
  %gt = pred[] compare(%k0, %k1), direction=GT
  %lt = pred[] compare(%k1, %k0), direction=GT
  %tie = pred[] compare(%gt, %lt), direction=EQ
  %p2 = s32[] parameter(2)
  %p3 = s32[] parameter(3)
  %idx = pred[] compare(%p2, %p3), direction=LT
  ROOT %r = pred[] select(%tie, %idx, %gt)
}
)";

TEST_F(SimFastPathTest, SortKeysAsScalarProgram) {
  for (int trial = 0; trial < 3; ++trial) {
    std::string text = std::string("HloModule m\n") + kTotalOrderComparator +
                       R"(
ENTRY %main () -> (f32[4,37], s32[4,37]) {
  %x = f32[4,37] constant()" +
                       floats(4, 37, true) +
                       R"()
  %i = s32[4,37] iota(), iota_dimension=1
  ROOT %s = (f32[4,37], s32[4,37]) sort(%x, %i), dimensions={1}, is_stable=true, to_apply=%cmp
}
)";
    expectSame(text);
  }
}

TEST_F(SimFastPathTest, UnrecognizedComparatorAsScalarProgram) {
  // "a > b, or equal and index(a) < index(b)" written with or/and: not the
  // mirrored form, so each comparison runs the scalar program. Sorted
  // along dimension 0 (strided elements), bf16 keys with NaN and ties.
  std::string text = R"(HloModule m
%cmp (p0: bf16[], p1: bf16[], p2: s32[], p3: s32[]) -> pred[] {
  %p0 = bf16[] parameter(0)
  %p1 = bf16[] parameter(1)
  %p2 = s32[] parameter(2)
  %p3 = s32[] parameter(3)
  %gt = pred[] compare(%p0, %p1), direction=GT, type=TOTALORDER
  %eq = pred[] compare(%p0, %p1), direction=EQ, type=TOTALORDER
  %lt = pred[] compare(%p2, %p3), direction=LT
  %both = pred[] and(%eq, %lt)
  ROOT %r = pred[] or(%gt, %both)
}
ENTRY %main () -> (bf16[29,3], s32[29,3]) {
  %x = bf16[29,3] constant()" +
                     floats(29, 3, true) +
                     R"()
  %i = s32[29,3] iota(), iota_dimension=0
  ROOT %s = (bf16[29,3], s32[29,3]) sort(%x, %i), dimensions={0}, is_stable=true, to_apply=%cmp
}
)";
  expectSame(text);
}

TEST_F(SimFastPathTest, ScalarProgramArithmeticKeys) {
  // Keys through convert, clamp, negate, multiply, maximum, shifts and
  // integer wrap-around on s8 / u16 elements.
  std::string text = R"(HloModule m
%cmp (p0: s8[], p1: s8[], p2: u16[], p3: u16[]) -> pred[] {
  %p0 = s8[] parameter(0)
  %p2 = u16[] parameter(2)
  %c0 = s32[] convert(%p0)
  %m = s32[] constant(-77)
  %prod = s32[] multiply(%c0, %m)
  %lo = s32[] constant(-300)
  %hi = s32[] constant(4000)
  %cl = s32[] clamp(%lo, %prod, %hi)
  %w0 = s8[] convert(%cl)
  %n0 = s8[] negate(%w0)
  %e0 = u16[] convert(%n0)
  %three = u16[] constant(3)
  %sh0 = u16[] shift_left(%p2, %three)
  %k0 = u16[] maximum(%e0, %sh0)
  %p1 = s8[] parameter(1)
  %p3 = u16[] parameter(3)
  %c1 = s32[] convert(%p1)
  %prod1 = s32[] multiply(%c1, %m)
  %cl1 = s32[] clamp(%lo, %prod1, %hi)
  %w1 = s8[] convert(%cl1)
  %n1 = s8[] negate(%w1)
  %e1 = u16[] convert(%n1)
  %sh1 = u16[] shift_left(%p3, %three)
  %k1 = u16[] maximum(%e1, %sh1)
  ROOT %r = pred[] compare(%k0, %k1), direction=LT
}
ENTRY %main () -> (s8[3,40], u16[3,40]) {
  %x = s8[3,40] constant()" +
                     ints(3, 40, -128, 127) +
                     R"()
  %y = u16[3,40] constant()" +
                     ints(3, 40, 0, 65535) +
                     R"()
  ROOT %s = (s8[3,40], u16[3,40]) sort(%x, %y), dimensions={1}, is_stable=true, to_apply=%cmp
}
)";
  expectSame(text);
}

TEST_F(SimFastPathTest, TopKSelectionMatchesFullSort) {
  std::string text = R"(HloModule m
%cmp (a: f32[], b: f32[]) -> pred[] {
  %a = f32[] parameter(0)
  %b = f32[] parameter(1)
  ROOT %r = pred[] compare(%a, %b), direction=GT, type=TOTALORDER
}
ENTRY %main () -> ((f32[5,7], s32[5,7]), (f32[5,4], s32[5,4]), (f32[5,4], s32[5,4])) {
  %x = f32[5,50] constant()" +
                     floats(5, 50, true) +
                     R"()
  %t = (f32[5,7], s32[5,7]) custom-call(%x), custom_call_target="TopK", called_computations={%cmp}
  %hi = (f32[5,4], s32[5,4]) topk(%x), k=4, largest=true
  %lo = (f32[5,4], s32[5,4]) topk(%x), k=4, largest=false
  ROOT %r = ((f32[5,7], s32[5,7]), (f32[5,4], s32[5,4]), (f32[5,4], s32[5,4])) tuple(%t, %hi, %lo)
}
)";
  expectSame(text);
}

/// One dimension of a window: size, stride, padding, base (lhs) and
/// window (rhs) dilation.
struct WindowDim {
  int64_t size, stride, low, high, lhsDil, rhsDil;
};

/// Output size of `n` input elements under `w`.
int64_t windowOutput(int64_t n, const WindowDim &w) {
  int64_t padded = (n - 1) * w.lhsDil + 1 + w.low + w.high;
  int64_t extent = (w.size - 1) * w.rhsDil + 1;
  return padded < extent ? 0 : (padded - extent) / w.stride + 1;
}

std::string windowAttr(const std::vector<WindowDim> &dims) {
  std::string size, stride, pad, lhs, rhs;
  for (size_t d = 0; d < dims.size(); ++d) {
    std::string x = d ? "x" : "";
    size += x + std::to_string(dims[d].size);
    stride += x + std::to_string(dims[d].stride);
    pad += x + std::to_string(dims[d].low) + "_" + std::to_string(dims[d].high);
    lhs += x + std::to_string(dims[d].lhsDil);
    rhs += x + std::to_string(dims[d].rhsDil);
  }
  return "size=" + size + " stride=" + stride + " pad=" + pad +
         " lhs_dilate=" + lhs + " rhs_dilate=" + rhs;
}

TEST_F(SimFastPathTest, ReduceWindowTapTable) {
  // Base and window dilation, negative and positive padding, strides:
  // the tap table must visit the same taps in the same order.
  std::vector<std::vector<WindowDim>> windows = {{{1, 1, 0, 0, 1, 1},
                                                  {5, 1, 4, 4, 3, 1},
                                                  {5, 1, 4, 4, 3, 1},
                                                  {1, 1, 0, 0, 1, 1}},
                                                 {{2, 1, 1, 0, 1, 1},
                                                  {3, 2, 2, 3, 1, 2},
                                                  {2, 3, -1, 2, 1, 3},
                                                  {1, 1, 0, 0, 1, 1}},
                                                 {{3, 2, 2, 2, 2, 2},
                                                  {2, 1, 0, 1, 1, 1},
                                                  {3, 1, 1, 1, 2, 1},
                                                  {2, 1, 1, 0, 1, 1}}};
  int64_t in[4] = {3, 2, 7, 5};
  for (const auto &window : windows) {
    std::string shape = "f32[";
    for (int d = 0; d < 4; ++d)
      shape += (d ? "," : "") + std::to_string(windowOutput(in[d], window[d]));
    shape += "]";
    for (const char *reducer : {"add", "maximum"}) {
      std::string text = std::string(R"(HloModule m
%red (a: f32[], b: f32[]) -> f32[] {
  %a = f32[] parameter(0)
  %b = f32[] parameter(1)
  ROOT %r = f32[] )") + reducer +
                         R"((%a, %b)
}
ENTRY %main () -> )" + shape +
                         R"( {
  %x0 = f32[42,5] constant()" +
                         floats(42, 5, false) +
                         R"()
  %x = f32[3,2,7,5] reshape(%x0)
  %init = f32[] constant(-0.5)
  ROOT %rw = )" + shape + R"( reduce-window(%x, %init), window={)" +
                         windowAttr(window) + R"(}, to_apply=%red
}
)";
      expectSame(text);
    }
  }
}

TEST_F(SimFastPathTest, ConvolutionWithoutHoleTaps) {
  // lhs dilation with a stride that walks the dilation phases (as in
  // corpus 024), padding, and window dilation; then the same with an inf
  // in the kernel, where every tap must stay (0 * inf is NaN).
  std::vector<std::vector<WindowDim>> windows = {
      {{4, 3, 0, 0, 4, 1}, {3, 1, 1, 2, 1, 1}},
      {{3, 2, 2, 1, 3, 2}, {2, 1, -1, 3, 2, 1}},
      {{5, 1, 2, 2, 1, 2}, {3, 2, 0, 0, 1, 1}}};
  int64_t in[2] = {6, 5};
  for (const auto &window : windows) {
    int64_t out0 = windowOutput(in[0], window[0]);
    int64_t out1 = windowOutput(in[1], window[1]);
    std::string kernelShape = "f32[" + std::to_string(window[0].size) + "," +
                              std::to_string(window[1].size) + ",3,2]";
    int64_t kernelCount = window[0].size * window[1].size * 3 * 2;
    std::string outShape =
        "f32[2," + std::to_string(out0) + "," + std::to_string(out1) + ",2]";
    for (bool inf : {false, true}) {
      // With `inf`: an inf followed by kernelCount - 1 random values.
      std::string kernel = floats(1, kernelCount - inf, false);
      if (inf)
        kernel.insert(2, "inf, ");
      std::string text = R"(HloModule m
ENTRY %main () -> )" + outShape +
                         R"( {
  %x0 = f32[1,180] constant()" +
                         floats(1, 180, false) +
                         R"()
  %x = f32[2,6,5,3] reshape(%x0)
  %k0 = f32[1,)" + std::to_string(kernelCount) +
                         "] constant(" + kernel + R"()
  %k = )" + kernelShape + R"( reshape(%k0)
  ROOT %c = )" + outShape +
                         R"( convolution(%x, %k), window={)" +
                         windowAttr(window) + R"(}, dim_labels=b01f_01io->b01f
}
)";
      expectSame(text);
    }
  }
}

TEST_F(SimFastPathTest, PadByRows) {
  // Negative and positive edge padding on every dimension, interior
  // padding on the outer ones, a row clipped away entirely, bf16 (2-byte)
  // and s32 elements.
  const char *paddings[] = {"1_2x0_0x2_1", "-1_1x1_2_1x-2_3",
                            "0_0x-1_-1_2x0_-4", "2_-1_1x0_1x-5_1",
                            "1_0x0_0x-8_9"};
  const char *shapes[] = {"[9,5,10]", "[6,12,8]", "[6,11,3]", "[12,6,3]",
                          "[7,5,8]"};
  for (int k = 0; k < 5; ++k) {
    for (const char *type : {"bf16", "s32"}) {
      std::string value = std::string(type) == "s32" ? "-7" : "0.5";
      std::string init = std::string(type) == "s32" ? ints(6, 35, -100, 100)
                                                    : floats(6, 35, true);
      std::string text =
          std::string("HloModule m\nENTRY %main () -> ") + type + shapes[k] +
          " {\n  %x0 = " + type + "[6,35] constant(" + init +
          ")\n  %x = " + type + "[6,5,7] reshape(%x0)\n  %v = " + type +
          "[] constant(" + value + ")\n  ROOT %p = " + type + shapes[k] +
          " pad(%x, %v), padding=" + paddings[k] + "\n}\n";
      expectSame(text);
    }
  }
}

/// Devices of one run share the result of a pure op whose operands have
/// the same bits (SharedWork): every device's result must be the one it
/// would compute itself. Devices 0, 2, 4, 6 and 1, 3, 5, 7 hold different
/// operands (they depend on partition-id mod 2), so sharing must tell
/// them apart; the operands (72-128 KiB) are large enough to be shared.
TEST_F(SimFastPathTest, DevicesShareResultsOfEqualOperands) {
  const std::string module = R"(HloModule m, num_partitions=8
%gt (a: f32[], b: f32[], c: s32[], d: s32[]) -> pred[] {
  %a = f32[] parameter(0)
  %b = f32[] parameter(1)
  %c = s32[] parameter(2)
  %d = s32[] parameter(3)
  ROOT %r = pred[] compare(%a, %b), direction=GT, type=TOTALORDER
}
ENTRY %main () -> (f32[96,96], f32[2,12,12,8], f32[4,4096], s32[4,4096]) {
  %pid = u32[] partition-id()
  %two = u32[] constant(2)
  %parity = u32[] remainder(%pid, %two)
  %pf = f32[] convert(%parity)
  %i = f32[96,96] iota(), iota_dimension=0
  %j = f32[96,96] iota(), iota_dimension=1
  %si = f32[96,96] sine(%i)
  %cj = f32[96,96] cosine(%j)
  %x0 = f32[96,96] multiply(%si, %cj)
  %shift = f32[96,96] broadcast(%pf), dimensions={}
  %x = f32[96,96] add(%x0, %shift)
  %y = f32[96,96] add(%si, %cj)
  %dot = f32[96,96] dot(%x, %y), lhs_contracting_dims={1}, rhs_contracting_dims={0}
  %xy = f32[192,96] concatenate(%x, %y), dimensions={0}
  %img = f32[2,12,12,64] reshape(%xy)
  %yk = f32[9216] reshape(%y)
  %ky = f32[4608] slice(%yk), slice={[0:4608]}
  %ker = f32[3,3,64,8] reshape(%ky)
  %conv = f32[2,12,12,8] convolution(%img, %ker), window={size=3x3 pad=1_1x1_1}, dim_labels=b01f_01io->b01f
  %flat = f32[9216] reshape(%dot)
  %keys0 = f32[8192] slice(%flat), slice={[0:8192]}
  %keys1 = f32[16384] concatenate(%keys0, %keys0), dimensions={0}
  %keys = f32[4,4096] reshape(%keys1)
  %idx = s32[4,4096] iota(), iota_dimension=1
  %sort = (f32[4,4096], s32[4,4096]) sort(%keys, %idx), dimensions={1}, to_apply=%gt
  %sv = f32[4,4096] get-tuple-element(%sort), index=0
  %sx = s32[4,4096] get-tuple-element(%sort), index=1
  ROOT %t = (f32[96,96], f32[2,12,12,8], f32[4,4096], s32[4,4096]) tuple(%dot, %conv, %sv, %sx)
}
)";
  auto runAll = [&](bool fastPaths) {
    std::vector<std::string> printed;
    OwningOpRef<ModuleOp> m = importHloText(module, &context);
    EXPECT_TRUE(m) << module;
    if (!m)
      return printed;
    std::string error;
    auto exe = Executable::create(*m, error);
    EXPECT_TRUE(exe) << error;
    if (!exe)
      return printed;
    ExecOptions options;
    options.numPartitions = 8;
    options.fastPaths = fastPaths;
    std::vector<std::vector<LiteralRef>> args(8);
    auto results = exe->run(args, options, error);
    EXPECT_EQ(results.size(), 8u) << error;
    for (const LiteralRef &r : results) {
      std::string s;
      llvm::raw_string_ostream os(s);
      r->print(os, int64_t(1) << 30);
      printed.push_back(os.str());
    }
    return printed;
  };
  std::vector<std::string> fast = runAll(true), general = runAll(false);
  ASSERT_EQ(fast.size(), 8u);
  ASSERT_EQ(general.size(), 8u);
  for (int d = 0; d < 8; ++d)
    EXPECT_EQ(fast[d], general[d]) << "device " << d;
  // The two operand classes really differ, and equal ones agree.
  EXPECT_NE(general[0], general[1]);
  EXPECT_EQ(general[0], general[6]);
  EXPECT_EQ(general[1], general[7]);
}

/// A sort by one key compared with GT or LT (a strict weak order for
/// integers and NaN-free floats) runs as std::stable_sort; with ties, -0,
/// infinities and (falling back to the merge sort) NaN it must give the
/// general interpreter's permutation, for f32/bf16 FLOAT and TOTALORDER,
/// s32 and u16 keys, carrying a second operand along.
TEST_F(SimFastPathTest, SortBySingleKey) {
  struct Case {
    const char *type, *direction, *compareType;
    bool specials;
  };
  const Case cases[] = {{"f32", "GT", "", false},
                        {"f32", "LT", "", true},
                        {"bf16", "GT", ", type=TOTALORDER", true},
                        {"f32", "LT", ", type=TOTALORDER", false},
                        {"s32", "GT", "", false},
                        {"u16", "LT", "", false}};
  for (const Case &c : cases) {
    std::string type = c.type;
    bool isInt = type == "s32" || type == "u16";
    std::string keys = isInt ? ints(5, 61, type == "u16" ? 0 : -4, 4)
                             : floats(5, 61, c.specials);
    std::string text =
        "HloModule m\n%cmp (a: " + type + "[], b: " + type +
        "[], c: s32[], d: s32[]) -> pred[] {\n  %a = " + type +
        "[] parameter(0)\n  %b = " + type +
        "[] parameter(1)\n  %c = s32[] parameter(2)\n  %d = "
        "s32[] parameter(3)\n  ROOT %r = pred[] compare(%a, "
        "%b), direction=" +
        c.direction + c.compareType + "\n}\nENTRY %main () -> (" + type +
        "[5,61], s32[5,61]) {\n  %k = " + type + "[5,61] constant(" + keys +
        ")\n  %i = s32[5,61] iota(), iota_dimension=1\n  ROOT "
        "%s = (" +
        type +
        "[5,61], s32[5,61]) sort(%k, %i), dimensions={1}, "
        "to_apply=%cmp\n}\n";
    expectSame(text);
  }
}

} // namespace
