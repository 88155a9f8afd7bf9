//===- SyntheticHlo.cpp - Generated HLO modules for benchmarks ------------===//

#include "SyntheticHlo.h"

#include "llvm/Support/raw_ostream.h"

std::string gshard::bench::generateLayeredModule(int64_t numInstructions,
                                                 int64_t numDevices) {
  std::string text;
  text.reserve(numInstructions * 160);
  llvm::raw_string_ostream os(text);
  std::string n = std::to_string(numDevices ? numDevices : 8);
  // Mesh modules use shapes every mesh axis divides (up to 4096 rows).
  std::string b = numDevices ? "4096" : "128";
  std::string h = numDevices ? "1024" : "256";
  std::string bh = b + "," + h, hh = h + "," + h;
  std::string rows = std::to_string(numDevices / 4);
  std::string xSharding =
      numDevices == 0
          ? "{devices=[8,1]<=[8]}"
          : "{devices=[" + rows + ",1,4]<=[" + n + "] last_tile_dim_replicate}";
  std::string wSharding = numDevices == 0
                              ? "{devices=[1,8]<=[8]}"
                              : "{devices=[1,4," + rows + "]<=[" + rows +
                                    ",4]T(1,0) last_tile_dim_replicate}";
  os << "HloModule synthetic, num_partitions=" << n
     << "\n\n"
        "%add (a: f32[], b: f32[]) -> f32[] {\n"
        "  %a = f32[] parameter(0)\n"
        "  %b = f32[] parameter(1)\n"
        "  ROOT %sum = f32[] add(%a, %b)\n"
        "}\n\n"
        "ENTRY %main (x: f32["
     << bh << "], w: f32[" << hh << "]) -> f32[" << b
     << "] {\n"
        "  %x = f32["
     << bh << "]{1,0} parameter(0), sharding=" << xSharding
     << "\n"
        "  %w = f32["
     << hh << "]{1,0} parameter(1), sharding=" << wSharding
     << "\n"
        "  %zero = f32[] constant(0)\n";
  std::string prev = "x";
  int64_t emitted = 3;
  for (int64_t layer = 0; emitted + 6 < numInstructions; ++layer) {
    std::string l = std::to_string(layer);
    std::string meta = ", metadata={op_name=\"layer" + l +
                       "/mlp\" source_file=\"model.py\" source_line=" +
                       std::to_string(100 + layer % 900) + "}";
    os << "  %dot." << l << " = f32[" << bh << "]{1,0} dot(%" << prev
       << ", %w), lhs_contracting_dims={1}, rhs_contracting_dims={0}" << meta
       << "\n";
    os << "  %scale." << l << " = f32[] constant(0.5)\n";
    os << "  %bscale." << l << " = f32[" << bh << "]{1,0} broadcast(%scale."
       << l << "), dimensions={}" << meta << "\n";
    os << "  %mul." << l << " = f32[" << bh << "]{1,0} multiply(%dot." << l
       << ", %bscale." << l << ")" << meta << "\n";
    os << "  %tanh." << l << " = f32[" << bh << "]{1,0} tanh(%mul." << l << ")"
       << meta << "\n";
    os << "  %res." << l << " = f32[" << bh << "]{1,0} add(%tanh." << l << ", %"
       << prev << ")" << meta << "\n";
    prev = "res." + l;
    emitted += 6;
  }
  os << "  ROOT %out = f32[" << b << "]{0} reduce(%" << prev
     << ", %zero), dimensions={1}, to_apply=%add\n}\n";
  return text;
}
