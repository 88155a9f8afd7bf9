//===- HloAttrs.cpp - Structured attributes of the hlo dialect ------------===//
//
// Each attribute parses and prints HLO text syntax; MLIR assembly wraps that
// text in a string: `#hlo.window<"{size=3 stride=2}">`.
//
//===----------------------------------------------------------------------===//

#include "HloAttrParsing.h"
#include "gshard/IR/HloDict.h"
#include "gshard/IR/HloOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace gshard::hlo;

//===----------------------------------------------------------------------===//
// Dictionaries and strings
//===----------------------------------------------------------------------===//

bool gshard::hlo::parseQuotedString(SyntaxCursor &cursor, std::string &value) {
  cursor.skipSpace();
  llvm::StringRef rest = cursor.rest();
  size_t start = cursor.pos();
  if (!cursor.consumeIf("\""))
    return cursor.fail("expected a string literal");
  value.clear();
  size_t i = 1;
  while (true) {
    if (i >= rest.size())
      return cursor.failAt(start, "unterminated string literal");
    char c = rest[i++];
    if (c == '"')
      break;
    if (c != '\\') {
      value.push_back(c);
      continue;
    }
    if (i >= rest.size())
      return cursor.failAt(start, "unterminated string literal");
    char e = rest[i++];
    switch (e) {
    case 'n':
      value.push_back('\n');
      break;
    case 't':
      value.push_back('\t');
      break;
    case 'r':
      value.push_back('\r');
      break;
    case '"':
    case '\\':
    case '\'':
    case '?':
      value.push_back(e);
      break;
    case 'x': {
      unsigned code = 0, digits = 0;
      while (i < rest.size() && digits < 2 && llvm::isHexDigit(rest[i])) {
        code = code * 16 + llvm::hexDigitValue(rest[i++]);
        ++digits;
      }
      if (digits == 0)
        return cursor.failAt(start + i, "bad \\x escape in string literal");
      value.push_back(char(code));
      break;
    }
    default:
      if (e >= '0' && e <= '7') {
        unsigned code = e - '0', digits = 1;
        while (i < rest.size() && digits < 3 && rest[i] >= '0' &&
               rest[i] <= '7') {
          code = code * 8 + (rest[i++] - '0');
          ++digits;
        }
        value.push_back(char(code & 0xff));
        break;
      }
      return cursor.failAt(start + i - 2, "unknown escape '\\" +
                                              std::string(1, e) +
                                              "' in string");
    }
  }
  // Advance the cursor past the literal (it consumed the opening quote).
  cursor.consumeIf(rest.slice(1, i));
  return true;
}

DictionaryAttr gshard::hlo::parseHloDict(MLIRContext *context,
                                         SyntaxCursor &cursor) {
  if (!cursor.expect("{"))
    return {};
  NamedAttrList entries;
  llvm::StringSet<> seen;
  Builder builder(context);
  while (!cursor.consumeIf("}")) {
    if (cursor.atEnd()) {
      cursor.fail("expected '}' to close the attribute dictionary");
      return {};
    }
    llvm::StringRef key;
    size_t keyPos = cursor.pos();
    if (!cursor.parseIdentifier(key) || !cursor.expect("="))
      return {};
    if (!seen.insert(key).second) {
      cursor.failAt(keyPos, "duplicate key '" + key + "'");
      return {};
    }
    char next = cursor.peek();
    Attribute value;
    if (next == '"') {
      std::string text;
      if (!parseQuotedString(cursor, text))
        return {};
      value = builder.getStringAttr(text);
    } else if (next == '-' || llvm::isDigit(next)) {
      int64_t number;
      if (!cursor.parseInt(number))
        return {};
      value = builder.getI64IntegerAttr(number);
    } else if (cursor.consumeIf("true")) {
      value = builder.getBoolAttr(true);
    } else if (cursor.consumeIf("false")) {
      value = builder.getBoolAttr(false);
    } else {
      cursor.fail("expected a string, integer or boolean value for '" + key +
                  "'");
      return {};
    }
    entries.append(key, value);
    cursor.consumeIf(",");
  }
  return entries.getDictionary(context);
}

llvm::ArrayRef<llvm::StringRef> gshard::hlo::getMetadataKeyOrder() {
  static const llvm::StringRef order[] = {
      "op_type",           "op_name",         "source_file",
      "source_line",       "source_end_line", "source_column",
      "source_end_column", "profile_type",    "deduplicated_name",
      "preserve_layout",   "stack_frame_id",  "scheduling_name"};
  return order;
}

void gshard::hlo::printHloDict(llvm::raw_ostream &os, DictionaryAttr dict,
                               llvm::StringRef separator,
                               llvm::ArrayRef<llvm::StringRef> preferredOrder) {
  SmallVector<NamedAttribute> ordered;
  for (llvm::StringRef key : preferredOrder)
    if (auto value = dict.getNamed(key))
      ordered.push_back(*value);
  for (NamedAttribute entry : dict)
    if (!llvm::is_contained(preferredOrder, entry.getName().strref()))
      ordered.push_back(entry);
  os << '{';
  llvm::interleave(
      ordered, os,
      [&](NamedAttribute entry) {
        os << entry.getName().strref() << '=';
        Attribute value = entry.getValue();
        if (auto str = dyn_cast<StringAttr>(value)) {
          os << '"';
          printEscapedString(os, str.getValue());
          os << '"';
        } else if (auto boolean = dyn_cast<BoolAttr>(value)) {
          os << (boolean.getValue() ? "true" : "false");
        } else if (auto integer = dyn_cast<IntegerAttr>(value)) {
          os << integer.getInt();
        } else {
          os << "\"<unprintable>\"";
        }
      },
      separator);
  os << '}';
}

//===----------------------------------------------------------------------===//
// MLIR assembly: every structured attribute is `<"HLO text">`
//===----------------------------------------------------------------------===//

template <typename AttrT> static Attribute parseQuotedHlo(AsmParser &parser) {
  std::string text;
  SMLoc loc = parser.getCurrentLocation();
  if (parser.parseLess() || parser.parseString(&text) || parser.parseGreater())
    return {};
  std::string error;
  size_t errorPos = 0;
  FailureOr<AttrT> attr =
      AttrT::parseHlo(parser.getContext(), text, error, errorPos);
  if (failed(attr)) {
    parser.emitError(loc) << error << " (at offset " << errorPos << ")";
    return {};
  }
  return *attr;
}

template <typename AttrT>
static void printQuotedHlo(AsmPrinter &printer, AttrT attr) {
  std::string text;
  llvm::raw_string_ostream os(text);
  attr.printHlo(os);
  printer << "<\"";
  printEscapedString(printer.getStream(), text);
  printer << "\">";
}

#define GSHARD_QUOTED_ASM(Name)                                                \
  Attribute Name##Attr::parse(AsmParser &parser, Type) {                       \
    return parseQuotedHlo<Name##Attr>(parser);                                 \
  }                                                                            \
  void Name##Attr::print(AsmPrinter &printer) const {                          \
    printQuotedHlo(printer, *this);                                            \
  }
GSHARD_QUOTED_ASM(Layout)
GSHARD_QUOTED_ASM(Sharding)
GSHARD_QUOTED_ASM(Window)
GSHARD_QUOTED_ASM(ConvDimensionNumbers)
GSHARD_QUOTED_ASM(ReplicaGroups)
#undef GSHARD_QUOTED_ASM

//===----------------------------------------------------------------------===//
// Iota device lists
//===----------------------------------------------------------------------===//

LogicalResult
gshard::hlo::verifyIotaPerm(function_ref<InFlightDiagnostic()> emitError,
                            ArrayRef<int64_t> reshapeDims,
                            ArrayRef<int64_t> perm) {
  if (perm.size() != reshapeDims.size())
    return emitError() << "iota transpose must have one entry per "
                          "reshape dimension";
  SmallVector<bool> seen(perm.size(), false);
  for (int64_t p : perm) {
    if (p < 0 || p >= int64_t(perm.size()) || seen[p])
      return emitError() << "iota transpose is not a permutation";
    seen[p] = true;
  }
  return success();
}

bool gshard::hlo::parseIotaReshapeAndPerm(SyntaxCursor &c,
                                          SmallVectorImpl<int64_t> &reshapeDims,
                                          SmallVectorImpl<int64_t> &perm) {
  if (!c.parseIntList(reshapeDims))
    return false;
  if (c.consumeIf("T"))
    return c.parseIntList(perm, '(');
  for (size_t i = 0; i < reshapeDims.size(); ++i)
    perm.push_back(i);
  return true;
}

void gshard::hlo::printIotaReshapeAndPerm(llvm::raw_ostream &os,
                                          ArrayRef<int64_t> reshapeDims,
                                          ArrayRef<int64_t> perm) {
  os << '[';
  printJoined(os, reshapeDims);
  os << ']';
  bool identity = llvm::all_of(llvm::enumerate(perm), [](auto it) {
    return int64_t(it.index()) == it.value();
  });
  if (!identity) {
    os << "T(";
    printJoined(os, perm);
    os << ')';
  }
}

LogicalResult
gshard::hlo::verifyDeviceIds(function_ref<InFlightDiagnostic()> emitError,
                             ArrayRef<int64_t> ids, StringRef outOfRangeName,
                             StringRef repeatedName, StringRef repeatedText) {
  llvm::SmallDenseSet<int64_t> unique;
  for (int64_t id : ids) {
    if (id < 0 || id >= kMaxDevices)
      return emitError() << outOfRangeName << " " << id << " is out of range";
    if (!unique.insert(id).second)
      return emitError() << repeatedName << " " << id << " " << repeatedText;
  }
  return success();
}

//===----------------------------------------------------------------------===//
// LayoutAttr
//===----------------------------------------------------------------------===//

FailureOr<LayoutAttr> LayoutAttr::parseHlo(MLIRContext *context,
                                           llvm::StringRef text,
                                           std::string &error,
                                           size_t &errorPos) {
  return parseWhole<LayoutAttr>(text, error, errorPos, [&](SyntaxCursor &c) {
    SmallVector<int64_t> minorToMajor;
    if (!c.expect("{"))
      return LayoutAttr();
    if (c.peek() != '}' && c.peek() != ':') {
      do {
        int64_t dim;
        if (!c.parseNonNegative(dim, "layout dimension"))
          return LayoutAttr();
        minorToMajor.push_back(dim);
      } while (c.consumeIf(","));
    }
    llvm::StringRef suffix;
    if (c.consumeIf(":")) {
      // Tiles, element size, memory space...: kept verbatim up to the
      // matching '}'.
      llvm::StringRef rest = c.rest();
      int depth = 0;
      size_t i = 0;
      for (; i < rest.size(); ++i) {
        if (rest[i] == '(' || rest[i] == '{')
          ++depth;
        else if (rest[i] == ')' || (rest[i] == '}' && depth > 0))
          --depth;
        else if (rest[i] == '}')
          break;
      }
      suffix = rest.take_front(i).trim();
      c.consumeIf(rest.take_front(i));
    }
    if (!c.expect("}"))
      return LayoutAttr();
    return LayoutAttr::get(context, minorToMajor, suffix);
  });
}

void LayoutAttr::printHlo(llvm::raw_ostream &os) const {
  os << '{';
  printJoined(os, getMinorToMajor());
  if (!getSuffix().empty())
    os << ':' << getSuffix();
  os << '}';
}

//===----------------------------------------------------------------------===//
// WindowAttr
//===----------------------------------------------------------------------===//

LogicalResult
WindowAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                   ArrayRef<int64_t> size, ArrayRef<int64_t> stride,
                   ArrayRef<int64_t> padLow, ArrayRef<int64_t> padHigh,
                   ArrayRef<int64_t> lhsDilate, ArrayRef<int64_t> rhsDilate,
                   ArrayRef<int64_t> reversal) {
  size_t rank = size.size();
  for (ArrayRef<int64_t> field :
       {stride, padLow, padHigh, lhsDilate, rhsDilate, reversal})
    if (field.size() != rank)
      return emitError() << "window fields must all have " << rank
                         << " entries";
  for (size_t i = 0; i < rank; ++i) {
    if (size[i] <= 0 || stride[i] <= 0 || lhsDilate[i] <= 0 ||
        rhsDilate[i] <= 0)
      return emitError() << "window size, stride and dilations must be "
                            "positive";
    if (reversal[i] != 0 && reversal[i] != 1)
      return emitError() << "window reversal must be 0 or 1";
  }
  return success();
}

FailureOr<WindowAttr> WindowAttr::parseHlo(MLIRContext *context,
                                           llvm::StringRef text,
                                           std::string &error,
                                           size_t &errorPos) {
  return parseWhole<WindowAttr>(text, error, errorPos, [&](SyntaxCursor &c) {
    SmallVector<int64_t> size, stride, padLow, padHigh, lhsDilate, rhsDilate,
        reversal;
    size_t start = c.pos();
    if (!c.expect("{"))
      return WindowAttr();
    llvm::StringSet<> seen;
    while (!c.consumeIf("}")) {
      if (c.atEnd()) {
        c.fail("expected '}' to close the window");
        return WindowAttr();
      }
      llvm::StringRef key;
      size_t keyPos = c.pos();
      if (!c.parseIdentifier(key) || !c.expect("="))
        return WindowAttr();
      if (!seen.insert(key).second) {
        c.failAt(keyPos, "duplicate window field '" + key + "'");
        return WindowAttr();
      }
      bool ok;
      if (key == "size") {
        ok = c.parseXList(size);
      } else if (key == "stride") {
        ok = c.parseXList(stride);
      } else if (key == "lhs_dilate") {
        ok = c.parseXList(lhsDilate);
      } else if (key == "rhs_dilate") {
        ok = c.parseXList(rhsDilate);
      } else if (key == "rhs_reversal") {
        ok = c.parseXList(reversal);
      } else if (key == "pad") {
        do {
          int64_t low = 0, high = 0;
          ok = c.parseInt(low) && c.expect("_") && c.parseInt(high);
          padLow.push_back(low);
          padHigh.push_back(high);
        } while (ok && c.consumeIf("x"));
      } else {
        c.failAt(keyPos, "unknown window field '" + key + "'");
        return WindowAttr();
      }
      if (!ok)
        return WindowAttr();
    }
    size_t rank = size.size();
    if (rank == 0 && !(stride.empty() && padLow.empty())) {
      c.failAt(start, "window without 'size'");
      return WindowAttr();
    }
    auto fill = [&](SmallVector<int64_t> &field, int64_t value) {
      if (field.empty())
        field.assign(rank, value);
    };
    fill(stride, 1);
    fill(padLow, 0);
    fill(padHigh, 0);
    fill(lhsDilate, 1);
    fill(rhsDilate, 1);
    fill(reversal, 0);
    std::string diagnostic;
    ScopedDiagnosticHandler capture(context, [&](Diagnostic &diag) {
      diagnostic = diag.str();
      return success();
    });
    auto attr = WindowAttr::getChecked(
        [&] { return mlir::emitError(UnknownLoc::get(context)); }, context,
        size, stride, padLow, padHigh, lhsDilate, rhsDilate, reversal);
    if (!attr)
      c.failAt(start, diagnostic);
    return attr;
  });
}

void WindowAttr::printHlo(llvm::raw_ostream &os) const {
  auto allEqual = [](ArrayRef<int64_t> values, int64_t v) {
    return llvm::all_of(values, [&](int64_t x) { return x == v; });
  };
  os << '{';
  bool first = true;
  auto field = [&](llvm::StringRef name) -> llvm::raw_ostream & {
    if (!first)
      os << ' ';
    first = false;
    return os << name << '=';
  };
  if (getRank() > 0) {
    field("size");
    printJoined(os, getSize(), "x");
  }
  if (!allEqual(getStride(), 1)) {
    field("stride");
    printJoined(os, getStride(), "x");
  }
  if (!allEqual(getPadLow(), 0) || !allEqual(getPadHigh(), 0)) {
    field("pad");
    for (size_t i = 0; i < getRank(); ++i)
      os << (i ? "x" : "") << getPadLow()[i] << '_' << getPadHigh()[i];
  }
  if (!allEqual(getLhsDilate(), 1)) {
    field("lhs_dilate");
    printJoined(os, getLhsDilate(), "x");
  }
  if (!allEqual(getRhsDilate(), 1)) {
    field("rhs_dilate");
    printJoined(os, getRhsDilate(), "x");
  }
  if (!allEqual(getReversal(), 0)) {
    field("rhs_reversal");
    printJoined(os, getReversal(), "x");
  }
  os << '}';
}

//===----------------------------------------------------------------------===//
// ConvDimensionNumbersAttr: dim_labels=b01f_01io->b01f
//===----------------------------------------------------------------------===//

FailureOr<ConvDimensionNumbersAttr>
ConvDimensionNumbersAttr::parseHlo(MLIRContext *context, llvm::StringRef text,
                                   std::string &error, size_t &errorPos) {
  // Labels: one character per dimension; digits are spatial dims in order.
  struct Labels {
    int64_t first = -1, second = -1;
    SmallVector<int64_t> spatial;
  };
  auto parsePart = [&](llvm::StringRef part, char a, char b, size_t offset,
                       Labels &out) -> bool {
    SmallVector<int64_t> spatialPos(part.size(), -1);
    for (size_t i = 0; i < part.size(); ++i) {
      char ch = part[i];
      if (ch == a || ch == b) {
        int64_t &slot = ch == a ? out.first : out.second;
        if (slot != -1) {
          error = std::string("dimension label '") + ch + "' appears twice";
          errorPos = offset + i;
          return false;
        }
        slot = i;
      } else if (llvm::isDigit(ch)) {
        size_t index = ch - '0';
        if (index >= part.size() || spatialPos[index] != -1) {
          error = std::string("bad spatial dimension label '") + ch + "'";
          errorPos = offset + i;
          return false;
        }
        spatialPos[index] = i;
      } else {
        error = std::string("unexpected dimension label '") + ch +
                "' (expected '" + a + "', '" + b + "' or a digit)";
        errorPos = offset + i;
        return false;
      }
    }
    if (out.first == -1 || out.second == -1) {
      error = std::string("dimension labels must contain '") + a + "' and '" +
              b + "'";
      errorPos = offset;
      return false;
    }
    size_t numSpatial = part.size() - 2;
    for (size_t i = 0; i < numSpatial; ++i) {
      if (spatialPos[i] == -1) {
        error = "missing spatial dimension label '" + std::to_string(i) + "'";
        errorPos = offset;
        return false;
      }
      out.spatial.push_back(spatialPos[i]);
    }
    return true;
  };
  llvm::StringRef trimmed = text.trim();
  size_t underscore = trimmed.find('_');
  size_t arrow = trimmed.find("->");
  if (underscore == llvm::StringRef::npos || arrow == llvm::StringRef::npos ||
      underscore > arrow) {
    error = "expected dim_labels of the form 'b01f_01io->b01f'";
    errorPos = 0;
    return failure();
  }
  Labels input, kernel, output;
  if (!parsePart(trimmed.take_front(underscore), 'b', 'f', 0, input) ||
      !parsePart(trimmed.slice(underscore + 1, arrow), 'i', 'o', underscore + 1,
                 kernel) ||
      !parsePart(trimmed.drop_front(arrow + 2), 'b', 'f', arrow + 2, output))
    return failure();
  if (input.spatial.size() != kernel.spatial.size() ||
      input.spatial.size() != output.spatial.size()) {
    error = "input, kernel and output must have the same number of spatial "
            "dimensions";
    errorPos = 0;
    return failure();
  }
  return ConvDimensionNumbersAttr::get(
      context, input.first, input.second, input.spatial, kernel.first,
      kernel.second, kernel.spatial, output.first, output.second,
      output.spatial);
}

void ConvDimensionNumbersAttr::printHlo(llvm::raw_ostream &os) const {
  auto printPart = [&](int64_t first, char a, int64_t second, char b,
                       ArrayRef<int64_t> spatial) {
    std::string labels(spatial.size() + 2, '?');
    labels[first] = a;
    labels[second] = b;
    for (size_t i = 0; i < spatial.size(); ++i)
      labels[spatial[i]] = char('0' + i);
    os << labels;
  };
  printPart(getInputBatch(), 'b', getInputFeature(), 'f', getInputSpatial());
  os << '_';
  printPart(getKernelInputFeature(), 'i', getKernelOutputFeature(), 'o',
            getKernelSpatial());
  os << "->";
  printPart(getOutputBatch(), 'b', getOutputFeature(), 'f', getOutputSpatial());
}

//===----------------------------------------------------------------------===//
// ReplicaGroupsAttr
//===----------------------------------------------------------------------===//

LogicalResult ReplicaGroupsAttr::verify(
    function_ref<InFlightDiagnostic()> emitError, ArrayRef<int64_t> devices,
    ArrayRef<int64_t> groupSizes, bool isIota, int64_t numGroups,
    int64_t groupSize, ArrayRef<int64_t> reshapeDims, ArrayRef<int64_t> perm) {
  if (isIota) {
    if (numGroups <= 0 || groupSize <= 0)
      return emitError() << "iota replica groups need positive sizes";
    int64_t total = checkedProduct({numGroups, groupSize});
    if (total < 0 || total > kMaxDevices ||
        checkedProduct(reshapeDims) != total)
      return emitError() << "iota replica groups [" << numGroups << ","
                         << groupSize << "] do not match reshape dims ["
                         << reshapeDims << "]";
    return verifyIotaPerm(emitError, reshapeDims, perm);
  }
  int64_t listed = 0;
  for (int64_t size : groupSizes)
    listed += size;
  if (listed != int64_t(devices.size()))
    return emitError() << "replica group sizes do not add up";
  return verifyDeviceIds(emitError, devices, "replica id", "replica id",
                         "appears in more than one group");
}

/// Materializes an iota device list: iota(prod(reshape)) reshaped to
/// `reshape`, transposed by `perm`, flattened.
static SmallVector<int64_t> materializeIota(ArrayRef<int64_t> reshape,
                                            ArrayRef<int64_t> perm) {
  int64_t total = checkedProduct(reshape);
  SmallVector<int64_t> result;
  result.reserve(total);
  size_t rank = reshape.size();
  SmallVector<int64_t> strides(rank, 1);
  for (int64_t i = int64_t(rank) - 2; i >= 0; --i)
    strides[i] = strides[i + 1] * reshape[i + 1];
  SmallVector<int64_t> index(rank, 0); // index over transposed dims
  for (int64_t n = 0; n < total; ++n) {
    int64_t source = 0;
    for (size_t d = 0; d < rank; ++d)
      source += index[d] * strides[perm[d]];
    result.push_back(source);
    for (int64_t d = int64_t(rank) - 1; d >= 0; --d) {
      if (++index[d] < reshape[perm[d]])
        break;
      index[d] = 0;
    }
  }
  return result;
}

SmallVector<SmallVector<int64_t>> ReplicaGroupsAttr::getGroups() const {
  SmallVector<SmallVector<int64_t>> groups;
  if (getIsIota()) {
    SmallVector<int64_t> flat =
        materializeIota(getIotaReshapeDims(), getIotaPerm());
    for (int64_t g = 0; g < getNumGroups(); ++g)
      groups.emplace_back(flat.begin() + g * getGroupSize(),
                          flat.begin() + (g + 1) * getGroupSize());
    return groups;
  }
  size_t offset = 0;
  for (int64_t size : getGroupSizes()) {
    groups.emplace_back(getDevices().begin() + offset,
                        getDevices().begin() + offset + size);
    offset += size;
  }
  return groups;
}

FailureOr<ReplicaGroupsAttr> ReplicaGroupsAttr::parseHlo(MLIRContext *context,
                                                         llvm::StringRef text,
                                                         std::string &error,
                                                         size_t &errorPos) {
  return parseWhole<ReplicaGroupsAttr>(
      text, error, errorPos, [&](SyntaxCursor &c) -> ReplicaGroupsAttr {
        SmallVector<int64_t> devices, sizes, shape, reshape, perm;
        bool isIota = false;
        size_t start = c.pos();
        if (c.peek() == '[') {
          isIota = true;
          if (!c.parseIntList(shape))
            return {};
          if (shape.size() != 2) {
            c.failAt(start, "iota replica groups need [num_groups,group_size]");
            return {};
          }
          if (!c.expect("<=") || !parseIotaReshapeAndPerm(c, reshape, perm))
            return {};
        } else {
          if (!c.expect("{"))
            return {};
          if (!c.consumeIf("}")) {
            do {
              SmallVector<int64_t> group;
              if (!c.parseIntList(group, '{'))
                return {};
              sizes.push_back(group.size());
              devices.append(group);
              if (devices.size() > size_t(kMaxDevices)) {
                c.fail("too many replica ids");
                return {};
              }
            } while (c.consumeIf(","));
            if (!c.expect("}"))
              return {};
          }
        }
        std::string diagnostic;
        ScopedDiagnosticHandler capture(context, [&](Diagnostic &diag) {
          diagnostic = diag.str();
          return success();
        });
        auto attr = ReplicaGroupsAttr::getChecked(
            [&] { return mlir::emitError(UnknownLoc::get(context)); }, context,
            devices, sizes, isIota, isIota ? shape[0] : int64_t(sizes.size()),
            isIota ? shape[1] : 0, reshape, perm);
        if (!attr)
          c.failAt(start, diagnostic);
        return attr;
      });
}

void ReplicaGroupsAttr::printHlo(llvm::raw_ostream &os) const {
  if (getIsIota()) {
    os << '[' << getNumGroups() << ',' << getGroupSize() << "]<=";
    printIotaReshapeAndPerm(os, getIotaReshapeDims(), getIotaPerm());
    return;
  }
  os << '{';
  llvm::interleave(
      getGroups(), os,
      [&](ArrayRef<int64_t> group) {
        os << '{';
        printJoined(os, group);
        os << '}';
      },
      ",");
  os << '}';
}

//===----------------------------------------------------------------------===//
// Registration
//===----------------------------------------------------------------------===//

#include "gshard/IR/HloEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "gshard/IR/HloAttrs.cpp.inc"

void HloDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "gshard/IR/HloAttrs.cpp.inc"
      >();
}
