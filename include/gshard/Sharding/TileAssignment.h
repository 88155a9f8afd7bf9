//===- TileAssignment.h - Compact device arrays of a sharding ---*- C++ -*-===//
//
// A tile assignment is the N-dimensional array of device ids of a tiled
// sharding: entry [i0, i1, ...] is the device holding tile (i0, i1, ...).
// It is stored either
//
//   * as an iota: iota(prod(reshapeDims)) reshaped to `reshapeDims`,
//     transposed by `perm`, then reshaped to `dims` (HLO's `<=[4,2]T(1,0)`).
//     Every query is O(rank); nothing is ever O(devices).
//   * as an explicit device list, only when the user wrote one (or a caller
//     asks for a form no iota can express). Device -> tile lookups build a
//     lazy inverse map on first use.
//
// The class is a cheap value type: copies share explicit storage.
//
//===----------------------------------------------------------------------===//

#ifndef GSHARD_SHARDING_TILEASSIGNMENT_H
#define GSHARD_SHARDING_TILEASSIGNMENT_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/raw_ostream.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace gshard {

class TileAssignment {
public:
  /// An empty (invalid) assignment; `isValid()` is false.
  TileAssignment() = default;

  /// `dims` filled with iota(prod(dims)) in row-major order (`<=[N]`).
  static TileAssignment getIota(llvm::ArrayRef<int64_t> dims);
  /// `devices=[dims]<=[reshapeDims]T(perm)`. The caller guarantees
  /// prod(dims) == prod(reshapeDims) and that perm is a permutation.
  static TileAssignment getIota(llvm::ArrayRef<int64_t> dims,
                                llvm::ArrayRef<int64_t> reshapeDims,
                                llvm::ArrayRef<int64_t> perm);
  /// An explicit device list (copied). prod(dims) == devices.size().
  static TileAssignment getExplicit(llvm::ArrayRef<int64_t> dims,
                                    llvm::ArrayRef<int64_t> devices);
  /// An explicit list that refers to storage owned elsewhere and outliving
  /// this object (e.g. an MLIR attribute's storage). O(1).
  static TileAssignment getExplicitRef(llvm::ArrayRef<int64_t> dims,
                                       llvm::ArrayRef<int64_t> devices);

  bool isValid() const { return !dims.empty(); }
  bool isIota() const { return iota; }
  llvm::ArrayRef<int64_t> getDims() const { return dims; }
  int64_t getDim(int64_t i) const { return dims[i]; }
  int64_t getRank() const { return dims.size(); }
  int64_t getNumDevices() const { return numDevices; }
  /// Iota form (only if isIota()).
  llvm::ArrayRef<int64_t> getIotaReshapeDims() const { return reshapeDims; }
  llvm::ArrayRef<int64_t> getIotaPerm() const { return perm; }
  /// Explicit devices, row-major (only if !isIota()).
  llvm::ArrayRef<int64_t> getExplicitDevices() const { return devices; }

  /// Row-major flattening of a tile index and its inverse. O(rank).
  int64_t flatten(llvm::ArrayRef<int64_t> index) const;
  llvm::SmallVector<int64_t> unflatten(int64_t flatIndex) const;

  /// The device at a row-major flat position / at a tile index. O(rank) for
  /// iota, O(1) for explicit lists.
  int64_t deviceAt(int64_t flatIndex) const;
  int64_t deviceAt(llvm::ArrayRef<int64_t> index) const {
    return deviceAt(flatten(index));
  }
  /// The flat position / tile index of `device`, or nullopt when the device
  /// is not in the assignment. O(rank) for iota (inverts the transpose and
  /// reshape arithmetic); explicit lists build a lazy inverse map once.
  std::optional<int64_t> flatIndexOf(int64_t device) const;
  std::optional<llvm::SmallVector<int64_t>> indexOf(int64_t device) const;
  /// Whether `device` appears in the assignment.
  bool contains(int64_t device) const {
    return flatIndexOf(device).has_value();
  }

  /// The same devices in row-major order viewed with other dims (same total).
  /// Always O(rank) for iota; explicit lists share their storage.
  TileAssignment reshape(llvm::ArrayRef<int64_t> newDims) const;
  /// Transposes the array: result dim i is source dim `permutation[i]`.
  /// Stays an iota (O(rank)) whenever the tile dims and the iota's
  /// transposed dims have a common refinement, which covers every transpose
  /// of a mesh-shaped iota; otherwise materializes an explicit list.
  TileAssignment transpose(llvm::ArrayRef<int64_t> permutation) const;
  /// As transpose(), but nullopt instead of materializing.
  std::optional<TileAssignment>
  transposeAsIota(llvm::ArrayRef<int64_t> permutation) const;

  /// The canonical form: iota assignments get their reshape dims simplified
  /// (unit dims dropped, dims adjacent in the transpose merged); explicit
  /// lists become an iota when one exists (toIota), else stay explicit.
  /// Two canonical iotas are equal iff their arrays are equal.
  TileAssignment canonicalize() const;
  /// For explicit lists: the iota form with the same array, if any
  /// (O(devices * rank), recovers the strides of the array). For iota
  /// assignments: the simplified iota.
  std::optional<TileAssignment> toIota() const;

  /// All devices, row-major. O(devices): only on explicit request.
  llvm::SmallVector<int64_t> materialize() const;

  /// Array equality (same dims, same device at every position). O(rank)
  /// when both are iota, O(devices) otherwise.
  bool operator==(const TileAssignment &other) const;
  bool operator!=(const TileAssignment &other) const {
    return !(*this == other);
  }

  /// Prints `[2,4]<=[4,2]T(1,0)` or `[2,2]0,2,1,3` (HLO's spelling after
  /// `devices=`).
  void print(llvm::raw_ostream &os) const;
  std::string toString() const;

private:
  void initIota();

  llvm::SmallVector<int64_t, 6> dims;
  int64_t numDevices = 0;
  bool iota = false;
  // Iota form.
  llvm::SmallVector<int64_t, 6> reshapeDims;
  llvm::SmallVector<int64_t, 6> perm;
  // For each transposed position j: the size reshapeDims[perm[j]] and the
  // row-major stride of reshape dim perm[j].
  llvm::SmallVector<int64_t, 6> transposedSizes;
  llvm::SmallVector<int64_t, 6> transposedStrides;
  // Explicit form.
  llvm::ArrayRef<int64_t> devices;
  std::shared_ptr<const std::vector<int64_t>> ownedDevices;
  mutable std::shared_ptr<llvm::DenseMap<int64_t, int64_t>> inverse;
};

inline llvm::raw_ostream &operator<<(llvm::raw_ostream &os,
                                     const TileAssignment &ta) {
  ta.print(os);
  return os;
}

/// Simplifies an iota form in place: drops unit reshape dims and merges
/// reshape dims that stay adjacent after the transpose. The result is the
/// unique canonical spelling of the array (one dim `[1]` when it has one
/// device).
void simplifyIota(llvm::SmallVectorImpl<int64_t> &reshapeDims,
                  llvm::SmallVectorImpl<int64_t> &perm);

} // namespace gshard

#endif // GSHARD_SHARDING_TILEASSIGNMENT_H
