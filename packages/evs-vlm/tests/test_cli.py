"""`evs vlm check`: every image of a benchmark read as a run would send it, no model asked."""

import json

import pytest
from helpers import png


def run_evs(argv, capsys):
    from evs_cli.main import main

    with pytest.raises(SystemExit) as exc:
        main(argv)
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


def test_check_names_bad_samples(tmp_path, capsys):
    d = tmp_path / "general_vmcq"
    d.mkdir()
    (d / "ok.png").write_bytes(png("red", size=(64, 64)))
    (d / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\ntruncated")
    rows = [{"id": "1", "question": "<image 1>?", "options": ["a", "b"], "answer": "A", "image_1": "ok.png"},
            {"id": "2", "question": "<image 1>?", "options": ["a", "b"], "answer": "A", "image_1": "bad.png"},
            {"id": "3", "question": "<image 1>?", "options": ["a", "b"], "answer": "A", "image_1": "nope.png"}]
    (d / "s.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    code, out, _ = run_evs(["vlm", "check", "--datasets", "general_vmcq", "--dataset-dir", str(tmp_path)], capsys)
    lines = out.strip().splitlines()
    assert code == 1
    assert lines[0].startswith("general_vmcq s_2: image 1: cannot decode image")
    assert lines[1].startswith("general_vmcq s_3: image 1: image file not found")
    assert lines[2].startswith("general_vmcq: 3 samples, 3 images, largest ")
    rows = rows[:1]
    (d / "s.jsonl").write_text(json.dumps(rows[0]))
    code, out, _ = run_evs(["vlm", "check", "--datasets", "general_vmcq", "--dataset-dir", str(tmp_path),
                            "--image-max-bytes", "50"], capsys)
    assert code == 1 and "over the endpoint limit of 0.1 kB" in out


def test_check_bad_dataset_is_one_line(tmp_path, capsys):
    code, _, err = run_evs(["vlm", "check", "--datasets", "mmmmu", "--dataset-dir", str(tmp_path)], capsys)
    assert code == 2 and err.strip().startswith("Error: unknown benchmark 'mmmmu'; did you mean 'mmmu'?")
    assert len(err.strip().splitlines()) == 1
