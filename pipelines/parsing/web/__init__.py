"""Web access-log parsers: Apache/Nginx combined and common, W3C extended (IIS), Squid native.

In: a LineBatch of one file and its ParseContext. Out: a ParseResult (see base.py). All parsing
is columnar (pyarrow.compute over the whole batch); W3C loops over its directive lines only.

Formats (event.dataset) and what fills which field:
- `web.apache_combined`: `client ident user [time] "request" status bytes "referrer" "agent"`;
  `web.apache_common`: the same without referrer and agent. Both accept, per line:
  - a leading virtual host `%v` -> url.domain, or `%v:%p` -> url.domain, url.port, server.port
    (`www.site.tld:443 1.2.3.4 - - [...] ...`); an absolute request target
    (`GET http://host:port/...`, proxies) wins for url.domain/url.port and sets url.scheme;
  - a time with offset (`[10/Oct/2000:13:55:36 -0700]`) or without (`[27/Jun/2013:11:55:44]`,
    read in ctx.timezone, which then goes to event.timezone);
  - anything after the standard fields, quotes balanced (nginx's `"$http_x_forwarded_for"`,
    Traefik's counters, `%I %O`, ...). When the last unquoted field is a lone number it is the
    response time -> event.duration (ns): `0.123` seconds (nginx $request_time), `12ms`
    milliseconds (Traefik), `1234` microseconds (Apache %D). Other trailing fields stay in
    event.original only.
  client -> source.address, and source.ip when it is an address or source.domain when it is a
  name (HostnameLookups); user -> user.name; the request -> http.request.method, http.version
  ('1.1'), url.original/path/query/extension. Fields keep the server's escaping (`\\"`,
  `\\x16`). A request that is not an HTTP request line (`"-"`, `""`, `"\\x16\\x03\\x01..."`,
  `"HELP"`) still makes an event, with method, version and url.* null: that is how servers log
  scanners, and the line is evidence. Method CONNECT reads its target as host[:port].
- `web.w3c`: W3C extended log (IIS). `#Fields:` directives drive the columns; every `#` line is a
  directive, counted in ParseResult.skipped["w3c directive"]; data lines with no `#Fields` in
  force are dead letters. date + time -> @timestamp, UTC (IIS always logs UTC); c-ip ->
  source.*; c-port -> source.port; s-ip, s-port -> server.ip, server.port (and url.port);
  cs-method; cs-uri-stem, cs-uri-query (or cs-uri) -> url.*; cs-host -> url.domain (its port
  -> url.port); cs-username -> user.name; cs(User-Agent) -> user_agent.original with IIS's `+`
  turned back into spaces (event.original keeps the raw line); cs(Referer); sc-status;
  time-taken (ms) -> event.duration (ns); sc-bytes, cs-bytes -> http.response/request.bytes;
  cs-version; s-computername -> observer.hostname. sc-substatus, sc-win32-status, s-sitename
  and cs(Cookie) have no field in schemas/ and stay in event.original.
- `web.squid`: Squid native access.log: `time.ms elapsed client action/code size method URL ident
  hierarchy/peer type`. event.action is the Squid action (TCP_DENIED), event.type adds "denied"
  when the action says so, size -> http.response.bytes, elapsed (ms) -> event.duration (ns),
  ident -> user.name, the peer -> destination.*, type -> http.response.mime_type; status 000
  (no reply) -> null status and outcome.

Everywhere: `-` or an empty value is null (a `-` byte count too: absent, not 0); *.ip fields only
hold valid addresses; event.outcome is success below status 400, failure from 400, null without
status. A line that does not fit its format, or whose time does not parse, is a dead letter with
the reason; a blank line is skipped ("blank line"). observer.type is web-server (proxy for Squid);
observer.product is only set for Squid, since the CLF and W3C layouts are written by many servers.
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

__all__ = ["FORMATS", "APACHE_ERROR", "NGINX_ERROR", "NGINX_JSON", "parse_apache_error", "parse_nginx_error",
           "parse_nginx_json", "detect_nginx_json", "modsecurity_columns", "APACHE_COMBINED", "APACHE_COMMON", "PARTIAL_TAG", "W3C", "SQUID", "W3C_DIRECTIVES", "IIS_DEFAULT_FIELDS",
           "INFERRED_TAG", "infer_iis_layout",
           "parse_apache_combined", "parse_apache_common", "parse_w3c", "parse_squid", "detect_w3c"]

FORMATS: list[LogFormat] = [APACHE_COMBINED, APACHE_COMMON, W3C, SQUID, APACHE_ERROR, NGINX_ERROR, NGINX_JSON]
