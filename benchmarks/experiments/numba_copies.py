"""Would numba pay for the copies around polyphase's GEMMs? A reproducible experiment.

polyphase spends its non-GEMM time in two strided copies: space to depth (the input's
phase components, read by the implicit-GEMM ``conv`` and the weight gradient: B1) and
depth to space (``interleave``, after the GEMM of ``conv_transpose``: S1, S6). This script
replaces both with numba kernels (parallel over ``(n, c)``, a vectorizable two-phase loop
for stride 2), checks that every benchmark case gives *identical* results, then times
NumPy against numba in the same process, interleaved in blocks as ``deconvkit bench`` does.

    pip install numba
    PYTHONPATH=src python benchmarks/experiments/numba_copies.py [--cases S1,B1] [--rounds 8]

The finding and its figures are in ``benchmarks/experiments/numba_copies.md``; the kernels
are not part of deconvkit because they did not pay on the project's machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numba
import numpy as np
from numba import njit, prange

from deconvkit.bench import peers
from deconvkit.bench.cases import CASES
from deconvkit.functional import polyphase

if "NUMBA_THREADING_LAYER" not in os.environ:
    # the OpenMP layer spins after each kernel and fights OpenBLAS for the cores
    numba.config.THREADING_LAYER = "workqueue"
OPT = dict(parallel=True, cache=True, nogil=True)
NUMPY_S2D, NUMPY_INTERLEAVE = polyphase.space_to_depth, polyphase.interleave


@njit(cache=True)
def _spans(off, s, m, un):
    """Per phase, the ``u < un`` range with ``0 <= s*u + off[p] < m`` (once per call)."""
    lo, hi = np.empty(off.size, np.int64), np.empty(off.size, np.int64)
    for p in range(off.size):
        lo[p] = min(max(0, -(off[p] // s)), un)
        hi[p] = min(max((m - 1 - off[p]) // s + 1, lo[p]), un)
    return lo, hi


@njit(cache=True, inline="always")
def _split_row(src, out0, out1, o0, o1, lo0, hi0, lo1, hi1):
    """``out_k[u] = src[2*u + o_k]`` in ``[lo_k, hi_k)``, zero elsewhere: both phases of a
    stride-2 axis in one pass over ``src``."""
    un = out0.size
    lo, hi = max(lo0, lo1), min(hi0, hi1)
    # unsigned indices: no negative-index check inside the loop
    a0, a1, b = np.uintp(2 * lo + o0), np.uintp(2 * lo + o1), np.uintp(lo)
    for k in range(np.uintp(max(hi - lo, 0))):
        out0[b + k] = src[a0 + 2 * k]
        out1[b + k] = src[a1 + 2 * k]
    for u in range(0, min(lo, un)):                     # the few edge positions
        out0[u] = src[2 * u + o0] if lo0 <= u < hi0 else 0
        out1[u] = src[2 * u + o1] if lo1 <= u < hi1 else 0
    for u in range(max(hi, lo), un):
        out0[u] = src[2 * u + o0] if lo0 <= u < hi0 else 0
        out1[u] = src[2 * u + o1] if lo1 <= u < hi1 else 0


@njit(cache=True, inline="always")
def _strided_row(src, out, s, o, lo, hi):
    """``out[u] = src[s*u + o]`` in ``[lo, hi)``, zero elsewhere."""
    for u in range(lo):
        out[u] = 0
    for u in range(lo, hi):
        out[u] = src[s * u + o]
    for u in range(hi, out.size):
        out[u] = 0


@njit(**OPT)
def to_phases(x, out, t0, t1, s2, off2):
    """``out[n, c, p0, p1, p2, u0, u1, u2] = x[n, c, t0[p0, u0], t1[p1, u1], s2*u2 + off2[p2]]``
    (zero where a table entry is -1 or outside ``x``)."""
    lo, hi = _spans(off2, s2, x.shape[4], out.shape[7])
    pairs = s2 == 2 and off2.size == 2
    for job in prange(x.shape[0] * x.shape[1]):
        i, j = job // x.shape[1], job % x.shape[1]
        for p0 in range(t0.shape[0]):
            for u0 in range(t0.shape[1]):
                for p1 in range(t1.shape[0]):
                    for u1 in range(t1.shape[1]):
                        a, b = t0[p0, u0], t1[p1, u1]
                        if a < 0 or b < 0:
                            out[i, j, p0, p1, :, u0, u1, :] = 0
                        elif pairs:
                            _split_row(x[i, j, a, b], out[i, j, p0, p1, 0, u0, u1],
                                       out[i, j, p0, p1, 1, u0, u1], off2[0], off2[1],
                                       lo[0], hi[0], lo[1], hi[1])
                        else:
                            for p2 in range(off2.size):
                                _strided_row(x[i, j, a, b], out[i, j, p0, p1, p2, u0, u1],
                                             s2, off2[p2], lo[p2], hi[p2])


@njit(cache=True, inline="always")
def _merge_row(row, part0, part1, o0, o1, lo0, hi0, lo1, hi1):
    """``row[2*u + o_k] = part_k[u]`` for ``u`` in ``[lo_k, hi_k)``: both phases of a
    stride-2 axis in one pass over ``row``."""
    lo, hi = max(lo0, lo1), min(hi0, hi1)
    a0, a1, b = np.uintp(2 * lo + o0), np.uintp(2 * lo + o1), np.uintp(lo)
    for k in range(np.uintp(max(hi - lo, 0))):
        row[a0 + 2 * k] = part0[b + k]
        row[a1 + 2 * k] = part1[b + k]
    a = min(lo, hi0)                                    # the few edge positions
    for u in range(lo0, a):
        row[2 * u + o0] = part0[u]
    for u in range(max(hi, a), hi0):
        row[2 * u + o0] = part0[u]
    a = min(lo, hi1)
    for u in range(lo1, a):
        row[2 * u + o1] = part1[u]
    for u in range(max(hi, a), hi1):
        row[2 * u + o1] = part1[u]


@njit(**OPT)
def from_phases(src, y, p0, p1, u0, u1, s2, off2):
    """``y[n, c, o0, o1, s2*u2 + off2[p2]] = src[n, c, p0[o0], p1[o1], p2, u0[o0], u1[o1], u2]``
    inside ``y`` (rows no phase reaches are zeroed)."""
    lo, hi = _spans(off2, s2, y.shape[4], src.shape[7])
    pairs = s2 == 2 and off2.size == 2
    for job in prange(y.shape[0] * y.shape[1]):
        i, j = job // y.shape[1], job % y.shape[1]
        for a in range(y.shape[2]):
            for b in range(y.shape[3]):
                row = y[i, j, a, b]
                if p0[a] < 0 or p1[b] < 0:
                    row[:] = 0
                elif pairs:
                    _merge_row(row, src[i, j, p0[a], p1[b], 0, u0[a], u1[b]],
                               src[i, j, p0[a], p1[b], 1, u0[a], u1[b]], off2[0], off2[1],
                               lo[0], hi[0], lo[1], hi[1])
                else:
                    for q in range(off2.size):
                        part = src[i, j, p0[a], p1[b], q, u0[a], u1[b]]
                        for u in range(lo[q], hi[q]):
                            row[s2 * u + off2[q]] = part[u]


def _pad(a, nd, lead=2):
    """Unit spatial axes in front of each block of ``nd`` spatial axes (a view)."""
    shape, strides = list(a.shape[:lead]), list(a.strides[:lead])
    for b in range(lead, a.ndim, nd):
        shape += [1] * (3 - nd) + list(a.shape[b:b + nd])
        strides += [0] * (3 - nd) + list(a.strides[b:b + nd])
    return np.lib.stride_tricks.as_strided(a, shape, strides, writeable=a.flags.writeable)


def _lead(tables, ndim):
    return [np.zeros((1,) * ndim, np.int64)] * (2 - len(tables)) + tables


def space_to_depth(x, strides, phases, starts, n_u, layout):
    """numba version of :func:`deconvkit.functional.polyphase.space_to_depth`."""
    nd = x.ndim - 2
    if nd > 3:
        return NUMPY_S2D(x, strides, phases, starts, n_u, layout)
    shape = x.shape[:2] + tuple(len(p) for p in phases) + tuple(n_u)
    out = np.empty([shape[a] for a in layout], x.dtype)
    offs = [np.array([q + b for q in ph], np.int64) for ph, b in zip(phases, starts)]
    tables = []
    for m, s, off, un in zip(x.shape[2:-1], strides, offs, n_u[:-1]):
        t = s * np.arange(un)[None, :] + off[:, None]
        tables.append(np.where((t >= 0) & (t < m), t, -1))
    to_phases(_pad(np.ascontiguousarray(x), nd), _pad(out.transpose(np.argsort(layout)), nd),
              *_lead(tables, 2), strides[-1], offs[-1])
    return out


def interleave(y, y_ph, plans, u0, spec):
    """numba version of :func:`deconvkit.functional.polyphase.interleave`."""
    nd = spec.ndim
    src = y_ph.reshape(y_ph.shape[:1] + (-1,) + y_ph.shape[3:])  # (n, g*C', *P, *U)
    if nd > 3 or not np.shares_memory(src, y_ph):
        return NUMPY_INTERLEAVE(y, y_ph, plans, u0, spec)
    out = y.reshape(y.shape[:1] + (-1,) + y.shape[3:])
    offs = [np.array([s * b + q - lo for q in p.phases], np.int64)
            for p, s, b, (lo, _) in zip(plans, spec.stride, u0, spec.padding)]
    phase, at = [], []
    for m, s, off, un in zip(out.shape[2:-1], spec.stride, offs, src.shape[2 + nd:-1]):
        p_of, u_of = np.full(m, -1, np.int64), np.zeros(m, np.int64)
        for p, o in enumerate(off):
            t = s * np.arange(un) + o
            inside = (t >= 0) & (t < m)
            p_of[t[inside]], u_of[t[inside]] = p, np.arange(un)[inside]
        phase.append(p_of)
        at.append(u_of)
    from_phases(_pad(src, nd), _pad(out, nd), *_lead(phase, 1), *_lead(at, 1),
                spec.stride[-1], offs[-1])


def use(kind):
    """Run polyphase with the NumPy copies or with the numba kernels."""
    polyphase.space_to_depth = space_to_depth if kind == "numba" else NUMPY_S2D
    polyphase.interleave = interleave if kind == "numba" else NUMPY_INTERLEAVE


def copy_calls(fn):
    """The copies one call of ``fn`` makes: ``(name, numpy_fn, numba_fn, args)``."""
    calls = []

    def recorder(name, numpy_fn, numba_fn):
        def record(*args):
            calls.append((name, numpy_fn, numba_fn, args))
            return numpy_fn(*args)
        return record
    polyphase.space_to_depth = recorder("space_to_depth", NUMPY_S2D, space_to_depth)
    polyphase.interleave = recorder("interleave", NUMPY_INTERLEAVE, interleave)
    try:
        fn()
    finally:
        use("numpy")
    return calls


def time_case(fn, rounds, block, run=None):
    """min and median seconds of ``fn`` per kind, interleaved in blocks (``run(kind)``
    prepares a kind; by default :func:`use`)."""
    kept = {"numpy": [], "numba": []}
    for _ in range(rounds):
        for kind, times in kept.items():
            (run or use)(kind)
            fn()
            t0, block_times = time.perf_counter(), []
            while time.perf_counter() - t0 < block:
                a = time.perf_counter()
                fn()
                block_times.append(time.perf_counter() - a)
            times.extend(block_times[len(block_times) // 3:])
    return {k: (min(t), statistics.median(t)) for k, t in kept.items()}


def report(label, t):
    (a, am), (b, bm) = t["numpy"], t["numba"]
    print(f"{label}: numpy {a * 1e3:.3f} ms (median {am * 1e3:.3f}), numba {b * 1e3:.3f} ms "
          f"(median {bm * 1e3:.3f}); numpy / numba {a / b:.2f}x (median {am / bm:.2f}x)",
          flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=",".join(c.name for c in CASES))
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--block-time", type=float, default=0.2)
    args = parser.parse_args()
    print(f"numba {numba.__version__}, threads {numba.get_num_threads()}")
    for case in CASES:
        if case.name not in args.cases.split(","):
            continue
        fn = peers.deconvkit_runner(case, *case.arrays())
        use("numpy")
        want = fn()
        use("numba")
        got = fn()
        want, got = (want, got) if isinstance(want, tuple) else ((want,), (got,))
        assert all(np.array_equal(a, b) for a, b in zip(want, got)), case.name
        report(case.name, time_case(fn, args.rounds, args.block_time))
        for name, numpy_fn, numba_fn, call in copy_calls(fn):
            chosen = {}
            t = time_case(lambda: chosen["fn"](*call), args.rounds, args.block_time / 4,
                          lambda kind: chosen.update(fn=numba_fn if kind == "numba" else numpy_fn))
            report(f"  {name}", t)
    use("numpy")


if __name__ == "__main__":
    main()
