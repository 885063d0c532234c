"""The Arrow table coder: exact round trip, and a size estimate that does not serialise."""
import pyarrow as pa

from pipelines.transforms.coders import ArrowTableCoder


def test_round_trip_and_size_estimate():
    table = pa.table({"event.id": ["a", "b", None], "log.offset": [0, 10, 20],
                      "email.to.address": [["x@y"], None, []]})
    coder = ArrowTableCoder()
    assert coder.decode(coder.encode(table)).equals(table)
    assert coder.estimate_size(table) == table.nbytes
    assert coder.encode(table) == coder.encode(table)
