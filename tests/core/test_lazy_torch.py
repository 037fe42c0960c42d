"""torch is imported only when a torch backend is asked for; without torch, the install command is said.

Each case runs in a fresh interpreter, does the work, then reports whether ``torch`` is
in ``sys.modules``. These tests need no torch themselves.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.helpers import ROOT, SEEDS

LINEAR = str(SEEDS / "linear-regression.toml")
MARK = "TORCH_LOADED="

# Python run with ``python -c``: ``ARGV`` runs ``python -m gradcheck`` with those arguments.
RUN_MODULE = """
import runpy, sys
sys.argv = ["gradcheck", *{argv!r}]
try:
    runpy.run_module("gradcheck", run_name="__main__", alter_sys=True)
except SystemExit as exc:
    code = exc.code
print("{mark}" + str("torch" in sys.modules), file=sys.stderr)
sys.exit(code)
"""
CASES = {
    "import-gradcheck": f"import sys, gradcheck\nprint('{MARK}' + str('torch' in sys.modules), "
                        "file=sys.stderr)",
    "help": RUN_MODULE.format(argv=["--help"], mark=MARK),
    "check-help": RUN_MODULE.format(argv=["check", "--help"], mark=MARK),
    "check-numpy": RUN_MODULE.format(argv=["check", LINEAR, "--backend", "numpy"], mark=MARK),
    "verify-backward-numpy": (
        "import sys\nfrom gradcheck.backward import verify_backward\n"
        "from gradcheck.loader import load_problem\n"
        f"problem = load_problem({str(SEEDS / 'exercise-4-3.toml')!r})\n"
        "(r,) = verify_backward(lambda x, y, w: 2 * x * (w * x - y), problem, 'dloss_dw')\n"
        "assert r.passed\n"
        f"print('{MARK}' + str('torch' in sys.modules), file=sys.stderr)"),
    "pytest-start-up": (
        "import sys, pytest\n"
        "code = pytest.main(['--co', '-q', '-p', 'no:cacheprovider', "
        "'tests/core/test_lazy_torch.py'])\n"
        f"print('{MARK}' + str('torch' in sys.modules), file=sys.stderr)\n"
        "sys.exit(int(code))"),
}


def python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, check=False)


@pytest.mark.parametrize("code", CASES.values(), ids=CASES.keys())
def test_torch_is_not_imported(code: str) -> None:
    done = python(code)
    assert done.returncode == 0, done.stderr
    assert f"{MARK}False" in done.stderr.splitlines()


def test_without_torch_a_torch_backend_exits_2_with_the_install_command() -> None:
    hidden = "import sys\nsys.modules['torch'] = None\n"
    done = python(hidden + RUN_MODULE.format(argv=["check", LINEAR, "--backend", "torch-cpu"],
                                             mark=MARK))
    assert done.returncode == 2, done.stderr
    assert "needs torch, which is not installed" in done.stderr
    assert "pip install torch==2.13.0" in done.stderr and "pip install torch " in done.stderr


def test_without_torch_auto_means_numpy() -> None:
    done = python("import sys\nsys.modules['torch'] = None\n"
                  "from gradcheck.backends import available_backends\n"
                  "print(available_backends())")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['numpy']"
