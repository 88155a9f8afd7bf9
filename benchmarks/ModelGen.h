//===- ModelGen.h - GShard model generator (HLO text) -----------*- C++ -*-===//
//
// Writes the HLO text of the models of the GShard paper (Lepikhin et al.,
// 2020) with its sharding annotations: the MoE Transformer (top-2 gating
// with expert capacity, groups, an MoE layer in place of every other
// feed-forward layer), the dense Transformer, and a Megatron-style MLP.
// Used by the gshard-modelgen tool, the partition-time benchmark and the
// trend tool.
//
//===----------------------------------------------------------------------===//

#ifndef GSHARD_BENCHMARKS_MODELGEN_H
#define GSHARD_BENCHMARKS_MODELGEN_H

#include <cstdint>
#include <string>

namespace gshard::bench {

enum class ModelKind { MoE, Dense, MegatronMlp };

struct ModelConfig {
  ModelKind kind = ModelKind::MoE;
  /// Transformer layers (attention + feed-forward each). MoE: layers 1, 3,
  /// 5, ... have an MoE feed-forward layer. Megatron MLP: MLP blocks.
  int64_t layers = 2;
  int64_t devices = 4;
  /// Model dimension M, feed-forward dimension H, attention heads.
  int64_t modelDim = 16;
  int64_t hiddenDim = 32;
  int64_t heads = 2;
  /// Experts E (MoE only).
  int64_t experts = 4;
  /// Sequences per batch and sequence length: B·L tokens per step.
  int64_t batch = 4;
  int64_t seqLen = 8;
  /// Groups G (0: one per device). Group size S = B·L / G.
  int64_t groups = 0;
  /// Expert capacity C per group (0: 2·S / E rounded up, as in GShard).
  int64_t capacity = 0;
  /// Element type of activations and weights: "f32" or "bf16". Gating is
  /// computed in f32 in both cases, as in GShard.
  std::string dtype = "f32";
  /// Also emit the data-parallel weight gradients of the replicated
  /// (attention and dense feed-forward) weights: dW = x^T · dy summed over
  /// the device-sharded batch, with the forward output standing in for the
  /// cotangent dy (same shape and sharding; the backward pass itself is
  /// not generated). Each one is where training all-reduces a gradient.
  bool weightGradients = false;
  /// Metadata op_name on every instruction ("layer3/moe/dispatch").
  bool metadata = true;

  /// The paper's 600B model: 36 layers, 2048 experts on 2048 TPU v3
  /// cores, M = 1024, H = 8192, 16 heads, a batch of 4M tokens (4096
  /// sequences of 1024), bf16.
  static ModelConfig paper600B();
};

/// Derived sizes (after defaults are filled in).
struct ModelSizes {
  int64_t groups = 0, groupSize = 0, capacity = 0, headDim = 0;
  int64_t moeLayers = 0;
};

/// Fills `sizes` and returns "" or returns why `config` is not valid (e.g.
/// the batch not divisible by the devices).
std::string validateModelConfig(const ModelConfig &config, ModelSizes &sizes);

/// HLO text of the model, or "" with `error` set.
std::string generateModel(const ModelConfig &config, std::string &error);

} // namespace gshard::bench

#endif // GSHARD_BENCHMARKS_MODELGEN_H
