"""Vigie's pySigma processing pipeline (detections/pipelines/vigie_ecs.yml) and rule routing.

In: the pipeline YAML shipped in detections/pipelines/. Out: `vigie_pipeline()`, a fresh
pySigma ProcessingPipeline (field mapping to ECS, keywords -> event.original, placeholder
values), and `route(rule)`, the event.dataset values (web.apache_combined) or whole families
(mail) a rule's log source maps to, read from the same YAML's `vigie_route_*` items.
"""
from __future__ import annotations

import functools
from pathlib import Path

from sigma.processing.pipeline import ProcessingPipeline
from sigma.processing.transformations import SetCustomAttributeTransformation
from sigma.rule import SigmaRule

from pipelines.errors import VigieError
from pipelines.resources import data_dir

PIPELINE_NAME = "vigie_ecs"
ROUTE_ATTRIBUTE = "vigie.datasets"


def pipeline_path() -> Path:
    """Where the shipped pipeline YAML is."""
    return data_dir("detections") / "pipelines" / f"{PIPELINE_NAME}.yml"


@functools.lru_cache(maxsize=None)
def _pipeline_text() -> str:
    path = pipeline_path()
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise VigieError(f"cannot read the Sigma pipeline {path}: {exc}") from exc


def vigie_pipeline() -> ProcessingPipeline:
    """A new ProcessingPipeline built from the shipped YAML (pipelines carry per-run state)."""
    return ProcessingPipeline.from_yaml(_pipeline_text())


@functools.lru_cache(maxsize=None)
def _route_items() -> tuple:
    """The pipeline items that set the route attribute, in pipeline order."""
    return tuple(item for item in vigie_pipeline().items
                 if isinstance(item.transformation, SetCustomAttributeTransformation)
                 and item.transformation.attribute == ROUTE_ATTRIBUTE)


def routes(rule: SigmaRule) -> tuple[str, ...]:
    """Datasets or families the rule's log source maps to, in the YAML's order; empty when
    no route matches. The last matching route item wins (items go general -> specific)."""
    chosen: tuple[str, ...] = ()
    for item in _route_items():
        if item.match_rule_conditions(rule):
            chosen = tuple(item.transformation.value)
    return chosen


def route(rule: SigmaRule) -> frozenset[str]:
    """The set of event.dataset values or family names (`mail` = every mail.* dataset) the
    rule's log source maps to."""
    return frozenset(routes(rule))

