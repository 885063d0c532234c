"""The two baselines of bench_replay.py, parsing Apache combined lines into Parquet.

(a) `beam`: the pipeline most Beam users would write: ReadFromText -> per-line `re` -> dict ->
    WriteToParquet (same runner flags as vigie: FnApiRunner, multi-threaded, all cores).
(b) `python`: one plain-Python process: per-line `re`, column lists, one pyarrow table, Parquet.
Usage: python bench/baselines.py beam|python INPUT OUT_DIR. Prints the number of events written.
"""
from __future__ import annotations

import datetime as dt
import os
import re
import sys

import pyarrow as pa
import pyarrow.parquet as pq

COMBINED = re.compile(
    r'^(?P<ip>\S+) (?P<ident>\S+) (?P<user>\S+) \[(?P<ts>[^\]]+)\] "(?P<method>[A-Z]+) (?P<path>\S+) '
    r'HTTP/(?P<version>[0-9.]+)" (?P<status>\d{3}) (?P<bytes>\d+|-) "(?P<referrer>[^"]*)" "(?P<agent>[^"]*)"')

SCHEMA = pa.schema([("@timestamp", pa.timestamp("ms", tz="UTC")), ("source.ip", pa.string()),
                    ("user.name", pa.string()), ("http.request.method", pa.string()),
                    ("url.original", pa.string()), ("http.version", pa.string()),
                    ("http.response.status_code", pa.int64()), ("http.response.bytes", pa.int64()),
                    ("http.request.referrer", pa.string()), ("user_agent.original", pa.string()),
                    ("event.original", pa.string())])


def parse(line: str) -> dict | None:
    """One combined line -> an event dict (None when it does not match)."""
    m = COMBINED.match(line)
    if not m:
        return None
    g = m.groupdict()
    return {
        "@timestamp": dt.datetime.strptime(g["ts"], "%d/%b/%Y:%H:%M:%S %z"),
        "source.ip": g["ip"], "user.name": None if g["user"] == "-" else g["user"],
        "http.request.method": g["method"], "url.original": g["path"], "http.version": g["version"],
        "http.response.status_code": int(g["status"]),
        "http.response.bytes": None if g["bytes"] == "-" else int(g["bytes"]),
        "http.request.referrer": None if g["referrer"] == "-" else g["referrer"],
        "user_agent.original": None if g["agent"] == "-" else g["agent"],
        "event.original": line,
    }


def run_python(path: str, out: str) -> int:
    columns: dict[str, list] = {name: [] for name in SCHEMA.names}
    with open(path, encoding="utf-8") as f:
        for line in f:
            event = parse(line.rstrip("\n"))
            if event:
                for name, value in event.items():
                    columns[name].append(value)
    table = pa.table(columns, schema=SCHEMA)
    os.makedirs(out, exist_ok=True)
    pq.write_table(table, os.path.join(out, "events.parquet"))
    return table.num_rows


def run_beam(path: str, out: str) -> int:
    import apache_beam as beam
    from apache_beam.io import ReadFromText, WriteToParquet
    from apache_beam.options.pipeline_options import PipelineOptions

    options = PipelineOptions(["--runner=FnApiRunner", "--direct_running_mode=multi_threading",
                               f"--direct_num_workers={os.cpu_count() or 1}"])
    with beam.Pipeline(options=options) as p:
        (p | ReadFromText(path)
           | beam.Map(parse)
           | beam.Filter(lambda e: e is not None)
           | WriteToParquet(os.path.join(out, "events"), SCHEMA, file_name_suffix=".parquet"))
    return sum(pq.read_metadata(os.path.join(out, f)).num_rows for f in os.listdir(out))


if __name__ == "__main__":
    kind, source, target = sys.argv[1:4]
    print({"beam": run_beam, "python": run_python}[kind](source, target))
