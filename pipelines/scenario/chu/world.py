"""The hospital: its domain and web hosts, staff, who is on site or connected from home this
evening (workstations, VPN accounts), and the patients who use the portal."""
from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass

from pipelines.scenario.chu.draws import pick, table
from pipelines.scenario.chu.internet import HOME_NETS

STAFF_COUNT = 9_000
DOMAIN = "chu-exemple.fr"
WWW_HOST = f"www.{DOMAIN}"
PORTAL_HOST = f"portail-patients.{DOMAIN}"
# The devices that write the logs (their host names appear in the lines and the inventory).
MX_HOST = "mx1"  # the mail gateway (Postfix)
FORTIGATE_NAME, FORTIGATE_SERIAL = "FGT-CHU-01", "FG100FTK21004512"
ASA_NAME = "asa-chu-01"
OPENVPN_NAME = "vpn-dsi-01"

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
_DEPARTMENTS = table((
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
        department, clinical = pick(rng, _DEPARTMENTS)
        initials = "".join(part[0] for part in _ascii(first).split("-"))
        login = _unique((initials + _ascii(last).replace("-", ""))[:20], logins)
        email = f"{_unique(f'{_ascii(first)}.{_ascii(last)}', emails)}@{DOMAIN}"
        people.append(Person(login, email, department, clinical))
    return tuple(people)


def personal_address(rng: random.Random, domain: str) -> str:
    """A personal address at a consumer provider."""
    first, last = _ascii(rng.choice(_FIRST_NAMES)), _ascii(rng.choice(_LAST_NAMES))
    suffix = str(rng.randint(1, 99)) if rng.random() < 0.4 else ""
    return f"{first}.{last}{suffix}@{domain}"


def make_world(rng: random.Random) -> World:
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
    patients = tuple(personal_address(rng, rng.choice(providers)) for _ in range(3_000))
    return World(staff, on_site, tuple(fortigate), tuple(asa), tuple(openvpn), patients)

