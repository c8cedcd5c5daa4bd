"""Safe YAML loading that remembers where every key is, so errors can name the file, line and key path.

Only ``yaml.SafeLoader`` is used: specs and lockfiles are untrusted input. Documents are size-bounded.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ftops.errors import FtopsError as Problemful, Problem

MAX_YAML_BYTES = 8 * 1024 * 1024  # a spec or lockfile larger than this is not a spec


@dataclass
class Document:
    """One YAML document: its data and a map from key path (tuple) to 1-based line."""

    data: Any
    file: str
    lines: dict[tuple, int] = field(default_factory=dict)
    start_line: int = 1
    identity: str = ""  # sha256 of the file's text and the document's place in it (what validation depends on)
    node: Any = field(default=None, repr=False, compare=False)  # the composed node, walked for lines when asked

    def line_of(self, path: tuple | list) -> int:
        if self.node is not None:  # lines are only needed for a message: found on the first one
            _walk(self.node, (), self.lines, set())
            self.node = None
        path = tuple(path)
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path, self.start_line)


class _Shared(Exception):
    """A node reached twice: the document uses an alias (only the C parser gets this far with one)."""


def _walk(node: yaml.Node, path: tuple, lines: dict[tuple, int], seen: set[int]) -> None:
    if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
        if id(node) in seen:
            raise _Shared
        seen.add(id(node))
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.start_mark)
            lines[path + (key,)] = key_node.start_mark.line + 1
            _walk(value_node, path + (key,), lines, seen)
            lines[path + (key,)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, path + (i,), lines, seen)


_STR = "tag:yaml.org,2002:str"
_PLAIN_TAGS: dict[str, str] = {}  # a plain scalar's implicit tag (SafeLoader's resolvers have no path rules)


class _Keys:
    """Mapping keys must be distinct text (a duplicate is refused instead of silently keeping the last one).
    Plain scalars' tags are remembered: a lockfile repeats the same keys and values hundreds of times."""

    def resolve(self, kind, value, implicit):
        if kind is yaml.ScalarNode and implicit[0] and len(value) <= 64:
            tag = _PLAIN_TAGS.get(value)
            if tag is None:
                tag = super().resolve(kind, value, implicit)
                if len(_PLAIN_TAGS) < 50_000:
                    _PLAIN_TAGS[value] = tag
            return tag
        return super().resolve(kind, value, implicit)

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            if key_node.tag == _STR and isinstance(key_node, yaml.ScalarNode):
                key = key_node.value  # the common case, without a constructor round trip
            else:
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


class _Loader(_Keys, yaml.SafeLoader):
    """The pure-Python SafeLoader, which also refuses aliases as it composes: ftops files never need them, and
    ``*alias`` expansion is how a few lines become gigabytes. Used for the exact diagnostics of a broken file."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(None, None, "aliases (*name) are not allowed in ftops files",
                                              event.start_mark)
        return super().compose_node(parent, index)


_CSafeLoader = getattr(yaml, "CSafeLoader", None)  # libyaml: about 10x faster on a large lockfile
_FastLoader: type | None = type("_FastLoader", (_Keys, _CSafeLoader), {}) if _CSafeLoader else None


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
    """Parse every document in ``text``; a syntax error names the file and line. A well-formed file is parsed
    by libyaml when PyYAML has it; anything it refuses (or an alias) is parsed again by the pure-Python loader,
    whose diagnostics are the ones ftops reports."""
    if _FastLoader is not None:
        try:
            return _parse(text, display, _FastLoader)
        except (Problemful, yaml.YAMLError, ValueError, TypeError, KeyError, AttributeError, OverflowError,
                RecursionError, _Shared):
            pass
    return _parse(text, display, _Loader)


def _parse(text: str, display: str, loader_type: type) -> list[Document]:
    docs: list[Document] = []
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    may_alias = "&" in text  # an alias needs an anchor; the pure-Python loader refuses aliases as it composes
    try:
        loader = loader_type(text)
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
                if may_alias:  # the C parser composes an alias as a second reference: found by walking now
                    _walk(node, (), lines, set())
                docs.append(Document(data=data, file=display, lines=lines, start_line=node.start_mark.line + 1,
                                     identity=f"{digest}:{len(docs)}", node=None if may_alias else node))
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
