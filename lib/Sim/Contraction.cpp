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

using namespace mlir;
using namespace gshard;
using namespace gshard::sim;

namespace {

/// Element reader into the canonical order: canonical dim j is `lit`'s
/// dimension `order[j]`. `T` is double, uint64_t (integer bits, sign
/// extended) or complex<double>.
template <typename T>
std::vector<T> toCanonical(const Literal &lit, ArrayRef<int64_t> order) {
  std::vector<T> out(lit.getNumElements());
  if (out.empty())
    return out;
  llvm::SmallVector<int64_t> strides = lit.getStrides();
  llvm::SmallVector<int64_t> shape, permStrides;
  for (int64_t d : order) {
    shape.push_back(lit.getShape()[d]);
    permStrides.push_back(strides[d]);
  }
  int64_t rank = shape.size();
  llvm::SmallVector<int64_t> index(rank, 0);
  int64_t offset = 0;
  ElemKind kind = lit.getKind();
  bool fastF32 = kind == ElemKind::F32;
  const float *f32 = reinterpret_cast<const float *>(lit.data());
  for (size_t i = 0; i < out.size(); ++i) {
    if constexpr (std::is_same_v<T, double>)
      out[i] = fastF32 ? static_cast<double>(f32[offset])
                       : lit.getAsDouble(offset);
    else if constexpr (std::is_same_v<T, uint64_t>)
      out[i] = static_cast<uint64_t>(lit.getInt(offset));
    else
      out[i] = lit.getComplex(offset);
    for (int64_t k = rank - 1; k >= 0; --k) {
      offset += permStrides[k];
      if (++index[k] < shape[k])
        break;
      offset -= permStrides[k] * shape[k];
      index[k] = 0;
    }
  }
  return out;
}

/// Writes canonical values into `lit` (canonical dim j = lit dim order[j]).
template <typename T>
void fromCanonical(const std::vector<T> &values, ArrayRef<int64_t> order,
                   Literal &lit) {
  if (values.empty())
    return;
  llvm::SmallVector<int64_t> strides = lit.getStrides();
  llvm::SmallVector<int64_t> shape, permStrides;
  for (int64_t d : order) {
    shape.push_back(lit.getShape()[d]);
    permStrides.push_back(strides[d]);
  }
  int64_t rank = shape.size();
  llvm::SmallVector<int64_t> index(rank, 0);
  int64_t offset = 0;
  ElemKind kind = lit.getKind();
  for (size_t i = 0; i < values.size(); ++i) {
    if constexpr (std::is_same_v<T, double>) {
      if (isIntegralKind(kind))
        lit.setFromDouble(offset, values[i]);
      else
        lit.setFloat(offset, values[i]);
    } else if constexpr (std::is_same_v<T, uint64_t>) {
      lit.setInt(offset, static_cast<int64_t>(values[i]));
    } else {
      lit.setComplex(offset, values[i]);
    }
    for (int64_t k = rank - 1; k >= 0; --k) {
      offset += permStrides[k];
      if (++index[k] < shape[k])
        break;
      offset -= permStrides[k] * shape[k];
      index[k] = 0;
    }
  }
}

/// C[b] += A[b] * B[b] with A: MxK, B: KxN, row-major, blocked.
template <typename T>
void batchedMatmul(const std::vector<T> &a, const std::vector<T> &b,
                   std::vector<T> &c, int64_t batch, int64_t m, int64_t k,
                   int64_t n) {
  constexpr int64_t kBlockM = 32, kBlockK = 256;
  for (int64_t p = 0; p < batch; ++p) {
    const T *A = a.data() + p * m * k;
    const T *B = b.data() + p * k * n;
    T *C = c.data() + p * m * n;
    for (int64_t i0 = 0; i0 < m; i0 += kBlockM) {
      int64_t i1 = std::min(m, i0 + kBlockM);
      for (int64_t k0 = 0; k0 < k; k0 += kBlockK) {
        int64_t k1 = std::min(k, k0 + kBlockK);
        for (int64_t i = i0; i < i1; ++i) {
          T *row = C + i * n;
          for (int64_t kk = k0; kk < k1; ++kk) {
            T scale = A[i * k + kk];
            const T *brow = B + kk * n;
            for (int64_t j = 0; j < n; ++j)
              row[j] += scale * brow[j];
          }
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
  } else if (isIntegralKind(out->getKind()) &&
             isIntegralKind(lhs.getKind()) && isIntegralKind(rhs.getKind())) {
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
  if (fgc < 1 || bgc < 1 || IF != KI * fgc || KO % fgc || KO % bgc ||
      B % bgc || OB != B / bgc ||
      out->getShape()[dn.getOutputFeature()] != KO)
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
  llvm::SmallVector<int64_t> os(numSpatial, 0), ks(numSpatial, 0);
  for (int64_t ob = 0; ob < OB; ++ob) {
    std::fill(os.begin(), os.end(), 0);
    for (int64_t osLinear = 0; osLinear < outSpatialCount; ++osLinear) {
      double *acc = c.data() + (ob * outSpatialCount + osLinear) * KO;
      std::fill(ks.begin(), ks.end(), 0);
      for (int64_t kLinear = 0; kLinear < kCount; ++kLinear) {
        // Input position of this kernel tap, if not padding or a hole.
        int64_t inLinear = 0, kernelLinear = 0;
        bool valid = true;
        for (size_t d = 0; d < numSpatial && valid; ++d) {
          int64_t pos = os[d] * stride[d] + ks[d] * rhsDil[d] - padLow[d];
          if (pos < 0 || pos % lhsDil[d]) {
            valid = false;
            break;
          }
          int64_t i = pos / lhsDil[d];
          if (i >= inSize[d]) {
            valid = false;
            break;
          }
          inLinear = inLinear * inSize[d] + i;
          int64_t kIndex = reversal[d] ? kSize[d] - 1 - ks[d] : ks[d];
          kernelLinear = kernelLinear * kSize[d] + kIndex;
        }
        if (valid) {
          for (int64_t g = 0; g < groups; ++g) {
            int64_t b = bgc > 1 ? g * (B / bgc) + ob : ob;
            int64_t fBase = fgc > 1 ? g * KI : 0;
            const double *in =
                a.data() + (b * inSpatialCount + inLinear) * IF + fBase;
            const double *kernel = w.data() + kernelLinear * KI * KO;
            double *o = acc + g * groupOut;
            for (int64_t ki = 0; ki < KI; ++ki) {
              double x = in[ki];
              const double *krow = kernel + ki * KO + g * groupOut;
              for (int64_t j = 0; j < groupOut; ++j)
                o[j] += x * krow[j];
            }
          }
        }
        nextIndex(ks, kSize);
      }
      nextIndex(os, outSize);
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
