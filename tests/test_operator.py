"""ConvOperator: the LinearOperator view of C and Cᵀ."""

import numpy as np
from hypothesis import given
from scipy.sparse.linalg import lsqr

import deconvkit as dk
from deconvkit.linop import ConvOperator
from deconvkit.testing import conv_cases, dottest, random_arrays, rel_error


@given(case=conv_cases(dtypes=(np.float64,)))
def test_operator_is_the_matrix_and_passes_the_dot_test(case):
    x, w, _ = random_arrays(case)
    shape = case.x_shape[1:]
    op = ConvOperator(w, shape, **case.conv_kwargs())
    dense = dk.conv_matrix(w, shape, **case.conv_kwargs()).toarray()
    v = np.random.default_rng(0).standard_normal(op.shape[1])
    assert rel_error(op @ v, dense @ v) < 1e-12
    dottest(op.matvec, op.rmatvec, (op.shape[1],), (op.shape[0],))
    assert rel_error(op.T @ (op @ v), dense.T @ (dense @ v)) < 1e-12


def test_lsqr_recovers_a_signal_through_the_operator():
    rng = np.random.default_rng(0)
    w = np.array([[[1.0, 0.5, 0.25]]])
    op = ConvOperator(w, (1, 32), padding=2)
    truth = rng.standard_normal(32)
    estimate = lsqr(op, op @ truth, atol=1e-14, btol=1e-14, iter_lim=500)[0]
    assert rel_error(estimate, truth) < 1e-8


@given(case=conv_cases(dtypes=(np.float64,)))
def test_matmat_is_one_batched_call_equal_to_the_matrix(case):
    x, w, _ = random_arrays(case)
    op = ConvOperator(w, case.x_shape[1:], **case.conv_kwargs())
    dense = dk.conv_matrix(w, case.x_shape[1:], **case.conv_kwargs()).toarray()
    rng = np.random.default_rng(1)
    m = rng.standard_normal((op.shape[1], 3))
    r = rng.standard_normal((op.shape[0], 3))
    assert rel_error(op.matmat(m), dense @ m) < 1e-12
    assert rel_error(op.H.matmat(r), dense.T @ r) < 1e-12
    assert op.dims == case.x_shape[1:] and len(op.dimsd) == len(op.dims)
    z = m[:, 0] + 1j * m[:, 1]
    got, want = op.matvec(z), dense @ z
    assert rel_error(got.real, want.real) < 1e-12 and rel_error(got.imag, want.imag) < 1e-12


def test_matmat_calls_the_algorithm_once(monkeypatch):
    calls = []
    real = dk.functional.conv
    op = ConvOperator(np.ones((2, 1, 3)), (1, 9), stride=2, padding=1)
    monkeypatch.setattr(dk.functional, "conv", lambda *a, **k: calls.append(a[0].shape) or real(*a, **k))
    op.matmat(np.ones((9, 5)))
    assert calls == [(5, 1, 9)]


def test_operator_takes_a_spec_and_is_importable_from_the_top():
    spec = dk.ConvSpec(3, stride=2, padding=1)
    op = dk.ConvOperator(np.ones((1, 1, 3)), (1, 8), spec=spec)
    assert op.spec == spec and op.dimsd == (1, 4)
    import pytest
    with pytest.raises(TypeError, match="not both"):
        dk.ConvOperator(np.ones((1, 1, 3)), (1, 8), spec=spec, stride=2)


def test_matmat_of_no_columns_is_empty():
    op = ConvOperator(np.ones((2, 1, 1)), (1, 3))
    assert op.matmat(np.ones((3, 0))).shape == (6, 0)
    assert op.rmatmat(np.ones((6, 0))).shape == (3, 0)
