#!/bin/sh
# gen_fresh.sh - regenerate every Ragel machine from spec/ into a scratch
# directory and fail on any difference with the checked-in gen/ and docs/.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$top/tools/regen.sh" "$tmp/gen" "$tmp/docs"
status=0
for f in "$tmp"/gen/*.c; do
  name=$(basename "$f")
  if ! diff -u "$top/gen/$name" "$f"; then
    echo "gen/$name is stale: run tools/regen.sh" >&2
    status=1
  fi
done
for f in "$top"/spec/*.rl; do
  name=$(basename "$f" .rl)
  [ -f "$top/gen/$name.c" ] || { echo "gen/$name.c missing" >&2; status=1; }
done
for f in "$tmp"/docs/*.svg; do
  [ -e "$f" ] || continue
  name=$(basename "$f")
  if ! cmp -s "$top/docs/$name" "$f"; then
    echo "docs/$name is stale: run tools/regen.sh" >&2
    status=1
  fi
done
[ $status -eq 0 ] && echo "gen/ and docs/ match spec/"
exit $status
