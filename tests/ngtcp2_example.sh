#!/bin/sh
# ngtcp2_example.sh BUILD_DIR SOURCE_DIR TERN [CFLAGS...] - the README's
# ngtcp2 example, built as an application would build it:
#   1. the build is installed into a scratch directory (meson install
#      --destdir): libtern, libngtcp2_crypto_tern, their headers and
#      pkg-config files;
#   2. adapters/ngtcp2/examples/handshake_client.c is compiled with
#      -Wall -Wextra -Werror and `pkg-config --cflags --libs
#      libngtcp2_crypto_tern` from there, nothing else;
#   3. it completes a handshake with tern h3-server and prints the suite,
#      group and ALPN;
#   4. the code the README shows is the example's, line for line.
# CFLAGS (the sanitizer flags of the build, if any) are added when
# compiling.
set -u
BUILD=${1:?usage: ngtcp2_example.sh BUILD_DIR SOURCE_DIR TERN [CFLAGS...]}
SRC=${2:?}
TERN=${3:?}
shift 3
case $TERN in /*) ;; *) TERN=$(pwd)/$TERN ;; esac
. "$(dirname "$0")/lib.sh"
test_dir ngtcp2-example

# 1. install
meson install -C "$BUILD" --destdir "$DIR/root" --no-rebuild >"$DIR/install.log" 2>&1 ||
  { bad "meson install --destdir"; show "$DIR/install.log"; exit 1; }
PC=$(find "$DIR/root" -name libngtcp2_crypto_tern.pc | head -n 1)
HDR=$(find "$DIR/root" -path '*/include/ngtcp2/ngtcp2_crypto_tern.h' | head -n 1)
[ -n "$PC" ] && [ -n "$HDR" ] && ok "installed: ${PC#"$DIR"/root} and ${HDR#"$DIR"/root}" ||
  { bad "no pkg-config file or header installed"; show "$DIR/install.log"; exit 1; }
PKG_CONFIG_PATH=$(dirname "$PC")
export PKG_CONFIG_PATH
# the installed tree lives under $DIR/root: its prefix, for every .pc file
PREFIX=${PC%%/lib/*}
FLAGS=$(pkg-config --define-variable=prefix="$PREFIX" --cflags --libs libngtcp2_crypto_tern \
  2>"$DIR/pc.err") ||
  { bad "pkg-config libngtcp2_crypto_tern"; show "$DIR/pc.err"; exit 1; }
echo "     pkg-config --cflags --libs libngtcp2_crypto_tern: $FLAGS"

# 2. compile
# shellcheck disable=SC2086
cc -std=c11 -Wall -Wextra -Werror "$@" -o "$DIR/handshake_client" \
  "$SRC/adapters/ngtcp2/examples/handshake_client.c" $FLAGS -lcrypto >"$DIR/cc.log" 2>&1 &&
  ok "the example builds with -Wall -Wextra -Werror from the installed files" ||
  { bad "the example does not build"; show "$DIR/cc.log"; exit 1; }

# 3. run it against tern h3-server, with the installed libraries
cd "$DIR" || exit 1
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout key.pem \
  -out cert.pem -days 2 -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
  >/dev/null 2>&1 || { bad "making a certificate"; exit 1; }
"$TERN" h3-server --cert cert.pem --key key.pem --port 0 >server.log 2>&1 &
SPID=$!
PIDS="$SPID"
i=0
while [ $i -lt 50 ] && ! grep -q "listening on" server.log 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' server.log)
LIBDIR=$(dirname "$(dirname "$PC")")
LD_LIBRARY_PATH=$LIBDIR timeout 20 ./handshake_client 127.0.0.1 "$PORT" cert.pem >run.out 2>&1
rc=$?
cat run.out
[ $rc -eq 0 ] && grep -qE '^handshake completed: TLS_AES_128_GCM_SHA256, X25519MLKEM768, ALPN h3$' run.out &&
  ok "the example completed a handshake with tern h3-server" ||
  { bad "the example's handshake (exit $rc)"; show server.log; }
LD_LIBRARY_PATH=$LIBDIR ldd ./handshake_client | grep -q "$LIBDIR/libngtcp2_crypto_tern.so" &&
  ok "it ran on the installed libngtcp2_crypto_tern.so" || bad "it did not load the installed library"

# 4. the README shows the example's code
sed -n '/README begin/,/README end/p' "$SRC/adapters/ngtcp2/examples/handshake_client.c" |
  sed '1d;$d' | sed 's/^  //' >from_example.txt
awk '/<!-- example: adapters\/ngtcp2\/examples\/handshake_client.c -->/ { on = 1; next }
     on && /^```c$/ { inside = 1; next }
     inside && /^```$/ { exit }
     inside { print }' "$SRC/README.md" >from_readme.txt
[ -s from_readme.txt ] && cmp -s from_example.txt from_readme.txt &&
  ok "README.md shows the example's code line for line ($(wc -l <from_readme.txt) lines)" ||
  { bad "README.md and the example differ"; diff from_example.txt from_readme.txt | head -20; }

finish ngtcp2-example
