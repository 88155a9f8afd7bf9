//===- ModelGen.cpp - GShard model generator (HLO text) -------------------===//
//
// The MoE layer follows the GShard paper's Algorithm 2 einsum by einsum:
//
//   gates      = softmax(einsum("GSM,ME->GSE", inputs, wg))
//   combine_weights, dispatch_mask = Top2Gating(gates)       // [G,S,E,C]
//   dispatched = einsum("GSEC,GSM->EGCM", dispatch_mask, inputs)  split E
//   h          = relu(einsum("EGCM,EMH->EGCH", dispatched, wi))
//   expert_out = einsum("EGCH,EHM->GECM", h, wo)                  split G
//   outputs    = einsum("GSEC,GECM->GSM", combine_weights, expert_out)
//
// HLO's dot puts batch dims first, so each einsum is a dot followed by the
// transpose to the paper's dim order. Annotated as GShard does: the dispatch
// dot and the gating's [G,S,E,C] tensors split on G, its transpose to
// [E,G,C,M] on E; the experts' output on E, its transpose to [G,E,C,M] on
// G. The two transposes are where the partitioner inserts the all-to-alls.
// Top-2 gating is the paper's Algorithm 1 without the random
// second-expert policy and the auxiliary loss (neither changes what is
// sent): first and second expert by max/argmax, positions in each expert's
// buffer by a cumulative sum over the group (a reduce-window, as XLA
// lowers cumsum), tokens past the capacity C dropped, the second expert's
// positions after all first choices.
//
// Attention and dense feed-forward layers are data-parallel, as in GShard:
// weights replicated, activations split over the batch.
//
//===----------------------------------------------------------------------===//

#include "ModelGen.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <map>

using namespace gshard::bench;

ModelConfig ModelConfig::paper600B() {
  ModelConfig c;
  c.kind = ModelKind::MoE;
  c.layers = 36;
  c.devices = 2048;
  c.experts = 2048;
  c.modelDim = 1024;
  c.hiddenDim = 8192;
  c.heads = 16;
  c.batch = 4096;
  c.seqLen = 1024;
  c.dtype = "bf16";
  return c;
}

std::string gshard::bench::validateModelConfig(const ModelConfig &c,
                                               ModelSizes &s) {
  auto positive = [](int64_t v) { return v > 0; };
  if (!positive(c.layers) || !positive(c.devices) || !positive(c.modelDim) ||
      !positive(c.hiddenDim) || !positive(c.batch) || !positive(c.seqLen))
    return "layers, devices, model/hidden dims, batch and sequence length "
           "must be positive";
  if (c.dtype != "f32" && c.dtype != "bf16")
    return "dtype must be f32 or bf16, not '" + c.dtype + "'";
  if (c.kind == ModelKind::MegatronMlp) {
    if (c.hiddenDim % c.devices)
      return "the hidden dim H must be a multiple of the devices";
    return "";
  }
  if (c.batch % c.devices)
    return "the batch (sequences) must be a multiple of the devices";
  if (!positive(c.heads) || c.modelDim % c.heads)
    return "the model dim M must be a multiple of the heads";
  s.headDim = c.modelDim / c.heads;
  if (c.kind == ModelKind::Dense)
    return "";
  s.moeLayers = c.layers / 2;
  if (c.experts < 2)
    return "top-2 gating needs at least 2 experts";
  if (c.experts % c.devices)
    return "the experts must be a multiple of the devices";
  s.groups = c.groups ? c.groups : c.devices;
  if (s.groups % c.devices)
    return "the groups must be a multiple of the devices";
  int64_t tokens = c.batch * c.seqLen;
  if (tokens % s.groups)
    return "the tokens (batch x sequence length) must be a multiple of the "
           "groups";
  s.groupSize = tokens / s.groups;
  // Each group's tokens must be whole sequences of one device's batch slice
  // or lie inside one sequence, so that [B,L,M] -> [G,S,M] keeps every
  // token on its device.
  if (s.groupSize % c.seqLen && c.seqLen % s.groupSize)
    return "the group size must divide or be a multiple of the sequence "
           "length";
  s.capacity =
      c.capacity
          ? c.capacity
          : std::max<int64_t>(1, (2 * s.groupSize + c.experts - 1) / c.experts);
  return "";
}

namespace {

/// An emitted instruction: its name and shape.
struct Val {
  std::string name;
  std::string type; // element type
  llvm::SmallVector<int64_t> dims;
};

std::string shapeText(const std::string &type, llvm::ArrayRef<int64_t> dims) {
  return type + "[" +
         llvm::join(
             llvm::map_range(dims, [](int64_t d) { return std::to_string(d); }),
             ",") +
         "]";
}

std::string listText(llvm::ArrayRef<int64_t> v) {
  return "{" +
         llvm::join(
             llvm::map_range(v, [](int64_t d) { return std::to_string(d); }),
             ",") +
         "}";
}

/// `{devices=[1,..,D,..,1]<=[D]}`: dim `dim` of a rank-`rank` array split
/// over `devices`.
std::string split(int64_t rank, int64_t dim, int64_t devices) {
  llvm::SmallVector<int64_t> tiles(rank, 1);
  tiles[dim] = devices;
  std::string t = listText(tiles);
  return "{devices=[" + t.substr(1, t.size() - 2) + "]<=[" +
         std::to_string(devices) + "]}";
}

const char *kReplicated = "{replicated}";

/// Emits one computation's instructions, naming them `<scope>.<name>` and
/// tagging them with `op_name="<scope with />/<name>"`.
class Emitter {
public:
  Emitter(const ModelConfig &config, llvm::raw_ostream &os)
      : config(config), os(os) {}

  std::string scope;

  Val param(const std::string &name, const std::string &type,
            llvm::ArrayRef<int64_t> dims, const std::string &sharding) {
    Val v{name, type, llvm::SmallVector<int64_t>(dims)};
    os << "  %" << name << " = " << shapeText(type, dims) << " parameter("
       << numParams++ << "), sharding=" << sharding << "\n";
    return v;
  }

  /// `expr` is the opcode and operands (and attributes) in HLO syntax.
  Val emit(const std::string &local, const std::string &type,
           llvm::ArrayRef<int64_t> dims, const std::string &expr,
           const std::string &sharding = "") {
    std::string name = scope.empty() ? local : scope + "." + local;
    if (!used.insert({name, 0}).second)
      name += "." + std::to_string(++used[name]);
    os << "  %" << name << " = " << shapeText(type, dims) << " " << expr;
    if (!sharding.empty())
      os << ", sharding=" << sharding;
    if (config.metadata) {
      std::string opName = scope;
      std::replace(opName.begin(), opName.end(), '.', '/');
      os << ", metadata={op_name=\"" << opName << "/" << local << "\"}";
    }
    os << "\n";
    return Val{name, type, llvm::SmallVector<int64_t>(dims)};
  }

  Val constant(const std::string &type, const std::string &value) {
    std::string key = type + ":" + value;
    auto it = constants.find(key);
    if (it != constants.end())
      return it->second;
    std::string name = "const." + type + "." + std::to_string(constants.size());
    os << "  %" << name << " = " << type << "[] constant(" << value << ")\n";
    Val v{name, type, {}};
    constants[key] = v;
    return v;
  }

  /// Broadcast of a scalar or of `v` into `dims`, `mapping[i]` the result
  /// dim of v's dim i.
  Val broadcast(const std::string &local, const Val &v,
                llvm::ArrayRef<int64_t> dims,
                llvm::ArrayRef<int64_t> mapping = {}) {
    return emit(local, v.type, dims,
                "broadcast(%" + v.name + "), dimensions=" + listText(mapping));
  }
  Val fill(const std::string &local, const std::string &type,
           const std::string &value, llvm::ArrayRef<int64_t> dims) {
    return broadcast(local, constant(type, value), dims);
  }
  Val binary(const std::string &local, const std::string &opcode, const Val &a,
             const Val &b) {
    return emit(local, a.type, a.dims,
                opcode + "(%" + a.name + ", %" + b.name + ")");
  }
  Val unary(const std::string &local, const std::string &opcode, const Val &a) {
    return emit(local, a.type, a.dims, opcode + "(%" + a.name + ")");
  }
  Val convert(const std::string &local, const Val &a, const std::string &type) {
    if (a.type == type)
      return a;
    return emit(local, type, a.dims, "convert(%" + a.name + ")");
  }
  Val compare(const std::string &local, const Val &a, const Val &b,
              const std::string &direction) {
    return emit(local, "pred", a.dims,
                "compare(%" + a.name + ", %" + b.name +
                    "), direction=" + direction);
  }
  Val select(const std::string &local, const Val &p, const Val &a,
             const Val &b) {
    return emit(local, a.type, a.dims,
                "select(%" + p.name + ", %" + a.name + ", %" + b.name + ")");
  }
  /// Reduce over `reduced` dims with `kind` (add, max, min).
  Val reduce(const std::string &local, const Val &a,
             llvm::ArrayRef<int64_t> reduced, const std::string &kind) {
    llvm::SmallVector<int64_t> dims;
    for (auto [i, d] : llvm::enumerate(a.dims))
      if (!llvm::is_contained(reduced, (int64_t)i))
        dims.push_back(d);
    std::string init = kind == "add"   ? "0"
                       : kind == "max" ? "-inf"
                                       : std::to_string(INT32_MAX);
    Val c = constant(a.type, init);
    return emit(local, a.type, dims,
                "reduce(%" + a.name + ", %" + c.name + "), dimensions=" +
                    listText(reduced) + ", to_apply=%" + kind + "." + a.type);
  }
  Val dot(const std::string &local, const Val &lhs, const Val &rhs,
          llvm::ArrayRef<int64_t> lb, llvm::ArrayRef<int64_t> rb,
          llvm::ArrayRef<int64_t> lc, llvm::ArrayRef<int64_t> rc,
          const std::string &sharding = "") {
    llvm::SmallVector<int64_t> dims;
    for (int64_t d : lb)
      dims.push_back(lhs.dims[d]);
    for (auto [i, d] : llvm::enumerate(lhs.dims))
      if (!llvm::is_contained(lb, (int64_t)i) &&
          !llvm::is_contained(lc, (int64_t)i))
        dims.push_back(d);
    for (auto [i, d] : llvm::enumerate(rhs.dims))
      if (!llvm::is_contained(rb, (int64_t)i) &&
          !llvm::is_contained(rc, (int64_t)i))
        dims.push_back(d);
    std::string attrs;
    if (!lb.empty())
      attrs += ", lhs_batch_dims=" + listText(lb) +
               ", rhs_batch_dims=" + listText(rb);
    attrs += ", lhs_contracting_dims=" + listText(lc) +
             ", rhs_contracting_dims=" + listText(rc);
    return emit(local, lhs.type, dims,
                "dot(%" + lhs.name + ", %" + rhs.name + ")" + attrs, sharding);
  }
  Val transpose(const std::string &local, const Val &a,
                llvm::ArrayRef<int64_t> perm,
                const std::string &sharding = "") {
    llvm::SmallVector<int64_t> dims;
    for (int64_t p : perm)
      dims.push_back(a.dims[p]);
    return emit(local, a.type, dims,
                "transpose(%" + a.name + "), dimensions=" + listText(perm),
                sharding);
  }
  Val reshape(const std::string &local, const Val &a,
              llvm::ArrayRef<int64_t> dims, const std::string &sharding = "") {
    return emit(local, a.type, dims, "reshape(%" + a.name + ")", sharding);
  }
  /// Inclusive cumulative sum along `dim` (a reduce-window, XLA's cumsum).
  Val cumsum(const std::string &local, const Val &a, int64_t dim) {
    llvm::SmallVector<std::string> size, pad;
    for (auto [i, d] : llvm::enumerate(a.dims)) {
      size.push_back(std::to_string((int64_t)i == dim ? d : 1));
      pad.push_back((int64_t)i == dim ? std::to_string(d - 1) + "_0" : "0_0");
    }
    Val zero = constant(a.type, "0");
    return emit(local, a.type, a.dims,
                "reduce-window(%" + a.name + ", %" + zero.name +
                    "), window={size=" + llvm::join(size, "x") + " pad=" +
                    llvm::join(pad, "x") + "}, to_apply=%add." + a.type);
  }

  int64_t numParams = 0;

private:
  const ModelConfig &config;
  llvm::raw_ostream &os;
  std::map<std::string, int> used;
  std::map<std::string, Val> constants;
};

class ModelWriter {
public:
  ModelWriter(const ModelConfig &c, const ModelSizes &s, llvm::raw_ostream &os)
      : c(c), s(s), e(c, os), dt(c.dtype) {}

  void declareParams();
  std::vector<Val> run();

private:
  Val layerNorm(const Val &x);
  Val attention(int64_t layer, const Val &x);
  Val denseFfn(int64_t layer, const Val &x);
  Val moeFfn(int64_t layer, const Val &x);
  Val megatronMlp(int64_t layer, const Val &x);
  /// dW = x^T · y over the token dims, `tokenDims` of x and y.
  void weightGradient(const std::string &local, const Val &x, const Val &y,
                      llvm::ArrayRef<int64_t> xDims,
                      llvm::ArrayRef<int64_t> yDims);
  struct Top2 {
    Val combine, dispatch;
  };
  Top2 top2Gating(const Val &gates);

  const ModelConfig &c;
  const ModelSizes &s;
  Emitter e;
  std::string dt;
  Val input;
  std::map<std::string, Val> weights;
  std::vector<Val> gradients;
};

void ModelWriter::declareParams() {
  int64_t B = c.batch, L = c.seqLen, M = c.modelDim, H = c.hiddenDim,
          N = c.heads, Dh = s.headDim, E = c.experts, D = c.devices;
  if (c.kind == ModelKind::MegatronMlp) {
    input = e.param("x", dt, {B, M}, kReplicated);
    for (int64_t l = 0; l < c.layers; ++l) {
      std::string p = "l" + std::to_string(l) + ".";
      weights[p + "w1"] = e.param(p + "w1", dt, {M, H}, split(2, 1, D));
      weights[p + "w2"] = e.param(p + "w2", dt, {H, M}, split(2, 0, D));
    }
    return;
  }
  input = e.param("x", dt, {B, L, M}, split(3, 0, D));
  for (int64_t l = 0; l < c.layers; ++l) {
    std::string p = "l" + std::to_string(l) + ".";
    weights[p + "wq"] = e.param(p + "wq", dt, {M, N, Dh}, kReplicated);
    weights[p + "wk"] = e.param(p + "wk", dt, {M, N, Dh}, kReplicated);
    weights[p + "wv"] = e.param(p + "wv", dt, {M, N, Dh}, kReplicated);
    weights[p + "wo"] = e.param(p + "wo", dt, {N, Dh, M}, kReplicated);
    if (c.kind == ModelKind::MoE && l % 2 == 1) {
      weights[p + "wg"] = e.param(p + "wg", dt, {M, E}, kReplicated);
      weights[p + "wi"] = e.param(p + "wi", dt, {E, M, H}, split(3, 0, D));
      weights[p + "we"] = e.param(p + "we", dt, {E, H, M}, split(3, 0, D));
    } else {
      weights[p + "w1"] = e.param(p + "w1", dt, {M, H}, kReplicated);
      weights[p + "w2"] = e.param(p + "w2", dt, {H, M}, kReplicated);
    }
  }
}

Val ModelWriter::layerNorm(const Val &x) {
  // Normalization over the last dim (scale and bias left out).
  int64_t last = x.dims.size() - 1;
  llvm::SmallVector<int64_t> keep;
  for (int64_t i = 0; i < last; ++i)
    keep.push_back(i);
  Val width = e.fill("ln.width", dt, std::to_string(x.dims[last]), x.dims);
  Val sum = e.reduce("ln.sum", x, {last}, "add");
  Val mean = e.binary("ln.mean", "divide",
                      e.broadcast("ln.sumb", sum, x.dims, keep), width);
  Val centered = e.binary("ln.centered", "subtract", x, mean);
  Val sq = e.binary("ln.sq", "multiply", centered, centered);
  Val var = e.reduce("ln.var", sq, {last}, "add");
  Val varM = e.binary("ln.varm", "divide",
                      e.broadcast("ln.varb", var, x.dims, keep), width);
  Val eps =
      e.binary("ln.vareps", "add", varM, e.fill("ln.eps", dt, "1e-06", x.dims));
  Val rs = e.unary("ln.rsqrt", "rsqrt", eps);
  return e.binary("ln.out", "multiply", centered, rs);
}

Val ModelWriter::attention(int64_t layer, const Val &x) {
  std::string p = "l" + std::to_string(layer) + ".";
  e.scope = "layer" + std::to_string(layer) + ".attention";
  Val ln = layerNorm(x);
  // [B,L,M] x [M,N,Dh] -> [B,L,N,Dh]
  Val q = e.dot("q", ln, weights[p + "wq"], {}, {}, {2}, {0});
  Val k = e.dot("k", ln, weights[p + "wk"], {}, {}, {2}, {0});
  Val v = e.dot("v", ln, weights[p + "wv"], {}, {}, {2}, {0});
  // logits [B,N,Lq,Lk]
  Val logits = e.dot("logits", q, k, {0, 2}, {0, 2}, {3}, {3});
  Val scale =
      e.fill("scale", dt, std::to_string(1.0 / std::sqrt((double)s.headDim)),
             logits.dims);
  Val scaled = e.binary("scaled", "multiply", logits, scale);
  Val mx = e.reduce("max", scaled, {3}, "max");
  Val mxB = e.broadcast("maxb", mx, scaled.dims, {0, 1, 2});
  Val ex =
      e.unary("exp", "exponential", e.binary("shift", "subtract", scaled, mxB));
  Val sm = e.reduce("sum", ex, {3}, "add");
  Val probs = e.binary("probs", "divide", ex,
                       e.broadcast("sumb", sm, ex.dims, {0, 1, 2}));
  // [B,N,Lq,Lk] x [B,Lk,N,Dh] -> [B,N,Lq,Dh]
  Val ctx = e.dot("context", probs, v, {0, 1}, {0, 2}, {3}, {1});
  // [B,N,Lq,Dh] x [N,Dh,M] -> [B,Lq,M]
  Val out = e.dot("out", ctx, weights[p + "wo"], {}, {}, {1, 3}, {0, 1});
  if (c.weightGradients) {
    weightGradient(p + "dwq", ln, q, {0, 1}, {0, 1});
    weightGradient(p + "dwk", ln, k, {0, 1}, {0, 1});
    weightGradient(p + "dwv", ln, v, {0, 1}, {0, 1});
    weightGradient(p + "dwo", ctx, out, {0, 2}, {0, 1});
  }
  return e.binary("residual", "add", x, out);
}

void ModelWriter::weightGradient(const std::string &local, const Val &x,
                                 const Val &y, llvm::ArrayRef<int64_t> xDims,
                                 llvm::ArrayRef<int64_t> yDims) {
  // Named grads.<layer scope>.<weight>, outside the forward layers' scopes.
  std::string forward = e.scope;
  e.scope = "grads." + forward;
  gradients.push_back(e.dot(local, x, y, {}, {}, xDims, yDims, kReplicated));
  e.scope = forward;
}

Val ModelWriter::denseFfn(int64_t layer, const Val &x) {
  std::string p = "l" + std::to_string(layer) + ".";
  e.scope = "layer" + std::to_string(layer) + ".ffn";
  Val ln = layerNorm(x);
  Val h = e.dot("h", ln, weights[p + "w1"], {}, {}, {2}, {0});
  Val relu = e.binary("relu", "maximum", h, e.fill("zero", dt, "0", h.dims));
  Val y = e.dot("out", relu, weights[p + "w2"], {}, {}, {2}, {0});
  if (c.weightGradients) {
    weightGradient(p + "dw1", ln, h, {0, 1}, {0, 1});
    weightGradient(p + "dw2", relu, y, {0, 1}, {0, 1});
  }
  return e.binary("residual", "add", x, y);
}

ModelWriter::Top2 ModelWriter::top2Gating(const Val &gates) {
  int64_t G = gates.dims[0], S = gates.dims[1], E = gates.dims[2],
          C = s.capacity;
  llvm::SmallVector<int64_t> gse{G, S, E}, gs{G, S}, gsec{G, S, E, C};
  const std::string f = "f32";
  Val iotaE = e.emit("expert_ids", f, gse, "iota(), iota_dimension=2");
  Val eBig = e.fill("no_expert", f, std::to_string(E), gse);
  Val zero = e.fill("zeros", f, "0", gse);
  Val one = e.fill("ones", f, "1", gse);
  // argmax over E, the first index among ties.
  auto argmaxMask = [&](const std::string &n, const Val &g) {
    Val mx = e.reduce(n + ".max", g, {2}, "max");
    Val isMax = e.compare(n + ".is_max", g,
                          e.broadcast(n + ".maxb", mx, gse, {0, 1}), "EQ");
    Val cand = e.select(n + ".candidates", isMax, iotaE, eBig);
    Val index = e.reduce(n + ".index", cand, {2}, "min");
    Val hit = e.compare(n + ".hit", iotaE,
                        e.broadcast(n + ".indexb", index, gse, {0, 1}), "EQ");
    return e.select(n + ".mask", hit, one, zero);
  };
  Val mask1 = argmaxMask("top1", gates);
  Val gate1 =
      e.reduce("top1.gate", e.binary("top1.masked", "multiply", gates, mask1),
               {2}, "add");
  Val gatesWithout1 = e.binary("gates_without_top1", "multiply", gates,
                               e.binary("not_top1", "subtract", one, mask1));
  Val mask2 = argmaxMask("top2", gatesWithout1);
  Val gate2 = e.reduce(
      "top2.gate", e.binary("top2.masked", "multiply", gatesWithout1, mask2),
      {2}, "add");
  Val denom =
      e.binary("gate_sum", "add", e.binary("gate12", "add", gate1, gate2),
               e.fill("eps", f, "1e-09", gs));
  gate1 = e.binary("top1.gate_norm", "divide", gate1, denom);
  gate2 = e.binary("top2.gate_norm", "divide", gate2, denom);

  Val cap = e.fill("capacity", f, std::to_string(C), gse);
  // Position of each token in its expert's buffer; over capacity: dropped.
  auto positions = [&](const std::string &n, const Val &mask, const Val *offset,
                       Val &keptMask) {
    Val cum = e.cumsum(n + ".cumsum", mask, 1);
    Val pos = e.binary(n + ".position", "subtract", cum, one);
    if (offset)
      pos = e.binary(n + ".position_after_top1", "add", pos, *offset);
    Val fits = e.compare(n + ".fits", pos, cap, "LT");
    keptMask = e.select(n + ".kept", fits, mask, zero);
    Val posKept = e.binary(n + ".position_kept", "multiply", pos, keptMask);
    return e.reduce(n + ".slot", posKept, {2}, "add"); // [G,S]
  };
  Val kept1 = mask1, kept2 = mask2;
  Val slot1 = positions("top1", mask1, nullptr, kept1);
  Val count1 = e.reduce("top1.count", kept1, {1}, "add"); // [G,E]
  Val count1B = e.broadcast("top1.countb", count1, gse, {0, 2});
  Val slot2 = positions("top2", mask2, &count1B, kept2);
  gate1 = e.binary("top1.gate_kept", "multiply", gate1,
                   e.reduce("top1.kept_any", kept1, {2}, "add"));
  gate2 = e.binary("top2.gate_kept", "multiply", gate2,
                   e.reduce("top2.kept_any", kept2, {2}, "add"));

  Val iotaC = e.emit("slot_ids", f, gsec, "iota(), iota_dimension=3");
  Val zeroC = e.fill("zeros_gsec", f, "0", gsec);
  auto term = [&](const std::string &n, const Val &gate, const Val &kept,
                  const Val &slot) {
    Val slotHit =
        e.compare(n + ".slot_hit", iotaC,
                  e.broadcast(n + ".slotb", slot, gsec, {0, 1}), "EQ");
    Val gateE = e.binary(n + ".gate_expert", "multiply", kept,
                         e.broadcast(n + ".gateb", gate, gse, {0, 1}));
    return e.select(n + ".combine", slotHit,
                    e.broadcast(n + ".gate_slots", gateE, gsec, {0, 1, 2}),
                    zeroC);
  };
  // Both [G,S,E,C] tensors split on G, as GShard annotates them: without
  // it propagation may pull the experts' split back into the gating.
  std::string onG = split(4, 0, c.devices);
  Val term1 = term("top1", gate1, kept1, slot1);
  Val term2 = term("top2", gate2, kept2, slot2);
  Val combine = e.emit("combine_weights", f, gsec,
                       "add(%" + term1.name + ", %" + term2.name + ")", onG);
  Val isDispatched = e.compare("is_dispatched", combine, zeroC, "GT");
  Val ones = e.fill("ones_gsec", f, "1", gsec);
  Val dispatch = e.emit("dispatch_mask", f, gsec,
                        "select(%" + isDispatched.name + ", %" + ones.name +
                            ", %" + zeroC.name + ")",
                        onG);
  return {e.convert("combine_weights_" + dt, combine, dt),
          e.convert("dispatch_mask_" + dt, dispatch, dt)};
}

Val ModelWriter::moeFfn(int64_t layer, const Val &x) {
  std::string p = "l" + std::to_string(layer) + ".";
  e.scope = "layer" + std::to_string(layer) + ".moe";
  int64_t G = s.groups, S = s.groupSize, M = c.modelDim, D = c.devices;
  Val ln = layerNorm(x);
  Val inputs = e.reshape("inputs", ln, {G, S, M}, split(3, 0, D));
  // gates = softmax(einsum("GSM,ME->GSE")), in f32.
  Val logitsDt = e.dot("logits", inputs, weights[p + "wg"], {}, {}, {2}, {0});
  Val logits = e.convert("logits_f32", logitsDt, "f32");
  Val mx = e.reduce("gates.max", logits, {2}, "max");
  Val ex =
      e.unary("gates.exp", "exponential",
              e.binary("gates.shift", "subtract", logits,
                       e.broadcast("gates.maxb", mx, logits.dims, {0, 1})));
  Val sum = e.reduce("gates.sum", ex, {2}, "add");
  Val gates = e.binary("gates", "divide", ex,
                       e.broadcast("gates.sumb", sum, ex.dims, {0, 1}));
  Top2 t = top2Gating(gates);
  // einsum("GSEC,GSM->EGCM"): dot [G,E,C,M], then split on E.
  Val dispatched =
      e.dot("dispatch", t.dispatch, inputs, {0}, {0}, {1}, {1}, split(4, 0, D));
  Val egcm =
      e.transpose("dispatched", dispatched, {1, 0, 2, 3}, split(4, 0, D));
  // Expert FFN: einsum("EGCM,EMH->EGCH"), relu, einsum("EGCH,EHM->EGCM").
  Val h = e.dot("expert_h", egcm, weights[p + "wi"], {0}, {0}, {3}, {1});
  Val relu =
      e.binary("expert_relu", "maximum", h, e.fill("zero", dt, "0", h.dims));
  Val out = e.dot("expert_out", relu, weights[p + "we"], {0}, {0}, {3}, {1},
                  split(4, 0, D));
  // Split back on G: [E,G,C,M] -> [G,E,C,M].
  Val gecm = e.transpose("expert_outputs", out, {1, 0, 2, 3}, split(4, 0, D));
  // einsum("GSEC,GECM->GSM").
  Val combined = e.dot("combine", t.combine, gecm, {0}, {0}, {2, 3}, {1, 2});
  Val y = e.reshape("outputs", combined, x.dims);
  if (c.weightGradients)
    weightGradient(p + "dwg", inputs, logitsDt, {0, 1}, {0, 1});
  return e.binary("residual", "add", x, y);
}

Val ModelWriter::megatronMlp(int64_t layer, const Val &x) {
  std::string p = "l" + std::to_string(layer) + ".";
  e.scope = "layer" + std::to_string(layer) + ".mlp";
  Val h = e.dot("h", x, weights[p + "w1"], {}, {}, {1}, {0});
  Val relu = e.binary("relu", "maximum", h, e.fill("zero", dt, "0", h.dims));
  return e.dot("out", relu, weights[p + "w2"], {}, {}, {1}, {0}, kReplicated);
}

std::vector<Val> ModelWriter::run() {
  Val x = input;
  for (int64_t l = 0; l < c.layers; ++l) {
    if (c.kind == ModelKind::MegatronMlp) {
      x = megatronMlp(l, x);
      continue;
    }
    x = attention(l, x);
    x = (c.kind == ModelKind::MoE && l % 2 == 1) ? moeFfn(l, x)
                                                 : denseFfn(l, x);
  }
  std::vector<Val> outputs{x};
  llvm::append_range(outputs, gradients);
  return outputs;
}

} // namespace

std::string gshard::bench::generateModel(const ModelConfig &config,
                                         std::string &error) {
  ModelSizes sizes;
  error = validateModelConfig(config, sizes);
  if (!error.empty())
    return "";
  std::string text;
  llvm::raw_string_ostream os(text);
  const char *kinds[] = {"moe", "dense", "megatron_mlp"};
  os << "// Generated by gshard-modelgen: " << kinds[(int)config.kind] << ", "
     << config.layers << " layers, " << config.devices
     << " devices, M=" << config.modelDim << " H=" << config.hiddenDim;
  if (config.kind != ModelKind::MegatronMlp)
    os << " heads=" << config.heads << " B=" << config.batch
       << " L=" << config.seqLen;
  if (config.kind == ModelKind::MoE)
    os << " E=" << config.experts << " G=" << sizes.groups
       << " S=" << sizes.groupSize << " C=" << sizes.capacity;
  os << " " << config.dtype << "\n";
  os << "HloModule gshard_" << kinds[(int)config.kind]
     << ", num_partitions=" << config.devices << "\n\n";
  for (const char *type : {"f32", "bf16"}) {
    if (std::string(type) != "f32" && config.dtype != type)
      continue;
    for (auto [kind, op] :
         {std::pair{"add", "add"}, std::pair{"max", "maximum"},
          std::pair{"min", "minimum"}})
      os << "%" << kind << "." << type << " (a: " << type << "[], b: " << type
         << "[]) -> " << type << "[] {\n  %a = " << type
         << "[] parameter(0)\n  %b = " << type
         << "[] parameter(1)\n  ROOT %r = " << type << "[] " << op
         << "(%a, %b)\n}\n\n";
  }
  os << "ENTRY %main {\n";
  ModelWriter writer(config, sizes, os);
  writer.declareParams();
  std::vector<Val> outputs = writer.run();
  if (outputs.size() == 1) {
    os << "  ROOT %output = " << shapeText(outputs[0].type, outputs[0].dims)
       << " copy(%" << outputs[0].name << "), sharding="
       << (config.kind == ModelKind::MegatronMlp ? kReplicated
                                                 : split(3, 0, config.devices))
       << "\n}\n";
    return text;
  }
  std::string types, names;
  for (const Val &v : outputs) {
    types += (types.empty() ? "" : ", ") + shapeText(v.type, v.dims);
    names += (names.empty() ? "%" : ", %") + v.name;
  }
  // The activations stay split over the batch, the gradients replicated.
  std::string shardings = split(3, 0, config.devices);
  for (size_t i = 1; i < outputs.size(); ++i)
    shardings += std::string(", ") + kReplicated;
  os << "  ROOT %output = (" << types << ") tuple(" << names << "), sharding={"
     << shardings << "}\n}\n";
  return text;
}
