"""Fail when modules of a package import each other in a cycle (a quality gate of test.sh).

Builds the import graph with grimp (imports under ``if TYPE_CHECKING:`` count too: a
cycle that only type checking sees still ties two modules into one) and reports every
strongly connected group of modules with one concrete chain, e.g. ``vcpsdk.node -> vcpsdk.records -> vcpsdk.node``.

Usage: ``python scripts/check_import_cycles.py [package]`` (default ``vcpsdk``).
"""

from __future__ import annotations

import sys

import grimp


def import_cycles(package: str) -> list[list[str]]:
    """Groups of two or more modules of ``package`` that import each other, largest first."""
    graph = grimp.build_graph(package, exclude_type_checking_imports=False, cache_dir=None)
    edges = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(root: str) -> None:
        # iterative Tarjan: the graph is small, but recursion depth is not ours to choose
        work = [(root, iter(edges.get(root, ())))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            module, targets = work[-1]
            for target in targets:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(edges.get(target, ()))))
                    break
                if target in on_stack:
                    low[module] = min(low[module], index[target])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[module])
                if low[module] == index[module]:
                    group = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == module:
                            break
                    if len(group) > 1:
                        groups.append(sorted(group))

    for module in sorted(edges):
        if module not in index:
            visit(module)
    return sorted(groups, key=len, reverse=True)


def main(argv: list[str]) -> int:
    """Print each cycle with one example chain; exit 1 when there is any."""
    package = argv[1] if len(argv) > 1 else "vcpsdk"
    graph = grimp.build_graph(package, exclude_type_checking_imports=False, cache_dir=None)
    cycles = import_cycles(package)
    for group in cycles:
        first, second = group[0], group[1]
        there = graph.find_shortest_chain(importer=first, imported=second) or (first, second)
        back = graph.find_shortest_chain(importer=second, imported=first) or (second, first)
        print(f"import cycle ({len(group)} modules): {' -> '.join([*there, *back[1:]])}")
    print(f"import cycles in {package}: {len(cycles)}")
    return 1 if cycles else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
