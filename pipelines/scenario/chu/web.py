"""Web: the public site (Apache, web/www-access.log), the patient portal (IIS,
web/portail-patients-iis.log) and the staff proxy (Squid, web/proxy-access.log)."""
from __future__ import annotations

import random
from typing import TYPE_CHECKING, Sequence

from pipelines.scenario import formats
from pipelines.scenario.chu.clock import START_MS, local_ms, moment
from pipelines.scenario.chu.draws import (PROFILE_FLAT, PROFILE_OFFICE, PROFILE_PORTAL,
                                          PROFILE_WEB, fill_in, pick, table, vary, when)
from pipelines.scenario.chu.internet import fixed_ip, noise_ip, visitor_ip
from pipelines.scenario.chu.logfiles import Record, fill
from pipelines.scenario.chu.world import PORTAL_HOST, WWW_HOST, World

if TYPE_CHECKING:
    from pipelines.scenario.chu.attack import Attack

BROWSERS = table((
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
_WWW_PAGES = table((
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
_WWW_REFERERS = table((("-", 35), ("https://www.google.fr/", 35), ("https://www.google.com/", 6),
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
NOT_FOUND_SIZE = 7_612


def www_record(t: int, ip: str, method: str, target: str, status: int, size: int, referer: str,
               agent: str, protocol: str = "HTTP/1.1", tag: str | None = None) -> Record:
    """A line of the public site's log (Apache combined; an empty body logs '-')."""
    return t, formats.apache_combined(moment(t), ip, method, target, status, size, referer, agent,
                                      protocol=protocol), tag


def _www_visit(rng: random.Random, limit: int) -> list[Record]:
    """A person browsing the public site: pages, their assets, sometimes a form."""
    t, ip, agent = when(rng, PROFILE_WEB), visitor_ip(rng), pick(rng, BROWSERS)
    protocol = "HTTP/2.0" if rng.random() < 0.7 else "HTTP/1.1"
    referer = pick(rng, _WWW_REFERERS)
    cached = rng.random() < 0.3
    out = []
    if rng.random() < 0.03:
        out.append(www_record(t, ip, "GET", rng.choice(_DEAD_LINKS), 404, NOT_FOUND_SIZE, referer,
                           agent, protocol))
        t += rng.randint(2_000, 20_000)
    for page in range(min(6, 1 + int(rng.expovariate(0.7)))):
        path, size = pick(rng, _WWW_PAGES)
        url = f"https://{WWW_HOST}{path}"
        out.append(www_record(t, ip, "GET", path, 200, vary(rng, size), referer, agent, protocol))
        at = t
        for asset, asset_size in _WWW_ASSETS if page == 0 else ():
            at += rng.randint(15, 250)
            out.append(www_record(at, ip, "GET", asset, 304 if cached else 200,
                               0 if cached else asset_size, url, agent, protocol))
        if page == 0 and "iP" in agent and not cached:
            at += rng.randint(100, 900)
            out.append(www_record(at, ip, "GET", "/apple-touch-icon.png", 404, NOT_FOUND_SIZE, "-",
                               agent, protocol))
        for _ in range(rng.randint(0, 3)):
            at += rng.randint(20, 400)
            out.append(www_record(at, ip, "GET", rng.choice(_WWW_IMAGES), 200,
                               rng.randint(18_000, 240_000), url, agent, protocol))
        if path == "/fr/contact" and rng.random() < 0.25:
            at += rng.randint(30_000, 180_000)
            out.append(www_record(at, ip, "POST", "/fr/contact", 303, 0, url, agent, protocol))
            out.append(www_record(at + rng.randint(80, 300), ip, "GET", "/fr/contact?envoye=1", 200,
                               vary(rng, 20_410), url, agent, protocol))
        if path == "/fr/recrutement/candidature-spontanee" and rng.random() < 0.3:
            at += rng.randint(60_000, 300_000)
            out.append(www_record(at, ip, "POST", "/upload.php", 200, vary(rng, 1_830), url, agent,
                               protocol))
        referer = url
        t = at + rng.randint(5_000, 150_000)
    return out[:limit]


def _www_bot(rng: random.Random, limit: int) -> list[Record]:
    """A search-engine or SEO crawler fetching a few pages."""
    agent, addresses = rng.choice(_BOTS)
    t, ip = when(rng, PROFILE_FLAT), rng.choice(addresses)
    out = []
    if rng.random() < 0.3:
        out.append(www_record(t, ip, "GET", "/robots.txt", 200, 312, "-", agent))
    for _ in range(rng.randint(1, 5)):
        t += rng.randint(1_000, 30_000)
        path, size = pick(rng, _WWW_PAGES)
        out.append(www_record(t, ip, "GET", path, 200, vary(rng, size), "-", agent))
    return out[:limit]


def _www_noise(rng: random.Random, limit: int) -> list[Record]:
    """Internet background radiation: a scanner trying one to three well-known paths."""
    t, ip, agent = when(rng, PROFILE_FLAT), noise_ip(rng), rng.choice(_NOISE_AGENTS)
    out = []
    for path, status in rng.sample(_NOISE_PATHS, rng.randint(1, 3)):
        size = {404: NOT_FOUND_SIZE, 403: 199, 200: 312}[status]
        out.append(www_record(t, ip, "GET", path, status, size, "-", agent))
        t += rng.randint(200, 3_000)
    return out[:limit]


_WWW_KINDS = table(((_www_visit, 80), (_www_bot, 12), (_www_noise, 8)))


def www_access(rng: random.Random, world: World, budget: int, attack: "Attack") -> list[Record]:
    """The public site's background: visitors, crawlers, scanners."""
    return fill(budget, lambda limit: pick(rng, _WWW_KINDS)(rng, limit))


_PORTAL_IP = "10.10.2.15"
_IIS_RESTART_MS = local_ms(20, 0)
_PORTAL_ASSETS = ("/Portail/Content/site.min.css", "/Portail/Scripts/bundle.min.js",
                  "/Portail/Content/img/logo-chu.png", "/Portail/favicon.ico")
_PORTAL_PAGES = table((
    (("/Portail/RendezVous", ""), 10), (("/Portail/RendezVous/Nouveau", ""), 3),
    (("/Portail/Documents", ""), 8), (("/Portail/Documents/Telecharger", "id=D2026-{n}"), 5),
    (("/Portail/Messagerie", ""), 5), (("/Portail/Factures", ""), 3),
    (("/Portail/Factures/Payer", "id=F2026-{n}"), 1), (("/Portail/Profil", ""), 2),
    (("/Portail/Questionnaires/PreAdmission", ""), 2),
))


def _w3c_header(t: int) -> list[Record]:
    """The directives IIS writes when it opens its log (default IIS fields)."""
    return [(t, line, None) for line in formats.w3c_header(moment(t))]


def _iis(t: int, method: str, stem: str, query: str, user: str, ip: str, agent: str,
         referer: str, status: int, taken_ms: int, win32: int = 0) -> Record:
    """A line of the portal's log (IIS W3C, default fields, port 443)."""
    return t, formats.iis(moment(t), _PORTAL_IP, method, stem, query, 443, user, ip, agent,
                          referer, status, taken_ms, win32_status=win32), None


def _portal_visit(rng: random.Random, patients: Sequence[str], limit: int) -> list[Record]:
    """A patient signing in to the portal, browsing appointments and documents."""
    t, ip = when(rng, PROFILE_PORTAL), visitor_ip(rng)
    agent = pick(rng, BROWSERS)
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
        stem, query = pick(rng, _PORTAL_PAGES)
        steps.append(("GET", stem, fill_in(rng, query), True, referer, 200))
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
    return [_iis(when(rng, PROFILE_FLAT), "GET", "/Portail/health", "", "", "10.10.9.20",
                 "check_http/v2.3.3 (monitoring-plugins 2.3.3)", "", 200, rng.randint(2, 9))]


def portal_access(rng: random.Random, world: World, budget: int,
                  attack: "Attack") -> list[Record]:
    """The portal's log: header blocks (start, and a restart at 20:00 local), patients, probes."""
    headers = _w3c_header(START_MS) + _w3c_header(_IIS_RESTART_MS)
    return headers + fill(budget - len(headers), lambda limit: (
        _portal_visit(rng, world.patients, limit) if rng.random() < 0.9
        else _portal_probe(rng, limit)))


# (host, allowed), weight: what staff reach through the proxy in the evening
_SITES = table((
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
    """A line of the staff proxy's log (Squid native)."""
    return t, formats.squid(moment(t), elapsed, client, code, status, size, method, url, user,
                            peer, mime), None


def _proxy_browse(rng: random.Random, world: World, limit: int) -> list[Record]:
    """A member of staff on site opening a site (and its CDNs), or being refused one."""
    ws, (host, allowed) = rng.choice(world.on_site), pick(rng, _SITES)
    t, user = when(rng, PROFILE_OFFICE), ws.person.login
    if not allowed:
        return [_squid(t, rng.randint(0, 3), ws.ip, "TCP_DENIED", 403, 3_982, "CONNECT",
                       f"{host}:443", user, "HIER_NONE/-", "text/html")][:limit]
    out = []
    for target in [host] + rng.sample(_CDNS, rng.randint(0, 4)):
        out.append(_squid(t, rng.randint(800, 180_000), ws.ip, "TCP_TUNNEL", 200,
                          rng.randint(2_000, 2_500_000), "CONNECT", f"{target}:443", user,
                          f"HIER_DIRECT/{fixed_ip(target)}", "-"))
        t += rng.randint(30, 2_000)
    return out[:limit]


def _proxy_machine(rng: random.Random, world: World, limit: int) -> list[Record]:
    """A workstation's own traffic: certificate checks, updates (no user)."""
    method, url, code, status, size, mime = rng.choice(_MACHINE_TRAFFIC)
    host = url.split("/")[2] if "://" in url else url.split(":")[0]
    peer = "HIER_NONE/-" if "HIT" in code else f"HIER_DIRECT/{fixed_ip(host)}"
    return [_squid(when(rng, PROFILE_FLAT), rng.randint(3, 400), rng.choice(world.on_site).ip,
                   code, status, vary(rng, size), method, url, "-", peer, mime)]


def proxy_access(rng: random.Random, world: World, budget: int,
                 attack: "Attack") -> list[Record]:
    """The outbound proxy: staff browsing, workstations' background traffic."""
    return fill(budget, lambda limit: (_proxy_browse(rng, world, limit) if rng.random() < 0.8
                                        else _proxy_machine(rng, world, limit)))

