"""No import circles in `services/` and `shared/`: a module never needs, even for a type, a
module that needs it back, and no package's parts import each other in a ring.

import-linter's layer contracts (pyproject.toml) say which way each service's layers point;
this test says that nothing else closes a loop either. Type-only imports count: a circle that
only `TYPE_CHECKING` hides is still one a reader has to hold in their head."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import grimp
import pytest

ROOTS = ("services", "shared")


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(*ROOTS, exclude_type_checking_imports=False)


def _circles(edges: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            for nxt in successors:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(edges[nxt]))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def _explain(graph: grimp.ImportGraph, circle: list[str], owner: dict[str, str]) -> str:
    members = set(circle)
    lines = []
    for importer in sorted(owner):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            if imported in owner and owner[importer] != owner[imported] \
                    and {owner[importer], owner[imported]} <= members:
                for detail in graph.get_import_details(importer=importer, imported=imported):
                    lines.append(f"  {importer}:{detail['line_number']} -> {imported}")
    return " <-> ".join(circle) + "\n" + "\n".join(lines)


def test_no_module_imports_itself_back(graph: grimp.ImportGraph) -> None:
    modules = {m for m in graph.modules if m.split(".")[0] in ROOTS}
    edges = {m: graph.find_modules_directly_imported_by(m) & modules for m in modules}
    circles = _circles(edges)
    owner = {m: m for m in modules}
    assert not circles, "import circles:\n" + "\n".join(_explain(graph, c, owner)
                                                         for c in circles)


def test_no_package_has_parts_that_import_each_other_back(graph: grimp.ImportGraph) -> None:
    """Within each package, its children (a subpackage counts with all it holds) import one
    another without a ring: e.g. `services.chat.adapters` never needs `services.chat.bootstrap`,
    which wires the adapters."""
    modules = {m for m in graph.modules if m.split(".")[0] in ROOTS}
    packages = {m for m in modules if graph.find_children(m)}
    problems = []
    for package in sorted(packages):
        children = graph.find_children(package)
        owner = {}
        for child in children:
            owner[child] = child
            for descendant in graph.find_descendants(child):
                owner[descendant] = child
        edges: dict[str, set[str]] = {child: set() for child in children}
        for module, part in owner.items():
            for imported in graph.find_modules_directly_imported_by(module):
                if imported in owner and owner[imported] != part:
                    edges[part].add(owner[imported])
        problems += [_explain(graph, c, owner) for c in _circles(edges)]
    assert not problems, "import circles between parts of a package:\n" + "\n".join(problems)
