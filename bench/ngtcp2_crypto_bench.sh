#!/bin/sh
# ngtcp2_crypto_bench.sh BUILD_DIR - QUIC packet protection through the
# callbacks of two ngtcp2 crypto backends, tern's (libngtcp2_crypto_tern)
# and ngtcp2's own over GnuTLS (libngtcp2_crypto_gnutls): encrypt, decrypt
# and header protection mask of 1200-byte AES-128-GCM packets, CPU time
# per packet (bench/bench_ngtcp2_crypto.c), the two programs run in turn
# three times, the best of each kept. Target (issue 20): tern <= 1.0x.
set -u
B=${1:?usage: ngtcp2_crypto_bench.sh BUILD_DIR}
T=$B/bench/bench_ngtcp2_crypto_tern
G=$B/bench/bench_ngtcp2_crypto_gnutls
[ -x "$T" ] && [ -x "$G" ] || { echo "ngtcp2 crypto bench skipped: built without ngtcp2 or its GnuTLS backend"; exit 0; }
best_t="" best_g=""
for _ in 1 2 3; do
  for prog in "$T" "$G"; do
    line=$("$prog") || { echo "$prog failed"; exit 1; }
    echo "  $line"
    ns=$(echo "$line" | sed -n 's/.*all three \([0-9]*\) ns.*/\1/p')
    case $prog in
      "$T") [ -z "$best_t" ] || [ "$ns" -lt "$best_t" ] && best_t=$ns ;;
      *) [ -z "$best_g" ] || [ "$ns" -lt "$best_g" ] && best_g=$ns ;;
    esac
  done
done
awk -v t="$best_t" -v g="$best_g" 'BEGIN {
  printf "packet protection through the ngtcp2 callbacks (encrypt + decrypt + hp_mask, 1200 bytes):\n"
  printf "  tern %d ns, GnuTLS backend %d ns per packet: %.2fx (target <= 1.00)\n", t, g, t / g }'
