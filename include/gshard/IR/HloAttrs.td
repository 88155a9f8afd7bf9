//===- HloAttrs.td - Attributes of the hlo dialect ---------*- tablegen -*-===//
//
// Structured HLO attributes. Each one prints and parses in HLO's own text
// syntax (`printHlo`/`parseHlo`), which is also its MLIR assembly form, e.g.
// `#hlo.sharding<"{devices=[2,1]<=[2]}">`, so the text importer, the printer
// and MLIR assembly share a single implementation.
//
//===----------------------------------------------------------------------===//

#ifndef GSHARD_IR_HLOATTRS_TD
#define GSHARD_IR_HLOATTRS_TD

include "gshard/IR/HloDialect.td"
include "mlir/IR/EnumAttr.td"
include "mlir/IR/BuiltinAttributeInterfaces.td"

class HLO_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<Hlo_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
  let hasCustomAssemblyFormat = 1;
  // Every structured attribute round-trips through HLO text.
  code hloSyntaxDecl = [{
    /// Parses HLO text syntax; on failure sets `error` and the byte offset
    /// of the problem in `errorPos`.
    static ::mlir::FailureOr<}] # name # [{Attr> parseHlo(
        ::mlir::MLIRContext *context, ::llvm::StringRef text,
        std::string &error, size_t &errorPos);
    /// Prints HLO text syntax.
    void printHlo(::llvm::raw_ostream &os) const;
  }];
}

//===----------------------------------------------------------------------===//
// Layout
//===----------------------------------------------------------------------===//

def HLO_LayoutAttr : HLO_Attr<"Layout", "layout"> {
  let summary = "HLO layout, carried as the encoding of a tensor type";
  let description = [{
    `{1,0}` or `{1,0:T(8,128)(2,1)S(1)}`: minor-to-major dimension order plus
    the layout's tiling/memory-space suffix (after `:`), kept verbatim.
  }];
  let parameters = (ins ArrayRefParameter<"int64_t">:$minorToMajor,
                        StringRefParameter<>:$suffix);
  let extraClassDeclaration = hloSyntaxDecl;
}

//===----------------------------------------------------------------------===//
// Sharding
//===----------------------------------------------------------------------===//

def HLO_ShardingKind : I32EnumAttr<"ShardingKind", "kind of an HLO sharding", [
    I32EnumAttrCase<"Replicated", 0, "replicated">,
    I32EnumAttrCase<"Maximal", 1, "maximal">,
    I32EnumAttrCase<"Tiled", 2, "tiled">,
    I32EnumAttrCase<"Manual", 3, "manual">,
    I32EnumAttrCase<"Unknown", 4, "unknown">,
    I32EnumAttrCase<"Tuple", 5, "tuple">]> {
  let cppNamespace = "::gshard::hlo";
  let genSpecializedAttr = 0;
}

def HLO_SubgroupKind : I32EnumAttr<"SubgroupKind",
    "meaning of a trailing tile-assignment dimension", [
    I32EnumAttrCase<"Replicated", 0, "replicated">,
    I32EnumAttrCase<"Manual", 1, "manual">]> {
  let cppNamespace = "::gshard::hlo";
  let genSpecializedAttr = 0;
}

def HLO_ShardGroupKind : I32EnumAttr<"ShardGroupKind",
    "shard_as / shard_like grouping", [
    I32EnumAttrCase<"None", 0, "none">,
    I32EnumAttrCase<"As", 1, "shard_as">,
    I32EnumAttrCase<"Like", 2, "shard_like">]> {
  let cppNamespace = "::gshard::hlo";
  let genSpecializedAttr = 0;
}

def HLO_ShardingAttr : HLO_Attr<"Sharding", "sharding"> {
  let summary = "HLO sharding (HloSharding / OpSharding)";
  let description = [{
    The structural form of an HLO sharding. A tiled sharding's tile
    assignment is `tileDims` devices arranged either as an iota
    (`iotaReshapeDims` + `iotaPerm`: `<=[4,2]T(1,0)`) or, only when the user
    wrote one, as the explicit list `devices`. A maximal sharding keeps its
    device in `devices[0]`. Trailing tile dimensions are subgroups:
    `replicateOnLastTileDim` (`last_tile_dim_replicate`) or `lastTileDims`
    (`last_tile_dims={manual, replicated}`). Tuple shardings keep their
    leaves in `tupleElements`. `metadata` holds per-sharding OpMetadata
    dictionaries. See `gshard/Sharding` for the queries.
  }];
  let parameters = (ins
    "ShardingKind":$kind,
    OptionalArrayRefParameter<"int64_t">:$tileDims,
    OptionalArrayRefParameter<"int64_t">:$iotaReshapeDims,
    OptionalArrayRefParameter<"int64_t">:$iotaPerm,
    OptionalArrayRefParameter<"int64_t">:$devices,
    "bool":$replicateOnLastTileDim,
    OptionalArrayRefParameter<"SubgroupKind">:$lastTileDims,
    OptionalArrayRefParameter<"ShardingAttr">:$tupleElements,
    OptionalParameter<"::mlir::ArrayAttr">:$metadata,
    "ShardGroupKind":$shardGroupKind,
    "int64_t":$shardGroupId);
  let extraClassDeclaration = hloSyntaxDecl # [{
    static ShardingAttr getReplicated(::mlir::MLIRContext *context);
    static ShardingAttr getManual(::mlir::MLIRContext *context);
    static ShardingAttr getMaximal(::mlir::MLIRContext *context,
                                   int64_t device);
    /// A tiled sharding whose devices are iota(reshape)->transpose(perm).
    static ShardingAttr getIotaTiled(::mlir::MLIRContext *context,
                                     ::llvm::ArrayRef<int64_t> tileDims,
                                     ::llvm::ArrayRef<int64_t> reshapeDims,
                                     ::llvm::ArrayRef<int64_t> perm,
                                     bool replicateOnLastTileDim = false,
                                     ::llvm::ArrayRef<SubgroupKind>
                                         lastTileDims = {});
    static ShardingAttr getTuple(::mlir::MLIRContext *context,
                                 ::llvm::ArrayRef<ShardingAttr> elements);
    bool isReplicated() const { return getKind() == ShardingKind::Replicated; }
    bool isMaximal() const { return getKind() == ShardingKind::Maximal; }
    bool isTiled() const { return getKind() == ShardingKind::Tiled; }
    bool isManual() const { return getKind() == ShardingKind::Manual; }
    bool isTuple() const { return getKind() == ShardingKind::Tuple; }
    bool isIota() const { return isTiled() && getDevices().empty(); }
    /// Number of devices in the tile assignment (product of tileDims).
    int64_t getNumTileDevices() const;
    /// Same sharding without metadata (what HloSharding::operator== sees,
    /// except for the iota/explicit spelling: see gshard::shardingsEqual).
    ShardingAttr withoutMetadata() const;
  }];
  let genVerifyDecl = 1;
}

//===----------------------------------------------------------------------===//
// Window, convolution dimension numbers, replica groups
//===----------------------------------------------------------------------===//

def HLO_WindowAttr : HLO_Attr<"Window", "window"> {
  let summary = "window of convolution / reduce-window / select-and-scatter";
  let description = [{
    `{size=3x3 stride=2x2 pad=0_1x0_1 lhs_dilate=1x1 rhs_dilate=1x1
    rhs_reversal=0x0}`. Every array has one entry per window dimension;
    absent fields take XLA's defaults (stride 1, pad 0, dilation 1, no
    reversal).
  }];
  let parameters = (ins ArrayRefParameter<"int64_t">:$size,
                        ArrayRefParameter<"int64_t">:$stride,
                        ArrayRefParameter<"int64_t">:$padLow,
                        ArrayRefParameter<"int64_t">:$padHigh,
                        ArrayRefParameter<"int64_t">:$lhsDilate,
                        ArrayRefParameter<"int64_t">:$rhsDilate,
                        ArrayRefParameter<"int64_t">:$reversal);
  let extraClassDeclaration = hloSyntaxDecl # [{
    size_t getRank() const { return getSize().size(); }
  }];
  let genVerifyDecl = 1;
}

def HLO_ConvDimensionNumbersAttr
    : HLO_Attr<"ConvDimensionNumbers", "conv_dims"> {
  let summary = "convolution dim_labels, e.g. b01f_01io->b01f";
  let parameters = (ins "int64_t":$inputBatch, "int64_t":$inputFeature,
                        ArrayRefParameter<"int64_t">:$inputSpatial,
                        "int64_t":$kernelInputFeature,
                        "int64_t":$kernelOutputFeature,
                        ArrayRefParameter<"int64_t">:$kernelSpatial,
                        "int64_t":$outputBatch, "int64_t":$outputFeature,
                        ArrayRefParameter<"int64_t">:$outputSpatial);
  let extraClassDeclaration = hloSyntaxDecl;
}

def HLO_ReplicaGroupsAttr : HLO_Attr<"ReplicaGroups", "replica_groups"> {
  let summary = "replica groups, explicit `{{0,1},{2,3}}` or iota `[2,2]<=[4]`";
  let description = [{
    Either explicit groups (`devices` flattened, `groupSizes` one entry per
    group; both empty for `{}`, meaning one group of everybody) or the
    compact iota form `[numGroups,groupSize]<=[reshape]T(perm)`.
  }];
  let parameters = (ins OptionalArrayRefParameter<"int64_t">:$devices,
                        OptionalArrayRefParameter<"int64_t">:$groupSizes,
                        "bool":$isIota,
                        "int64_t":$numGroups, "int64_t":$groupSize,
                        OptionalArrayRefParameter<"int64_t">:$iotaReshapeDims,
                        OptionalArrayRefParameter<"int64_t">:$iotaPerm);
  let extraClassDeclaration = hloSyntaxDecl # [{
    /// Materializes the groups (O(devices); for executors and printers).
    ::llvm::SmallVector<::llvm::SmallVector<int64_t>> getGroups() const;
  }];
  let genVerifyDecl = 1;
}

//===----------------------------------------------------------------------===//
// Enumerations
//===----------------------------------------------------------------------===//

class HLO_EnumAttr<I32EnumAttr enumInfo, string name>
    : EnumAttr<Hlo_Dialect, enumInfo, name> {
  let assemblyFormat = "`<` $value `>`";
}

def HLO_ComparisonDirection : I32EnumAttr<"ComparisonDirection",
    "compare direction", [
    I32EnumAttrCase<"EQ", 0>, I32EnumAttrCase<"NE", 1>,
    I32EnumAttrCase<"GE", 2>, I32EnumAttrCase<"GT", 3>,
    I32EnumAttrCase<"LE", 4>, I32EnumAttrCase<"LT", 5>]> {
  let cppNamespace = "::gshard::hlo";
  let genSpecializedAttr = 0;
}
def HLO_ComparisonDirectionAttr
    : HLO_EnumAttr<HLO_ComparisonDirection, "comparison_direction">;

def HLO_ComparisonType : I32EnumAttr<"ComparisonType", "compare type", [
    I32EnumAttrCase<"FLOAT", 0>, I32EnumAttrCase<"TOTALORDER", 1>,
    I32EnumAttrCase<"SIGNED", 2>, I32EnumAttrCase<"UNSIGNED", 3>,
    I32EnumAttrCase<"PARTIALORDER", 4>]> {
  let cppNamespace = "::gshard::hlo";
  let genSpecializedAttr = 0;
}
def HLO_ComparisonTypeAttr
    : HLO_EnumAttr<HLO_ComparisonType, "comparison_type">;

def HLO_FftType : I32EnumAttr<"FftType", "fft type", [
    I32EnumAttrCase<"FFT", 0>, I32EnumAttrCase<"IFFT", 1>,
    I32EnumAttrCase<"RFFT", 2>, I32EnumAttrCase<"IRFFT", 3>]> {
  let cppNamespace = "::gshard::hlo";
  let genSpecializedAttr = 0;
}
def HLO_FftTypeAttr : HLO_EnumAttr<HLO_FftType, "fft_type">;

def HLO_RngDistribution : I32EnumAttr<"RngDistribution", "rng distribution", [
    I32EnumAttrCase<"Uniform", 0, "rng_uniform">,
    I32EnumAttrCase<"Normal", 1, "rng_normal">]> {
  let cppNamespace = "::gshard::hlo";
  let genSpecializedAttr = 0;
}
def HLO_RngDistributionAttr
    : HLO_EnumAttr<HLO_RngDistribution, "rng_distribution">;

def HLO_Precision : I32EnumAttr<"Precision", "operand precision", [
    I32EnumAttrCase<"Default", 0, "default">,
    I32EnumAttrCase<"High", 1, "high">,
    I32EnumAttrCase<"Highest", 2, "highest">]> {
  let cppNamespace = "::gshard::hlo";
  let genSpecializedAttr = 0;
}
def HLO_PrecisionAttr : HLO_EnumAttr<HLO_Precision, "precision">;

def HLO_FusionKind : I32EnumAttr<"FusionKind", "fusion kind", [
    I32EnumAttrCase<"kLoop", 0>, I32EnumAttrCase<"kInput", 1>,
    I32EnumAttrCase<"kOutput", 2>, I32EnumAttrCase<"kCustom", 3>]> {
  let cppNamespace = "::gshard::hlo";
  let genSpecializedAttr = 0;
}
def HLO_FusionKindAttr : HLO_EnumAttr<HLO_FusionKind, "fusion_kind">;

def HLO_CustomCallApiVersion : I32EnumAttr<"CustomCallApiVersion",
    "custom-call API version", [
    I32EnumAttrCase<"API_VERSION_UNSPECIFIED", 0>,
    I32EnumAttrCase<"API_VERSION_ORIGINAL", 1>,
    I32EnumAttrCase<"API_VERSION_STATUS_RETURNING", 2>,
    I32EnumAttrCase<"API_VERSION_STATUS_RETURNING_UNIFIED", 3>,
    I32EnumAttrCase<"API_VERSION_TYPED_FFI", 4>]> {
  let cppNamespace = "::gshard::hlo";
  let genSpecializedAttr = 0;
}
def HLO_CustomCallApiVersionAttr
    : HLO_EnumAttr<HLO_CustomCallApiVersion, "api_version">;

#endif // GSHARD_IR_HLOATTRS_TD
