"""One "internal address" predicate (parsing/columns.py) for parsers and enrichment, and
email.direction recomputed by enrichment with the inventory's internal networks."""
from __future__ import annotations

import datetime as dt
import ipaddress
import random
from collections import defaultdict

import numpy as np
import pyarrow as pa
import pytest

from pipelines.enrichment.enrich import build_enricher
from pipelines.enrichment.networks import is_reserved, reserved_ipv4_mask
from pipelines.parsing.base import LineBatch, ParseContext
from pipelines.parsing.columns import (INTERNAL_V4, internal_ipv4_mask, internal_mask, ipv4_values,
                                       is_internal_address)
from pipelines.parsing.mail import EXIM, POSTFIX, is_internal_ip
from pipelines.parsing.mail.direction import hops_inside, relay_addresses, with_inventory
from pipelines.parsing.stitch import fragments_to_rows, rows_to_table, stitch_message

CTX = ParseContext(timezone="Europe/Paris", reference_time=dt.datetime(2026, 11, 28, tzinfo=dt.timezone.utc))
OWN_BLOCK = "193.51.24.0/24"  # the hospital's own public block, known only to the inventory


def test_enrichment_and_mail_share_one_predicate():
    assert is_reserved is not None and reserved_ipv4_mask is internal_ipv4_mask
    rng = random.Random(9)
    numbers = [rng.getrandbits(32) for _ in range(20_000)]
    for block in map(ipaddress.IPv4Network, INTERNAL_V4):
        first, last = int(block.network_address), int(block.broadcast_address)
        numbers += [v for v in (first - 1, first, last, last + 1) if 0 <= v < 2 ** 32]
    texts = [str(ipaddress.IPv4Address(v)) for v in numbers]
    texts += ["::1", "fe80::1", "fd00::5", "2a00:1450:4007:80c::201b", "2001:db8::1", "::ffff:10.0.0.1",
              "::ffff:8.8.8.8", "ff02::1", "not-an-ip", "", "1.2.3", "999.1.1.1", None]
    vector = internal_mask(pa.array(texts, pa.string())).to_pylist()
    for text, inside in zip(texts, vector):
        expected = is_internal_address(text)
        assert bool(inside) == expected == is_internal_ip(text), text
        assert (inside is None) == (ipaddress_or_none(text) is None), text
    values, quad = ipv4_values(pa.array(texts, pa.string()))
    assert internal_ipv4_mask(values[quad]).tolist() == [is_internal_address(t) for t, q in zip(texts, quad) if q]


def ipaddress_or_none(text):
    try:
        return ipaddress.ip_address(text or "")
    except ValueError:
        return None


@pytest.mark.parametrize("client, direction", [
    ("10.20.1.5", "outbound"), ("100.64.0.9", "outbound"), ("192.0.2.10", "outbound"),  # reserved
    ("45.137.21.9", "inbound"), ("193.51.24.10", "inbound"),  # public: the parser knows no inventory
    ("2a00:1450:4007:80c::201b", "inbound"), ("fd00::25", "outbound"),
])
def test_parser_direction_uses_the_shared_predicate(client, direction):
    line = f"Nov 27 19:02:11 mx1 postfix/smtpd[2001]: 4F3A21C0042: client=host.example[{client}]"
    fragment = POSTFIX.parse(batch([line]), CTX).fragments.to_pylist()[0]
    assert fragment["email.direction"] == direction


def batch(lines: list[str]) -> LineBatch:
    sizes = [len(line.encode()) + 1 for line in lines]
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    return LineBatch("/var/log/mail.log", "0" * 16, pa.array(lines, pa.string()), offsets)


def postfix_message(qid: str, client: str, relay: str, sasl: bool = False) -> list[str]:
    auth = ", sasl_method=LOGIN, sasl_username=jdupont" if sasl else ""
    return [
        f"Nov 27 19:02:11 mx1 postfix/smtpd[2001]: {qid}: client=webmail.chu.example[{client}]{auth}",
        f"Nov 27 19:02:11 mx1 postfix/qmgr[3003]: {qid}: from=<a@chu-exemple.fr>, size=1200, nrcpt=1 (queue active)",
        f"Nov 27 19:02:12 mx1 postfix/smtp[2002]: {qid}: to=<b@example.org>, relay={relay}, delay=1, "
        f"delays=0.1/0/0.4/0.5, dsn=2.0.0, status=sent (250 ok)",
        f"Nov 27 19:02:12 mx1 postfix/qmgr[3003]: {qid}: removed",
    ]


def stitched_table(lines: list[str]) -> pa.Table:
    result = POSTFIX.parse(batch(lines), CTX)
    grouped = defaultdict(list)
    for key, row in fragments_to_rows(result.fragments):
        grouped[key].append(row)
    return rows_to_table([stitch_message(rows, key) for key, rows in grouped.items()])


def inventory_file(tmp_path) -> str:
    path = tmp_path / "inventory.yml"
    path.write_text(f"internal_networks: [{OWN_BLOCK}]\n", encoding="utf-8")
    return str(path)


def test_enrichment_recomputes_mail_direction_with_the_inventory(tmp_path):
    lines = (postfix_message("4F3A21C0001", "193.51.24.10", "lmtp.chu.example[193.51.24.25]:24")  # all ours
             + postfix_message("4F3A21C0002", "193.51.24.10", "gmail-smtp-in.l.google.com[142.250.1.27]:25")
             + postfix_message("4F3A21C0003", "45.137.21.9", "lmtp.chu.example[193.51.24.25]:24")
             + postfix_message("4F3A21C0004", "10.1.2.3", "mx.partner.example[193.51.24.77]:25", sasl=True)
             + postfix_message("4F3A21C0005", "45.137.21.9", "mx1[private/dovecot-lmtp]"))
    table = stitched_table(lines)
    by_id = lambda t: dict(zip(t["email.local_id"].to_pylist(), t["email.direction"].to_pylist()))  # noqa: E731
    assert by_id(table) == {"4F3A21C0001": "inbound", "4F3A21C0002": "inbound", "4F3A21C0003": "inbound",
                            "4F3A21C0004": "outbound", "4F3A21C0005": "inbound"}
    assert by_id(build_enricher().enrich(table)) == by_id(table)  # no inventory: unchanged
    enriched = build_enricher(inventory=[inventory_file(tmp_path)]).enrich(table)
    assert by_id(enriched) == {"4F3A21C0001": "internal", "4F3A21C0002": "outbound",
                               "4F3A21C0003": "inbound", "4F3A21C0004": "internal",
                               "4F3A21C0005": "inbound"}
    assert enriched["vigie.source.internal"].to_pylist()[:2] == [True, True]


def test_enrichment_direction_on_single_lines_and_batches_without_mail(tmp_path):
    enricher = build_enricher(inventory=[inventory_file(tmp_path)])
    reject = ("Nov 27 19:02:11 mx1 postfix/smtpd[2001]: NOQUEUE: reject: RCPT from unknown[193.51.24.66]: "
              "554 5.7.1 <x@example.org>: Relay access denied; from=<a@b.c> to=<x@example.org> proto=ESMTP helo=<h>")
    exim = "2026-11-27 19:02:11 1rXYZa-0001Ab-12 Completed"
    events = POSTFIX.parse(batch([reject]), CTX).events
    assert events["email.direction"].to_pylist() == ["inbound"]
    assert enricher.enrich(events)["email.direction"].to_pylist() == ["outbound"]
    fragments = EXIM.parse(batch([exim]), CTX).fragments.drop_columns(["vigie.stitch_key"])
    assert enricher.enrich(fragments)["email.direction"].to_pylist() == [None]
    empty = events.slice(0, 0)
    assert enricher.enrich(empty).num_rows == 0


def test_with_inventory_rules():
    direction = pa.array(["inbound", "inbound", "outbound", "outbound", "internal", None, "unknown"])
    source = pa.array([True, False, None, False, True, True, True])
    hops = pa.array([True, True, True, None, False, None, None])
    assert with_inventory(direction, source, hops).to_pylist() == [
        "internal", "inbound", "internal", "outbound", "internal", None, "unknown"]


def test_relay_hops():
    relays = pa.array([["mx[10.0.0.5]:25", "gmail[142.250.1.27]:25"], ["local"], ["none"], None, [],
                       ["mx1[private/dovecot-lmtp]", "h[193.51.24.1]:25"]], pa.list_(pa.string()))
    rows, address, known = relay_addresses(relays)
    assert address.to_pylist() == ["10.0.0.5", "142.250.1.27", None, None, None, "193.51.24.1"]
    inside = internal_mask(address)
    assert hops_inside(6, rows, known, inside).to_pylist() == [False, True, None, None, None, False]
