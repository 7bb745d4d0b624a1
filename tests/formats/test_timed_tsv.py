from lipcoach.formats.timed_tsv import GRID_SILENCE_LABELS, read_timed_tsv


def test_header_skipped_quotes_kept_markers_dropped_on_request(tmp_path):
    path = tmp_path / "words.tsv"
    path.write_text('start\tend\tword\n0.0\t0.49\tsil\n0.49\t0.77\t"set\n0.77\t1.02\tblue"\n1.02\t1.1\tsp\nbad row\n', encoding="utf-8")
    rows = read_timed_tsv(path)
    assert rows == [(0.0, 0.49, "sil"), (0.49, 0.77, '"set'), (0.77, 1.02, 'blue"'), (1.02, 1.1, "sp")]
    assert read_timed_tsv(path, skip_labels=GRID_SILENCE_LABELS) == [(0.49, 0.77, '"set'), (0.77, 1.02, 'blue"')]
