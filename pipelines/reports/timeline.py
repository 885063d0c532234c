"""An incident's evidence -> the geometry of its timeline picture (drawn as inline SVG).

In: evidence and signal rows of an incident record (`@timestamp`, `event.dataset`, `rule.name`),
its first/last seen and detection times, a display timezone and a language. Out: a plain dict
of lanes (one per log family: mail, web site, remote access, plus "other" when needed), time
ticks, marks (one per piece of evidence, one per correlation result) and the detection line,
all in SVG user units. The templates draw it; nothing here writes markup, so every text that
reaches the page goes through the templates' escaping.
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from pipelines.reports import i18n

FAMILIES = ("mail", "web", "vpn")
WIDTH = 960
LEFT = 170          # room for the lane names
RIGHT = 24
TOP = 30            # room for the tick labels
LANE_HEIGHT = 40
BOTTOM = 16
MAX_MARKS = 2000    # beyond this, marks are thinned evenly (the table lists the evidence)

# Tick spacings in minutes, smallest first: the first that gives at most 8 ticks is used.
_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10080)


def parse_time(value: object) -> dt.datetime | None:
    """An ISO-8601 string (with Z or an offset) or epoch milliseconds -> aware UTC datetime."""
    if value is None or value == "":
        return None
    try:
        if isinstance(value, (int, float)):
            return dt.datetime.fromtimestamp(value / 1000, dt.timezone.utc)
        when = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        return None
    return when.replace(tzinfo=dt.timezone.utc) if when.tzinfo is None else when.astimezone(dt.timezone.utc)


def family_of(dataset: object) -> str:
    """`mail.postfix` -> `mail`; anything outside the three families -> `other`."""
    family = str(dataset or "").split(".", 1)[0]
    return family if family in FAMILIES else "other"


def _ticks(start: dt.datetime, end: dt.datetime, tz: ZoneInfo) -> list[dt.datetime]:
    span_min = max((end - start).total_seconds() / 60, 1)
    step = next((s for s in _STEPS if span_min / s <= 8), _STEPS[-1])
    local = start.astimezone(tz)
    # First tick: the local time rounded up to the step (days: local midnight).
    if step >= 1440:
        first = local.replace(hour=0, minute=0, second=0, microsecond=0)
    else:
        minutes = local.hour * 60 + local.minute
        rounded = -(-minutes // step) * step
        first = local.replace(hour=0, minute=0, second=0, microsecond=0) + dt.timedelta(minutes=rounded)
    ticks, t = [], first
    while t <= end.astimezone(tz):
        if t >= local:
            ticks.append(t)
        # Step in absolute time so a daylight-saving change does not stall the loop.
        t = (t.astimezone(dt.timezone.utc) + dt.timedelta(minutes=step)).astimezone(tz)
    return ticks


def timeline(evidence: list[dict], signals: list[dict], first_seen: object, last_seen: object,
             detected_at: object, tz: ZoneInfo, lang: str) -> dict:
    """The geometry of one incident's timeline (see the module docstring).

    Returns {width, height, lanes: [{family, label, y, count}], ticks: [{x, label}],
    marks: [{x, y, family, title, shape}], detected: {x, label} | None, empty: bool}."""
    times = [(parse_time(e.get("@timestamp")), e, "evidence") for e in evidence]
    times += [(parse_time(s.get("@timestamp")), s, "correlation") for s in signals
              if s.get("vigie.correlation.type")]
    times = [(t, row, shape) for t, row, shape in times if t is not None]
    bounds = [t for t in (parse_time(first_seen), parse_time(last_seen)) if t is not None]
    all_times = [t for t, _, _ in times] + bounds
    families = list(FAMILIES)
    if any(family_of(row.get("event.dataset")) == "other" for _, row, _ in times):
        families.append("other")
    height = TOP + LANE_HEIGHT * len(families) + BOTTOM
    lanes = [{"family": f, "label": i18n.lane_name(lang, f), "y": TOP + LANE_HEIGHT * i,
              "mid": TOP + LANE_HEIGHT * i + LANE_HEIGHT // 2,
              "count": sum(1 for _, row, shape in times
                           if shape == "evidence" and family_of(row.get("event.dataset")) == f)}
             for i, f in enumerate(families)]
    result = {"width": WIDTH, "height": height, "left": LEFT, "right": WIDTH - RIGHT, "top": TOP,
              "lanes": lanes, "ticks": [], "marks": [], "detected": None, "empty": not all_times}
    if not all_times:
        return result
    start, end = min(all_times), max(all_times)
    span = (end - start).total_seconds()
    pad = max(span * 0.03, 30.0)
    start, end = start - dt.timedelta(seconds=pad), end + dt.timedelta(seconds=pad)
    span = (end - start).total_seconds()
    plot = WIDTH - RIGHT - LEFT

    def x_of(t: dt.datetime) -> float:
        return round(LEFT + (t - start).total_seconds() / span * plot, 1)

    several_days = start.astimezone(tz).date() != end.astimezone(tz).date()
    for t in _ticks(start, end, tz):
        text = i18n.format_time(t, seconds=False)
        if several_days:
            text = f"{t.day:02d}/{t.month:02d} {text}"
        result["ticks"].append({"x": x_of(t.astimezone(dt.timezone.utc)), "label": text})
    lane_mid = {lane["family"]: lane["mid"] for lane in lanes}
    times.sort(key=lambda item: item[0])
    if len(times) > MAX_MARKS:
        stride = len(times) / MAX_MARKS
        times = [times[int(i * stride)] for i in range(MAX_MARKS)]
    for t, row, shape in times:
        family = family_of(row.get("event.dataset"))
        title = i18n.label(lang, "mark_title").format(
            dataset=row.get("event.dataset") or "?", time=i18n.format_time(t.astimezone(tz)),
            rule=row.get("rule.name") or "")
        result["marks"].append({"x": x_of(t), "y": lane_mid[family], "family": family,
                                "title": title, "shape": shape})
    detected = parse_time(detected_at)
    if detected is not None:
        result["detected"] = {"x": x_of(detected),
                              "label": f"{i18n.label(lang, 'detected_at')} {i18n.format_time(detected.astimezone(tz), seconds=False)}"}
    return result
