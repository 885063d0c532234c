"""The benches' input: deterministic Apache combined access logs, made once per size and cached.

One generator for bench_replay.py, bench_es.py and bench_enrichment.py; the lines are written by
the project's own writer (pipelines/scenario/formats.py). 50 lines a second from 17:00 Paris
time over six hours (then again from 17:00), a public site's paths and browsers. Clients: every
line from an address of its own (the worst case for enrichment's address cache), or drawn from a
pool of distinct public addresses (each used once before any is repeated).
Environment: BENCH_LINES (default 1000000), BENCH_DIR (default bench/out).
"""
from __future__ import annotations

import datetime as dt
import os
import random
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from pipelines.scenario import formats  # noqa: E402

START = dt.datetime(2026, 11, 27, 17, 0, tzinfo=ZoneInfo("Europe/Paris"))
LINES_A_SECOND = 50
REFERRER = "https://www.chu-exemple.fr/"
STATUSES = (200, 200, 200, 304, 404, 301)
PATHS = ["/", "/index.html", "/actualites/", "/offres-emploi/", "/patients/preparer-sejour",
         "/css/site.css", "/js/app.js", "/img/logo.png", "/recherche?q=maternite", "/contact",
         "/services/urgences", "/favicon.ico", "/plan-acces.pdf", "/robots.txt"]
AGENTS = ["Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36",
          "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
          "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
          "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0"]
# First octets of the public pool (blocks the offline country data and GeoIP answer for).
POOL_FIRST_OCTETS = (2, 5, 31, 45, 62, 78, 80, 90, 109, 176, 185, 193, 212)


def _address_pool(rng: random.Random, size: int) -> list[str]:
    """About `size` distinct public addresses (duplicate draws dropped)."""
    pool = [f"{rng.choice(POOL_FIRST_OCTETS)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}."
            f"{rng.randint(1, 254)}" for _ in range(size)]
    return list(dict.fromkeys(pool))


def write_access_log(path: Path, count: int, clients: int | None = None) -> None:
    """`count` Apache combined lines into `path`: every client address of its own (seed 1), or
    with `clients`, drawn from a pool of that many distinct public addresses (seed 5)."""
    rng = random.Random(1 if clients is None else 5)
    pool = _address_pool(rng, clients) if clients else []
    six_hours = 6 * 3600
    with open(path, "w", encoding="utf-8") as f:
        for i in range(count):
            if not pool:
                client = (f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}."
                          f"{rng.randint(1, 254)}")
            else:
                client = pool[i] if i < len(pool) else rng.choice(pool)
            at = START + dt.timedelta(seconds=i // LINES_A_SECOND % six_hours)
            status = rng.choice(STATUSES)
            f.write(formats.apache_combined(at, client, "GET", rng.choice(PATHS), status,
                                            rng.randint(0, 90000), REFERRER, rng.choice(AGENTS))
                    + "\n")


def bench_input(clients: int | None = None) -> tuple[int, Path, Path]:
    """(line count $BENCH_LINES, work folder $BENCH_DIR, the access log), made once: every
    line from an address of its own, or with `clients`, from that many distinct addresses."""
    lines = int(os.environ.get("BENCH_LINES", "1000000"))
    work = Path(os.environ.get("BENCH_DIR", HERE / "out"))
    work.mkdir(parents=True, exist_ok=True)
    name = f"access-{lines}.log" if clients is None else f"access-{lines}-{clients}-clients.log"
    source = work / name
    if not source.exists():
        print(f"generating {lines:,} Apache combined lines -> {source}", flush=True)
        write_access_log(source, lines, clients)
    return lines, work, source
