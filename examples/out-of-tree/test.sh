#!/usr/bin/env bash
# The packaging test (ctest `gshard-out-of-tree-example`): installs a built
# gshard tree into a temporary prefix, configures and builds this directory
# against it with the tree's compiler and flags (so sanitizer builds link),
# and runs its two programs on examples/megatron_mlp.hlo: the API example
# on HLO text and on a proto written by the installed gshard-opt, the MLIR
# tool on the module's MLIR form.
#   test.sh BUILD_DIR CMAKE GENERATOR MAKE_PROGRAM CXX CXX_FLAGS
#           EXE_LINKER_FLAGS FILECHECK
set -euo pipefail
build=$1 cmake=$2 generator=$3 make=$4 cxx=$5 cxxflags=$6 ldflags=$7
filecheck=$8
here=$(cd "$(dirname "$0")" && pwd)
input=$here/../megatron_mlp.hlo
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$cmake" --install "$build" --prefix "$work/prefix" > "$work/install.log"
"$cmake" -S "$here" -B "$work/build" -G "$generator" -DCMAKE_MAKE_PROGRAM="$make" \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$work/prefix" \
  -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_CXX_FLAGS="$cxxflags" \
  -DCMAKE_EXE_LINKER_FLAGS="$ldflags" > "$work/configure.log" || {
  cat "$work/configure.log"
  exit 1
}
"$cmake" --build "$work/build" > "$work/build.log" || {
  cat "$work/build.log"
  exit 1
}

example=$work/build/gshard-partition-example
"$example" "$input" | "$filecheck" "$here/partition.check"
"$work/prefix/bin/gshard-opt" "$input" --emit=proto -o "$work/mlp.pb"
"$example" "$work/mlp.pb" | "$filecheck" "$here/partition.check"
# The MLIR tool runs gshard's passes by name on the module's MLIR form.
"$work/prefix/bin/gshard-opt" "$input" --emit=mlir -o "$work/mlp.mlir"
"$work/build/gshard-example-opt" "$work/mlp.mlir" \
  --pass-pipeline='builtin.module(gshard-propagate,gshard-partition)' |
  "$filecheck" --check-prefix=OPT "$here/partition.check"
# Bad input is an error message and exit status 2, not a crash.
printf 'HloModule m\nENTRY %%e { ROOT %%p = f32[4] bogus() }\n' > "$work/bad.hlo"
status=0
"$example" "$work/bad.hlo" 2> "$work/bad.err" || status=$?
[ "$status" -eq 2 ] || { echo "bad input: exit $status, expected 2"; exit 1; }
"$filecheck" --check-prefix=BAD "$here/partition.check" < "$work/bad.err"
echo "out-of-tree example: installed, built and checked"
