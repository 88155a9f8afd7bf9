#!/usr/bin/env bash
# Installs the Debian packages gshard needs, and nothing when all are present.
# Idempotent: `apt-get update` runs only when something is missing.
set -euo pipefail

PACKAGES=(
  llvm-19-dev libmlir-19-dev mlir-19-tools llvm-19-tools
  libabsl-dev libprotobuf-dev protobuf-compiler
  libgtest-dev libgmock-dev libbenchmark-dev
  cmake ninja-build clang-19 lld-19 libclang-rt-19-dev
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$pkg")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
