"""schemas/ is the single source: generated files are fresh, and mistakes are errors."""
from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pytest

from pipelines.cli import main
from pipelines.resources import data_dir
from pipelines.schema import SchemaError, event_schema, index_templates, load_schemas


def test_checked_in_templates_are_fresh():
    assert main(["schema", "render", "--check"]) == 0


def test_check_fails_on_a_stale_template(tmp_path: Path):
    assert main(["schema", "render", "--deploy-dir", str(tmp_path)]) == 0
    target = next(tmp_path.glob("*.json"))
    target.write_text(target.read_text().replace('"wildcard"', '"keyword"', 1))
    assert main(["schema", "render", "--check", "--deploy-dir", str(tmp_path)]) == 1


def _copy_schemas(tmp_path: Path) -> Path:
    folder = tmp_path / "schemas"
    shutil.copytree(data_dir("schemas"), folder)
    return folder


def test_unknown_type_is_an_error(tmp_path: Path):
    folder = _copy_schemas(tmp_path)
    fields = folder / "fields.yml"
    fields.write_text(fields.read_text().replace("type: ip,", "type: ipaddress,", 1))
    with pytest.raises(SchemaError, match="unknown type 'ipaddress'"):
        load_schemas(folder)


def test_undefined_field_is_an_error(tmp_path: Path):
    folder = _copy_schemas(tmp_path)
    sets = folder / "datasets.yml"
    sets.write_text(sets.read_text().replace("    - url.original", "    - url.orignal", 1))
    with pytest.raises(SchemaError, match="url.orignal"):
        load_schemas(folder)


def test_arrow_and_elasticsearch_agree_with_the_field_list():
    s = load_schemas()
    schema = event_schema()
    assert schema.field("@timestamp").type == pa.timestamp("ms", tz="UTC")
    assert schema.field("email.to.address").type == pa.list_(pa.string())
    assert schema.field("http.response.status_code").type == pa.int64()
    web = index_templates()["vigie-events-web"]["template"]["mappings"]["properties"]
    assert web["source"]["properties"]["ip"] == {"type": "ip"}
    assert web["url"]["properties"]["original"] == {"type": "wildcard"}
    assert "email" not in web  # mail fields stay out of the web template
    assert set(s.family_fields("web")) <= set(schema.names)


def test_signals_get_their_own_template():
    signals = index_templates()["vigie-signals"]
    assert signals["index_patterns"] == ["vigie-signals-*"]
    rule = signals["template"]["mappings"]["properties"]["rule"]["properties"]
    assert rule["author"]["type"] == "keyword" and rule["tags"]["type"] == "keyword"
