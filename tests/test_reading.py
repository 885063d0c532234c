"""Reading: planning inputs, slicing files on line boundaries, screening bad lines."""
from __future__ import annotations

import gzip

import pytest

from pipelines.errors import VigieError
from pipelines.sources.files import FileSlice, lines_of, read_slice
from pipelines.sources.plan import expand_inputs, plan_inputs
from pipelines.sources.screening import screen_lines
from pipelines.sources.units import UnitBatch


def _slice(path, start=0, end=None, compressed=False):
    return FileSlice(path=str(path), file_key="0" * 16, format_name=None, family="unknown",
                     start=start, end=end if end is not None else path.stat().st_size,
                     compressed=compressed)


def test_lines_of_trims_terminators_and_keeps_offsets():
    raw = lines_of(b"a\r\nbb\n\nccc", 100)
    assert raw.lines.to_pylist() == [b"a", b"bb", b"", b"ccc"]
    assert raw.offsets.tolist() == [100, 103, 106, 107]


def test_slices_cover_every_line_exactly_once(tmp_path):
    lines = [f"line {i} " + "x" * (i % 37) for i in range(5000)]
    path = tmp_path / "big.log"
    path.write_text("\n".join(lines) + "\n")
    size = path.stat().st_size
    cuts = list(range(0, size, 7919)) + [size]
    seen, offsets = [], []
    for start, end in zip(cuts[:-1], cuts[1:]):
        for raw in read_slice(_slice(path, start, end), batch_bytes=3001):
            seen.extend(v.decode() for v in raw.lines.to_pylist())
            offsets.extend(raw.offsets.tolist())
    assert seen == lines
    data = path.read_bytes()
    assert all(data[o:o + len(s)].decode() == s for o, s in zip(offsets, seen))


def test_gzip_is_read_transparently(tmp_path):
    path = tmp_path / "access.log.gz"
    with gzip.open(path, "wt") as f:
        f.write("one\ntwo\nthree")
    got = [v for raw in read_slice(_slice(path, 0, -1, compressed=True), 4) for v in raw.lines.to_pylist()]
    assert got == [b"one", b"two", b"three"]


def test_screening_skips_blank_dead_letters_long_and_decodes_invalid_utf8_lines(tmp_path):
    raw = lines_of(b"good line\n   \n\xff\xfe bad bytes\n" + b"y" * 200 + b"\nfin\n", 0)
    piece = _slice(tmp_path / "x.log", 0, 1)
    screened = screen_lines(UnitBatch(raw.lines, raw.offsets, piece.origin()), max_line_bytes=100)
    assert screened.batch.lines.to_pylist() == ["good line", "\\xff\\xfe bad bytes", "fin"]
    assert screened.batch.raw.to_pylist() == [None, b"\xff\xfe bad bytes", None]
    assert screened.skipped == {"blank line": 1}
    letters = screened.dead_letters.to_pylist()
    assert [(d["reason"], d["detail"], d["raw"]) for d in letters] == [
        ("line exceeds --max-line-bytes 100", "200 bytes", b"y" * 200)]
    assert len(screened.batch) + screened.dead_letters.num_rows + 1 == len(raw.lines)


def test_missing_input_is_a_clear_error(tmp_path):
    with pytest.raises(VigieError, match="input not found"):
        expand_inputs([str(tmp_path / "nope.log")])


def test_folders_are_walked_and_answer_keys_left_out(tmp_path):
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "a.log").write_text("x\n")
    (tmp_path / "truth.json").write_text("{}")
    (tmp_path / ".hidden").write_text("x\n")
    (tmp_path / "old-case").mkdir()  # an earlier replay's output inside the input folder
    (tmp_path / "old-case" / "summary.json").write_text('{"command": "replay", "datasets": {}}')
    (tmp_path / "old-case" / "x.log").write_text("x\n")
    (tmp_path / "gone.log").symlink_to(tmp_path / "nowhere")
    files, skipped = expand_inputs([str(tmp_path)])
    assert files == [str(tmp_path / "web" / "a.log")]
    assert {(s.path, s.reason.split(" ")[0]) for s in skipped} == {
        (str(tmp_path / ".hidden"), "hidden"), (str(tmp_path / "truth.json"), "a"),
        (str(tmp_path / "old-case"), "an"), (str(tmp_path / "gone.log"), "unreadable:")}


def test_unknown_forced_format_is_a_clear_error(tmp_path):
    path = tmp_path / "a.log"
    path.write_text("x\n")
    with pytest.raises(VigieError, match="unknown --format"):
        plan_inputs([str(path)], "no_such_format", 1 << 20)


def test_big_files_are_cut_into_slices(tmp_path):
    path = tmp_path / "a.log"
    path.write_bytes(b"0123456789\n" * 1000)
    slices = plan_inputs([str(path)], None, 4000).slices
    assert [(s.start, s.end) for s in slices] == [(0, 4000), (4000, 8000), (8000, 11000)]
    assert len({s.slice_id for s in slices}) == 3
