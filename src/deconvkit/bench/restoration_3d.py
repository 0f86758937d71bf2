"""The 3-D Richardson–Lucy benchmark: deconvkit (whole volume and tiled) against
scikit-image and RedLionfish's CPU path, and the memory of tiled restoration.

:func:`run` measures, at equal iterations on the volume of :mod:`deconvkit.bench.volume3d`,
the time per iteration of every runner (blocks of consecutive calls interleaved round by
round in this process, medians), the PSNR against the truth (full volume and interior),
and each runner's peak memory in a fresh process (:mod:`deconvkit.bench.memory3d`); then
restores a Zarr volume larger than a memory budget chunk by chunk in a process limited to
that budget. :func:`report` writes it all as Markdown with the targets marked met or not.
``deconvkit bench --restoration-3d`` runs it; ``quick=True`` is the small version for tests.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time

import numpy as np

from ..restoration.metrics import psnr
from . import _time_interleaved, memory3d
from . import volume3d as v3
from .restoration import _cpu_model, _load

__all__ = ["run", "report", "targets", "OUT_OF_CORE", "QUICK_OUT_OF_CORE"]

OUT_OF_CORE = dict(shape=(512, 1024, 1024), chunks=(64, 128, 128), budget=1280 * 2**20,
                   iterations=10)
QUICK_OUT_OF_CORE = dict(shape=(32, 64, 64), chunks=(32, 32, 32), budget=768 * 2**20,
                         iterations=2)
"""The volume restored chunk by chunk (float32: 2 GiB; 512 KiB quick), its chunks, and
the address-space budget of the process doing it (1.25 GiB, below the volume), and the
Richardson–Lucy iterations (10: the 2 GiB restoration takes minutes on 2 cores). Quick's
budget is above its volume: Python, NumPy and Dask alone take about 330 MiB of address
space. Measured before: the 1 GiB volume peaked at 588 MB resident (105 MB of it the
baseline), bounded by the few output blocks written at a time, not by the volume."""


def run(quick=False, rounds=3, iterations=v3.ITERATIONS, out=None, log=sys.stderr):
    """Measure everything; print :func:`report` to ``out`` (default stdout) and return
    ``header``, ``rows`` and ``out_of_core``."""
    from ..threads import keep_freed_memory
    t0 = time.perf_counter()
    header = _header(quick, iterations, keep_freed_memory())
    shape = v3.QUICK_SHAPE if quick else v3.SHAPE
    psf = v3.make_psf()
    g, truth = v3.observe(shape, psf)
    header.update(shape=shape, psf_shape=psf.shape, blurred=_scores(truth, g, psf))
    names, skipped = _available()
    header["skipped"] = skipped
    chunks = v3.QUICK_CHUNKS if quick else v3.CHUNKS
    header["chunks"] = chunks
    with _scheduler(quick) as (scheduler, about):
        header["scheduler"] = about
        rows = _speed_rows(names, g, psf, truth, iterations, chunks, scheduler,
                           1 if quick else rounds, log)
    _add_peaks(rows, g, psf, iterations, chunks, log)
    header["load_after"] = _load()
    ooc = None
    if "ours, tiled" in names:
        print("3-D: out of core", file=log, flush=True)
        ooc = _out_of_core(QUICK_OUT_OF_CORE if quick else OUT_OF_CORE, psf)
    header["seconds"] = time.perf_counter() - t0
    result = dict(header=header, rows=rows, out_of_core=ooc)
    print(report(result), file=sys.stdout if out is None else out, flush=True)
    return result


def _available():
    """The runners that can run here, and why the others cannot."""
    why = {"ours, tiled": None if v3.tiled_available() else
           "ours, tiled: deconvkit.restoration.tiled is not available",
           "RedLionfish CPU": None if v3.redlionfish_available() else
           "RedLionfish CPU: RedLionfishDeconv is not installed"}
    names = [n for n in v3.RUNNERS if why.get(n) is None]
    return names, "; ".join(w for w in why.values() if w)


def _header(quick, iterations, kept):
    import dask
    import scipy
    import skimage
    versions = f"NumPy {np.__version__}, SciPy {scipy.__version__}, scikit-image " \
               f"{skimage.__version__}, Dask {dask.__version__}"
    if v3.redlionfish_available():
        from importlib.metadata import version
        versions += f", RedLionfish {version('RedLionfish')}"
    from ..threads import available_cores
    return dict(quick=quick, iterations=iterations, cpu=_cpu_model(), cores=available_cores(),
                versions=versions, keep_freed_memory=kept, load_before=_load())


class _scheduler:
    """A 2-worker LocalCluster on 127.0.0.1 (dashboard off) for the tiled runner, or the
    threaded scheduler when distributed cannot start one (or in quick mode)."""

    def __init__(self, quick):
        self.quick, self.client = quick, None

    def __enter__(self):
        if self.quick:
            return "threads", "Dask's threaded scheduler (quick mode)"
        try:
            from dask.distributed import Client, LocalCluster
            cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                   host="127.0.0.1", dashboard_address=None)
            self.client = Client(cluster)
        except Exception as error:   # noqa: BLE001 - any failure: say so, use threads
            return "threads", f"Dask's threaded scheduler (no LocalCluster: {error})"
        return self.client, "a LocalCluster of 2 worker processes x 1 thread on 127.0.0.1"

    def __exit__(self, *exc):
        if self.client is not None:
            cluster = self.client.cluster
            self.client.close()
            cluster.close()


def _scores(truth, f, psf):
    inner = v3.interior(truth.shape, psf)
    return dict(full=psnr(truth, f, data_range=1.0),
                interior=psnr(truth[inner], f[inner], data_range=1.0))


def _speed_rows(names, g, psf, truth, iterations, chunks, scheduler, rounds, log):
    runners = {n: v3.runner(n, g, psf, iterations, chunks, scheduler) for n in names}
    rows = []
    for name, fn in runners.items():
        print(f"3-D: {name}, {iterations} iterations", file=log, flush=True)
        f = fn()
        rows.append(dict(name=name, shape=tuple(np.shape(f)), dtype=str(f.dtype),
                         psnr=_scores(truth, np.asarray(f), psf)))
    print(f"3-D: timing, {rounds} round(s)", file=log, flush=True)
    times = _time_interleaved(runners, rounds, 0.0)
    for row in rows:
        row["seconds"] = times[row["name"]]
        row["per_iteration"] = times[row["name"]] / iterations
    return rows


def _add_peaks(rows, g, psf, iterations, chunks, log):
    """Each runner's peak in a fresh process (tiled: threaded scheduler, 2 threads, into
    memory and into a Zarr store)."""
    folder = tempfile.mkdtemp(prefix="deconvkit-3d-")
    try:
        inputs = os.path.join(folder, "inputs.npz")
        np.savez(inputs, g=g, psf=psf)
        for row in list(rows):
            print(f"3-D: peak memory, {row['name']}", file=log, flush=True)
            row["peak"] = memory3d.peak_of_runner(row["name"], inputs, iterations, chunks)
            if row["name"] == "ours, tiled":
                row["peak_zarr"] = memory3d.peak_of_runner(
                    row["name"], inputs, iterations, chunks,
                    out=os.path.join(folder, "f.zarr"))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _out_of_core(setting, psf):
    iterations = setting["iterations"]
    folder = tempfile.mkdtemp(prefix="deconvkit-ooc-")
    try:
        return memory3d.out_of_core(folder, setting["shape"], psf, setting["chunks"],
                                    setting["budget"], iterations)
    except RuntimeError as error:   # the child failed, e.g. MemoryError under the limit
        return dict(setting, volume=int(np.prod(setting["shape"])) * 4, error=str(error),
                    iterations=iterations, limit="RLIMIT_AS (address space)")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# ---------------------------------------------------------------- targets
def _row(result, name):
    return next((r for r in result["rows"] if r["name"] == name), None)


def targets(result):
    """``[(text, met or None, measured)]``."""
    ours, out = _row(result, "ours"), []
    for peer in ("skimage", "RedLionfish CPU"):
        text = f"ours (boundary=reflect) faster per iteration than {peer} at " \
               f"{result['header']['iterations']} iterations with equal or better PSNR " \
               "(full volume and interior)"
        row = _row(result, peer)
        if row is None:
            out.append((text, None, f"{peer} not installed"))
            continue
        ratio = row["per_iteration"] / ours["per_iteration"]
        d = {k: ours["psnr"][k] - row["psnr"][k] for k in ("full", "interior")}
        out.append((text, ratio > 1 and min(d.values()) >= 0,
                    f"{ratio:.2f}x, PSNR {d['full']:+.2f} dB full, {d['interior']:+.2f} dB "
                    "interior"))
    tiled = _row(result, "ours, tiled")
    if tiled is None:
        return out + [("tiled peak memory below a quarter of the whole-volume run's", None,
                       "tiled not available"), ("out of core", None, "tiled not available")]
    for key, how in (("peak", "into memory"), ("peak_zarr", "into a Zarr store")):
        q = tiled[key]["peak"] / ours["peak"]["peak"]
        out.append((f"tiled ({how}) peak memory below a quarter of the whole-volume run's",
                    q < 0.25, f"{q:.2f} of it: {tiled[key]['peak'] / 2**20:.0f} vs "
                              f"{ours['peak']['peak'] / 2**20:.0f} MB"))
    o = result["out_of_core"]
    if "error" in o:
        return out + [("out of core: restored within the budget", False, o["error"])]
    out.append(("out of core: a volume larger than the budget restored within it, peak "
                "resident size below the volume's", o["peak"] < o["volume"] and
                o["budget"] < o["volume"],
                f"{o['peak'] / 2**20:.0f} MB peak, budget {o['budget'] / 2**20:.0f} MiB, "
                f"volume {o['volume'] / 2**20:.3g} MiB"))
    return out


# ---------------------------------------------------------------- report
def report(result):
    """Markdown: how to reproduce, the machine, the case, the tables, the targets."""
    from .restoration import _target_lines
    h = result["header"]
    command = "deconvkit bench --restoration-3d" + (" --quick" if h["quick"] else "") + \
        " --markdown benchmarks/restoration_3d.md --overwrite"
    lines = [f"# 3-D Richardson–Lucy benchmark{' (quick)' if h['quick'] else ''}", "",
             f"Reproduce with `{command}` (one process and its children, about "
             f"{h['seconds'] / 60:.0f} minute(s) here).", "",
             f"Machine: {h['cpu']}, {h['cores']} core(s) available; {h['versions']}. "
             f"1-minute load average {h['load_before']:.2f} before, {h['load_after']:.2f} "
             "after the timings. Freed memory kept in the timing process for every runner "
             f"(`keep_freed_memory`): {'yes' if h['keep_freed_memory'] else 'no'}.", ""]
    lines += _case_lines(h) + _table(result)
    if result["out_of_core"] is not None:
        lines += _ooc_lines(result["out_of_core"], h)
    lines += ["## Targets", ""] + _target_lines(targets(result))
    return "\n".join(lines) + "\n"


def _case_lines(h):
    z, y, x = h["shape"]
    b = h["blurred"]
    return ["## Case", "",
            f"A synthetic {x}x{y}x{z} volume (axes z, y, x = {z}, {y}, {x}; float32; "
            "deterministic seed): cells (a smooth random field, softly thresholded, 0.3) "
            "and beads (up to 1) on a 0.05 background. Observation: the 'valid' blur of a "
            f"scene larger by the PSF (no wrap-around) by a Gaussian PSF sigma "
            f"(z, y, x) = {v3.SIGMA}, {'x'.join(map(str, h['psf_shape']))}, plus Gaussian "
            f"noise {v3.NOISE}, clipped at 0. Blurred input: PSNR {b['full']:.2f} dB full, "
            f"{b['interior']:.2f} dB interior (twice the PSF's half-width in from every "
            "side); data range 1.", "",
            f"Every runner: {h['iterations']} Richardson–Lucy iterations. ours: "
            "`richardson_lucy` (boundary reflect, the default; and periodic). ours, tiled: "
            f"`tiled(g, psf, 'richardson_lucy', chunks={h['chunks']})` on "
            f"{h['scheduler']}. scikit-image: `richardson_lucy(clip=False)` (zero padding, "
            "one-thread FFTs). RedLionfish: `doRLDeconvolutionFromNpArrays(method='cpu')` "
            "(periodic, starts from the data, one-thread `scipy.fft`); its CPU path puts an "
            "odd PSF one voxel off centre on even axes, so it gets ours with a zero plane "
            "before each axis (without: its output is shifted by one voxel).", ""]


def _table(result):
    rows, ours = result["rows"], _row(result, "ours")
    lines = ["## Speed, quality, memory", "",
             "Seconds per iteration: the median call / iterations, calls in blocks of 3 "
             "consecutive calls (first dropped) interleaved round by round in one process. "
             "Ratio: the runner's time / ours (> 1: ours is faster). Peak: the call's peak "
             "resident size above the process's after imports and inputs, in a fresh "
             "process (tiled there on the threaded scheduler, 2 threads); volume = "
             f"{np.prod(ours['shape']) * 4 / 2**20:.3g} MiB.", "",
             "| runner | s / iteration | runner / ours | PSNR dB | PSNR interior dB | "
             "peak MB | peak (volumes) |", "|---|---:|---:|---:|---:|---:|---:|"]
    volume = np.prod(ours["shape"]) * 4
    for r in rows:
        peaks = [("", r["peak"]["peak"])]
        if "peak_zarr" in r:
            peaks.append((" (out= Zarr)", r["peak_zarr"]["peak"]))
        for i, (label, peak) in enumerate(peaks):
            head = [f"{r['name']}{label}", f"{r['per_iteration']:.4f}",
                    f"{r['per_iteration'] / ours['per_iteration']:.2f}x",
                    f"{r['psnr']['full']:.2f}", f"{r['psnr']['interior']:.2f}"]
            if i:
                head = [head[0]] + ["", "", "", ""]
            lines.append("| " + " | ".join(head + [f"{peak / 2**20:.0f}",
                                                   f"{peak / volume:.2f}"]) + " |")
    if result["header"].get("skipped"):
        lines += ["", f"Skipped: {result['header']['skipped']}."]
    return lines + [""]


def _ooc_lines(o, h):
    z, y, x = o["shape"]
    if "error" in o:
        return ["## Larger than memory", "", f"A {x}x{y}x{z} float32 volume under a "
                f"{o['budget'] / 2**20:.0f} MiB address-space limit: failed ({o['error']}).",
                ""]
    return ["## Larger than memory", "",
            f"A {x}x{y}x{z} float32 volume ({o['volume'] / 2**20:.3g} MiB) written to a Zarr "
            f"store chunk by chunk, restored with `tiled(..., 'richardson_lucy', "
            f"chunks={tuple(o['chunks'])}, out=<zarr>, scheduler='threads', "
            f"iterations={o['iterations']})` in a child process whose address space is "
            f"limited to {o['budget'] / 2**20:.0f} MiB ({o['limit']}; no writable cgroup "
            "here; glibc MALLOC_ARENA_MAX=2 in the child).", "",
            "| volume MiB | budget MiB | baseline RSS MB | peak RSS MB | peak / volume | "
            "peak address space MB | write s | restore s |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|",
            f"| {o['volume'] / 2**20:.3g} | {o['budget'] / 2**20:.0f} | "
            f"{o['baseline'] / 2**20:.0f} | {o['peak'] / 2**20:.0f} | "
            f"{o['peak'] / o['volume']:.2f} | {o['peak_size'] / 2**20:.0f} | "
            f"{o['write_seconds']:.0f} | {o['seconds']:.0f} |", "",
            "Baseline: the child's resident size after importing NumPy, Dask, Zarr and "
            "deconvkit. The whole-volume path needs the peak of the table above, in "
            "volumes, on top of its input.", ""]
