"""ConvOperator: the LinearOperator view of C and Cᵀ."""

import numpy as np
from hypothesis import given
from scipy.sparse.linalg import lsqr

import deconvkit as dk
from deconvkit.operator import ConvOperator
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
