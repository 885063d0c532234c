"""web log parsers (placeholder until the parsers land)."""
from pipelines.parsing.base import LogFormat

FORMATS: list[LogFormat] = []
