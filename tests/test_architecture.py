"""The import rules of DESIGN.md section 5, read from the code (imports inside functions too).

One direction: entry points (the app factory, the CLI, the worker loop) → hotline.web →
hotline.services → hotline.plumbing → flows and models; flows and models never import hotline;
and no circle anywhere among the project's modules. `lint-imports` checks the same layers in CI
(pyproject.toml, [tool.importlinter]); this test also catches circles inside one layer.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("hotline", "flows", "models")

#: Lower numbers sit lower; a module may import its own layer or any below it.
LAYERS = {"flows": 0, "models": 0, "hotline.plumbing": 1, "hotline.services": 2, "hotline.web": 3}
ENTRY = 4
#: The only modules above the web: the app factory, the `hotline` command, the worker loop, `make texts`.
ENTRY_POINTS = {"hotline", "hotline.worker", "hotline.texts_doc"} | {
    f"hotline.cli{part}" for part in ("", ".common", ".running", ".roster", ".accounts", ".operations")
}


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _resolve(name: str, known: dict[str, Path]) -> str | None:
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def import_graph() -> dict[str, set[str]]:
    """Return each project module's imports of other project modules, wherever they are written."""
    known = modules()
    graph: dict[str, set[str]] = {}
    for name, path in known.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str | None] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets |= {_resolve(alias.name, known) for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package
                    for _ in range(node.level - 1):
                        anchor = anchor.rpartition(".")[0]
                    base = f"{anchor}.{base}".rstrip(".")
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    targets.add(full if full in known else _resolve(base, known))
        graph[name] = {target for target in targets if target and target != name}
    return graph


def layer(module: str) -> int:
    for prefix, rank in LAYERS.items():
        if module == prefix or module.startswith(prefix + "."):
            return rank
    return ENTRY


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Return the strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_sees_imports_inside_functions():
    graph = import_graph()
    assert "hotline.plumbing.db" in graph["hotline.plumbing.migrations"]
    assert graph["hotline"] >= {"hotline.web.webhooks", "hotline.plumbing.runtime"}


def test_a_circle_is_found():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_every_module_sits_in_a_layer():
    """A new module goes in web/, services/ or plumbing/; only the entry points live at the top."""
    assert {name for name in modules() if layer(name) == ENTRY} == ENTRY_POINTS


def test_no_import_circle_anywhere():
    assert cycles(import_graph()) == []


def test_imports_go_down_the_layers_only():
    upward = sorted(
        f"{source} → {target}"
        for source, targets in import_graph().items()
        for target in targets
        if layer(target) > layer(source)
    )
    assert upward == []


@pytest.mark.parametrize("package", ["flows", "models"])
def test_flows_and_models_never_import_hotline(package):
    graph = import_graph()
    assert not {
        (source, target)
        for source, targets in graph.items()
        if source.split(".")[0] == package
        for target in targets
        if target.split(".")[0] == "hotline"
    }


def test_no_module_in_hotline_is_over_500_lines():
    long = {
        str(path.relative_to(ROOT)): lines
        for path in (ROOT / "hotline").rglob("*.py")
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > 500
    }
    assert long == {}
