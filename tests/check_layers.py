#!/usr/bin/env python3
"""
tests/check_layers.py - the layering rule of tern, checked on the tree and
on the objects of a build.

src/ has one folder per layer, lowest first:

    codec -> crypto -> core -> engine -> transport -> api

A file may include the headers of its own layer and of the layers below,
and call the functions defined there; nothing else. gen/*.c (the Ragel
machines) belongs to the highest layer whose header it includes. On top:

  - no include loop among the files of src/ and gen/, and no call loop
    among their objects;
  - no file of src/ or gen/ includes anything outside src/ and include/;
  - programs (tools/, bench/, adapters/, python/) include no header of
    src/: they use include/tern.h only.

Includes are read from the sources (every quoted #include must name a
file as "layer/file.h", relative to src/); calls are read from the
objects of the static library with nm: an undefined symbol of one object
that another object defines is a call from the first to the second.

Usage: check_layers.py --source TOP --objects libtern.a
       check_layers.py --self-test
Prints the figures and every violation; exits 1 on any violation. The
self-test runs the checker on a small tree of its own that breaks each
rule once (and on the same tree mended) and fails unless every breach is
reported.
"""
import argparse
import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile

LAYERS = ["codec", "crypto", "core", "engine", "transport", "api"]
RANK = {name: i for i, name in enumerate(LAYERS)}
PROGRAM_DIRS = ["tools", "bench", "adapters", "python"]
INCLUDE_RE = re.compile(r'^\s*#\s*include\s*"([^"]+)"', re.M)


def sources(top, folder, exts):
    """Every file under top/folder with one of exts, as paths relative to top."""
    out = []
    base = os.path.join(top, folder)
    for root, _, files in os.walk(base):
        for f in sorted(files):
            if f.endswith(exts):
                out.append(os.path.relpath(os.path.join(root, f), top))
    return sorted(out)


def quoted_includes(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    # comments may quote an #include; drop them first
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    return INCLUDE_RE.findall(text)


def layer_of_src(rel):
    parts = rel.split(os.sep)
    if len(parts) == 3 and parts[0] == "src" and parts[1] in RANK:
        return parts[1]
    return None


def sccs(nodes, edges):
    """Tarjan's strongly connected components of a directed graph."""
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(comp)

    for v in nodes:
        if v not in index:
            visit(v)
    return [c for c in out if len(c) > 1 or c[0] in edges.get(c[0], ())]


def check(top, nm_text, objects_name, quiet=False):
    """Checks the tree at top against the nm -A output nm_text; returns
    the list of violations (and prints the figures unless quiet)."""
    errors = []

    # -- the tree of src/ ---------------------------------------------------
    src_files = sources(top, "src", (".c", ".h"))
    layer = {}
    for f in src_files:
        lay = layer_of_src(f)
        if lay is None:
            errors.append(f"{f}: not in a layer folder (src/<layer>/<file>, layers {LAYERS})")
        else:
            layer[f] = lay
    gen_files = sources(top, "gen", (".c",))

    # -- includes of src/ and gen/ -------------------------------------------
    inc_edges = collections.defaultdict(set)
    n_inc = 0
    gen_layer = {}
    for f in src_files + gen_files:
        for name in quoted_includes(os.path.join(top, f)):
            target = os.path.join("src", name)
            if not os.path.isfile(os.path.join(top, target)) or layer_of_src(target) is None:
                errors.append(f'{f}: #include "{name}" is not a header of src/<layer>/')
                continue
            n_inc += 1
            inc_edges[f].add(target)
    for g in gen_files:
        ranks = [RANK[layer[t]] for t in inc_edges.get(g, ()) if t in layer]
        if not ranks:
            errors.append(f"{g}: includes no header of src/, so it has no layer")
            continue
        gen_layer[g] = LAYERS[max(ranks)]
        layer[g] = gen_layer[g]
    up_inc = []
    for f, targets in sorted(inc_edges.items()):
        for t in sorted(targets):
            if f in layer and t in layer and RANK[layer[t]] > RANK[layer[f]]:
                up_inc.append((f, t))
                errors.append(f"{f} ({layer[f]}) includes {t} ({layer[t]}), a higher layer")
    for comp in sccs(sorted(inc_edges), inc_edges):
        errors.append("include loop: " + " -> ".join(sorted(comp)))

    # -- calls between the objects of the library ------------------------------
    by_key = {f.replace(os.sep, "_"): f for f in src_files + gen_files if f.endswith(".c")}
    defined, undefined = {}, collections.defaultdict(set)
    objects = set()
    for line in nm_text.splitlines():
        m = re.match(r"^(?:.*?):([^:\s]+\.o):\s*(?:[0-9a-fA-F]+)?\s+([A-Za-z])\s+(\S+)$", line)
        if not m:
            continue
        obj, kind, sym = m.groups()
        key = obj[: -len(".o")] if obj.endswith(".o") else obj
        f = by_key.get(key)
        if f is None:
            errors.append(f"object {obj} matches no source file of src/ or gen/")
            continue
        objects.add(f)
        if kind in "TDBRCVW":
            if sym in defined and defined[sym] != f:
                errors.append(f"{sym} is defined in both {defined[sym]} and {f}")
            defined[sym] = f
        elif kind == "U":
            undefined[f].add(sym)
    call_edges = collections.defaultdict(set)
    call_names = collections.defaultdict(set)
    for f, syms in undefined.items():
        for s in syms:
            g = defined.get(s)
            if g is not None and g != f:
                call_edges[f].add(g)
                call_names[(f, g)].add(s)
    n_calls = sum(len(v) for v in call_edges.values())
    up_calls = []
    for f, targets in sorted(call_edges.items()):
        for g in sorted(targets):
            if RANK[layer[g]] > RANK[layer[f]]:
                up_calls.append((f, g))
                names = ", ".join(sorted(call_names[(f, g)]))
                errors.append(f"{f} ({layer[f]}) calls {g} ({layer[g]}), a higher layer: {names}")
    for comp in sccs(sorted(objects), call_edges):
        errors.append("call loop: " + " -> ".join(sorted(comp)))
    missing = [f for f in by_key.values() if f not in objects]
    for f in missing:
        errors.append(f"{f} has no object in {objects_name}: is it built?")

    # -- programs use include/tern.h only -------------------------------------
    src_headers = {os.path.relpath(h, "src") for h in src_files if h.endswith(".h")}
    src_basenames = {os.path.basename(h) for h in src_headers}
    n_prog = 0
    for d in PROGRAM_DIRS:
        for f in sources(top, d, (".c", ".h", ".pyx")):
            n_prog += 1
            here = os.path.dirname(os.path.join(top, f))
            for name in quoted_includes(os.path.join(top, f)):
                local = os.path.isfile(os.path.join(here, name))
                if name in src_headers or "src/" in name or (
                        not local and os.path.basename(name) in src_basenames):
                    errors.append(f'{f}: #include "{name}" reaches into src/ (use <tern.h>)')

    if not quiet:
        counts = collections.Counter(layer[f] for f in layer)
        print("layers: " + ", ".join(f"{lay} {counts.get(lay, 0)} files" for lay in LAYERS))
        print("generated: " + ", ".join(f"{g} -> {gen_layer.get(g, '?')}" for g in gen_files))
        print(f"include edges: {n_inc}, {len(up_inc)} to a higher layer; "
              f"call edges between objects: {n_calls}, {len(up_calls)} to a higher layer")
        print(f"programs checked for src/ includes: {n_prog} files")
    return errors


def write(top, rel, text):
    path = os.path.join(top, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def self_test():
    """A small tree that breaks every rule once, then the same tree mended."""
    top = tempfile.mkdtemp()
    try:
        write(top, "src/codec/wire.h", "int wire(void);\n")
        write(top, "src/codec/wire.c", '#include "codec/wire.h"\nint wire(void) { return 0; }\n')
        write(top, "src/core/conn.h", '#include "engine/role.h"\n')           # up
        write(top, "src/core/conn.c", '#include "core/conn.h"\n#include "../tests/x.h"\n')
        write(top, "src/engine/role.h", '#include "engine/more.h"\n')
        write(top, "src/engine/more.h", '#include "engine/role.h"\n')         # loop
        write(top, "src/engine/role.c", '#include "core/conn.h"\n')
        write(top, "src/stray.c", "int stray;\n")                              # no layer
        write(top, "gen/machine.c", '#include "engine/role.h"\n')
        write(top, "tools/tool.c", '#include "core/conn.h"\n')                # program
        nm = "\n".join([
            "lib.a:src_codec_wire.c.o:0000000000000000 T wire",
            "lib.a:src_core_conn.c.o:0000000000000000 T conn_fail",
            "lib.a:src_core_conn.c.o:                 U role_act",            # up, loop
            "lib.a:src_engine_role.c.o:0000000000000000 T role_act",
            "lib.a:src_engine_role.c.o:                 U conn_fail",
            "lib.a:src_engine_role.c.o:                 U machine_feed",
            "lib.a:gen_machine.c.o:0000000000000000 T machine_feed",
            "lib.a:src_stray.c.o:0000000000000000 T stray",
        ])
        got = "\n".join(check(top, nm, "lib.a", quiet=True))
        want = [
            "src/stray.c: not in a layer folder",
            "src/core/conn.c: #include \"../tests/x.h\" is not a header of src/",
            "src/core/conn.h (core) includes src/engine/role.h (engine), a higher layer",
            "include loop: src/engine/more.h -> src/engine/role.h",
            "src/core/conn.c (core) calls src/engine/role.c (engine), a higher layer: role_act",
            "call loop: src/core/conn.c -> src/engine/role.c",
            "tools/tool.c: #include \"core/conn.h\" reaches into src/",
        ]
        missed = [w for w in want if w not in got]
        for w in missed:
            print("self-test: not reported: " + w)
        # mended: the same tree with every breach removed must pass
        os.remove(os.path.join(top, "src/stray.c"))
        write(top, "src/core/conn.h", "int conn_fail(void);\n")
        write(top, "src/core/conn.c", '#include "core/conn.h"\n')
        write(top, "src/engine/more.h", "int more(void);\n")
        write(top, "tools/tool.c", "#include <tern.h>\n")
        nm = "\n".join(line for line in nm.split("\n")
                       if "U role_act" not in line and "stray" not in line)
        left = check(top, nm, "lib.a", quiet=True)
        for e in left:
            print("self-test: reported on the mended tree: " + e)
        if missed or left:
            return 1
        print(f"self-test: all {len(want)} breaches reported, the mended tree passes")
        return 0
    finally:
        shutil.rmtree(top)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source")
    ap.add_argument("--objects", help="the static library")
    ap.add_argument("--self-test", action="store_true")
    args = ap.parse_args()
    if args.self_test:
        return self_test()
    if not args.source or not args.objects:
        ap.error("--source and --objects are required")
    nm = subprocess.run(["nm", "-A", args.objects], capture_output=True, text=True)
    if nm.returncode != 0:
        print(nm.stderr, file=sys.stderr)
        return 2
    errors = check(os.path.abspath(args.source), nm.stdout, args.objects)
    if errors:
        for e in errors:
            print("LAYERING: " + e)
        print(f"{len(errors)} layering violation(s)")
        return 1
    print("layering holds: no edge to a higher layer, no include or call loop")
    return 0


if __name__ == "__main__":
    sys.exit(main())
