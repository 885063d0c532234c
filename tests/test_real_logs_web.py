"""Web parsers on real logs from ../shared/data/logs (skipped when that folder is absent)."""
from __future__ import annotations

import collections
import datetime as dt
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.parsing import detect_format, web
from pipelines.parsing.base import LineBatch, ParseContext

# fail2ban's test suite runs in CET/CEST: its annotated times are Zurich wall-clock times.
FAIL2BAN_ZONE = ZoneInfo("Europe/Zurich")
CTX = ParseContext(timezone="Europe/Zurich")


def file_batches(path: Path, size: int) -> list[LineBatch]:
    """The lines of a file (split on '\\n' only) in batches of `size`, with true byte offsets."""
    raw = path.read_bytes().split(b"\n")
    if raw and raw[-1] == b"":
        raw.pop()
    starts = np.concatenate([[0], np.cumsum([len(line) + 1 for line in raw])[:-1]]).astype(np.int64)
    texts = [line.decode("utf-8", "replace") for line in raw]
    return [LineBatch(str(path), "0" * 16, pa.array(texts[k:k + size], pa.string()), starts[k:k + size])
            for k in range(0, len(texts), size)]


def one_line_batch(line: str) -> LineBatch:
    return LineBatch("line", "0" * 16, pa.array([line], pa.string()), np.zeros(1, dtype=np.int64))


# ---------------------------------------------------------------------------------------------
# apache-elastic-examples: 10,000 real combined lines
# ---------------------------------------------------------------------------------------------

def test_elastic_apache_log(shared_logs):
    path = shared_logs / "apache-elastic-examples" / "apache_logs"
    batches = file_batches(path, 4096)
    lines = [line for batch in batches for line in batch.lines.to_pylist()]
    assert len(lines) == 10_000
    for start in range(0, len(lines), 200):  # as the reader samples a file's first 200 lines
        fmt, _ = detect_format(lines[start:start + 200])
        assert fmt is web.APACHE_COMBINED, start
    assert web.APACHE_COMBINED.detect(lines) == 0.9999

    results = [web.APACHE_COMBINED.parse(batch, ParseContext()) for batch in batches]
    assert [r.lines_accounted() for r in results] == [len(b) for b in batches]
    events = pa.concat_tables(r.events for r in results)
    dead = pa.concat_tables(r.dead_letters for r in results)
    assert events.num_rows == 10_000 and dead.num_rows == 0
    # line 8,899 lost the end of its user agent (`...bot.html` without `)"`): its header reads,
    # so it is an event, tagged as partially read, with what could be read of its tail
    partial = events.filter(pc.is_valid(events["tags"])).to_pylist()
    assert [e["tags"] for e in partial] == [[web.PARTIAL_TAG]]
    (cut,) = partial
    assert cut["user_agent.original"].endswith("+http://www.google.com/bot.html")
    assert (cut["http.response.status_code"], cut["url.path"]) == (200, "/scripts/grok-py-test/configlib.py")
    data = path.read_bytes()
    offset = cut["log.offset"]
    assert data[offset:].startswith(cut["event.original"].encode() + b"\n")
    assert data[:offset].count(b"\n") + 1 == 8_899
    # "-" (no User-Agent header sent) is null; no line of this log has an empty one ("")
    assert events["user_agent.original"].null_count == 190

    statuses = collections.Counter(events["http.response.status_code"].to_pylist())
    assert statuses == {200: 9_126, 304: 445, 404: 213, 301: 164, 206: 45, 500: 3, 403: 2, 416: 2}
    assert events["source.ip"].null_count == 0
    assert events["http.request.method"].null_count == 0
    assert pc.min(events["@timestamp"]).as_py() == dt.datetime(2015, 5, 17, 10, 5, tzinfo=dt.timezone.utc)
    assert pc.max(events["@timestamp"]).as_py() == dt.datetime(2015, 5, 20, 21, 5, 59, tzinfo=dt.timezone.utc)
    assert collections.Counter(events["event.outcome"].to_pylist()) == {"success": 9_780, "failure": 220}
    assert len(set(events["event.id"].to_pylist())) == 10_000


# ---------------------------------------------------------------------------------------------
# fail2ban web samples: annotated lines (time, offending host)
# ---------------------------------------------------------------------------------------------

# Files whose annotated lines are in a supported format: the format of those lines (the file's
# detected format is the first one, see DETECTED).
SUPPORTED_FILES = {
    "apache-auth": {"apache_error"},
    "apache-badbots": {"apache_combined"},
    "apache-botsearch": {"apache_error"},
    "apache-fakegooglebot": {"apache_combined"},
    "apache-modsecurity": {"apache_error"},
    "apache-nohome": {"apache_error"},
    "apache-noscript": {"apache_error"},
    "apache-overflows": {"apache_error"},
    "apache-pass": {"apache_combined"},
    "apache-shellshock": {"apache_error"},
    "nginx-bad-request": {"apache_combined"},
    "nginx-botsearch": {"apache_combined", "nginx_error"},
    "nginx-forbidden": {"nginx_error"},
    "nginx-http-auth": {"nginx_error"},
    "nginx-limit-req": {"nginx_error"},
    "php-url-fopen": {"apache_combined"},
    "squid": {"squid"},
    "traefik-auth": {"apache_combined"},
}
# Not web servers Vigie reads (drupal, haproxy, lighttpd and suhosin write their own layouts).
OTHER_PRODUCTS = {"drupal-auth", "haproxy-http-auth", "lighttpd-auth", "suhosin"}


def fail2ban_labels(shared_logs: Path) -> dict[str, list[dict]]:
    """labels.jsonl records of the web files, by file name."""
    by_file = collections.defaultdict(list)
    for record in map(json.loads, (shared_logs / "fail2ban" / "labels.jsonl").read_text().splitlines()):
        if record["file"].startswith("web/"):
            by_file[record["file"][len("web/"):]].append(record)
    return by_file


def file_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8", errors="replace").split("\n")


def parsed_by_some_format(line: str, ctx: ParseContext = CTX) -> tuple[str, dict] | None:
    """(format name, event) of the first web format that reads `line` as an event, or None."""
    for fmt in web.FORMATS:
        result = fmt.parse(one_line_batch(line), ctx)
        assert result.lines_accounted() == 1
        if result.events.num_rows:
            return fmt.name, result.events.to_pylist()[0]
    return None


# `[Fri Dec 06 09:29:34 2013]` is annotated 2014-12-06 (a Saturday): the line's own year is right.
WRONG_ANNOTATIONS = {("apache-botsearch", 43)}


def test_fail2ban_annotated_lines(shared_logs):
    checked, files_with_events = 0, {}
    for name, records in fail2ban_labels(shared_logs).items():
        lines = file_lines(shared_logs / "fail2ban" / "web" / name)
        for record in records:
            # syslog lines carry no year: fail2ban assumes the annotated one
            year_end = dt.datetime(int(record.get("time", "2100")[:4]), 12, 31, tzinfo=dt.timezone.utc)
            ctx = ParseContext(timezone="Europe/Zurich", reference_time=year_end)
            parsed = parsed_by_some_format(lines[record["line"] - 1], ctx)
            if parsed is None:
                continue
            fmt_name, event = parsed
            files_with_events.setdefault(name, set()).add(fmt_name)
            if "host" in record:
                assert event["source.ip"] == record["host"], (name, record)
            if "time" in record and (name, record["line"]) not in WRONG_ANNOTATIONS:
                wall = dt.datetime.fromisoformat(record["time"]).replace(tzinfo=FAIL2BAN_ZONE)
                # fail2ban's annotations drop the microseconds of Apache 2.4 error logs
                assert event["@timestamp"].replace(microsecond=0) == wall.astimezone(dt.timezone.utc), (name, record)
                checked += 1
    assert checked == 155
    assert files_with_events == SUPPORTED_FILES


def test_fail2ban_files_detect_and_account_for_every_line(shared_logs):
    folder = shared_logs / "fail2ban" / "web"
    for path in sorted(folder.iterdir()):
        data = [line for line in file_lines(path) if line.strip() and not line.startswith("#")]
        fmt, _ = detect_format(data[:200])
        if path.name == "apache-fakegooglebot":
            # 2 of its 3 lines use a custom layout (`- - - [31/Jan/2015:14:29:44 ] vhost "GET ..."`):
            # not enough to detect the file, but read as partial events when the format is given
            assert fmt is None
            batch = LineBatch(str(path), "0" * 16, pa.array(data, pa.string()), np.arange(len(data), dtype=np.int64))
            result = web.APACHE_COMBINED.parse(batch, CTX)
            assert result.dead_letters.num_rows == 0 and result.events.num_rows == 3
            assert result.events["tags"].to_pylist() == [[web.PARTIAL_TAG]] * 2 + [None]
            assert result.events["user_agent.original"].to_pylist()[1] == "NOT A __GOOGLE_BOT__"
        elif path.name in OTHER_PRODUCTS:  # no web format reads any of their lines
            assert fmt is None or fmt.family != "web", path.name
            for web_format in web.FORMATS:
                assert web_format.parse(file_batches(path, 1000)[0], CTX).events.num_rows == 0, path.name
        else:
            assert fmt is not None and fmt.name in SUPPORTED_FILES[path.name], path.name
            for batch in file_batches(path, 1000):
                result = fmt.parse(batch, CTX)
                assert result.lines_accounted() == len(batch)


def test_fail2ban_nginx_botsearch_mixes_access_and_error_lines(shared_logs):
    (batch,) = file_batches(shared_logs / "fail2ban" / "web" / "nginx-botsearch", 1000)
    result = web.APACHE_COMBINED.parse(batch, CTX)
    assert result.events.num_rows == 8
    assert collections.Counter(result.dead_letters["reason"].to_pylist()) == {
        "does not match apache_combined layout": 21}  # 6 error-log lines and 15 comments
    assert result.skipped == {"blank line": 14}


# ---------------------------------------------------------------------------------------------
# Parse rates (the figures in docs/web-parsing.md)
# ---------------------------------------------------------------------------------------------

def test_fail2ban_web_parse_rates(shared_logs):
    """Lines that are not comments: those some web format reads as events, and those the
    file's detected format reads (what a replay does), per product family."""
    folder = shared_logs / "fail2ban" / "web"
    totals = collections.Counter()
    for path in sorted(folder.iterdir()):
        data = [line for line in file_lines(path) if line.strip() and not line.startswith("#")]
        batch = LineBatch(str(path), "0" * 16, pa.array(data, pa.string()), np.arange(len(data), dtype=np.int64))
        family = "other products" if path.name in OTHER_PRODUCTS else "web servers Vigie reads"
        totals[family, "lines"] += len(data)
        totals[family, "any web format"] += sum(parsed_by_some_format(line) is not None for line in data)
        fmt, _ = detect_format(data[:200])
        if fmt is not None:
            result = fmt.parse(batch, CTX)
            assert result.lines_accounted() == len(data)
            totals[family, "detected format"] += result.events.num_rows
    assert dict(totals) == {
        ("web servers Vigie reads", "lines"): 166, ("web servers Vigie reads", "any web format"): 166,
        ("web servers Vigie reads", "detected format"): 157,  # nginx-botsearch mixes 6 error lines
        # into an access log; apache-fakegooglebot's custom layout is not detected (1 line of 3)
        ("other products", "lines"): 23, ("other products", "any web format"): 0,
    }
