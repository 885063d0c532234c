"""A replay's output folder -> a short plain-text overview of what the logs show.

In: DIR of `vigie replay` (events/ Parquet, deadletter/) and optionally a scenario's truth.json.
Out: lines of text: time range per dataset, top source countries (enrichment), the rules that
fired most (with their level), the addresses with the most authentication failures, the noisiest web clients by error status, the
senders with the most recipients, and, with a truth file, how many lines of each attack step were
read into events and how many of its events raised a signal.
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from pipelines.sinks.parquet import DEAD_LETTER_DIR, EVENTS_DIR, SIGNALS_DIR


def _events(out: Path, columns: list[str]) -> pa.Table:
    folder = out / EVENTS_DIR
    if not folder.is_dir():
        return pa.table({c: pa.array([], pa.string()) for c in columns})
    return ds.dataset(folder, format="parquet", partitioning="hive").to_table(columns=columns)


def _top(table: pa.Table, key: str, n: int = 5) -> list[tuple[str, int]]:
    if table.num_rows == 0:
        return []
    counts = table.group_by(key).aggregate([(key, "count")]).sort_by([(f"{key}_count", "descending")])
    return [(k, c) for k, c in zip(counts[key].to_pylist(), counts[f"{key}_count"].to_pylist()) if k][:n]


def overview(out: Path, truth: dict | None = None) -> list[str]:
    """Plain-text lines describing the events under `out` (see the module docstring)."""
    t = _events(out, ["@timestamp", "event.module", "event.category", "event.outcome", "source.ip",
                      "http.response.status_code", "email.to.address", "user.name",
                      "source.geo.country_iso_code", "vigie.source.internal", "vigie.threat.lists"])
    lines = []
    for family in ("mail", "web", "vpn"):
        part = t.filter(pc.equal(t["event.module"], family))
        if part.num_rows:
            lo, hi = pc.min(part["@timestamp"]).as_py(), pc.max(part["@timestamp"]).as_py()
            lines.append(f"{family}: {part.num_rows:,} events from {lo:%Y-%m-%d %H:%M} to {hi:%H:%M} UTC")
    lines.extend(_geography(t))
    signals = _signals(out)
    if signals.num_rows:
        by_rule = Counter(zip(signals["rule.level"].to_pylist(), signals["rule.name"].to_pylist()))
        lines.append(f"{signals.num_rows:,} signals; the rules that fired most:")
        order = {"critical": 0, "high": 1, "medium": 2, "low": 3}
        for (level, name), n in sorted(by_rule.items(), key=lambda kv: (order.get(kv[0][0], 4), -kv[1]))[:12]:
            lines.append(f"  {level or '-':<8} {n:>6,}  {name}")
    failures = t.filter(pc.and_(pc.equal(t["event.outcome"], "failure"),
                                pc.is_in(t["event.module"], pa.array(["vpn", "mail"]))))
    auth = failures.filter(pc.list_value_length(failures["event.category"]).is_valid())
    auth = auth.filter(pc.equal(pc.list_element(pc.fill_null(auth["event.category"], pa.scalar(["none"], pa.list_(pa.string()))), 0), "authentication"))
    if auth.num_rows:
        lines.append("most failed logins (mail + VPN) by source address: " +
                     ", ".join(f"{ip} ({n})" for ip, n in _top(auth, "source.ip")))
    web_errors = t.filter(pc.and_(pc.equal(t["event.module"], "web"),
                                  pc.greater_equal(t["http.response.status_code"], 400)))
    if web_errors.num_rows:
        lines.append("most web errors (status >= 400) by client: " +
                     ", ".join(f"{ip} ({n})" for ip, n in _top(web_errors, "source.ip")))
    mail = t.filter(pc.and_(pc.equal(t["event.module"], "mail"), pc.is_valid(t["user.name"])))
    if mail.num_rows:
        recipients: Counter = Counter()
        for user, to in zip(mail["user.name"].to_pylist(), mail["email.to.address"].to_pylist()):
            recipients[user] += len(to or [])
        lines.append("authenticated senders with the most recipients: " +
                     ", ".join(f"{u} ({n})" for u, n in recipients.most_common(3)))
    if truth:
        lines.extend(attack_coverage(out, truth))
    return lines


def _geography(t: pa.Table) -> list[str]:
    """Top source countries of events from public addresses, internal share, list hits."""
    if "source.geo.country_iso_code" not in t.column_names or t.num_rows == 0:
        return []
    lines = []
    countries = _top(t.filter(pc.is_valid(t["source.geo.country_iso_code"])), "source.geo.country_iso_code", 6)
    if countries:
        lines.append("top source countries (enrichment): " + ", ".join(f"{c} ({n:,})" for c, n in countries))
    internal = pc.sum(pc.cast(pc.fill_null(t["vigie.source.internal"], False), pa.int64())).as_py() or 0
    if internal:
        lines.append(f"events from internal addresses: {internal:,}")
    listed = t.filter(pc.fill_null(pc.greater(pc.list_value_length(t["vigie.threat.lists"]), 0), False))
    if listed.num_rows:
        lines.append("addresses on threat/anonymiser lists: " +
                     ", ".join(f"{ip} ({n})" for ip, n in _top(listed, "source.ip")))
    return lines


def _signals(out: Path) -> pa.Table:
    folder = out / SIGNALS_DIR
    columns = ["rule.name", "rule.level", "log.file.path", "log.offset"]
    if not folder.is_dir():
        return pa.table({c: pa.array([], pa.string()) for c in columns})
    return ds.dataset(folder, format="parquet").to_table(columns=columns)


def line_offsets(path: Path) -> list[int]:
    """Byte offset of the start of every line of a file."""
    offsets, pos = [], 0
    with open(path, "rb") as f:
        for line in f:
            offsets.append(pos)
            pos += len(line)
    return offsets


def attack_coverage(out: Path, truth: dict) -> list[str]:
    """Per attack step of a scenario: lines read into events (not dead-lettered), and lines
    whose event raised a signal (a stitched message counts by its first line)."""
    scenario_dir = Path(truth["_dir"])
    dead = set()
    folder = out / DEAD_LETTER_DIR
    if folder.is_dir():
        table = ds.dataset(folder, format="parquet").to_table(columns=["origin.path", "origin.offset"])
        dead = {(str(Path(p).resolve()), o) for p, o in zip(table["origin.path"].to_pylist(),
                                                           table["origin.offset"].to_pylist())}
    signals = _signals(out)
    signalled = {(str(Path(p).resolve()), o) for p, o in zip(signals["log.file.path"].to_pylist(),
                                                           signals["log.offset"].to_pylist())}
    offsets = {}
    result = ["attack steps of the scenario's truth.json: lines read into events, events with a signal:"]
    for step in truth.get("attack_steps", []):
        total = read = flagged = 0
        for ref in step.get("lines", []):
            path = scenario_dir / ref["file"]
            if ref["file"] not in offsets:
                offsets[ref["file"]] = line_offsets(path)
            key = (str(path.resolve()), offsets[ref["file"]][ref["line"] - 1])
            total += 1
            read += key not in dead
            flagged += key in signalled
        result.append(f"  {step['id']:<20} {read:>4}/{total:<4} read  {flagged:>4} with a signal  {step.get('title', '')}")
    return result


def load_truth(scenario_dir: Path) -> dict | None:
    """A scenario's truth.json (with its folder recorded under '_dir'), or None."""
    path = scenario_dir / "truth.json"
    if not path.exists():
        return None
    truth = json.loads(path.read_text(encoding="utf-8"))
    truth["_dir"] = str(scenario_dir)
    return truth
