"""Convolutional sparse coding against SPORCO's ConvBPDN: objective and time.

``python -m deconvkit.bench.sparse [OUT.md]`` codes scikit-image's camera (256 x 256,
scaled to [0, 1], high-passed by subtracting a periodic Gaussian blur of sigma 4) with
SPORCO's shipped 32-filter 8 x 8 dictionary ``G:8x8x32`` (random unit filters if SPORCO is
absent) at ``lam = 0.1``, circular boundary, float64. Rows: equal iterations (200), then the
time each solver needs to reach ``f* (1 + 1e-3)``, ``f*`` the best objective of a long FISTA
run. Times: the best of ``REPEATS`` equal-iteration runs in this process; the time to the
target is that run's time per iteration times the iterations each solver needs.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from ..sparse import code, objective

LAM, ITERATIONS, LONG, REPEATS, RTOL = 0.1, 100, 400, 1, 1e-3


def data():
    """``(y, filters, source)``: the high-passed camera and the dictionary."""
    from scipy.ndimage import gaussian_filter
    from skimage import data as skdata
    img = skdata.camera().astype(np.float64) / 255.0
    y = (img - gaussian_filter(img, 4.0, mode="wrap"))[None, None]
    try:
        from sporco import util
        d = util.convdicts()["G:8x8x32"]
        return y, np.ascontiguousarray(np.moveaxis(d, -1, 0)[:, None]), "SPORCO G:8x8x32"
    except ImportError:
        rng = np.random.default_rng(0)
        d = rng.standard_normal((32, 1, 8, 8))
        d /= np.linalg.norm(d.reshape(32, -1), axis=1)[:, None, None, None]
        return y, d, "random unit 8x8 x32"


def sporco_run(y, d, iterations):
    """SPORCO's ConvBPDN (its defaults, no stopping tolerance): ``(z, seconds)``."""
    from sporco.admm import cbpdn
    opt = cbpdn.ConvBPDN.Options({"MaxMainIter": iterations, "RelStopTol": 0.0,
                                  "Verbose": False})
    t0 = time.perf_counter()
    solver = cbpdn.ConvBPDN(np.moveaxis(d[:, 0], 0, -1), y[0, 0], LAM, opt)
    coef = solver.solve()
    seconds = time.perf_counter() - t0
    return np.moveaxis(coef.reshape(y.shape[2:] + (d.shape[0],)), -1, 0)[None], seconds


def ours_run(y, d, iterations, method):
    t0 = time.perf_counter()
    z, info = code(y, d, LAM, boundary="circular", method=method, iterations=iterations,
                   tol=0.0, full_output=True)
    return z, time.perf_counter() - t0, info["objective"]


def best_of(fn):
    runs = [fn() for _ in range(REPEATS)]
    return min(runs, key=lambda r: r[1])


def sporco_history(y, d, iterations):
    """SPORCO's objective on its sparse variable after each iteration (AuxVarObj)."""
    from sporco.admm import cbpdn
    opt = cbpdn.ConvBPDN.Options({"MaxMainIter": iterations, "RelStopTol": 0.0,
                                  "Verbose": False, "AuxVarObj": True})
    solver = cbpdn.ConvBPDN(np.moveaxis(d[:, 0], 0, -1), y[0, 0], LAM, opt)
    solver.solve()
    return list(solver.getitstat().ObjFun)


def first_below(history, target):
    hits = [i + 1 for i, f in enumerate(history) if f <= target]
    return hits[0] if hits else None


def run():
    y, d, source = data()
    rows, have_sporco = [], True
    try:
        sporco_run(y, d, 5)                                   # warm-up: plans, imports
    except ImportError:
        have_sporco = False
    solvers = {"ours FISTA": lambda n: ours_run(y, d, n, "fista")[:2],
               "ours ADMM": lambda n: ours_run(y, d, n, "admm")[:2]}
    histories = {"ours FISTA": ours_run(y, d, LONG, "fista")[2],
                 "ours ADMM": ours_run(y, d, LONG, "admm")[2]}
    if have_sporco:
        solvers["SPORCO ConvBPDN"] = lambda n: sporco_run(y, d, n)
        histories["SPORCO ConvBPDN"] = sporco_history(y, d, LONG)
    f_star = min(histories["ours FISTA"][-1], histories["ours ADMM"][-1])
    target = f_star * (1 + RTOL)
    for name, fn in solvers.items():
        z, seconds = best_of(lambda: fn(ITERATIONS))
        f = objective(y, d, z, LAM, boundary="circular")
        n = first_below(histories[name], target)
        to_target = seconds * n / ITERATIONS if n else None     # at the measured rate
        rows.append((name, f, seconds, n, to_target, np.count_nonzero(z) / z.size))
    return source, f_star, rows


def report(source, f_star, rows):
    lines = [f"Camera 256x256 (high-passed), {source}, lam={LAM}, circular, float64.",
             f"f* = {f_star:.6f} (best of {LONG}-iteration FISTA and ADMM runs); target "
             f"f*(1+{RTOL:g}) = {f_star * (1 + RTOL):.6f}.", "",
             f"| solver | objective after {ITERATIONS} it | rel. to f* | time {ITERATIONS} it "
             f"(s) | its to target | time to target (s) | nonzero |",
             "|---|---|---|---|---|---|---|"]
    for name, f, seconds, n, t, nnz in rows:
        lines.append(f"| {name} | {f:.6f} | {f / f_star - 1:.2e} | {seconds:.2f} | "
                     f"{n if n else f'> {LONG}'} | {f'{t:.2f}' if t else '-'} | {nnz:.4f} |")
    return "\n".join(lines)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    text = report(*run())
    print(text)
    if argv:
        with open(argv[0], "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
