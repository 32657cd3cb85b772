"""The package's import graph has no cycle (issue 10): module-level imports between metafuse
modules, read from the source (imports inside functions and ``TYPE_CHECKING`` blocks, which
exist to keep the graph acyclic, are not edges)."""

from __future__ import annotations

import ast

from tests.conftest import ROOT


def import_graph() -> dict[str, set[str]]:
    package = ROOT / "metafuse"
    modules = {}
    for path in package.rglob("*.py"):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        modules[name.removesuffix(".__init__")] = path
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in modules.items():
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module:
                targets = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            graph[module] |= {t for t in targets if t in modules and t != module}
    return graph


def test_import_graph_has_no_cycle() -> None:
    graph = import_graph()
    state: dict[str, int] = {}
    path: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert len(graph) > 60
    assert cycles == []


def test_tolerances_live_in_one_place() -> None:
    """No test states a numerical tolerance inline: each is a named value of tests/tolerances.py
    with its reason (pytest.approx keywords, numpy's rtol/atol, tolerance dicts, and comparisons
    against a literal like ``x < 1e-6`` or ``best - 1e-9``)."""
    import re

    inline = re.compile(
        r"\b(rel|abs|rtol|atol)\s*=\s*[-+]?\d"  # keyword with a literal
        r"|[\"'](rel|abs)[\"']\s*:\s*[-+]?\d"  # a tolerance dict
        r"|\s(<=?|>=?)\s*\d[\d.]*e-\d+"  # x < 1e-6
        r"|\s-\s+\d[\d.]*e-\d+"  # best - 1e-9
    )
    found = [
        f"{path.name}:{number}: {line.strip()}"
        for path in sorted((ROOT / "tests").glob("*.py"))
        if path.name not in ("tolerances.py", "test_architecture.py")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if inline.search(line)
    ]
    assert found == [], "inline tolerances (move them to tests/tolerances.py):\n" + "\n".join(found)
