#!/usr/bin/env python
"""The package's import graph, checked: every import of one of our modules by another, at module
level, inside a function (a lazy import is still a dependency) or under `if TYPE_CHECKING:` (a
type-only import still couples the two). Prints one JSON object and exits 1 when the layering is
broken:

- `upward`: a module imports one from a higher layer (LAYERS, bottom first: a layer may use only
  the layers below it and itself);
- `cycles`: modules that import each other, directly or through others;
- `package_cycles`: the same between top-level modules and subpackages (`config` and `text/`);
- `package_init`: a module that imports names from the package's `__init__` (which imports the
  classifier, so anything below it that does so climbs back up).

    .venv/bin/python scripts/import_graph.py            # tests/test_layout.py runs the same check
"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

PACKAGE = "sentiment_rnn"
SOURCE = Path(__file__).resolve().parents[1] / "src" / PACKAGE

# Bottom first. A module belongs to the first entry that is its name or a parent package's.
LAYERS: list[tuple[str, ...]] = [
    ("errors", "version", "io", "manifest"),  # foundations: no imports of ours but each other; a folder's seal
    ("text",),  # cleaning rules, stopwords, tokenizer, batching of encoded ids
    ("config",),  # one dataclass per component (validates text rule names)
    ("data", "metrics", "prediction", "calibration", "thresholds", "behaviour"),  # datasets and their cache (and
    # checks); metrics; how a prediction reads; calibration figures; thresholds for a target; behavioural tests
    ("models", "embeddings"),  # the networks; word vectors
    ("folder", "inference", "model_card"),  # model and encoder folders; inference engines; the model card
    ("training", "lm"),  # the training loop and its two uses
    ("classifier", "ensemble", "explain", "predict_file", "plots"),  # the estimator and what uses it
    ("pipeline", "tracking", "diagnose"),  # what `train` does end to end; MLflow; the tutorial's lessons measured
    ("tuning",),  # hyper-parameter search: trials of the training, each a tracked run
    ("service", "cli", "__main__", "__init__"),  # entry points
]


def module_name(path: Path) -> str:
    parts = path.relative_to(SOURCE).with_suffix("").parts
    return ".".join(parts)  # "__init__" for the package's own, "text.__init__" for a subpackage's


def layer_of(module: str) -> int:
    for depth, names in enumerate(LAYERS):
        if module.split(".")[0] in names:
            return depth
    raise SystemExit(f"{module} is in no layer: add it to LAYERS in {Path(__file__).name}")


def imports_of(path: Path, modules: set[str]) -> list[tuple[str, bool]]:
    """(imported module of ours, whether it is a name from the package __init__) per import."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = module_name(path).split(".")
    package = here[:-1]  # the package a relative import starts from
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(PACKAGE + "."):
                    found.append((_known(alias.name[len(PACKAGE) + 1:], modules), False))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - (node.level - 1)] if node.level > 1 else package
                target = ".".join([*base, *(node.module.split(".") if node.module else [])])
            elif node.module and (node.module == PACKAGE or node.module.startswith(PACKAGE + ".")):
                target = node.module[len(PACKAGE) + 1:]
            else:
                continue
            for alias in node.names:
                submodule = f"{target}.{alias.name}" if target else alias.name
                if _known(submodule, modules, strict=True):
                    found.append((_known(submodule, modules), False))
                elif target:
                    found.append((_known(target, modules), False))
                else:  # `from . import name` at the top: a name defined in the package __init__
                    found.append(("__init__", True))
    return [(m, init) for m, init in found if m is not None]


def _known(name: str, modules: set[str], strict: bool = False) -> str | None:
    if name in modules:
        return name
    if f"{name}.__init__" in modules:
        return f"{name}.__init__"
    return None if strict else name


def check() -> dict:
    paths = sorted(SOURCE.rglob("*.py"))
    modules = {module_name(p) for p in paths}
    edges: set[tuple[str, str]] = set()
    package_init = []
    for path in paths:
        source = module_name(path)
        for target, is_init in imports_of(path, modules):
            if is_init:
                package_init.append(source)
            if target != source:
                edges.add((source, target))
    upward = sorted(f"{a} -> {b}" for a, b in edges if layer_of(b) > layer_of(a))
    top = {m.split(".")[0] for m in modules}
    top_edges = {(a.split(".")[0], b.split(".")[0]) for a, b in edges if a.split(".")[0] != b.split(".")[0]}
    return {"modules": len(modules), "imports": len(edges), "upward": upward, "cycles": _cycles(modules, edges),
            "package_cycles": _cycles(top, top_edges), "package_init": sorted(set(package_init) - {"__main__"})}


def _cycles(modules: set[str], edges: set[tuple[str, str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    graph = {m: sorted(b for a, b in edges if a == m) for m in modules}
    index, low, stack, on_stack, result = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, []):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                result.append(sorted(component))

    for module in sorted(modules):
        if module not in index:
            visit(module)
    return sorted(result)


if __name__ == "__main__":
    report = check()
    print(json.dumps(report, indent=2))
    broken = report["upward"] or report["cycles"] or report["package_cycles"] or report["package_init"]
    sys.exit(1 if broken else 0)
