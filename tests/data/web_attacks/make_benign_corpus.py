"""Write the benign corpus: benign/access.log (ordinary and tricky-but-benign site traffic).

A day of a hospital's public web site as visitors, search engines, partners' links and
monitoring make it, written by the project: pages and assets, and the requests that look like
attacks to a careless rule but are not — searches with quotes and apostrophes (French names:
l'hôpital, D'Artagnan), SQL words in product and service names (Select, Union, Order, Drop
Box), `..` and `--` inside ordinary values, shell-like words (écho, cat, ping), marketing
parameters (long UTM sets, gclid, fbclid), base64 and JWT tokens, OAuth and SAML redirects with
URL-valued parameters, a PDF viewer whose `file=` names a document of the site, unrendered
front-end templates (`{{item.url}}`, `${lang}`), phone numbers and e-mail addresses with `+`,
multi-line form messages (`%0D%0A`). Deterministic (tests check that the committed file is
current). Run: python tests/data/web_attacks/make_benign_corpus.py
"""
from __future__ import annotations

import datetime as dt
import random
from pathlib import Path
from urllib.parse import quote, quote_plus

HERE = Path(__file__).resolve().parent / "benign"
START = dt.datetime(2026, 11, 26, 6, 0, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))
LINES = 6000
SITE = "https://www.chu-exemple.fr"

BROWSERS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:144.0) Gecko/20100101 Firefox/144.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/19.1 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 19_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/19.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 15; SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36 Edg/142.0.0.0",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/141.0.0.0 Mobile Safari/537.36 [FBAN/EMA;FBLC/fr_FR;FBAV/430.0.0.10.110;]",
]
BOTS = [
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Mozilla/5.0 (compatible; Qwantbot/1.0; +https://help.qwant.com/bot/)",
    "Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)",
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "curl/8.5.0",
    "python-requests/2.32.3",
    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
]
REFERRERS = [
    "-", "-", f"{SITE}/", f"{SITE}/fr/recherche?q=urgences", "https://www.google.com/",
    "https://www.google.fr/", "https://www.bing.com/search?q=chu+exemple+rendez-vous",
    "https://duckduckgo.com/", "https://l.facebook.com/l.php?u=https%3A%2F%2Fwww.chu-exemple.fr%2Ffr%2Factualites%2F&h=AT0xW9b3Kq",
    "https://www.google.com/url?q=https://www.chu-exemple.fr/fr/services/maternite&sa=U&ved=2ahUKEwi",
    "https://www.qwant.com/?q=h%C3%B4pital+de+jour+p%C3%A9diatrie&t=web",
    "https://www.doctolib.fr/centre-hospitalier/exemple/chu-exemple",
    f"{SITE}/fr/recherche?q=l%27h%C3%B4pital+de+jour",
]
PAGES = [
    "/", "/fr/", "/fr/actualites/", "/fr/services/urgences", "/fr/services/maternite",
    "/fr/services/cardiologie", "/fr/services/radiologie-imagerie", "/fr/patients/preparer-mon-sejour",
    "/fr/patients/tarifs-et-remboursements", "/fr/recrutement/offres", "/fr/contact",
    "/fr/acces-et-plans", "/fr/actualites/l-hopital-se-modernise", "/fr/actualites/vaccination-grippe-2026",
    "/fr/dons-et-mecenat", "/en/", "/en/international-patients", "/fr/medecins/dr-martin-oneil",
    "/fr/actualites/journee-portes-ouvertes-union-des-associations", "/fr/services/select-sante",
]
ASSETS = [
    "/themes/chu/css/style.min.css?v=4.12.3", "/themes/chu/js/app.min.js?v=4.12.3",
    "/core/misc/drupal.js?t4n2x1", "/sites/default/files/styles/bandeau/public/2026-11/hall-accueil.jpg?itok=Xy3_pQ9a",
    "/themes/chu/images/logo.svg", "/favicon.ico", "/themes/chu/fonts/marianne-regular.woff2",
    "/sites/default/files/2026-10/livret%20d%27accueil%202026.pdf",
    "/sites/default/files/documents/plan..acces..parking.pdf",
]
SEARCHES = [
    "urgences", "l'hôpital de jour", "prise de sang", "\"prise de sang\" à jeun", "Select Comfort matelas",
    "union des mutuelles", "ordonnance", "order by date", "Drop Box dossier médical",
    "D'Artagnan", "O'Neil cardiologue", "l'union fait la force", "échographie cardiaque",
    "écho doppler", "cat scan", "ping pong thérapie", "sleep apnea (apnée du sommeil)",
    "rock & roll thérapie", "C++ formation", "50% remboursé", "what's new", "et..., etc.",
    "maternité -- horaires", "IRM / scanner", "vaccin grippe 2026-2027", "a+b", "1=1 consultation",
    "centre \"hôpital\" OR CHU", "<3 merci aux soignants", "wait... what?", "id", "who am i",
    "select", "script", "alert canicule", "alerte (canicule)", "exec chef de service",
    "table ronde cancer", "insert patient", "update dossier", "version française",
    "information schema régional", "delay rendez-vous", "benchmark qualité", "sleep clinic",
    "javascript désactivé", "onload", "document.cookie consentement", "file d'attente",
    "page d'accueil", "include handicap", "data protection", "expect delivery", "wget", "curl cheveux",
    "passwd oublié", "etc passwd", "/etc", "service ORL ; horaires", "Père & fils | pédiatrie",
]
MESSAGES = [
    "Bonjour,\r\nje voudrais un rendez-vous.\r\nMerci",
    "Madame, Monsieur,\r\nSet of documents attached: see below.\r\nCordialement",
    "Question : le parking est-il payant ? (merci)",
]
TOKENS = [
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkplYW4gRHVwb250IiwiaWF0IjoxNzk1MDAwMDAwfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
    "YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXo+Pz8/Pz8/Pj4+Pg==",
    "dXNlcj1qZWFuLmR1cG9udCZleHA9MTc5NTAwMDAwMA%3D%3D",
    "c2VsZWN0IGEgcGFnZQ==", "Li4vLi4vc2VjdGlvbnM=",
]


def enc(text: str) -> str:
    """A browser's form encoding: spaces as +, the rest as %XX (UTF-8)."""
    return quote_plus(text, safe="")


class Writer:
    def __init__(self, seed: int = 20261126) -> None:
        self.rng = random.Random(seed)
        self.clock = START
        self.lines: list[str] = []

    def add(self, target: str, *, method: str = "GET", status: int = 200, ua: str | None = None,
            referrer: str | None = None, address: str | None = None) -> None:
        rng = self.rng
        self.clock += dt.timedelta(milliseconds=rng.randint(200, 9000))
        address = address or f"{rng.choice([82, 86, 90, 109, 176, 194, 2, 37, 78, 92])}." \
                             f"{rng.randint(1, 254)}.{rng.randint(1, 254)}.{rng.randint(1, 254)}"
        ua = ua or rng.choice(BROWSERS)
        referrer = referrer if referrer is not None else rng.choice(REFERRERS)
        when = self.clock.strftime("%d/%b/%Y:%H:%M:%S %z")
        size = rng.randint(300, 90000) if status != 304 else 0
        self.lines.append(f'{address} - - [{when}] "{method} {target} HTTP/1.1" {status} {size} '
                          f'"{referrer}" "{ua}"')


def utm(rng: random.Random) -> str:
    campaign = rng.choice(["vaccination_grippe_2026_rappel_seniors_plus_de_65_ans",
                           "newsletter-novembre-2026--edition-speciale",
                           "journee_portes_ouvertes_maternite_(samedi)"])
    return (f"utm_source={rng.choice(['newsletter', 'facebook', 'linkedin', 'google'])}"
            f"&utm_medium={rng.choice(['email', 'social', 'cpc'])}&utm_campaign={enc(campaign)}"
            f"&utm_content=bouton_prendre_rdv&utm_term={enc('vaccin grippe + covid')}")


def tricky(w: Writer) -> None:
    """One tricky-but-benign request."""
    rng = w.rng
    kind = rng.randrange(16)
    if kind == 0:
        w.add(f"/fr/recherche?q={enc(rng.choice(SEARCHES))}&page={rng.randint(1, 4)}")
    elif kind == 1:
        w.add(f"{rng.choice(PAGES)}?{utm(rng)}", referrer="-")
    elif kind == 2:
        w.add(f"{rng.choice(PAGES)}?gclid=Cj0KCQiA{rng.randrange(10**12)}_BwE&fbclid=IwAR3{rng.randrange(10**9)}x-Yz_Q")
    elif kind == 3:
        w.add(f"/portail/activation?token={rng.choice(TOKENS)}&lang=fr")
    elif kind == 4:
        state = enc(rng.choice(TOKENS))
        w.add("/oauth2/authorize?response_type=code&client_id=portail-patient"
              f"&redirect_uri={quote(SITE + '/portail/callback', safe='')}&scope=openid+profile+email"
              f"&state={state}&nonce={rng.randrange(10**12)}")
    elif kind == 5:
        w.add(f"/Portail/Account/Login?ReturnUrl={quote('/Portail/RendezVous?id=' + str(rng.randint(1, 9999)), safe='')}")
    elif kind == 6:
        doc = rng.choice(["livret-accueil.pdf", "tarifs 2026.pdf", "charte-patient.pdf"])
        w.add(f"/libraries/pdfjs/web/viewer.html?file={quote(SITE + '/sites/default/files/' + doc, safe='')}")
    elif kind == 7:
        w.add(f"/out?url={quote(rng.choice(['https://www.ameli.fr/', 'https://www.has-sante.fr/jcms/c_2838054/fr/', 'https://sante.gouv.fr/?page=1']), safe='')}")
    elif kind == 8:
        w.add(rng.choice(["/fr/%7B%7Bitem.url%7D%7D", "/fr/${lang}/actualites", "/images/{{ image.src }}",
                          "/fr/actualites/%7B%7B%20article.slug%20%7D%7D"]), status=404)
    elif kind == 9:
        w.add(f"/fr/contact?telephone={enc('+33 1 23 45 67 89')}&email={enc('jean.dupont+rdv@gmail.com')}"
              f"&message={enc(rng.choice(MESSAGES))}")
    elif kind == 10:
        name = rng.choice(["D’Artagnan", "O'Neil", "L'Hermite", "Dupont-Moretti"])
        w.add(f"/fr/medecins?nom={enc(name)}&specialite=ORL")
    elif kind == 11:
        w.add("/api/v1/agenda?from=2026-11-01&to=2026-11-30&sort=-date&order=desc&fields=id,titre,(lieu)")
    elif kind == 12:
        w.add(f"/fr/recherche?q={quote(rng.choice(SEARCHES))}")  # %20-encoded (another browser path)
    elif kind == 13:
        w.add(f"/saml/SSO?SAMLRequest=fZJNb9swDIb%2FisG7Y8tN1kKIU2QNigXo1iDJethloGU6FipLnignbX79lDQf7SE9ESBfks9LcnL72ploS54"
              f"{rng.randrange(10**8)}%2BsIz8%3D&RelayState={enc('/portail/')}")
    elif kind == 14:
        w.add(rng.choice(["/.well-known/acme-challenge/Kq9v2W3x_yZ", "/.well-known/security.txt",
                          "/robots.txt", "/sitemap.xml", "/fr/node/412?destination=/fr/actualites"]),
              ua=rng.choice(BOTS), referrer="-")
    else:
        w.add(rng.choice(ASSETS), referrer=f"{SITE}/fr/")


def build() -> list[str]:
    w = Writer()
    while len(w.lines) < LINES:
        roll = w.rng.random()
        if roll < 0.35:
            tricky(w)
        elif roll < 0.6:
            w.add(w.rng.choice(PAGES))
        elif roll < 0.9:
            w.add(w.rng.choice(ASSETS), referrer=f"{SITE}{w.rng.choice(PAGES)}",
                  status=w.rng.choice([200, 200, 304]))
        else:
            w.add(w.rng.choice(PAGES + ["/robots.txt", "/sitemap.xml"]), ua=w.rng.choice(BOTS),
                  referrer="-")
    return w.lines


def render() -> str:
    return "".join(line + "\n" for line in build())


def main() -> None:
    HERE.mkdir(parents=True, exist_ok=True)
    text = render()
    (HERE / "access.log").write_text(text, encoding="utf-8")
    print(f"wrote {text.count(chr(10))} lines to {HERE}")


if __name__ == "__main__":
    main()
