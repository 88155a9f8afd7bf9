//===- DataMovement.cpp - Shape manipulation, tuples, iota ----------------===//
//
// Part of gshard, under the Apache License v2.0.
//
// broadcast, reshape, bitcast, transpose, reverse, slice, concatenate, pad,
// iota, tuple, get-tuple-element, get-dimension-size, plus the array helpers
// the other families share.
//
//===----------------------------------------------------------------------===//

#include "Exec.h"

#include <algorithm>
#include <cstring>

using namespace mlir;
using namespace gshard;
using namespace gshard::sim;

//===----------------------------------------------------------------------===//
// Shared helpers
//===----------------------------------------------------------------------===//

RankedTensorType gshard::sim::getResultTensorType(Operation *op) {
  return dyn_cast<RankedTensorType>(op->getResult(0).getType());
}

int64_t gshard::sim::getScalarIndex(const Literal &lit) {
  return lit.getInt(0);
}

LiteralRef gshard::sim::scalarOf(const Literal &lit, int64_t i) {
  LiteralRef scalar = Literal::makeArray(lit.getElementType(), {});
  scalar->copyElement(0, lit, i);
  return scalar;
}

/// Copies elements of `src` into `out` (fresh, row-major): output element
/// at multi-index o reads src linear offset base + sum(o[k] * strides[k]).
static void gatherStrided(const Literal &src, Literal &out, int64_t base,
                          ArrayRef<int64_t> strides) {
  ArrayRef<int64_t> shape = out.getShape();
  int64_t n = out.getNumElements();
  if (n == 0)
    return;
  unsigned bytes = src.getElementBytes();
  const uint8_t *s = src.data();
  uint8_t *d = out.data();
  int64_t rank = shape.size();
  llvm::SmallVector<int64_t> index(rank, 0);
  int64_t offset = base;
  // Innermost dimension in a tight loop.
  int64_t inner = rank ? shape[rank - 1] : 1;
  int64_t innerStride = rank ? strides[rank - 1] : 0;
  for (int64_t i = 0; i < n; i += inner) {
    int64_t o = offset;
    if (innerStride == 1) {
      std::memcpy(d + i * bytes, s + o * bytes, inner * bytes);
    } else {
      for (int64_t j = 0; j < inner; ++j, o += innerStride)
        std::memcpy(d + (i + j) * bytes, s + o * bytes, bytes);
    }
    // Advance the outer index.
    for (int64_t k = rank - 2; k >= 0; --k) {
      offset += strides[k];
      if (++index[k] < shape[k])
        break;
      offset -= strides[k] * shape[k];
      index[k] = 0;
    }
  }
}

static LiteralRef transposeLiteral(const Literal &src, ArrayRef<int64_t> perm) {
  llvm::SmallVector<int64_t> shape, strides;
  llvm::SmallVector<int64_t> srcStrides = src.getStrides();
  for (int64_t p : perm) {
    shape.push_back(src.getShape()[p]);
    strides.push_back(srcStrides[p]);
  }
  LiteralRef out = Literal::makeArray(src.getElementType(), shape);
  gatherStrided(src, *out, 0, strides);
  return out;
}

void gshard::sim::copyBox(const Literal &source, ArrayRef<int64_t> sourceStart,
                          Literal &dest, ArrayRef<int64_t> destStart,
                          ArrayRef<int64_t> size) {
  int64_t rank = size.size();
  int64_t count = 1;
  for (int64_t s : size)
    count *= s;
  if (count == 0)
    return;
  llvm::SmallVector<int64_t> ss = source.getStrides(), ds = dest.getStrides();
  unsigned bytes = source.getElementBytes();
  int64_t inner = rank ? size[rank - 1] : 1;
  llvm::SmallVector<int64_t> index(rank, 0);
  for (int64_t i = 0; i < count; i += inner) {
    int64_t so = 0, dOff = 0;
    for (int64_t k = 0; k < rank; ++k) {
      so += (sourceStart[k] + index[k]) * ss[k];
      dOff += (destStart[k] + index[k]) * ds[k];
    }
    std::memcpy(dest.data() + dOff * bytes, source.data() + so * bytes,
                inner * bytes);
    for (int64_t k = rank - 2; k >= 0; --k) {
      if (++index[k] < size[k])
        break;
      index[k] = 0;
    }
  }
}

LiteralRef gshard::sim::concatenateArrays(ArrayRef<LiteralRef> parts,
                                          int64_t dim) {
  llvm::SmallVector<int64_t> shape(parts[0]->getShape());
  shape[dim] = 0;
  for (const LiteralRef &part : parts)
    shape[dim] += part->getShape()[dim];
  LiteralRef out = Literal::makeArray(parts[0]->getElementType(), shape);
  llvm::SmallVector<int64_t> zero(shape.size(), 0), at(shape.size(), 0);
  for (const LiteralRef &part : parts) {
    copyBox(*part, zero, *out, at, part->getShape());
    at[dim] += part->getShape()[dim];
  }
  return out;
}

LiteralRef gshard::sim::sliceChunk(const Literal &lit, int64_t dim,
                                   int64_t index, int64_t count) {
  llvm::SmallVector<int64_t> shape(lit.getShape());
  int64_t chunk = shape[dim] / count;
  shape[dim] = chunk;
  LiteralRef out = Literal::makeArray(lit.getElementType(), shape);
  llvm::SmallVector<int64_t> start(shape.size(), 0), zero(shape.size(), 0);
  start[dim] = index * chunk;
  copyBox(lit, start, *out, zero, shape);
  return out;
}

//===----------------------------------------------------------------------===//
// Handlers
//===----------------------------------------------------------------------===//

namespace {

LiteralRef broadcastHandler(ExecContext &ctx, Operation *op,
                            ArrayRef<LiteralRef> operands) {
  auto broadcast = cast<hlo::BroadcastOp>(op);
  const Literal &x = *operands[0];
  LiteralRef out = Literal::makeArray(getResultTensorType(op));
  ArrayRef<int64_t> dims = broadcast.getDimensions();
  if (static_cast<int64_t>(dims.size()) != x.getRank())
    return ctx.fail(op, "broadcast dimensions do not match the operand rank");
  if (x.getNumElements() == 1) {
    // One element everywhere: a fresh array is already zero, else repeat
    // the element's bytes.
    unsigned width = x.getElementBytes();
    const uint8_t *element = x.data();
    if (std::any_of(element, element + width, [](uint8_t b) { return b; }))
      for (int64_t i = 0, n = out->getNumElements(); i < n; ++i)
        std::memcpy(out->data() + i * width, element, width);
    return out;
  }
  llvm::SmallVector<int64_t> strides(out->getRank(), 0);
  llvm::SmallVector<int64_t> xs = x.getStrides();
  for (size_t i = 0; i < dims.size(); ++i)
    strides[dims[i]] = x.getShape()[i] == 1 ? 0 : xs[i];
  gatherStrided(x, *out, 0, strides);
  return out;
}

LiteralRef reshapeHandler(ExecContext &ctx, Operation *op,
                          ArrayRef<LiteralRef> operands) {
  RankedTensorType type = getResultTensorType(op);
  if (type.getNumElements() != operands[0]->getNumElements())
    return ctx.fail(op, "reshape changes the element count");
  return operands[0]->reshaped(type.getShape());
}

/// Major-to-minor physical dimension order of a tensor type's layout.
llvm::SmallVector<int64_t> physicalOrder(RankedTensorType type) {
  llvm::SmallVector<int64_t> order;
  if (auto layout = dyn_cast_or_null<hlo::LayoutAttr>(type.getEncoding())) {
    ArrayRef<int64_t> m2m = layout.getMinorToMajor();
    if (static_cast<int64_t>(m2m.size()) == type.getRank()) {
      order.assign(m2m.rbegin(), m2m.rend());
      return order;
    }
  }
  for (int64_t d = 0; d < type.getRank(); ++d)
    order.push_back(d);
  return order;
}

LiteralRef bitcastHandler(ExecContext &ctx, Operation *op,
                          ArrayRef<LiteralRef> operands) {
  auto inType = cast<RankedTensorType>(op->getOperand(0).getType());
  RankedTensorType outType = getResultTensorType(op);
  const Literal &x = *operands[0];
  if (inType.getElementType() != outType.getElementType() ||
      inType.getNumElements() != outType.getNumElements())
    return ctx.unsupported(op, "bitcast that changes the element type or "
                               "count");
  // Logical -> physical (major-to-minor) bytes -> logical of the result.
  LiteralRef physical = transposeLiteral(x, physicalOrder(inType));
  llvm::SmallVector<int64_t> outOrder = physicalOrder(outType);
  llvm::SmallVector<int64_t> physicalShape;
  for (int64_t d : outOrder)
    physicalShape.push_back(outType.getDimSize(d));
  LiteralRef reinterpreted = physical->reshaped(physicalShape);
  llvm::SmallVector<int64_t> inverse(outOrder.size());
  for (size_t p = 0; p < outOrder.size(); ++p)
    inverse[outOrder[p]] = p;
  return transposeLiteral(*reinterpreted, inverse);
}

LiteralRef transposeHandler(ExecContext &ctx, Operation *op,
                            ArrayRef<LiteralRef> operands) {
  auto transpose = cast<hlo::TransposeOp>(op);
  return transposeLiteral(*operands[0], transpose.getDimensions());
}

LiteralRef reverseHandler(ExecContext &ctx, Operation *op,
                          ArrayRef<LiteralRef> operands) {
  auto reverse = cast<hlo::ReverseOp>(op);
  const Literal &x = *operands[0];
  LiteralRef out = Literal::makeArray(getResultTensorType(op));
  llvm::SmallVector<int64_t> strides = x.getStrides();
  int64_t base = 0;
  for (int64_t d : reverse.getDimensions()) {
    base += (x.getShape()[d] - 1) * strides[d];
    strides[d] = -strides[d];
  }
  if (x.getNumElements() == 0)
    return out;
  gatherStrided(x, *out, base, strides);
  return out;
}

LiteralRef sliceHandler(ExecContext &ctx, Operation *op,
                        ArrayRef<LiteralRef> operands) {
  auto slice = cast<hlo::SliceOp>(op);
  const Literal &x = *operands[0];
  LiteralRef out = Literal::makeArray(getResultTensorType(op));
  llvm::SmallVector<int64_t> strides = x.getStrides();
  int64_t base = 0;
  ArrayRef<int64_t> start = slice.getStartIndices();
  ArrayRef<int64_t> step = slice.getStrides();
  for (int64_t d = 0; d < x.getRank(); ++d) {
    base += start[d] * strides[d];
    strides[d] *= step[d];
  }
  gatherStrided(x, *out, base, strides);
  return out;
}

LiteralRef concatenateHandler(ExecContext &ctx, Operation *op,
                              ArrayRef<LiteralRef> operands) {
  auto concat = cast<hlo::ConcatenateOp>(op);
  if (concat.getDimensions().size() != 1)
    return ctx.fail(op, "concatenate needs exactly one dimension");
  return concatenateArrays(operands, concat.getDimensions()[0]);
}

LiteralRef padHandler(ExecContext &ctx, Operation *op,
                      ArrayRef<LiteralRef> operands) {
  auto pad = cast<hlo::PadOp>(op);
  const Literal &x = *operands[0], &value = *operands[1];
  LiteralRef out = Literal::makeArray(getResultTensorType(op));
  ArrayRef<int64_t> lo = pad.getEdgePaddingLow();
  ArrayRef<int64_t> interior = pad.getInteriorPadding();
  ArrayRef<int64_t> outShape = out->getShape();
  int64_t rank = x.getRank();
  llvm::SmallVector<int64_t> index(rank, 0);
  llvm::SmallVector<int64_t> outStrides = out->getStrides();
  int64_t total = out->getNumElements();
  if (ctx.options.fastPaths && total > 0 && rank > 0 &&
      interior[rank - 1] == 0 && x.getNumElements() > 0) {
    // The same bytes, by blocks: the padding value doubled across the
    // result, then each operand row along the last dimension (no interior
    // padding there) as one clipped memcpy.
    unsigned width = out->getElementBytes();
    uint8_t *data = out->data();
    out->copyElement(0, value, 0);
    for (int64_t filled = 1; filled < total;) {
      int64_t count = std::min(filled, total - filled);
      std::memcpy(data + filled * width, data, count * width);
      filled += count;
    }
    int64_t rowLength = x.getShape()[rank - 1];
    int64_t first = std::max<int64_t>(0, -lo[rank - 1]);
    int64_t last =
        std::min<int64_t>(rowLength, outShape[rank - 1] - lo[rank - 1]);
    for (int64_t i = 0, n = x.getNumElements(); i < n; i += rowLength) {
      int64_t offset = 0;
      bool inside = first < last;
      for (int64_t d = 0; d + 1 < rank && inside; ++d) {
        int64_t o = lo[d] + index[d] * (interior[d] + 1);
        inside = o >= 0 && o < outShape[d];
        offset += o * outStrides[d];
      }
      if (inside)
        std::memcpy(data + (offset + lo[rank - 1] + first) * width,
                    x.data() + (i + first) * width, (last - first) * width);
      index[rank - 1] = rowLength - 1;
      nextIndex(index, x.getShape());
    }
    return out;
  }
  for (int64_t i = 0; i < total; ++i)
    out->copyElement(i, value, 0);
  for (int64_t i = 0, n = x.getNumElements(); i < n; ++i) {
    int64_t offset = 0;
    bool inside = true;
    for (int64_t d = 0; d < rank; ++d) {
      int64_t o = lo[d] + index[d] * (interior[d] + 1);
      if (o < 0 || o >= outShape[d]) {
        inside = false;
        break;
      }
      offset += o * outStrides[d];
    }
    if (inside)
      out->copyElement(offset, x, i);
    nextIndex(index, x.getShape());
  }
  return out;
}

LiteralRef iotaHandler(ExecContext &ctx, Operation *op,
                       ArrayRef<LiteralRef> operands) {
  auto iota = cast<hlo::IotaOp>(op);
  LiteralRef out = Literal::makeArray(getResultTensorType(op));
  int64_t dim = iota.getIotaDimension();
  if (dim < 0 || dim >= out->getRank())
    return ctx.fail(op, "iota_dimension out of range");
  llvm::SmallVector<int64_t> index(out->getRank(), 0);
  ElemKind kind = out->getKind();
  for (int64_t i = 0, n = out->getNumElements(); i < n; ++i) {
    if (isIntegralKind(kind))
      out->setInt(i, index[dim]);
    else
      out->setFloat(i, static_cast<double>(index[dim]));
    nextIndex(index, out->getShape());
  }
  return out;
}

LiteralRef tupleHandler(ExecContext &ctx, Operation *op,
                        ArrayRef<LiteralRef> operands) {
  return Literal::makeTuple(operands);
}

LiteralRef getTupleElementHandler(ExecContext &ctx, Operation *op,
                                  ArrayRef<LiteralRef> operands) {
  auto gte = cast<hlo::GetTupleElementOp>(op);
  const Literal &tuple = *operands[0];
  uint64_t index = gte.getIndex();
  if (!tuple.isTuple() || index >= tuple.getNumTupleElements())
    return ctx.fail(op, "tuple index out of range");
  return tuple.getElements()[index];
}

LiteralRef getDimensionSizeHandler(ExecContext &ctx, Operation *op,
                                   ArrayRef<LiteralRef> operands) {
  auto gds = cast<hlo::GetDimensionSizeOp>(op);
  LiteralRef out = Literal::makeArray(getResultTensorType(op));
  ArrayRef<int64_t> dims = gds.getDimensions();
  if (dims.size() != 1 || dims[0] < 0 || dims[0] >= operands[0]->getRank())
    return ctx.fail(op, "get-dimension-size needs one valid dimension");
  out->setInt(0, operands[0]->getShape()[dims[0]]);
  return out;
}

LiteralRef passThroughHandler(ExecContext &ctx, Operation *op,
                              ArrayRef<LiteralRef> operands) {
  return operands[0];
}

} // namespace

void gshard::sim::registerDataMovementHandlers(HandlerTable &t) {
  t["hlo.broadcast"] = broadcastHandler;
  t["hlo.reshape"] = reshapeHandler;
  t["hlo.bitcast"] = bitcastHandler;
  t["hlo.transpose"] = transposeHandler;
  t["hlo.reverse"] = reverseHandler;
  t["hlo.slice"] = sliceHandler;
  t["hlo.concatenate"] = concatenateHandler;
  t["hlo.pad"] = padHandler;
  t["hlo.iota"] = iotaHandler;
  t["hlo.tuple"] = tupleHandler;
  t["hlo.get_tuple_element"] = getTupleElementHandler;
  t["hlo.get_dimension_size"] = getDimensionSizeHandler;
  t["hlo.opt_barrier"] = passThroughHandler;
  t["hlo.add_dependency"] = passThroughHandler;
}
