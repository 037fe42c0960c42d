"""Reading answers.csv / answers.jsonl: every line becomes a Submission, broken or not."""

from __future__ import annotations

import json

import pytest

from gradcheck.errors import UsageError
from gradcheck.submissions import Submission, parse_submissions, read_submissions

HEADER = "student,problem,question,answer\n"
GOOD = "ada,linear-regression,dloss_dw,2x(wx-y)\n"


def test_csv_rows_keep_order_and_line_numbers() -> None:
    text = HEADER + GOOD + "\n" + 'bob,p,q,"x\ny"\n' + "cy,p,q,w\n"
    subs = parse_submissions(text, "csv")
    assert subs == (
        Submission(1, "ada", "linear-regression", "dloss_dw", "2x(wx-y)"),
        Submission(3, "bob", "p", "q", "x\ny"),   # blank line 2 skipped, not renumbered
        Submission(5, "cy", "p", "q", "w"),       # the quoted answer spans two lines
    )


def test_csv_header_in_any_order_with_extra_columns() -> None:
    text = "Answer,comment,Question,student,problem\nx,hi,q,ada,p\n"
    assert parse_submissions(text, "csv") == (Submission(1, "ada", "p", "q", "x"),)


def test_csv_with_bom_from_a_file(tmp_path) -> None:
    path = tmp_path / "answers.csv"
    path.write_bytes(b"\xef\xbb\xbf" + (HEADER + GOOD).encode())
    assert read_submissions(path)[0].student == "ada"


BAD_CSV_LINES = {
    "too-few-fields": ("ada,p,q\n", "has 3 fields but the header has 4"),
    "too-many-fields": ("ada,p,q,x,y\n", "has 5 fields but the header has 4"),
    "nul-byte": ("ada,p,q,x\x00y\n", "NUL byte"),
    "nul-in-student": ("a\x00da,p,q,x\n", "'student' contains a NUL byte"),
    "unterminated-quote": ('ada,p,q,"x\n', "unbalanced quote"),
    "quote-then-text": ('ada,p,q,"x"y\n', "not valid CSV"),
}


@pytest.mark.parametrize("line,reason", BAD_CSV_LINES.values(), ids=BAD_CSV_LINES.keys())
def test_malformed_csv_line_is_broken_and_the_rest_read(line: str, reason: str) -> None:
    subs = parse_submissions(HEADER + GOOD + line + GOOD, "csv")
    assert subs[0].broken is None and subs[0].row == 1
    assert subs[1].broken is not None and reason in subs[1].broken
    assert subs[1].row == 2
    assert "\x00" not in subs[1].answer + subs[1].student
    assert len(subs) == 3
    assert subs[2] == Submission(3, "ada", "linear-regression", "dloss_dw", "2x(wx-y)")


@pytest.mark.parametrize("line,reason", BAD_CSV_LINES.values(), ids=BAD_CSV_LINES.keys())
def test_broken_csv_line_keeps_its_text_but_names_no_one(line: str, reason: str) -> None:
    broken = parse_submissions(HEADER + GOOD + line + GOOD, "csv")[1]
    assert (broken.student, broken.problem, broken.question) == ("", "", "")
    assert broken.answer == line.rstrip("\n").replace("\x00", "\\0")


def test_too_many_fields_are_not_read_as_student_problem_question() -> None:
    broken = parse_submissions(HEADER + "bad,line,with,too,many,fields\n", "csv")[0]
    assert broken == Submission(1, "", "", "", "bad,line,with,too,many,fields",
                                broken="has 6 fields but the header has 4")


def test_invalid_utf8_breaks_only_its_line(tmp_path) -> None:
    path = tmp_path / "answers.csv"
    path.write_bytes((HEADER + GOOD).encode() + b"bob,p,q,\xff\xfe\n" + GOOD.encode())
    subs = read_submissions(path)
    assert [s.broken is None for s in subs] == [True, False, True]
    assert "not UTF-8" in (subs[1].broken or "")
    assert subs[1].answer == "bob,p,q,\ufffd\ufffd" and subs[1].student == ""


def _jsonl(**values: object) -> str:
    return json.dumps(values)


OK_JSON = _jsonl(student="ada", problem="p", question="q", answer="x")
BAD_JSONL_LINES = {
    "bad-json": ("{student: ada}", "not valid JSON"),
    "truncated": ('{"student": "ada", "problem": ', "not valid JSON"),
    "not-an-object": ('["ada", "p", "q", "x"]', "must be a JSON object, not list"),
    "missing-answer": (_jsonl(student="ada", problem="p", question="q"), "missing 'answer'"),
    "missing-student": (_jsonl(problem="p", question="q", answer="x"), "missing 'student'"),
    "number-answer": (_jsonl(student="ada", problem="p", question="q", answer=2),
                      "'answer' must be text, not int"),
    "null-answer": (_jsonl(student="ada", problem="p", question="q", answer=None),
                    "'answer' must be text, not NoneType"),
    "list-question": (_jsonl(student="ada", problem="p", question=["q"], answer="x"),
                      "'question' must be text"),
    "nul-byte": (_jsonl(student="ada", problem="p", question="q", answer="x\x00"), "NUL byte"),
    "deep-nesting": ("[" * 100_000 + "]" * 100_000, "JSON"),
}


@pytest.mark.parametrize("line,reason", BAD_JSONL_LINES.values(), ids=BAD_JSONL_LINES.keys())
def test_malformed_jsonl_line_is_broken_and_the_rest_read(line: str, reason: str) -> None:
    subs = parse_submissions("\n".join([OK_JSON, line, OK_JSON]), "jsonl")
    assert [s.row for s in subs] == [1, 2, 3]
    assert subs[0] == subs[2].__class__(1, "ada", "p", "q", "x")
    assert subs[2].broken is None
    assert subs[1].broken is not None and reason in subs[1].broken
    # whatever keys it has, a broken line names no one; its text is kept for the report
    assert (subs[1].student, subs[1].problem, subs[1].question) == ("", "", "")
    assert subs[1].answer == line.replace("\x00", "\\0")


def test_jsonl_extra_keys_ignored_and_blank_lines_skipped(tmp_path) -> None:
    path = tmp_path / "answers.jsonl"
    extra = _jsonl(student="bob", problem="p", question="q", answer="y", time="10:00")
    path.write_text(OK_JSON + "\n\n" + extra + "\n", encoding="utf-8")
    assert read_submissions(path) == (Submission(1, "ada", "p", "q", "x"),
                                      Submission(3, "bob", "p", "q", "y"))


@pytest.mark.parametrize("text,message", [
    ("", "empty"),
    ("student,problem,answer\nada,p,x\n", "lacks question"),
    ("ada,linear-regression,dloss_dw,2x\n", "the first line must name the columns"),
], ids=["empty", "missing-column", "no-header"])
def test_csv_without_a_usable_header_is_a_usage_error(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_submissions(text, "csv")


def test_missing_file_is_a_usage_error(tmp_path) -> None:
    with pytest.raises(UsageError, match="cannot read the submissions file"):
        read_submissions(tmp_path / "nope.csv")


def test_unknown_format_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="use csv or jsonl"):
        parse_submissions("", "xml")  # type: ignore[arg-type]
