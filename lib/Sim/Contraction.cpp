//===- Contraction.cpp - dot and convolution ------------------------------===//
//
// Part of gshard, under the Apache License v2.0.
//
// Both ops bring their operands into a canonical row-major order in double
// precision ([batch, m, k] x [batch, k, n] for dot; [b, spatial..., f] x
// [spatial..., i, o] for convolution), run cache-blocked loops whose
// innermost loop is unit-stride (vectorized by the compiler), accumulate in
// double and round once into the result type. Integer results accumulate in
// 64-bit integers and wrap. Complex dots use complex<double>.
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

/// Calls f(i, offset) for the elements of `lit` in canonical order
/// (canonical dim j is `lit`'s dimension `order[j]`): i counts canonical
/// positions, offset is the row-major offset into `lit`.
template <typename F>
static void forEachPermuted(const Literal &lit, ArrayRef<int64_t> order, F f) {
  int64_t count = lit.getNumElements();
  if (count == 0)
    return;
  llvm::SmallVector<int64_t> strides = lit.getStrides();
  llvm::SmallVector<int64_t> shape, permStrides;
  for (int64_t d : order) {
    shape.push_back(lit.getShape()[d]);
    permStrides.push_back(strides[d]);
  }
  int64_t rank = shape.size();
  if (rank == 0) {
    f(0, 0);
    return;
  }
  // Innermost canonical dim as a tight loop, the others as an odometer.
  int64_t inner = shape[rank - 1], innerStride = permStrides[rank - 1];
  llvm::SmallVector<int64_t> index(rank - 1, 0);
  int64_t offset = 0;
  for (int64_t i = 0; i < count; i += inner) {
    for (int64_t j = 0; j < inner; ++j)
      f(i + j, offset + j * innerStride);
    for (int64_t k = rank - 2; k >= 0; --k) {
      offset += permStrides[k];
      if (++index[k] < shape[k])
        break;
      offset -= permStrides[k] * shape[k];
      index[k] = 0;
    }
  }
}

template <typename E> static const E *typedData(const Literal &lit) {
  return reinterpret_cast<const E *>(lit.data());
}

/// `lit`'s elements in canonical order. `T` is double, uint64_t (integer
/// bits, sign extended) or complex<double>.
template <typename T>
std::vector<T> toCanonical(const Literal &lit, ArrayRef<int64_t> order) {
  std::vector<T> out(lit.getNumElements());
  T *o = out.data();
  if constexpr (std::is_same_v<T, double>) {
    switch (lit.getKind()) {
    case ElemKind::F32: {
      const float *p = typedData<float>(lit);
      forEachPermuted(lit, order, [&](int64_t i, int64_t j) { o[i] = p[j]; });
      return out;
    }
    case ElemKind::F64: {
      const double *p = typedData<double>(lit);
      forEachPermuted(lit, order, [&](int64_t i, int64_t j) { o[i] = p[j]; });
      return out;
    }
    case ElemKind::BF16: {
      const uint16_t *p = typedData<uint16_t>(lit);
      forEachPermuted(lit, order,
                      [&](int64_t i, int64_t j) { o[i] = bf16ToFloat(p[j]); });
      return out;
    }
    default:
      forEachPermuted(lit, order,
                      [&](int64_t i, int64_t j) { o[i] = lit.getAsDouble(j); });
      return out;
    }
  } else if constexpr (std::is_same_v<T, uint64_t>) {
    forEachPermuted(lit, order, [&](int64_t i, int64_t j) {
      o[i] = static_cast<uint64_t>(lit.getInt(j));
    });
  } else {
    forEachPermuted(lit, order,
                    [&](int64_t i, int64_t j) { o[i] = lit.getComplex(j); });
  }
  return out;
}

/// Writes canonical values into `lit` (canonical dim j = lit dim order[j]).
template <typename T>
void fromCanonical(const std::vector<T> &values, ArrayRef<int64_t> order,
                   Literal &lit) {
  const T *v = values.data();
  if constexpr (std::is_same_v<T, double>) {
    if (lit.getKind() == ElemKind::F32) {
      float *p = reinterpret_cast<float *>(lit.data());
      forEachPermuted(lit, order, [&](int64_t i, int64_t j) {
        p[j] = static_cast<float>(v[i]);
      });
    } else if (isIntegralKind(lit.getKind())) {
      forEachPermuted(lit, order, [&](int64_t i, int64_t j) {
        lit.setFromDouble(j, v[i]);
      });
    } else {
      forEachPermuted(lit, order,
                      [&](int64_t i, int64_t j) { lit.setFloat(j, v[i]); });
    }
  } else if constexpr (std::is_same_v<T, uint64_t>) {
    forEachPermuted(lit, order, [&](int64_t i, int64_t j) {
      lit.setInt(j, static_cast<int64_t>(v[i]));
    });
  } else {
    forEachPermuted(lit, order,
                    [&](int64_t i, int64_t j) { lit.setComplex(j, v[i]); });
  }
}

/// C += A * B for row-major A: MxK (row stride lda), B: KxN, C: MxN.
/// Blocked over N and K so a block of B stays in L2; four rows of C are
/// updated per pass over a B row (each B element loaded once per four
/// multiply-adds); the innermost loop is unit-stride and vectorizes.
template <typename T>
static inline void gemmKernel(const T *A, int64_t lda, const T *B, T *C,
                              int64_t m, int64_t k, int64_t n) {
  constexpr int64_t kBlockN = 512, kBlockK = 128;
  for (int64_t j0 = 0; j0 < n; j0 += kBlockN) {
    int64_t jn = std::min(n, j0 + kBlockN) - j0;
    for (int64_t k0 = 0; k0 < k; k0 += kBlockK) {
      int64_t k1 = std::min(k, k0 + kBlockK);
      int64_t i = 0;
      for (; i + 4 <= m; i += 4) {
        T *c0 = C + i * n + j0, *c1 = c0 + n, *c2 = c1 + n, *c3 = c2 + n;
        const T *a0 = A + i * lda, *a1 = a0 + lda, *a2 = a1 + lda,
                *a3 = a2 + lda;
        for (int64_t kk = k0; kk < k1; ++kk) {
          const T *b = B + kk * n + j0;
          T x0 = a0[kk], x1 = a1[kk], x2 = a2[kk], x3 = a3[kk];
          for (int64_t j = 0; j < jn; ++j) {
            T y = b[j];
            c0[j] += x0 * y;
            c1[j] += x1 * y;
            c2[j] += x2 * y;
            c3[j] += x3 * y;
          }
        }
      }
      for (; i < m; ++i) {
        T *c0 = C + i * n + j0;
        const T *a0 = A + i * lda;
        for (int64_t kk = k0; kk < k1; ++kk) {
          const T *b = B + kk * n + j0;
          T x0 = a0[kk];
          for (int64_t j = 0; j < jn; ++j)
            c0[j] += x0 * b[j];
        }
      }
    }
  }
}

// The double kernel (floats, the common case): BLIS-style packing plus a
// register-blocked micro-kernel. B is packed per (K block, N block) into
// panels of kNR columns, A per (M block, K block) into panels of kMR rows,
// both zero-padded, so the micro-kernel streams two contiguous arrays and
// keeps a kMR x kNR tile of C in registers. Each C element still receives
// its products in increasing k order, one rounding per multiply and per
// add (no FMA), so the result is bit-identical to the naive triple loop
// in that order and does not depend on the host CPU or the clone chosen.
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

#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
static void
gemmDouble(const double *A, int64_t lda, const double *B, double *C, int64_t m,
           int64_t k, int64_t n) {
  std::vector<double> packedB(kBlockK * (kBlockN + kNR)),
      packedA(kBlockM * kBlockK);
  double edge[kMR * kNR];
  for (int64_t jc = 0; jc < n; jc += kBlockN) {
    int64_t nc = std::min(kBlockN, n - jc);
    int64_t nPanels = (nc + kNR - 1) / kNR;
    for (int64_t pc = 0; pc < k; pc += kBlockK) {
      int64_t kc = std::min(kBlockK, k - pc);
      for (int64_t jp = 0; jp < nPanels; ++jp) {
        double *dst = packedB.data() + jp * kc * kNR;
        int64_t cols = std::min(kNR, nc - jp * kNR);
        for (int64_t p = 0; p < kc; ++p) {
          const double *src = B + (pc + p) * n + jc + jp * kNR;
          int64_t j = 0;
          for (; j < cols; ++j)
            dst[p * kNR + j] = src[j];
          for (; j < kNR; ++j)
            dst[p * kNR + j] = 0.0;
        }
      }
      for (int64_t ic = 0; ic < m; ic += kBlockM) {
        int64_t mc = std::min(kBlockM, m - ic);
        int64_t mPanels = (mc + kMR - 1) / kMR;
        for (int64_t ip = 0; ip < mPanels; ++ip) {
          double *dst = packedA.data() + ip * kc * kMR;
          int64_t rows = std::min(kMR, mc - ip * kMR);
          for (int64_t r = 0; r < kMR; ++r) {
            if (r >= rows) {
              for (int64_t p = 0; p < kc; ++p)
                dst[p * kMR + r] = 0.0;
              continue;
            }
            const double *src = A + (ic + ip * kMR + r) * lda + pc;
            for (int64_t p = 0; p < kc; ++p)
              dst[p * kMR + r] = src[p];
          }
        }
        for (int64_t jp = 0; jp < nPanels; ++jp) {
          int64_t cols = std::min(kNR, nc - jp * kNR);
          const double *bp = packedB.data() + jp * kc * kNR;
          for (int64_t ip = 0; ip < mPanels; ++ip) {
            int64_t rows = std::min(kMR, mc - ip * kMR);
            const double *ap = packedA.data() + ip * kc * kMR;
            double *c = C + (ic + ip * kMR) * n + jc + jp * kNR;
            if (rows == kMR && cols == kNR) {
              microKernel(kc, ap, bp, c, n);
              continue;
            }
            // Edge tile: run on a copy, write back the valid part.
            for (int64_t r = 0; r < kMR; ++r)
              for (int64_t j = 0; j < kNR; ++j)
                edge[r * kNR + j] = r < rows && j < cols ? c[r * n + j] : 0.0;
            microKernel(kc, ap, bp, edge, kNR);
            for (int64_t r = 0; r < rows; ++r)
              for (int64_t j = 0; j < cols; ++j)
                c[r * n + j] = edge[r * kNR + j];
          }
        }
      }
    }
  }
}

static void gemm(const double *A, int64_t lda, const double *B, double *C,
                 int64_t m, int64_t k, int64_t n) {
  gemmDouble(A, lda, B, C, m, k, n);
}
template <typename T>
static void gemm(const T *A, int64_t lda, const T *B, T *C, int64_t m,
                 int64_t k, int64_t n) {
  gemmKernel(A, lda, B, C, m, k, n);
}

/// C[b] += A[b] * B[b] with A: MxK, B: KxN, row-major.
template <typename T>
void batchedMatmul(const std::vector<T> &a, const std::vector<T> &b,
                   std::vector<T> &c, int64_t batch, int64_t m, int64_t k,
                   int64_t n) {
  for (int64_t p = 0; p < batch; ++p)
    gemm(a.data() + p * m * k, k, b.data() + p * k * n, c.data() + p * m * n, m,
         k, n);
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
  llvm::SmallVector<int64_t> lOrder(lb), rOrder(rb), outOrder;
  lOrder.append(lf);
  lOrder.append(lc.begin(), lc.end());
  rOrder.append(rc.begin(), rc.end());
  rOrder.append(rf);
  for (int64_t d = 0; d < out->getRank(); ++d)
    outOrder.push_back(d);
  if (out->getNumElements() != batch * m * n)
    return ctx.fail(op, "dot result shape does not match its operands");

  if (isComplexKind(out->getKind())) {
    auto a = toCanonical<std::complex<double>>(lhs, lOrder);
    auto b = toCanonical<std::complex<double>>(rhs, rOrder);
    std::vector<std::complex<double>> c(batch * m * n);
    batchedMatmul(a, b, c, batch, m, k, n);
    fromCanonical(c, outOrder, *out);
  } else if (isIntegralKind(out->getKind()) && isIntegralKind(lhs.getKind()) &&
             isIntegralKind(rhs.getKind())) {
    auto a = toCanonical<uint64_t>(lhs, lOrder);
    auto b = toCanonical<uint64_t>(rhs, rOrder);
    std::vector<uint64_t> c(batch * m * n);
    batchedMatmul(a, b, c, batch, m, k, n);
    if (out->getKind() == ElemKind::Pred)
      for (uint64_t &v : c)
        v = v != 0;
    fromCanonical(c, outOrder, *out);
  } else {
    auto a = toCanonical<double>(lhs, lOrder);
    auto b = toCanonical<double>(rhs, rOrder);
    std::vector<double> c(batch * m * n);
    batchedMatmul(a, b, c, batch, m, k, n);
    fromCanonical(c, outOrder, *out);
  }
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

  // Canonical layouts: lhs [B, S..., IF], rhs [KS..., KI, KO],
  // out [OB, OS..., KO].
  llvm::SmallVector<int64_t> lOrder = {dn.getInputBatch()};
  lOrder.append(inSpatial.begin(), inSpatial.end());
  lOrder.push_back(dn.getInputFeature());
  llvm::SmallVector<int64_t> rOrder(kSpatial.begin(), kSpatial.end());
  rOrder.push_back(dn.getKernelInputFeature());
  rOrder.push_back(dn.getKernelOutputFeature());
  llvm::SmallVector<int64_t> oOrder = {dn.getOutputBatch()};
  oOrder.append(outSpatial.begin(), outSpatial.end());
  oOrder.push_back(dn.getOutputFeature());
  std::vector<double> a = toCanonical<double>(lhs, lOrder);
  std::vector<double> w = toCanonical<double>(rhs, rOrder);
  std::vector<double> c(out->getNumElements(), 0.0);

  llvm::SmallVector<int64_t> inSize, outSize, kSize;
  for (size_t d = 0; d < numSpatial; ++d) {
    inSize.push_back(lhs.getShape()[inSpatial[d]]);
    outSize.push_back(out->getShape()[outSpatial[d]]);
    kSize.push_back(size[d]);
  }
  int64_t inSpatialCount = 1, outSpatialCount = 1, kCount = 1;
  for (size_t d = 0; d < numSpatial; ++d) {
    inSpatialCount *= inSize[d];
    outSpatialCount *= outSize[d];
    kCount *= kSize[d];
  }
  // im2col: rows are output positions (batch x output spatial, flattened
  // as in the canonical output), columns the kernel taps x input features.
  // A chunk of rows is gathered tap block by tap block into `patch` (zeros
  // on padding and dilation holes) and multiplied by the matching rows of
  // the kernel matrix, accumulating into `tmp`: whatever the shape (1x1
  // "dots", weight-gradient convolutions with huge windows), each GEMM call
  // sees up to kChunkRows rows and a bounded patch, so packing the kernel
  // block is amortized over many rows. k order per output is unchanged.
  constexpr int64_t kChunkRows = 256, kPatchDoubles = int64_t(1) << 19;
  int64_t totalRows = OB * outSpatialCount;
  int64_t chunk =
      std::min<int64_t>(kChunkRows, std::max<int64_t>(totalRows, 1));
  int64_t tapBlock =
      std::clamp<int64_t>(kPatchDoubles / (chunk * std::max<int64_t>(KI, 1)), 1,
                          std::max<int64_t>(kCount, 1));
  // Per group, the kernel as a [kCount * KI, groupOut] matrix.
  int64_t patchCols = kCount * KI;
  std::vector<std::vector<double>> groupKernels;
  if (groups > 1) {
    groupKernels.resize(groups);
    for (int64_t g = 0; g < groups; ++g) {
      std::vector<double> &wg = groupKernels[g];
      wg.resize(patchCols * groupOut);
      for (int64_t r = 0; r < patchCols; ++r)
        std::copy_n(w.data() + r * KO + g * groupOut, groupOut,
                    wg.data() + r * groupOut);
    }
  }
  // Taps on padding or base-dilation holes multiply zeros. With a finite
  // kernel such a product is +-0 and adding it to a sum that starts at +0
  // changes nothing, so they can be left out: per chunk of rows only the
  // taps valid for some row of the chunk are gathered and multiplied, and
  // rows are ordered by their lhs-dilation phase (which decides which taps
  // hit data) so a chunk's rows share them. The k order of the remaining
  // products is unchanged, so results are bit-identical. A kernel with an
  // inf or NaN keeps every tap (0 * inf is NaN).
  bool skipHoles = ctx.options.fastPaths &&
                   std::all_of(w.begin(), w.end(),
                               [](double v) { return std::isfinite(v); });
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
  std::vector<int64_t> taps(chunk * kCount), active;
  std::vector<double> patch(chunk * tapBlock * KI), tmp(chunk * groupOut);
  std::vector<double> kernelRows;
  llvm::SmallVector<int64_t> os(numSpatial, 0), ks(numSpatial, 0);
  for (int64_t r0 = 0; r0 < totalRows; r0 += chunk) {
    int64_t rows = std::min(chunk, totalRows - r0);
    // Input position of every kernel tap of these outputs (-1: padding or
    // a hole), indexed by the kernel position the tap multiplies.
    for (int64_t r = 0; r < rows; ++r) {
      int64_t osLinear = rowAt(r0 + r) % std::max<int64_t>(outSpatialCount, 1);
      for (int64_t d = numSpatial - 1; d >= 0; --d) {
        os[d] = osLinear % outSize[d];
        osLinear /= outSize[d];
      }
      std::fill(ks.begin(), ks.end(), 0);
      for (int64_t kLinear = 0; kLinear < kCount; ++kLinear) {
        int64_t inLinear = 0, kernelLinear = 0;
        bool valid = true;
        for (size_t d = 0; d < numSpatial; ++d) {
          int64_t pos = os[d] * stride[d] + ks[d] * rhsDil[d] - padLow[d];
          if (pos < 0 || pos % lhsDil[d] || pos / lhsDil[d] >= inSize[d])
            valid = false;
          else
            inLinear = inLinear * inSize[d] + pos / lhsDil[d];
          int64_t kIndex = reversal[d] ? kSize[d] - 1 - ks[d] : ks[d];
          kernelLinear = kernelLinear * kSize[d] + kIndex;
        }
        taps[r * kCount + kernelLinear] = valid ? inLinear : -1;
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
      const double *kernel = groups > 1 ? groupKernels[g].data() : w.data();
      std::fill_n(tmp.begin(), rows * groupOut, 0.0);
      for (int64_t kl0 = 0; kl0 < activeCount; kl0 += tapBlock) {
        int64_t tb = std::min(tapBlock, activeCount - kl0);
        int64_t cols = tb * KI;
        for (int64_t r = 0; r < rows; ++r) {
          int64_t ob = rowAt(r0 + r) / std::max<int64_t>(outSpatialCount, 1);
          int64_t b = bgc > 1 ? g * (B / bgc) + ob : ob;
          const double *in = a.data() + b * inSpatialCount * IF + fBase;
          double *row = patch.data() + r * cols;
          for (int64_t kl = 0; kl < tb; ++kl) {
            int64_t t = taps[r * kCount + active[kl0 + kl]];
            if (t < 0)
              std::fill_n(row + kl * KI, KI, 0.0);
            else
              std::copy_n(in + t * IF, KI, row + kl * KI);
          }
        }
        // The kernel rows of these taps: in place when consecutive.
        const double *block = kernel + active[kl0] * KI * groupOut;
        if (active[kl0 + tb - 1] - active[kl0] != tb - 1) {
          kernelRows.resize(cols * groupOut);
          for (int64_t kl = 0; kl < tb; ++kl)
            std::copy_n(kernel + active[kl0 + kl] * KI * groupOut,
                        KI * groupOut, kernelRows.data() + kl * KI * groupOut);
          block = kernelRows.data();
        }
        gemm(patch.data(), cols, block, tmp.data(), rows, cols, groupOut);
      }
      for (int64_t r = 0; r < rows; ++r) {
        double *o = c.data() + rowAt(r0 + r) * KO + g * groupOut;
        const double *t = tmp.data() + r * groupOut;
        for (int64_t j = 0; j < groupOut; ++j)
          o[j] += t[j];
      }
    }
  }
  fromCanonical(c, oOrder, *out);
  return out;
}

} // namespace

void gshard::sim::registerContractionHandlers(HandlerTable &t) {
  t["hlo.dot"] = dotHandler;
  t["hlo.convolution"] = convolutionHandler;
}
