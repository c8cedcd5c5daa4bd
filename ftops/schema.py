"""JSON Schema validation of YAML documents (specs, ftops.yaml, lockfile). The schemas are data, kept in
``ftops/schemas/`` (also at the repo's ``schemas/``) so editors can use them too."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jsonschema

from ftops.errors import Problem, dotted_path
from ftops.yamlload import Document


@lru_cache(maxsize=None)
def load_schema(name: str) -> dict:
    return json.loads(resources.files("ftops").joinpath(f"schemas/{name}.schema.json").read_text("utf-8"))


@lru_cache(maxsize=None)
def _validator(name: str) -> jsonschema.Draft202012Validator:
    # the schemas themselves are checked by the test suite, not on every start; jsonschema is imported when a
    # document is first validated (never for --help)
    import jsonschema

    return jsonschema.Draft202012Validator(load_schema(name), format_checker=jsonschema.FormatChecker())




MAX_MESSAGE = 300  # a message quoting a huge value is cut: it names the key and line anyway


def _extra_keys(error: jsonschema.ValidationError) -> list:
    schema: Any = error.schema
    instance: Any = error.instance
    properties = schema.get("properties", {}) if isinstance(schema, dict) else {}
    return sorted(set(instance) - set(properties), key=str) if isinstance(instance, dict) else []


def _message(error: jsonschema.ValidationError) -> str:
    if error.validator == "type" and error.validator_value == "array" and isinstance(error.instance, str):
        items = [item.strip() for item in error.instance.split(",") if item.strip()]
        return _short(f"{error.instance!r} is one string, but this key takes a list: write [{', '.join(items)}]")
    if error.validator == "additionalProperties":
        extra = _extra_keys(error)
        if extra:
            return f"unknown key {', '.join(repr(e) for e in extra)}"
    if error.validator in ("oneOf", "anyOf") and error.context:
        # prefer the branch that got furthest (a "maximum" beats a failed "const: auto" or a type mismatch)
        telling = [e for e in error.context if e.validator not in ("const", "type", "enum")]
        from jsonschema.exceptions import best_match

        best = telling[0] if telling else best_match(error.context)
        return _short(best.message)
    return _short(error.message)


def _short(message: str) -> str:
    return message if len(message) <= MAX_MESSAGE else message[:MAX_MESSAGE] + "... (cut)"


@lru_cache(maxsize=None)
def _schema_digest(name: str) -> str:
    return hashlib.sha256(resources.files("ftops").joinpath(f"schemas/{name}.schema.json").read_bytes()).hexdigest()


class Memo:
    """Documents already found valid, remembered in ``<cache_dir>/validated`` by the digest of the schema and of
    the document's text, so an unchanged spec or lockfile is not validated (nor jsonschema imported) again.
    Only successes are remembered; without a cache dir nothing is."""

    FILE = "validated"
    KEEP = 20_000

    def __init__(self, cache_dir: Path | None):
        self._file = cache_dir / self.FILE if cache_dir is not None else None
        self._known: set[str] | None = None
        self._new: list[str] = []

    def _key(self, doc: Document, name: str) -> str | None:
        if not doc.identity:
            return None
        return hashlib.sha256(f"{name}:{_schema_digest(name)}:{doc.identity}".encode()).hexdigest()

    def _load(self) -> set[str]:
        if self._known is None:
            try:
                self._known = set(self._file.read_text(encoding="ascii").split()) if self._file else set()
            except (OSError, ValueError):
                self._known = set()
        return self._known

    def knows(self, doc: Document, name: str) -> bool:
        key = self._key(doc, name)
        return key is not None and self._file is not None and key in self._load()

    def remember(self, doc: Document, name: str) -> None:
        key = self._key(doc, name)
        if key is not None and self._file is not None and key not in self._load():
            self._known.add(key)  # type: ignore[union-attr]
            self._new.append(key)

    def save(self) -> None:
        """Append what was learnt (atomically; trimmed to the newest KEEP keys). A failure only costs time."""
        if not self._new or self._file is None:
            return
        try:
            try:
                old = self._file.read_text(encoding="ascii").split()
            except OSError:
                old = []
            keys = list(dict.fromkeys(old + self._new))[-self.KEEP:]
            self._file.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self._file.parent, prefix=".validated-")
            with os.fdopen(fd, "w", encoding="ascii") as fh:
                fh.write("\n".join(keys) + "\n")
            os.replace(tmp, self._file)
            self._new = []
        except (OSError, ValueError):
            pass


def validate(doc: Document, name: str, memo: Memo | None = None) -> list[Problem]:
    """All schema problems in ``doc``, each with file, line and the dotted path of the bad key (none when the
    memo knows the document as valid)."""
    if memo is not None and memo.knows(doc, name):
        return []
    problems = _problems(_validator(name), doc, doc.data, [])
    if memo is not None and not problems:
        memo.remember(doc, name)
    return problems


def validate_part(doc: Document, path: list, schema: dict[str, Any], suffix: str = "") -> list[Problem]:
    """The problems of the value at ``path`` in ``doc`` against ``schema`` (a part whose schema depends on something
    else in the project, such as a spec's ``deploy`` block on its provider's type); ``suffix`` ends each message."""
    value: Any = doc.data
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return [Problem(p.message + suffix, file=p.file, line=p.line, key=p.key) for p in
            _problems(_compiled(json.dumps(schema, sort_keys=True)), doc, value, list(path))]


@lru_cache(maxsize=None)
def _compiled(schema_json: str) -> jsonschema.Draft202012Validator:
    import jsonschema

    return jsonschema.Draft202012Validator(json.loads(schema_json), format_checker=jsonschema.FormatChecker())


def _problems(validator: jsonschema.Draft202012Validator, doc: Document, value: Any, prefix: list) -> list[Problem]:
    problems = []
    for error in sorted(validator.iter_errors(value), key=lambda e: list(map(str, e.absolute_path))):
        path = prefix + list(error.absolute_path)
        if error.validator == "additionalProperties":
            extra = _extra_keys(error)
            for key in extra:
                problems.append(Problem(f"unknown key {key!r}", file=doc.file, line=doc.line_of(path + [key]),
                                        key=dotted_path(path + [key])))
            if extra:
                continue
        problems.append(Problem(_message(error), file=doc.file, line=doc.line_of(path),
                                key=dotted_path(path) or None))
    return sorted(problems, key=lambda p: (p.line or 0, p.key or ""))
