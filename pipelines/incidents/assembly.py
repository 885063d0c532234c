"""Group signals into incidents: event-time order, shared entities, a campaign window.

In: signal rows (dicts: signals and correlation results, see `facts`), the inventory (or None)
and an AssemblyPolicy. Out: incident records (`record.build_record`), each new revision as the
incident changes.

The algorithm is sequential over signals in event-time order (time, then signal.id), and
`assemble(rows)` (sorting them first) is the definition of the incidents a set of signals
makes: replay and stream must both give it. Adding signals in order in several batches gives
the same incidents as one batch (`advance` between batches forgets only what no later signal
can reach); only how many revisions were emitted on the way differs. A signal added after later
ones (late) is decided on a partial view: the Assembler assembles it and counts it
(incident.late_signals), but the result may differ from `assemble`. A stream therefore does not
feed the Assembler directly: reassembly.py re-runs it from a checkpoint when a late signal
arrives, so that its result is `assemble`'s again.

For each signal:
1. Duplicates (a signal.id already seen within the window) are ignored.
2. The keys it probes (facts.py) find the live groups that registered them. A group is live
   while its latest signal is at most `window` old; a key that is popular (policy hub_*) links
   nothing.
3. Those groups and the signal become one group. A group is either an incident (opened) or a
   set of signals below the opening threshold (pending). When two incidents meet, the one
   detected first survives with its id; the other is emitted once more with status "merged"
   and `incident.merged_into` naming the survivor, then forgotten; the survivor lists it in
   `incident.merged_from`. Pending signals joining an incident become its evidence.
4. A pending group whose signals cross the opening threshold (policy) opens an incident:
   id = "inc-" + 24 hex chars of blake2b over the earliest signal's id, detected_at = the time
   of the signal that crossed the threshold. An incident that grows keeps its id.
Suppression: the same rule on the same entity within the window joins the open incident (and
its repeats are counted beyond policy.max_signals_per_rule, not listed).

Memory is one window of signals: groups whose latest signal is older than the window and the
popularity counts older than it are forgotten (`advance`). What a stream's recomputation needs
to follow identities (pipelines/incidents/reassembly.py) is kept for `retain_ms` (two windows by
default) and is a few ids per signal: which group each signal joined (`seen`), which groups were
absorbed by which (`forward`), which expired (`retired`) and which incident ids closed (`closed`).
`changes()` gives each changed record with its anchor (the incident's latest signal).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Iterable

from pipelines.enrichment.inventory import Inventory
from pipelines.incidents.facts import SignalFacts, signal_facts
from pipelines.incidents.policy import AssemblyPolicy, level_rank
from pipelines.incidents.record import build_record
from pipelines.incidents.times import to_ms


def incident_id(first_signal_id: str) -> str:
    """Deterministic incident id from the id of its earliest signal."""
    digest = hashlib.blake2b(digest_size=12)
    digest.update(b"vigie-incident\x00")
    digest.update(first_signal_id.encode("utf-8"))
    return "inc-" + digest.hexdigest()


@dataclass
class RuleStats:
    """One rule's share of an incident: how often, when, and which signals are listed."""

    rule_id: str
    name: str
    level: str
    correlation_type: str | None
    tactics: tuple[str, ...]
    count: int = 0
    first_seen: int = 0
    last_seen: int = 0
    listed: list[SignalFacts] = field(default_factory=list)

    def add(self, facts: SignalFacts, cap: int) -> None:
        self.count += 1
        self.first_seen = facts.timestamp if self.count == 1 else min(self.first_seen, facts.timestamp)
        self.last_seen = max(self.last_seen, facts.timestamp)
        self.listed.append(facts)
        if len(self.listed) > cap:
            self.listed.sort(key=_order)
            del self.listed[cap:]

    def absorb(self, other: "RuleStats", cap: int) -> None:
        self.first_seen = min(self.first_seen, other.first_seen)
        self.last_seen = max(self.last_seen, other.last_seen)
        self.count += other.count
        self.listed = sorted(self.listed + other.listed, key=_order)[:cap]


def _order(facts: SignalFacts) -> tuple[int, str]:
    return facts.timestamp, facts.signal_id


@dataclass
class Group:
    """Signals linked together: an incident once opened, pending before."""

    uid: int
    first: tuple[int, str]
    last_seen: int
    last: tuple[int, str] = (0, "")  # the latest signal (time, id): the incident's anchor
    rules: dict[str, RuleStats] = field(default_factory=dict)
    keys: set[str] = field(default_factory=set)
    entities: dict[str, set] = field(default_factory=dict)
    chain: dict[tuple[str, str | None], tuple[int, str, str]] = field(default_factory=dict)
    external_recipients_omitted: int = 0
    signal_count: int = 0
    late_signals: int = 0
    incident_id: str | None = None
    detected_at: int | None = None
    merged_from: set[str] = field(default_factory=set)
    revision: int = 0
    dirty: bool = False

    @property
    def first_seen(self) -> int:
        return self.first[0]

    def bucket(self, name: str) -> set:
        return self.entities.setdefault(name, set())

    def add(self, facts: SignalFacts, policy: AssemblyPolicy, late: bool) -> None:
        """Count one signal in."""
        self.first = min(self.first, _order(facts))
        self.last = max(self.last, _order(facts))
        self.last_seen = max(self.last_seen, facts.timestamp)
        self.signal_count += 1
        self.late_signals += int(late)
        stats = self.rules.get(facts.rule_id)
        if stats is None:
            stats = self.rules[facts.rule_id] = RuleStats(
                facts.rule_id, facts.rule_name, facts.level, facts.correlation_type, facts.attack.tactics)
        stats.add(facts, policy.max_signals_per_rule)
        for name, values in (("accounts", facts.accounts), ("mailboxes", facts.mailboxes),
                             ("senders", facts.senders), ("source_ips", facts.source_ips),
                             ("public_ips", facts.public_ips), ("hosts", facts.hosts),
                             ("domains", facts.domains), ("assets", facts.assets),
                             ("datasets", (facts.dataset,)), ("log_files", (facts.log_path,))):
            self.bucket(name).update(v for v in values if v)
        if facts.target_asset:
            self.bucket("web_sites").add(facts.target_asset)
        if facts.kind:
            self.bucket("kinds_any").add(facts.kind)
        if facts.rank >= level_rank("medium"):
            self.bucket("accounts_involved").update(facts.accounts)
            if facts.kind:
                self.bucket("kinds").add(facts.kind)
            if facts.user_account:
                self.bucket("used_accounts").add(facts.user_account)
                if facts.kind == "mass-mailing":
                    self.bucket("sending_accounts").add(facts.user_account)
            if facts.family == "web":
                self.bucket("web_techniques").update(facts.attack.techniques)
                self.bucket("web_tactics").update(facts.attack.tactics)
        if facts.kind == "mass-mailing":
            self.bucket("sending_mailboxes").update(m for m in facts.mailboxes if m not in facts.senders)
        self._add_recipients(facts.external_recipients, policy)
        for pair in facts.attack.pairs:
            entry = (facts.timestamp, facts.signal_id, facts.rule_name)
            if pair not in self.chain or entry < self.chain[pair]:
                self.chain[pair] = entry

    def _add_recipients(self, addresses: Iterable[str], policy: AssemblyPolicy) -> None:
        """List outside recipients up to the policy's cap; count the ones beyond it."""
        outside = self.bucket("external_recipients")
        for address in addresses:
            if address in outside:
                continue
            if len(outside) < policy.max_external_recipients:
                outside.add(address)
            else:
                self.external_recipients_omitted += 1

    def absorb(self, other: "Group", policy: AssemblyPolicy) -> None:
        """Take every signal, entity and key of `other` in."""
        self.first = min(self.first, other.first)
        self.last = max(self.last, other.last)
        self.last_seen = max(self.last_seen, other.last_seen)
        self.signal_count += other.signal_count
        self.late_signals += other.late_signals
        for rule_id, stats in other.rules.items():
            mine = self.rules.get(rule_id)
            if mine is None:
                self.rules[rule_id] = stats
            else:
                mine.absorb(stats, policy.max_signals_per_rule)
        self.keys |= other.keys
        for name, values in other.entities.items():
            if name != "external_recipients":
                self.bucket(name).update(values)
        self._add_recipients(sorted(other.entities.get("external_recipients", ())), policy)
        self.external_recipients_omitted += other.external_recipients_omitted
        for pair, entry in other.chain.items():
            if pair not in self.chain or entry < self.chain[pair]:
                self.chain[pair] = entry
        self.merged_from |= other.merged_from
        if other.incident_id:
            self.merged_from.add(other.incident_id)

    def crosses_threshold(self, policy: AssemblyPolicy) -> bool:
        """The opening threshold (policy: open_level, correlation_open_level, combo_*)."""
        combo_rules, combo_tactics = 0, set()
        for stats in self.rules.values():
            rank = level_rank(stats.level)
            if stats.correlation_type:
                if rank >= level_rank(policy.correlation_open_level):
                    return True
                continue
            if rank >= level_rank(policy.open_level):
                return True
            if rank >= level_rank(policy.combo_level):
                combo_rules += 1
                combo_tactics.update(stats.tactics)
        return combo_rules >= policy.combo_rules and len(combo_tactics) >= policy.combo_tactics


# Keys whose popularity is watched, and what counts as a distinct partner of each.
_HUB_ADDRESS, _HUB_ACCOUNTS = "ip:", ("account:", "target:")


@dataclass(frozen=True)
class Anchor:
    """Where a record stands in event time: the incident's latest signal (time, id) and, for a
    record of an incident merged away, when it was merged."""

    last_time: int
    last_signal: str
    merged_at: int | None = None


class Assembler:
    """The sequential state of assembly (see the module docstring). Picklable; the inventory is
    not pickled with it (`attach` gives it back after unpickling)."""

    def __init__(self, inventory: Inventory | None = None, policy: AssemblyPolicy = AssemblyPolicy(),
                 retain_ms: int | None = None):
        self.inventory = inventory
        self.policy = policy
        self.retain_ms = 2 * policy.window_ms if retain_ms is None else max(retain_ms, policy.window_ms)
        self.clock: int | None = None
        self.groups: dict[int, Group] = {}
        self.owner: dict[str, int] = {}
        self.partners: dict[str, dict[str, int]] = {}
        self.seen: dict[str, tuple[int, int]] = {}  # signal id -> (time, uid of the group it joined)
        self.forward: dict[int, tuple[int, int]] = {}  # absorbed uid -> (survivor uid, when)
        self.retired: dict[int, tuple[str, int]] = {}  # expired incident's uid -> (its id, last seen)
        self.closed: dict[str, int] = {}  # incident id -> when it was merged away or expired
        self.outbox: list[tuple[dict, Anchor]] = []
        self.next_uid = 0
        self.duplicates = 0
        self.late = 0

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["inventory"] = None
        return state

    def attach(self, inventory: Inventory | None) -> "Assembler":
        """Give an unpickled assembler its inventory back."""
        self.inventory = inventory
        return self

    # --- time ---------------------------------------------------------------------------------

    def _live(self, group: Group, now: int) -> bool:
        return group.last_seen >= now - self.policy.window_ms

    def advance(self, now: int) -> None:
        """Event time has reached `now` (the watermark, or the latest signal): forget what no
        later signal can link to any more. Never changes which incidents later signals make."""
        self.clock = now if self.clock is None else max(self.clock, now)
        cutoff = self.clock - self.policy.window_ms
        for uid in [uid for uid, g in self.groups.items() if g.last_seen < cutoff]:
            group = self.groups.pop(uid)
            for key in group.keys:
                if self.owner.get(key) == uid:
                    del self.owner[key]
            if group.incident_id:
                self.retired[uid] = (group.incident_id, group.last_seen)
                self.closed[group.incident_id] = group.last_seen
        for key in list(self.partners):
            kept = {p: t for p, t in self.partners[key].items() if t >= cutoff}
            if kept:
                self.partners[key] = kept
            else:
                del self.partners[key]
        kept_from = self.clock - self.retain_ms
        self.seen = {s: v for s, v in self.seen.items() if v[0] >= kept_from}
        self.forward = {u: v for u, v in self.forward.items() if v[1] >= kept_from}
        self.retired = {u: v for u, v in self.retired.items() if v[1] >= kept_from}
        self.closed = {i: t for i, t in self.closed.items() if t >= kept_from}

    def holder(self, signal_id: str) -> str | None:
        """The incident id that the signal `signal_id` belongs to now (following merges; None
        when it is in no incident, or is no longer remembered)."""
        placed = self.seen.get(signal_id)
        if placed is None:
            return None
        uid = placed[1]
        while uid in self.forward:
            uid = self.forward[uid][0]
        if uid in self.groups:
            return self.groups[uid].incident_id
        return self.retired[uid][0] if uid in self.retired else None

    # --- popularity -------------------------------------------------------------------------

    def _note_partners(self, facts: SignalFacts) -> None:
        t = facts.timestamp
        for key in facts.keys:
            if key.startswith(_HUB_ADDRESS):
                partners = [f"account:{facts.user_account.lower()}"] if facts.user_account else []
                partners += [f"sender:{s}" for s in facts.senders]
            elif key.startswith(_HUB_ACCOUNTS):
                partners = [f"ip:{a}" for a in facts.public_ips]
            else:
                continue
            seen = self.partners.setdefault(key, {})
            for partner in partners:
                seen[partner] = max(seen.get(partner, t), t)

    def _is_hub(self, key: str, now: int) -> bool:
        partners = self.partners.get(key)
        if not partners:
            return False
        cutoff = now - self.policy.window_ms
        live = [p for p, t in partners.items() if t >= cutoff]
        if key.startswith(_HUB_ADDRESS):
            accounts = sum(1 for p in live if p.startswith("account:"))
            senders = sum(1 for p in live if p.startswith("sender:"))
            return (accounts >= self.policy.hub_accounts_per_address
                    or senders >= self.policy.hub_senders_per_address)
        return len(live) >= self.policy.hub_addresses_per_account

    # --- signals ----------------------------------------------------------------------------

    def add(self, row: dict) -> None:
        """Process one signal row (callers give signals in event-time order; one older than
        the latest processed is late: it is still assembled, and counted)."""
        facts = signal_facts(row, self.inventory, self.policy)
        late = self.clock is not None and facts.timestamp < self.clock
        now = facts.timestamp if self.clock is None else max(self.clock, facts.timestamp)
        self.clock = now
        previous = self.seen.get(facts.signal_id)
        if previous is not None and previous[0] >= now - self.policy.window_ms:
            self.duplicates += 1
            return
        self.late += int(late)
        self._note_partners(facts)
        keys = [k for k in facts.keys if not self._is_hub(k, now)]
        probes = [k for k in facts.probes if not self._is_hub(k, now)]
        linked = sorted({uid for uid in (self.owner.get(k) for k in probes)
                         if uid is not None and self._live(self.groups[uid], now)})
        group = self._merge(linked, now) if linked else self._new_group(facts)
        group.add(facts, self.policy, late)
        self.seen[facts.signal_id] = (facts.timestamp, group.uid)
        group.keys.update(keys)
        for key in keys:
            self.owner[key] = group.uid
        if group.incident_id is None and group.crosses_threshold(self.policy):
            group.incident_id = incident_id(group.first[1])
            group.detected_at = facts.timestamp
        if group.incident_id is not None:
            group.dirty = True

    def add_all(self, rows: Iterable[dict]) -> None:
        """Process a batch of signal rows in event-time order (time, then signal.id)."""
        for row in sorted(rows, key=_row_order):
            self.add(row)

    def _new_group(self, facts: SignalFacts) -> Group:
        group = Group(self.next_uid, _order(facts), facts.timestamp, _order(facts))
        self.next_uid += 1
        self.groups[group.uid] = group
        return group

    def _merge(self, uids: list[int], now: int) -> Group:
        """Join the groups `uids` into one (see the module docstring, step 3)."""
        groups = [self.groups[u] for u in uids]
        opened = [g for g in groups if g.incident_id]
        survivor = (min(opened, key=lambda g: (g.detected_at, g.incident_id)) if opened
                    else min(groups, key=lambda g: g.first))
        for group in groups:
            if group is survivor:
                continue
            if group.incident_id:
                self.outbox.append((self._record(group, status="merged", merged_into=survivor.incident_id),
                                    Anchor(group.last[0], group.last[1], now)))
                self.closed[group.incident_id] = now
            survivor.absorb(group, self.policy)
            for key in group.keys:
                self.owner[key] = survivor.uid
            del self.groups[group.uid]
            self.forward[group.uid] = (survivor.uid, now)
        if len(groups) > 1 and survivor.incident_id:
            survivor.dirty = True
        return survivor

    # --- output -----------------------------------------------------------------------------

    def _record(self, group: Group, status: str | None = None, merged_into: str | None = None) -> dict:
        group.revision += 1
        status = status or ("new" if group.revision == 1 else "updated")
        return build_record(group, self.inventory, self.policy, status, merged_into)

    def changes(self) -> list[tuple[dict, Anchor]]:
        """(record, anchor) of every incident that changed since the last call (a new revision
        each), and of the incidents merged away since (status "merged"), ordered by incident id
        and revision."""
        out, self.outbox = self.outbox, []
        for group in sorted(self.groups.values(), key=lambda g: g.incident_id or ""):
            if group.incident_id and group.dirty:
                group.dirty = False
                out.append((self._record(group), Anchor(group.last[0], group.last[1])))
        return sorted(out, key=lambda c: (c[0]["incident.id"], c[0]["incident.revision"]))

    def flush(self) -> list[dict]:
        """The records of `changes()`."""
        return [record for record, _ in self.changes()]

    def touch_all(self) -> None:
        """Mark every open incident as changed (its record comes out of the next `changes()`)."""
        for group in self.groups.values():
            if group.incident_id:
                group.dirty = True

    def open_incidents(self) -> list[str]:
        """Ids of the incidents still open (live groups that opened)."""
        return sorted(g.incident_id for g in self.groups.values() if g.incident_id)


def _row_order(row: dict) -> tuple[int, str]:
    if row.get("@timestamp") is None or not row.get("signal.id"):
        raise ValueError("a signal needs signal.id and @timestamp")
    return to_ms(row["@timestamp"]), str(row["signal.id"])


def assemble(rows: Iterable[dict], inventory: Inventory | None = None,
             policy: AssemblyPolicy = AssemblyPolicy()) -> list[dict]:
    """Every incident the signals make, in their final revision (merged ones included with
    status "merged"), ordered by incident id. The pure, one-batch form of AssembleIncidents."""
    assembler = Assembler(inventory, policy)
    assembler.add_all(rows)
    return latest_revisions(assembler.flush())


def latest_revisions(records: Iterable[dict]) -> list[dict]:
    """Keep the highest incident.revision per incident.id (how readers of incident updates
    reconcile them), ordered by id."""
    best: dict[str, dict] = {}
    for record in records:
        current = best.get(record["incident.id"])
        if current is None or record["incident.revision"] > current["incident.revision"]:
            best[record["incident.id"]] = record
    return [best[i] for i in sorted(best)]
