//===- Misc.cpp - Constants, ids, rng, tokens, batch-norm -----------------===//
//
// Part of gshard, under the Apache License v2.0.
//
// rng is seeded: element i of the k-th rng executed on a device draws from
// splitmix64(seed, device, k, i), so runs are reproducible. (Its values are
// not XLA's, which are backend-specific anyway.)
//
//===----------------------------------------------------------------------===//

#include "Exec.h"

#include <cmath>

using namespace mlir;
using namespace gshard;
using namespace gshard::sim;

namespace {

LiteralRef constantHandler(ExecContext &ctx, Operation *op,
                           ArrayRef<LiteralRef> operands) {
  auto constant = cast<hlo::ConstantOp>(op);
  Attribute value = constant.getValueAttr();
  if (!value)
    return ctx.unsupported(op, "the constant's literal was elided ({...}) in "
                               "the dump");
  std::function<LiteralRef(Attribute, Type)> build =
      [&](Attribute attr, Type type) -> LiteralRef {
    if (auto elements = dyn_cast<ElementsAttr>(attr)) {
      LiteralRef lit = Literal::fromElementsAttr(elements);
      auto tensor = dyn_cast<RankedTensorType>(type);
      if (!lit || !tensor)
        return nullptr;
      if (lit->getNumElements() != tensor.getNumElements())
        return nullptr;
      return lit->reshaped(tensor.getShape());
    }
    if (auto array = dyn_cast<ArrayAttr>(attr)) {
      auto tuple = dyn_cast<TupleType>(type);
      if (!tuple || tuple.size() != array.size())
        return nullptr;
      std::vector<LiteralRef> elements;
      for (size_t i = 0; i < array.size(); ++i) {
        LiteralRef element = build(array[i], tuple.getType(i));
        if (!element)
          return nullptr;
        elements.push_back(element);
      }
      return Literal::makeTuple(elements);
    }
    return nullptr;
  };
  LiteralRef lit = build(value, op->getResult(0).getType());
  if (!lit)
    return ctx.unsupported(op, "constant literal of an unsupported form");
  return lit;
}

LiteralRef partitionIdHandler(ExecContext &ctx, Operation *op,
                              ArrayRef<LiteralRef> operands) {
  LiteralRef out = Literal::makeArray(getResultTensorType(op));
  out->setInt(0, ctx.partitionId);
  return out;
}

LiteralRef replicaIdHandler(ExecContext &ctx, Operation *op,
                            ArrayRef<LiteralRef> operands) {
  LiteralRef out = Literal::makeArray(getResultTensorType(op));
  out->setInt(0, ctx.replicaId);
  return out;
}

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

LiteralRef rngHandler(ExecContext &ctx, Operation *op,
                      ArrayRef<LiteralRef> operands) {
  auto rng = cast<hlo::RngOp>(op);
  const Literal &a = *operands[0], &b = *operands[1];
  LiteralRef out = Literal::makeArray(getResultTensorType(op));
  uint64_t stream =
      splitmix64(splitmix64(ctx.options.seed ^ 0x5eedULL) ^
                 splitmix64(ctx.replicaId * 1000003 + ctx.partitionId) ^
                 splitmix64(ctx.rngCounter++));
  bool normal = rng.getDistribution() == hlo::RngDistribution::Normal;
  for (int64_t i = 0, n = out->getNumElements(); i < n; ++i) {
    uint64_t bits = splitmix64(stream + i);
    double u = (bits >> 11) * (1.0 / 9007199254740992.0); // [0, 1)
    if (normal) {
      double u2 = (splitmix64(bits) >> 11) * (1.0 / 9007199254740992.0);
      double z =
          std::sqrt(-2.0 * std::log(1.0 - u)) * std::cos(2.0 * M_PI * u2);
      out->setFloat(i, a.getFloat(0) + b.getFloat(0) * z);
    } else if (isIntegralKind(out->getKind())) {
      int64_t lo = a.getInt(0), hi = b.getInt(0);
      uint64_t range = hi > lo ? static_cast<uint64_t>(hi - lo) : 1;
      out->setInt(i, lo + static_cast<int64_t>(bits % range));
    } else {
      double lo = a.getFloat(0), hi = b.getFloat(0);
      double v = lo + (hi - lo) * u;
      out->setFloat(i, v);
      if (out->getFloat(i) >= hi && hi > lo) // rounding may reach hi
        out->setFloat(i, lo);
    }
  }
  return out;
}

LiteralRef afterAllHandler(ExecContext &ctx, Operation *op,
                           ArrayRef<LiteralRef> operands) {
  return Literal::makeToken();
}

/// Reads element (.., feature, ..) statistics helpers for batch-norm.
struct FeatureView {
  int64_t featureDim, features, stride, outer;
  FeatureView(const Literal &x, int64_t featureIndex) {
    featureDim = featureIndex;
    features = x.getShape()[featureIndex];
    stride = x.getStrides()[featureIndex];
  }
  int64_t featureOf(int64_t linear) const {
    return (linear / stride) % features;
  }
};

LiteralRef batchNormTrainingHandler(ExecContext &ctx, Operation *op,
                                    ArrayRef<LiteralRef> operands) {
  auto bn = cast<hlo::BatchNormTrainingOp>(op);
  const Literal &x = *operands[0], &scale = *operands[1],
                &offset = *operands[2];
  int64_t f = bn.getFeatureIndex();
  if (f < 0 || f >= x.getRank())
    return ctx.fail(op, "feature_index out of range");
  FeatureView view(x, f);
  double epsilon = bn.getEpsilon().convertToDouble();
  std::vector<double> sum(view.features, 0), sumSq(view.features, 0);
  int64_t n = x.getNumElements();
  int64_t perFeature = view.features ? n / view.features : 0;
  for (int64_t i = 0; i < n; ++i) {
    double v = x.getFloat(i);
    sum[view.featureOf(i)] += v;
  }
  std::vector<double> mean(view.features), var(view.features);
  for (int64_t c = 0; c < view.features; ++c)
    mean[c] = perFeature ? sum[c] / perFeature : 0;
  for (int64_t i = 0; i < n; ++i) {
    double d = x.getFloat(i) - mean[view.featureOf(i)];
    sumSq[view.featureOf(i)] += d * d;
  }
  for (int64_t c = 0; c < view.features; ++c)
    var[c] = perFeature ? sumSq[c] / perFeature : 0;
  auto tuple = cast<TupleType>(op->getResult(0).getType());
  LiteralRef out = Literal::makeArray(cast<RankedTensorType>(tuple.getType(0)));
  LiteralRef meanLit =
      Literal::makeArray(cast<RankedTensorType>(tuple.getType(1)));
  LiteralRef varLit =
      Literal::makeArray(cast<RankedTensorType>(tuple.getType(2)));
  for (int64_t i = 0; i < n; ++i) {
    int64_t c = view.featureOf(i);
    out->setFloat(i, (x.getFloat(i) - mean[c]) / std::sqrt(var[c] + epsilon) *
                             scale.getFloat(c) +
                         offset.getFloat(c));
  }
  for (int64_t c = 0; c < view.features; ++c) {
    meanLit->setFloat(c, mean[c]);
    varLit->setFloat(c, var[c]);
  }
  return Literal::makeTuple({out, meanLit, varLit});
}

LiteralRef batchNormInferenceHandler(ExecContext &ctx, Operation *op,
                                     ArrayRef<LiteralRef> operands) {
  auto bn = cast<hlo::BatchNormInferenceOp>(op);
  const Literal &x = *operands[0], &scale = *operands[1],
                &offset = *operands[2], &mean = *operands[3],
                &var = *operands[4];
  int64_t f = bn.getFeatureIndex();
  if (f < 0 || f >= x.getRank())
    return ctx.fail(op, "feature_index out of range");
  FeatureView view(x, f);
  double epsilon = bn.getEpsilon().convertToDouble();
  LiteralRef out = Literal::makeArray(getResultTensorType(op));
  for (int64_t i = 0, n = x.getNumElements(); i < n; ++i) {
    int64_t c = view.featureOf(i);
    out->setFloat(i, (x.getFloat(i) - mean.getFloat(c)) /
                             std::sqrt(var.getFloat(c) + epsilon) *
                             scale.getFloat(c) +
                         offset.getFloat(c));
  }
  return out;
}

} // namespace

void gshard::sim::registerMiscHandlers(HandlerTable &t) {
  t["hlo.constant"] = constantHandler;
  t["hlo.partition_id"] = partitionIdHandler;
  t["hlo.replica_id"] = replicaIdHandler;
  t["hlo.rng"] = rngHandler;
  t["hlo.after_all"] = afterAllHandler;
  t["hlo.batch_norm_training"] = batchNormTrainingHandler;
  t["hlo.batch_norm_inference"] = batchNormInferenceHandler;
}
