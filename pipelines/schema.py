"""Fields from schemas/ -> the Arrow schema of events and dead letters, and ES templates.

In: schemas/fields.yml (every field: name, type, array, description) and schemas/datasets.yml
(which fields each log family fills); schemas/signals.yml, deadletters.yml and incidents.yml in
the same format. Out: `event_schema()` (pyarrow.Schema used by the parsers and the Parquet
writer), `signal_schema()`, `dead_letter_schema()`, `incident_schema()` and `index_templates()` (composable Elasticsearch index
templates: one per family, one for signals, one for incidents). A field of type `object` has
`fields:` of its own (names relative to it): an Arrow struct (a list of structs with
`array: true`) and an Elasticsearch object. An unknown type or an undefined field raises
SchemaError: nothing defaults silently.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import yaml

from pipelines.errors import VigieError
from pipelines.resources import data_dir

FAMILIES = ("mail", "web", "vpn")

# schema type -> (Arrow type, Elasticsearch mapping)
ARROW_TYPES: dict[str, pa.DataType] = {
    "keyword": pa.string(),
    "wildcard": pa.string(),
    "match_only_text": pa.string(),
    "ip": pa.string(),
    "long": pa.int64(),
    "integer": pa.int32(),
    "float": pa.float32(),
    "double": pa.float64(),
    "date": pa.timestamp("ms", tz="UTC"),
    "boolean": pa.bool_(),
    "binary": pa.binary(),
    # ECS geo_point: a location as latitude and longitude in degrees (WGS 84).
    "geo_point": pa.struct([("lat", pa.float64()), ("lon", pa.float64())]),
}
ES_TYPES: dict[str, dict[str, Any]] = {
    "keyword": {"type": "keyword", "ignore_above": 1024},
    "wildcard": {"type": "wildcard"},
    "match_only_text": {"type": "match_only_text"},
    "ip": {"type": "ip"},
    "long": {"type": "long"},
    "integer": {"type": "integer"},
    "float": {"type": "float"},
    "double": {"type": "double"},
    "date": {"type": "date"},
    "boolean": {"type": "boolean"},
    "binary": {"type": "binary"},
    "geo_point": {"type": "geo_point"},
}


OBJECT = "object"


class SchemaError(VigieError):
    """schemas/ is inconsistent (unknown type, undefined field, duplicate)."""


@dataclass(frozen=True)
class Field:
    """One field as described in schemas/*.yml (an `object` field has children)."""

    name: str
    type: str
    array: bool
    description: str
    children: tuple["Field", ...] = ()

    @property
    def arrow_type(self) -> pa.DataType:
        base = (pa.struct([pa.field(c.name, c.arrow_type) for c in self.children])
                if self.type == OBJECT else ARROW_TYPES[self.type])
        return pa.list_(base) if self.array else base


@dataclass(frozen=True)
class Schemas:
    """The loaded schemas/ folder: all fields by name, and the field names of each family."""

    ecs_version: str
    fields: dict[str, Field]
    common: tuple[str, ...]
    datasets: dict[str, tuple[str, ...]]

    def family_fields(self, family: str) -> tuple[str, ...]:
        """Common fields then the family's own, in declaration order, without repeats."""
        return tuple(dict.fromkeys(self.common + self.datasets[family]))

    def event_field_names(self) -> tuple[str, ...]:
        """Every event field of every family, in a stable order."""
        names = list(self.common)
        for family in FAMILIES:
            names.extend(self.datasets[family])
        return tuple(dict.fromkeys(names))


def _load_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise SchemaError(f"cannot read {path}: {exc}") from exc


def _parse_fields(entries: list[dict], path: Path) -> dict[str, Field]:
    """Field entries of a schema file -> Fields by name; an unknown type or a repeat is an error."""
    fields: dict[str, Field] = {}
    for entry in entries:
        name, ftype = entry.get("name"), entry.get("type")
        if not name or not entry.get("description"):
            raise SchemaError(f"{path}: field {entry!r} needs a name and a description")
        if ftype not in ARROW_TYPES and ftype != OBJECT:
            raise SchemaError(f"{path}: field {name}: unknown type {ftype!r} "
                              f"(known: {', '.join(sorted([*ARROW_TYPES, OBJECT]))})")
        if name in fields:
            raise SchemaError(f"{path}: field {name} is defined twice")
        children: tuple[Field, ...] = ()
        if ftype == OBJECT:
            if not entry.get("fields"):
                raise SchemaError(f"{path}: field {name} is an object and needs fields")
            children = tuple(_parse_fields(entry["fields"], path).values())
        elif entry.get("fields"):
            raise SchemaError(f"{path}: field {name} has fields but is not an object")
        fields[name] = Field(name, ftype, bool(entry.get("array", False)), entry["description"], children)
    return fields


def load_schemas(folder: Path | None = None) -> Schemas:
    """Read and validate fields.yml and datasets.yml from `folder` (default: shipped schemas/)."""
    folder = folder or data_dir("schemas")
    raw_fields = _load_yaml(folder / "fields.yml")
    raw_sets = _load_yaml(folder / "datasets.yml")
    fields = _parse_fields(raw_fields.get("fields", []), folder / "fields.yml")

    def checked(names: list[str], where: str) -> tuple[str, ...]:
        for n in names:
            if n not in fields:
                raise SchemaError(f"{folder / 'datasets.yml'}: {where} uses {n!r}, "
                                  "which schemas/fields.yml does not define")
        return tuple(names)

    common = checked(raw_sets.get("common", []), "common")
    datasets = {}
    for family in FAMILIES:
        if family not in raw_sets.get("datasets", {}):
            raise SchemaError(f"{folder / 'datasets.yml'}: family {family!r} is missing")
        datasets[family] = checked(raw_sets["datasets"][family], family)
    return Schemas(str(raw_fields.get("ecs_version", "")), fields, common, datasets)


@functools.lru_cache(maxsize=None)
def schemas() -> Schemas:
    """The shipped schemas, loaded once per process."""
    return load_schemas()


@functools.lru_cache(maxsize=None)
def event_schema() -> pa.Schema:
    """Arrow schema of an event row: every field of every family, flat dotted column names."""
    s = schemas()
    return pa.schema([pa.field(n, s.fields[n].arrow_type) for n in s.event_field_names()])


def _nested_properties(fields: list[Field]) -> dict[str, Any]:
    """Fields with dotted names -> nested Elasticsearch `properties` objects."""
    root: dict[str, Any] = {}
    for field in fields:
        parts = field.name.split(".")
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {"properties": {}})["properties"]
        node[parts[-1]] = ({"properties": _nested_properties(list(field.children))}
                           if field.type == OBJECT else dict(ES_TYPES[field.type]))
    return root


def _template(name: str, fields: list[Field], sources: str, ecs_version: str) -> dict[str, Any]:
    """A composable index template for indices `<name>-*` mapping exactly `fields`."""
    return {
        "index_patterns": [f"{name}-*"],
        "priority": 200,
        "_meta": {"generated_by": f"vigie schema render (from {sources})", "do_not_edit": True,
                  "ecs_version": ecs_version},
        "template": {
            "settings": {"index": {"mapping": {"total_fields": {"limit": 2000}}}},
            "mappings": {"dynamic": "strict", "properties": _nested_properties(fields)},
        },
    }


def index_templates(s: Schemas | None = None) -> dict[str, dict[str, Any]]:
    """Composable index templates: one per event family, one for signals and one for incidents
    (name -> body)."""
    s = s or schemas()
    out = {f"vigie-events-{family}": _template(
        f"vigie-events-{family}", [s.fields[n] for n in s.family_fields(family)],
        "schemas/fields.yml and schemas/datasets.yml", s.ecs_version) for family in FAMILIES}
    out["vigie-signals"] = _template("vigie-signals", list(signal_fields().values()),
                                     "schemas/signals.yml", s.ecs_version)
    out["vigie-incidents"] = _template("vigie-incidents", list(incident_fields().values()),
                                       "schemas/incidents.yml", s.ecs_version)
    return out


@functools.lru_cache(maxsize=None)
def signal_fields() -> dict[str, Field]:
    """Signal fields from schemas/signals.yml (same format and types as fields.yml); a field
    that is also an event field must have the event field's type."""
    return _side_schema_fields("signals.yml")


@functools.lru_cache(maxsize=None)
def signal_schema() -> pa.Schema:
    """Arrow schema of a signal row (schemas/signals.yml)."""
    return pa.schema([pa.field(f.name, f.arrow_type) for f in signal_fields().values()])


def _side_schema_fields(filename: str) -> dict[str, Field]:
    """Fields of schemas/<filename> (same format and types as fields.yml); a field that is also
    an event field must have the event field's type."""
    path = data_dir("schemas") / filename
    events = schemas().fields
    fields = _parse_fields(_load_yaml(path).get("fields", []), path)
    for name, field in fields.items():
        event = events.get(name)
        if event is not None and (event.type, event.array) != (field.type, field.array):
            raise SchemaError(f"{path}: field {name} is {field.type}{'[]' * field.array} but "
                              f"fields.yml says {event.type}{'[]' * event.array}")
    return fields


@functools.lru_cache(maxsize=None)
def dead_letter_fields() -> dict[str, Field]:
    """Dead-letter fields from schemas/deadletters.yml."""
    path = data_dir("schemas") / "deadletters.yml"
    return _parse_fields(_load_yaml(path).get("fields", []), path)


@functools.lru_cache(maxsize=None)
def dead_letter_schema() -> pa.Schema:
    """Arrow schema of a dead-letter row (schemas/deadletters.yml)."""
    return pa.schema([pa.field(f.name, f.arrow_type) for f in dead_letter_fields().values()])


@functools.lru_cache(maxsize=None)
def incident_fields() -> dict[str, Field]:
    """Incident record fields from schemas/incidents.yml (the incident contract's keys)."""
    path = data_dir("schemas") / "incidents.yml"
    return _parse_fields(_load_yaml(path).get("fields", []), path)


@functools.lru_cache(maxsize=None)
def incident_schema() -> pa.Schema:
    """Arrow schema of an incident record (schemas/incidents.yml; nested lists of structs)."""
    return pa.schema([pa.field(f.name, f.arrow_type) for f in incident_fields().values()])
