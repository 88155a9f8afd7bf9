//===- HloTypes.td - Types of the hlo dialect --------------*- tablegen -*-===//

#ifndef GSHARD_IR_HLOTYPES_TD
#define GSHARD_IR_HLOTYPES_TD

include "gshard/IR/HloDialect.td"
include "mlir/IR/BuiltinTypes.td"

class HLO_Type<string name, string typeMnemonic, list<Trait> traits = []>
    : TypeDef<Hlo_Dialect, name, traits> {
  let mnemonic = typeMnemonic;
}

def HLO_TokenType : HLO_Type<"Token", "token"> {
  let summary = "HLO token[] (orders side effects)";
}

// Element types follow XLA's PrimitiveType: pred is i1, sN signless iN, uN
// unsigned iN, fN/bf16/f8* the builtin floats, c64/c128 complex.
def HLO_Pred : TypeAlias<I1, "pred (i1)">;
def HLO_ElementType : AnyTypeOf<[AnyInteger, AnyFloat, AnyComplex]>;
def HLO_Tensor : RankedTensorOf<[HLO_ElementType]>;
def HLO_Token : Type<CPred<"::llvm::isa<::gshard::hlo::TokenType>($_self)">,
                     "token">;
def HLO_Tuple : NestedTupleOf<[HLO_Tensor, HLO_Token]>;
def HLO_Value : AnyTypeOf<[HLO_Tensor, HLO_Token, HLO_Tuple]>;

#endif // GSHARD_IR_HLOTYPES_TD
