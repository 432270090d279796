#!/usr/bin/env python3
"""Fails when the modules of a crate import each other in a cycle.

What it checks: for every crate under crates/*/, the module tree of each target (the
library rooted at src/lib.rs and each binary rooted at src/main.rs or src/bin/*.rs, or
the paths Cargo.toml gives; a binary's tree holds only the modules its own root declares)
must have no import cycle. The edges are module -> module dependencies:

  * `use` declarations, `pub use` re-exports included, with groups nested to any depth
    (`use crate::a::{b::C, d::{self, E}}`), resolved from `crate::`, `super::`, `self::`,
    a child module's name, or a name an earlier `use` brought in;
  * paths in code such as `crate::transfer::handle_notify(..)` or `super::unix_now()`.

An edge points at the deepest existing module the path names (`crate::transfer::config::X`
-> transfer::config); when the path goes on with an item the module does not define but
re-exports (`crate::Error` with `pub use error::Error;` in lib.rs), it follows the
re-export to the module defining the item (--no-follow-reexports turns that off). A
`mod child;` declaration is not an edge: only `use` and paths are. So a child's
`use super::Thing` alone is fine, but together with the parent's `use child::Other` (or a
`pub use child::Other` re-export) it is a cycle. Edges from a module to itself are ignored.

How: comments (doc comments included), string, raw string and char literals are blanked
first, so text in docs never counts; items under a test-only `#[cfg(test)]` (or
`#[cfg(all(test, ..))]`) attribute are skipped entirely, `mod tests;` files and inline
`mod tests { .. }` blocks alike, because test modules may `use super::*`. Other inline
`mod name { .. }` blocks are modules of their own. Tarjan's algorithm finds the strongly
connected components; for each with more than one module the checker prints the shortest
cycle through each of its edges, as `crate: a -> b -> a`, with one file:line per edge.
Exit status 1 when there is a cycle, 0 otherwise ("module cycles: none in N crates").

  scripts/check-module-cycles.py              check the workspace this script lives in
  scripts/check-module-cycles.py --list       also print every edge (debugging)
  scripts/check-module-cycles.py --self-test  check the checker on two fake crates
  scripts/check-module-cycles.py --root DIR   check the workspace at DIR
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import io
import os
import re
import shutil
import sys
import tempfile
import tomllib
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

ROOT_NAME = "crate"  # how the crate root module is printed

# ---------------------------------------------------------------------------------------
# Lexing


def blank_comments_and_literals(text: str) -> str:
    """Same length and line breaks as `text`, with comments and literals blanked.

    A string literal becomes `""` and a char literal `0`, padded with spaces.
    """
    out: list[str] = []
    n = len(text)
    i = 0

    def blank(j: int, k: int, keep: str = "") -> None:
        chunk = text[j:k]
        pad = "".join("\n" if c == "\n" else " " for c in chunk[len(keep):])
        out.append(keep + pad)

    while i < n:
        c = text[i]
        if c == "/" and text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            blank(i, j)
            i = j
        elif c == "/" and text.startswith("/*", i):
            depth, j = 0, i
            while j < n:
                if text.startswith("/*", j):
                    depth += 1
                    j += 2
                elif text.startswith("*/", j):
                    depth -= 1
                    j += 2
                    if depth == 0:
                        break
                else:
                    j += 1
            blank(i, j)
            i = j
        elif c in '"brc' and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            m = re.compile(r'(?:b|c)?(r)(#*)"|(?:b|c)?"').match(text, i)
            if not m:
                out.append(c)
                i += 1
                continue
            start = m.end()
            if m.group(1):  # raw string: no escapes, ends at "###
                end = text.find('"' + m.group(2), start)
                j = n if end < 0 else end + 1 + len(m.group(2))
            else:
                j = start
                while j < n and text[j] != '"':
                    j += 2 if text[j] == "\\" else 1
                j = min(j + 1, n)
            blank(i, j, '""')
            i = j
        elif c == "'":
            if i + 1 < n and text[i + 1] == "\\":  # '\n', '\'', '\u{..}'
                j = i + 3
                while j < n and text[j] != "'":
                    j += 1
                blank(i, j + 1, "0")
                i = j + 1
            elif i + 2 < n and text[i + 2] == "'" and text[i + 1] not in "'\n":
                blank(i, i + 3, "0")
                i += 3
            else:  # a lifetime or label
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


TOKEN = re.compile(r"\s+|(?P<tok>'[A-Za-z_]\w*|r#[A-Za-z_]\w*|\$?[A-Za-z_]\w*|\d\w*|::|.)", re.S)


@dataclass
class Tok:
    text: str
    pos: int

    @property
    def ident(self) -> bool:
        t = self.text
        return (t[0].isalpha() or t[0] in "_$") and t != "$"


def tokenize(clean: str) -> list[Tok]:
    toks = []
    for m in TOKEN.finditer(clean):
        if m.group("tok"):
            t = m.group("tok")
            if t.startswith("r#"):
                t = t[2:]
            toks.append(Tok(t, m.start()))
    return toks


def is_test_cfg(attr: str) -> bool:
    s = re.sub(r"\s+", "", attr)
    if s == "cfg(test)":
        return True
    return s.startswith("cfg(all(") and re.search(r"[(,]test[,)]", s) is not None


# ---------------------------------------------------------------------------------------
# Parsing one file

ITEM_KEYWORDS = {"fn", "struct", "enum", "trait", "type", "const", "static", "union", "mod"}
ITEM_START = ITEM_KEYWORDS | {"use", "impl", "pub", "unsafe", "async", "extern", "macro_rules"}
OPEN = {"(": ")", "[": "]", "{": "}"}
CLOSE = {")", "]", "}"}


@dataclass
class UseLeaf:
    segs: tuple[str, ...]  # as written, relative; `self` inside a group already folded in
    alias: str | None  # `as NAME`, or None
    glob: bool
    public: bool
    top: bool  # at module level (not inside a function body)
    line: int


@dataclass
class Module:
    path: tuple[str, ...]
    file: Path
    line: int  # where declared (0 for a root)
    child_dir: Path
    items: set[str] = field(default_factory=set)
    uses: list[UseLeaf] = field(default_factory=list)
    paths: list[tuple[tuple[str, ...], int]] = field(default_factory=list)
    # filled in by the resolver
    aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)
    reexports: dict[str, tuple[str, ...]] = field(default_factory=dict)
    glob_reexports: list[tuple[str, ...]] = field(default_factory=list)


@dataclass
class ModDecl:
    path: tuple[str, ...]
    dir: Path
    line: int
    attr_path: str | None  # #[path = "..."]
    decl_file: Path


def parse_file(file: Path, mod_path: tuple[str, ...], child_dir: Path, decl_line: int,
               problems: list[str]) -> tuple[list[Module], list[ModDecl]]:
    original = file.read_text(encoding="utf-8")
    clean = blank_comments_and_literals(original)
    toks = tokenize(clean)
    newlines = [i for i, c in enumerate(clean) if c == "\n"]

    def line_of(k: int) -> int:
        return bisect.bisect_right(newlines, toks[k].pos) + 1 if k < len(toks) else len(newlines) + 1

    def match_close(k: int) -> int:
        """Index of the bracket closing the one at k (or len(toks))."""
        depth = 0
        for j in range(k, len(toks)):
            t = toks[j].text
            if t in OPEN:
                depth += 1
            elif t in CLOSE:
                depth -= 1
                if depth == 0:
                    return j
        return len(toks)


    def skip_item(k: int) -> int:
        """Index just past the item/statement/field starting at k."""
        first = toks[k].text if k < len(toks) else ""
        is_item = first in ITEM_START
        is_use = first == "use" or (first == "pub" and any(
            toks[j].text == "use" for j in range(k, min(k + 6, len(toks)))))
        j = k
        while j < len(toks):
            t = toks[j].text
            if t in CLOSE:
                return j  # the enclosing block ends: leave the closer
            if t == ";" or (t == "," and not is_item):
                return j + 1
            if t in OPEN:
                end = match_close(j)
                if t == "{" and not is_use:
                    return end + 1
                j = end + 1
                continue
            j += 1
        return j

    def visibility_before(k: int) -> bool:
        if k >= 1 and toks[k - 1].text == "pub":
            return True
        if k >= 1 and toks[k - 1].text == ")":
            depth = 0
            for j in range(k - 1, -1, -1):
                t = toks[j].text
                if t == ")":
                    depth += 1
                elif t == "(":
                    depth -= 1
                    if depth == 0:
                        return j >= 1 and toks[j - 1].text == "pub"
        return False

    def parse_use(k: int, public: bool, top: bool) -> int:
        """Parses the use tree after the `use` at k-1; returns the index past `;`."""
        line = line_of(k)
        mod = scopes[-1][0]

        def tree(j: int, prefix: tuple[str, ...]) -> int:
            segs = list(prefix)
            if j < len(toks) and toks[j].text == "::":  # ::extern_crate
                if not prefix:
                    segs.append("::")
                j += 1
            while j < len(toks):
                t = toks[j].text
                if t == "{":
                    j += 1
                    while j < len(toks) and toks[j].text != "}":
                        j = tree(j, tuple(segs))
                        if j < len(toks) and toks[j].text == ",":
                            j += 1
                    return j + 1
                if t == "*":
                    mod.uses.append(UseLeaf(tuple(segs), None, True, public, top, line))
                    return j + 1
                if toks[j].ident:
                    if t == "self" and prefix and len(segs) == len(prefix):
                        pass  # `self` inside a group names the prefix itself
                    else:
                        segs.append(t)
                    j += 1
                    if j < len(toks) and toks[j].text == "::":
                        j += 1
                        continue
                    alias = None
                    if j + 1 < len(toks) and toks[j].text == "as":
                        alias = toks[j + 1].text
                        j += 2
                    if segs:
                        mod.uses.append(UseLeaf(tuple(segs), alias, False, public, top, line))
                    return j
                return j  # something unexpected: stop here
            return j

        j = tree(k, ())
        while j < len(toks) and toks[j].text != ";":
            j += 1
        return j + 1

    root = Module(mod_path, file, decl_line, child_dir)
    modules = [root]
    decls: list[ModDecl] = []
    # scopes: (module, brace depth of its body)
    scopes: list[tuple[Module, int]] = [(root, 0)]
    depth = 0
    pending_attrs: list[tuple[int, int]] = []  # text offsets inside the brackets of `#[..]`
    k = 0
    # an inner #![cfg(test)] at the top makes the whole file a test module
    j = 0
    while j + 2 < len(toks) and toks[j].text == "#" and toks[j + 1].text == "!" and toks[j + 2].text == "[":
        end = match_close(j + 2)
        if end < len(toks) and is_test_cfg(clean[toks[j + 2].pos + 1:toks[end].pos]):
            return [], []
        j = end + 1

    while k < len(toks):
        t = toks[k].text
        mod, body_depth = scopes[-1]
        if t == "#" and k + 1 < len(toks) and toks[k + 1].text in ("[", "!"):
            b = k + 1 if toks[k + 1].text == "[" else k + 2
            if b < len(toks) and toks[b].text == "[":
                end = match_close(b)
                if toks[k + 1].text == "[" and end < len(toks):
                    pending_attrs.append((toks[b].pos + 1, toks[end].pos))
                k = end + 1
                continue
        if pending_attrs:
            attrs = [(clean[a:e], original[a:e]) for a, e in pending_attrs]
            pending_attrs = []
            if any(is_test_cfg(a) for a, _ in attrs):
                k = skip_item(k)
                continue
        else:
            attrs = []
        if t in OPEN:
            depth += 1
            k += 1
            continue
        if t in CLOSE:
            depth -= 1
            if t == "}" and len(scopes) > 1 and depth < scopes[-1][1]:
                scopes.pop()
            k += 1
            continue
        top = depth == body_depth
        if t == "use" and toks[k].ident:
            k = parse_use(k + 1, visibility_before(k), top)
            continue
        if t == "mod" and k + 2 < len(toks) and toks[k + 1].ident:
            name = toks[k + 1].text
            nxt = toks[k + 2].text
            if top:
                mod.items.add(name)
            if nxt == ";":
                attr_path = None
                for a, a_orig in attrs:
                    if re.match(r"\s*path\s*=", a):  # the literal is blanked in `a`
                        lit = re.search(r'"([^"]*)"', a_orig)
                        attr_path = lit.group(1) if lit else None
                decls.append(ModDecl(mod.path + (name,), mod.child_dir / name, line_of(k),
                                     attr_path, file))
                k += 3
                continue
            if nxt == "{":
                sub = Module(mod.path + (name,), file, line_of(k), mod.child_dir / name)
                modules.append(sub)
                depth += 1
                scopes.append((sub, depth))
                k += 3
                continue
        if top and t in ITEM_KEYWORDS and k + 1 < len(toks) and toks[k + 1].ident:
            mod.items.add(toks[k + 1].text)
        if top and t == "macro_rules" and k + 2 < len(toks) and toks[k + 1].text == "!":
            mod.items.add(toks[k + 2].text)
        # a path in code: `a::b::c`, not in the middle of a longer one, not `pub(in ..)`
        if toks[k].ident and k + 2 < len(toks) and toks[k + 1].text == "::" and toks[k + 2].ident:
            prev = toks[k - 1].text if k > 0 else ""
            in_vis = prev == "in" and k >= 3 and toks[k - 2].text == "(" and toks[k - 3].text == "pub"
            if prev not in ("::", ".") and not in_vis:
                segs = [t]
                j = k + 1
                while j + 1 < len(toks) and toks[j].text == "::" and toks[j + 1].ident:
                    segs.append(toks[j + 1].text)
                    j += 2
                mod.paths.append((tuple(segs), line_of(k)))
                k = j
                continue
        k += 1
    return modules, decls


# ---------------------------------------------------------------------------------------
# Module trees and edges


@dataclass
class Target:
    crate: str  # the crate's directory name
    label: str  # "daemon", or "daemon (bin anyns)"
    root_file: Path
    modules: dict[tuple[str, ...], Module] = field(default_factory=dict)
    edges: dict[tuple[tuple[str, ...], tuple[str, ...]], list[tuple[Path, int]]] = field(default_factory=dict)


def build_tree(target: Target, problems: list[str]) -> None:
    root = target.root_file
    queue = deque([((), root, root.parent, 0)])
    while queue:
        path, file, child_dir, line = queue.popleft()
        mods, decls = parse_file(file, path, child_dir, line, problems)
        for m in mods:
            target.modules.setdefault(m.path, m)
        for d in decls:
            if d.attr_path is not None:
                f = d.decl_file.parent / d.attr_path
                candidates = [f]
            else:
                candidates = [d.dir.with_suffix(".rs"), d.dir / "mod.rs"]
            f = next((c for c in candidates if c.is_file()), None)
            if f is None:
                problems.append(f"{target.label}: no file for `mod {d.path[-1]};` "
                                f"({d.decl_file}:{d.line})")
                continue
            sub_dir = f.parent if f.name == "mod.rs" else f.with_suffix("")
            if d.attr_path is not None:
                sub_dir = f.parent
            queue.append((d.path, f, sub_dir, d.line))


def fmt(path: tuple[str, ...]) -> str:
    return "::".join(path) if path else ROOT_NAME


def resolve_edges(target: Target, follow_reexports: bool) -> None:
    modules = target.modules

    def absolute(mod: Module, segs: tuple[str, ...]) -> tuple[str, ...] | None:
        """The path from the crate root that `segs`, written in `mod`, names (None: extern)."""
        if not segs or segs[0] == "::":
            return None
        base = mod.path
        first = segs[0]
        if first in ("crate", "$crate"):
            return segs[1:]
        if first in ("self", "super"):
            i = 0
            while i < len(segs) and segs[i] in ("self", "super"):
                if segs[i] == "super":
                    if not base:
                        return None
                    base = base[:-1]
                i += 1
            return base + segs[i:]
        if mod.path + (first,) in modules:
            return mod.path + segs
        if first in mod.aliases:
            return mod.aliases[first] + segs[1:]
        if first in mod.items:
            return mod.path + segs
        return None

    # aliases (names `use` brings in) and re-exports; twice, so that later uses can build
    # on earlier ones whatever their order
    for _ in range(2):
        for mod in modules.values():
            for u in mod.uses:
                if u.glob:
                    continue
                a = absolute(mod, u.segs)
                if a is None or not a:
                    continue
                name = u.alias or u.segs[-1]
                if name in ("_", "self", "super", "crate"):
                    continue
                mod.aliases[name] = a
                if u.public and u.top:
                    mod.reexports[name] = a
    for mod in modules.values():
        for u in mod.uses:
            if u.glob and u.public and u.top:
                a = absolute(mod, u.segs)
                if a is not None and a in modules:
                    mod.glob_reexports.append(a)

    def target_module(a: tuple[str, ...], seen: frozenset = frozenset()) -> tuple[str, ...]:
        m: tuple[str, ...] = ()
        i = 0
        while i < len(a) and m + (a[i],) in modules:
            m = m + (a[i],)
            i += 1
        if not follow_reexports or i >= len(a) or (m, a[i]) in seen:
            return m
        mod, name, rest = modules[m], a[i], a[i + 1:]
        seen = seen | {(m, name)}
        if name in mod.reexports and not (name in mod.items and mod.reexports[name] == m + (name,)):
            return target_module(mod.reexports[name] + rest, seen)
        if name not in mod.items:
            for g in mod.glob_reexports:
                gm = modules[g]
                if name in gm.items or name in gm.reexports:
                    return target_module(g + (name,) + rest, seen)
        return m

    def add(src: Module, segs: tuple[str, ...], line: int) -> None:
        a = absolute(src, segs)
        if a is None:
            return
        dst = target_module(a)
        if dst == src.path:
            return
        target.edges.setdefault((src.path, dst), []).append((src.file, line))

    for mod in modules.values():
        for u in mod.uses:
            add(mod, u.segs, u.line)
        for segs, line in mod.paths:
            add(mod, segs, line)


def tarjan(nodes: list, succ: dict) -> list[list]:
    index: dict = {}
    low: dict = {}
    stack: list = []
    on_stack: set = set()
    sccs: list[list] = []
    counter = [0]

    def visit(v) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in succ.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            sccs.append(comp)

    sys.setrecursionlimit(max(10000, sys.getrecursionlimit()))
    for v in nodes:
        if v not in index:
            visit(v)
    return sccs


def cycles_in(scc: set, succ: dict) -> list[list]:
    """For each edge inside the component, the shortest cycle through it; deduplicated."""
    found: dict[tuple, list] = {}
    for u in sorted(scc):
        for v in sorted(succ.get(u, ())):
            if v not in scc:
                continue
            # shortest path v -> u inside the component
            prev = {v: None}
            q = deque([v])
            while q and u not in prev:
                x = q.popleft()
                for y in sorted(succ.get(x, ())):
                    if y in scc and y not in prev:
                        prev[y] = x
                        q.append(y)
            chain = [u]
            x = u
            while x != v:
                x = prev[x]
                chain.append(x)
            body = [u] + chain[::-1][:-1]  # u, v, ..., (back to u)
            i = body.index(min(body))
            rot = tuple(body[i:] + body[:i])
            found.setdefault(rot, list(rot) + [rot[0]])
    return sorted(found.values(), key=lambda c: (len(c), [fmt(x) for x in c]))


# ---------------------------------------------------------------------------------------
# Driver


def find_targets(root: Path) -> tuple[list[Target], int]:
    targets: list[Target] = []
    crates = 0
    for crate_dir in sorted(p for p in (root / "crates").glob("*/") if (p / "Cargo.toml").is_file()):
        name = crate_dir.name
        try:
            manifest = tomllib.loads((crate_dir / "Cargo.toml").read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError):
            manifest = {}
        lib = crate_dir / manifest.get("lib", {}).get("path", "src/lib.rs")
        bins: dict[Path, str] = {}
        for b in manifest.get("bin", []):
            if "path" in b:
                bins[crate_dir / b["path"]] = b.get("name", "")
            elif "name" in b and (crate_dir / "src/bin" / f"{b['name']}.rs").is_file():
                bins[crate_dir / "src/bin" / f"{b['name']}.rs"] = b["name"]
        if (crate_dir / "src/main.rs").is_file():
            bins.setdefault(crate_dir / "src/main.rs", manifest.get("package", {}).get("name", name))
        for f in sorted((crate_dir / "src/bin").glob("*.rs")):
            bins.setdefault(f, f.stem)
        for f in sorted((crate_dir / "src/bin").glob("*/main.rs")):
            bins.setdefault(f, f.parent.name)
        found = False
        if lib.is_file():
            targets.append(Target(name, name, lib))
            found = True
        for f, bname in sorted(bins.items()):
            if f.is_file():
                targets.append(Target(name, f"{name} (bin {bname})", f))
                found = True
        crates += found
    return targets, crates


def analyse(root: Path, follow_reexports: bool = True) -> tuple[list[Target], int, list[str]]:
    problems: list[str] = []
    targets, crates = find_targets(root)
    for t in targets:
        build_tree(t, problems)
        resolve_edges(t, follow_reexports)
    return targets, crates, problems


def component_cycles(t: Target) -> list[tuple[set, list[list]]]:
    succ: dict = {}
    for (a, b) in t.edges:
        succ.setdefault(a, set()).add(b)
    nodes = sorted(set(t.modules) | set(succ))
    out = []
    for comp in tarjan(nodes, succ):
        if len(comp) > 1:
            s = set(comp)
            out.append((s, cycles_in(s, succ)))
    out.sort(key=lambda c: sorted(c[0]))
    return out


def rel(root: Path, f: Path) -> str:
    try:
        return str(f.relative_to(root))
    except ValueError:
        return str(f)


def run(root: Path, list_edges: bool, follow_reexports: bool) -> int:
    targets, crates, problems = analyse(root, follow_reexports)
    for p in problems:
        print(f"warning: {p.replace(str(root) + os.sep, '')}", file=sys.stderr)
    total = 0
    bad_crates = set()
    for t in targets:
        if list_edges:
            print(f"{t.label}: {len(t.modules)} modules, {len(t.edges)} edges")
            for (a, b), locs in sorted(t.edges.items()):
                f, line = locs[0]
                more = f" (+{len(locs) - 1})" if len(locs) > 1 else ""
                print(f"    {fmt(a)} -> {fmt(b)}    {rel(root, f)}:{line}{more}")
        for comp, cycles in component_cycles(t):
            bad_crates.add(t.crate)
            names = ", ".join(sorted(fmt(m) for m in comp))
            print(f"{t.label}: {len(comp)} modules in one import cycle: {names}")
            for cyc in cycles:
                total += 1
                print(f"{t.label}: " + " -> ".join(fmt(m) for m in cyc))
                for a, b in zip(cyc, cyc[1:]):
                    f, line = t.edges[(a, b)][0]
                    print(f"    {fmt(a)} -> {fmt(b)}    {rel(root, f)}:{line}")
    if total:
        print(f"module cycles: {total} cycles in {len(bad_crates)} of {crates} crates "
              f"(break one edge of each; a `mod` declaration is not an edge)")
        return 1
    print(f"module cycles: none in {crates} crates")
    return 0


# ---------------------------------------------------------------------------------------
# Self-test

SELF_TEST_FILES = {
    # a -> b::c by a `use`, b::c -> a by a path in code: a cycle; b::c -> b alone is not
    "cyclic/Cargo.toml": '[package]\nname = "cyclic"\n',
    "cyclic/src/lib.rs": "mod a;\npub mod b;\n",
    "cyclic/src/a.rs": "use crate::b::c::{Thing as _, other::{self}};\npub fn g() {}\n",
    "cyclic/src/b/mod.rs": "pub mod c;\npub struct Other;\n",
    "cyclic/src/b/c.rs": (
        "use super::Other;\npub struct Thing;\npub mod other {}\n"
        "pub fn f() -> Other {\n    crate::a::g();\n    Other\n}\n"
    ),
    # no cycle: the look-alikes are in docs, comments, strings and test-only code
    "clean/Cargo.toml": '[package]\nname = "clean"\n',
    "clean/src/lib.rs": (
        "//! Uses `crate::b::B`: use crate::b::B;\n"
        "mod a;\nmod b;\npub use a::A;\npub use b::B;\n"
        "pub fn f() -> A { a::make() }\n"
    ),
    "clean/src/main.rs": "mod cli;\nfn main() { cli::run(); }\npub fn helper() {}\n",
    "clean/src/cli.rs": "pub fn run() {}\n",
    "clean/src/a.rs": (
        "use crate::B; // through lib.rs's re-export: an edge to b, not to the root\n"
        "/* a block comment: crate::f() /* nested: crate::b */ still a comment: crate::f */\n"
        "pub struct A(B);\npub fn make() -> A { A(B) }\n"
    ),
    "clean/src/b.rs": (
        "/// Made by `crate::a::make`.\n"
        "pub struct B;\n"
        "const S: &str = \"use crate::a::A; \\\" crate::a::make()\";\n"
        "const R: &str = r##\"crate::a::make() \"# crate::a\"##;\n"
        "const C: char = '\"';\n"
        "fn lifetime<'a>(x: &'a str) -> &'a str { x }\n"
        "#[cfg(test)]\nfn helper() -> crate::a::A { crate::a::make() }\n"
        "#[cfg(test)]\nuse crate::a::{A, make};\n"
        "#[cfg(test)]\nmod tests;\n"
        "#[cfg(test)]\nmod inline {\n    use super::*;\n    use crate::a::A;\n"
        "    fn t() { crate::a::make(); }\n}\n"
    ),
    "clean/src/b/tests.rs": "use super::*;\nuse crate::a::A;\n",
}


def self_test() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name, text in SELF_TEST_FILES.items():
            f = root / "crates" / name
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_text(text, encoding="utf-8")
        targets, crates, problems = analyse(root)
        assert crates == 2, crates
        assert not problems, problems
        by_label = {t.label: t for t in targets}
        assert set(by_label) == {"cyclic", "clean", "clean (bin clean)"}, set(by_label)

        cyc = by_label["cyclic"]
        edges = {(fmt(a), fmt(b)) for a, b in cyc.edges}
        assert edges == {("a", "b::c"), ("a", "b::c::other"), ("b::c", "a"), ("b::c", "b")}, edges
        comps = component_cycles(cyc)
        assert [sorted(fmt(m) for m in c) for c, _ in comps] == [["a", "b::c"]], comps
        assert [[fmt(m) for m in c] for c in comps[0][1]] == [["a", "b::c", "a"]], comps
        assert cyc.edges[(("b", "c"), ("a",))][0][1] == 5

        clean = by_label["clean"]
        edges = {(fmt(a), fmt(b)) for a, b in clean.edges}
        assert edges == {("crate", "a"), ("crate", "b"), ("a", "b")}, edges
        assert component_cycles(clean) == [], component_cycles(clean)
        assert ("b", "tests") not in clean.modules and ("b", "inline") not in clean.modules
        binary = by_label["clean (bin clean)"]
        assert set(binary.modules) == {(), ("cli",)}, binary.modules
        assert {(fmt(a), fmt(b)) for a, b in binary.edges} == {("crate", "cli")}, binary.edges
        assert component_cycles(binary) == []

        # without following re-exports, a's `use crate::B` points at the root: a cycle
        targets, _, _ = analyse(root, follow_reexports=False)
        strict = {t.label: t for t in targets}["clean"]
        assert [sorted(fmt(m) for m in c) for c, _ in component_cycles(strict)] == [["a", "crate"]]

        # the main entry: exit 1 with a cycle; a tree with no cycles: exit 0
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            assert run(root, False, True) == 1
            shutil.rmtree(root / "crates" / "cyclic")
            assert run(root, False, True) == 0
        assert "cyclic: a -> b::c -> a\n" in out.getvalue(), out.getvalue()
        assert "    b::c -> a    crates/cyclic/src/b/c.rs:5\n" in out.getvalue(), out.getvalue()
        assert out.getvalue().endswith("module cycles: none in 1 crates\n"), out.getvalue()
    print("check-module-cycles self-test: ok")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent,
                    help="workspace directory (default: the one holding this script)")
    ap.add_argument("--list", action="store_true", help="print every edge found")
    ap.add_argument("--no-follow-reexports", action="store_true",
                    help="point `crate::Error` at the re-exporting module, not the defining one")
    ap.add_argument("--self-test", action="store_true", help="test the checker and exit")
    args = ap.parse_args()
    if args.self_test:
        return self_test()
    return run(args.root.resolve(), args.list, not args.no_follow_reexports)


if __name__ == "__main__":
    sys.exit(main())
