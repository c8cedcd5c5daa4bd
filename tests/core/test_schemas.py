"""The JSON Schemas shipped for editors and tools are themselves valid, and match the repo's schemas/ folder."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

SCHEMAS = sorted((Path(__file__).parents[2] / "schemas").glob("*.schema.json"))


def test_every_expected_schema_is_shipped():
    assert {p.name for p in SCHEMAS} >= {"spec.schema.json", "config.schema.json", "lockfile.schema.json",
                                         "plan.schema.json"}


@pytest.mark.parametrize("path", SCHEMAS, ids=lambda p: p.name)
def test_schema_is_valid_draft_2020_12(path):
    schema = json.loads(path.read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


def test_example_specs_validate_against_the_spec_schema():
    import yaml

    schema = json.loads((Path(__file__).parents[2] / "schemas" / "spec.schema.json").read_text())
    validator = jsonschema.Draft202012Validator(schema)
    specs = sorted((Path(__file__).parents[2] / "specs").glob("*.yaml"))
    assert specs
    for path in specs:
        for doc in yaml.safe_load_all(path.read_text()):
            assert not list(validator.iter_errors(doc)), path


def test_the_config_schema_is_generated_from_the_registered_provider_types():
    """Each provider type declares its ftops.yaml options once; schemas/config.schema.json is built from them."""
    from ftops import schemagen

    committed = (Path(__file__).parents[2] / "schemas" / "config.schema.json").read_text(encoding="utf-8")
    assert committed == schemagen.render(), "stale: run `python -m ftops.schemagen` and commit the result"


def test_the_lockfile_rendered_entry_by_entry_is_the_text_of_the_whole_document():
    # Lockfile.render reuses each unchanged entry's text; the result must be byte-for-byte what dumping the whole
    # document gives, whatever the values hold (quotes, line breaks of every kind, unicode, odd names).
    import random
    import string

    from ftops.lockfile import HEADER, VERSION, LockEntry, Lockfile
    from ftops.yamlload import dump

    rng = random.Random(7)
    alphabet = string.printable + "éü中\u2028\u0085\t  \n\n'\"#:-|>{}[]&*!%@`"

    def text() -> str:
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))

    for _ in range(150):
        entries = {}
        for i in range(rng.randint(1, 5)):
            name = rng.choice([text(), f"s{i}", "yes", "null", "1", "a b"]) or "x"
            entries[name] = LockEntry(name=name, provider=text(), model=text() or None,
                                      inputs={"suffix": text(), "metadata": {text(): text()}, "n": rng.random()},
                                      job={"id": text(), "error": text() + "\n" + text(), "seed": rng.randint(-5, 10**12)},
                                      pending=None if rng.random() < .5 else {"error": "  \n  x\n\n", "l": [text(), 1]})
        lock = Lockfile(entries, project=text() or None)
        body = {"version": VERSION, **({"project": lock.project} if lock.project else {}),
                "models": {n: lock.entries[n].to_dict() for n in sorted(lock.entries)}}
        assert lock.render() == HEADER + dump(body)
        assert lock.render() == HEADER + dump(body)  # and again, from the reused entry texts


def test_the_spec_schemas_deploy_block_is_generated_from_the_provider_types_deploy_options():
    """Each provider type declares its deploy block once; the spec schema's deploy is their union (editors) and a
    spec is checked against its own provider type's block when it is loaded."""
    from ftops import schemagen

    committed = (Path(__file__).parents[2] / "schemas" / "spec.schema.json").read_text(encoding="utf-8")
    assert committed == schemagen.render_spec(), "stale: run `python -m ftops.schemagen` and commit the result"
