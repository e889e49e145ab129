#!/usr/bin/env bash
# Builds llama.cpp's llama-server (CPU) from the source that ships inside the npm package
# node-llama-cpp, offline, and caches the binary by version outside the clone.
# Prints the binary's path on its last line. A second run with the same version is instant.
#
#   LLAMA_NPM_VERSION  npm version of node-llama-cpp carrying the source (default 3.22.1)
#   LLAMA_CACHE_DIR    cache root (default ~/.cache/pekko-inference/llama-server)
#   LLAMA_OPT          optimisation flag (default -O1: ~6 min on 2 cores; -O3 ~15 min, ~25% faster)
set -euo pipefail

version="${LLAMA_NPM_VERSION:-3.22.1}"
opt="${LLAMA_OPT:--O1}"
cache="${LLAMA_CACHE_DIR:-$HOME/.cache/pekko-inference/llama-server}"
dest="$cache/node-llama-cpp-$version${opt}"
bin="$dest/bin/llama-server"

if [ -x "$bin" ] && "$bin" --version >/dev/null 2>&1; then
  echo "$bin"
  exit 0
fi

for tool in npm git cmake g++ tar; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "install-llama-server: '$tool' is missing; on Debian: apt-get install -y cmake g++ git nodejs npm" >&2
    exit 1
  }
done

work="$(mktemp -d "${TMPDIR:-/tmp}/llama-build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
cd "$work"

echo "install-llama-server: fetching node-llama-cpp@$version (llama.cpp source bundle)" >&2
npm pack --silent "node-llama-cpp@$version" >/dev/null
tar -xzf "node-llama-cpp-$version.tgz" package/llama/gitRelease.bundle
git clone --quiet package/llama/gitRelease.bundle llama.cpp
commit="$(git -C llama.cpp rev-parse --short HEAD)"

echo "install-llama-server: building llama-server (llama.cpp $commit, $opt) with $(nproc) jobs" >&2
start=$(date +%s)
cmake -S llama.cpp -B build -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_C_FLAGS_RELEASE="$opt -DNDEBUG" -DCMAKE_CXX_FLAGS_RELEASE="$opt -DNDEBUG" \
  -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_CURL=OFF \
  -DGGML_NATIVE=OFF -DBUILD_SHARED_LIBS=OFF \
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_SERVER=ON \
  >cmake-configure.log 2>&1 || { tail -40 cmake-configure.log >&2; exit 1; }
cmake --build build --target llama-server -j"$(nproc)" >cmake-build.log 2>&1 || { tail -40 cmake-build.log >&2; exit 1; }
end=$(date +%s)

mkdir -p "$dest/bin"
strip -o "$dest/bin/llama-server.tmp" build/bin/llama-server 2>/dev/null || cp build/bin/llama-server "$dest/bin/llama-server.tmp"
mv "$dest/bin/llama-server.tmp" "$bin"
printf 'llama.cpp %s from node-llama-cpp@%s, %s, built in %ss\n' "$commit" "$version" "$opt" "$((end - start))" >"$dest/BUILD-INFO"
echo "install-llama-server: built in $((end - start))s" >&2
echo "$bin"
