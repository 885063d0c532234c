"""Elasticsearch index names, in one place.

Events go to one index per dataset (`vigie-events-<family>-<format>`, e.g.
`vigie-events-web-apache_combined`), which the family's composable template
(`vigie-events-<family>`, pattern `vigie-events-<family>-*`, generated from schemas/) maps.
Signals and incidents get indices of their own, named like a data stream's default namespace.
"""
from __future__ import annotations

EVENTS_PREFIX = "vigie-events-"
SIGNALS_INDEX = "vigie-signals-default"
INCIDENTS_INDEX = "vigie-incidents-default"
ALL_EVENTS = f"{EVENTS_PREFIX}*"


def events_index(dataset: str) -> str:
    """Index of one dataset's events: `web.apache_combined` -> `vigie-events-web-apache_combined`."""
    return EVENTS_PREFIX + dataset.lower().replace(".", "-")


def family_events(family: str) -> str:
    """Pattern of every events index of one family: `web` -> `vigie-events-web-*`."""
    return f"{EVENTS_PREFIX}{family}-*"
