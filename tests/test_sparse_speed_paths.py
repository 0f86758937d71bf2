"""The fast paths of sparse coding on the circular model (blocks of maps on the pool's
threads, float32, batches, channels, 1-d to 3-d) against plain computations with
``numpy.fft``: the same results to rounding. No timing here (benchmarks/sparse.md)."""

import contextlib
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from deconvkit.sparse import SynthesisOperator, code
from deconvkit.sparse import _maps
from deconvkit.sparse.fista import fista
from deconvkit.sparse.operators import circular_by_wrapping

SETTINGS = settings(max_examples=25, deadline=None)


@contextlib.contextmanager
def blocks_of_one_map():
    """Every map its own block, so that the blocks run on the pool's threads."""
    saved = _maps.BLOCK_BYTES
    _maps.BLOCK_BYTES = 1
    try:
        yield
    finally:
        _maps.BLOCK_BYTES = saved


@st.composite
def problems(draw, dtypes=(np.float64, np.float32)):
    ndim = draw(st.integers(1, 3))
    size = tuple(draw(st.lists(st.integers(4, {1: 20, 2: 9, 3: 5}[ndim]),
                               min_size=ndim, max_size=ndim)))
    ksize = tuple(draw(st.integers(1, min(3, s))) for s in size)
    n, c, k = draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 4))
    dtype = draw(st.sampled_from(dtypes))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    d = rng.standard_normal((k, c) + ksize)
    d /= np.linalg.norm(d.reshape(k, -1), axis=1).reshape((k,) + (1,) * (d.ndim - 1))
    y = rng.standard_normal((n, c) + size)
    return y.astype(dtype), d.astype(dtype)


def spectra(d, size):
    """The filters zero-padded to ``size`` and transformed by numpy: ``(K, C, *size)``."""
    axes = tuple(range(2, d.ndim))
    return np.fft.fftn(d.astype(np.float64), s=size, axes=axes)


def plain_forward(z, d):
    axes = tuple(range(2, z.ndim))
    zf = np.fft.fftn(z.astype(np.float64), axes=axes)
    return np.fft.ifftn(np.einsum("kc...,nk...->nc...", spectra(d, z.shape[2:]), zf),
                        axes=axes).real


def plain_adjoint(r, d):
    axes = tuple(range(2, r.ndim))
    rf = np.fft.fftn(r.astype(np.float64), axes=axes)
    return np.fft.ifftn(np.einsum("kc...,nc...->nk...", spectra(d, r.shape[2:]).conj(), rf),
                        axes=axes).real


def tolerance(dtype):
    return dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-10)


@SETTINGS
@given(problems())
def test_blocked_operator_is_the_plain_fft_operator(case):
    y, d = case
    D = SynthesisOperator(d, y.shape[1:], boundary="circular")
    z = np.random.default_rng(0).standard_normal((y.shape[0],) + D.code_shape).astype(y.dtype)
    with blocks_of_one_map():
        assert len(D.blocks(y.shape[0])) == y.shape[0] * d.shape[0]
        forward, adjoint = D.forward(z), D.adjoint(y)
    assert forward.dtype == adjoint.dtype == y.dtype
    np.testing.assert_allclose(forward, plain_forward(z, d), **tolerance(y.dtype))
    np.testing.assert_allclose(adjoint, plain_adjoint(y, d), **tolerance(y.dtype))
    np.testing.assert_allclose(D.forward(z), forward, **tolerance(y.dtype))   # one block


@given(st.integers(1, 6), st.integers(1, 40), st.integers(1, 5000), st.integers(1, 3000))
def test_blocks_cover_every_map_once(n, k, map_bytes, block_bytes):
    saved = _maps.BLOCK_BYTES
    _maps.BLOCK_BYTES = block_bytes
    try:
        parts = _maps.blocks(n, k, map_bytes)
    finally:
        _maps.BLOCK_BYTES = saved
    seen = np.zeros((n, k), int)
    for ns, ks in parts:
        seen[ns, ks] += 1
    assert (seen == 1).all()


class PlainOperator:
    """The circular ``D`` with numpy's complex FFTs, for the plain (unblocked) FISTA."""

    def __init__(self, d, dtype):
        self.d, self.dtype = d, dtype

    def forward(self, z):
        return plain_forward(z, self.d).astype(self.dtype)

    def adjoint(self, r):
        return plain_adjoint(r, self.d).astype(self.dtype)


def history():
    return {"objective": [], "sparsity": [], "residual": []}


class Bar:
    def update(self):
        pass


@SETTINGS
@given(problems(dtypes=(np.float64,)), st.booleans())
def test_blocked_fista_is_the_plain_fista(case, nonneg):
    y, d = case
    D = SynthesisOperator(d, y.shape[1:], boundary="circular")
    plain = PlainOperator(d, y.dtype)
    plain.code_shape = D.code_shape
    L, lam = D.norm_squared(), 0.05
    kw = dict(L=L, iterations=25, tol=0.0, nonneg=nonneg, bar=Bar())
    h_fast, h_plain = history(), history()
    with blocks_of_one_map():
        z_fast = fista(D, y, lam, history=h_fast, **kw)
    z_plain = fista(plain, y, lam, history=h_plain, **kw)
    np.testing.assert_allclose(z_fast, z_plain, rtol=1e-8, atol=1e-10)
    for key in h_plain:
        np.testing.assert_allclose(h_fast[key], h_plain[key], rtol=1e-8, atol=1e-12)


def plain_admm(y, d, lam, iterations, nonneg):
    """ADMM as in :mod:`deconvkit.sparse.admm`, written plainly: numpy's complex FFTs,
    the per-frequency ``K x K`` systems solved densely, everything on whole arrays."""
    axes = tuple(range(2, y.ndim))
    m = np.moveaxis(spectra(d, y.shape[2:]), (0, 1), (-1, -2))   # (*F, C, K)
    fft = lambda a: np.fft.fftn(a, axes=axes)                     # noqa: E731
    ifft = lambda a: np.fft.ifftn(a, axes=axes).real              # noqa: E731
    to_f = lambda a: np.moveaxis(a, 1, -1)[..., None]             # (N, *F, K|C, 1)  # noqa
    from_f = lambda a: np.moveaxis(a[..., 0], -1, 1)              # noqa: E731
    mh_y = from_f(m.conj().swapaxes(-1, -2) @ to_f(fft(y)))
    gram = m.conj().swapaxes(-1, -2) @ m
    rho = 50 * lam + 1
    xi = 1 + 18.3 ** (math.log10(lam) + 1)
    u = np.zeros((y.shape[0], d.shape[0]) + y.shape[2:])
    v, objective = np.zeros_like(u), []
    for k in range(iterations):
        b = to_f(mh_y + rho * fft(u - v))
        x = ifft(from_f(np.linalg.solve(gram + rho * np.eye(d.shape[0]), b)))
        relaxed = 1.8 * x + (1 - 1.8) * u
        u_prev = u
        t = relaxed + v
        u = np.maximum(t - lam / rho, 0) if nonneg else \
            np.sign(t) * np.maximum(np.abs(t) - lam / rho, 0)
        v = t - u
        r = plain_forward(u, d) - y
        objective.append(0.5 * np.sum(r * r) + lam * np.abs(u).sum())
        primal = np.linalg.norm(x - u) / (max(np.linalg.norm(x), np.linalg.norm(u)) or 1)
        dual = np.linalg.norm(u - u_prev) / (np.linalg.norm(v) or 1)
        if 0 < k < 100:
            step = math.sqrt(primal / (dual * xi) if primal > dual * xi
                             else dual * xi / primal) if primal and dual else 1000.0
            step = min(step, 1000.0)
            factor = step if primal > xi * 1.2 * dual else \
                1 / step if dual > 1.2 / xi * primal else 1.0
            rho, v = rho * factor, v / factor
    return u, objective


@SETTINGS
@given(problems(), st.booleans())
def test_blocked_admm_is_the_plain_admm(case, nonneg):
    y, d = case
    with blocks_of_one_map():
        z, info = code(y, d, 0.05, boundary="circular", method="admm", iterations=25,
                       tol=0, nonneg=nonneg, full_output=True)
    assert z.dtype == y.dtype
    z_plain, objective = plain_admm(y.astype(np.float64), d.astype(np.float64), 0.05, 25,
                                    nonneg)
    if y.dtype == np.float64:
        np.testing.assert_allclose(z, z_plain, rtol=1e-7, atol=1e-9)
        np.testing.assert_allclose(info["objective"], objective, rtol=1e-9)
    else:
        np.testing.assert_allclose(z, z_plain, atol=2e-3 * (np.abs(z_plain).max() or 1))
        np.testing.assert_allclose(info["objective"], objective, rtol=1e-3)


@pytest.mark.parametrize("method", ["fista", "admm"])
def test_threaded_blocks_give_the_one_block_result(method):
    """Large enough for several blocks at the default block size, threads included."""
    rng = np.random.default_rng(5)
    y = rng.standard_normal((2, 1, 160, 160))
    d = rng.standard_normal((12, 1, 5, 5))
    d /= np.linalg.norm(d.reshape(12, -1), axis=1)[:, None, None, None]
    D = SynthesisOperator(d, y.shape[1:], boundary="circular")
    assert len(D.blocks(2)) > 1
    z = code(y, d, 0.1, boundary="circular", method=method, iterations=30, tol=0)
    saved = _maps.BLOCK_BYTES
    _maps.BLOCK_BYTES = 1 << 40
    try:
        assert len(D.blocks(2)) == 1
        z_one = code(y, d, 0.1, boundary="circular", method=method, iterations=30, tol=0)
    finally:
        _maps.BLOCK_BYTES = saved
    np.testing.assert_allclose(z, z_one, rtol=1e-9, atol=1e-12)


def test_a_solve_inside_the_pool_runs_inline_and_gives_the_same_result():
    """Two solves as tasks of the pool (as a batched caller might run them) do not wait
    for the pool they occupy, and give what the calling thread gets."""
    from deconvkit.functional._layout import POOL
    threads, executor = POOL.take()
    if executor is None:
        pytest.skip("one thread")
    rng = np.random.default_rng(6)
    y = rng.standard_normal((1, 1, 160, 160))
    d = rng.standard_normal((12, 1, 5, 5))
    d /= np.linalg.norm(d.reshape(12, -1), axis=1)[:, None, None, None]

    def solve():
        return code(y, d, 0.1, boundary="circular", method="admm", iterations=10, tol=0)
    jobs = [executor.submit(solve) for _ in range(threads)]
    results = [job.result(timeout=120) for job in jobs]
    expected = solve()
    for z in results:
        np.testing.assert_allclose(z, expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("method", ["fista", "admm"])
def test_repeated_solves_on_several_blocks_are_bitwise_equal(method):
    """The per-block sums are added in block order, not in the order the threads
    finish: repeated solves give the same bits (then learn(seed=...) repeats too)."""
    from deconvkit.functional._layout import POOL
    if POOL.take()[1] is None:
        pytest.skip("one thread")
    rng = np.random.default_rng(5)
    y = rng.standard_normal((2, 1, 48, 48))
    d = rng.standard_normal((12, 1, 5, 5))
    d /= np.linalg.norm(d.reshape(12, -1), axis=1)[:, None, None, None]
    with blocks_of_one_map():
        D = SynthesisOperator(d, y.shape[1:], boundary="circular")
        assert len(D.blocks(2)) == 24
        zs = [code(y, d, 0.1, boundary="circular", method=method, iterations=15, tol=0)
              for _ in range(6)]
        forwards = [D.forward(zs[0]) for _ in range(6)]
    for z in zs[1:]:
        assert np.array_equal(z, zs[0])
    for x in forwards[1:]:
        assert np.array_equal(x, forwards[0])


def test_circular_forward_keeps_one_spectrum_per_thread_not_per_block():
    """``D z`` on 64 blocks of one map: the peak of NumPy's allocations stays within a
    few spectra of ``D z`` (one per thread), not one per block (tracemalloc)."""
    import tracemalloc
    rng = np.random.default_rng(2)
    d = rng.standard_normal((64, 1, 3, 3))
    z = rng.standard_normal((1, 64, 64, 64))
    D = SynthesisOperator(d, (1, 64, 64), boundary="circular")
    spectrum_bytes = D.map_bytes                          # one (1, 1, 64, 33) spectrum
    with blocks_of_one_map():
        assert len(D.blocks(1)) == 64
        tracemalloc.start()
        try:
            x = D.forward(z)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    np.testing.assert_allclose(x, circular_by_wrapping(z, d), atol=1e-9)
    assert peak < 12 * spectrum_bytes, peak / spectrum_bytes


@pytest.mark.parametrize("method", ["fista", "admm"])
def test_threads_keep_no_work_array_larger_than_the_bound(method, monkeypatch):
    """After a solve (one block, on the calling thread), the work arrays the thread keeps
    for the next solve are all within ``SCRATCH_BYTES``."""
    monkeypatch.setattr(_maps, "SCRATCH_BYTES", 20000, raising=False)
    monkeypatch.setattr(_maps._LOCAL, "arrays", {}, raising=False)   # earlier tests' arrays
    rng = np.random.default_rng(3)
    y = rng.standard_normal((1, 1, 64, 64))
    d = rng.standard_normal((4, 1, 3, 3))
    assert len(SynthesisOperator(d, (1, 64, 64), boundary="circular").blocks(1)) == 1
    z = code(y, d, 0.1, boundary="circular", method=method, iterations=3, tol=0)
    assert np.count_nonzero(z)
    kept = getattr(_maps._LOCAL, "arrays", {})
    assert all(a.nbytes <= 20000 for a in kept.values()), [a.nbytes for a in kept.values()]


def test_nested_runs_are_told_by_the_pool_not_by_the_thread_name():
    """A caller's own thread named like the pool's still gets the pool; a task of the
    pool runs its parts inline."""
    import threading
    from deconvkit.functional._layout import POOL
    if POOL.take()[1] is None:
        pytest.skip("one thread")

    def where(part, workers):
        return threading.get_ident(), workers
    found = []
    caller = threading.Thread(target=lambda: found.append(
        (threading.get_ident(), _maps.run(where, [0, 1]))), name="deconvkit-user")
    caller.start()
    caller.join()
    ident, places = found[0]
    assert all(w == 1 and t != ident for t, w in places)
    inside = POOL.take()[1].submit(lambda: (threading.get_ident(), _maps.run(where, [0, 1])))
    ident, places = inside.result(timeout=60)
    assert places == [(ident, 1), (ident, 1)]
