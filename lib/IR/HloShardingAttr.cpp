//===- HloShardingAttr.cpp - The HLO sharding attribute -------------------===//
//
// Construction, verification and the HLO text syntax of `sharding={...}`:
// replicated, maximal, manual, tiled (explicit or iota device lists), partial
// replication and subgroups, tuples, and shard groups.
//
//===----------------------------------------------------------------------===//

#include "HloAttrParsing.h"
#include "gshard/IR/HloDict.h"
#include "gshard/IR/HloOps.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"

using namespace mlir;
using namespace gshard::hlo;

//===----------------------------------------------------------------------===//
// ShardingAttr
//===----------------------------------------------------------------------===//

ShardingAttr ShardingAttr::getReplicated(MLIRContext *context) {
  return get(context, ShardingKind::Replicated, {}, {}, {}, {}, false, {}, {},
             nullptr, ShardGroupKind::None, 0);
}
ShardingAttr ShardingAttr::getManual(MLIRContext *context) {
  return get(context, ShardingKind::Manual, {}, {}, {}, {}, false, {}, {},
             nullptr, ShardGroupKind::None, 0);
}
ShardingAttr ShardingAttr::getMaximal(MLIRContext *context, int64_t device) {
  return get(context, ShardingKind::Maximal, {}, {}, {}, {device}, false, {},
             {}, nullptr, ShardGroupKind::None, 0);
}
ShardingAttr ShardingAttr::getIotaTiled(MLIRContext *context,
                                        ArrayRef<int64_t> tileDims,
                                        ArrayRef<int64_t> reshapeDims,
                                        ArrayRef<int64_t> perm,
                                        bool replicateOnLastTileDim,
                                        ArrayRef<SubgroupKind> lastTileDims) {
  return get(context, ShardingKind::Tiled, tileDims, reshapeDims, perm, {},
             replicateOnLastTileDim, lastTileDims, {}, nullptr,
             ShardGroupKind::None, 0);
}
ShardingAttr ShardingAttr::getTuple(MLIRContext *context,
                                    ArrayRef<ShardingAttr> elements) {
  return get(context, ShardingKind::Tuple, {}, {}, {}, {}, false, {}, elements,
             nullptr, ShardGroupKind::None, 0);
}

int64_t ShardingAttr::getNumTileDevices() const {
  return checkedProduct(getTileDims());
}

ShardingAttr ShardingAttr::withoutMetadata() const {
  SmallVector<ShardingAttr> elements;
  for (ShardingAttr element : getTupleElements())
    elements.push_back(element.withoutMetadata());
  return get(getContext(), getKind(), getTileDims(), getIotaReshapeDims(),
             getIotaPerm(), getDevices(), getReplicateOnLastTileDim(),
             getLastTileDims(), elements, nullptr, getShardGroupKind(),
             getShardGroupId());
}

LogicalResult ShardingAttr::verify(
    function_ref<InFlightDiagnostic()> emitError, ShardingKind kind,
    ArrayRef<int64_t> tileDims, ArrayRef<int64_t> iotaReshapeDims,
    ArrayRef<int64_t> iotaPerm, ArrayRef<int64_t> devices,
    bool replicateOnLastTileDim, ArrayRef<SubgroupKind> lastTileDims,
    ArrayRef<ShardingAttr> tupleElements, ArrayAttr metadata, ShardGroupKind,
    int64_t) {
  if (kind == ShardingKind::Maximal) {
    if (devices.size() != 1 || devices[0] < 0)
      return emitError() << "maximal sharding needs one non-negative device";
    return success();
  }
  if (kind == ShardingKind::Tuple) {
    if (!tileDims.empty() || !devices.empty())
      return emitError() << "tuple sharding cannot have a tile assignment";
    return success();
  }
  if (!tupleElements.empty())
    return emitError() << "only tuple shardings have elements";
  if (kind != ShardingKind::Tiled) {
    if (!tileDims.empty() || !devices.empty())
      return emitError() << "only tiled shardings have a tile assignment";
    return success();
  }
  if (tileDims.empty())
    return emitError() << "tiled sharding needs tile assignment dimensions";
  for (int64_t dim : tileDims)
    if (dim <= 0)
      return emitError() << "tile assignment dimensions must be positive";
  int64_t numDevices = checkedProduct(tileDims);
  if (numDevices < 0 || numDevices > kMaxDevices)
    return emitError() << "tile assignment has too many devices (limit "
                       << kMaxDevices << ")";
  if (replicateOnLastTileDim && !lastTileDims.empty())
    return emitError()
           << "last_tile_dim_replicate and last_tile_dims are exclusive";
  if (lastTileDims.size() + (replicateOnLastTileDim ? 1 : 0) > tileDims.size())
    return emitError() << "more subgroup dimensions than tile dimensions";
  if (devices.empty()) {
    if (checkedProduct(iotaReshapeDims) != numDevices)
      return emitError() << "iota reshape dims [" << iotaReshapeDims
                         << "] do not hold the " << numDevices
                         << " devices of the tile assignment";
    return verifyIotaPerm(emitError, iotaReshapeDims, iotaPerm);
  }
  if (int64_t(devices.size()) != numDevices)
    return emitError() << "tile assignment [" << tileDims << "] needs "
                       << numDevices << " devices, " << devices.size()
                       << " listed";
  return verifyDeviceIds(emitError, devices, "device id", "device",
                         "appears twice in the tile assignment");
}

/// Parses the body of one (non-tuple) sharding after its '{'.
static ShardingAttr parseShardingBody(MLIRContext *context, SyntaxCursor &c);

static ShardingAttr parseShardingBraces(MLIRContext *context, SyntaxCursor &c) {
  if (!c.expect("{"))
    return {};
  // A tuple sharding is a brace list of shardings: `{{...}, {...}}` or `{}`.
  if (c.peek() == '{' || c.peek() == '}') {
    SmallVector<ShardingAttr> elements;
    if (!c.consumeIf("}")) {
      do {
        ShardingAttr element = parseShardingBraces(context, c);
        if (!element)
          return {};
        elements.push_back(element);
      } while (c.consumeIf(","));
      if (!c.expect("}"))
        return {};
    }
    return ShardingAttr::getTuple(context, elements);
  }
  ShardingAttr body = parseShardingBody(context, c);
  if (!body || !c.expect("}"))
    return {};
  return body;
}

static ShardingAttr parseShardingBody(MLIRContext *context, SyntaxCursor &c) {
  ShardingKind kind;
  SmallVector<int64_t> tileDims, reshapeDims, perm, devices;
  bool replicateLast = false;
  SmallVector<SubgroupKind> lastTileDims;
  ArrayAttr metadata;
  ShardGroupKind groupKind = ShardGroupKind::None;
  int64_t groupId = 0;
  size_t start = c.pos();

  if (c.consumeIf("replicated")) {
    kind = ShardingKind::Replicated;
  } else if (c.consumeIf("manual")) {
    kind = ShardingKind::Manual;
  } else if (c.consumeIf("unknown")) {
    kind = ShardingKind::Unknown;
  } else if (c.consumeIf("maximal")) {
    kind = ShardingKind::Maximal;
    int64_t device;
    if (!c.expect("device") || !c.expect("=") ||
        !c.parseNonNegative(device, "device id"))
      return {};
    devices.push_back(device);
  } else if (c.consumeIf("devices")) {
    kind = ShardingKind::Tiled;
    if (!c.expect("=") || !c.parseIntList(tileDims))
      return {};
    if (c.consumeIf("<=")) {
      if (!parseIotaReshapeAndPerm(c, reshapeDims, perm))
        return {};
    } else {
      do {
        int64_t device;
        if (!c.parseNonNegative(device, "device id"))
          return {};
        devices.push_back(device);
        if (devices.size() > size_t(kMaxDevices)) {
          c.fail("too many devices in tile assignment");
          return {};
        }
      } while (c.consumeIf(","));
    }
  } else {
    c.fail("expected 'replicated', 'manual', 'maximal', 'unknown' or "
           "'devices=' in sharding");
    return {};
  }

  // Trailing modifiers, in any order.
  while (c.peek() != '}' && !c.atEnd()) {
    if (c.consumeIf("last_tile_dim_replicate")) {
      replicateLast = true;
    } else if (c.consumeIf("last_tile_dims")) {
      if (!c.expect("=") || !c.expect("{"))
        return {};
      do {
        if (c.consumeIf("manual")) {
          lastTileDims.push_back(SubgroupKind::Manual);
        } else if (c.consumeIf("replicated")) {
          lastTileDims.push_back(SubgroupKind::Replicated);
        } else {
          c.fail("expected 'manual' or 'replicated' in last_tile_dims");
          return {};
        }
      } while (c.consumeIf(","));
      if (!c.expect("}"))
        return {};
    } else if (c.consumeIf("metadata")) {
      if (!c.expect("="))
        return {};
      SmallVector<Attribute> entries;
      // One `{...}` dictionary, or a brace list of them.
      SyntaxCursor probe = c;
      probe.expect("{");
      if (probe.peek() == '{') {
        c.expect("{");
        do {
          DictionaryAttr dict = parseHloDict(context, c);
          if (!dict)
            return {};
          entries.push_back(dict);
        } while (c.consumeIf(","));
        if (!c.expect("}"))
          return {};
      } else {
        DictionaryAttr dict = parseHloDict(context, c);
        if (!dict)
          return {};
        if (!dict.empty())
          entries.push_back(dict);
      }
      metadata = ArrayAttr::get(context, entries);
    } else if (c.consumeIf("shard_as")) {
      groupKind = ShardGroupKind::As;
      if (!c.parseNonNegative(groupId, "shard group id"))
        return {};
    } else if (c.consumeIf("shard_like")) {
      groupKind = ShardGroupKind::Like;
      if (!c.parseNonNegative(groupId, "shard group id"))
        return {};
    } else {
      c.fail("unexpected '" + c.rest().take_front(16) + "' in sharding");
      return {};
    }
  }

  std::string diagnostic;
  auto emitError = [&]() { return mlir::emitError(UnknownLoc::get(context)); };
  // Verify without printing through the context's diagnostic handler.
  ScopedDiagnosticHandler capture(context, [&](Diagnostic &diag) {
    diagnostic = diag.str();
    return success();
  });
  if (failed(ShardingAttr::verify(emitError, kind, tileDims, reshapeDims, perm,
                                  devices, replicateLast, lastTileDims, {},
                                  metadata, groupKind, groupId))) {
    c.failAt(start, diagnostic);
    return {};
  }
  return ShardingAttr::get(context, kind, tileDims, reshapeDims, perm, devices,
                           replicateLast, lastTileDims, {}, metadata, groupKind,
                           groupId);
}

FailureOr<ShardingAttr> ShardingAttr::parseHlo(MLIRContext *context,
                                               llvm::StringRef text,
                                               std::string &error,
                                               size_t &errorPos) {
  return parseWhole<ShardingAttr>(text, error, errorPos, [&](SyntaxCursor &c) {
    return parseShardingBraces(context, c);
  });
}

static void printShardingBody(llvm::raw_ostream &os, ShardingAttr s) {
  switch (s.getKind()) {
  case ShardingKind::Replicated:
    os << "replicated";
    break;
  case ShardingKind::Manual:
    os << "manual";
    break;
  case ShardingKind::Unknown:
    os << "unknown";
    break;
  case ShardingKind::Maximal:
    os << "maximal device=" << s.getDevices()[0];
    break;
  case ShardingKind::Tiled: {
    os << "devices=[";
    printJoined(os, s.getTileDims());
    os << ']';
    if (s.isIota()) {
      os << "<=";
      printIotaReshapeAndPerm(os, s.getIotaReshapeDims(), s.getIotaPerm());
    } else {
      printJoined(os, s.getDevices());
    }
    if (s.getReplicateOnLastTileDim())
      os << " last_tile_dim_replicate";
    if (!s.getLastTileDims().empty()) {
      os << " last_tile_dims={";
      llvm::interleave(
          s.getLastTileDims(), os,
          [&](SubgroupKind k) {
            os << (k == SubgroupKind::Manual ? "manual" : "replicated");
          },
          ", ");
      os << '}';
    }
    break;
  }
  case ShardingKind::Tuple:
    llvm_unreachable("tuple handled by caller");
  }
  if (ArrayAttr metadata = s.getMetadata()) {
    os << " metadata=";
    if (metadata.size() == 1) {
      printHloDict(os, cast<DictionaryAttr>(metadata[0]), " ",
                   getMetadataKeyOrder());
    } else {
      os << '{';
      llvm::interleave(
          metadata, os,
          [&](Attribute dict) {
            printHloDict(os, cast<DictionaryAttr>(dict), " ",
                         getMetadataKeyOrder());
          },
          ", ");
      os << '}';
    }
  }
  if (s.getShardGroupKind() == ShardGroupKind::As)
    os << " shard_as " << s.getShardGroupId();
  else if (s.getShardGroupKind() == ShardGroupKind::Like)
    os << " shard_like " << s.getShardGroupId();
}

void ShardingAttr::printHlo(llvm::raw_ostream &os) const {
  os << '{';
  if (isTuple()) {
    llvm::interleave(
        getTupleElements(), os, [&](ShardingAttr e) { e.printHlo(os); }, ", ");
  } else {
    printShardingBody(os, *this);
  }
  os << '}';
}
