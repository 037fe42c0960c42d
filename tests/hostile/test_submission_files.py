"""Hostile submissions files: a whole-file problem is one clear error (exit 2); anything
else costs only its own line, which comes back as an ``error`` row with its number.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from gradcheck.cli import main
from tests.helpers import SEEDS

LR = "linear-regression"
BANK = str(SEEDS / f"{LR}.toml")
HEADER = b"student,problem,question,answer\n"
GOOD = b"ada,linear-regression,dloss_dw,2x(wx-y)\n"


def row(student: str, answer: str = "2x(wx-y)") -> bytes:
    return json.dumps({"student": student, "problem": LR, "question": "dloss_dw",
                       "answer": answer}).encode() + b"\n"


def noise(n: int) -> bytes:
    return bytes(random.Random(11).randrange(256) for _ in range(n))


# Files refused whole: (id, name, bytes, fragment of the one-line message)
REFUSED = [
    ("csv-empty", "a.csv", b"", "empty"),
    ("csv-binary", "a.csv", noise(5000), "not CSV text"),
    ("csv-utf16", "a.csv", (HEADER + GOOD).decode().encode("utf-16"), "UTF-16"),
    ("jsonl-utf16", "a.jsonl", row("ada").decode().encode("utf-16"), "UTF-16"),
    ("csv-no-header", "a.csv", GOOD, "lacks"),
    ("csv-huge-header", "a.csv", b"x" * 1_000_000 + b"\n" + GOOD, "header"),
    ("csv-header-nul", "a.csv", b"student,pro\x00blem,question,answer\n" + GOOD, "not CSV text"),
]

# Files whose bad lines become error rows: (id, name, bytes, rows expected, rows readable)
ROWS = [
    ("csv-nul-and-bad-utf8", "a.csv",
     HEADER + GOOD + b"bob,linear-regression,dloss_dw,2x\x00\n" + b"cy,linear-regression,dloss_dw,\xff\n"
     + b"d\xe9e,linear-regression,dloss_dw,x\n" + GOOD, 5, 2),
    ("csv-unbalanced-quote", "a.csv", HEADER + b'bob,linear-regression,dloss_dw,"2x\n' + GOOD * 3, 4, 3),
    ("csv-wrong-field-count", "a.csv", HEADER + b"a,b\n" + b"a,b,c,d,e,f\n" + GOOD, 3, 1),
    ("csv-cr-newlines", "a.csv", HEADER.replace(b"\n", b"\r") + GOOD.replace(b"\n", b"\r") * 2, 2, 2),
    ("csv-bom-crlf", "a.csv", b"\xef\xbb\xbf" + (HEADER + GOOD * 2).replace(b"\n", b"\r\n"), 2, 2),
    ("csv-formula-student", "a.csv", HEADER + b"=cmd|'/c calc'!A0,linear-regression,dloss_dw,x\n", 1, 1),
    ("csv-million-char-answer", "a.csv", HEADER + b"ada,linear-regression,dloss_dw," + b"x" * 1_000_000
     + b"\n" + GOOD, 2, 1),  # over the csv module's field limit: an error row
    ("jsonl-huge-int", "a.jsonl", row("ada") + b'{"student": "b", "n": ' + b"9" * 4301 + b"}\n"
     + row("cy"), 3, 2),
    ("jsonl-huge-int-in-answer", "a.jsonl", b'{"student": "a", "problem": "linear-regression", '
     b'"question": "dloss_dw", "answer": ' + b"1" * 5000 + b"}\n" + row("b"), 2, 1),
    ("jsonl-deep", "a.jsonl", b"[" * 100_000 + b"]" * 100_000 + b"\n" + row("ada"), 2, 1),
    ("jsonl-surrogates", "a.jsonl", row("ada", "\ud800") + row("\udcff") + row("cy", "2x\udfff"), 3, 2),
    ("jsonl-not-objects", "a.jsonl", b"[1, 2]\n\"text\"\nnull\n3\n" + row("ada"), 5, 1),
    ("jsonl-wrong-types", "a.jsonl", b'{"student": 1, "problem": null, "question": [], "answer": {}}\n'
     + row("ada"), 2, 1),
    ("jsonl-binary-line", "a.jsonl", noise(300).replace(b"\n", b"") + b"\n" + row("ada"), 2, 1),
    ("jsonl-nul-in-answer", "a.jsonl", row("ada", "2x\x00") + row("bob"), 2, 1),
]


@pytest.mark.parametrize("name, data, fragment", [c[1:] for c in REFUSED],
                         ids=[c[0] for c in REFUSED])
def test_a_file_that_cannot_be_read_is_one_clear_error(name: str, data: bytes, fragment: str,
                                                       tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    assert main(["grade", "--bank", BANK, "--submissions", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "Traceback" not in captured.err
    assert captured.err.startswith("gradcheck: error:") and fragment in captured.err
    assert captured.err.count("\n") == 1 and len(captured.err) < 600  # one short line


@pytest.mark.parametrize("name, data, rows, readable", [c[1:] for c in ROWS],
                         ids=[c[0] for c in ROWS])
def test_every_line_comes_back(name: str, data: bytes, rows: int, readable: int, tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    out = tmp_path / "out.json"
    code = main(["grade", "--bank", BANK, "--submissions", str(path), "--format", "json",
                 "--output", str(out), "--points", "5"])
    captured = capsys.readouterr()
    assert code in (0, 1) and "Traceback" not in captured.err, captured.err[-1000:]
    results = json.loads(out.read_bytes().decode("utf-8"))["results"]
    assert len(results) == rows
    assert [r["row"] for r in results] == sorted(r["row"] for r in results)  # input order
    broken = [r for r in results if r["verdict"] == "error"]
    assert len(results) - len(broken) == readable
    assert all(f"Row {r['row']} " in r["feedback"] for r in broken)  # each says which line
    assert all(len(r["feedback"]) < 1000 for r in results)
    gradebook = tmp_path / "grades.csv"
    assert main(["grade", "--bank", BANK, "--submissions", str(path), "--format", "csv",
                 "--output", str(gradebook), "--points", "5"]) == code
    lines = gradebook.read_text(encoding="utf-8").splitlines()
    students = {r["student"] for r in results if r["student"]}
    assert len(lines) == 1 + len(students) + sum(not r["student"] for r in results)  # none dropped
