"""The seeds' worked examples, recomputed and checked, as text.

* seed 001 ("Deconvolution in Deep Learning"): a 4x4 patch D, a 3x3 mask, the 16x4
  matrix C of ``Dᵀ C`` and the transposed convolution ``E Cᵀ``;
* seed 002 ("Deconvolutions"): a 3x3 image, a 2x2 filter, the 4x9 matrix V of
  ``z = V x`` (with the seed's typo corrected), ``Vᵀ`` and the sliding-window view.

Every number printed is computed with :mod:`deconvkit` and compared with
:func:`deconvkit.conv`, :func:`deconvkit.conv_transpose` and :func:`deconvkit.conv_matrix`.
"""

from __future__ import annotations

import numpy as np

from ..functional import conv, conv_matrix, conv_transpose
from ..testing import rel_error
from .render import grid, heading, matrix_text, side_by_side, symbolic_array, vector
from .text import explain, fractional_input, make_spec, numeric_matrix, symbolic_matrix

__all__ = ["SEED_001_D", "SEED_001_MASK", "seed_001", "seed_002", "worked_examples"]

SEED_001_D = np.array([3, 3, 2, 1, 0, 0, 1, 3, 3, 1, 2, 2, 2, 0, 0, 2], dtype=np.float64)
"""Dᵀ of seed 001: the 4x4 data patch read left to right, top to bottom."""
SEED_001_MASK = np.array([[0, 1, 2], [2, 2, 0], [0, 1, 2]], dtype=np.float64)
"""The 3x3 convolution mask of seed 001."""


def _agrees(got, want, what: str) -> str:
    """``"(equals what)"``, or a loud mismatch note when the numbers differ."""
    got = np.asarray(got, dtype=np.float64).ravel()
    want = np.asarray(want, dtype=np.float64).ravel()
    if got.shape == want.shape and rel_error(got, want) < 1e-12:
        return f"(checked: equals {what})"
    return f"(MISMATCH: {what} gives {vector(want)})"


def _titled(title: str, block: str) -> str:
    """``block`` under ``title``, the title aligned with the block's first column."""
    indent = len(block) - len(block.lstrip(" "))
    return " " * indent + title + "\n" + block


def _seed_001_matrices(spec, mask):
    """The seed's Cᵀ symbolically (our conv_matrix) and its C numerically (16x4)."""
    ours = numeric_matrix(spec, (4, 4), mask)
    seed_c = ours.T
    rows, cols = symbolic_array("y", (2, 2)).ravel(), symbolic_array("d", (4, 4)).ravel()
    check = conv_matrix(mask[None, None], (1, 4, 4)).toarray()
    symbolic = symbolic_matrix(spec, (4, 4))
    nnz = sum(cell != "0" for row in symbolic for cell in row)
    return seed_c, [
        "  Matrix form. The seed writes D as a row vector and multiplies on the right, Dᵀ C,",
        "  so its C is 16x4: column j is the mask placed at position j (zeros elsewhere),",
        "  read row by row. That is deconvkit.conv_matrix *transposed*: conv_matrix is 4x16",
        "  and computes y = C x with column vectors. The seed's Cᵀ with generic mask entries",
        "  w_ab (0-based row a, column b), which is deconvkit.conv_matrix written symbolically:",
        matrix_text(symbolic, rows, cols, nnz),
        "  The seed's C with the mask values (16x4) "
        + _agrees(seed_c.T, check, "deconvkit.conv_matrix(mask, (1, 4, 4)) transposed") + ":",
        matrix_text(seed_c, cols, rows, nnz),
    ]


def seed_001() -> str:
    """Seed 001's worked example: ``Dᵀ C = [12 12 10 17]`` and ``E Cᵀ``, recomputed.

    Returns
    -------
    text : str
        D, the mask, the first window's sum, the seed's 16x4 matrix C (our
        ``conv_matrix`` transposed), ``Dᵀ C`` and the transposed convolution of
        ``E = Dᵀ C``, each checked against :mod:`deconvkit`.
    """
    d, mask = SEED_001_D.reshape(4, 4), SEED_001_MASK
    spec = make_spec((4, 4), 3)
    seed_c, matrix_lines = _seed_001_matrices(spec, mask)
    first = " + ".join(f"{a:g}·{b:g}" for a, b in zip(mask.ravel(), d[:3, :3].ravel()))
    result = SEED_001_D @ seed_c
    e = result
    back = e @ seed_c.T
    y_check = _agrees(result, conv(d[None, None], mask[None, None]), "deconvkit.conv(D, w)")
    z_check = _agrees(back, conv_transpose(e.reshape(1, 1, 2, 2), mask[None, None]),
                      "deconvkit.conv_transpose(E, w)")
    lines = [
        heading("Worked example 1 (seed 001): a 4x4 patch, a 3x3 mask, no padding, stride 1"),
        f"  The data patch D (Dᵀ = {vector(SEED_001_D)}, read row by row) and the mask w:",
        side_by_side([_titled("D", grid(d, indent=4)), _titled("w", grid(mask))]),
        "  The mask fits inside D at 2x2 = 4 positions. At the first one (row 2, column 2",
        "  of D), each mask value times the patch value under it, summed:",
        f"    {first} = {result[0]:g}",
        "  (no flip of the mask: deep learning's \"convolution\" is a cross-correlation).",
        "",
        *matrix_lines,
        "",
        f"  Dᵀ C = {vector(result)}, as a 2x2 array {y_check}:",
        grid(result.reshape(2, 2), indent=4),
        "",
        "  Transposed convolution. Roll the 2x2 result out into E = "
        f"{vector(e)} and multiply by Cᵀ:",
        f"  E Cᵀ = {vector(back)},",
        f"  as a 4x4 array {z_check}:",
        grid(back.reshape(4, 4), indent=4),
        "  It has the size of D but not its values: Cᵀ is the adjoint of C, not its inverse.",
        "  Recovering D itself is restoration, the other meaning of \"deconvolution\".",
    ]
    return "\n".join(lines)


def _seed_002_checks(spec):
    """Numerical checks of seed 002's claims with random x, z, w."""
    rng = np.random.default_rng(0)
    w, x, z = rng.standard_normal((2, 2)), rng.standard_normal((3, 3)), rng.standard_normal((2, 2))
    v = numeric_matrix(spec, (3, 3), w)
    vt_z = v.T @ z.ravel()
    padded = fractional_input(spec, z)[1][None, None]
    rotated = w[::-1, ::-1]
    anti = v[::-1, ::-1].T
    four = (1, 1, 2, 2)
    checks = [
        ("V equals deconvkit.conv_matrix", v, conv_matrix(w.reshape(four), (1, 3, 3)).toarray()),
        ("V x equals deconvkit.conv(x, w)", v @ x.ravel(), conv(x[None, None], w.reshape(four))),
        ("Vᵀ z equals deconvkit.conv_transpose(z, w)", vt_z,
         conv_transpose(z[None, None], w.reshape(four))),
        ("sliding the rotated filter over padded z gives Vᵀ z", vt_z,
         conv(padded, rotated.reshape(four))),
        ("sliding the unrotated filter gives the antitranspose", anti @ z.ravel(),
         conv(padded, w.reshape(four))),
        ("antitranspose = conv_transpose with the rotated filter", anti @ z.ravel(),
         conv_transpose(z[None, None], rotated.copy().reshape(four))),
    ]
    lines = ["  Checks with random x, z and w:"]
    for text, got, want in checks:
        err = rel_error(np.ravel(got), np.ravel(want))
        lines.append(f"    {text:<56} {'ok' if err < 1e-12 else 'MISMATCH'} (error {err:.1e})")
    return lines


def _seed_002_matrix_lines(spec):
    v = symbolic_matrix(spec, (3, 3), base=1)
    zs, xs = symbolic_array("z", (2, 2), 1).ravel(), symbolic_array("x", (3, 3), 1).ravel()
    nnz = sum(cell != "0" for row in v for cell in row)
    typo = ["w21" if cell == "w22" else cell for cell in v[0]]
    terms = " + ".join(f"{c}·{x}" for c, x in zip(v[0], xs) if c != "0")
    return [
        "  V, with z = V x (x and z read row by row, indices 1-based as in the seed):",
        matrix_text(v, zs, xs, nnz),
        "  Correction: the seed prints w_{2,1} twice in every row of V; the second one is",
        "  w_{2,2}. Its first row, as printed and as it should be:",
        "    seed:      " + " ".join(f"{c:>3}" for c in typo),
        "    corrected: " + " ".join(f"{c:>3}" for c in v[0]),
        f"  as the seed's own formula says: z11 = {terms}.",
        "",
        "  The transposed convolution (the seed's \"deconvolution\", x̃ = Vᵀ z̃) maps z back",
        "  to the shape of x with the 9x4 matrix Vᵀ:",
        matrix_text([list(col) for col in zip(*v)], xs, zs, nnz),
    ]


def seed_002() -> str:
    """Seed 002's worked example: the 4x9 matrix V of a 2x2 filter on a 3x3 image.

    Returns
    -------
    text : str
        V with symbolic entries (the seed's typo corrected), Vᵀ, the sliding-window
        view of Vᵀ and numerical checks against :mod:`deconvkit`.
    """
    spec = make_spec((3, 3), 2)
    padded = fractional_input(spec, symbolic_array("z", (2, 2), 1))[1]
    rotated = symbolic_array("w", (2, 2), 1)[::-1, ::-1]
    lines = [
        heading("Worked example 2 (seed 002): a 3x3 image x, a 2x2 filter w, z = V x"),
        "  z_ij = sum_l sum_k w_lk x_(i-1+l, j-1+k): stride 1, no padding, so z is 2x2.",
        side_by_side([_titled("x", grid(symbolic_array("x", (3, 3), 1), indent=4)),
                      _titled("w", grid(symbolic_array("w", (2, 2), 1))),
                      _titled("z", grid(symbolic_array("z", (2, 2), 1)))]),
        "",
        *_seed_002_matrix_lines(spec),
        "",
        "  Sliding-window view of Vᵀ: pad z with k - 1 = 1 zero on every side and slide the",
        "  filter rotated by 180 degrees over it at stride 1 (3x3 positions):",
        side_by_side([grid(padded, indent=4), grid(rotated)]),
        "  Sliding the filter unrotated, as the seed's last sentence has it, computes the",
        "  antitranspose of V (Vᵀ with its rows and columns reversed), which is the transposed",
        "  convolution with the rotated filter: that is where the seed's \"antitranspose\" aside",
        "  comes from. The deconvolution layer is exactly Vᵀ.",
        *_seed_002_checks(spec),
    ]
    return "\n".join(lines)


def worked_examples(full: bool = False) -> str:
    """What ``deconvkit explain`` prints with no arguments: the seeds' examples and one more.

    Parameters
    ----------
    full : bool
        Passed to :func:`~deconvkit.explain.text.explain` for the third example.

    Returns
    -------
    text : str
    """
    intro = "\n".join([
        heading("deconvkit explain: a convolution C and its transpose Cᵀ"),
        "  In deep learning a \"deconvolution\" layer is a transposed convolution: the matrix Cᵀ",
        "  of a convolution C. Below, the worked examples of the two seeds, recomputed and",
        "  checked with deconvkit, then a stride-2 example where Cᵀ upsamples 2x2 to 4x4.",
        "  Any other geometry: deconvkit explain --input 4x4 --kernel 3 --stride 2 --padding 1",
    ])
    third = explain((4, 4), 3, stride=2, padding=1, full=full,
                    title="Example 3: stride 2, where the transposed convolution upsamples")
    return "\n\n\n".join([intro, seed_001(), seed_002(), third.rstrip()]) + "\n"
