#!/bin/sh
# tools/regen.sh [OUTDIR] [DOCDIR] - compile every Ragel machine in spec/
# into OUTDIR (default gen/) and draw it into DOCDIR (default docs/), with
# the picture of the layers (docs/layers.dot -> layers.svg).
# Output is -G2, free of #line directives and trailing spaces, with a
# "do not edit" header, so that tests/gen_fresh.sh can diff it exactly.
# The drawings name each edge by its event: a symbol defined in the .rl
# as `NAME = N;  # label: TEXT` labels the edges of symbol N with TEXT
# (ragel -V itself only knows the number).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$top/gen}
doc=${2:-$top/docs}
mkdir -p "$out" "$doc"

# label_edges RL: copies ragel's dot output from stdin to stdout with each
# edge label "N / action" (or "N..M / action") replaced by the labels of
# symbols N (to M) from RL; a symbol without a label keeps its number.
label_edges() {
  awk -v rl="$1" '
    BEGIN {
      while ((getline line < rl) > 0) {
        if (match(line, /^[ \t]*[A-Z_]+[ \t]*=[ \t]*[0-9]+;[ \t]*#[ \t]*label:[ \t]*/)) {
          n = line; sub(/^[ \t]*[A-Z_]+[ \t]*=[ \t]*/, "", n); sub(/;.*/, "", n)
          text = substr(line, RLENGTH + 1); sub(/[ \t]+$/, "", text)
          name[n + 0] = text
        }
      }
    }
    match($0, /label = "[0-9]+(\.\.[0-9]+)? \/ [a-z_0-9]+"/) {
      inner = substr($0, RSTART + 9, RLENGTH - 10)
      split(inner, part, " / ")
      lo = part[1]; hi = part[1]
      if (index(lo, "..")) { split(part[1], r, "\\.\\."); lo = r[1]; hi = r[2] }
      out = ""
      for (k = lo + 0; k <= hi + 0; k++)
        out = out (out == "" ? "" : ", ") ((k in name) ? name[k] : k)
      $0 = substr($0, 1, RSTART - 1) "label = \"" out "\"" substr($0, RSTART + RLENGTH)
    }
    { print }'
}
for rl in "$top"/spec/*.rl; do
  name=$(basename "$rl" .rl)
  tmp=$(mktemp)
  ragel -G2 -L -o "$tmp" "$rl"
  {
    printf '/* Generated from spec/%s.rl by tools/regen.sh (ragel -G2). Do not edit. */\n' "$name"
    sed -e '/^\/\* #line [0-9]* ".*" \*\/$/d' -e 's/[[:space:]]*$//' "$tmp"
  } > "$out/$name.c"
  ragel -V -o "$tmp.dot" "$rl"
  label_edges "$rl" < "$tmp.dot" > "$tmp.named.dot"
  if command -v dot >/dev/null 2>&1; then
    dot -Tsvg "$tmp.named.dot" | sed -e 's/[[:space:]]*$//' > "$doc/$name.svg"
  fi
  rm -f "$tmp" "$tmp.dot" "$tmp.named.dot"
done
# The picture of the layers (docs/architecture.md).
if command -v dot >/dev/null 2>&1; then
  dot -Tsvg "$top/docs/layers.dot" | sed -e 's/[[:space:]]*$//' > "$doc/layers.svg"
fi
