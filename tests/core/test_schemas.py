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


def test_the_spec_schemas_deploy_block_is_generated_from_the_provider_types_deploy_options():
    """Each provider type declares its deploy block once; the spec schema's deploy is their union (editors) and a
    spec is checked against its own provider type's block when it is loaded."""
    from ftops import schemagen

    committed = (Path(__file__).parents[2] / "schemas" / "spec.schema.json").read_text(encoding="utf-8")
    assert committed == schemagen.render_spec(), "stale: run `python -m ftops.schemagen` and commit the result"
