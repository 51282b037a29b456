# lib.sh - what the shell tests share. A test sources it and calls
# test_dir first:
#   . "$(dirname "$0")/lib.sh"
#   test_dir NAME
# test_dir NAME   a fresh directory (DIR), the current one until exit; at
#                 exit every pid in PIDS is killed, the test's
#                 own cleanup_more runs, the pids are reaped and DIR is
#                 removed (kept with KEEP=1)
# TO, TOSERV      deadline prefixes (timeout 10 / timeout 60): a hang fails
#                 the test instead of hanging it; a test may set its own
# ok, bad         one check passed / failed (PASSED, FAILED count them)
# show FILE...    the last 40 lines of FILE(s), indented
# expect FILE STRING WHAT        FILE holds STRING (fixed string)
# expect_not FILE STRING WHAT    it does not
# expect_line FILE LINE WHAT     LINE is a whole line of FILE
# expect_count FILE N STRING WHAT  N lines of FILE hold STRING
# check WHAT FILE REGEX          FILE has a line matching REGEX (grep -E)
# wait_for FILE STRING PID [T]   until FILE holds STRING (T tenths of a
#                                second, 100 by default); fails early when
#                                process PID is gone
# wait_line FILE REGEX [T]       until FILE has a line matching REGEX
# free_port tcp|udp [ADDR]       a port free on ADDR (127.0.0.1)
# make_ca NAME CN                a self-signed P-256 CA: NAME.pem, NAME.key
# make_leaf NAME CA SAN [EKU]    a P-256 leaf for CN=localhost signed by
#                                CA, with subjectAltName SAN and
#                                extendedKeyUsage EKU (serverAuth)
# finish NAME     prints "NAME: P passed, F failed"; the exit status
# shellcheck shell=sh

PIDS=""
PASSED=0
FAILED=0
TO=""
TOSERV=""
# shellcheck disable=SC2034 # used by the tests
if command -v timeout >/dev/null 2>&1; then
  TO="timeout 10"
  TOSERV="timeout 60"
fi

cleanup_more() { :; }
# shellcheck disable=SC2317 # called by the trap
test_cleanup() {
  for p in $PIDS; do kill "$p" 2>/dev/null; done
  cleanup_more
  for p in $PIDS; do wait "$p" 2>/dev/null; done
  if [ -n "${KEEP:-}" ]; then echo "kept $DIR"; else rm -rf "$DIR"; fi
}

test_dir() {
  DIR=$(mktemp -d "${TMPDIR:-/tmp}/tern-$1.XXXXXX") || exit 1
  trap test_cleanup EXIT
  trap 'exit 1' INT TERM HUP
  cd "$DIR" || exit 1
}

ok() { echo "ok   $1"; PASSED=$((PASSED + 1)); }
bad() { echo "FAIL $1"; FAILED=$((FAILED + 1)); }
show() { sed 's/^/     | /' "$@" | tail -n 40; }

expect() {
  if grep -qF -- "$2" "$1"; then ok "$3"; else bad "$3: no \"$2\" in $1:"; show "$1"; fi
}
expect_not() {
  if grep -qF -- "$2" "$1"; then bad "$3: \"$2\" in $1:"; show "$1"; else ok "$3"; fi
}
expect_line() {
  if grep -qxF -- "$2" "$1"; then ok "$3"; else bad "$3: no line \"$2\" in $1:"; show "$1"; fi
}
expect_count() {
  n=$(grep -cF -- "$3" "$1")
  if [ "$n" -eq "$2" ]; then ok "$4"; else bad "$4: $n lines with \"$3\" in $1 (want $2):"; show "$1"; fi
}
check() {
  if grep -qE -- "$3" "$2"; then ok "$1"; else bad "$1 (no /$3/ in $2)"; show "$2"; fi
}

wait_for() {
  i=0
  while [ $i -lt "${4:-100}" ]; do
    grep -qF -- "$2" "$1" 2>/dev/null && return 0
    kill -0 "$3" 2>/dev/null || return 1
    sleep 0.1
    i=$((i + 1))
  done
  return 1
}
wait_line() {
  i=0
  while [ $i -lt "${3:-100}" ] && ! grep -q -- "$2" "$1" 2>/dev/null; do
    sleep 0.1
    i=$((i + 1))
  done
  grep -q -- "$2" "$1" 2>/dev/null
}

free_port() {
  python3 -c 'import socket, sys
a = sys.argv[2]
s = socket.socket(socket.AF_INET6 if ":" in a else socket.AF_INET,
                  socket.SOCK_DGRAM if sys.argv[1] == "udp" else socket.SOCK_STREAM)
s.bind((a, 0))
print(s.getsockname()[1])' "$1" "${2:-127.0.0.1}"
}

make_ca() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" \
    -out "$1.pem" -days 2 -subj "/CN=$2" -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign >/dev/null 2>&1
}
make_leaf() {
  printf '%s\n' "subjectAltName = $3" 'basicConstraints = CA:FALSE' \
    'keyUsage = critical, digitalSignature' "extendedKeyUsage = ${4:-serverAuth}" >"$1.ext"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" \
    -out "$1.csr" -subj /CN=localhost >/dev/null 2>&1 &&
    openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -days 2 \
      -extfile "$1.ext" -out "$1.pem" >/dev/null 2>&1
}

finish() {
  echo "$1: $PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ]
}
