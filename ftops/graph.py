"""The project as a graph: base models, the specs that fine-tune them (``base_model: {spec: parent}`` continues
from a parent's model), the provider each spec trains on, and the model the lockfile pins for it.

``build`` makes the graph from specs and the lockfile (no I/O); ``mermaid``, ``dot`` and ``text`` render it.
Node ids and order depend only on names, so the output is stable and diffable.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ftops.lockfile import Lockfile
from ftops.spec import FineTuneSpec


@dataclass(frozen=True)
class Node:
    name: str
    provider: str
    base_model: str | None  # None when it continues from ``parent``
    parent: str | None
    model: str | None = None  # pinned by the lockfile
    removed: bool = False  # in the lockfile only: its spec was removed


@dataclass(frozen=True)
class Graph:
    nodes: tuple[Node, ...]  # sorted by name
    providers: Mapping[str, str]  # name -> type, for the providers the nodes use

    def children(self, name: str) -> list[Node]:
        return [n for n in self.nodes if n.parent == name]

    def base_models(self) -> list[str]:
        return sorted({n.base_model for n in self.nodes if n.base_model and not self.has(n.parent)})

    def has(self, name: str | None) -> bool:
        return any(n.name == name for n in self.nodes)

    def roots(self, base_model: str) -> list[Node]:
        return [n for n in self.nodes if n.base_model == base_model and not self.has(n.parent)]


def build(specs: Iterable[FineTuneSpec], lock: Lockfile | None = None,
          provider_types: Mapping[str, str] | None = None) -> Graph:
    lock = lock or Lockfile()
    nodes = {s.name: Node(s.name, s.provider, s.base_model, s.parent, _pinned(lock, s.name)) for s in specs}
    for name, entry in lock.entries.items():
        if name not in nodes:
            inputs = entry.inputs or {}
            parent = inputs.get("parent")
            nodes[name] = Node(name, entry.provider, None if parent else inputs.get("base_model"), parent,
                               entry.model, removed=True)
    types = provider_types or {}
    providers = {n.provider: types.get(n.provider, n.provider) for n in nodes.values()}
    return Graph(tuple(nodes[n] for n in sorted(nodes)), dict(sorted(providers.items())))


def _pinned(lock: Lockfile, name: str) -> str | None:
    entry = lock.get(name)
    return entry.model if entry else None


def subgraph(graph: Graph, names: Iterable[str]) -> Graph:
    """Only these specs (and the providers they use)."""
    keep = set(names)
    nodes = tuple(n for n in graph.nodes if n.name in keep)
    used = {n.provider for n in nodes}
    return Graph(nodes, {p: t for p, t in graph.providers.items() if p in used})


def family(graph: Graph, names: Iterable[str]) -> list[str]:
    """These specs with all their ancestors and descendants, sorted."""
    by_name = {n.name: n for n in graph.nodes}
    found: set[str] = set()
    todo = [n for n in names if n in by_name]
    while todo:
        name = todo.pop()
        if name in found:
            continue
        found.add(name)
        parent = by_name[name].parent
        todo += ([parent] if parent in by_name else []) + [c.name for c in graph.children(name)]
    return sorted(found)


def _label(node: Node) -> tuple[str, str]:
    title = node.name + (" (spec removed)" if node.removed else "")
    return title, f"pinned: {node.model or '(none yet)'}"


def _ids(graph: Graph) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    specs = {n.name: f"s{i}" for i, n in enumerate(graph.nodes)}
    bases = {b: f"b{i}" for i, b in enumerate(graph.base_models())}
    providers = {p: f"p{i}" for i, p in enumerate(graph.providers)}
    return specs, bases, providers


def _mermaid_text(text: str) -> str:
    return (text.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")
            .replace("`", "#96;"))


def mermaid(graph: Graph, *, changed: Iterable[str] = ()) -> str:
    """A Mermaid flowchart (GitHub renders ```mermaid blocks); ``changed`` specs are highlighted."""
    specs, bases, providers = _ids(graph)
    lines = ["flowchart LR"]
    for base, node_id in bases.items():
        lines.append(f'  {node_id}(["{_mermaid_text(base)}"])')
    for provider, kind in graph.providers.items():
        lines.append(f'  subgraph {providers[provider]}["provider {_mermaid_text(provider)} ({_mermaid_text(kind)})"]')
        for node in graph.nodes:
            if node.provider == provider:
                title, pinned = _label(node)
                lines.append(f'    {specs[node.name]}["{_mermaid_text(title)}<br/>{_mermaid_text(pinned)}"]')
        lines.append("  end")
    for node in graph.nodes:
        if node.parent in specs:
            lines.append(f"  {specs[node.parent]} -->|continues| {specs[node.name]}")
        elif node.base_model in bases:
            lines.append(f"  {bases[node.base_model]} --> {specs[node.name]}")
    marked = [specs[n] for n in sorted(set(changed)) if n in specs]
    removed = [specs[n.name] for n in graph.nodes if n.removed]
    if marked:
        lines += ["  classDef changed stroke-width:3px,stroke-dasharray:0", f"  class {','.join(marked)} changed"]
    if removed:
        lines += ["  classDef removed stroke-dasharray:4 4", f"  class {','.join(removed)} removed"]
    return "\n".join(lines) + "\n"


def _dot_text(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def dot(graph: Graph) -> str:
    """Graphviz: ``ftops graph --format dot | dot -Tsvg > graph.svg``."""
    specs, bases, providers = _ids(graph)
    lines = ["digraph ftops {", "  rankdir=LR;", "  node [shape=box];"]
    for base, node_id in bases.items():
        lines.append(f"  {node_id} [label={_dot_text(base)}, shape=ellipse];")
    for provider, kind in graph.providers.items():
        lines += [f"  subgraph cluster_{providers[provider]} {{",
                  f"    label={_dot_text(f'provider {provider} ({kind})')};"]
        for node in graph.nodes:
            if node.provider == provider:
                style = ", style=dashed" if node.removed else ""
                lines.append(f"    {specs[node.name]} [label={_dot_text(chr(10).join(_label(node)))}{style}];")
        lines.append("  }")
    for node in graph.nodes:
        if node.parent in specs:
            lines.append(f'  {specs[node.parent]} -> {specs[node.name]} [label="continues"];')
        elif node.base_model in bases:
            lines.append(f"  {bases[node.base_model]} -> {specs[node.name]};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def text(graph: Graph) -> str:
    """Trees from each base model down through the specs that continue from each other."""
    lines: list[str] = []

    def walk(node: Node, prefix: str, last: bool) -> None:
        title, pinned = _label(node)
        lines.append(f"{prefix}{'└── ' if last else '├── '}{title}  [{node.provider}]  {pinned}")
        children = graph.children(node.name)
        for i, child in enumerate(children):
            walk(child, prefix + ("    " if last else "│   "), i == len(children) - 1)

    for base in graph.base_models():
        lines.append(base)
        roots = graph.roots(base)
        for i, node in enumerate(roots):
            walk(node, "", i == len(roots) - 1)
    orphans = [n for n in graph.nodes if not n.base_model and not graph.has(n.parent)]
    if orphans:  # lockfile entries whose parent and base model are both unknown
        lines.append("(base model unknown)")
        for i, node in enumerate(orphans):
            walk(node, "", i == len(orphans) - 1)
    if graph.providers:
        lines += ["", "Providers: " + ", ".join(f"{p} ({t})" for p, t in graph.providers.items())]
    return "\n".join(lines) + "\n" if lines else "No specs and nothing in the lockfile.\n"
