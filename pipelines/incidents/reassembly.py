"""Assembly of a stream: signals released as event time passes, late ones re-assembled exactly.

In: batches of signal rows, each with the event time it is released up to
(`Reassembler.release(rows, now)`: every row older than `now`; `now` never goes back). Out: the
incident records to publish, a new revision of an incident each time its content changes.

Why. The Assembler (assembly.py) is sequential over signals in event-time order and its
decisions depend on what came before: which group a signal joins, which keys have become
popular (hubs) and stop linking, when a group crosses the opening threshold (its id comes from
its earliest signal then), which incident survives a merge, what suppression folds. Released in
order, in any chunks, those decisions are the replay's. A row that reaches assembly after later
rows were assembled (late: behind the frontier; mail stitched a session gap after its lines, a
shipper catching up) would be decided on a partial view, and the stream's final incidents would
differ from the replay's.

The result. The final incidents (the latest revision of each id) are those of
`assemble(all rows)`, ids and content: a function of the set of rows, whatever their arrival
order, batching or release grid, for every row that arrives at most `horizon_ms` behind the
frontier (the event time released so far; policy.late_horizon_seconds, by default one
campaign window).

How.
- The log: the released rows of the horizon (and a checkpoint step more), in assembly order
  (time, then signal id); a signal id already logged is a duplicate and is dropped.
- Checkpoints: the Assembler as it stood at times on a grid of `checkpoint_ms` of event time
  (pickled bytes), from the newest one at least the horizon behind the frontier.
- Rows not behind the frontier are added to the live Assembler (the common case, no cost).
- Rows behind the frontier but not behind the oldest checkpoint: the Assembler is restored from
  the latest checkpoint at or before the earliest of them and the log is re-run from there, the
  late rows in their place: its state is then the one assembling every row in order gives.
- Rows behind the oldest checkpoint (beyond the horizon): assembled where they arrive, at the
  frontier, as the Assembler treats a late signal (counted in incident.late_signals), and logged
  at that place so that later recomputations repeat exactly that. Only such rows can make the
  stream's incidents differ from the replay's; the Beam shell reports them.

Publishing. A digest of each record without incident.revision and incident.status is kept per
id; a record is published when its digest changes: revision = the last published + 1, status
"new" for the first, "updated" after, "merged" for an incident merged away. Ids stay
deterministic (assembly.incident_id: from the earliest signal of the group when it opens), so
a recomputation may give an incident another id than the one already published (a late signal
older than its first one joined it before it opened). The old id is then closed: its last
record once more, with status "merged" and incident.merged_into = the incident that now holds
its latest signal (null when its signals no longer make an incident). The successor does not
list it in incident.merged_from: the successor's record is a function of the signals and equals
the replay's. Such extra "merged" ids are the only difference a reader of the latest revisions
can see between a stream and a replay.

Memory: the rows of one horizon plus one checkpoint step, at most horizon/step + 2 checkpoints,
the Assembler's own state (one window of groups, `retain_ms` of ids), and per published id a
digest and its last record, kept while a recomputation can still reach it.
"""
from __future__ import annotations

import bisect
import hashlib
import json
import pickle
from dataclasses import dataclass, replace
from typing import Iterable

from pipelines.enrichment.inventory import Inventory
from pipelines.incidents.assembly import Anchor, Assembler
from pipelines.incidents.policy import AssemblyPolicy
from pipelines.incidents.times import to_ms

NEVER = -(1 << 62)  # the time of the first checkpoint: the empty Assembler
IN_TIME, AT_FRONTIER = 1, 0  # log entry kinds: in its place / assembled where it arrived
DELIVERY_KEYS = ("incident.revision", "incident.status")


def content_digest(record: dict) -> str:
    """A digest of a record without its delivery bookkeeping (revision, status)."""
    content = {k: v for k, v in record.items() if k not in DELIVERY_KEYS}
    text = json.dumps(content, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


@dataclass
class Published:
    """What was last published for one incident id."""

    revision: int
    digest: str
    anchor: Anchor
    record: dict

    @property
    def merged(self) -> bool:
        return self.record["incident.status"] == "merged"


class Reassembler:
    """Stream assembly with exact recomputation of late rows (see the module docstring).
    Picklable; the inventory is not pickled with it (`attach` gives it back)."""

    def __init__(self, inventory: Inventory | None = None, policy: AssemblyPolicy = AssemblyPolicy(),
                 horizon_ms: int | None = None, checkpoint_ms: int | None = None,
                 frontier: int | None = None):
        self.inventory = inventory
        self.policy = policy
        self.horizon_ms = policy.late_horizon_ms if horizon_ms is None else max(0, int(horizon_ms))
        self.checkpoint_ms = max(1, int(checkpoint_ms or max(policy.window_ms // 4, self.horizon_ms // 8, 1)))
        # what a recomputation from the oldest checkpoint needs to know of identities (see
        # Assembler.holder and `_publish`): ids closed and signals placed since that checkpoint
        self.retain_ms = max(2 * policy.window_ms, self.horizon_ms + 2 * self.checkpoint_ms)
        self.frontier = frontier
        start = NEVER if frontier is None else frontier
        self.checkpoints: list[tuple[int, bytes | None]] = [(start, None)]
        self.assembler = self._restore(start, None)
        # (time, kind, signal id, pickled row), sorted: bytes, so that pickling the
        # Reassembler between releases (the Beam state) does not walk every row again
        self.log: list[tuple[int, int, str, bytes]] = []
        self.logged: set[str] = set()
        self.published: dict[str, Published] = {}
        self.latest = start  # the latest time of a logged row
        self.recomputations = 0
        self.duplicates = 0
        self.beyond_horizon = 0

    # --- pickling -----------------------------------------------------------------------------

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["inventory"] = None
        return state

    def attach(self, inventory: Inventory | None) -> "Reassembler":
        """Give an unpickled Reassembler its inventory back."""
        self.inventory = inventory
        self.assembler.attach(inventory)
        return self

    def _restore(self, at: int, blob: bytes | None) -> Assembler:
        if blob is not None:
            return pickle.loads(blob).attach(self.inventory)
        assembler = Assembler(self.inventory, self.policy, self.retain_ms)
        if at != NEVER:
            assembler.advance(at)
        return assembler

    # --- releasing ----------------------------------------------------------------------------

    def release(self, rows: Iterable[dict], now: int) -> list[dict]:
        """Assemble `rows` (each older than `now`), let event time reach `now`, and return the
        records to publish, ordered by incident id (see the module docstring)."""
        start = NEVER if self.frontier is None else self.frontier
        now = max(int(now), start)
        floor = self.checkpoints[0][0]
        entries: list[tuple[int, int, str, bytes]] = []
        fresh: dict[str, dict] = {}
        rewind_from: int | None = None
        for row in rows:
            signal_id, at = str(row["signal.id"]), to_ms(row["@timestamp"])
            if at >= now:
                raise ValueError(f"signal {signal_id} at {at} is not older than the release time {now}")
            if signal_id in self.logged or (at < floor and signal_id in self.assembler.seen):
                self.duplicates += 1
                continue
            self.logged.add(signal_id)
            fresh[signal_id] = row
            blob = pickle.dumps(row, protocol=pickle.HIGHEST_PROTOCOL)
            if at >= start:
                entries.append((at, IN_TIME, signal_id, blob))
            elif at >= floor:
                entries.append((at, IN_TIME, signal_id, blob))
                rewind_from = at if rewind_from is None else min(rewind_from, at)
            else:
                entries.append((start, AT_FRONTIER, signal_id, blob))
                self.beyond_horizon += 1
        begin = start
        if rewind_from is not None:
            begin, blob = max((c for c in self.checkpoints if c[0] <= rewind_from), key=lambda c: c[0])
            self.checkpoints = [c for c in self.checkpoints if c[0] <= begin]
            self.assembler = self._restore(begin, blob)
            self.assembler.touch_all()
            self.recomputations += 1
        if entries:
            entries.sort(key=_entry_order)
            if self.log and _entry_order(entries[0]) < _entry_order(self.log[-1]):
                self.log = sorted(self.log + entries, key=_entry_order)
            else:
                self.log += entries
            self.latest = max(self.latest, entries[-1][0])
        first = bisect.bisect_left(self.log, (begin, AT_FRONTIER, ""), key=_entry_order)
        changes = self._run(self.log[first:], fresh, begin, now)
        self.frontier = now
        out = self._publish(changes, begin if rewind_from is not None else None)
        self._prune(now)
        return out

    def _run(self, todo: list[tuple[int, int, str, bytes]], fresh: dict[str, dict], begin: int,
             now: int) -> dict[str, tuple[dict, Anchor]]:
        """Add `todo` (log entries from `begin`, in order; `fresh` holds the rows of this release
        by id, the others are unpickled) to the Assembler, taking checkpoints on the grid where
        they will be kept, and advance to `now`; the latest change per id."""
        changes: dict[str, tuple[dict, Anchor]] = {}

        def collect() -> None:
            for record, anchor in self.assembler.changes():
                changes[record["incident.id"]] = (record, anchor)

        step = self.checkpoint_ms
        kept_after = max(begin, now - self.horizon_ms - step)
        boundary = (kept_after // step + 1) * step
        i = 0
        while True:
            limit = boundary if boundary <= now else None
            while i < len(todo) and (limit is None or todo[i][0] < limit):
                at, kind, signal_id, blob = todo[i]
                if kind == AT_FRONTIER:
                    self.assembler.advance(at)  # where it was assembled when it arrived
                row = fresh.get(signal_id)
                self.assembler.add(pickle.loads(blob) if row is None else row)
                i += 1
            collect()
            if limit is None:
                break
            self.assembler.advance(boundary)
            self.checkpoints.append((boundary, pickle.dumps(self.assembler, protocol=pickle.HIGHEST_PROTOCOL)))
            boundary += step
        self.assembler.advance(now)
        return changes

    # --- publishing ---------------------------------------------------------------------------

    def _emit(self, incident: str, record: dict, anchor: Anchor, previous: Published | None) -> dict:
        merged = record["incident.status"] == "merged"
        status = "merged" if merged else "new" if previous is None else "updated"
        out = dict(record)
        out["incident.revision"] = 1 if previous is None else previous.revision + 1
        out["incident.status"] = status
        self.published[incident] = Published(out["incident.revision"], content_digest(out), anchor, out)
        return out

    def _publish(self, changes: dict[str, tuple[dict, Anchor]], rewound_from: int | None) -> list[dict]:
        out = []
        for incident in sorted(changes):
            record, anchor = changes[incident]
            previous = self.published.get(incident)
            if previous is not None and previous.digest == content_digest(record) \
                    and previous.merged == (record["incident.status"] == "merged"):
                previous.anchor = anchor
                continue
            out.append(self._emit(incident, record, anchor, previous))
        if rewound_from is not None:
            # ids the recomputation did not make again: closed, merged into their successor
            live = {g.incident_id for g in self.assembler.groups.values() if g.incident_id}
            for incident in sorted(self.published):
                previous = self.published[incident]
                if (incident in changes or incident in live or incident in self.assembler.closed
                        or previous.anchor.last_time < rewound_from):
                    continue
                successor = self.assembler.holder(previous.anchor.last_signal)
                if previous.merged and previous.record.get("incident.merged_into") == successor:
                    continue
                closing = dict(previous.record, **{"incident.status": "merged", "incident.merged_into": successor})
                out.append(self._emit(incident, closing, replace(previous.anchor, merged_at=self.frontier),
                                      previous))
        return sorted(out, key=lambda r: (r["incident.id"], r["incident.revision"]))

    # --- memory -------------------------------------------------------------------------------

    def _prune(self, now: int) -> None:
        """Keep the newest checkpoint at least the horizon behind `now` and what follows it; the
        log from that checkpoint; published ids a recomputation from it can still reach."""
        behind = now - self.horizon_ms
        oldest = max((i for i, c in enumerate(self.checkpoints) if c[0] <= behind), default=0)
        del self.checkpoints[:oldest]
        floor = self.checkpoints[0][0]
        cut = bisect.bisect_left(self.log, (floor, AT_FRONTIER, ""), key=_entry_order)
        for entry in self.log[:cut]:
            self.logged.discard(entry[2])
        del self.log[:cut]
        live = {g.incident_id for g in self.assembler.groups.values() if g.incident_id}
        window = self.policy.window_ms
        for incident in [i for i, p in self.published.items() if i not in live]:
            anchor = self.published[incident].anchor
            closed_at = anchor.merged_at if anchor.merged_at is not None else anchor.last_time + window
            if max(closed_at, anchor.last_time) < floor:
                del self.published[incident]

    def quiet_at(self) -> int:
        """The frontier at which, without new rows, everything is forgotten (`empty`): groups
        expire a window after their latest row, the log and published ids a horizon and a
        checkpoint step after that."""
        return self.latest + self.policy.window_ms + self.horizon_ms + 2 * self.checkpoint_ms

    @property
    def empty(self) -> bool:
        """Nothing left that a later row could need (no open group, log or published id)."""
        return not (self.assembler.groups or self.log or self.published)


def _entry_order(entry: tuple[int, int, str, bytes]) -> tuple[int, int, str]:
    return entry[0], entry[1], entry[2]


def reassemble(batches: Iterable[tuple[Iterable[dict], int]], inventory: Inventory | None = None,
               policy: AssemblyPolicy = AssemblyPolicy()) -> list[dict]:
    """Release each (rows, now) in turn; every record published, in order (the pure form of the
    stream; `assembly.latest_revisions` of it is what a reader of the stream sees)."""
    engine = Reassembler(inventory, policy)
    out: list[dict] = []
    for rows, now in batches:
        out += engine.release(rows, now)
    return out
