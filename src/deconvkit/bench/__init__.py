"""The speed suite: deconvkit against PyTorch and ONNX Runtime, side by side.

Each case is timed for every runner in one process after a warm-up, interleaved in
blocks round by round, so all runners see the same machine state. Reported: median times, the ratio
peer time / deconvkit time (> 1 means deconvkit is faster), GFLOP/s, the fraction of this
machine's measured float32 GEMM rate (compute-bound cases) or copy bandwidth (memory-bound
cases), deconvkit's peak extra memory (tracemalloc), and agreement of the outputs.
"""

from __future__ import annotations

import math
import statistics
import sys
import time
import tracemalloc

import numpy as np

from ..testing import rel_error
from . import machine, peers
from .cases import CASES, Case

__all__ = ["CASES", "Case", "run", "format_table", "markdown_table"]

INTENSITY = 8.0   # flop per byte above which a case counts as compute-bound


def _time_interleaved(runners, rounds, block_time):
    """Median seconds per call for each runner, measured in interleaved blocks.

    Round after round, each runner makes a block of consecutive calls lasting about
    ``block_time``. The first third of every block is dropped: thread pools of the
    previous runner (OpenBLAS, OpenMP, ONNX Runtime) busy-wait for a while after
    their last call and would otherwise be charged to the next runner.
    """
    reps = {}
    for name, fn in runners.items():
        fn()
        t0 = time.perf_counter()
        fn()
        reps[name] = max(3, math.ceil(block_time / max(time.perf_counter() - t0, 1e-6)))
    kept = {name: [] for name in runners}
    for _ in range(rounds):
        for name, fn in runners.items():
            block = []
            for _ in range(reps[name]):
                t0 = time.perf_counter()
                fn()
                block.append(time.perf_counter() - t0)
            kept[name].extend(block[len(block) // 3:])
    return {name: statistics.median(t) for name, t in kept.items()}


def _peak_extra_bytes(fn):
    """Peak bytes allocated during ``fn()`` beyond what it returns."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    result = fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    kept = sum(np.asarray(a).nbytes for a in (result if isinstance(result, tuple) else (result,)))
    return peak - kept


def run_case(case: Case, rounds=5, block_time=0.5, method="auto"):
    """Time one case; returns a dict row for :func:`format_table`."""
    x, w, dy = case.arrays()
    runners = {"deconvkit": peers.deconvkit_runner(case, x, w, dy, method)}
    notes = {}
    for name, make in peers.PEERS.items():
        fn, why = make(case, x, w, dy)
        if fn is None:
            notes[name] = why
        else:
            runners[name] = fn
    ours = peers.first(runners["deconvkit"]())
    errors = {n: rel_error(ours, peers.first(fn())) for n, fn in runners.items() if n != "deconvkit"}
    medians = _time_interleaved(runners, rounds, block_time)
    return dict(case=case, times=medians, errors=errors, notes=notes,
                extra=_peak_extra_bytes(runners["deconvkit"]))


def run(cases=CASES, rounds=5, block_time=0.5, method="auto", out=sys.stdout):
    """Measure the machine, run every case, print the table row by row; return the rows."""
    gemm, bw = machine.gemm_gflops(), machine.bandwidth_gbs()
    print(f"machine: float32 GEMM {gemm:.0f} GFLOP/s, copy bandwidth {bw:.1f} GB/s; "
          f"deconvkit method={method}", file=out)
    rows = []
    print(_header(), file=out, flush=True)
    for case in cases:
        row = run_case(case, rounds, block_time, method)
        row.update(gemm=gemm, bandwidth=bw)
        rows.append(row)
        print(_line(row), file=out, flush=True)
    for note in sorted({f"{n}: {why}" for r in rows for n, why in r["notes"].items()}):
        print(f"skipped {note}", file=out)
    print(_summary(rows), file=out)
    return rows


def _header():
    return (f"{'case':4} {'about':30} {'deconvkit':>10} {'torch':>9} {'ort':>9} "
            f"{'vs torch':>8} {'vs ort':>7} {'GFLOP/s':>8} {'of peak':>8} {'extra MiB':>9} "
            f"{'max rel err':>11}")


def _fmt_ms(t):
    return f"{t * 1e3:8.2f}ms" if t is not None else f"{'-':>9}"


def _cells(row):
    case, t = row["case"], row["times"]
    ours = t["deconvkit"]
    ratio = {n: (f"{t[n] / ours:.2f}x" if n in t else "-") for n in ("torch", "onnxruntime")}
    gflops = case.flops() / ours / 1e9
    if case.flops() / case.nbytes() >= INTENSITY:
        frac = f"{gflops / row['gemm']:.0%} gemm"
    else:
        frac = f"{case.nbytes() / ours / 1e9 / row['bandwidth']:.0%} bw"
    err = max(row["errors"].values(), default=float("nan"))
    return [case.name, case.about[:30], _fmt_ms(ours).strip(), _fmt_ms(t.get("torch")).strip(),
            _fmt_ms(t.get("onnxruntime")).strip(), ratio["torch"], ratio["onnxruntime"],
            f"{gflops:.1f}", frac, f"{row['extra'] / 2**20:.1f}", f"{err:.1e}"]


_WIDTHS = (-4, -30, 10, 9, 9, 8, 7, 8, 8, 9, 11)


def _line(row):
    return " ".join(c.rjust(w) if w > 0 else c.ljust(-w) for c, w in zip(_cells(row), _WIDTHS))


def _geomean(values):
    values = list(values)
    return float(np.exp(np.mean(np.log(values)))) if values else float("nan")


def _summary(rows):
    parts = []
    for label, prefix in (("forward", "S"), ("backward", "B")):
        ratios = [r["times"]["torch"] / r["times"]["deconvkit"] for r in rows
                  if r["case"].name.startswith(prefix) and "torch" in r["times"]]
        if ratios:
            parts.append(f"{label} {_geomean(ratios):.2f}x over {len(ratios)} case(s)")
    return "geometric mean of torch / deconvkit: " + (", ".join(parts) or "no torch timings")


def format_table(rows):
    """The rows of :func:`run` as text (header, one line per case, summary)."""
    return "\n".join([_header()] + [_line(r) for r in rows] + [_summary(rows)])


def markdown_table(rows):
    """The rows of :func:`run` as a Markdown table, with the machine line and summary."""
    lines = [f"Machine: float32 GEMM {rows[0]['gemm']:.0f} GFLOP/s, copy bandwidth "
             f"{rows[0]['bandwidth']:.1f} GB/s.", "",
             "| case | about | deconvkit | torch | onnxruntime | torch / deconvkit | "
             "ort / deconvkit | GFLOP/s | of peak | extra MiB | max rel err |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        cells = _cells(row)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines + ["", _summary(rows), ""])
