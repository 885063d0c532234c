"""generate_chu: the world, the attack, each log file's background, then the files, truth.json,
inventory.yml and tor-exits.txt written into the output folder."""
from __future__ import annotations

import json
import os
import pathlib
import random
from operator import itemgetter
from typing import Callable

from pipelines.scenario.chu.attack import Attack, plan_attack
from pipelines.scenario.chu.clock import END_MS
from pipelines.scenario.chu.draws import rng_for
from pipelines.scenario.chu.internet import tor_exits_text
from pipelines.scenario.chu.inventory import inventory_yaml
from pipelines.scenario.chu.logfiles import FILES, Record, budgets, clip
from pipelines.scenario.chu.mail import exim_mainlog, maillog
from pipelines.scenario.chu.truth import truth_document
from pipelines.scenario.chu.vpn import asa_log, fortigate_log, openvpn_log
from pipelines.scenario.chu.web import portal_access, proxy_access, www_access
from pipelines.scenario.chu.world import World, make_world

MIN_EVENTS = 2_000

BACKGROUND: dict[str, Callable[[random.Random, World, int, Attack], list[Record]]] = {
    "web/www-access.log": www_access,
    "web/portail-patients-iis.log": portal_access,
    "web/proxy-access.log": proxy_access,
    "mail/maillog": maillog,
    "mail/exim-mainlog": exim_mainlog,
    "vpn/fortigate.log": fortigate_log,
    "vpn/asa.log": asa_log,
    "vpn/openvpn.log": openvpn_log,
}


def _write(path: pathlib.Path, text: str) -> None:
    """Write `text` as UTF-8 and set the file's mtime to the scenario's end (from which a
    replay infers the year of syslog lines)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))
    os.utime(path, (END_MS // 1000, END_MS // 1000))


def generate_chu(out_dir: pathlib.Path, events: int = 200_000, seed: int = 7,
                 progress: Callable[[str], None] | None = None) -> dict:
    """Write the scenario's log files, truth.json, inventory.yml and tor-exits.txt into
    out_dir; return a short summary (files and their lines, attack steps, expected incidents).

    Exactly `events` log lines in all (the other files not counted); events >= MIN_EVENTS.
    `progress` receives one line of text per file written.
    """
    if events < MIN_EVENTS:
        raise ValueError(f"the chu scenario needs at least {MIN_EVENTS} events, got {events}")
    out_dir = pathlib.Path(out_dir)
    world = make_world(rng_for(seed, "world"))
    attack = plan_attack(rng_for(seed, "attack"), world)
    attack_records = {path: clip(records) for path, records in attack.records.items()}
    sizes = budgets(events - sum(len(r) for r in attack_records.values()))
    numbered: dict[str, list[Record]] = {}
    for f in FILES:
        background = BACKGROUND[f.path](rng_for(seed, f.path), world, sizes[f.path], attack)
        records = background + attack_records[f.path]
        records.sort(key=itemgetter(0))
        numbered[f.path] = records
        _write(out_dir / f.path, "\n".join(r[1] for r in records) + "\n")
        if progress:
            progress(f"{f.path}: {len(records):,} lines ({f.format})")
    truth = truth_document(seed, events, attack, numbered)
    steps = truth["attack_steps"]
    _write(out_dir / "inventory.yml", inventory_yaml(world, attack))
    _write(out_dir / "tor-exits.txt", tor_exits_text())
    _write(out_dir / "truth.json", json.dumps(truth, ensure_ascii=False, indent=1) + "\n")
    if progress:
        progress(f"truth.json: {len(steps)} attack steps, "
                 f"{sum(len(s['lines']) for s in steps):,} attack lines")
    return {
        "out_dir": str(out_dir), "events": sum(len(r) for r in numbered.values()), "seed": seed,
        "files": {f.path: len(numbered[f.path]) for f in FILES},
        "attack_steps": [{"id": s["id"], "start": s["start"], "end": s["end"],
                          "lines": len(s["lines"])} for s in steps],
        "expected_incidents": [i["id"] for i in truth["expected_incidents"]],
    }
