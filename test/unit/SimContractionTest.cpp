//===- SimContractionTest.cpp - dot/convolution against naive loops -------===//
//
// Part of gshard, under the Apache License v2.0.
//
// The simulator's dot and convolution read their operands in place and
// accumulate block by block; they promise the bits of the naive loop that
// sums the products of each output in increasing contraction order in
// double (64-bit integers, complex<double>) from zero and rounds once into
// the result type. These tests run random shapes, dimension numbers,
// layouts (batch dims anywhere, transposed contracting dims, permuted
// dim_labels) and element types (f32, f64, bf16, f16, s32, s8, pred, c64,
// mixed) through the interpreter and compare every result byte with that
// loop, written here independently of lib/Sim.
//
//===----------------------------------------------------------------------===//

#include "gshard/IR/HloOps.h"
#include "gshard/Import/HloTextImporter.h"
#include "gshard/Sim/Interpreter.h"
#include "gshard/Sim/Literal.h"

#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <complex>
#include <numeric>
#include <random>
#include <string>

using namespace mlir;
using namespace gshard;
using namespace gshard::sim;

namespace {

std::string join(llvm::ArrayRef<int64_t> values, const char *sep = ",") {
  std::string s;
  for (size_t i = 0; i < values.size(); ++i)
    s += (i ? sep : "") + std::to_string(values[i]);
  return s;
}

std::string shapeText(const std::string &type, llvm::ArrayRef<int64_t> dims) {
  return type + "[" + join(dims) + "]";
}

class SimContractionTest : public ::testing::Test {
protected:
  SimContractionTest() { context.loadDialect<hlo::HloDialect>(); }

  /// Parses an element type spelled in HLO (f32, bf16, s32, c64, ...).
  Type elementType(const std::string &name) {
    if (name == "f32")
      return Float32Type::get(&context);
    if (name == "f64")
      return Float64Type::get(&context);
    if (name == "bf16")
      return BFloat16Type::get(&context);
    if (name == "f16")
      return Float16Type::get(&context);
    if (name == "s32")
      return IntegerType::get(&context, 32);
    if (name == "s8")
      return IntegerType::get(&context, 8);
    if (name == "pred")
      return IntegerType::get(&context, 1);
    if (name == "c64")
      return ComplexType::get(Float32Type::get(&context));
    ADD_FAILURE() << "unknown type " << name;
    return {};
  }

  /// Random values: floats from [-2, 2) (so sums round), with a few
  /// zeros, -0 and exact small integers; integers in [-50, 50); pred 0/1.
  LiteralRef randomArray(const std::string &type,
                         llvm::ArrayRef<int64_t> dims) {
    LiteralRef lit = Literal::makeArray(elementType(type), dims);
    std::uniform_real_distribution<double> real(-2.0, 2.0);
    std::uniform_int_distribution<int> pick(0, 15), integer(-50, 49);
    for (int64_t i = 0; i < lit->getNumElements(); ++i) {
      auto value = [&]() {
        int p = pick(rng);
        return p == 0   ? 0.0
               : p == 1 ? -0.0
               : p == 2 ? double(integer(rng))
                        : real(rng);
      };
      if (type == "pred")
        lit->setInt(i, pick(rng) & 1);
      else if (type == "s32" || type == "s8")
        lit->setInt(i, integer(rng));
      else if (type == "c64")
        lit->setComplex(i, {value(), value()});
      else
        lit->setFloat(i, value());
    }
    return lit;
  }

  /// Runs `text` (ENTRY with two parameters) on `lhs`, `rhs`.
  LiteralRef run(const std::string &text, LiteralRef lhs, LiteralRef rhs) {
    OwningOpRef<ModuleOp> module = importHloText(text, &context);
    EXPECT_TRUE(module) << text;
    if (!module)
      return nullptr;
    std::string error;
    auto exe = Executable::create(*module, error);
    EXPECT_TRUE(exe) << error;
    if (!exe)
      return nullptr;
    ExecOptions options;
    std::vector<std::vector<LiteralRef>> args = {{lhs, rhs}};
    auto results = exe->run(args, options, error);
    EXPECT_EQ(results.size(), 1u) << error << "\n" << text;
    return results.empty() ? nullptr : results[0];
  }

  static bool isIntegral(const std::string &type) {
    return type == "s32" || type == "s8" || type == "pred";
  }

  /// Rounds a double sum into element `o` of `out` as the simulator
  /// specifies (f32: one float conversion; integers: saturating; others:
  /// round to nearest even).
  static void store(Literal &out, int64_t o, double sum) {
    if (out.getKind() == ElemKind::F32)
      out.setFloat(o, static_cast<float>(sum));
    else if (isIntegralKind(out.getKind()))
      out.setFromDouble(o, sum);
    else
      out.setFloat(o, sum);
  }

  void expectSameBytes(const Literal &actual, const Literal &expected,
                       const std::string &text) {
    ASSERT_EQ(actual.getNumBytes(), expected.getNumBytes()) << text;
    for (int64_t i = 0; i < expected.getNumElements(); ++i) {
      unsigned bytes = expected.getElementBytes();
      if (std::memcmp(actual.data() + i * bytes, expected.data() + i * bytes,
                      bytes)) {
        std::string a, e;
        llvm::raw_string_ostream as(a), es(e);
        actual.printElement(as, i);
        expected.printElement(es, i);
        ADD_FAILURE() << "element " << i << ": " << as.str() << " vs "
                      << es.str() << "\n"
                      << text;
        return;
      }
    }
  }

  /// A random dot: `nb` batch, `nl`/`nr` free and `nc` contracting dims,
  /// each operand's dims in a random order; sizes from `sizes`.
  void checkDot(const std::string &lt, const std::string &rt,
                const std::string &ot, int nb, int nl, int nr, int nc,
                std::vector<int64_t> sizes) {
    // Sizes in order: batch..., lhs free..., rhs free..., contracting...
    ASSERT_EQ(sizes.size(), size_t(nb + nl + nr + nc));
    std::vector<int64_t> batchSize(sizes.begin(), sizes.begin() + nb);
    std::vector<int64_t> lfSize(sizes.begin() + nb, sizes.begin() + nb + nl);
    std::vector<int64_t> rfSize(sizes.begin() + nb + nl,
                                sizes.begin() + nb + nl + nr);
    std::vector<int64_t> cSize(sizes.begin() + nb + nl + nr, sizes.end());
    // Logical dim j of an operand (batch, free, contracting) sits at
    // position perm[j].
    auto permutation = [&](int n) {
      std::vector<int64_t> p(n);
      std::iota(p.begin(), p.end(), 0);
      std::shuffle(p.begin(), p.end(), rng);
      return p;
    };
    std::vector<int64_t> lp = permutation(nb + nl + nc),
                         rp = permutation(nb + nr + nc);
    std::vector<int64_t> lShape(nb + nl + nc), rShape(nb + nr + nc);
    std::vector<int64_t> lb, lc, rb, rc;
    for (int i = 0; i < nb; ++i) {
      lShape[lp[i]] = batchSize[i];
      rShape[rp[i]] = batchSize[i];
      lb.push_back(lp[i]);
      rb.push_back(rp[i]);
    }
    for (int i = 0; i < nl; ++i)
      lShape[lp[nb + i]] = lfSize[i];
    for (int i = 0; i < nr; ++i)
      rShape[rp[nb + i]] = rfSize[i];
    for (int i = 0; i < nc; ++i) {
      lShape[lp[nb + nl + i]] = cSize[i];
      rShape[rp[nb + nr + i]] = cSize[i];
      lc.push_back(lp[nb + nl + i]);
      rc.push_back(rp[nb + nr + i]);
    }
    // Free dims appear in the result in increasing operand position.
    std::vector<int64_t> lf, rf;
    for (int64_t d = 0; d < nb + nl + nc; ++d)
      if (!llvm::is_contained(lb, d) && !llvm::is_contained(lc, d))
        lf.push_back(d);
    for (int64_t d = 0; d < nb + nr + nc; ++d)
      if (!llvm::is_contained(rb, d) && !llvm::is_contained(rc, d))
        rf.push_back(d);
    std::vector<int64_t> oShape(batchSize);
    for (int64_t d : lf)
      oShape.push_back(lShape[d]);
    for (int64_t d : rf)
      oShape.push_back(rShape[d]);

    std::string text =
        "HloModule m\nENTRY %main (a: " + shapeText(lt, lShape) +
        ", b: " + shapeText(rt, rShape) + ") -> " + shapeText(ot, oShape) +
        " {\n  %a = " + shapeText(lt, lShape) +
        " parameter(0)\n  %b = " + shapeText(rt, rShape) +
        " parameter(1)\n  ROOT %d = " + shapeText(ot, oShape) + " dot(%a, %b)";
    if (nb)
      text += ", lhs_batch_dims={" + join(lb) + "}, rhs_batch_dims={" +
              join(rb) + "}";
    text += ", lhs_contracting_dims={" + join(lc) +
            "}, rhs_contracting_dims={" + join(rc) + "}\n}\n";
    LiteralRef lhs = randomArray(lt, lShape), rhs = randomArray(rt, rShape);
    LiteralRef actual = run(text, lhs, rhs);
    if (!actual)
      return;

    LiteralRef expected = Literal::makeArray(elementType(ot), oShape);
    std::vector<int64_t> oIndex(oShape.size(), 0), lIndex(lShape.size()),
        rIndex(rShape.size()), cIndex(nc);
    bool integral = isIntegral(ot) && isIntegral(lt) && isIntegral(rt);
    for (int64_t o = 0; o < expected->getNumElements(); ++o) {
      size_t pos = 0;
      for (int i = 0; i < nb; ++i, ++pos)
        lIndex[lb[i]] = rIndex[rb[i]] = oIndex[pos];
      for (int64_t d : lf)
        lIndex[d] = oIndex[pos++];
      for (int64_t d : rf)
        rIndex[d] = oIndex[pos++];
      double sum = 0.0;
      uint64_t intSum = 0;
      std::complex<double> complexSum = 0.0;
      std::fill(cIndex.begin(), cIndex.end(), 0);
      do {
        for (int i = 0; i < nc; ++i)
          lIndex[lc[i]] = rIndex[rc[i]] = cIndex[i];
        int64_t li = lhs->linearIndex(lIndex), ri = rhs->linearIndex(rIndex);
        if (ot == "c64")
          complexSum += lhs->getComplex(li) * rhs->getComplex(ri);
        else if (integral)
          intSum += static_cast<uint64_t>(lhs->getInt(li)) *
                    static_cast<uint64_t>(rhs->getInt(ri));
        else
          sum += lhs->getAsDouble(li) * rhs->getAsDouble(ri);
      } while (nextIndex(cIndex, cSize));
      if (ot == "c64")
        expected->setComplex(o, complexSum);
      else if (integral)
        expected->setInt(o, ot == "pred" ? intSum != 0 : intSum);
      else
        store(*expected, o, sum);
      nextIndex(oIndex, oShape);
    }
    expectSameBytes(*actual, *expected, text);
  }

  /// A random convolution with `spatial` spatial dims, random dim_labels,
  /// window (strides, padding, both dilations, reversal) and either a
  /// feature or a batch group count.
  void checkConvolution(const std::string &lt, const std::string &ot,
                        int spatial, int64_t maxSize) {
    std::uniform_int_distribution<int> small(1, 3), coin(0, 1),
        sizeDist(1, maxSize);
    int64_t groups = small(rng), KI = small(rng), groupOut = small(rng);
    bool batchGroups = groups > 1 && coin(rng);
    int64_t fgc = batchGroups ? 1 : groups, bgc = batchGroups ? groups : 1;
    int64_t B = bgc * small(rng), IF = KI * fgc, KO = groupOut * groups;
    std::vector<int64_t> in, ksize, stride, padLo, padHi, lhsDil, rhsDil,
        reversal, outSize;
    for (int d = 0; d < spatial; ++d) {
      in.push_back(sizeDist(rng));
      ksize.push_back(small(rng));
      stride.push_back(small(rng));
      lhsDil.push_back(small(rng));
      rhsDil.push_back(small(rng));
      reversal.push_back(coin(rng));
      padLo.push_back(small(rng) - 1);
      int64_t dilatedIn = (in[d] - 1) * lhsDil[d] + 1 + padLo[d];
      int64_t dilatedK = (ksize[d] - 1) * rhsDil[d] + 1;
      // Enough high padding for at least one output.
      padHi.push_back(std::max<int64_t>(0, dilatedK - dilatedIn) + small(rng) -
                      1);
      outSize.push_back((dilatedIn + padHi[d] - dilatedK) / stride[d] + 1);
    }
    // Labels: position of b/f (i/o) and each spatial dim in each operand.
    auto positions = [&](int n) {
      std::vector<int64_t> p(n);
      std::iota(p.begin(), p.end(), 0);
      std::shuffle(p.begin(), p.end(), rng);
      return p;
    };
    std::vector<int64_t> lp = positions(spatial + 2),
                         kp = positions(spatial + 2),
                         op = positions(spatial + 2);
    std::string lLabel(spatial + 2, ' '), kLabel(spatial + 2, ' '),
        oLabel(spatial + 2, ' ');
    std::vector<int64_t> lShape(spatial + 2), kShape(spatial + 2),
        oShape(spatial + 2);
    lLabel[lp[0]] = 'b', lShape[lp[0]] = B;
    lLabel[lp[1]] = 'f', lShape[lp[1]] = IF;
    kLabel[kp[0]] = 'i', kShape[kp[0]] = KI;
    kLabel[kp[1]] = 'o', kShape[kp[1]] = KO;
    oLabel[op[0]] = 'b', oShape[op[0]] = B / bgc;
    oLabel[op[1]] = 'f', oShape[op[1]] = KO;
    for (int d = 0; d < spatial; ++d) {
      char c = '0' + d;
      lLabel[lp[2 + d]] = kLabel[kp[2 + d]] = oLabel[op[2 + d]] = c;
      lShape[lp[2 + d]] = in[d];
      kShape[kp[2 + d]] = ksize[d];
      oShape[op[2 + d]] = outSize[d];
    }
    std::vector<std::string> pads;
    for (int d = 0; d < spatial; ++d)
      pads.push_back(std::to_string(padLo[d]) + "_" + std::to_string(padHi[d]));
    std::string window =
        "size=" + join(ksize, "x") + " stride=" + join(stride, "x") + " pad=";
    for (int d = 0; d < spatial; ++d)
      window += (d ? "x" : "") + pads[d];
    window += " lhs_dilate=" + join(lhsDil, "x") +
              " rhs_dilate=" + join(rhsDil, "x") +
              " rhs_reversal=" + join(reversal, "x");
    std::string text = "HloModule m\nENTRY %main (a: " + shapeText(lt, lShape) +
                       ", b: " + shapeText(lt, kShape) + ") -> " +
                       shapeText(ot, oShape) +
                       " {\n  %a = " + shapeText(lt, lShape) +
                       " parameter(0)\n  %b = " + shapeText(lt, kShape) +
                       " parameter(1)\n  ROOT %c = " + shapeText(ot, oShape) +
                       " convolution(%a, %b), window={" + window +
                       "}, dim_labels=" + lLabel + "_" + kLabel + "->" +
                       oLabel + ", feature_group_count=" + std::to_string(fgc) +
                       ", batch_group_count=" + std::to_string(bgc) + "\n}\n";
    LiteralRef lhs = randomArray(lt, lShape), rhs = randomArray(lt, kShape);
    LiteralRef actual = run(text, lhs, rhs);
    if (!actual)
      return;

    LiteralRef expected = Literal::makeArray(elementType(ot), oShape);
    std::vector<int64_t> oIndex(spatial + 2, 0), lIndex(spatial + 2),
        kIndex(spatial + 2), kPos(spatial, 0);
    for (int64_t o = 0; o < expected->getNumElements(); ++o) {
      int64_t ob = oIndex[op[0]], of = oIndex[op[1]];
      int64_t g = of / groupOut;
      lIndex[lp[0]] = batchGroups ? g * (B / bgc) + ob : ob;
      kIndex[kp[1]] = of;
      double sum = 0.0;
      // Kernel positions in row-major order, then input features.
      std::fill(kPos.begin(), kPos.end(), 0);
      do {
        bool valid = true;
        for (int d = 0; d < spatial; ++d) {
          int64_t windowPos = reversal[d] ? ksize[d] - 1 - kPos[d] : kPos[d];
          int64_t pos =
              oIndex[op[2 + d]] * stride[d] + windowPos * rhsDil[d] - padLo[d];
          if (pos < 0 || pos % lhsDil[d] || pos / lhsDil[d] >= in[d])
            valid = false;
          else
            lIndex[lp[2 + d]] = pos / lhsDil[d];
          kIndex[kp[2 + d]] = kPos[d];
        }
        if (!valid)
          continue;
        for (int64_t i = 0; i < KI; ++i) {
          lIndex[lp[1]] = (batchGroups ? 0 : g * KI) + i;
          kIndex[kp[0]] = i;
          sum += lhs->getAsDouble(lhs->linearIndex(lIndex)) *
                 rhs->getAsDouble(rhs->linearIndex(kIndex));
        }
      } while (nextIndex(kPos, ksize));
      store(*expected, expected->linearIndex(oIndex), sum);
      nextIndex(oIndex, oShape);
    }
    expectSameBytes(*actual, *expected, text);
  }

  MLIRContext context;
  std::mt19937 rng{20261126};
};

TEST_F(SimContractionTest, DotRandomLayoutsAndTypes) {
  struct Types {
    const char *lhs, *rhs, *out;
  } types[] = {
      {"f32", "f32", "f32"}, {"bf16", "bf16", "bf16"}, {"bf16", "bf16", "f32"},
      {"f16", "f16", "f16"}, {"f64", "f64", "f64"},    {"s32", "s32", "s32"},
      {"s8", "s8", "s32"},   {"pred", "pred", "pred"}, {"c64", "c64", "c64"},
      {"s32", "f32", "f32"}, {"bf16", "f32", "bf16"},  {"f32", "f32", "s32"}};
  std::uniform_int_distribution<int> count(0, 2), size(1, 7);
  for (const Types &t : types) {
    for (int trial = 0; trial < 6; ++trial) {
      int nb = count(rng), nl = count(rng), nr = count(rng),
          nc = std::max(1, count(rng));
      std::vector<int64_t> sizes;
      for (int i = 0; i < nb + nl + nr + nc; ++i)
        sizes.push_back(size(rng));
      checkDot(t.lhs, t.rhs, t.out, nb, nl, nr, nc, sizes);
    }
  }
}

TEST_F(SimContractionTest, DotAcrossBlockEdges) {
  // Contractions longer than one K block (256), rows beyond one M block
  // (128) and beyond one accumulator block (2048 rows of 1024 doubles),
  // columns beyond one N block (1024), odd edges everywhere (each shape
  // crosses some edges only, to keep the naive loop fast).
  checkDot("f32", "f32", "f32", 0, 1, 1, 1, {5, 1030, 517});
  checkDot("f32", "f32", "f32", 0, 1, 1, 1, {131, 9, 300});
  checkDot("bf16", "bf16", "bf16", 0, 1, 1, 1, {2100, 1025, 2});
  checkDot("bf16", "bf16", "f32", 1, 2, 1, 2, {2, 5, 27, 1031, 16, 17});
  checkDot("s32", "s32", "s32", 0, 1, 1, 1, {130, 9, 260});
  checkDot("s32", "s32", "s32", 0, 1, 1, 1, {3, 1027, 5});
  checkDot("c64", "c64", "c64", 1, 1, 1, 1, {2, 5, 1025, 259});
}

TEST_F(SimContractionTest, ConvolutionRandomWindowsAndLabels) {
  for (const char *type : {"f32", "bf16", "f16", "f64"})
    for (int trial = 0; trial < 12; ++trial)
      checkConvolution(type, type, 1 + trial % 2, 9);
  for (int trial = 0; trial < 6; ++trial)
    checkConvolution("bf16", "f32", 2, 7);
}

TEST_F(SimContractionTest, ConvolutionManyRows) {
  // More output rows than one im2col chunk (256), so rows are gathered
  // chunk by chunk (and reordered by dilation phase).
  for (int trial = 0; trial < 3; ++trial)
    checkConvolution("f32", "f32", 2, 40);
}

} // namespace
