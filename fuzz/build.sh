#!/usr/bin/env bash
# Builds fuzz/fuzz_parquet with clang's libFuzzer, AddressSanitizer and
# UndefinedBehaviorSanitizer, from weir's Parquet sources and the core
# pieces they use, into $1 (default build-fuzz/). Run it with a corpus of
# pyarrow-written files:
#   fuzz/build.sh && ~/.cache/weir-venv/bin/python tests/parquet/pq_tool.py make /tmp/pqc
#   build-fuzz/fuzz_parquet -max_total_time=60 /tmp/pqc
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/build-fuzz}"
mkdir -p "$out"
codecs=()
for m in snappy liblz4 libbrotlidec libbrotlienc; do
  if pkg-config --exists "$m"; then
    case $m in
      snappy) codecs+=(-DWEIR_HAVE_SNAPPY) ;;
      liblz4) codecs+=(-DWEIR_HAVE_LZ4) ;;
      libbrotlidec) codecs+=(-DWEIR_HAVE_BROTLI) ;;
    esac
    codecs+=($(pkg-config --libs "$m"))
  fi
done
clang -g -O1 -std=c11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
  -I"$root/include" -I"$root/src" "${codecs[@]/#-l*/}" \
  "$root/fuzz/fuzz_parquet.c" \
  "$root"/src/parquet/{thrift,meta,schema,codecs,encodings,read_chunk}.c \
  "$root"/src/core/{block,buffer,mem,utf8,error}.c \
  -o "$out/fuzz_parquet" $(printf '%s\n' "${codecs[@]}" | grep '^-l' || true) -lzstd -lz -lm -lpthread
echo "built $out/fuzz_parquet"
