//===- HloAttrParser.cpp - Attribute values of HLO text -------------------===//
//
// `key=value` pairs of instructions and of the HloModule header. Which
// syntax a key's value has comes from HloAttrSyntax.def; there is no
// per-opcode code here. Structured values (shardings, windows, dim_labels,
// replica groups) are handed, as raw text, to the attribute's own parseHlo.
//
//===----------------------------------------------------------------------===//

#include "HloParser.h"

#include "gshard/IR/HloDict.h"
#include "gshard/IR/HloOps.h"
#include "gshard/IR/HloSyntax.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"

#include <cstdlib>

using namespace mlir;
using namespace gshard;
using namespace gshard::import;
using hlo::SyntaxCursor;

/// Whether `op` declares an attribute named `name`.
static bool opHasAttribute(RegisteredOperationName op, llvm::StringRef name) {
  for (StringAttr attrName : op.getAttributeNames())
    if (attrName.getValue() == name)
      return true;
  return false;
}

bool HloParser::emitSubError(llvm::StringRef text, size_t offset,
                             const llvm::Twine &message) {
  return emitError(text.begin() + std::min(offset, text.size()), message);
}

bool HloParser::scanValue(llvm::StringRef &value) {
  if (!lexer.scanValue(value))
    return emitError(lexer.getErrorLoc(), lexer.getErrorMessage());
  return true;
}

/// Returns `text` with `/* ... */` comments outside strings replaced by
/// spaces (same length, so offsets still point into the original).
static llvm::StringRef blankComments(llvm::StringRef text,
                                     std::string &storage) {
  if (!text.contains("/*"))
    return text;
  storage = text.str();
  bool inString = false;
  for (size_t i = 0; i < storage.size(); ++i) {
    char c = storage[i];
    if (inString) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        inString = false;
    } else if (c == '"') {
      inString = true;
    } else if (c == '/' && i + 1 < storage.size() && storage[i + 1] == '*') {
      size_t close = storage.find("*/", i + 2);
      size_t stop = close == std::string::npos ? storage.size() : close + 2;
      for (size_t j = i; j < stop; ++j)
        storage[j] = ' ';
      i = stop - 1;
    }
  }
  return storage;
}

/// Parses an enum spelling with the generated symbolize/stringify functions.
template <typename EnumT, typename AttrT>
static Attribute parseEnumValue(MLIRContext *context, llvm::StringRef text,
                                unsigned maxValue, std::string &options) {
  if (std::optional<EnumT> value = hlo::symbolizeEnum<EnumT>(text))
    return AttrT::get(context, *value);
  for (unsigned i = 0; i <= maxValue; ++i)
    options +=
        (i ? ", " : "") + hlo::stringifyEnum(static_cast<EnumT>(i)).str();
  return {};
}

/// The enum attribute for an `Ident` key, or null (with `options` listing
/// the accepted spellings).
static Attribute parseIdentValue(MLIRContext *context, llvm::StringRef key,
                                 llvm::StringRef text, std::string &options) {
  using namespace hlo;
  if (key == "direction")
    return parseEnumValue<ComparisonDirection, ComparisonDirectionAttr>(
        context, text, getMaxEnumValForComparisonDirection(), options);
  if (key == "type")
    return parseEnumValue<ComparisonType, ComparisonTypeAttr>(
        context, text, getMaxEnumValForComparisonType(), options);
  if (key == "distribution")
    return parseEnumValue<RngDistribution, RngDistributionAttr>(
        context, text, getMaxEnumValForRngDistribution(), options);
  if (key == "fft_type")
    return parseEnumValue<FftType, FftTypeAttr>(
        context, text, getMaxEnumValForFftType(), options);
  if (key == "kind")
    return parseEnumValue<FusionKind, FusionKindAttr>(
        context, text, getMaxEnumValForFusionKind(), options);
  if (key == "api_version")
    return parseEnumValue<CustomCallApiVersion, CustomCallApiVersionAttr>(
        context, text, getMaxEnumValForCustomCallApiVersion(), options);
  // An Ident key without a known enum: keep the spelling.
  return StringAttr::get(context, text);
}

/// Parses `%name` or `name` at the cursor.
static bool parseSymbolName(SyntaxCursor &c, llvm::StringRef &name) {
  c.consumeIf("%");
  return c.parseIdentifier(name);
}

Attribute HloParser::parseDict(llvm::StringRef text, llvm::StringRef raw) {
  // `{key="string", key=12, key=true, key={raw braces}}`, commas optional.
  SyntaxCursor c(text);
  auto fail = [&]() -> Attribute {
    emitSubError(raw, c.errorPos(), c.error());
    return {};
  };
  if (!c.expect("{"))
    return fail();
  NamedAttrList entries;
  llvm::StringSet<> seen;
  Builder b(context);
  while (!c.consumeIf("}")) {
    if (c.atEnd()) {
      c.fail("expected '}' to close the attribute dictionary");
      return fail();
    }
    llvm::StringRef key;
    size_t keyPos = c.pos();
    if (!c.parseIdentifier(key) || !c.expect("="))
      return fail();
    if (!seen.insert(key).second) {
      c.failAt(keyPos, "duplicate key '" + key + "'");
      return fail();
    }
    char next = c.peek();
    Attribute value;
    if (next == '"') {
      std::string str;
      if (!hlo::parseQuotedString(c, str))
        return fail();
      value = b.getStringAttr(str);
    } else if (next == '{') {
      llvm::StringRef raw;
      if (!c.parseBalancedBraces(raw))
        return fail();
      value = b.getStringAttr(raw);
    } else if (next == '-' || llvm::isDigit(next)) {
      int64_t number;
      if (!c.parseInt(number))
        return fail();
      value = b.getI64IntegerAttr(number);
    } else if (c.consumeIf("true")) {
      value = b.getBoolAttr(true);
    } else if (c.consumeIf("false")) {
      value = b.getBoolAttr(false);
    } else {
      c.fail("expected a string, integer, boolean or {...} value for '" + key +
             "'");
      return fail();
    }
    entries.append(key, value);
    c.consumeIf(",");
  }
  if (!c.atEnd()) {
    c.fail("unexpected text after '}'");
    return fail();
  }
  return entries.getDictionary(context);
}

bool HloParser::parseInstrAttribute(InstrRecord &instr) {
  if (!tok.is(TokKind::Ident))
    return emitExpected("an attribute name");
  llvm::StringRef key = tok.spelling;
  const char *keyLoc = tok.loc;
  std::string spelled;
  llvm::StringRef name = key;
  if (key.contains('-')) {
    spelled = key.str();
    std::replace(spelled.begin(), spelled.end(), '-', '_');
    name = spelled;
  }
  const auto &table = hlo::getAttrSyntaxTable();
  auto it = table.find(name);
  if (it == table.end())
    return emitError(keyLoc, "unknown attribute '" + key + "'");
  AttrSyntax syntax = it->second;
  llvm::StringRef checkName = syntax == AttrSyntax::Slice ? "start_indices"
                              : syntax == AttrSyntax::Padding
                                  ? "edge_padding_low"
                                  : it->first();
  if (!opHasAttribute(*instr.opName, checkName))
    return emitError(keyLoc, "attribute '" + key +
                                 "' is not valid for opcode '" + instr.opcode +
                                 "'");
  if (instr.attrs.get(checkName))
    return emitError(keyLoc, "duplicate attribute '" + key + "'");
  lex();
  if (!tok.is(TokKind::Equal))
    return emitExpected("'=' after attribute '" + key + "'");
  return parseAttrValue(it->first(), keyLoc, syntax, &instr, instr.attrs);
}

bool HloParser::parseAttrValue(llvm::StringRef key, const char *keyLoc,
                               AttrSyntax syntax, InstrRecord *instr,
                               NamedAttrList &attrs) {
  Builder b(context);
  // Shapes are tokenized like instruction shapes.
  if (syntax == AttrSyntax::Shape || syntax == AttrSyntax::ShapeList) {
    lex();
    if (syntax == AttrSyntax::Shape) {
      Type type;
      if (!parseShape(type))
        return false;
      attrs.append(key, TypeAttr::get(type));
      return true;
    }
    if (!expect(TokKind::LBrace, "'{' to start a shape list"))
      return false;
    SmallVector<Attribute> types;
    if (!consumeIf(TokKind::RBrace)) {
      do {
        Type type;
        if (!parseShape(type))
          return false;
        types.push_back(TypeAttr::get(type));
      } while (consumeIf(TokKind::Comma));
      if (!expect(TokKind::RBrace, "',' or '}' in shape list"))
        return false;
    }
    attrs.append(key, b.getArrayAttr(types));
    return true;
  }

  llvm::StringRef raw;
  if (!scanValue(raw))
    return false;
  std::string storage;
  llvm::StringRef text = raw;
  if (syntax != AttrSyntax::Config && syntax != AttrSyntax::RawString &&
      syntax != AttrSyntax::String)
    text = blankComments(raw, storage);
  SyntaxCursor c(text);
  auto failCursor = [&]() {
    return emitSubError(raw, c.errorPos(), c.error());
  };
  // Requires the cursor to have consumed the whole value.
  auto finish = [&]() {
    if (c.hasError())
      return failCursor();
    if (!c.atEnd())
      return emitSubError(raw, c.pos(),
                          "unexpected '" + c.rest().take_front(16) +
                              "' after the value of '" + key + "'");
    return true;
  };
  auto parseIntBraces = [&](SmallVectorImpl<int64_t> &values) {
    return c.parseIntList(values, '{');
  };
  auto structured = [&](auto parseFn, llvm::StringRef what) -> bool {
    // Keyed by the text in the buffer (not a comment-blanked copy).
    std::pair<unsigned, llvm::StringRef> cacheKey(unsigned(syntax), raw);
    if (text.data() == raw.data()) {
      auto hit = structuredCache.find(cacheKey);
      if (hit != structuredCache.end()) {
        attrs.append(key, hit->second);
        return true;
      }
    }
    std::string error;
    size_t errorPos = 0;
    auto attr = parseFn(context, text, error, errorPos);
    if (failed(attr))
      return emitSubError(raw, errorPos, "bad " + what + ": " + error);
    if (text.data() == raw.data())
      structuredCache[cacheKey] = *attr;
    attrs.append(key, *attr);
    return true;
  };

  bool ok = true;
  switch (syntax) {
  case AttrSyntax::IntList: {
    SmallVector<int64_t> values;
    if (!parseIntBraces(values) || !finish())
      return failCursor();
    attrs.append(key, b.getDenseI64ArrayAttr(values));
    break;
  }
  case AttrSyntax::Int: {
    int64_t value;
    if (!c.parseInt(value) || !finish())
      return failCursor();
    attrs.append(key, b.getI64IntegerAttr(value));
    break;
  }
  case AttrSyntax::Float: {
    std::string copy = text.str();
    char *end = nullptr;
    double value = std::strtod(copy.c_str(), &end);
    if (copy.empty() || end != copy.c_str() + copy.size())
      return emitSubError(raw, 0,
                          "expected a number for '" + key + "', found '" +
                              text.take_front(24) + "'");
    attrs.append(key, b.getF32FloatAttr(float(value)));
    break;
  }
  case AttrSyntax::Bool:
    if (text != "true" && text != "false")
      return emitSubError(raw, 0,
                          "expected 'true' or 'false' for '" + key +
                              "', found '" + text.take_front(24) + "'");
    attrs.append(key, b.getBoolAttr(text == "true"));
    break;
  case AttrSyntax::BoolList: {
    SmallVector<bool> values;
    if (!c.expect("{"))
      return failCursor();
    if (!c.consumeIf("}")) {
      do {
        if (c.consumeIf("true")) {
          values.push_back(true);
        } else if (c.consumeIf("false")) {
          values.push_back(false);
        } else {
          c.fail("expected 'true' or 'false'");
          return failCursor();
        }
      } while (c.consumeIf(","));
      if (!c.expect("}"))
        return failCursor();
    }
    if (!finish())
      return false;
    attrs.append(key, b.getDenseBoolArrayAttr(values));
    break;
  }
  case AttrSyntax::String: {
    std::string value;
    if (!hlo::parseQuotedString(c, value) || !finish())
      return failCursor();
    attrs.append(key, b.getStringAttr(value));
    break;
  }
  case AttrSyntax::Ident: {
    std::string options;
    Attribute value = parseIdentValue(context, key, text, options);
    if (!value)
      return emitSubError(raw, 0,
                          "unknown value '" + text.take_front(32) +
                              "' for attribute '" + key + "' (expected " +
                              options + ")");
    attrs.append(key, value);
    break;
  }
  case AttrSyntax::Computation: {
    llvm::StringRef name;
    size_t at = c.pos();
    if (!parseSymbolName(c, name) || !finish())
      return failCursor();
    computationRefs.push_back({name, raw.begin() + at, {}});
    attrs.append(key, FlatSymbolRefAttr::get(context, name));
    break;
  }
  case AttrSyntax::ComputationList:
  case AttrSyntax::NameList: {
    SmallVector<Attribute> names;
    if (!c.expect("{"))
      return failCursor();
    if (!c.consumeIf("}")) {
      do {
        llvm::StringRef name;
        c.skipSpace();
        size_t at = c.pos();
        if (!parseSymbolName(c, name))
          return failCursor();
        NameRef ref{name, raw.begin() + at, {}};
        if (syntax == AttrSyntax::ComputationList) {
          computationRefs.push_back(ref);
          names.push_back(FlatSymbolRefAttr::get(context, name));
        } else {
          if (instr)
            instr->controlPredecessors.push_back(ref);
          names.push_back(b.getStringAttr(name));
        }
      } while (c.consumeIf(","));
      if (!c.expect("}"))
        return failCursor();
    }
    if (!finish())
      return false;
    attrs.append(key, b.getArrayAttr(names));
    break;
  }
  case AttrSyntax::Sharding:
    ok = structured(hlo::ShardingAttr::parseHlo, "sharding");
    break;
  case AttrSyntax::Window:
    ok = structured(hlo::WindowAttr::parseHlo, "window");
    break;
  case AttrSyntax::ConvDims:
    ok = structured(hlo::ConvDimensionNumbersAttr::parseHlo, "dim_labels");
    break;
  case AttrSyntax::ReplicaGroups:
    ok = structured(hlo::ReplicaGroupsAttr::parseHlo, "replica_groups");
    break;
  case AttrSyntax::Pairs: {
    SmallVector<int64_t> flat;
    if (!c.expect("{"))
      return failCursor();
    if (!c.consumeIf("}")) {
      do {
        c.skipSpace();
        size_t at = c.pos();
        SmallVector<int64_t> pair;
        if (!parseIntBraces(pair))
          return failCursor();
        if (pair.size() != 2)
          return emitSubError(raw, at,
                              "expected a {source,target} pair in '" + key +
                                  "', found " + llvm::Twine(pair.size()) +
                                  " values");
        flat.append(pair);
      } while (c.consumeIf(","));
      if (!c.expect("}"))
        return failCursor();
    }
    if (!finish())
      return false;
    attrs.append(key, b.getDenseI64ArrayAttr(flat));
    break;
  }
  case AttrSyntax::Dict: {
    Attribute dict = parseDict(text, raw);
    if (!dict)
      return false;
    attrs.append(key, dict);
    break;
  }
  case AttrSyntax::Slice: {
    // {[start:limit:stride], ...}; the stride defaults to 1.
    SmallVector<int64_t> starts, limits, strides;
    if (!c.expect("{"))
      return failCursor();
    if (!c.consumeIf("}")) {
      do {
        int64_t start, limit, stride = 1;
        if (!c.expect("[") || !c.parseInt(start) || !c.expect(":") ||
            !c.parseInt(limit))
          return failCursor();
        if (c.consumeIf(":") && !c.parseInt(stride))
          return failCursor();
        if (!c.expect("]"))
          return failCursor();
        starts.push_back(start);
        limits.push_back(limit);
        strides.push_back(stride);
      } while (c.consumeIf(","));
      if (!c.expect("}"))
        return failCursor();
    }
    if (!finish())
      return false;
    attrs.append("start_indices", b.getDenseI64ArrayAttr(starts));
    attrs.append("limit_indices", b.getDenseI64ArrayAttr(limits));
    attrs.append("strides", b.getDenseI64ArrayAttr(strides));
    break;
  }
  case AttrSyntax::Padding: {
    // low_high[_interior] per dimension, joined by 'x'.
    SmallVector<int64_t> low, high, interior;
    do {
      int64_t l, h, i = 0;
      if (!c.parseInt(l) || !c.expect("_") || !c.parseInt(h))
        return failCursor();
      if (c.consumeIf("_") && !c.parseInt(i))
        return failCursor();
      low.push_back(l);
      high.push_back(h);
      interior.push_back(i);
    } while (c.consumeIf("x"));
    if (!finish())
      return false;
    attrs.append("edge_padding_low", b.getDenseI64ArrayAttr(low));
    attrs.append("edge_padding_high", b.getDenseI64ArrayAttr(high));
    attrs.append("interior_padding", b.getDenseI64ArrayAttr(interior));
    break;
  }
  case AttrSyntax::Config:
  case AttrSyntax::RawString:
    attrs.append(key, b.getStringAttr(raw));
    break;
  case AttrSyntax::PrecisionList: {
    SmallVector<Attribute> values;
    if (!c.expect("{"))
      return failCursor();
    if (!c.consumeIf("}")) {
      do {
        llvm::StringRef word;
        c.skipSpace();
        size_t at = c.pos();
        if (!c.parseIdentifier(word))
          return failCursor();
        std::optional<hlo::Precision> precision =
            hlo::symbolizePrecision(word.lower());
        if (!precision)
          return emitSubError(raw, at,
                              "unknown precision '" + word +
                                  "' (expected default, high or highest)");
        values.push_back(hlo::PrecisionAttr::get(context, *precision));
      } while (c.consumeIf(","));
      if (!c.expect("}"))
        return failCursor();
    }
    if (!finish())
      return false;
    attrs.append(key, b.getArrayAttr(values));
    break;
  }
  case AttrSyntax::Shape:
  case AttrSyntax::ShapeList:
    llvm_unreachable("handled above");
  }
  if (!ok)
    return false;
  (void)keyLoc;
  lex();
  return true;
}

//===----------------------------------------------------------------------===//
// HloModule header
//===----------------------------------------------------------------------===//

bool HloParser::parseEntryComputationLayout(Attribute &value) {
  // {(shape, ...)->shape}
  lex();
  if (!expect(TokKind::LBrace, "'{' to start entry_computation_layout") ||
      !expect(TokKind::LParen, "'(' in entry_computation_layout"))
    return false;
  SmallVector<Type> inputs;
  if (!consumeIf(TokKind::RParen)) {
    do {
      Type type;
      if (!parseShape(type))
        return false;
      inputs.push_back(type);
    } while (consumeIf(TokKind::Comma));
    if (!expect(TokKind::RParen, "',' or ')' in entry_computation_layout"))
      return false;
  }
  if (!expect(TokKind::Arrow, "'->' in entry_computation_layout"))
    return false;
  Type result;
  if (!parseShape(result) ||
      !expect(TokKind::RBrace, "'}' to end entry_computation_layout"))
    return false;
  value = TypeAttr::get(FunctionType::get(context, inputs, {result}));
  return true;
}

bool HloParser::parseHeaderAttribute() {
  if (!tok.is(TokKind::Ident))
    return emitExpected("a module attribute name");
  llvm::StringRef key = tok.spelling;
  const char *keyLoc = tok.loc;
  if (header.get(key))
    return emitError(keyLoc, "duplicate module attribute '" + key + "'");
  lex();
  if (!tok.is(TokKind::Equal))
    return emitExpected("'=' after module attribute '" + key + "'");
  Attribute value;
  if (key == "entry_computation_layout") {
    if (!parseEntryComputationLayout(value))
      return false;
    header.append(key, value);
    return true;
  }
  llvm::StringRef raw;
  if (!scanValue(raw))
    return false;
  Builder b(context);
  int64_t number;
  if (key == "frontend_attributes") {
    std::string storage;
    value = parseDict(blankComments(raw, storage), raw);
    if (!value)
      return false;
  } else if (raw == "true" || raw == "false") {
    value = b.getBoolAttr(raw == "true");
  } else if (!raw.getAsInteger(10, number)) {
    // Device counts size per-device state in every tool (the simulator
    // allocates each device): the same bound as tile assignments' devices.
    constexpr int64_t kMaxDevices = int64_t(1) << 24;
    if ((key == "num_partitions" || key == "replica_count") &&
        (number < 1 || number > kMaxDevices))
      return emitError(raw.begin(), key + " must be between 1 and " +
                                        llvm::Twine(kMaxDevices) + ", not " +
                                        raw);
    value = b.getI64IntegerAttr(number);
  } else if (key == "num_partitions" || key == "replica_count") {
    return emitError(raw.begin(),
                     key + " must be an integer, not '" + raw + "'");
  } else if (raw.starts_with("{") && raw.ends_with("}")) {
    // {true,false,...} lists; anything else is kept as text.
    SmallVector<bool> bools;
    SyntaxCursor c(raw);
    c.expect("{");
    bool isBoolList = true;
    if (!c.consumeIf("}")) {
      do {
        if (c.consumeIf("true"))
          bools.push_back(true);
        else if (c.consumeIf("false"))
          bools.push_back(false);
        else
          isBoolList = false;
      } while (isBoolList && c.consumeIf(","));
      isBoolList = isBoolList && c.consumeIf("}") && c.atEnd();
    }
    value = isBoolList && !bools.empty()
                ? Attribute(b.getDenseBoolArrayAttr(bools))
                : Attribute(b.getStringAttr(raw));
  } else {
    value = b.getStringAttr(raw);
  }
  header.append(key, value);
  lex();
  return true;
}
