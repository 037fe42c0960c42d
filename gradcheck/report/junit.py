"""JUnit XML for CI systems: one testsuite per problem, one testcase per question and backend."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from itertools import groupby

from gradcheck.checks import CheckReport
from gradcheck.report import messages


def render_junit(report: CheckReport) -> str:
    """The report as JUnit XML (no timestamps or timings, so it is deterministic)."""
    root = ET.Element("testsuites", name="gradcheck check", tests=str(len(report.results)),
                      failures=str(sum(not r.passed for r in report.results)))
    ET.SubElement(ET.SubElement(root, "properties"), "property", name="seed",
                  value=str(report.seed))
    for problem, group in groupby(report.results, key=lambda r: r.problem):
        results = list(group)
        suite = ET.SubElement(root, "testsuite", name=problem, tests=str(len(results)),
                              failures=str(sum(not r.passed for r in results)), errors="0")
        for r in results:
            case = ET.SubElement(suite, "testcase", classname=problem,
                                 name=f"{r.question} [{r.backend} {r.dtype}]")
            failed = [c for c in r.comparisons if not c.passed]
            if failed:
                node = ET.SubElement(case, "failure", message=f"{len(failed)} comparison(s) disagree",
                                     type="GradientMismatch")
                node.text = "\n\n".join(messages.failure(r, c) for c in failed)
            notes = messages.set_aside(r)
            if notes:
                ET.SubElement(case, "system-out").text = "\n".join(notes)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
