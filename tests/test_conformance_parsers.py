"""The parser conformance harness (bench/conformance_parsers.py, bench/conformance_sources.py):
the committed fixtures meet the targets, the known disagreements stay the known ones, and each
upstream layout is read as documented."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))

import conformance_parsers as harness  # noqa: E402
import conformance_sources as sources  # noqa: E402

MAIL_VPN = ("postfix", "exim", "cisco_asa", "fortigate", "globalprotect", "openvpn")
# Disagreements with upstream that are deliberate (docs/parser-conformance.md says why).
KNOWN = {
    # logstash takes the 'for' side of an outbound ASA connection as its source; Cisco documents
    # the initiator as the 'to' side of outbound connections (Vigie, like Elastic's pipeline)
    ("spec/patterns/firewalls_spec.rb:281", "source.ip"), ("spec/patterns/firewalls_spec.rb:281", "source.port"),
    ("spec/patterns/firewalls_spec.rb:281", "source.nat.ip"), ("spec/patterns/firewalls_spec.rb:281", "source.nat.port"),
    ("spec/patterns/firewalls_spec.rb:281", "observer.ingress.interface.name"),
    ("spec/patterns/firewalls_spec.rb:281", "observer.egress.interface.name"),
    # ... and the local address (laddr) of an inbound ICMP connection as its source
    ("spec/patterns/firewalls_spec.rb:300", "source.ip"), ("spec/patterns/firewalls_spec.rb:300", "destination.ip"),
    # Exim writes \" inside T="..."; the subject is the text without the escape
    ("spec/patterns/exim_spec.rb:85", "exim.log.message.subject"),
}


@pytest.fixture(scope="module")
def measured():
    return harness.measure(harness.project_fixtures())


def test_committed_fixtures_meet_the_targets(measured):
    per_product, per_source, _ = measured
    for product in MAIL_VPN:
        row = per_source.get((product, harness.OWN_SOURCE), harness.Tally()).row()
        assert row["lines"] and row["parsed_pct"] == 100.0 and row["agree_pct"] == 100.0, (product, row)
    for product, tally in per_product.items():
        row = tally.row()
        assert row["parsed_pct"] >= 95.0, (product, row)
        assert product == "cisco_asa" or row["agree_pct"] >= 90.0, (product, row)


def test_disagreements_are_the_documented_ones(measured):
    _, _, outcomes = measured
    found = {(o.fixture.fid, theirs) for o in outcomes for theirs, _, _, _, ok in o.compared if not ok}
    assert found == KNOWN


def test_command_prints_a_table_and_writes_json(tmp_path, capsys):
    out = tmp_path / "figures.json"
    assert harness.main(["--product", "exim", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "| **exim** | independent |" in printed
    figures = json.loads(out.read_text())
    assert figures["products"]["exim"]["parsed_pct"] == 100.0


def test_normalisers():
    assert harness.as_ip("::ffff:10.0.0.1") == "10.0.0.1" and harness.as_ip("[2001:DB8::1]") == "2001:db8::1"
    assert harness.as_int("0080") == "80" and harness.as_text(" <X@Y> ") == "x@y" and harness.as_text("-") is None
    assert harness.as_time("2026-11-27 19:02:11", "Europe/Paris") == "2026-11-27T18:02:11.000+00:00"
    assert harness.as_time("2026-11-27T18:02:11.5Z") == "2026-11-27T18:02:11.500+00:00"


def test_rebuilding_lines_that_lost_their_header():
    fixture = sources.Fixture("postfix", "sekoia", "x", "4F3A21C0042: client=a[10.0.0.1]", {"source.ip": "10.0.0.1"},
                              program="postfix/smtpd")
    outcome = harness.run(fixture)
    assert outcome.parsed and outcome.rebuilt and outcome.compared == [("source.ip", "source.ip", ["10.0.0.1"],
                                                                        ["10.0.0.1"], True)]
    asa = sources.Fixture("cisco_asa", "logstash-patterns-core", "x", "302021: Teardown ICMP connection for faddr "
                          "1.2.3.4/0 gaddr 10.0.0.1/0 laddr 10.0.0.1/0")
    assert harness._rebuilt(asa).startswith("%ASA-6-302021: ")


# ---------------------------------------------------------------------------------------------
# Readers, on small layouts written here (the same shapes as the upstream projects')
# ---------------------------------------------------------------------------------------------


def test_sekoia_layout(tmp_path):
    folder = tmp_path / "Postfix" / "postfix" / "tests"
    folder.mkdir(parents=True)
    (folder / "a.json").write_text(json.dumps({"input": {"message": "4F3A: removed", "log": {"syslog": {
        "appname": "postfix/qmgr"}}}, "expected": {"postfix": {"queue_id": {"local": "4F3A"}}}}))
    (folder / "b.json").write_text(json.dumps({"input": {"message": "{\"json\": 1}"}, "expected": {}}))
    fixtures = list(sources.discover(tmp_path))
    assert [(f.product, f.program, f.expected) for f in fixtures] == [
        ("postfix", "postfix/qmgr", {"postfix.queue_id.local": "4F3A"})]


def test_postfix_grok_layout_splits_key_values(tmp_path):
    (tmp_path / "test").mkdir()
    (tmp_path / "LICENSE").write_text("BSD")
    (tmp_path / "test" / "smtp_0001.yaml").write_text(
        "pattern: ^%{POSTFIX_SMTP}$\ndata: \"7EE6: to=<a@b.c>, relay=x[1.2.3.4]:25, status=sent (ok)\"\n"
        "results:\n  postfix_queueid: 7EE6\n  postfix_keyvalue_data: \"to=<a@b.c>, relay=x[1.2.3.4]:25,\"\n")
    (fixture,) = sources.discover(tmp_path)
    assert fixture.program == "postfix/smtp" and fixture.expected["postfix_to"] == "a@b.c"


def test_logstash_layout_reads_the_ecs_branch(tmp_path):
    spec = tmp_path / "spec" / "patterns"
    spec.mkdir(parents=True)
    (spec / "exim_spec.rb").write_text('''describe_pattern 'EXIM', ['legacy', 'ecs-v1'] do
  context 'arrival' do
    let(:message) do
      "2010-09-13 05:00:13 1Ov4tU-0000Nz-Rm <= a@b.c " +
          'H=h.example [1.2.3.4]:51792'
    end
    it "matches" do
      if ecs_compatibility?
        expect(grok).to include("exim"=>{"log"=>hash_including("sender"=>{"email"=>"a@b.c"})})
        expect(grok).to include "source"=>{"ip"=>"1.2.3.4", "port"=>51792}
      else
        expect(grok).to include("exim_sender_email" => "a@b.c")
      end
    end
  end
end
''')
    (fixture,) = sources.discover(tmp_path)
    assert fixture.line == "2010-09-13 05:00:13 1Ov4tU-0000Nz-Rm <= a@b.c H=h.example [1.2.3.4]:51792"
    assert fixture.expected == {"exim.log.sender.email": "a@b.c", "source.ip": "1.2.3.4", "source.port": 51792}


def test_elastic_and_fail2ban_layouts(tmp_path):
    pipeline = tmp_path / "packages" / "cisco_asa" / "data_stream" / "log" / "_dev" / "test" / "pipeline"
    pipeline.mkdir(parents=True)
    (pipeline / "test-x.log").write_text("%ASA-4-106023: Deny tcp src o:1.2.3.4/1 dst i:10.0.0.1/22 by access-group \"a\"\n")
    (pipeline / "test-x.log-expected.json").write_text(json.dumps({"expected": [{"source": {"ip": "1.2.3.4"}}]}))
    (tmp_path / "fail" / "mail").mkdir(parents=True)
    (tmp_path / "fail" / "labels.jsonl").write_text(json.dumps({"file": "mail/postfix", "line": 1,
                                                                "time": "2005-02-21T09:21:54", "host": "1.2.3.4"}))
    (tmp_path / "fail" / "mail" / "postfix").write_text("Feb 21 09:21:54 h postfix/smtpd[1]: connect from a[1.2.3.4]\n")
    found = {f.source: f for f in sources.discover(tmp_path)}
    assert found["elastic"].expected == {"source.ip": "1.2.3.4"} and found["elastic"].product == "cisco_asa"
    assert found["fail2ban"].timezone == "Europe/Zurich" and found["fail2ban"].expected["host"] == "1.2.3.4"
    outcomes = harness.run_all(list(found.values()))
    assert all(o.parsed and o.compared and all(c[4] for c in o.compared) for o in outcomes)
