"""The inventory links mailboxes to accounts (email, aliases, the hospital's mail domains) and
says who is a VIP; enrichment fills the accounts of a mail's sender and recipients, per
distinct address, without touching user.name (which on mail means an authenticated submission)."""
from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from pipelines.enrichment.enrich import Enricher
from pipelines.enrichment.geo import geo_source
from pipelines.enrichment.inventory import load_inventory
from pipelines.enrichment.threat import load_threat_lists
from pipelines.errors import VigieError
from pipelines.schema import event_schema

INVENTORY = """\
mail_domains: [chu-exemple.fr]
accounts:
  - {name: cfernandez2, roles: [physician], email: Christophe.Fernandez@chu-exemple.fr,
     aliases: [cardio-garde@chu-exemple.fr], vip: true}
  - {name: jdupont, roles: [physician]}
  - {name: dg, roles: [direction], email: directeur.general@chu-exemple.fr, vip: true, admin: false}
assets:
  - {name: portail, criticality: high, hostnames: [portail.chu-exemple.fr], personal_data: true}
"""


def write(tmp_path: Path, text: str, name: str = "inventory.yml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.fixture()
def inventory(tmp_path):
    return load_inventory([write(tmp_path, INVENTORY)])


def test_mailboxes_belong_to_accounts(inventory):
    assert inventory.account_by_mailbox("christophe.fernandez@CHU-exemple.fr").name == "cfernandez2"
    assert inventory.account_by_mailbox("cardio-garde@chu-exemple.fr").name == "cfernandez2"
    # the hospital's own domain: a local part that is an account name is that account
    assert inventory.account_by_mailbox("jdupont@chu-exemple.fr").name == "jdupont"
    # an outside domain never guesses by local part
    assert inventory.account_by_mailbox("jdupont@gmail.com") is None
    assert inventory.account_by_mailbox("inconnu@chu-exemple.fr") is None
    assert inventory.is_own_mailbox("inconnu@chu-exemple.fr")
    assert not inventory.is_own_mailbox("paie@chu-exemple-rh.fr")
    # a login written as a mailbox is the account
    assert inventory.account("christophe.fernandez@chu-exemple.fr").name == "cfernandez2"
    assert inventory.account("cfernandez2").vip is True and inventory.account("jdupont").vip is False
    assert inventory.assets[0].personal_data is True
    assert inventory.summary()["mailboxes"] == 3


def test_a_mailbox_belongs_to_one_account(tmp_path):
    text = ("accounts:\n  - {name: a, email: x@chu-exemple.fr}\n"
            "  - {name: b, aliases: [X@chu-exemple.fr]}\n")
    with pytest.raises(VigieError, match="already belongs to account 'a'"):
        load_inventory([write(tmp_path, text)])


@pytest.mark.parametrize("entry, message", [
    ("{name: a, email: not-an-address}", "not a mail address"),
    ("{name: a, email: [a@x.fr, b@x.fr]}", "email is one address"),
    ("{name: a, vip: maybe}", "vip must be true or false"),
])
def test_bad_account_entries_say_what_to_fix(tmp_path, entry, message):
    with pytest.raises(VigieError, match=message):
        load_inventory([write(tmp_path, f"accounts:\n  - {entry}\n")])


def test_bad_mail_domain_is_an_error(tmp_path):
    with pytest.raises(VigieError, match="not a mail domain"):
        load_inventory([write(tmp_path, "mail_domains: [chu]\n")])


def test_csv_accounts_carry_mailboxes_and_vip(tmp_path):
    path = write(tmp_path, "name,email,aliases,vip\nmdurand,m.durand@chu-exemple.fr,md@chu-exemple.fr;"
                           "secretariat@chu-exemple.fr,yes\n", "accounts.csv")
    inventory = load_inventory([path])
    account = inventory.account_by_mailbox("secretariat@chu-exemple.fr")
    assert account.name == "mdurand" and account.vip is True
    assert account.mailboxes == ("m.durand@chu-exemple.fr", "md@chu-exemple.fr", "secretariat@chu-exemple.fr")


class CountingInventory:
    """Wraps an inventory and counts mailbox look-ups (to show they are per distinct address)."""

    def __init__(self, inventory):
        self.inner, self.asked = inventory, []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def account_by_mailbox(self, address):
        self.asked.append(address)
        return self.inner.account_by_mailbox(address)


def test_enrichment_fills_mail_accounts_per_distinct_address(inventory):
    counting = CountingInventory(inventory)
    enricher = Enricher(geo_source(None, None), *load_threat_lists(None), counting)
    rows = [{"email.from.address": ["Christophe.Fernandez@chu-exemple.fr"],
             "email.to.address": ["a@gmail.com", "jdupont@chu-exemple.fr", "cardio-garde@chu-exemple.fr",
                                  "christophe.fernandez@chu-exemple.fr"], "email.direction": "outbound"},
            {"email.from.address": ["paie@chu-exemple-rh.fr"], "email.to.address": ["jdupont@chu-exemple.fr"],
             "email.direction": "inbound"},
            {"email.from.address": None, "email.to.address": None},
            {"user.name": "cfernandez2", "source.ip": "45.137.21.9"}] * 50
    out = enricher.enrich(pa.Table.from_pylist(rows, schema=event_schema())).to_pylist()
    assert out[0]["vigie.mail.sender_account"] == "cfernandez2"
    assert out[0]["vigie.mail.recipient_accounts"] == ["jdupont", "cfernandez2"]
    assert out[0]["user.name"] is None  # not an authenticated submission: user.name stays empty
    assert out[1]["vigie.mail.sender_account"] is None
    assert out[1]["vigie.mail.recipient_accounts"] == ["jdupont"]
    assert out[2]["vigie.mail.recipient_accounts"] is None and out[2]["vigie.mail.sender_account"] is None
    assert out[3]["vigie.user.vip"] is True and out[3]["vigie.mail.sender_account"] is None
    assert out[200 - 4]["vigie.mail.recipient_accounts"] == ["jdupont", "cfernandez2"]
    # 7 distinct address strings in the batch, each looked up once
    assert sorted(counting.asked) == sorted({a for r in rows for k in ("email.from.address", "email.to.address")
                                             for a in (r.get(k) or [])})


def test_enrichment_of_a_batch_without_mail(inventory):
    enricher = Enricher(geo_source(None, None), *load_threat_lists(None), inventory)
    out = enricher.enrich(pa.Table.from_pylist([{"source.ip": "10.0.0.1"}], schema=event_schema()))
    assert out["vigie.mail.recipient_accounts"].to_pylist() == [None]
    empty = enricher.enrich(event_schema().empty_table())
    assert empty.num_rows == 0
