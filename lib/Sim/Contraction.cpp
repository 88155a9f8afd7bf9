//===- Contraction.cpp - dot and convolution ------------------------------===//
//
// Part of gshard, under the Apache License v2.0.
//
// Both ops run as GEMMs ([batch, m, k] x [batch, k, n] for dot; im2col
// patches x the kernel as a [taps x input features, output features]
// matrix for convolution) that read their operands in place, in any layout
// and element type, converting each element while packing the GEMM's
// panels: no converted copy of a whole operand is made, so a 3 GiB bf16
// operand costs 3 GiB, not 12 GiB of doubles. Floats accumulate in double,
// one output block at a time, and round once into the result type.
// Integer results accumulate in 64-bit integers and wrap. Complex dots use
// complex<double>.
//
//===----------------------------------------------------------------------===//

#include "Exec.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

using namespace mlir;
using namespace gshard;
using namespace gshard::sim;

namespace {

//===----------------------------------------------------------------------===//
// Operands read in place
//===----------------------------------------------------------------------===//

/// One axis of an operand viewed as a matrix: index i of the axis is
/// element offset `offsetOf(i)` of the operand. The axis is either a group
/// of the operand's dimensions (row-major over `sizes`, element `strides`),
/// or an explicit offset table.
struct Axis {
  llvm::SmallVector<int64_t, 4> sizes, strides;
  const int64_t *table = nullptr;

  static Axis ofDims(const Literal &lit, ArrayRef<int64_t> dims) {
    Axis axis;
    llvm::SmallVector<int64_t> litStrides = lit.getStrides();
    for (int64_t d : dims) {
      axis.sizes.push_back(lit.getShape()[d]);
      axis.strides.push_back(litStrides[d]);
    }
    return axis;
  }
  static Axis strided(int64_t size, int64_t stride) {
    Axis axis;
    axis.sizes.push_back(size);
    axis.strides.push_back(stride);
    return axis;
  }
  static Axis ofTable(const int64_t *table) {
    Axis axis;
    axis.table = table;
    return axis;
  }

  /// out[0..count) = offsets of indices first .. first + count - 1.
  void offsets(int64_t first, int64_t count, int64_t *out) const {
    if (table) {
      std::copy_n(table + first, count, out);
      return;
    }
    int64_t rank = sizes.size();
    llvm::SmallVector<int64_t, 4> index(rank, 0);
    int64_t offset = 0, rest = first;
    for (int64_t d = rank - 1; d >= 0; --d) {
      index[d] = rest % sizes[d];
      rest /= sizes[d];
      offset += index[d] * strides[d];
    }
    for (int64_t i = 0; i < count; ++i) {
      out[i] = offset;
      for (int64_t d = rank - 1; d >= 0; --d) {
        offset += strides[d];
        if (++index[d] < sizes[d])
          break;
        offset -= strides[d] * sizes[d];
        index[d] = 0;
      }
    }
  }
};

/// Where a matrix operand's elements come from: a literal of any element
/// type (converted element by element while packing) or a buffer of
/// doubles (the convolution's patch).
struct MatrixRef {
  const Literal *lit = nullptr;
  const double *doubles = nullptr;
  /// Offset of element (0, 0); rows and columns add their axis offsets.
  int64_t base = 0;
  Axis rows, cols;
  /// First row / column of this view within the axes.
  int64_t rowStart = 0, colStart = 0;
};

template <typename E> static const E *typedData(const Literal &lit) {
  return reinterpret_cast<const E *>(lit.data());
}

/// Calls fn(load) with `load(offset)` reading the element at `offset` of
/// `src` as T: double for floats (the exact value; integers converted,
/// complex: real part), uint64_t for integers (sign extended bits) and
/// complex<double>. The common float types get a loader without a switch
/// per element.
template <typename T, typename Fn>
static void withLoader(const MatrixRef &src, Fn &&fn) {
  if constexpr (std::is_same_v<T, double>) {
    if (src.doubles) {
      const double *p = src.doubles;
      fn([p](int64_t o) { return p[o]; });
      return;
    }
    const Literal &lit = *src.lit;
    switch (lit.getKind()) {
    case ElemKind::F32: {
      const float *p = typedData<float>(lit);
      fn([p](int64_t o) { return static_cast<double>(p[o]); });
      return;
    }
    case ElemKind::F64: {
      const double *p = typedData<double>(lit);
      fn([p](int64_t o) { return p[o]; });
      return;
    }
    case ElemKind::BF16: {
      // bf16ToFloat inlined (the bits are a float's upper half): it is
      // called once per element per kernel tap in convolution patches.
      const uint16_t *p = typedData<uint16_t>(lit);
      fn([p](int64_t o) {
        uint32_t wide = static_cast<uint32_t>(p[o]) << 16;
        float value;
        std::memcpy(&value, &wide, 4);
        return static_cast<double>(value);
      });
      return;
    }
    case ElemKind::F16: {
      const uint16_t *p = typedData<uint16_t>(lit);
      fn([p](int64_t o) { return halfToDouble(p[o]); });
      return;
    }
    default:
      fn([&lit](int64_t o) { return lit.getAsDouble(o); });
      return;
    }
  } else if constexpr (std::is_same_v<T, uint64_t>) {
    const Literal &lit = *src.lit;
    fn([&lit](int64_t o) { return static_cast<uint64_t>(lit.getInt(o)); });
  } else {
    const Literal &lit = *src.lit;
    fn([&lit](int64_t o) { return lit.getComplex(o); });
  }
}

//===----------------------------------------------------------------------===//
// GEMM
//===----------------------------------------------------------------------===//

// BLIS-style: B is packed per (K block, N block) into panels of kNR
// columns, A per (M block, K block) into panels of kMR rows, both
// zero-padded, so the micro-kernel streams two contiguous arrays and keeps
// a kMR x kNR tile of C in registers. Packing reads the operands where
// they are (any layout, any element type) and converts each element to
// the accumulation type, so no converted copy of a whole operand exists.
// Each C element still receives its products in increasing k order, one
// rounding per multiply and per add (no FMA), so the result is
// bit-identical to the naive triple loop in that order and does not
// depend on the host CPU, the blocking or the clone chosen.
constexpr int64_t kMR = 4, kNR = 8;
constexpr int64_t kBlockM = 128, kBlockK = 256, kBlockN = 1024;
typedef double Vec4 __attribute__((vector_size(32)));

/// C[0:kMR, 0:kNR] (row stride ldc) += Ap (kc x kMR, packed) * Bp (kc x
/// kNR, packed). The accumulator array is fully unrolled into registers.
static inline __attribute__((always_inline)) void
microKernel(int64_t kc, const double *Ap, const double *Bp, double *C,
            int64_t ldc) {
  Vec4 acc[kMR][2];
  for (int64_t r = 0; r < kMR; ++r)
    std::memcpy(&acc[r][0], C + r * ldc, 2 * sizeof(Vec4));
  for (int64_t p = 0; p < kc; ++p) {
    Vec4 b[2];
    std::memcpy(&b[0], Bp + p * kNR, 2 * sizeof(Vec4));
    for (int64_t r = 0; r < kMR; ++r) {
      Vec4 a = Vec4{} + Ap[p * kMR + r];
      acc[r][0] += a * b[0];
      acc[r][1] += a * b[1];
    }
  }
  for (int64_t r = 0; r < kMR; ++r)
    std::memcpy(C + r * ldc, &acc[r][0], 2 * sizeof(Vec4));
}

/// The same tile update for integers (wrapping) and complex numbers.
template <typename T>
static inline void microKernelGeneric(int64_t kc, const T *Ap, const T *Bp,
                                      T *C, int64_t ldc) {
  T acc[kMR][kNR];
  for (int64_t r = 0; r < kMR; ++r)
    for (int64_t j = 0; j < kNR; ++j)
      acc[r][j] = C[r * ldc + j];
  for (int64_t p = 0; p < kc; ++p)
    for (int64_t r = 0; r < kMR; ++r) {
      T a = Ap[p * kMR + r];
      for (int64_t j = 0; j < kNR; ++j)
        acc[r][j] += a * Bp[p * kNR + j];
    }
  for (int64_t r = 0; r < kMR; ++r)
    for (int64_t j = 0; j < kNR; ++j)
      C[r * ldc + j] = acc[r][j];
}

/// C (mc x nc, row stride ldc) += packed A (mc x kc) * packed B (kc x nc),
/// tile by tile; edge tiles run on a copy and write back the valid part.
template <typename T, typename Tile>
static inline __attribute__((always_inline)) void
macroKernelImpl(Tile tile, const T *packedA, const T *packedB, T *C,
                int64_t ldc, int64_t mc, int64_t kc, int64_t nc) {
  T edge[kMR * kNR];
  int64_t mPanels = (mc + kMR - 1) / kMR, nPanels = (nc + kNR - 1) / kNR;
  for (int64_t jp = 0; jp < nPanels; ++jp) {
    int64_t cols = std::min(kNR, nc - jp * kNR);
    const T *bp = packedB + jp * kc * kNR;
    for (int64_t ip = 0; ip < mPanels; ++ip) {
      int64_t rows = std::min(kMR, mc - ip * kMR);
      const T *ap = packedA + ip * kc * kMR;
      T *c = C + ip * kMR * ldc + jp * kNR;
      if (rows == kMR && cols == kNR) {
        tile(kc, ap, bp, c, ldc);
        continue;
      }
      for (int64_t r = 0; r < kMR; ++r)
        for (int64_t j = 0; j < kNR; ++j)
          edge[r * kNR + j] = r < rows && j < cols ? c[r * ldc + j] : T();
      tile(kc, ap, bp, edge, kNR);
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t j = 0; j < cols; ++j)
          c[r * ldc + j] = edge[r * kNR + j];
    }
  }
}

#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
static void
macroKernel(const double *packedA, const double *packedB, double *C,
            int64_t ldc, int64_t mc, int64_t kc, int64_t nc) {
  auto tile = [](int64_t kc, const double *ap, const double *bp, double *c,
                 int64_t ldc) { microKernel(kc, ap, bp, c, ldc); };
  macroKernelImpl<double>(tile, packedA, packedB, C, ldc, mc, kc, nc);
}

template <typename T>
static void macroKernel(const T *packedA, const T *packedB, T *C, int64_t ldc,
                        int64_t mc, int64_t kc, int64_t nc) {
  auto tile = [](int64_t kc, const T *ap, const T *bp, T *c, int64_t ldc) {
    microKernelGeneric(kc, ap, bp, c, ldc);
  };
  macroKernelImpl<T>(tile, packedA, packedB, C, ldc, mc, kc, nc);
}

/// C (m x n, row stride ldc) += A (m x k) * B (k x n), A and B read in
/// place and converted to T while packing.
template <typename T>
static void gemmAccumulate(const MatrixRef &A, const MatrixRef &B, int64_t m,
                           int64_t k, int64_t n, T *C, int64_t ldc) {
  if (m == 0 || n == 0 || k == 0)
    return;
  std::vector<T> packedB(kBlockK * (kBlockN + kNR)), packedA(kBlockM * kBlockK);
  std::vector<int64_t> nOff(kBlockN), kOffA(kBlockK), kOffB(kBlockK),
      mOff(kBlockM);
  for (int64_t jc = 0; jc < n; jc += kBlockN) {
    int64_t nc = std::min(kBlockN, n - jc);
    int64_t nPanels = (nc + kNR - 1) / kNR;
    B.cols.offsets(B.colStart + jc, nc, nOff.data());
    for (int64_t pc = 0; pc < k; pc += kBlockK) {
      int64_t kc = std::min(kBlockK, k - pc);
      B.rows.offsets(B.rowStart + pc, kc, kOffB.data());
      A.cols.offsets(A.colStart + pc, kc, kOffA.data());
      withLoader<T>(B, [&](auto load) {
        for (int64_t jp = 0; jp < nPanels; ++jp) {
          T *dst = packedB.data() + jp * kc * kNR;
          const int64_t *colOff = nOff.data() + jp * kNR;
          int64_t cols = std::min(kNR, nc - jp * kNR);
          for (int64_t p = 0; p < kc; ++p) {
            int64_t rowBase = B.base + kOffB[p];
            int64_t j = 0;
            for (; j < cols; ++j)
              dst[p * kNR + j] = load(rowBase + colOff[j]);
            for (; j < kNR; ++j)
              dst[p * kNR + j] = T();
          }
        }
      });
      for (int64_t ic = 0; ic < m; ic += kBlockM) {
        int64_t mc = std::min(kBlockM, m - ic);
        int64_t mPanels = (mc + kMR - 1) / kMR;
        A.rows.offsets(A.rowStart + ic, mc, mOff.data());
        withLoader<T>(A, [&](auto load) {
          for (int64_t ip = 0; ip < mPanels; ++ip) {
            T *dst = packedA.data() + ip * kc * kMR;
            int64_t rows = std::min(kMR, mc - ip * kMR);
            for (int64_t r = 0; r < kMR; ++r) {
              if (r >= rows) {
                for (int64_t p = 0; p < kc; ++p)
                  dst[p * kMR + r] = T();
                continue;
              }
              int64_t rowBase = A.base + mOff[ip * kMR + r];
              for (int64_t p = 0; p < kc; ++p)
                dst[p * kMR + r] = load(rowBase + kOffA[p]);
            }
          }
        });
        macroKernel(packedA.data(), packedB.data(), C + ic * ldc + jc, ldc, mc,
                    kc, nc);
      }
    }
  }
}

/// Stores accumulated values into element `offset` of `out` (one rounding
/// into the result type; pred results are `!= 0`).
static inline void storeResult(Literal &out, int64_t offset, double value) {
  if (out.getKind() == ElemKind::F32)
    reinterpret_cast<float *>(out.data())[offset] = static_cast<float>(value);
  else if (isIntegralKind(out.getKind()))
    out.setFromDouble(offset, value);
  else
    out.setFloat(offset, value);
}
static inline void storeResult(Literal &out, int64_t offset, uint64_t value) {
  if (out.getKind() == ElemKind::Pred)
    value = value != 0;
  out.setInt(offset, static_cast<int64_t>(value));
}
static inline void storeResult(Literal &out, int64_t offset,
                               std::complex<double> value) {
  out.setComplex(offset, value);
}

/// The dot as batch x (M x K) * (K x N), accumulated in T one output block
/// at a time (at most kAccumulatorBytes of T, plus the packed panels) and
/// written back rounded. The result's dims are [batch..., lhs free...,
/// rhs free...], so output element (b, i, j) is at (b * m + i) * n + j.
template <typename T>
static void runDot(const Literal &lhs, const Literal &rhs, Literal &out,
                   ArrayRef<int64_t> lb, ArrayRef<int64_t> lf,
                   ArrayRef<int64_t> lc, ArrayRef<int64_t> rb,
                   ArrayRef<int64_t> rc, ArrayRef<int64_t> rf, int64_t batch,
                   int64_t m, int64_t k, int64_t n) {
  constexpr int64_t kAccumulatorBytes = int64_t(16) << 20;
  MatrixRef A, B;
  A.lit = &lhs;
  A.rows = Axis::ofDims(lhs, lf);
  A.cols = Axis::ofDims(lhs, lc);
  B.lit = &rhs;
  B.rows = Axis::ofDims(rhs, rc);
  B.cols = Axis::ofDims(rhs, rf);
  Axis lhsBatch = Axis::ofDims(lhs, lb), rhsBatch = Axis::ofDims(rhs, rb);
  int64_t nBlock = std::min(n, kBlockN);
  int64_t mBlock = std::max<int64_t>(
      kBlockM, kAccumulatorBytes / int64_t(sizeof(T)) /
                   std::max<int64_t>(nBlock, 1) / kBlockM * kBlockM);
  mBlock = std::min(mBlock, m);
  std::vector<T> acc(mBlock * nBlock);
  for (int64_t b = 0; b < batch; ++b) {
    lhsBatch.offsets(b, 1, &A.base);
    rhsBatch.offsets(b, 1, &B.base);
    for (int64_t j0 = 0; j0 < n; j0 += nBlock) {
      int64_t nc = std::min(nBlock, n - j0);
      B.colStart = j0;
      for (int64_t i0 = 0; i0 < m; i0 += mBlock) {
        int64_t mc = std::min(mBlock, m - i0);
        A.rowStart = i0;
        std::fill_n(acc.begin(), mc * nc, T());
        gemmAccumulate<T>(A, B, mc, k, nc, acc.data(), nc);
        for (int64_t i = 0; i < mc; ++i) {
          int64_t row = (b * m + i0 + i) * n + j0;
          for (int64_t j = 0; j < nc; ++j)
            storeResult(out, row + j, acc[i * nc + j]);
        }
      }
    }
  }
}

LiteralRef dotHandler(ExecContext &ctx, Operation *op,
                      ArrayRef<LiteralRef> operands) {
  auto dot = cast<hlo::DotOp>(op);
  if (dot.getSparsityAttr() || op->getNumOperands() != 2)
    return ctx.unsupported(op, "sparse dot");
  const Literal &lhs = *operands[0], &rhs = *operands[1];
  LiteralRef out = Literal::makeArray(getResultTensorType(op));
  if (!out)
    return ctx.fail(op, "unsupported element type");
  auto orEmpty = [](std::optional<ArrayRef<int64_t>> dims) {
    return dims ? *dims : ArrayRef<int64_t>();
  };
  ArrayRef<int64_t> lb = orEmpty(dot.getLhsBatchDims());
  ArrayRef<int64_t> lc = orEmpty(dot.getLhsContractingDims());
  ArrayRef<int64_t> rb = orEmpty(dot.getRhsBatchDims());
  ArrayRef<int64_t> rc = orEmpty(dot.getRhsContractingDims());
  if (lb.size() != rb.size() || lc.size() != rc.size())
    return ctx.fail(op, "dot dimension numbers do not pair up");
  auto freeDims = [](int64_t rank, ArrayRef<int64_t> a, ArrayRef<int64_t> b) {
    llvm::SmallVector<int64_t> free;
    for (int64_t d = 0; d < rank; ++d)
      if (!llvm::is_contained(a, d) && !llvm::is_contained(b, d))
        free.push_back(d);
    return free;
  };
  llvm::SmallVector<int64_t> lf = freeDims(lhs.getRank(), lb, lc);
  llvm::SmallVector<int64_t> rf = freeDims(rhs.getRank(), rb, rc);
  int64_t batch = 1, m = 1, k = 1, n = 1;
  for (int64_t d : lb)
    batch *= lhs.getShape()[d];
  for (int64_t d : lf)
    m *= lhs.getShape()[d];
  for (int64_t d : lc)
    k *= lhs.getShape()[d];
  for (int64_t d : rf)
    n *= rhs.getShape()[d];
  for (size_t i = 0; i < lc.size(); ++i)
    if (lhs.getShape()[lc[i]] != rhs.getShape()[rc[i]])
      return ctx.fail(op, "contracting dimension sizes differ");
  for (size_t i = 0; i < lb.size(); ++i)
    if (lhs.getShape()[lb[i]] != rhs.getShape()[rb[i]])
      return ctx.fail(op, "batch dimension sizes differ");
  if (out->getNumElements() != batch * m * n)
    return ctx.fail(op, "dot result shape does not match its operands");

  if (isComplexKind(out->getKind()))
    runDot<std::complex<double>>(lhs, rhs, *out, lb, lf, lc, rb, rc, rf, batch,
                                 m, k, n);
  else if (isIntegralKind(out->getKind()) && isIntegralKind(lhs.getKind()) &&
           isIntegralKind(rhs.getKind()))
    runDot<uint64_t>(lhs, rhs, *out, lb, lf, lc, rb, rc, rf, batch, m, k, n);
  else
    runDot<double>(lhs, rhs, *out, lb, lf, lc, rb, rc, rf, batch, m, k, n);
  return out;
}

LiteralRef convolutionHandler(ExecContext &ctx, Operation *op,
                              ArrayRef<LiteralRef> operands) {
  auto conv = cast<hlo::ConvolutionOp>(op);
  const Literal &lhs = *operands[0], &rhs = *operands[1];
  LiteralRef out = Literal::makeArray(getResultTensorType(op));
  if (!out || isComplexKind(out->getKind()))
    return ctx.unsupported(op, "complex convolution");
  hlo::ConvDimensionNumbersAttr dn = conv.getDimLabels();
  ArrayRef<int64_t> inSpatial = dn.getInputSpatial();
  ArrayRef<int64_t> kSpatial = dn.getKernelSpatial();
  ArrayRef<int64_t> outSpatial = dn.getOutputSpatial();
  size_t numSpatial = inSpatial.size();
  if (kSpatial.size() != numSpatial || outSpatial.size() != numSpatial)
    return ctx.fail(op, "dim_labels have different spatial ranks");

  llvm::SmallVector<int64_t> size, stride, padLow, lhsDil, rhsDil, reversal;
  hlo::WindowAttr window = conv.getWindowAttr();
  for (size_t d = 0; d < numSpatial; ++d) {
    auto get = [&](ArrayRef<int64_t> values, int64_t dflt) {
      return d < values.size() ? values[d] : dflt;
    };
    int64_t kernelSize = rhs.getShape()[kSpatial[d]];
    size.push_back(window ? get(window.getSize(), kernelSize) : kernelSize);
    stride.push_back(window ? get(window.getStride(), 1) : 1);
    padLow.push_back(window ? get(window.getPadLow(), 0) : 0);
    lhsDil.push_back(window ? get(window.getLhsDilate(), 1) : 1);
    rhsDil.push_back(window ? get(window.getRhsDilate(), 1) : 1);
    reversal.push_back(window ? get(window.getReversal(), 0) : 0);
    if (size.back() != kernelSize)
      return ctx.fail(op, "window size differs from the kernel's spatial "
                          "size");
    if (stride.back() < 1 || lhsDil.back() < 1 || rhsDil.back() < 1)
      return ctx.fail(op, "window strides and dilations must be positive");
  }
  int64_t fgc = conv.getFeatureGroupCount().value_or(1);
  int64_t bgc = conv.getBatchGroupCount().value_or(1);
  int64_t B = lhs.getShape()[dn.getInputBatch()];
  int64_t IF = lhs.getShape()[dn.getInputFeature()];
  int64_t KI = rhs.getShape()[dn.getKernelInputFeature()];
  int64_t KO = rhs.getShape()[dn.getKernelOutputFeature()];
  int64_t OB = out->getShape()[dn.getOutputBatch()];
  if (fgc < 1 || bgc < 1 || IF != KI * fgc || KO % fgc || KO % bgc || B % bgc ||
      OB != B / bgc || out->getShape()[dn.getOutputFeature()] != KO)
    return ctx.fail(op, "convolution feature/batch group counts do not fit "
                        "the operand shapes");
  int64_t groups = std::max(fgc, bgc);
  int64_t groupOut = KO / groups;

  // The operands are read in place: element offsets of the lhs batch,
  // spatial and feature dims, of the kernel's, and of the output's.
  llvm::SmallVector<int64_t> lStrides = lhs.getStrides();
  llvm::SmallVector<int64_t> kStrides = rhs.getStrides();
  llvm::SmallVector<int64_t> oStrides = out->getStrides();
  int64_t lhsBatchStride = lStrides[dn.getInputBatch()];
  int64_t lhsFeatureStride = lStrides[dn.getInputFeature()];
  int64_t kernelInStride = kStrides[dn.getKernelInputFeature()];
  int64_t kernelOutStride = kStrides[dn.getKernelOutputFeature()];
  int64_t outBatchStride = oStrides[dn.getOutputBatch()];
  int64_t outFeatureStride = oStrides[dn.getOutputFeature()];

  llvm::SmallVector<int64_t> inSize, outSize, kSize;
  for (size_t d = 0; d < numSpatial; ++d) {
    inSize.push_back(lhs.getShape()[inSpatial[d]]);
    outSize.push_back(out->getShape()[outSpatial[d]]);
    kSize.push_back(size[d]);
  }
  int64_t outSpatialCount = 1, kCount = 1;
  for (size_t d = 0; d < numSpatial; ++d) {
    outSpatialCount *= outSize[d];
    kCount *= kSize[d];
  }
  // Offset in the kernel of each kernel position (row-major over the
  // kernel's spatial dims): the kernel matrix's row of (position, input
  // feature i) is at kernelTap[position] + i * kernelInStride.
  std::vector<int64_t> kernelTap(kCount);
  Axis::ofDims(rhs, kSpatial).offsets(0, kCount, kernelTap.data());
  // im2col: rows are output positions (batch x output spatial, flattened
  // as in the canonical output), columns the kernel taps x input features.
  // A chunk of rows is gathered tap block by tap block into `patch` (zeros
  // on padding and dilation holes, lhs elements converted to double) and
  // multiplied by the matching rows of the kernel, read in place,
  // accumulating into `tmp`: whatever the shape (1x1 "dots", weight-
  // gradient convolutions with huge windows), each GEMM call sees up to
  // kChunkRows rows and a bounded patch, so packing the kernel block is
  // amortized over many rows. k order per output is unchanged.
  constexpr int64_t kChunkRows = 256, kPatchDoubles = int64_t(1) << 19;
  int64_t totalRows = OB * outSpatialCount;
  int64_t chunk =
      std::min<int64_t>(kChunkRows, std::max<int64_t>(totalRows, 1));
  int64_t tapBlock =
      std::clamp<int64_t>(kPatchDoubles / (chunk * std::max<int64_t>(KI, 1)), 1,
                          std::max<int64_t>(kCount, 1));
  // Taps on padding or base-dilation holes multiply zeros. With a finite
  // kernel such a product is +-0 and adding it to a sum that starts at +0
  // changes nothing, so they can be left out: per chunk of rows only the
  // taps valid for some row of the chunk are gathered and multiplied, and
  // rows are ordered by their lhs-dilation phase (which decides which taps
  // hit data) so a chunk's rows share them. The k order of the remaining
  // products is unchanged, so results are bit-identical. A kernel with an
  // inf or NaN keeps every tap (0 * inf is NaN).
  bool skipHoles = ctx.options.fastPaths;
  if (skipHoles) {
    MatrixRef kernelElements;
    kernelElements.lit = &rhs;
    withLoader<double>(kernelElements, [&](auto load) {
      for (int64_t i = 0, e = rhs.getNumElements(); i < e && skipHoles; ++i)
        skipHoles = std::isfinite(load(i));
    });
  }
  std::vector<int64_t> rowOrder;
  int64_t phases = 1;
  for (int64_t dilation : lhsDil)
    phases = dilation > (int64_t(1) << 40) / phases ? int64_t(1) << 40
                                                    : phases * dilation;
  if (skipHoles && phases > 1 && phases <= std::max<int64_t>(totalRows, 1)) {
    std::vector<int64_t> phaseOf(totalRows), start(phases + 1, 0);
    for (int64_t row = 0; row < totalRows; ++row) {
      int64_t osLinear = row % std::max<int64_t>(outSpatialCount, 1), phase = 0;
      for (int64_t d = numSpatial - 1, scale = 1; d >= 0; --d) {
        int64_t pos = osLinear % outSize[d] * stride[d] - padLow[d];
        osLinear /= outSize[d];
        phase += ((pos % lhsDil[d]) + lhsDil[d]) % lhsDil[d] * scale;
        scale *= lhsDil[d];
      }
      phaseOf[row] = phase;
      ++start[phase + 1];
    }
    for (int64_t p = 0; p < phases; ++p)
      start[p + 1] += start[p];
    rowOrder.resize(totalRows);
    for (int64_t row = 0; row < totalRows; ++row)
      rowOrder[start[phaseOf[row]]++] = row;
  }
  auto rowAt = [&](int64_t position) {
    return rowOrder.empty() ? position : rowOrder[position];
  };
  // taps: lhs offset of the input position each kernel tap of a row reads
  // (-1: padding or a hole), indexed by the kernel position it multiplies.
  std::vector<int64_t> taps(chunk * kCount), active, outRow(chunk);
  std::vector<double> patch(chunk * tapBlock * KI), tmp(chunk * groupOut);
  std::vector<int64_t> kernelRows(tapBlock * KI);
  llvm::SmallVector<int64_t> os(numSpatial, 0), ks(numSpatial, 0);
  MatrixRef patchRef;
  patchRef.doubles = patch.data();
  MatrixRef kernelRef;
  kernelRef.lit = &rhs;
  kernelRef.rows = Axis::ofTable(kernelRows.data());
  kernelRef.cols = Axis::strided(groupOut, kernelOutStride);
  MatrixRef lhsRef;
  lhsRef.lit = &lhs;
  for (int64_t r0 = 0; r0 < totalRows; r0 += chunk) {
    int64_t rows = std::min(chunk, totalRows - r0);
    // Input position of every kernel tap of these outputs, and where each
    // output row (feature 0) goes.
    for (int64_t r = 0; r < rows; ++r) {
      int64_t row = rowAt(r0 + r);
      int64_t osLinear = row % std::max<int64_t>(outSpatialCount, 1);
      int64_t outOffset =
          row / std::max<int64_t>(outSpatialCount, 1) * outBatchStride;
      for (int64_t d = numSpatial - 1; d >= 0; --d) {
        os[d] = osLinear % outSize[d];
        osLinear /= outSize[d];
        outOffset += os[d] * oStrides[outSpatial[d]];
      }
      outRow[r] = outOffset;
      std::fill(ks.begin(), ks.end(), 0);
      for (int64_t kLinear = 0; kLinear < kCount; ++kLinear) {
        int64_t inOffset = 0, kernelLinear = 0;
        bool valid = true;
        for (size_t d = 0; d < numSpatial; ++d) {
          int64_t pos = os[d] * stride[d] + ks[d] * rhsDil[d] - padLow[d];
          if (pos < 0 || pos % lhsDil[d] || pos / lhsDil[d] >= inSize[d])
            valid = false;
          else
            inOffset += pos / lhsDil[d] * lStrides[inSpatial[d]];
          int64_t kIndex = reversal[d] ? kSize[d] - 1 - ks[d] : ks[d];
          kernelLinear = kernelLinear * kSize[d] + kIndex;
        }
        taps[r * kCount + kernelLinear] = valid ? inOffset : -1;
        nextIndex(ks, kSize);
      }
    }
    // The kernel positions multiplied for this chunk, in increasing order.
    active.clear();
    for (int64_t kl = 0; kl < kCount; ++kl) {
      bool used = !skipHoles;
      for (int64_t r = 0; r < rows && !used; ++r)
        used = taps[r * kCount + kl] >= 0;
      if (used)
        active.push_back(kl);
    }
    int64_t activeCount = active.size();
    for (int64_t g = 0; g < groups; ++g) {
      int64_t fBase = fgc > 1 ? g * KI : 0;
      kernelRef.base = g * groupOut * kernelOutStride;
      std::fill_n(tmp.begin(), rows * groupOut, 0.0);
      for (int64_t kl0 = 0; kl0 < activeCount; kl0 += tapBlock) {
        int64_t tb = std::min(tapBlock, activeCount - kl0);
        int64_t cols = tb * KI;
        withLoader<double>(lhsRef, [&](auto load) {
          for (int64_t r = 0; r < rows; ++r) {
            int64_t ob = rowAt(r0 + r) / std::max<int64_t>(outSpatialCount, 1);
            int64_t b = bgc > 1 ? g * (B / bgc) + ob : ob;
            int64_t in = b * lhsBatchStride + fBase * lhsFeatureStride;
            double *row = patch.data() + r * cols;
            for (int64_t kl = 0; kl < tb; ++kl) {
              int64_t t = taps[r * kCount + active[kl0 + kl]];
              double *dst = row + kl * KI;
              if (t < 0) {
                std::fill_n(dst, KI, 0.0);
                continue;
              }
              for (int64_t i = 0; i < KI; ++i)
                dst[i] = load(in + t + i * lhsFeatureStride);
            }
          }
        });
        // The kernel rows of these taps.
        for (int64_t kl = 0; kl < tb; ++kl)
          for (int64_t i = 0; i < KI; ++i)
            kernelRows[kl * KI + i] =
                kernelTap[active[kl0 + kl]] + i * kernelInStride;
        patchRef.rows = Axis::strided(rows, cols);
        patchRef.cols = Axis::strided(cols, 1);
        gemmAccumulate<double>(patchRef, kernelRef, rows, cols, groupOut,
                               tmp.data(), groupOut);
      }
      // Each output element belongs to one row and one group: it is
      // written once, rounded from 0 + its sum (as when accumulating into
      // a zeroed result).
      for (int64_t r = 0; r < rows; ++r) {
        const double *t = tmp.data() + r * groupOut;
        int64_t o = outRow[r] + g * groupOut * outFeatureStride;
        for (int64_t j = 0; j < groupOut; ++j)
          storeResult(*out, o + j * outFeatureStride, 0.0 + t[j]);
      }
    }
  }
  return out;
}

} // namespace

void gshard::sim::registerContractionHandlers(HandlerTable &t) {
  t["hlo.dot"] = dotHandler;
  t["hlo.convolution"] = convolutionHandler;
}
