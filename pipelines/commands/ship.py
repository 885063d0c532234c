"""`vigie ship FILES... --to kafka://HOST:PORT[/TOPIC]`: send log files to Kafka, one record per
line, as a log shipper would (pipelines/sources/shipper.py: topics, keys, headers, event-time
timestamps, heartbeats). For tests, benchmarks and small sites; exit 0 when every record was
acknowledged, 2 on bad input or an unreachable broker.
"""
from __future__ import annotations

import sys

from pipelines.commands.replay import _checked_reference, _checked_timezone
from pipelines.options import CommandParser
from pipelines.sources.shipper import ship


def parser() -> CommandParser:
    """`vigie ship`'s flags."""
    p = CommandParser(prog="vigie ship", usage="vigie ship FILE_OR_FOLDER... --to kafka://HOST:PORT[/TOPIC] [flags]",
                      description="Send log files to Kafka, one record per line, with the headers "
                                  "and event-time timestamps `vigie stream` reads.")
    p.add_argument("inputs", nargs="+", help="log files, folders or globs (as for vigie replay)")
    p.add_argument("--to", required=True,
                   help="kafka://HOST:PORT (one topic per dataset, e.g. web.apache_combined) or "
                        "kafka://HOST:PORT/TOPIC (every line to that topic)")
    p.add_argument("--partitions", type=int, default=1,
                   help="partitions of the topics this creates (existing topics are kept)")
    p.add_argument("--format", dest="log_format", default=None, help="force one log format")
    p.add_argument("--timezone", default="UTC", help="IANA zone of timestamps written without an offset")
    p.add_argument("--reference-time", dest="reference_time", default=None,
                   help="ISO time near the end of the logs (syslog years); default: each file's mtime")
    p.add_argument("--heartbeat-seconds", dest="heartbeat_s", type=float, default=5.0,
                   help="send a heartbeat to every partition this often (0: none, not even at the end)")
    return p


def main(argv: list[str]) -> int:
    """`vigie ship` (see the module docstring)."""
    args = parser().parse_args(argv)
    if args.partitions < 1:
        parser().error("--partitions must be at least 1")
    report = ship(args.inputs, args.to, partitions=args.partitions, forced_format=args.log_format,
                  timezone=_checked_timezone(args.timezone),
                  reference=_checked_reference(args.reference_time), heartbeat_s=args.heartbeat_s,
                  say=lambda m: print(m, file=sys.stderr))
    total = sum(report.records.values())
    print(f"vigie ship: {total:,} record(s) in {report.seconds:.1f} s to "
          + ", ".join(f"{topic} ({n:,})" for topic, n in sorted(report.records.items()))
          + (f"; {report.heartbeats} heartbeat(s)" if report.heartbeats else ""))
    for path, topic, partition in report.files:
        print(f"  {path} -> {topic}[{partition}]")
    for path, reason in report.left_out:
        print(f"  left out: {path}: {reason}")
    return 0
