"""Convolutional sparse coding against SPORCO's ConvBPDN: time per iteration, objective,
and time to a given objective (``deconvkit bench --sparse``).

The problem: scikit-image's camera (512 x 512), scaled to [0, 1] and high-passed (minus
its periodic Gaussian blur of sigma 4), coded with 32 random unit-norm 8 x 8 filters
(seed 0) at ``lam = 0.1`` on the circular model (SPORCO's), float64; ours also in
float32. SPORCO's ``ConvBPDN`` runs with its defaults (``AutoRho`` on, relaxation 1.8,
its objective and residuals every iteration) and ``RelStopTol = 0`` so that it runs
every iteration asked for; ours with ``tol=0`` likewise.

Three measurements, one process:

* equal iterations: solves of :data:`EQUAL` iterations, each solver a block of
  consecutive calls per round, interleaved (:func:`deconvkit.bench._time_interleaved`);
  the median per iteration, setup included;
* histories: one run of each solver with the wall time and the objective at every
  iteration (ours: on ``z``; SPORCO: ours evaluated on its sparse variable ``Y`` in its
  callback, whose time is taken out). ``f*`` is the least objective any run reached
  (ours ADMM runs longest); the time to ``f* (1 + rtol)`` is the first time a run is
  below it, counted from before the solver's set-up;
* agreement: SPORCO's reported objective (``AuxVarObj``, on ``Y``) against ours
  evaluated on its solution.
"""

from __future__ import annotations

import math
import os
import sys
import time

import numpy as np

from ..sparse import objective
from ..sparse.admm import admm
from ..sparse.fista import fista
from ..sparse.operators import SynthesisOperator

__all__ = ["data", "run", "report"]

LAM, FILTERS, KERNEL, SIGMA = 0.1, 32, 8, 4.0
EQUAL = 10
HISTORY = {"SPORCO ConvBPDN": 120, "ours ADMM": 400, "ours FISTA": 250,
           "ours ADMM float32": 120, "ours FISTA float32": 250}
QUICK = {"size": 128, "equal": 5, "history": 40}
RTOLS = (1e-3, 1e-4)


def data(size=512):
    """``(y, filters)``: the high-passed camera ``(1, 1, size, size)`` and the filters
    ``(32, 1, 8, 8)``, float64."""
    from scipy.ndimage import gaussian_filter
    from skimage import data as skdata
    img = skdata.camera().astype(np.float64) / 255.0
    if size != img.shape[0]:
        img = img[:size, :size]
    y = (img - gaussian_filter(img, SIGMA, mode="wrap"))[None, None]
    d = np.random.default_rng(0).standard_normal((FILTERS, 1, KERNEL, KERNEL))
    d /= np.linalg.norm(d.reshape(FILTERS, -1), axis=1)[:, None, None, None]
    return np.ascontiguousarray(y), d


class _Stamps:
    """A progress bar that records the time of every iteration."""

    def __init__(self, t0):
        self.t0, self.times = t0, []

    def update(self):
        self.times.append(time.perf_counter() - self.t0)


def ours(y, d, method, iterations, history=False):
    """Our solver as :func:`deconvkit.sparse.code` runs it (``tol=0``); with ``history``,
    ``(z, objectives, times)``."""
    t0 = time.perf_counter()
    D = SynthesisOperator(d, y.shape[1:], boundary="circular")
    stamps, h = _Stamps(t0), {"objective": [], "sparsity": [], "residual": []}
    kw = dict(iterations=iterations, tol=0.0, nonneg=False, bar=stamps, history=h)
    if method == "admm":
        z = admm(D, y, LAM, **kw)
    else:
        z = fista(D, y, LAM, L=D.norm_squared(), **kw)
    return (z, h["objective"], stamps.times) if history else z


def _sporco_solver(y, d, iterations, **options):
    from sporco.admm import cbpdn
    opt = cbpdn.ConvBPDN.Options(dict({"MaxMainIter": iterations, "RelStopTol": 0.0,
                                       "Verbose": False}, **options))
    return cbpdn.ConvBPDN(np.moveaxis(d[:, 0], 0, -1), y[0, 0], LAM, opt)


def _sporco_code(solver, y, d):
    coef = solver.Y.reshape(y.shape[2:] + (d.shape[0],))
    return np.moveaxis(coef, -1, 0)[None]


def sporco(y, d, iterations, history=False):
    """SPORCO's ConvBPDN; with ``history``, ``(z, objectives, times)`` (our objective of
    its ``Y`` after each iteration, computed in its callback and not timed)."""
    if not history:
        solver = _sporco_solver(y, d, iterations)
        solver.solve()
        return _sporco_code(solver, y, d)
    f, times, spent = [], [], [0.0]

    def callback(solver):
        t = time.perf_counter()
        times.append(t - t0 - spent[0])
        f.append(objective(y, d, _sporco_code(solver, y, d), LAM, boundary="circular"))
        spent[0] += time.perf_counter() - t
        return False
    t0 = time.perf_counter()
    solver = _sporco_solver(y, d, iterations, Callback=callback)
    solver.solve()
    return _sporco_code(solver, y, d), f, times


def agreement(y, d, iterations=10):
    """``(SPORCO's reported objective on Y, ours of its solution)``."""
    solver = _sporco_solver(y, d, iterations, AuxVarObj=True)
    solver.solve()
    return (float(solver.getitstat().ObjFun[-1]),
            objective(y, d, _sporco_code(solver, y, d), LAM, boundary="circular"))


def _runners(y, d, have_sporco):
    y32, d32 = y.astype(np.float32), d.astype(np.float32)
    runners = {}
    if have_sporco:
        runners["SPORCO ConvBPDN"] = lambda n: sporco(y, d, n)
    runners.update({"ours ADMM": lambda n: ours(y, d, "admm", n),
                    "ours FISTA": lambda n: ours(y, d, "fista", n),
                    "ours ADMM float32": lambda n: ours(y32, d32, "admm", n),
                    "ours FISTA float32": lambda n: ours(y32, d32, "fista", n)})
    return runners


def run(quick=False, rounds=3, block_time=0.0, log=sys.stderr):
    """All three measurements; returns a dict for :func:`report`."""
    from . import _time_interleaved
    from ..threads import get_num_threads, keep_freed_memory
    t_start = time.perf_counter()
    load = os.getloadavg() if hasattr(os, "getloadavg") else (math.nan,) * 3
    kept = keep_freed_memory()                 # for both libraries alike
    size = QUICK["size"] if quick else 512
    equal = QUICK["equal"] if quick else EQUAL
    y, d = data(size)
    try:
        from sporco import __version__ as sporco_version
        have_sporco = True
    except ImportError:
        have_sporco, sporco_version = False, None
    runners = _runners(y, d, have_sporco)
    print(f"equal iterations ({equal}), {rounds} rounds ...", file=log, flush=True)
    per_call = _time_interleaved({k: (lambda f=f: f(equal)) for k, f in runners.items()},
                                 rounds, block_time)
    histories = {}
    for name in runners:
        n = QUICK["history"] if quick else HISTORY[name]
        print(f"history: {name}, {n} iterations ...", file=log, flush=True)
        if name.startswith("SPORCO"):
            _, f, t = sporco(y, d, n, history=True)
        else:
            yy, dd = (y, d) if "float32" not in name else (y.astype(np.float32),
                                                           d.astype(np.float32))
            _, f, t = ours(yy, dd, "admm" if "ADMM" in name else "fista", n, history=True)
        histories[name] = (f, t)
    check = agreement(y, d) if have_sporco else None
    return dict(size=size, equal=equal, rounds=rounds, load=load, kept=kept,
                threads=get_num_threads(), sporco=sporco_version,
                per_iteration={k: v / equal for k, v in per_call.items()},
                histories=histories, agreement=check,
                seconds=time.perf_counter() - t_start)


def time_to(history, target):
    """``(iterations, seconds)`` of the first iterate at or below ``target``, or None."""
    f, t = history
    for i, value in enumerate(f):
        if value <= target:
            return i + 1, t[i]
    return None


def report(result):
    """The Markdown write-up of :func:`run`'s result."""
    hist = result["histories"]
    f_star = min(min(f) for f, _ in hist.values() if f)
    ref = "SPORCO ConvBPDN" if "SPORCO ConvBPDN" in hist else None
    load = ", ".join(f"{x:.2f}" for x in result["load"])
    n = result["size"]
    lines = [
        "# Convolutional sparse coding against SPORCO's ConvBPDN", "",
        "`deconvkit bench --sparse --markdown benchmarks/sparse.md` "
        "(src/deconvkit/bench/sparse.py).", "",
        f"Problem: scikit-image's camera {n} x {n}, scaled to [0, 1], high-passed (minus "
        f"its periodic Gaussian blur, sigma {SIGMA:g}); {FILTERS} random unit-norm "
        f"{KERNEL} x {KERNEL} filters (seed 0); lam = {LAM}; circular boundary. SPORCO "
        f"{result['sporco'] or '(not installed)'} ConvBPDN with its defaults (AutoRho, "
        "relaxation 1.8, pyFFTW), RelStopTol 0; ours with tol=0, scipy.fft, the maps in "
        f"blocks on {result['threads']} threads. Freed memory kept in the process for both: "
        f"{result['kept']}.", "",
        f"Machine: {os.cpu_count()} cores; load average at the start (1, 5, 15 min): {load}. "
        f"Whole run {result['seconds']:.0f} s.", "",
        f"## Equal iterations ({result['equal']} per solve, setup included; medians of "
        f"blocks of consecutive solves over {result['rounds']} rounds)", "",
        "| solver | s / iteration | SPORCO / this |", "|---|---|---|"]
    per = result["per_iteration"]
    for name, s in per.items():
        ratio = f"{per[ref] / s:.2f}x" if ref else "-"
        lines.append(f"| {name} | {s:.4f} | {ratio} |")
    lines += ["", "## Objective after equal iterations (from the histories)", "",
              "| solver | " + " | ".join(f"after {k}" for k in (10, 50, 100, 120)) + " |",
              "|---|" + "---|" * 4]
    for name, (f, _) in hist.items():
        cells = [f"{f[k - 1]:.6f}" if len(f) >= k else "-" for k in (10, 50, 100, 120)]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", f"f* = {f_star:.9f} (the least objective of all runs; iterations run: "
              + ", ".join(f"{k} {len(f)}" for k, (f, _) in hist.items()) + ").", "",
              "## Time to reach f* (1 + rtol), from before the solver's setup", "",
              "| solver | " + " | ".join(f"rtol {r:g}: iterations, s, SPORCO / this"
                                         for r in RTOLS) + " |",
              "|---|" + "---|" * len(RTOLS)]
    for name, h in hist.items():
        cells = []
        for r in RTOLS:
            hit, base = time_to(h, f_star * (1 + r)), ref and time_to(hist[ref], f_star * (1 + r))
            if hit is None:
                cells.append(f"not in {len(h[0])} it ({h[1][-1]:.1f} s)")
                continue
            ratio = f"{base[1] / hit[1]:.2f}x" if base else \
                (f"> {hist[ref][1][-1] / hit[1]:.2f}x" if ref else "-")
            cells.append(f"{hit[0]}, {hit[1]:.2f}, {ratio}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    if result["agreement"]:
        reported, ours_f = result["agreement"]
        lines += ["", f"Same problem: SPORCO's reported objective after 10 iterations "
                  f"(AuxVarObj, on Y) {reported:.12f}; ours evaluated on its solution "
                  f"{ours_f:.12f} (relative difference {abs(ours_f / reported - 1):.1e})."]
    return "\n".join(lines) + "\n"


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    text = report(run(quick="--quick" in argv))
    print(text)
