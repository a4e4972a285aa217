#!/usr/bin/env bash
# Builds llama.cpp, the decode peer, from the llama-cpp-python source
# distribution on PyPI (its vendor/llama.cpp; pinned version), into
# bench/.llama.cpp/: llama-bench and convert_hf_to_gguf.py with
# its gguf package. Idempotent; about 10 minutes on 2 cores the first time.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=${LLAMA_CPP_PYTHON_VERSION:-0.3.36}
DIR=bench/.llama.cpp
if [ -x "$DIR/build/bin/llama-bench" ]; then
  echo "llama.cpp: $DIR/build/bin (llama-cpp-python $VERSION)"
  exit 0
fi
apt-get install -y -qq cmake build-essential >/dev/null
mkdir -p "$DIR"
SDIST="$DIR/llama_cpp_python-$VERSION.tar.gz"
if [ ! -f "$SDIST" ]; then
  # (A mirror may answer with URLs relative to the index.)
  URL=$(python3 -c "
import json, urllib.parse, urllib.request
index = 'https://pypi.org/pypi/llama-cpp-python/json'
d = json.load(urllib.request.urlopen(index))
url = [u['url'] for u in d['releases']['$VERSION'] if u['packagetype'] == 'sdist'][0]
print(urllib.parse.urljoin(index, url))")
  curl -sSL "$URL" -o "$SDIST"
fi
rm -rf "$DIR/src" && mkdir -p "$DIR/src"
tar -xzf "$SDIST" -C "$DIR/src" --strip-components=3 "llama_cpp_python-$VERSION/vendor/llama.cpp"
cmake -S "$DIR/src" -B "$DIR/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DGGML_NATIVE=ON -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
  -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_TOOLS=ON >/dev/null
cmake --build "$DIR/build" -j"$(nproc)" --target llama-bench >/dev/null
echo "llama.cpp: $DIR/build/bin (llama-cpp-python $VERSION)"
