"""No import circles anywhere in the package: the import graph that import-linter checks (grimp's), every module
and every import (lazy ones inside functions too), searched for strongly connected components."""

from __future__ import annotations

import grimp


def import_cycles(graph: grimp.ImportGraph, package: str) -> list[list[str]]:
    """One cycle ``[a, b, …, a]`` for each group of ``package``'s modules that import each other in a circle."""
    modules = sorted(graph.modules)
    edges = {m: sorted(i for i in graph.find_modules_directly_imported_by(m) if i.startswith(package)) for m in modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    for root in modules:  # Tarjan's algorithm, iteratively (no recursion limit on deep chains)
        if root in index:
            continue
        work = [(root, iter(edges[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
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
                    components.append(sorted(component))
    return [_cycle_through(graph, component) for component in components]


def _cycle_through(graph: grimp.ImportGraph, component: list[str]) -> list[str]:
    """A concrete circle through the first module of ``component``: an import out of it and the way back."""
    first = component[0]
    for nxt in sorted(graph.find_modules_directly_imported_by(first)):
        if nxt in component:
            back = graph.find_shortest_chain(importer=nxt, imported=first) or (nxt, first)
            return [first, *back]
    return component


def describe(graph: grimp.ImportGraph, cycle: list[str]) -> str:
    """The circle, one import per line with the line that makes it."""
    lines = []
    for importer, imported in zip(cycle, cycle[1:]):
        details = graph.get_import_details(importer=importer, imported=imported)
        where = f"  (l.{details[0]['line_number']}: {details[0]['line_contents']})" if details else ""
        lines.append(f"  {importer} -> {imported}{where}")
    return "\n".join(lines)


def test_the_package_has_no_import_cycle():
    graph = grimp.build_graph("gencurve_desktop", cache_dir=None)
    cycles = import_cycles(graph, "gencurve_desktop")
    report = "\n\n".join(describe(graph, cycle) for cycle in cycles)
    print(report or "no import cycle")
    assert not cycles, f"{len(cycles)} import cycle(s):\n{report}"


def test_the_cycle_search_finds_a_circle():
    """The search itself, on a small graph with one circle of three and a module outside it."""
    graph = grimp.ImportGraph()
    for module in ("pkg", "pkg.a", "pkg.b", "pkg.c", "pkg.d"):
        graph.add_module(module)
    for importer, imported in (("pkg.a", "pkg.b"), ("pkg.b", "pkg.c"), ("pkg.c", "pkg.a"), ("pkg.d", "pkg.a")):
        graph.add_import(importer=importer, imported=imported)
    (cycle,) = import_cycles(graph, "pkg")
    assert cycle[0] == cycle[-1] == "pkg.a" and set(cycle) == {"pkg.a", "pkg.b", "pkg.c"}
