"""VigieOptions: every runtime flag of Vigie's pipelines, documented, in one place.

The `vigie` command line builds its parsers from this class, and Beam workers receive the same
options, so a flag is declared once. Beam's own flags (--runner, --direct_num_workers, ...) pass
through untouched.
"""
from __future__ import annotations

from apache_beam.options.pipeline_options import PipelineOptions


class VigieOptions(PipelineOptions):
    """Flags of `vigie replay` (and later `vigie stream`)."""

    @classmethod
    def _add_argparse_args(cls, parser) -> None:
        parser.add_argument("--out", help="Output folder: events/, deadletter/, summary.json.")
        parser.add_argument("--format", dest="log_format", default=None,
                            help="Force one log format for every input (e.g. apache_combined, "
                                 "postfix, fortigate) instead of detecting it per file.")
        parser.add_argument("--timezone", default="UTC",
                            help="IANA zone of timestamps written without an offset (syslog, "
                                 "Exim), e.g. Europe/Paris. Default: UTC.")
        parser.add_argument("--reference-time", dest="reference_time", default=None,
                            help="ISO time near the end of the logs, used to infer the year of "
                                 "syslog timestamps. Default: each file's modification time.")
        parser.add_argument("--split-bytes", dest="split_bytes", type=int, default=64 * 1024 * 1024,
                            help="Plain files larger than this are read as parallel byte ranges.")
        parser.add_argument("--batch-bytes", dest="batch_bytes", type=int, default=8 * 1024 * 1024,
                            help="Bytes of log read into one Arrow batch.")
        parser.add_argument("--max-line-bytes", dest="max_line_bytes", type=int, default=64 * 1024,
                            help="Longer lines are dead-lettered instead of parsed.")
        parser.add_argument("--rules", action="append", default=None,
                            help="Sigma rule file or folder (repeatable). Default: the rules "
                                 "shipped in detections/.")
        parser.add_argument("--no-detect", dest="no_detect", action="store_true",
                            help="Only ingest: evaluate no Sigma rule.")
        parser.add_argument("--stitch-gap-seconds", dest="stitch_gap_seconds", type=int, default=3600,
                            help="Lines of one mail message further apart than this (event time) "
                                 "are stitched into separate events.")
