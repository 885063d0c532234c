"""Web server log parsers: access logs (Apache/Nginx CLF, W3C/IIS, Squid, nginx JSON), error
logs (Apache, nginx) and the ModSecurity alarms inside them. One module per format family.

In: a LineBatch of one file and its ParseContext. Out: a ParseResult (see base.py). Parsing is
columnar (pyarrow.compute over the whole batch); Python runs only per distinct value or per rare
line (an escaped value, a header that does not split, a JSON line Arrow's reader refuses).

Formats (event.dataset, module: what it reads):
- `web.apache_combined`, `web.apache_common` (clf.py): `[vhost[:port] ]client ident user [time]
  "request" status bytes ["referrer" "agent"] [trailing]`, with X-Forwarded-For lists, user
  names with spaces, `%D`/`$request_time` durations, IPv6, `-` everywhere.
- `web.w3c` (w3c.py): W3C extended (IIS); `#Fields:` drives the columns; a file whose header was
  rotated away is read with the IIS default layout its lines fit (tag vigie.w3c_fields_inferred).
- `web.squid` (squid.py): Squid native access.log.
- `web.nginx_json` (nginx_json.py): `log_format ... escape=json` access logs.
- `web.apache_error` (apache_error.py): httpd 2.2 and 2.4 error logs (also via syslog).
- `web.nginx_error` (nginx_error.py): nginx error logs.
- ModSecurity messages in both error logs (modsecurity.py) become alerts: rule.id, rule.name,
  event.severity, url.*, http.request.id, tags.

A line whose header (client and time; for error logs time and level) reads is an event, whatever
follows it: an attack that breaks the rest of the layout is evidence and must reach the rules
(event.original always holds the line; clf.py tags such events vigie.partial_parse). Only lines
whose header does not read, or whose time is impossible, are dead letters (with the reason);
blank lines are skipped ("blank line"). Escapes are undone as the server meant them (escapes.py):
url.*, user_agent.original, http.request.referrer, user.name and message hold what the client
sent; bytes that are not UTF-8 stay as `\\xNN` text.

`-` in user agent and referrer (the convention, see docs/web-parsing.md): a header the client
did not send is null; a header sent empty is the empty string "". Apache and nginx write `-` for
the first and `""` for the second, so both are kept apart: Sigma's `c-useragent: ''` (the empty
user agent, SigmaHQ proxy_ua_empty) matches the second, and `cs-user-agent: null` /
`cs-referer: null` (SigmaHQ web_webshell_regeorg, the project's upload rule) match the first;
a rule that means "no user agent at all" lists both (`['', null]`). Formats that cannot tell
them apart read both as absent (null): W3C/IIS (`-` for both) and nginx JSON (escape=json
writes "" for both). Formats that do not log the field leave it null. Elsewhere `-` or an empty
value is null (a `-` byte count too: absent, not 0); *.ip fields hold valid addresses only;
event.outcome is success below status 400, failure from 400, null without status.
observer.product is set where one product writes the format (squid, nginx, apache).
"""
from __future__ import annotations

from pipelines.parsing.base import LogFormat
from pipelines.parsing.web.clf import (
    APACHE_COMBINED, APACHE_COMMON, PARTIAL_TAG, parse_apache_combined, parse_apache_common,
)
from pipelines.parsing.web.apache_error import APACHE_ERROR, parse_apache_error
from pipelines.parsing.web.modsecurity import modsecurity_columns
from pipelines.parsing.web.nginx_error import NGINX_ERROR, parse_nginx_error
from pipelines.parsing.web.nginx_json import NGINX_JSON, detect_nginx_json, parse_nginx_json
from pipelines.parsing.web.squid import SQUID, parse_squid
from pipelines.parsing.web.w3c import (
    IIS_DEFAULT_FIELDS, INFERRED_TAG, W3C, W3C_DIRECTIVES, detect_w3c, infer_iis_layout, parse_w3c,
)

__all__ = ["FORMATS", "APACHE_COMBINED", "APACHE_COMMON", "W3C", "SQUID", "APACHE_ERROR", "NGINX_ERROR",
           "NGINX_JSON", "PARTIAL_TAG", "INFERRED_TAG", "W3C_DIRECTIVES", "IIS_DEFAULT_FIELDS",
           "parse_apache_combined", "parse_apache_common", "parse_w3c", "parse_squid", "parse_apache_error",
           "parse_nginx_error", "parse_nginx_json", "detect_w3c", "detect_nginx_json", "infer_iis_layout",
           "modsecurity_columns"]

FORMATS: list[LogFormat] = [APACHE_COMBINED, APACHE_COMMON, W3C, SQUID, APACHE_ERROR, NGINX_ERROR, NGINX_JSON]
