"""Safe YAML loading that remembers where every key is, so errors can name the file, line and key path.

Only ``yaml.SafeLoader`` is used: specs and lockfiles are untrusted input. Documents are size-bounded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ftops.errors import Problem

MAX_YAML_BYTES = 8 * 1024 * 1024  # a spec or lockfile larger than this is not a spec


@dataclass
class Document:
    """One YAML document: its data and a map from key path (tuple) to 1-based line."""

    data: Any
    file: str
    lines: dict[tuple, int] = field(default_factory=dict)
    start_line: int = 1

    def line_of(self, path: tuple | list) -> int:
        path = tuple(path)
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path, self.start_line)


def _walk(node: yaml.Node, path: tuple, lines: dict[tuple, int]) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.start_mark)
            lines[path + (key,)] = key_node.start_mark.line + 1
            _walk(value_node, path + (key,), lines)
            lines[path + (key,)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, path + (i,), lines)


class _Loader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate keys instead of silently keeping the last one, and refuses aliases:
    ftops files never need them, and ``*alias`` expansion is how a few lines become gigabytes."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(None, None, "aliases (*name) are not allowed in ftops files",
                                              event.start_mark)
        return super().compose_node(parent, index)

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                shown = key_node.value if isinstance(key_node, yaml.ScalarNode) else "this key"
                kind = {bool: "true/false", int: "a number", float: "a number", type(None): "null"}.get(
                    type(key), f"a {type(key).__name__}")
                raise yaml.constructor.ConstructorError(
                    None, None, f"keys must be text, but {shown!r} reads as {kind}; quote it ('{shown}')",
                    key_node.start_mark)
            try:
                duplicate = key in seen
            except TypeError:
                raise yaml.constructor.ConstructorError(None, None, "mapping key is not a string",
                                                        key_node.start_mark)
            if duplicate:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def read_text(path: Path, display: str) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_YAML_BYTES:
            raise_problem(display, None, f"file is {size} bytes; YAML files over {MAX_YAML_BYTES} bytes are refused")
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise_problem(display, None, f"not valid UTF-8 ({exc.reason} at byte {exc.start})")
    except OSError as exc:
        raise_problem(display, None, f"cannot read: {exc.strerror or exc}")
    raise AssertionError("unreachable")


def raise_problem(file: str, line: int | None, message: str, key: str | None = None):
    from ftops.errors import SpecError

    raise SpecError(f"{file} is not valid", problems=[Problem(message, file=file, line=line, key=key)])


def _unreadable(node: yaml.Node, path: tuple = ()) -> tuple[yaml.Node, tuple] | None:
    """The first scalar whose explicit tag its value does not fit (``!!int one``), and its key path."""
    if isinstance(node, yaml.ScalarNode):
        try:
            yaml.SafeLoader("").construct_object(node)
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError, yaml.YAMLError):
            return node, path
        return None
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else "?"
            found = _unreadable(key_node, path) or _unreadable(value_node, path + (key,))
            if found:
                return found
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            found = _unreadable(item, path + (i,))
            if found:
                return found
    return None


def load_documents(text: str, display: str) -> list[Document]:
    """Parse every document in ``text``; a syntax error names the file and line."""
    docs: list[Document] = []
    try:
        loader = _Loader(text)
        try:
            while loader.check_node():
                node = loader.get_node()
                if node is None:
                    continue
                try:
                    data = loader.construct_document(node)
                except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
                    # a tag whose value does not fit it (!!int one, !!timestamp x, ...)
                    bad, path = _unreadable(node) or (node, ())
                    raise_problem(display, bad.start_mark.line + 1,
                                  f"YAML value {bad.value!r} cannot be read as {bad.tag.rsplit(':', 1)[-1]} "
                                  f"({type(exc).__name__}); remove the explicit !!tag"
                                  if isinstance(bad, yaml.ScalarNode) else
                                  f"YAML value cannot be read ({type(exc).__name__}); remove the explicit !!tag",
                                  key=".".join(map(str, path)) or None)
                lines: dict[tuple, int] = {}
                _walk(node, (), lines)
                docs.append(Document(data=data, file=display, lines=lines, start_line=node.start_mark.line + 1))
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        message = " ".join(str(x) for x in (exc.context, exc.problem) if x) or "invalid YAML"
        raise_problem(display, line, f"YAML syntax: {message}")
    except yaml.YAMLError as exc:
        raise_problem(display, None, f"YAML syntax: {exc}")
    except RecursionError:
        raise_problem(display, None, "YAML nesting is too deep")
    return docs


def dump(data: Any) -> str:
    """Deterministic YAML: block style, insertion order, unicode kept, long lines unwrapped."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False, allow_unicode=True,
                     width=100_000)


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data):  # never write an alias: every value is spelled out
        return True


def _str_presenter(dumper, value):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str_presenter)
