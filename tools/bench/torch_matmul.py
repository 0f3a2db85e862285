#!/usr/bin/env python3
"""float32 CPU torch.matmul throughput, one JSON line per shape.

Usage:
  .venv/bin/python tools/bench/torch_matmul.py [--threads N] [--repeats R]
                                               [--min-seconds S] [MxKxN ...]

A shape is M x K x N: A[M,K] @ B[K,N]. Without shapes a default list is run:
1024x1024x1024 and the GPT-2 (124M) training shapes for 4*64 tokens.
Output per shape: {"m":..,"n":..,"k":..,"gflops":..,"median_s":..,"threads":..}
gflops = 2*M*N*K / median seconds / 1e9 over the repeats (after warm-up).
"""
import argparse
import json
import statistics
import sys
import time

import torch

DEFAULT_SHAPES = [
    (1024, 1024, 1024),
    (256, 768, 2304),   # c_attn
    (256, 768, 3072),   # mlp.c_fc
    (256, 3072, 768),   # mlp.c_proj
    (256, 768, 50257),  # lm_head
]


def parse_shape(text):
    parts = text.lower().replace("*", "x").split("x")
    if len(parts) != 3:
        raise argparse.ArgumentTypeError(f"shape must be MxKxN, got {text!r}")
    try:
        m, k, n = (int(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"shape must be MxKxN integers, got {text!r}")
    if min(m, k, n) <= 0:
        raise argparse.ArgumentTypeError(f"shape dims must be positive, got {text!r}")
    return m, k, n


def bench(m, k, n, repeats, min_seconds, warmup):
    g = torch.Generator().manual_seed(0)
    a = torch.randn(m, k, generator=g, dtype=torch.float32)
    b = torch.randn(k, n, generator=g, dtype=torch.float32)
    out = torch.empty(m, n, dtype=torch.float32)
    for _ in range(warmup):
        torch.matmul(a, b, out=out)
    times = []
    start = time.perf_counter()
    while len(times) < repeats or (time.perf_counter() - start < min_seconds and len(times) < 1000):
        t0 = time.perf_counter()
        torch.matmul(a, b, out=out)
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    return med


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("shapes", nargs="*", type=parse_shape, help="MxKxN (default: built-in list)")
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads(N)")
    p.add_argument("--repeats", type=int, default=10, help="timed repeats per shape (min)")
    p.add_argument("--min-seconds", type=float, default=0.5, help="keep repeating at least this long")
    p.add_argument("--warmup", type=int, default=3)
    args = p.parse_args(argv)
    if args.threads is not None:
        if args.threads < 1:
            p.error("--threads must be >= 1")
        torch.set_num_threads(args.threads)
    shapes = args.shapes or DEFAULT_SHAPES
    for m, k, n in shapes:
        med = bench(m, k, n, max(1, args.repeats), args.min_seconds, max(0, args.warmup))
        gflops = 2.0 * m * n * k / med / 1e9
        print(json.dumps({"m": m, "n": n, "k": k, "gflops": round(gflops, 3),
                          "median_s": med, "threads": torch.get_num_threads()}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
