"""``deconvkit bench``: the speed suite, with ``--training`` the training throughput, or
with ``--restoration`` the restoration quality and speed against scikit-image, or with
``--restoration-3d`` 3-D Richardson–Lucy and the memory of tiled restoration, or with
``--sparse`` convolutional sparse coding against SPORCO."""

from __future__ import annotations

from .common import MAX_SECONDS, check_output_path, positive_int, seconds, thread_count


def _write_markdown(path, text: str) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote {path}")


def _run_training_bench(args) -> int:
    from ..bench import training

    result = training.run(batch=args.batch or 16, size=args.size or 64, rounds=args.rounds,
                          block_time=args.block_time, method=args.method,
                          threads=args.threads)
    if args.markdown:
        _write_markdown(args.markdown, training.report(result) + "\n")
    return 0


def _run_restoration_bench(args) -> int:
    from ..bench import restoration

    result = restoration.run(quick=args.quick, rounds=args.rounds, block_time=args.block_time)
    if args.markdown:
        _write_markdown(args.markdown, restoration.report(result))
    return 0


def _run_restoration_3d_bench(args) -> int:
    from ..bench import restoration_3d

    result = restoration_3d.run(quick=args.quick, rounds=args.rounds)
    if args.markdown:
        _write_markdown(args.markdown, restoration_3d.report(result))
    return 0


def _run_sparse_bench(args) -> int:
    from ..bench import sparse

    result = sparse.run(quick=args.quick, rounds=args.rounds, block_time=args.block_time)
    text = sparse.report(result)
    print(text)
    if args.markdown:
        _write_markdown(args.markdown, text)
    return 0


def _check_restoration(args, flag="--restoration") -> None:
    """The options that do not apply to ``--restoration`` or ``--restoration-3d`` (one
    line each)."""
    chosen = [name for name, value in (("--training", args.training),
                                       ("--restoration", args.restoration),
                                       ("--restoration-3d", args.restoration_3d),
                                       ("--sparse", args.sparse)) if value]
    if len(chosen) > 1:
        raise ValueError(f"{' and '.join(chosen)} are separate benchmarks: give one")
    given = [name for name, value in (("--cases", args.cases), ("--batch", args.batch),
                                      ("--size", args.size), ("--threads", args.threads))
             if value is not None]
    if args.method != "auto":
        given.append("--method")
    if flag == "--restoration-3d" and args.block_time is not None:
        given.append("--block-time")
    if given:
        verb = "does" if len(given) == 1 else "do"
        raise ValueError(f"{', '.join(given)} {verb} not apply to {flag}")


def run(args) -> int:
    from .. import bench

    if args.quick and not (args.restoration or args.restoration_3d or args.sparse):
        raise ValueError("--quick applies to --restoration and --restoration-3d only, "
                         "and to --sparse")
    if args.restoration or args.restoration_3d or args.sparse:
        _check_restoration(args, "--restoration-3d" if args.restoration_3d else
                           "--sparse" if args.sparse else "--restoration")
    elif args.training:
        if args.cases is not None:
            raise ValueError("--cases does not apply to --training")
    elif (args.batch, args.size, args.threads) != (None, None, None):
        raise ValueError("--batch, --size and --threads apply to --training only")
    if args.block_time is None:
        args.block_time = 0.0 if args.sparse else 0.5
    if args.markdown:  # before any timing: nothing is lost to a path that cannot be written
        check_output_path(args.markdown, "--markdown", overwrite=args.overwrite)
    if args.sparse:
        return _run_sparse_bench(args)
    if args.restoration_3d:
        return _run_restoration_3d_bench(args)
    if args.restoration:
        return _run_restoration_bench(args)
    if args.training:
        return _run_training_bench(args)
    names = None if args.cases is None else [n.strip().upper() for n in args.cases.split(",")]
    known = [c.name for c in bench.CASES]
    if names is not None and not set(names) <= set(known):
        raise ValueError(f"unknown case(s) {sorted(set(names) - set(known))}; known: {known}")
    cases = [c for c in bench.CASES if names is None or c.name in names]
    rows = bench.run(cases, rounds=args.rounds, block_time=args.block_time, method=args.method)
    if args.markdown:
        _write_markdown(args.markdown, bench.markdown_table(rows))
    return 0


def add(subparsers) -> None:
    from ..functional import available_methods

    p = subparsers.add_parser(
        "bench", help="time deconvkit against PyTorch and ONNX Runtime",
        description="Time the transposed-convolution cases S1-S6 and the backward passes "
                    "B1, B5 with deconvkit, PyTorch CPU and ONNX Runtime, interleaved in "
                    "one process; print medians, ratios, GFLOP/s, the fraction of this "
                    "machine's GEMM rate or bandwidth, extra memory and agreement.",
        epilog="examples: deconvkit bench --cases S1,S3 --rounds 9; deconvkit bench --training; "
               "deconvkit bench --restoration --markdown benchmarks/restoration.md; "
               "deconvkit bench --restoration-3d --markdown benchmarks/restoration_3d.md; "
               "deconvkit bench --sparse --markdown benchmarks/sparse.md")
    p.add_argument("--cases", metavar="NAMES", help="comma-separated case names (default: all)")
    p.add_argument("--method", default="auto", choices=("auto",) + available_methods(),
                   help="deconvkit method (default auto)")
    p.add_argument("--rounds", type=positive_int, default=5,
                   help="rounds; each runner times one block of calls per round (default 5)")
    p.add_argument("--block-time", type=seconds, default=None, metavar="SECONDS",
                   help="length of one runner's block of consecutive calls, at most "
                        f"{MAX_SECONDS:g}; 0 for the shortest, 3 calls (default 0.5)")
    p.add_argument("--markdown", metavar="PATH",
                   help="also write the table as Markdown (in an existing folder)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the --markdown file if it exists")
    p.add_argument("--training", action="store_true",
                   help="instead: training throughput (images/s) of the FCN-8s-like model "
                        "against the same model in PyTorch, and where deconvkit's time goes")
    p.add_argument("--restoration", action="store_true",
                   help="instead: restoration quality (PSNR, SSIM) and Richardson-Lucy speed "
                        "of deconvkit against scikit-image, with the targets; rounds and "
                        "--block-time apply to the 2-D timings")
    p.add_argument("--restoration-3d", action="store_true",
                   help="instead: 3-D Richardson-Lucy (whole volume and tiled) against "
                        "scikit-image and RedLionfish's CPU path: time per iteration, PSNR, "
                        "peak memory, and a Zarr volume larger than a memory budget restored "
                        "chunk by chunk; --rounds applies")
    p.add_argument("--sparse", action="store_true",
                   help="instead: convolutional sparse coding (ADMM, FISTA) against SPORCO's "
                        "ConvBPDN on the 512x512 camera: time per iteration, objective, and "
                        "time to f*(1+1e-3) and f*(1+1e-4); --rounds and --block-time "
                        "apply to the equal-iteration timings (default block: 3 solves)")
    p.add_argument("--quick", action="store_true",
                   help="--restoration, --restoration-3d or --sparse on small images, "
                        "fewer cases and one short round")
    p.add_argument("--batch", type=positive_int, help="--training batch size (default 16)")
    p.add_argument("--size", type=positive_int,
                   help="--training image size, a multiple of 8 (default 64)")
    p.add_argument("--threads", type=thread_count, metavar="N",
                   help="--training threads of deconvkit and PyTorch (default: deconvkit's)")
    p.set_defaults(run=run)
