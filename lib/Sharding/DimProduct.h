//===- DimProduct.h - Product of dims, private to lib/Sharding -*- C++ -*-===//
//
// Tile, mesh and reshape dims multiply to device counts (and tensor dims to
// element counts) all over this library; one definition for its files.
// Unchecked for overflow: the inputs come from verified shardings and shapes.
//
//===----------------------------------------------------------------------===//

#ifndef GSHARD_LIB_SHARDING_DIMPRODUCT_H
#define GSHARD_LIB_SHARDING_DIMPRODUCT_H

#include "llvm/ADT/ArrayRef.h"

#include <cstdint>

namespace gshard {

/// The product of `values`; 1 for none.
inline int64_t product(llvm::ArrayRef<int64_t> values) {
  int64_t result = 1;
  for (int64_t v : values)
    result *= v;
  return result;
}

} // namespace gshard

#endif // GSHARD_LIB_SHARDING_DIMPRODUCT_H
