//===- SyntheticHlo.cpp - Generated HLO modules for benchmarks ------------===//

#include "SyntheticHlo.h"

#include "llvm/Support/raw_ostream.h"

std::string gshard::bench::generateLayeredModule(int64_t numInstructions) {
  std::string text;
  text.reserve(numInstructions * 160);
  llvm::raw_string_ostream os(text);
  os << "HloModule synthetic, num_partitions=8\n\n"
        "%add (a: f32[], b: f32[]) -> f32[] {\n"
        "  %a = f32[] parameter(0)\n"
        "  %b = f32[] parameter(1)\n"
        "  ROOT %sum = f32[] add(%a, %b)\n"
        "}\n\n"
        "ENTRY %main (x: f32[128,256], w: f32[256,256]) -> f32[128] {\n"
        "  %x = f32[128,256]{1,0} parameter(0), "
        "sharding={devices=[8,1]<=[8]}\n"
        "  %w = f32[256,256]{1,0} parameter(1), "
        "sharding={devices=[1,8]<=[8]}\n"
        "  %zero = f32[] constant(0)\n";
  std::string prev = "x";
  int64_t emitted = 3;
  for (int64_t layer = 0; emitted + 6 < numInstructions; ++layer) {
    std::string l = std::to_string(layer);
    std::string meta = ", metadata={op_name=\"layer" + l +
                       "/mlp\" source_file=\"model.py\" source_line=" +
                       std::to_string(100 + layer % 900) + "}";
    os << "  %dot." << l << " = f32[128,256]{1,0} dot(%" << prev
       << ", %w), lhs_contracting_dims={1}, rhs_contracting_dims={0}" << meta
       << "\n";
    os << "  %scale." << l << " = f32[] constant(0.5)\n";
    os << "  %bscale." << l << " = f32[128,256]{1,0} broadcast(%scale." << l
       << "), dimensions={}" << meta << "\n";
    os << "  %mul." << l << " = f32[128,256]{1,0} multiply(%dot." << l
       << ", %bscale." << l << ")" << meta << "\n";
    os << "  %tanh." << l << " = f32[128,256]{1,0} tanh(%mul." << l << ")"
       << meta << "\n";
    os << "  %res." << l << " = f32[128,256]{1,0} add(%tanh." << l << ", %"
       << prev << ")" << meta << "\n";
    prev = "res." + l;
    emitted += 6;
  }
  os << "  ROOT %out = f32[128]{0} reduce(%" << prev
     << ", %zero), dimensions={1}, to_apply=%add\n}\n";
  return text;
}
