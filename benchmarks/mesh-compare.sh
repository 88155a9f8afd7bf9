#!/usr/bin/env bash
# Compile time of our partitioner versus MLIR 19's `mesh` dialect
# (mlir-opt-19 --sharding-propagation --mesh-spmdization) on the same
# programs, on the same machine in one run:
#
#   * a stack of LAYERS Megatron MLP blocks over 4 devices (first weight split
#     by columns, second by rows, output replicated: one all-reduce per block);
#     ours from `gshard-modelgen --model=megatron-mlp`, MLIR's written here as
#     linalg.matmul / linalg.generic with mesh.shard annotations;
#   * a chain of OPS elementwise ops (add, multiply alternating) on a
#     [1024,1024] f32 array split by rows over 4 devices (no collective).
#
# Both sides run as a process (parse, propagate, partition, print to
# /dev/null); the time is user+sys CPU, the minimum of REPEAT runs. The
# outputs are checked for the expected collectives before timing.
#
# usage: benchmarks/mesh-compare.sh [BUILD] [LAYERS] [OPS] [REPEAT]
set -euo pipefail
BUILD=${1:-build}
LAYERS=${2:-2000}
OPS=${3:-10000}
REPEAT=${4:-3}
OPT="$BUILD/bin/gshard-opt"
GEN="$BUILD/bin/gshard-modelgen"
MLIR_OPT=${MLIR_OPT:-mlir-opt-19}
for tool in "$OPT" "$GEN"; do
  [ -x "$tool" ] || { echo "mesh-compare: $tool not built" >&2; exit 2; }
done
command -v "$MLIR_OPT" >/dev/null ||
  { echo "mesh-compare: $MLIR_OPT not found (Debian package mlir-19-tools)" >&2; exit 2; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
PIPELINE='builtin.module(func.func(sharding-propagation,mesh-spmdization))'

# --- Megatron MLP: x f32[8,16], w1 f32[16,32] split on dim 1, w2 f32[32,16]
# split on dim 0, per block; relu between the two matmuls.
"$GEN" --model=megatron-mlp --layers="$LAYERS" --devices=4 --batch=8 \
  --model-dim=16 --hidden-dim=32 --no-metadata -o "$WORK/mlp.hlo"
{
  echo 'mesh.mesh @mesh(shape = 4)'
  args='%x: tensor<8x16xf32>, %h0: tensor<8x32xf32>, %y0: tensor<8x16xf32>'
  for ((l = 0; l < LAYERS; l++)); do
    args+=", %w1_$l: tensor<16x32xf32>, %w2_$l: tensor<32x16xf32>"
  done
  echo "func.func @mlp($args) -> tensor<8x16xf32> {"
  prev='%x'
  for ((l = 0; l < LAYERS; l++)); do
    cat <<EOF
  %w1s_$l = mesh.shard %w1_$l to <@mesh, [[], [0]]> annotate_for_users : tensor<16x32xf32>
  %w2s_$l = mesh.shard %w2_$l to <@mesh, [[0], []]> annotate_for_users : tensor<32x16xf32>
  %h_$l = linalg.matmul ins($prev, %w1s_$l : tensor<8x16xf32>, tensor<16x32xf32>) outs(%h0 : tensor<8x32xf32>) -> tensor<8x32xf32>
  %r_$l = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%h_$l : tensor<8x32xf32>) outs(%h0 : tensor<8x32xf32>) {
  ^bb0(%a: f32, %o: f32):
    %zero = arith.constant 0.0 : f32
    %m = arith.maximumf %a, %zero : f32
    linalg.yield %m : f32
  } -> tensor<8x32xf32>
  %y_$l = linalg.matmul ins(%r_$l, %w2s_$l : tensor<8x32xf32>, tensor<32x16xf32>) outs(%y0 : tensor<8x16xf32>) -> tensor<8x16xf32>
  %ys_$l = mesh.shard %y_$l to <@mesh, [[]]> : tensor<8x16xf32>
EOF
    prev="%ys_$l"
  done
  echo "  return $prev : tensor<8x16xf32>"
  echo "}"
} >"$WORK/mlp.mlir"

# --- Elementwise chain.
{
  echo 'HloModule elementwise, num_partitions=4'
  echo
  echo 'ENTRY %main {'
  echo '  %x = f32[1024,1024] parameter(0), sharding={devices=[4,1]<=[4]}'
  echo '  %y = f32[1024,1024] parameter(1)'
  prev='%x'
  for ((i = 0; i < OPS; i++)); do
    op=$([ $((i % 2)) -eq 0 ] && echo add || echo multiply)
    echo "  %e$i = f32[1024,1024] $op($prev, %y)"
    prev="%e$i"
  done
  echo "  ROOT %out = f32[1024,1024] copy($prev), sharding={devices=[4,1]<=[4]}"
  echo '}'
} >"$WORK/ew.hlo"
{
  echo 'mesh.mesh @mesh(shape = 4)'
  echo 'func.func @ew(%x: tensor<1024x1024xf32>, %y: tensor<1024x1024xf32>) -> tensor<1024x1024xf32> {'
  echo '  %xs = mesh.shard %x to <@mesh, [[0]]> annotate_for_users : tensor<1024x1024xf32>'
  prev='%xs'
  for ((i = 0; i < OPS; i++)); do
    op=$([ $((i % 2)) -eq 0 ] && echo addf || echo mulf)
    cat <<EOF
  %e$i = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins($prev, %y : tensor<1024x1024xf32>, tensor<1024x1024xf32>) outs(%y : tensor<1024x1024xf32>) {
  ^bb0(%p: f32, %q: f32, %o: f32):
    %v = arith.$op %p, %q : f32
    linalg.yield %v : f32
  } -> tensor<1024x1024xf32>
EOF
    prev="%e$i"
  done
  echo "  %out = mesh.shard $prev to <@mesh, [[0]]> : tensor<1024x1024xf32>"
  echo '  return %out : tensor<1024x1024xf32>'
  echo '}'
} >"$WORK/ew.mlir"

# --- Same result structure on both sides before timing.
"$OPT" "$WORK/mlp.hlo" --partition -o "$WORK/mlp.part.hlo" 2>"$WORK/err" ||
  { cat "$WORK/err" >&2; exit 1; }
"$MLIR_OPT" --pass-pipeline="$PIPELINE" "$WORK/mlp.mlir" -o "$WORK/mlp.part.mlir"
"$OPT" "$WORK/ew.hlo" --partition -o "$WORK/ew.part.hlo" 2>"$WORK/err" ||
  { cat "$WORK/err" >&2; exit 1; }
"$MLIR_OPT" --pass-pipeline="$PIPELINE" "$WORK/ew.mlir" -o "$WORK/ew.part.mlir"
count() { grep -c -- "$1" "$2" || true; }
ours_ar=$(count ' all-reduce(' "$WORK/mlp.part.hlo")
mlir_ar=$(count 'mesh.all_reduce' "$WORK/mlp.part.mlir")
ours_ew=$(grep -cE ' (all-|collective-)' "$WORK/ew.part.hlo" || true)
mlir_ew=$(grep -cE 'mesh\.(all_|shift|reduce_scatter|broadcast)' "$WORK/ew.part.mlir" || true)
echo "megatron mlp x$LAYERS: all-reduces: ours $ours_ar, mlir $mlir_ar (expected $LAYERS)"
echo "elementwise x$OPS: collectives: ours $ours_ew, mlir $mlir_ew (expected 0)"
if [ "$ours_ar" != "$LAYERS" ] || [ "$mlir_ar" != "$LAYERS" ] ||
   [ "$ours_ew" != 0 ] || [ "$mlir_ew" != 0 ]; then
  echo "mesh-compare: unexpected collectives, not timing" >&2
  exit 1
fi

# Minimum user+sys CPU seconds of REPEAT runs of "$@".
cpu() {
  local best=""
  for ((r = 0; r < REPEAT; r++)); do
    local t
    /usr/bin/time -f '%U %S' -o "$WORK/time" "$@" >/dev/null 2>&1
    t=$(tail -1 "$WORK/time" | awk '{printf "%.3f", $1 + $2}')
    if [ -z "$best" ] || awk -v a="$t" -v b="$best" 'BEGIN{exit !(a < b)}'; then
      best=$t
    fi
  done
  echo "$best"
}

printf '%-28s %10s %10s %8s\n' program "ours (s)" "mlir (s)" "mlir/ours"
for prog in mlp ew; do
  ours=$(cpu "$OPT" "$WORK/$prog.hlo" --partition -o /dev/null)
  mlir=$(cpu "$MLIR_OPT" --pass-pipeline="$PIPELINE" "$WORK/$prog.mlir" -o /dev/null)
  name=$([ $prog = mlp ] && echo "megatron mlp x$LAYERS" || echo "elementwise x$OPS")
  printf '%-28s %10s %10s %8s\n' "$name" "$ours" "$mlir" \
    "$(awk -v a="$mlir" -v b="$ours" 'BEGIN{ if (b > 0) printf "%.2f", a / b; else print "n/a" }')"
done
