//===- HloAttrParsing.h - Helpers shared by the attribute parsers -*- C++
//-*-===//
//
// Private to lib/IR: the pieces that the structured attributes' `parseHlo`,
// `printHlo` and `verify` share.
//
//===----------------------------------------------------------------------===//

#ifndef GSHARD_LIB_IR_HLOATTRPARSING_H
#define GSHARD_LIB_IR_HLOATTRPARSING_H

#include "gshard/IR/HloSyntax.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/Support/LogicalResult.h"

#include <cstdint>
#include <string>

namespace gshard::hlo {

/// Devices above this are rejected: HLO device ids are int32 and no real
/// mesh comes close; it also bounds every O(devices) loop.
inline constexpr int64_t kMaxDevices = int64_t(1) << 24;

/// Checks that `perm` permutes the iota's reshape dims (shardings and
/// replica groups both use iota device lists).
mlir::LogicalResult
verifyIotaPerm(llvm::function_ref<mlir::InFlightDiagnostic()> emitError,
               llvm::ArrayRef<int64_t> reshapeDims,
               llvm::ArrayRef<int64_t> perm);

/// Parses the rest of an iota device list after its `<=`: `[reshape dims]`
/// and an optional `T(perm)`, the identity when absent (shardings and
/// replica groups share this syntax).
bool parseIotaReshapeAndPerm(SyntaxCursor &c,
                             llvm::SmallVectorImpl<int64_t> &reshapeDims,
                             llvm::SmallVectorImpl<int64_t> &perm);

/// Prints what parseIotaReshapeAndPerm reads: `[reshape dims]`, then
/// `T(perm)` unless `perm` is the identity.
void printIotaReshapeAndPerm(llvm::raw_ostream &os,
                             llvm::ArrayRef<int64_t> reshapeDims,
                             llvm::ArrayRef<int64_t> perm);

/// Checks that every id of an explicit device list is in [0, kMaxDevices)
/// and listed once. The messages read "<outOfRangeName> N is out of range"
/// and "<repeatedName> N <repeatedText>".
mlir::LogicalResult
verifyDeviceIds(llvm::function_ref<mlir::InFlightDiagnostic()> emitError,
                llvm::ArrayRef<int64_t> ids, llvm::StringRef outOfRangeName,
                llvm::StringRef repeatedName, llvm::StringRef repeatedText);

/// Runs `parseBody` on the whole of `text` and requires it to be consumed.
template <typename AttrT, typename Fn>
mlir::FailureOr<AttrT> parseWhole(llvm::StringRef text, std::string &error,
                                  size_t &errorPos, Fn parseBody) {
  SyntaxCursor cursor(text);
  AttrT attr = parseBody(cursor);
  if (attr && !cursor.atEnd())
    cursor.fail("unexpected trailing text '" + cursor.rest().take_front(16) +
                "'");
  if (cursor.hasError() || !attr) {
    error = cursor.hasError() ? cursor.error() : "invalid attribute";
    errorPos = cursor.errorPos();
    return mlir::failure();
  }
  return attr;
}

} // namespace gshard::hlo

#endif // GSHARD_LIB_IR_HLOATTRPARSING_H
