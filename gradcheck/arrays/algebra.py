"""Array operations with numpy semantics on explicit SymPy matrices.

Every value is a 2-D ``sympy.ImmutableMatrix`` whose entries are scalar expressions
(a scalar is 1 x 1, a column vector n x 1). Working entry by entry is slower than
SymPy's MatrixSymbol calculus but it is right: FINDINGS.md lists the losses where
MatrixSymbol derivatives are silently wrong (log det, softmax cross-entropy).

Shape errors raise ``ShapeError`` with both shapes named, so the reader can turn them
into a message a student understands.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sympy
from sympy import ImmutableMatrix as Matrix

MAX_LINALG = 4          # det / inv / logdet on larger symbolic matrices grow too fast
MAX_CONSTRUCTED = 64    # ones(m, n), eye(n) ...: a side longer than this is refused


class ShapeError(ValueError):
    """Two shapes that an operation cannot combine (numpy would raise too)."""


def shape_text(m: Matrix) -> str:
    return f"{m.rows}x{m.cols}"


def is_scalar(m: Matrix) -> bool:
    return m.shape == (1, 1)


def scalar(value: sympy.Expr) -> Matrix:
    return Matrix([[value]])


def full(rows: int, cols: int, value: sympy.Expr) -> Matrix:
    return Matrix(rows, cols, [value] * (rows * cols))


# -- elementwise, with broadcasting ------------------------------------------------------------

def broadcast_shape(a: Matrix, b: Matrix, op: str) -> tuple[int, int]:
    """numpy's rule for two 2-D shapes: each side equal, or 1."""
    dims = []
    for x, y in zip(a.shape, b.shape, strict=True):
        if x != y and 1 not in (x, y):
            raise ShapeError(f"{shape_text(a)} and {shape_text(b)} cannot be combined with {op} "
                             "(elementwise operations need equal shapes, or a side of 1 to broadcast)")
        dims.append(max(x, y))
    return dims[0], dims[1]


def elementwise(a: Matrix, b: Matrix, f: Callable[[sympy.Expr, sympy.Expr], sympy.Expr],
                op: str) -> Matrix:
    rows, cols = broadcast_shape(a, b, op)

    def at(m: Matrix, i: int, j: int) -> sympy.Expr:
        return m[0 if m.rows == 1 else i, 0 if m.cols == 1 else j]

    return Matrix(rows, cols, [f(at(a, i, j), at(b, i, j)) for i in range(rows) for j in range(cols)])


def apply(m: Matrix, f: Callable[[sympy.Expr], sympy.Expr]) -> Matrix:
    return Matrix(m.rows, m.cols, [f(v) for v in m])


def add(a: Matrix, b: Matrix) -> Matrix:
    return elementwise(a, b, lambda x, y: x + y, "+")


def sub(a: Matrix, b: Matrix) -> Matrix:
    return elementwise(a, b, lambda x, y: x - y, "-")


def mul(a: Matrix, b: Matrix) -> Matrix:
    return elementwise(a, b, lambda x, y: x * y, "*")


def div(a: Matrix, b: Matrix) -> Matrix:
    return elementwise(a, b, lambda x, y: x / y, "/")


def power(a: Matrix, b: Matrix) -> Matrix:
    return elementwise(a, b, lambda x, y: x ** y, "**")


def neg(a: Matrix) -> Matrix:
    return apply(a, lambda x: -x)


# -- linear algebra ---------------------------------------------------------------------------

def matmul(a: Matrix, b: Matrix) -> Matrix:
    if a.cols != b.rows:
        raise ShapeError(f"{shape_text(a)} and {shape_text(b)} cannot be multiplied with @ "
                         f"(the columns of the left, {a.cols}, must equal the rows of the right, {b.rows})")
    return Matrix(a.rows, b.cols, [sum((a[i, k] * b[k, j] for k in range(a.cols)), sympy.S.Zero)
                                   for i in range(a.rows) for j in range(b.cols)])


def transpose(a: Matrix) -> Matrix:
    return a.T


def _square(a: Matrix, name: str, limit: int = MAX_LINALG) -> None:
    if a.rows != a.cols:
        raise ShapeError(f"{name} needs a square matrix, not {shape_text(a)}")
    if a.rows > limit:
        raise ShapeError(f"{name} of a {shape_text(a)} matrix is too large to derive symbolically "
                         f"(at most {limit}x{limit}); declare a smaller shape")


def trace(a: Matrix) -> Matrix:
    _square(a, "trace", MAX_CONSTRUCTED)
    return scalar(sum((a[i, i] for i in range(a.rows)), sympy.S.Zero))


def det(a: Matrix) -> Matrix:
    _square(a, "det")
    return scalar(a.det(method="berkowitz"))


def logdet(a: Matrix) -> Matrix:
    """log|det A|, numpy's slogdet: the sign of det changes at kinks."""
    _square(a, "logdet")
    return scalar(sympy.log(sympy.Abs(a.det(method="berkowitz"))))


def inv(a: Matrix) -> Matrix:
    """adj(A) / det(A); SymPy's own inv first proves det != 0 symbolically, which takes seconds."""
    _square(a, "inv")
    d = a.det(method="berkowitz")
    return Matrix(a.rows, a.cols, [v / d for v in a.adjugate(method="berkowitz")])


def norm(a: Matrix) -> Matrix:
    """The Frobenius norm (the 2-norm of a vector)."""
    return scalar(sympy.sqrt(sum((v ** 2 for v in a), sympy.S.Zero)))


def diag(v: Matrix) -> Matrix:
    if 1 not in v.shape:
        raise ShapeError(f"diag builds a diagonal matrix from a vector, not a {shape_text(v)} matrix "
                         "(use diagonal(A) for the diagonal of a matrix)")
    entries = list(v)
    return Matrix(sympy.diag(*entries)) if len(entries) > 1 else Matrix([[entries[0]]])


def diagonal(a: Matrix) -> Matrix:
    n = min(a.shape)
    return Matrix(n, 1, [a[i, i] for i in range(n)])


def outer(a: Matrix, b: Matrix) -> Matrix:
    for v in (a, b):
        if 1 not in v.shape:
            raise ShapeError(f"outer takes two vectors, not a {shape_text(v)} matrix")
    return Matrix(len(a), len(b), [x * y for x in a for y in b])


# -- reductions (numpy keepdims=True) ---------------------------------------------------------

def _reduce(a: Matrix, axis: int | None, f: Callable[[Sequence[sympy.Expr]], sympy.Expr]) -> Matrix:
    if axis is None:
        return scalar(f(list(a)))
    if axis == 0:
        return Matrix(1, a.cols, [f([a[i, j] for i in range(a.rows)]) for j in range(a.cols)])
    if axis == 1:
        return Matrix(a.rows, 1, [f([a[i, j] for j in range(a.cols)]) for i in range(a.rows)])
    raise ShapeError(f"axis must be 0 or 1 (everything is 2-D), not {axis}")


def total(a: Matrix, axis: int | None = None) -> Matrix:
    return _reduce(a, axis, lambda xs: sum(xs, sympy.S.Zero))


def mean(a: Matrix, axis: int | None = None) -> Matrix:
    return _reduce(a, axis, lambda xs: sum(xs, sympy.S.Zero) / len(xs))


def maximum(a: Matrix, axis: int | None = None) -> Matrix:
    return _reduce(a, axis, lambda xs: sympy.Max(*xs))


def minimum(a: Matrix, axis: int | None = None) -> Matrix:
    return _reduce(a, axis, lambda xs: sympy.Min(*xs))


def logsumexp(a: Matrix, axis: int | None = None) -> Matrix:
    return _reduce(a, axis, lambda xs: sympy.log(sum((sympy.exp(x) for x in xs), sympy.S.Zero)))


def softmax(a: Matrix, axis: int | None = None) -> Matrix:
    lse = logsumexp(a, axis)
    return elementwise(a, lse, lambda x, s: sympy.exp(x - s), "softmax")


def log_softmax(a: Matrix, axis: int | None = None) -> Matrix:
    return sub(a, logsumexp(a, axis))


# -- constructors ------------------------------------------------------------------------------

def _side(n: sympy.Expr, name: str) -> int:
    if not (isinstance(n, sympy.Integer) and 1 <= int(n) <= MAX_CONSTRUCTED):
        raise ShapeError(f"{name} needs whole-number sizes from 1 to {MAX_CONSTRUCTED}, not {n}")
    return int(n)


def ones(m: sympy.Expr, n: sympy.Expr = sympy.S.One) -> Matrix:
    return full(_side(m, "ones"), _side(n, "ones"), sympy.S.One)


def zeros(m: sympy.Expr, n: sympy.Expr = sympy.S.One) -> Matrix:
    return full(_side(m, "zeros"), _side(n, "zeros"), sympy.S.Zero)


def eye(n: sympy.Expr) -> Matrix:
    return Matrix(sympy.eye(_side(n, "eye")))


def onehot(labels: Matrix, k: sympy.Expr) -> Matrix:
    """Rows of a one-hot matrix, one per label: labels must be known whole numbers in [0, k)."""
    width = _side(k, "onehot")
    rows = []
    for label in labels:
        if not (isinstance(label, sympy.Integer) and 0 <= int(label) < width):
            raise ShapeError(f"onehot needs labels that are whole numbers from 0 to {width - 1} "
                             f"(fixed data), not {label}")
        rows.append([sympy.S.One if j == int(label) else sympy.S.Zero for j in range(width)])
    return Matrix(rows)
