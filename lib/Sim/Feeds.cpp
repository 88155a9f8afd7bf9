//===- Feeds.cpp - infeed, outfeed, rng-bit-generator, fft ----------------===//
//
// Part of gshard, under the Apache License v2.0.
//
// Semantics the simulator defines for ops whose data comes from outside the
// program (documented in docs/simulator.md):
//
//   * outfeed consumes its operand (nothing is recorded) and returns a
//     token;
//   * infeed returns (data..., token) with deterministic pseudo-random data:
//     element i of the n-th infeed a device executes is a function of
//     (--seed, n, i) only, so every device of a run (and the original and
//     the partitioned program) reads the same stream. Floats are uniform
//     in [-1, 1), signed integers in [-10, 10), unsigned in [0, 10), pred
//     50/50;
//   * rng-bit-generator's output and new state are a function of the state
//     alone (splitmix64 of the state words), not XLA's Philox/ThreeFry bits;
//   * fft is a direct O(n^2)-per-dimension DFT in complex<double>.
//
//===----------------------------------------------------------------------===//

#include "Exec.h"

#include <cmath>
#include <complex>

using namespace mlir;
using namespace gshard;
using namespace gshard::sim;

namespace {

uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

/// Fills every array leaf of `value` from the stream `stream`.
void fillFeed(Literal &value, uint64_t &stream) {
  if (value.isTuple()) {
    for (const LiteralRef &element : value.getElements())
      fillFeed(*element, stream);
    return;
  }
  if (!value.isArray())
    return;
  ElemKind kind = value.getKind();
  for (int64_t i = 0, n = value.getNumElements(); i < n; ++i) {
    uint64_t bits = mix64(stream++);
    double u = (bits >> 11) * (1.0 / 9007199254740992.0);
    if (kind == ElemKind::Pred)
      value.setInt(i, bits & 1);
    else if (isSignedIntKind(kind))
      value.setInt(i, static_cast<int64_t>(bits % 20) - 10);
    else if (isUnsignedIntKind(kind))
      value.setInt(i, static_cast<int64_t>(bits % 10));
    else if (isComplexKind(kind))
      value.setComplex(
          i, {2 * u - 1,
              2 * ((mix64(bits) >> 11) * (1.0 / 9007199254740992.0)) - 1});
    else
      value.setFloat(i, 2 * u - 1);
  }
}

LiteralRef infeedHandler(ExecContext &ctx, Operation *op,
                         ArrayRef<LiteralRef> operands) {
  LiteralRef out = Literal::makeZero(op->getResult(0).getType());
  if (!out)
    return ctx.fail(op, "unsupported infeed shape");
  uint64_t stream =
      mix64(mix64(ctx.options.seed ^ 0x1feedULL) ^ mix64(ctx.infeedCounter++)) *
      0x100000000ULL;
  fillFeed(*out, stream);
  return out;
}

LiteralRef outfeedHandler(ExecContext &ctx, Operation *op,
                          ArrayRef<LiteralRef> operands) {
  return Literal::makeToken();
}

LiteralRef rngBitGeneratorHandler(ExecContext &ctx, Operation *op,
                                  ArrayRef<LiteralRef> operands) {
  auto tuple = dyn_cast<TupleType>(op->getResult(0).getType());
  const Literal &state = *operands[0];
  if (!tuple || tuple.size() != 2 || !state.isArray())
    return ctx.fail(op, "rng-bit-generator returns (new state, bits)");
  auto stateType = dyn_cast<RankedTensorType>(tuple.getType(0));
  auto bitsType = dyn_cast<RankedTensorType>(tuple.getType(1));
  if (!stateType || !bitsType)
    return ctx.fail(op, "rng-bit-generator returns two arrays");
  LiteralRef newState = Literal::makeArray(stateType);
  LiteralRef bits = Literal::makeArray(bitsType);
  if (!newState || !bits ||
      newState->getNumElements() != state.getNumElements())
    return ctx.fail(op, "unsupported rng-bit-generator shapes");
  uint64_t h = mix64(state.getNumElements());
  for (int64_t i = 0, n = state.getNumElements(); i < n; ++i)
    h = mix64(h ^ state.getBits(i));
  for (int64_t i = 0, n = bits->getNumElements(); i < n; ++i)
    bits->setBits(i, mix64(h + i));
  for (int64_t i = 0, n = newState->getNumElements(); i < n; ++i)
    newState->setBits(i, mix64(h ^ (0xa5a5a5a5ULL + i)));
  return Literal::makeTuple({newState, bits});
}

/// In-place DFT along dimension `dim` of a row-major complex array.
void dftAlong(std::vector<std::complex<double>> &data, ArrayRef<int64_t> shape,
              int64_t dim, bool inverse) {
  int64_t n = shape[dim];
  int64_t inner = 1;
  for (size_t d = dim + 1; d < shape.size(); ++d)
    inner *= shape[d];
  int64_t outer = n ? static_cast<int64_t>(data.size()) / (n * inner) : 0;
  std::vector<std::complex<double>> twiddle(n), line(n);
  double sign = inverse ? 1.0 : -1.0;
  for (int64_t k = 0; k < n; ++k)
    twiddle[k] = std::polar(1.0, sign * 2.0 * M_PI * k / n);
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t in = 0; in < inner; ++in) {
      std::complex<double> *base = data.data() + o * n * inner + in;
      for (int64_t k = 0; k < n; ++k) {
        std::complex<double> sum = 0;
        for (int64_t j = 0; j < n; ++j)
          sum += base[j * inner] * twiddle[(j * k) % n];
        line[k] = inverse ? sum / static_cast<double>(n) : sum;
      }
      for (int64_t k = 0; k < n; ++k)
        base[k * inner] = line[k];
    }
  }
}

LiteralRef fftHandler(ExecContext &ctx, Operation *op,
                      ArrayRef<LiteralRef> operands) {
  auto fft = cast<hlo::FftOp>(op);
  const Literal &in = *operands[0];
  LiteralRef out = Literal::makeArray(getResultTensorType(op));
  if (!out)
    return ctx.fail(op, "unsupported element type");
  ArrayRef<int64_t> lengths = fft.getFftLength();
  int64_t rank = in.getRank(), k = lengths.size();
  if (k < 1 || k > rank || out->getRank() != rank)
    return ctx.fail(op, "fft_length does not fit the operand");
  hlo::FftType type = fft.getFftType();
  // The full complex signal: the output's shape for RFFT (before cropping)
  // and IRFFT (after Hermitian extension), else the operand's.
  llvm::SmallVector<int64_t> shape(in.getShape());
  for (int64_t d = 0; d < k; ++d)
    shape[rank - k + d] = lengths[d];
  int64_t count = 1;
  for (int64_t s : shape)
    count *= s;
  std::vector<std::complex<double>> data(count);
  llvm::SmallVector<int64_t> index(rank, 0);
  if (type == hlo::FftType::IRFFT) {
    // X[k] for the last dim's upper half from conj(X[-k]) (all fft dims
    // negated), the stored half as given.
    int64_t half = in.getShape()[rank - 1];
    for (int64_t i = 0; i < count; ++i) {
      llvm::SmallVector<int64_t> src(index);
      bool conj = index[rank - 1] >= half;
      if (conj)
        for (int64_t d = rank - k; d < rank; ++d)
          src[d] = (shape[d] - index[d]) % shape[d];
      bool inside = true;
      for (int64_t d = 0; d < rank; ++d)
        inside &= src[d] < in.getShape()[d];
      std::complex<double> v = inside ? in.getComplex(in.linearIndex(src)) : 0;
      data[i] = conj ? std::conj(v) : v;
      nextIndex(index, shape);
    }
  } else {
    for (int64_t i = 0; i < count; ++i) {
      bool inside = true;
      for (int64_t d = 0; d < rank; ++d)
        inside &= index[d] < in.getShape()[d];
      if (inside) {
        int64_t j = in.linearIndex(index);
        data[i] = isComplexKind(in.getKind())
                      ? in.getComplex(j)
                      : std::complex<double>(in.getAsDouble(j), 0);
      }
      nextIndex(index, shape);
    }
  }
  bool inverse = type == hlo::FftType::IFFT || type == hlo::FftType::IRFFT;
  for (int64_t d = rank - k; d < rank; ++d)
    dftAlong(data, shape, d, inverse);
  // Crop (RFFT keeps n/2+1 of the last dim) and store.
  llvm::SmallVector<int64_t> outIndex(rank, 0);
  llvm::SmallVector<int64_t> strides(rank, 1);
  for (int64_t d = rank - 2; d >= 0; --d)
    strides[d] = strides[d + 1] * shape[d + 1];
  for (int64_t i = 0, n = out->getNumElements(); i < n; ++i) {
    int64_t j = 0;
    for (int64_t d = 0; d < rank; ++d)
      j += std::min(outIndex[d], shape[d] - 1) * strides[d];
    if (isComplexKind(out->getKind()))
      out->setComplex(i, data[j]);
    else
      out->setFloat(i, data[j].real());
    nextIndex(outIndex, out->getShape());
  }
  return out;
}

} // namespace

void gshard::sim::registerFeedHandlers(HandlerTable &t) {
  t["hlo.infeed"] = infeedHandler;
  t["hlo.outfeed"] = outfeedHandler;
  t["hlo.rng_bit_generator"] = rngBitGeneratorHandler;
  t["hlo.fft"] = fftHandler;
}
