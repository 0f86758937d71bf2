"""The restoration benchmark: quality and speed of deconvkit's methods against scikit-image.

:func:`run` measures, in one process, the quality table
(:mod:`deconvkit.bench.restoration_quality`) and the Richardson–Lucy speed table
(:mod:`deconvkit.bench.restoration_speed`), and :func:`report` writes both as Markdown
with every target stated and marked met or not met with the measured figure.
``deconvkit bench --restoration`` runs it; ``quick=True`` is the small version for tests.
"""

from __future__ import annotations

import os
import platform
import sys
import time

import numpy as np

from ..threads import available_cores, get_num_threads
from . import machine
from . import restoration_quality as quality
from . import restoration_speed as speed

__all__ = ["run", "report", "targets"]

QUICK_SIZE = 128


def run(quick=False, rounds=5, block_time=1.0, out=None, log=sys.stderr):
    """Measure quality and speed; print :func:`report` to ``out`` (default stdout) and
    return the measurements (``header``, ``quality``, ``speed``)."""
    from ..threads import keep_freed_memory
    t0 = time.perf_counter()
    kept = keep_freed_memory()   # for both libraries alike: no page faults per FFT
    header = _header(quick)
    header["keep_freed_memory"] = kept
    size = QUICK_SIZE if quick else 512
    psfs = ["box 5x5", "motion 15 px"] if quick else None
    noises = (0.01,) if quick else quality.NOISES
    rows, note = quality.run(size, psfs, noises, log=log)
    header["quality_note"] = note
    timings = speed.run(quick, rounds, block_time, log=log)
    header["load_after"] = _load()
    header["seconds"] = time.perf_counter() - t0
    result = dict(header=header, quality=rows, speed=timings)
    print(report(result), file=sys.stdout if out is None else out, flush=True)
    return result


def _load():
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def _cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _header(quick):
    import scipy
    import skimage
    return dict(quick=quick, cpu=_cpu_model(), cores=available_cores(),
                fft_workers=os.cpu_count(), pool=get_num_threads(),
                gemm=machine.gemm_gflops(256 if quick else 1024),
                bandwidth=machine.bandwidth_gbs(16 if quick else 256),
                versions=f"NumPy {np.__version__}, SciPy {scipy.__version__}, "
                         f"scikit-image {skimage.__version__}",
                load_before=_load())


# ---------------------------------------------------------------- targets
def targets(result):
    """``[(text, met or None, measured)]``: quality targets, then speed targets."""
    return quality.targets(result["quality"]) + _speed_targets(result["speed"])


def _speed_targets(s):
    out = []
    for row in s["equal"]:
        ratio = row["times"]["skimage"] / row["times"]["ours"]
        dpsnr = row["psnr"]["ours"] - row["psnr"]["skimage"]
        out.append((f"RL {row['case']}, ours boundary={row['boundary']}: ours >= 2.5x "
                    f"faster than skimage at "
                    f"{row['iterations']} iterations, with equal or better PSNR",
                    ratio >= 2.5 and dpsnr >= 0, f"{ratio:.2f}x, PSNR {dpsnr:+.2f} dB"))
    for acc in s["accelerated"]:
        out.append(_accelerated_target(acc))
    band = {(r["method"], r["iterations"]): r["band"] for r in s["band"]}
    lo, hi = speed.BAND_ITERATIONS
    for method in ("ours, boundary=reflect", "ours, boundary=none"):
        d = band[(method, hi)] - band[(method, lo)]
        out.append((f"{method}: no PSNR loss in the {s['band'][0]['width']}-px border band "
                    f"from {lo} to {hi} iterations", d >= 0,
                    f"{band[(method, lo)]:.2f} -> {band[(method, hi)]:.2f} dB ({d:+.2f})"))
    return out


def _accelerated_target(acc):
    where = "full frame" if not acc["margin"] else f"{acc['margin']} px in from the edges"
    text = f"accelerated RL (boundary={acc['boundary']}) reaches skimage's best PSNR " \
           f"(iterations 1..{speed.MAX_ITERATIONS}, {where}) >= 5x sooner in wall time"
    ratio = acc["times"]["skimage"] / acc["times"]["ours"]
    if acc["ours_iterations"] is None:
        return text, False, (f"not reached in {speed.MAX_ITERATIONS} iterations: ours' best "
                             f"{acc['ours_psnr']:.2f} dB (at {acc['ours_best_iterations']}) vs "
                             f"{acc['skimage_psnr']:.2f} dB; to their own best, {ratio:.2f}x")
    return text, ratio >= 5, (f"{ratio:.2f}x, {acc['ours_iterations']} vs "
                              f"{acc['skimage_iterations']} iterations")


def _target_lines(items):
    mark = {True: "**met**", False: "**not met**", None: "not measured"}
    return [f"- {text}: {mark[met]} ({measured})" for text, met, measured in items]


# ---------------------------------------------------------------- report
def report(result):
    """Markdown: the header, the quality table with averages, the speed tables, targets."""
    h = result["header"]
    command = "deconvkit bench --restoration" + (" --quick" if h["quick"] else "") + \
        " --markdown benchmarks/restoration.md --overwrite"
    lines = [f"# Restoration benchmark{' (quick)' if h['quick'] else ''}", "",
             f"Reproduce with `{command}` (one process, about {h['seconds'] / 60:.0f} "
             "minute(s) here).", "",
             f"Machine: {h['cpu']}, {h['cores']} core(s) available; float32 GEMM "
             f"{h['gemm']:.0f} GFLOP/s, copy bandwidth {h['bandwidth']:.1f} GB/s; "
             f"{h['versions']}.",
             f"Threads: deconvkit's FFTs `scipy.fft` workers=-1 ({h['fft_workers']} "
             f"threads), deconvkit pool {h['pool']}; scikit-image's `scipy.signal.convolve` "
             "FFTs run on 1 thread. Freed memory kept in the process for both "
             f"(`keep_freed_memory`): {'yes' if h.get('keep_freed_memory') else 'no'}.",
             f"1-minute load average {h['load_before']:.2f} before, {h['load_after']:.2f} "
             f"after; the whole run took {h['seconds']:.0f} s.", ""]
    lines += _quality_section(result["quality"], h.get("quality_note"))
    lines += _speed_section(result["speed"])
    lines += ["## Targets", ""] + _target_lines(targets(result))
    return "\n".join(lines) + "\n"


def _quality_section(rows, note):
    q = quality
    lines = ["## Quality", "",
             "camera() as float64 in [0, 1]; PSNR and SSIM with data_range 1 on the full frame. "
             "circular: periodic blur of the truth + noise. cropped: 'valid' blur of the "
             "scene + noise, scored against the scene's crop under the frame. Richardson–Lucy "
             f"runs {q.RL_ITERATIONS} iterations in both libraries. skimage wiener's balance "
             f"is the best of {len(q.BALANCES)} log-spaced values 1e-4..10 by PSNR against the "
             "truth (not available to a user); unsupervised_wiener is seeded. skimage's "
             "filters run with clip=False.", ""]
    if note:
        lines += [f"Skipped: {note}.", ""]
    lines += ["| setting | PSF | noise | method | PSNR dB | SSIM | note |",
              "|---|---|---:|---|---:|---:|---|"]
    for r in rows:
        lines.append(f"| {r['setting']} | {r['psf']} | {r['sigma']:g} | {r['method']} | "
                     f"{r['psnr']:.2f} | {r['ssim']:.3f} | {_note(r['info'])} |")
    lines += ["", "Averages per setting:", "", "| setting | method | mean PSNR dB | mean SSIM "
              "| cases |", "|---|---|---:|---:|---:|"]
    for (setting, method), (p, s, n) in q.averages(rows).items():
        lines.append(f"| {setting} | {method} | {p:.2f} | {s:.3f} | {n} |")
    return lines + [""]


def _note(info):
    parts = []
    if info.get("balance") is not None:
        parts.append(f"balance {info['balance']:.3g}")
    if info.get("lam") is not None:
        parts.append(f"lam {info['lam']:.3g}")
    if info.get("non-finite"):
        parts.append("NaN or inf in the output")
    return ", ".join(parts)


def _speed_section(s):
    lines = ["## Speed (Richardson–Lucy, float32)", "",
             "Blocks of consecutive calls, interleaved round by round, medians; ratio = "
             "skimage time / ours (> 1: ours faster). Data: periodic blur + noise 0.01, "
             "clipped at 0; ours with its default boundary (reflect: FFTs on the grid padded "
             "by the PSF) and with periodic (the data's own model: FFTs on the image's grid), "
             "skimage richardson_lucy(clip=False) (zero padding). PSNR against the truth, "
             "full frame. Freed memory is kept in the process for both "
             "(deconvkit.threads.keep_freed_memory).",
             "", "| case | ours boundary | iterations | ours ms | skimage ms | skimage / ours "
             "| ours PSNR | skimage PSNR |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in s["equal"]:
        t, p = r["times"], r["psnr"]
        lines.append(f"| {r['case']} | {r['boundary']} | {r['iterations']} | "
                     f"{t['ours'] * 1e3:.1f} | "
                     f"{t['skimage'] * 1e3:.1f} | {t['skimage'] / t['ours']:.2f}x | "
                     f"{p['ours']:.2f} | {p['skimage']:.2f} |")
    a0 = s["accelerated"][0]
    lines += ["", f"To scikit-image's best PSNR over iterations 1..{speed.MAX_ITERATIONS} "
              f"({a0['case']}); skimage's iterates are traced step by step (its best one "
              "matches its own function to the relative error shown); ours accelerated "
              "takes the fewest iterations that reach that PSNR:", "",
              "| scored on | replica error | runner | iterations | PSNR | ms | "
              "skimage / ours |", "|---|---:|---|---:|---:|---:|---:|"]
    for a in s["accelerated"]:
        where = "full frame" if not a["margin"] else f"{a['margin']} px in"
        t = a["times"]
        runner = f"ours, accelerate=True, boundary={a['boundary']}"
        if a["ours_iterations"] is None:
            runner += " (does not reach it; its own best)"
        lines.append(f"| {where} | {a['replica_error']:.1e} | skimage (its best) | "
                     f"{a['skimage_iterations']} | {a['skimage_psnr']:.2f} | "
                     f"{_ms(t['skimage'])} | |")
        lines.append(f"| {where} | | {runner} | {a['ours_best_iterations']} | "
                     f"{a['ours_psnr']:.2f} | {_ms(t['ours'])} | "
                     f"{t['skimage'] / t['ours']:.2f}x |")
    b = s["band"]
    lines += ["", f"Border band: PSNR within {b[0]['width']} px of the frame of a cropped case "
              f"(gaussian s=2, noise 0.01, g {b[0]['shape'][0]}x{b[0]['shape'][1]}):", "",
              "| method | iterations | band PSNR | full-frame PSNR |", "|---|---:|---:|---:|"]
    for r in b:
        lines.append(f"| {r['method']} | {r['iterations']} | {r['band']:.2f} | {r['full']:.2f} |")
    return lines + [""]


def _ms(t):
    return "-" if t is None else f"{t * 1e3:.1f}"
