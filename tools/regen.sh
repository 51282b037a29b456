#!/bin/sh
# tools/regen.sh [OUTDIR] [DOCDIR] - compile every Ragel machine in spec/
# into OUTDIR (default gen/) and draw it into DOCDIR (default docs/).
# Output is -G2, free of #line directives and trailing spaces, with a
# "do not edit" header, so that tests/gen_fresh.sh can diff it exactly.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$top/gen}
doc=${2:-$top/docs}
mkdir -p "$out" "$doc"
for rl in "$top"/spec/*.rl; do
  name=$(basename "$rl" .rl)
  tmp=$(mktemp)
  ragel -G2 -L -o "$tmp" "$rl"
  {
    printf '/* Generated from spec/%s.rl by tools/regen.sh (ragel -G2). Do not edit. */\n' "$name"
    sed -e '/^\/\* #line [0-9]* ".*" \*\/$/d' -e 's/[[:space:]]*$//' "$tmp"
  } > "$out/$name.c"
  ragel -V -p -o "$tmp.dot" "$rl"
  if command -v dot >/dev/null 2>&1; then
    dot -Tsvg "$tmp.dot" | sed -e 's/[[:space:]]*$//' > "$doc/$name.svg"
  fi
  rm -f "$tmp" "$tmp.dot"
done
