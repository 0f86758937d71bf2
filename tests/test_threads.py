"""Thread settings and calls from several threads at once."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import deconvkit as dk
from deconvkit import threads
from deconvkit.functional import _layout


@pytest.fixture
def restore_threads():
    before = threads.get_num_threads()
    yield
    threads.set_num_threads(before)


def depthwise_case():
    """The depthwise large-stride case that uses the thread pool (output >= 4 MiB)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 16, 16, 16), dtype=np.float32)
    w = rng.standard_normal((16, 1, 32, 32), dtype=np.float32)
    return x, w, dict(stride=16, padding=8, groups=16)


def test_set_num_threads_changes_the_pool_not_the_result(restore_threads, monkeypatch):
    x, w, kw = depthwise_case()
    threads.set_num_threads(2)
    used = []
    real_take = _layout.POOL.take
    monkeypatch.setattr(_layout.POOL, "take", lambda: used.append(1) or real_take())
    two = dk.conv_transpose(x, w, method="polyphase", **kw)
    assert used, "the depthwise path should have used the thread pool"
    monkeypatch.undo()
    threads.set_num_threads(1)
    assert threads.get_num_threads() == 1
    one = dk.conv_transpose(x, w, method="polyphase", **kw)
    assert np.array_equal(one, two)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_bad_thread_count(bad):
    with pytest.raises(ValueError, match="int >= 1"):
        threads.set_num_threads(bad)


def test_calls_from_several_threads_agree_with_serial_calls():
    x, w, kw = depthwise_case()
    rng = np.random.default_rng(1)
    xs = [x * s for s in rng.standard_normal(6).astype(np.float32)]
    serial = [dk.conv_transpose(v, w, **kw) for v in xs]
    with ThreadPoolExecutor(3) as pool:
        parallel = list(pool.map(lambda v: dk.conv_transpose(v, w, **kw), xs))
    assert all(np.array_equal(a, b) for a, b in zip(serial, parallel))
    assert threads.available_cores() >= 1


def test_resizing_the_pool_while_other_threads_compute(restore_threads):
    """Regression: set_num_threads shut the pool down under running calls
    ("cannot schedule new futures after shutdown")."""
    x, w, kw = depthwise_case()
    expected = dk.conv_transpose(x, w, method="polyphase", **kw)
    stop = []

    def toggle():
        n = 0
        while not stop:
            threads.set_num_threads(1 + n % 2)
            n += 1

    with ThreadPoolExecutor(3) as ex:
        toggler = ex.submit(toggle)
        results = [ex.submit(dk.conv_transpose, x, w, method="polyphase", **kw)
                   for _ in range(12)]
        outputs = [r.result() for r in results]
        stop.append(True)
        toggler.result()
    for y in outputs:
        np.testing.assert_array_equal(y, expected)


def test_keep_freed_memory_sets_glibc_and_checks_its_argument():
    import platform

    from deconvkit.threads import keep_freed_memory
    kept = keep_freed_memory(64 * 2**20)
    if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
        assert kept is True
    for bad, error in ((0, ValueError), (2**40, ValueError), (1.5e6, TypeError)):
        with pytest.raises(error, match="nbytes"):
            keep_freed_memory(bad)
