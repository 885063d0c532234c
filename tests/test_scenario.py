"""The labelled CHU scenario: determinism, exact line counts, well-formed lines, and a truth
file that points at exactly the lines the attack wrote."""
from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.scenario import chu
from pipelines.scenario.chu.truth import line_origins
from pipelines.scenario.formats import IIS_FIELDS

EVENTS = 12_000
REPO = Path(__file__).resolve().parents[1]

# The sha256 of `generate_chu(out, events=5_000, seed=7)`: every file, in path order, as its
# relative path, NUL, its bytes, NUL (see output_digest). Changed only on purpose: see
# test_output_is_pinned.
PINNED_EVENTS, PINNED_SEED = 5_000, 7
PINNED_DIGEST = "5b39434db6a1f8579fd6080985d56b4d8dedd9b6a7c5af940bf365605e36604c"

SHAPES = {
    "apache_combined": re.compile(r'^\S+ - - \[\d\d/Nov/2026:\d\d:\d\d:\d\d \+0100\] "[A-Z]+ \S+ '
                                  r'HTTP/[12]\.[01]" \d{3} (\d+|-) "[^"]*" "[^"]*"$'),
    "w3c": re.compile(r"^(#(Software|Version|Date|Fields): .+|2026-11-27 \d\d:\d\d:\d\d"
                      r"( \S+){13})$"),
    "squid": re.compile(r"^\d{10}\.\d{3} +\d+ \S+ [A-Z_]+/\d{3} \d+ [A-Z]+ \S+ \S+ "
                        r"HIER_[A-Z]+/\S+ \S+$"),
    "postfix": re.compile(r"^Nov 27 \d\d:\d\d:\d\d mx1 (postfix/[a-z]+|opendkim|opendmarc)"
                          r"\[\d+\]: \S"),
    "exim": re.compile(r"^2026-11-27 \d\d:\d\d:\d\d (\S{6}-\S{6}-\S{2} (<=|=>|Completed)|"
                       r"Start queue run|End queue run|dovecot_login authenticator failed)"),
    "fortigate": re.compile(r'^date=2026-11-27 time=\d\d:\d\d:\d\d devname="FGT-CHU-01" '
                            r'devid="\w+" eventtime=\d{19} tz="\+0100" logid="\d{10}" '
                            r'type="(event|traffic)" subtype="(vpn|forward)"'
                            r'( \w+=("[^"]*"|[^" ]+))+$'),
    "cisco_asa": re.compile(r"^Nov 27 2026 \d\d:\d\d:\d\d asa-chu-01 : %ASA-\d-\d{6}: \S"),
    "openvpn": re.compile(r"^Nov 27 \d\d:\d\d:\d\d vpn-dsi-01 ovpn-server\[\d+\]: \S"),
}


def _generate(out: Path, events: int = EVENTS, seed: int = 7) -> dict:
    return chu.generate_chu(out, events=events, seed=seed)


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def output_digest(root: Path) -> str:
    """sha256 over every file below root: relative path, NUL, bytes, NUL, in path order."""
    digest = hashlib.sha256()
    for path, data in _files(root).items():
        digest.update(path.encode() + b"\0" + data + b"\0")
    return digest.hexdigest()


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    out = tmp_path_factory.mktemp("chu")
    messages: list[str] = []
    summary = chu.generate_chu(out, events=EVENTS, seed=7, progress=messages.append)
    truth = json.loads((out / "truth.json").read_text(encoding="utf-8"))
    lines = {path: (out / path).read_text(encoding="utf-8").split("\n")[:-1]
             for path in truth["files"]}
    return out, summary, truth, lines, messages


def test_same_seed_gives_identical_bytes(scenario, tmp_path):
    out = scenario[0]
    _generate(tmp_path)
    assert _files(tmp_path) == _files(out)


def test_identical_bytes_under_another_hash_seed(scenario, tmp_path):
    code = ("import pathlib, sys; from pipelines.scenario.chu import generate_chu; "
            f"generate_chu(pathlib.Path(sys.argv[1]), events={EVENTS}, seed=7)")
    env = dict(os.environ, PYTHONHASHSEED="12345")
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], cwd=REPO, env=env, check=True)
    assert _files(tmp_path) == _files(scenario[0])


def test_output_is_pinned(tmp_path):
    """The generated files change only on purpose. Refactoring the scenario (or the writers in
    pipelines/scenario/formats.py) must keep every byte. To change the output deliberately:
    make the change, run this test, put the digest it prints in PINNED_DIGEST, and say in the
    commit message what changed in the files and why (golden tests built on the scenario,
    such as replay comparisons, then need their expectations renewed in the same change)."""
    _generate(tmp_path, events=PINNED_EVENTS, seed=PINNED_SEED)
    got = output_digest(tmp_path)
    assert got == PINNED_DIGEST, (
        f"the chu scenario's output changed: digest {got}. If that is deliberate, set "
        f"PINNED_DIGEST in tests/test_scenario.py to it and explain the change in the commit.")


def test_other_seed_gives_other_bytes(scenario, tmp_path):
    _generate(tmp_path, seed=8)
    ours, theirs = _files(scenario[0]), _files(tmp_path)
    assert ours.keys() == theirs.keys()
    # tor-exits.txt is a fixed list, the same for every seed
    assert all(ours[name] != theirs[name] for name in ours if name != "tor-exits.txt")


def test_exactly_events_lines_and_counts_in_truth(scenario):
    _, summary, truth, lines, _ = scenario
    assert sum(len(v) for v in lines.values()) == EVENTS == truth["events"] == summary["events"]
    for path, text in lines.items():
        assert truth["files"][path]["lines"] == len(text) == summary["files"][path]
        assert all(text), f"{path} has an empty line"


def test_smallest_scenario_is_exact_and_smaller_is_refused(tmp_path):
    _generate(tmp_path / "min", events=chu.MIN_EVENTS)
    logs = _files(tmp_path / "min")
    total = sum(data.count(b"\n") for name, data in logs.items()
                if name not in ("truth.json", "inventory.yml", "tor-exits.txt"))
    assert total == chu.MIN_EVENTS
    with pytest.raises(ValueError):
        _generate(tmp_path / "too-small", events=chu.MIN_EVENTS - 1)


def test_scenario_header_and_progress(scenario):
    _, _, truth, _, messages = scenario
    assert (truth["scenario"], truth["seed"], truth["timezone"], truth["date"]) == \
        ("chu", 7, "Europe/Paris", "2026-11-27")
    assert truth["start"] == f"{chu.SCENARIO_START:%Y-%m-%dT%H:%M:%SZ}" == "2026-11-27T16:00:00Z"
    assert truth["end"] == f"{chu.SCENARIO_END:%Y-%m-%dT%H:%M:%SZ}" == "2026-11-27T22:00:00Z"
    assert len(messages) == len(truth["files"]) + 1
    assert all(any(m.startswith(path) for m in messages) for path in truth["files"])


def test_at_least_two_formats_per_family(scenario):
    files = scenario[2]["files"].values()
    for family in ("web", "mail", "vpn"):
        assert len({f["format"] for f in files if f["family"] == family}) >= 2, family


def test_every_file_mtime_is_the_scenario_end(scenario):
    out = scenario[0]
    end = chu.SCENARIO_END.timestamp()
    assert end == chu.END_MS / 1000
    for path in out.rglob("*"):
        if path.is_file():
            assert path.stat().st_mtime == end, path


def test_every_line_has_its_format_shape(scenario):
    _, _, truth, lines, _ = scenario
    for path, text in lines.items():
        shape = SHAPES[truth["files"][path]["format"]]
        bad = [line for line in text if not shape.match(line)]
        assert not bad, f"{path}: {bad[:3]}"


def test_w3c_header_blocks(scenario):
    text = scenario[3]["web/portail-patients-iis.log"]
    assert text[:4] == ["#Software: Microsoft Internet Information Services 10.0", "#Version: 1.0",
                        "#Date: 2026-11-27 16:00:00", "#Fields: " + " ".join(IIS_FIELDS)]
    assert sum(line.startswith("#Fields: ") for line in text) == 2


def test_lines_are_in_time_order_inside_the_window(scenario):
    lines = scenario[3]
    squid = [float(line.split()[0]) for line in lines["web/proxy-access.log"]]
    assert squid == sorted(squid)
    assert chu.START_MS / 1000 <= squid[0] and squid[-1] < chu.END_MS / 1000
    exim = [line[:19] for line in lines["mail/exim-mainlog"]]
    assert exim == sorted(exim) and "2026-11-27 17:00:00" <= exim[0] and exim[-1] < "2026-11-27 23"
    nanos = [int(re.search(r"eventtime=(\d+)", line).group(1))
             for line in lines["vpn/fortigate.log"]]
    assert nanos == sorted(nanos)


def _indicators(step: dict) -> list[str]:
    return step["entities"]["source_ips"] + step["indicators"].get("postfix_queue_ids", [])


def test_truth_lines_exist_and_carry_the_attackers_indicators(scenario):
    _, _, truth, lines, _ = scenario
    steps = {s["id"]: s for s in truth["attack_steps"]}
    assert list(steps) == ["phishing", "vpn-credential-use", "web-scan", "web-exploitation",
                           "mass-mailing"]
    for step in steps.values():
        assert step["lines"], step["id"]
        for ref in step["lines"]:
            assert 1 <= ref["line"] <= len(lines[ref["file"]])
            line = lines[ref["file"]][ref["line"] - 1]
            assert any(i in line for i in _indicators(step)), (step["id"], line)
    for ref in steps["web-scan"]["lines"] + steps["web-exploitation"]["lines"]:
        line = lines[ref["file"]][ref["line"] - 1]
        assert line.split()[0] in (chu.TOR_EXIT, chu.ATTACKER_SERVER)
    phishing_ids = steps["phishing"]["indicators"]["postfix_queue_ids"]
    for ref in steps["phishing"]["lines"]:
        line = lines[ref["file"]][ref["line"] - 1]
        assert any(q in line for q in phishing_ids) or \
            re.search(r"(connect|disconnect) from mail\.chu-exemple-rh\.fr\[45\.137\.21\.9\]", line)
        assert all(re.fullmatch(r"[0-9A-Za-z]{12}", q) for q in phishing_ids)


def test_truth_lists_every_line_the_attack_wrote(scenario):
    _, _, truth, lines, _ = scenario
    listed = {(r["file"], r["line"]) for s in truth["attack_steps"] for r in s["lines"]}
    victim = truth["attack_steps"][4]["entities"]["users"][0]
    marks = [i for s in truth["attack_steps"] for i in _indicators(s)]
    marks += [f"sasl_username={victim}", f'user="{victim}"', f"user = {victim} "]
    pattern = re.compile("(" + "|".join(map(re.escape, marks)) + r")(?!\w)")
    found = {(path, n) for path, text in lines.items()
             for n, line in enumerate(text, 1) if pattern.search(line)}
    # The victim's own tunnel from home (before the attacker's) is context, not attack.
    context = {(r["file"], r["line"]) for c in truth["context"] for r in c["lines"]}
    assert [c["id"] for c in truth["context"]] == [chu.VICTIM_OWN_SESSION] and len(context) == 2
    assert not context & listed
    assert found == listed | context


def test_line_origins_point_at_the_lines(scenario):
    out, _, truth, lines, _ = scenario
    refs = [r for step in truth["attack_steps"] for r in step["lines"]]
    for ref, (path, offset) in zip(refs, line_origins(out, refs)):
        data = Path(path).read_bytes()
        assert data[offset:].split(b"\n", 1)[0].decode() == lines[ref["file"]][ref["line"] - 1]
        assert offset == 0 or data[offset - 1:offset] == b"\n"


def test_attack_timeline(scenario):
    truth = scenario[2]
    steps = {s["id"]: s for s in truth["attack_steps"]}
    assert all(truth["start"] <= s["start"] <= s["end"] < truth["end"] for s in steps.values())
    assert steps["phishing"]["end"] < steps["vpn-credential-use"]["start"]
    assert steps["vpn-credential-use"]["start"] < steps["mass-mailing"]["start"]
    assert steps["web-scan"]["end"] < steps["web-exploitation"]["start"]
    assert steps["mass-mailing"]["start"] < steps["vpn-credential-use"]["end"]  # tunnel still up
    recipients = steps["phishing"]["entities"]["users"]
    assert 6 <= len(recipients) <= 12
    victim = steps["mass-mailing"]["entities"]["users"]
    assert victim[0] in recipients and victim[0] in steps["vpn-credential-use"]["entities"]["users"]
    outside = [a for a in steps["mass-mailing"]["entities"]["mail_addresses"]
               if not a.endswith("@" + chu.DOMAIN)]
    assert 150 <= len(outside) <= 300


def test_expected_incidents_chain_the_steps(scenario):
    _, summary, truth, _, _ = scenario
    steps = {s["id"]: s for s in truth["attack_steps"]}
    incidents = {i["id"]: i for i in truth["expected_incidents"]}
    assert set(incidents) == {"account-compromise", "website-compromise"}
    assert sorted(i for inc in incidents.values() for i in inc["steps"]) == sorted(steps)
    for incident in incidents.values():
        assert incident["severity"] == "critical"
        assert all(r in incidents for r in incident["related"])
        for step_id in incident["steps"]:
            for kind, values in steps[step_id]["entities"].items():
                assert set(values) <= set(incident["entities"][kind])
    assert chu.ATTACKER_SERVER in incidents["account-compromise"]["entities"]["source_ips"]
    assert chu.ATTACKER_SERVER in incidents["website-compromise"]["entities"]["source_ips"]
    assert summary["expected_incidents"] == list(incidents)
    assert [s["id"] for s in summary["attack_steps"]] == list(steps)
