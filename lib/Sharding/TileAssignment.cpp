//===- TileAssignment.cpp - Compact device arrays of a sharding -----------===//

#include "gshard/Sharding/TileAssignment.h"

#include "DimProduct.h"

#include "llvm/ADT/STLExtras.h"

#include <cassert>
#include <numeric>

using namespace gshard;
using llvm::ArrayRef;
using llvm::SmallVector;

static bool isIdentity(ArrayRef<int64_t> perm) {
  for (auto [i, p] : llvm::enumerate(perm))
    if (p != int64_t(i))
      return false;
  return true;
}

void gshard::simplifyIota(llvm::SmallVectorImpl<int64_t> &reshapeDims,
                          llvm::SmallVectorImpl<int64_t> &perm) {
  // Drop unit dims, renumbering the survivors.
  SmallVector<int64_t, 6> newIndex(reshapeDims.size(), -1);
  SmallVector<int64_t, 6> dims;
  for (auto [i, d] : llvm::enumerate(reshapeDims)) {
    if (d == 1)
      continue;
    newIndex[i] = dims.size();
    dims.push_back(d);
  }
  SmallVector<int64_t, 6> order;
  for (int64_t p : perm)
    if (newIndex[p] >= 0)
      order.push_back(newIndex[p]);
  // Merge reshape dims m, m+1 that appear consecutively in the transpose:
  // their digits are adjacent in both the source and the result.
  bool changed = true;
  while (changed) {
    changed = false;
    for (size_t j = 0; j + 1 < order.size(); ++j) {
      if (order[j + 1] != order[j] + 1)
        continue;
      int64_t m = order[j];
      dims[m] *= dims[m + 1];
      dims.erase(dims.begin() + m + 1);
      order.erase(order.begin() + j + 1);
      for (int64_t &p : order)
        if (p > m)
          --p;
      changed = true;
      break;
    }
  }
  if (dims.empty()) {
    dims.push_back(1);
    order.push_back(0);
  }
  reshapeDims.assign(dims.begin(), dims.end());
  perm.assign(order.begin(), order.end());
}

TileAssignment TileAssignment::getIota(ArrayRef<int64_t> dims) {
  int64_t n = product(dims);
  return getIota(dims, {n}, {0});
}

TileAssignment TileAssignment::getIota(ArrayRef<int64_t> dims,
                                       ArrayRef<int64_t> reshapeDims,
                                       ArrayRef<int64_t> perm) {
  assert(product(dims) == product(reshapeDims) && "iota size mismatch");
  assert(reshapeDims.size() == perm.size() && "iota perm rank mismatch");
  TileAssignment ta;
  ta.dims.assign(dims.begin(), dims.end());
  ta.numDevices = product(dims);
  ta.iota = true;
  ta.reshapeDims.assign(reshapeDims.begin(), reshapeDims.end());
  ta.perm.assign(perm.begin(), perm.end());
  ta.initIota();
  return ta;
}

void TileAssignment::initIota() {
  size_t rank = reshapeDims.size();
  SmallVector<int64_t, 6> strides(rank, 1);
  for (int64_t m = int64_t(rank) - 2; m >= 0; --m)
    strides[m] = strides[m + 1] * reshapeDims[m + 1];
  transposedSizes.clear();
  transposedStrides.clear();
  for (int64_t p : perm) {
    transposedSizes.push_back(reshapeDims[p]);
    transposedStrides.push_back(strides[p]);
  }
}

TileAssignment TileAssignment::getExplicit(ArrayRef<int64_t> dims,
                                           ArrayRef<int64_t> devices) {
  assert(product(dims) == int64_t(devices.size()) && "device count mismatch");
  TileAssignment ta;
  ta.dims.assign(dims.begin(), dims.end());
  ta.numDevices = devices.size();
  auto owned =
      std::make_shared<std::vector<int64_t>>(devices.begin(), devices.end());
  ta.devices = *owned;
  ta.ownedDevices = std::move(owned);
  return ta;
}

TileAssignment TileAssignment::getExplicitRef(ArrayRef<int64_t> dims,
                                              ArrayRef<int64_t> devices) {
  assert(product(dims) == int64_t(devices.size()) && "device count mismatch");
  TileAssignment ta;
  ta.dims.assign(dims.begin(), dims.end());
  ta.numDevices = devices.size();
  ta.devices = devices;
  return ta;
}

int64_t TileAssignment::flatten(ArrayRef<int64_t> index) const {
  assert(index.size() == dims.size() && "index rank mismatch");
  int64_t flat = 0;
  for (auto [i, d] : llvm::enumerate(dims))
    flat = flat * d + index[i];
  return flat;
}

SmallVector<int64_t> TileAssignment::unflatten(int64_t flatIndex) const {
  SmallVector<int64_t> index(dims.size(), 0);
  for (int64_t i = int64_t(dims.size()) - 1; i >= 0; --i) {
    index[i] = flatIndex % dims[i];
    flatIndex /= dims[i];
  }
  return index;
}

int64_t TileAssignment::deviceAt(int64_t flatIndex) const {
  assert(flatIndex >= 0 && flatIndex < numDevices && "tile out of range");
  if (!iota)
    return devices[flatIndex];
  int64_t device = 0;
  for (int64_t j = int64_t(transposedSizes.size()) - 1; j >= 0; --j) {
    device += (flatIndex % transposedSizes[j]) * transposedStrides[j];
    flatIndex /= transposedSizes[j];
  }
  return device;
}

std::optional<int64_t> TileAssignment::flatIndexOf(int64_t device) const {
  if (!iota) {
    if (!inverse) {
      auto map = std::make_shared<llvm::DenseMap<int64_t, int64_t>>();
      map->reserve(devices.size());
      for (auto [i, d] : llvm::enumerate(devices))
        map->try_emplace(d, i);
      inverse = std::move(map);
    }
    auto it = inverse->find(device);
    if (it == inverse->end())
      return std::nullopt;
    return it->second;
  }
  if (device < 0 || device >= numDevices)
    return std::nullopt;
  // Digits of `device` in the mixed radix of the reshape dims...
  SmallVector<int64_t, 6> digits(reshapeDims.size());
  for (int64_t m = int64_t(reshapeDims.size()) - 1; m >= 0; --m) {
    digits[m] = device % reshapeDims[m];
    device /= reshapeDims[m];
  }
  // ... read back in transposed order.
  int64_t flat = 0;
  for (auto [j, p] : llvm::enumerate(perm))
    flat = flat * transposedSizes[j] + digits[p];
  return flat;
}

std::optional<SmallVector<int64_t>>
TileAssignment::indexOf(int64_t device) const {
  std::optional<int64_t> flat = flatIndexOf(device);
  if (!flat)
    return std::nullopt;
  return unflatten(*flat);
}

TileAssignment TileAssignment::reshape(ArrayRef<int64_t> newDims) const {
  assert(product(newDims) == numDevices && "reshape changes device count");
  TileAssignment result = *this;
  result.dims.assign(newDims.begin(), newDims.end());
  return result;
}

std::optional<TileAssignment>
TileAssignment::transposeAsIota(ArrayRef<int64_t> permutation) const {
  assert(permutation.size() == dims.size() && "transpose rank mismatch");
  if (!iota)
    return std::nullopt;
  if (isIdentity(permutation))
    return *this;
  // Common refinement of the tile dims and the iota's transposed dims, both
  // row-major factorizations of numDevices. Each factor records the tile dim
  // and the transposed dim it belongs to.
  struct Factor {
    int64_t size, tileDim, transposedDim;
  };
  SmallVector<Factor, 8> factors;
  size_t n = dims.size(), k = transposedSizes.size();
  size_t i = 0, j = 0;
  int64_t ra = n ? dims[0] : 1, rb = k ? transposedSizes[0] : 1;
  while (i < n && j < k) {
    if (ra == 1) {
      if (++i < n)
        ra = dims[i];
      continue;
    }
    if (rb == 1) {
      if (++j < k)
        rb = transposedSizes[j];
      continue;
    }
    int64_t f = std::min(ra, rb);
    if (std::max(ra, rb) % f != 0)
      return std::nullopt;
    factors.push_back({f, int64_t(i), int64_t(j)});
    ra /= f;
    rb /= f;
  }
  // Split each reshape dim into the factors of its transposed dim.
  SmallVector<int64_t, 6> inversePerm(k);
  for (auto [jj, p] : llvm::enumerate(perm))
    inversePerm[p] = jj;
  SmallVector<int64_t, 8> newReshape;
  SmallVector<int64_t, 8> factorReshapeIndex(factors.size());
  for (size_t m = 0; m < k; ++m)
    for (auto [fi, f] : llvm::enumerate(factors))
      if (f.transposedDim == inversePerm[m]) {
        factorReshapeIndex[fi] = newReshape.size();
        newReshape.push_back(f.size);
      }
  // Reorder the factors by tile dim.
  SmallVector<int64_t, 8> newPerm;
  SmallVector<int64_t, 6> newDims;
  for (int64_t src : permutation) {
    newDims.push_back(dims[src]);
    for (auto [fi, f] : llvm::enumerate(factors))
      if (f.tileDim == src)
        newPerm.push_back(factorReshapeIndex[fi]);
  }
  simplifyIota(newReshape, newPerm);
  return getIota(newDims, newReshape, newPerm);
}

TileAssignment TileAssignment::transpose(ArrayRef<int64_t> permutation) const {
  if (std::optional<TileAssignment> result = transposeAsIota(permutation))
    return *result;
  SmallVector<int64_t, 6> newDims;
  for (int64_t src : permutation)
    newDims.push_back(dims[src]);
  std::vector<int64_t> result(numDevices);
  TileAssignment shape = getIota(newDims);
  SmallVector<int64_t, 6> source(dims.size());
  for (int64_t f = 0; f < numDevices; ++f) {
    SmallVector<int64_t> index = shape.unflatten(f);
    for (auto [r, src] : llvm::enumerate(permutation))
      source[src] = index[r];
    result[f] = deviceAt(flatten(source));
  }
  return getExplicit(newDims, result);
}

std::optional<TileAssignment> TileAssignment::toIota() const {
  if (iota) {
    SmallVector<int64_t> r(reshapeDims.begin(), reshapeDims.end());
    SmallVector<int64_t> p(perm.begin(), perm.end());
    simplifyIota(r, p);
    return getIota(dims, r, p);
  }
  if (numDevices == 0 || devices[0] != 0)
    return std::nullopt;
  // Peel the transposed dims from the minor end: at block size B the next
  // digit has stride devices[B] and runs while the values stay arithmetic.
  // In a canonical iota the run is exactly that dim (a longer run would make
  // it mergeable with its neighbour), so this recovers the canonical form;
  // the final comparison rejects arrays that are no iota at all.
  struct Level {
    int64_t size, stride;
  };
  SmallVector<Level, 8> levels; // minor to major
  int64_t block = 1;
  while (block < numDevices) {
    int64_t stride = devices[block];
    if (stride <= 0 || stride >= numDevices)
      return std::nullopt;
    int64_t run = 1;
    while (run * block < numDevices && devices[run * block] == run * stride)
      ++run;
    if (run < 2 || numDevices % (block * run) != 0)
      return std::nullopt;
    levels.push_back({run, stride});
    block *= run;
  }
  // The strides must be the row-major strides of some reshape dims.
  SmallVector<int64_t, 8> byStride(levels.size());
  std::iota(byStride.begin(), byStride.end(), 0);
  llvm::sort(byStride, [&](int64_t a, int64_t b) {
    return levels[a].stride > levels[b].stride;
  });
  int64_t expect = 1;
  for (auto it = byStride.rbegin(); it != byStride.rend(); ++it) {
    if (levels[*it].stride != expect)
      return std::nullopt;
    expect *= levels[*it].size;
  }
  SmallVector<int64_t, 8> reshape, levelToReshape(levels.size());
  for (auto [m, l] : llvm::enumerate(byStride)) {
    levelToReshape[l] = m;
    reshape.push_back(levels[l].size);
  }
  SmallVector<int64_t, 8> p;
  for (int64_t l = int64_t(levels.size()) - 1; l >= 0; --l)
    p.push_back(levelToReshape[l]);
  if (levels.empty()) {
    reshape.push_back(1);
    p.push_back(0);
  }
  simplifyIota(reshape, p);
  TileAssignment candidate = getIota(dims, reshape, p);
  for (int64_t f = 0; f < numDevices; ++f)
    if (candidate.deviceAt(f) != devices[f])
      return std::nullopt;
  return candidate;
}

TileAssignment TileAssignment::canonicalize() const {
  if (std::optional<TileAssignment> result = toIota())
    return *result;
  return *this;
}

SmallVector<int64_t> TileAssignment::materialize() const {
  if (!iota)
    return SmallVector<int64_t>(devices.begin(), devices.end());
  SmallVector<int64_t> result;
  result.reserve(numDevices);
  for (int64_t f = 0; f < numDevices; ++f)
    result.push_back(deviceAt(f));
  return result;
}

bool TileAssignment::operator==(const TileAssignment &other) const {
  if (dims != other.dims)
    return false;
  if (iota && other.iota) {
    SmallVector<int64_t> r1(reshapeDims.begin(), reshapeDims.end());
    SmallVector<int64_t> p1(perm.begin(), perm.end());
    SmallVector<int64_t> r2(other.reshapeDims.begin(), other.reshapeDims.end());
    SmallVector<int64_t> p2(other.perm.begin(), other.perm.end());
    simplifyIota(r1, p1);
    simplifyIota(r2, p2);
    return r1 == r2 && p1 == p2;
  }
  if (!iota && !other.iota && devices.data() == other.devices.data())
    return true;
  for (int64_t f = 0; f < numDevices; ++f)
    if (deviceAt(f) != other.deviceAt(f))
      return false;
  return true;
}

void TileAssignment::print(llvm::raw_ostream &os) const {
  os << '[';
  llvm::interleave(dims, os, ",");
  os << ']';
  if (!iota) {
    llvm::interleave(devices, os, ",");
    return;
  }
  os << "<=[";
  llvm::interleave(reshapeDims, os, ",");
  os << ']';
  if (!isIdentity(perm)) {
    os << "T(";
    llvm::interleave(perm, os, ",");
    os << ')';
  }
}

std::string TileAssignment::toString() const {
  std::string s;
  llvm::raw_string_ostream os(s);
  print(os);
  return s;
}
