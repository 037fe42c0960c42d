"""The array reader against numpy: every operation of the notation table, on random numbers.

The oracle is numpy itself evaluating the same expression; the reader builds SymPy matrices
of exact numbers, which must agree entry by entry.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy
from sympy import ImmutableMatrix as Matrix

from gradcheck.arrays.reader import read
from gradcheck.errors import ExpressionError

RNG = np.random.default_rng(7)
X = RNG.uniform(-2, 2, (4, 3))
W = RNG.uniform(-2, 2, (3, 2))
A = RNG.uniform(-2, 2, (3, 3)) + 3 * np.eye(3)
v = RNG.uniform(-2, 2, (3, 1))
u = RNG.uniform(-2, 2, (2, 1))
r = RNG.uniform(-2, 2, (1, 2))
s = 0.7


def _sym(a: np.ndarray) -> Matrix:
    return Matrix(a.shape[0], a.shape[1], [sympy.Rational(float(x)) for x in a.ravel()])


NAMES = {"X": _sym(X), "W": _sym(W), "A": _sym(A), "v": _sym(v), "u": _sym(u), "r": _sym(r),
         "s": Matrix([[sympy.Rational(s)]])}


def _softmax(z: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _lse(z: np.ndarray, axis: int) -> np.ndarray:
    return np.log(np.exp(z).sum(axis=axis, keepdims=True))


# (expression, numpy oracle)
CASES = [
    ("X @ W", lambda: X @ W),
    ("X @ W + r", lambda: X @ W + r),
    ("X * X", lambda: X * X),
    ("X / (1 + X**2)", lambda: X / (1 + X**2)),
    ("X.T", lambda: X.T),
    ("s * X - 1", lambda: s * X - 1),
    ("exp(X) + log(1 + X**2) - tanh(X) * sqrt(1 + X**2)", lambda: np.exp(X) + np.log(1 + X**2)
     - np.tanh(X) * np.sqrt(1 + X**2)),
    ("sigmoid(X)", lambda: 1 / (1 + np.exp(-X))),
    ("relu(X)", lambda: np.maximum(X, 0)),
    ("Max(X, 0)", lambda: np.maximum(X, 0)),
    ("Max(0, X)", lambda: np.maximum(X, 0)),
    ("abs(X)", lambda: np.abs(X)),
    ("sum(X)", lambda: X.sum(keepdims=True)),
    ("sum(X, axis=0)", lambda: X.sum(axis=0, keepdims=True)),
    ("sum(X, axis=1)", lambda: X.sum(axis=1, keepdims=True)),
    ("mean(X)", lambda: X.mean(keepdims=True)),
    ("mean(X, axis=0)", lambda: X.mean(axis=0, keepdims=True)),
    ("max(X)", lambda: X.max(keepdims=True)),
    ("trace(A)", lambda: np.trace(A).reshape(1, 1)),
    ("det(A)", lambda: np.linalg.det(A).reshape(1, 1)),
    ("logdet(A)", lambda: np.linalg.slogdet(A)[1].reshape(1, 1)),
    ("inv(A)", lambda: np.linalg.inv(A)),
    ("norm(X)", lambda: np.linalg.norm(X).reshape(1, 1)),
    ("diag(v)", lambda: np.diag(v.ravel())),
    ("diagonal(A)", lambda: np.diag(A).reshape(-1, 1)),
    ("outer(v, u)", lambda: v @ u.T),
    ("ones(2, 3) + zeros(2, 3) + 1", lambda: np.ones((2, 3)) + 1),
    ("eye(3) @ A", lambda: A),
    ("onehot([2, 0, 1], 3)", lambda: np.eye(3)[[2, 0, 1]]),
    ("softmax(X, axis=1)", lambda: _softmax(X, 1)),
    ("softmax(X, axis=0)", lambda: _softmax(X, 0)),
    ("logsumexp(X, axis=1)", lambda: _lse(X, 1)),
    ("log_softmax(X, axis=1)", lambda: X - _lse(X, 1)),
    ("v[0]", lambda: v[0:1, 0:1]),
    ("X[1, 2]", lambda: X[1:2, 2:3]),
    ("X[:, 0]", lambda: X[:, 0:1]),
    ("X[0, :]", lambda: X[0:1, :]),
    ("X[-1]", lambda: X[-1:, :]),
    ("[1, 2, 3]", lambda: np.array([[1.0], [2.0], [3.0]])),
    ("[[1, 2], [3, 4]] @ u", lambda: np.array([[1.0, 2.0], [3.0, 4.0]]) @ u),
    ("v.T @ A @ v", lambda: v.T @ A @ v),
]


@pytest.mark.parametrize(("text", "oracle"), CASES, ids=[c[0] for c in CASES])
def test_reader_agrees_with_numpy(text: str, oracle) -> None:
    got = read(text, NAMES).value
    want = oracle()
    assert got.shape == want.shape
    values = np.array([float(sympy.N(x, 30)) for x in got], dtype=float).reshape(got.shape)
    np.testing.assert_allclose(values, want, rtol=1e-12, atol=1e-12)


# student notation: (text, the explicit reading it must equal)
STUDENT = [
    ("2X^T(Xv - 1)", "2 * X.T @ (X @ v - 1)"),
    ("Xv", "X @ v"),
    ("v^T A v", "v.T @ A @ v"),
    ("v' A v", "v.T @ A @ v"),
    ("vᵀ A v", "v.T @ A @ v"),
    ("A^{-1} v", "inv(A) @ v"),
    ("A^-1", "inv(A)"),
    ("A⁻¹", "inv(A)"),
    ("X ⊙ X", "X * X"),
    ("2·X − X", "2 * X - X"),
    ("σ(X)", "sigmoid(X)"),
    ("X²", "X**2"),
]


@pytest.mark.parametrize(("text", "explicit"), STUDENT, ids=[c[0] for c in STUDENT])
def test_student_notation_reads_as_a_teacher_means_it(text: str, explicit: str) -> None:
    student = read(text, NAMES, student=True)
    teacher = read(explicit, NAMES)
    assert student.value.shape == teacher.value.shape
    assert all(sympy.simplify(a - b) == 0 for a, b in zip(student.value, teacher.value, strict=True))
    assert student.text == read(student.text, NAMES).text  # what is shown can be read back


@pytest.mark.parametrize(("text", "words"), [
    ("X @ v.T", ["4x3 and 1x3 cannot be multiplied with @", "did you mean"]),
    ("X + W", ["4x3 and 3x2 cannot be combined with +"]),
    ("X @ X", ["did you mean X.T @ X"]),
    ("inv(X)", ["square matrix"]),
    ("X[9, 0]", ["out of range"]),
    ("sum(X, axis=2)", ["axis must be 0 or 1"]),
    ("Y @ X", ["unknown name 'Y'"]),
    ("X ** 1000", ["exponent"]),
    ("__import__('os')", ["unknown name '__import__'"]),
    ("X.__class__", ["unexpected"]),
    ("(" * 200 + "X" + ")" * 200, ["nested"]),
    ("onehot([5], 3)", ["labels"]),
])
def test_bad_array_expressions_name_the_problem(text: str, words: list[str]) -> None:
    with pytest.raises(ExpressionError) as info:
        read(text, NAMES, student=True)
    for word in words:
        assert word in str(info.value)


def test_student_notation_is_refused_in_problem_files() -> None:
    with pytest.raises(ExpressionError, match="student notation"):
        read("X^T", NAMES)


def test_a_symbol_named_like_a_greek_word_wins_over_the_function() -> None:
    names = {**NAMES, "sigma": Matrix([[sympy.Integer(2)]])}
    assert read("σ(X)", names, student=True).text == "sigma * X"
