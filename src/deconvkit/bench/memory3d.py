"""Peak memory of a restoration, measured in a fresh process.

:func:`peak_of_runner` runs one runner of :mod:`deconvkit.bench.volume3d` in a child
Python: imports, inputs loaded, one call on a small crop (so lazy imports and one-time
set-ups are not charged), then the peak resident size is reset (Linux
``/proc/self/clear_refs`` 5), the resident size read as the baseline, the restoration
run once, and ``VmHWM - baseline`` reported: the memory the call itself needed,
including its output. The child uses glibc's default allocator settings.

:func:`out_of_core` restores a volume stored as Zarr, larger than a memory budget, with
``deconvkit.restoration.tiled(..., out=zarr)`` in a child whose address space is limited
(``RLIMIT_AS``) to the budget; the observation is written chunk by chunk, so neither
process ever holds the volume.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np

__all__ = ["peak_of_runner", "out_of_core", "baseline", "status"]

MB = 2**20


def status():
    """``{VmRSS, VmHWM, VmSize, VmPeak}`` of this process in bytes (Linux), else ``{}``."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            return {line.split(":")[0]: int(line.split()[1]) * 1024 for line in f
                    if line.startswith("Vm")}
    except OSError:
        return {}


def _reset_peak():
    with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
        f.write("5")


def _child_env():
    env = dict(os.environ)
    src = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)
    return env


def _run_child(code, args, limit=None, timeout=3600):
    """Run ``code`` (which reads ``json`` from argv[1]) in a fresh Python; its last
    stdout line is JSON."""
    cmd = [sys.executable, "-c", code, json.dumps(args)]
    env = _child_env()
    if limit is not None:
        env["MALLOC_ARENA_MAX"] = "2"   # one 64 MiB arena reservation per thread otherwise
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout,
                          preexec_fn=None if limit is None else _limiter(limit))
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise RuntimeError(f"child exited with {proc.returncode}: " + " | ".join(tail))
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _limiter(nbytes):
    def limit():
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (nbytes, nbytes))
    return limit


# ---------------------------------------------------------------- one runner's peak
_RUNNER_CHILD = """
import json, sys
import numpy as np
from deconvkit.bench import memory3d, volume3d
a = json.loads(sys.argv[1])
data = np.load(a["inputs"])
g, psf = data["g"], data["psf"]
extra = {}
if a.get("out"):
    extra = dict(out=a["out"], overwrite=True)
crop = tuple(slice(0, min(n, 2 * k)) for n, k in zip(g.shape, psf.shape))
volume3d.runner(a["name"], np.ascontiguousarray(g[crop]), psf, 1, a["chunks"],
                a["scheduler"], **extra)()
fn = volume3d.runner(a["name"], g, psf, a["iterations"], a["chunks"], a["scheduler"], **extra)
memory3d._reset_peak()
base = memory3d.status()["VmRSS"]
f = fn()
s = memory3d.status()
print(json.dumps(dict(baseline=base, peak=s["VmHWM"] - base, shape=list(np.shape(f)))))
"""


def peak_of_runner(name, inputs, iterations, chunks=None, scheduler="threads", out=None):
    """``{baseline, peak, shape}`` (bytes) of one call of runner ``name`` on the ``g``
    and ``psf`` saved in the ``.npz`` file ``inputs``; ``out``: a Zarr path for tiled."""
    return _run_child(_RUNNER_CHILD, dict(name=name, inputs=str(inputs), iterations=iterations,
                                          chunks=chunks, scheduler=scheduler,
                                          out=None if out is None else str(out)))


_BASELINE_CHILD = """
import json, sys
import numpy as np, scipy.fft, dask.array, zarr
import deconvkit.restoration
from deconvkit.bench import memory3d
s = memory3d.status()
print(json.dumps(dict(rss=s["VmRSS"], size=s["VmSize"])))
"""


def baseline():
    """Resident and virtual size of a Python that has imported NumPy, SciPy, Dask, Zarr
    and deconvkit's restoration: the floor any budget must leave room for."""
    return _run_child(_BASELINE_CHILD, {})


# ---------------------------------------------------------------- out of core
def write_observation(path, shape, psf, chunks, name="out-of-core"):
    """Write ``g``, a blurred and noisy synthetic volume of ``shape`` (float32), to the
    Zarr store ``path`` chunk by chunk: each chunk's scene is drawn from its own seed,
    the blur crosses chunk borders (``map_overlap``, reflected at the volume's edges)."""
    import dask
    import dask.array as da
    from .restoration_quality import seed_of
    from .volume3d import NOISE, scene

    def truth_block(block_info=None):
        info = block_info[None]
        return scene(info["chunk-shape"], seed_of("3d", name, info["chunk-location"]))

    def observe_block(x, block_info=None):
        from scipy.signal import fftconvolve
        y = fftconvolve(x, psf.astype(np.float32), mode="same")
        rng = np.random.default_rng(seed_of("3d noise", name, block_info[0]["chunk-location"]))
        y += NOISE * rng.standard_normal(y.shape, dtype=np.float32)
        return np.maximum(y, 0, out=y)

    truth = da.map_blocks(truth_block, dtype=np.float32,
                          chunks=da.core.normalize_chunks(chunks, shape))
    g = truth.map_overlap(observe_block, depth=tuple(k // 2 for k in psf.shape),
                          boundary="reflect", dtype=np.float32)
    with dask.config.set(scheduler="threads"):
        g.to_zarr(str(path), overwrite=True)


_TILED_CHILD = """
import json, sys
import numpy as np
import dask.array as da, zarr
from deconvkit.bench import memory3d
from deconvkit.restoration import tiled
a = json.loads(sys.argv[1])
base = memory3d.status()
psf = np.asarray(a["psf"], dtype=np.float64)
g = da.from_zarr(a["g"])
tiled(g, psf, "richardson_lucy", chunks=tuple(a["chunks"]), out=a["out"], overwrite=True,
      scheduler="threads", iterations=a["iterations"])
f = zarr.open_array(a["out"], mode="r")
s = memory3d.status()
print(json.dumps(dict(baseline=base["VmRSS"], baseline_size=base["VmSize"], peak=s["VmHWM"],
                      peak_size=s["VmPeak"], shape=list(f.shape),
                      sample=float(np.asarray(f[tuple(n // 2 for n in f.shape)])))))
"""


def out_of_core(folder, shape, psf, chunks, budget, iterations):
    """Restore a Zarr volume of ``shape`` written to ``folder`` with tiled Richardson–Lucy
    into another Zarr store, in a child limited to ``budget`` bytes of address space;
    ``{volume, budget, baseline, baseline_size, peak, peak_size, seconds, ...}``."""
    import time
    g_path, out_path = os.path.join(folder, "g.zarr"), os.path.join(folder, "f.zarr")
    t0 = time.perf_counter()
    write_observation(g_path, shape, psf, chunks)
    t1 = time.perf_counter()
    result = _run_child(_TILED_CHILD, dict(g=g_path, out=out_path, psf=psf.tolist(),
                                           chunks=list(chunks), iterations=iterations),
                        limit=budget)
    result.update(volume=int(np.prod(shape)) * 4, budget=budget, shape=list(shape),
                  chunks=list(chunks), iterations=iterations, write_seconds=t1 - t0,
                  seconds=time.perf_counter() - t1, limit="RLIMIT_AS (address space)")
    return result
