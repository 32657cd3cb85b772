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


#: Measure groups that other modules still spell out (none: every module names the groups of
#: :mod:`metafuse.model`).
MEASURE_LISTS_ELSEWHERE: set[tuple[str, frozenset[str]]] = set()


def option_lists_outside_the_model() -> list[str]:
    """Every literal tuple, list or set outside metafuse/model.py that spells out two or more
    values of one of the model's vocabularies (a ``Literal[...]``, a ``click.Choice``, a constant,
    a check against all the choices). A membership test of some of the values (``method in
    ("ML", "REML")``) is logic about those values, not a list of the choices."""
    from metafuse import model

    vocabularies = {
        "method": model.METHODS,
        "measure": model.MEASURES,
        "prediction": model.PREDICTION_KINDS,
        "to": model.ZERO_CELL_RULES,
        "convention": model.CONVENTION_NAMES,
        "q_from": model.Q_FROM,
        "tau prior": model.TAU_PRIORS,
        "mu prior": model.MU_PRIORS,
        "SMD correction": model.SMD_CORRECTIONS,
    }
    found = []
    for path in sorted((ROOT / "metafuse").rglob("*.py")):
        name = path.relative_to(ROOT).as_posix()
        if name == "metafuse/model.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        tested = {
            id(side)
            for node in ast.walk(tree)
            if isinstance(node, ast.Compare)
            and all(isinstance(o, ast.In | ast.NotIn) for o in node.ops)
            for side in node.comparators
        }
        for node in ast.walk(tree):
            if not isinstance(node, ast.Tuple | ast.List | ast.Set):
                continue
            values = {e.value for e in node.elts if isinstance(e, ast.Constant)}
            if len(values) < 2 or len(values) != len(node.elts):
                continue
            for vocabulary, choices in vocabularies.items():
                if not values <= set(choices) or (id(node) in tested and values != set(choices)):
                    continue
                if (name, frozenset(values)) in MEASURE_LISTS_ELSEWHERE:
                    continue
                found.append(f"{name}:{node.lineno}: {vocabulary} {sorted(values)}")
    return found


def test_model_options_are_defined_in_one_module() -> None:
    """Issue 22: the model's options and the values each takes are defined in metafuse/model.py
    and nowhere else; the CLI options and spec keys are generated from its fields."""
    found = option_lists_outside_the_model()
    assert found == [], "choice lists outside metafuse/model.py:\n" + "\n".join(found)
