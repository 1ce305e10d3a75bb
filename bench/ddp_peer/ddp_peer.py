#!/usr/bin/env python3
"""PyTorch peer of DEC's Fashion-MNIST benchmark: the same model, data and optimizer.

Trains `fmnist-cnn` exactly as DEC's zoo defines it (src/dec/model/zoo_cnn.cc:
conv 1->32 3x3 pad 1 + ReLU + max-pool 2, conv 32->64 likewise, fc 3136->128 +
ReLU, fc 128->10; PyTorch's default initialisation) on the Fashion-MNIST train
set, normalised as DEC does (src/dec/data/fashion_mnist.cc: (x/255 - 0.2860) /
0.3530, computed in double, stored as float32), with Adam lr 1e-3.

  --mode ddp     torch.distributed DDP, backend gloo, --world processes on
                 127.0.0.1, global batch --batch split evenly (32 per rank at 64)
  --mode single  one process, batch --batch

Each process sets torch.set_num_threads(--threads); OPENBLAS_NUM_THREADS=1 is
set before torch is imported. Timing starts after --warmup steps and covers
--steps steps; rank 0 prints one JSON object on stdout (see `result` below).
This is a benchmark peer only: DEC itself never depends on Python or PyTorch.
"""
import argparse
import gzip
import json
import os
import socket
import sys
import time

os.environ["OPENBLAS_NUM_THREADS"] = "1"  # before numpy/torch load OpenBLAS

import numpy as np  # noqa: E402

DATA_DIR = "/usr/share/datasets/fashion-mnist"
MEAN, STD = 0.2860, 0.3530  # src/dec/data/dataset.h kFashionMnistMean / kFashionMnistStd


def load_fashion_mnist(data_dir):
    """Images [N,1,28,28] float32 normalised as DEC does, labels [N] int64."""
    with gzip.open(os.path.join(data_dir, "train-images-idx3-ubyte.gz"), "rb") as f:
        raw = f.read()
    magic, n, rows, cols = np.frombuffer(raw, ">u4", 4, 0)
    assert magic == 0x803 and rows == 28 and cols == 28, "not a Fashion-MNIST image file"
    pixels = np.frombuffer(raw, np.uint8, n * rows * cols, 16)
    with gzip.open(os.path.join(data_dir, "train-labels-idx1-ubyte.gz"), "rb") as f:
        raw = f.read()
    magic, m = np.frombuffer(raw, ">u4", 2, 0)
    assert magic == 0x801 and m == n, "labels do not match images"
    labels = np.frombuffer(raw, np.uint8, m, 8).astype(np.int64)
    # DEC's table: one float per byte value, computed in double.
    table = ((np.arange(256, dtype=np.float64) / 255.0 - MEAN) / STD).astype(np.float32)
    images = table[pixels].reshape(n, 1, rows, cols)
    return images, labels


def make_model(torch):
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),   # DEC block conv1
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # DEC block conv2
        nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(),          # DEC block fc1
        nn.Linear(128, 10))                                           # DEC block fc2


def train(rank, world, args, port, queue):
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(args.threads)
    ddp = args.mode == "ddp"
    if ddp:
        import torch.distributed as dist
        from torch.nn.parallel import DistributedDataParallel as DDP
        dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}",
                                rank=rank, world_size=world)
    images_np, labels_np = load_fashion_mnist(args.data_dir)
    images = torch.from_numpy(images_np)
    labels = torch.from_numpy(labels_np)

    torch.manual_seed(args.seed)  # every rank builds the same model; DDP broadcasts rank 0's anyway
    model = make_model(torch)
    params = sum(p.numel() for p in model.parameters())
    if args.channels_last:  # the weight layout DEC uses for this model (src/dec/model/zoo.cc)
        model = model.to(memory_format=torch.channels_last)
    if ddp:
        model = DDP(model, bucket_cap_mb=args.bucket_cap_mb,
                    gradient_as_bucket_view=args.grad_as_bucket_view)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, foreach=args.foreach or None)

    per_rank = args.batch // world
    n = images.shape[0]
    steps_per_epoch = n // args.batch  # drop_last, as DEC
    gen = torch.Generator().manual_seed(args.seed)
    order = None
    total = args.warmup + args.steps
    losses, step_s, parts = [], [], []
    t_start = None
    for step in range(total):
        b = step % steps_per_epoch
        if b == 0:
            order = torch.randperm(n, generator=gen)  # same order on every rank
        # As DistributedSampler on one global batch: rank r takes its contiguous slice.
        lo = b * args.batch + rank * per_rank
        idx = order[lo:lo + per_rank]
        t0 = time.perf_counter()
        x, y = images.index_select(0, idx), labels.index_select(0, idx)
        opt.zero_grad(set_to_none=args.set_to_none)
        ta = time.perf_counter()
        loss = F.cross_entropy(model(x), y)
        tb = time.perf_counter()
        loss.backward()  # DDP: returns once its (overlapped) bucket all-reduces are done
        tc = time.perf_counter()
        opt.step()
        losses.append(loss.item())
        t1 = time.perf_counter()
        if step >= args.warmup:
            parts.append((ta - t0, tb - ta, tc - tb, t1 - tc))
        step_s.append(t1 - t0)
        if step + 1 == args.warmup:
            t_start = t1
    t_end = time.perf_counter()
    if t_start is None:
        t_start = t_end - sum(step_s)

    # Global loss per step = mean of the ranks' local means (equal shares):
    # one gather at the end, so the measured loop has only DDP's own collectives.
    local = torch.tensor(losses, dtype=torch.float64)
    if ddp:
        dist.all_reduce(local)
        local /= world
        dist.barrier()
    if rank == 0:
        timed = step_s[args.warmup:]
        result = {
            "impl": "pytorch-ddp" if ddp else "pytorch-single",
            "torch": torch.__version__,
            "world": world,
            "threads": torch.get_num_threads(),
            "interop_threads": torch.get_num_interop_threads(),
            "openblas_num_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
            "global_batch": args.batch,
            "batch_per_process": per_rank,
            "parameters": params,
            "bucket_cap_mb": args.bucket_cap_mb if ddp else None,
            "channels_last": args.channels_last,
            "set_to_none": args.set_to_none,
            "foreach": args.foreach,
            "gradient_as_bucket_view": args.grad_as_bucket_view if ddp else None,
            "malloc_env": {k: v for k, v in os.environ.items()
                           if k in ("LD_PRELOAD", "GLIBC_TUNABLES", "MALLOC_CONF")
                           or k.startswith("MALLOC_")},
            "warmup": args.warmup,
            "steps": args.steps,
            "seconds": t_end - t_start,
            "samples_per_s": args.steps * args.batch / (t_end - t_start),
            "median_step_s": float(np.median(timed)) if timed else None,
            "losses": local.tolist(),
        }
        if parts:  # rank 0's mean milliseconds per step, by phase
            result["breakdown_ms"] = dict(zip(
                ("data_zero_grad", "forward_loss", "backward_allreduce", "step_item"),
                (1e3 * float(v) for v in np.mean(np.array(parts), axis=0))))
        if queue is not None:
            queue.put(result)
        else:
            print(json.dumps(result), flush=True)
    if ddp:
        dist.destroy_process_group()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mode", choices=["ddp", "single"], default="ddp")
    ap.add_argument("--world", type=int, default=2, help="DDP processes (ddp mode)")
    ap.add_argument("--batch", type=int, default=64, help="global batch")
    ap.add_argument("--steps", type=int, default=200, help="timed steps")
    ap.add_argument("--warmup", type=int, default=20, help="untimed steps first")
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads per process")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--bucket-cap-mb", type=float, default=25.0, help="DDP bucket size (its default)")
    ap.add_argument("--channels-last", action="store_true",
                    help="channels-last weights, as DEC runs this model (not PyTorch's default)")
    ap.add_argument("--set-to-none", action="store_true",
                    help="zero_grad(set_to_none=True), as DEC drops gradients (PyTorch 2's default)")
    ap.add_argument("--foreach", action="store_true", help="Adam(foreach=True): multi-tensor Adam")
    ap.add_argument("--grad-as-bucket-view", action="store_true",
                    help="DDP(gradient_as_bucket_view=True): gradients live in the buckets, no copies")
    ap.add_argument("--data-dir", default=DATA_DIR)
    args = ap.parse_args()
    if args.mode == "single":
        args.world = 1
    if args.batch % args.world:
        sys.exit(f"ddp_peer.py: --batch {args.batch} does not split over {args.world} processes")
    if args.mode == "single":
        train(0, 1, args, None, None)
        return
    import torch.multiprocessing as mp
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    port = free_port()
    procs = [ctx.Process(target=train, args=(r, args.world, args, port, queue if r == 0 else None))
             for r in range(args.world)]
    for p in procs:
        p.start()
    result = None
    while result is None:
        try:
            result = queue.get(timeout=1)
        except Exception:  # queue.Empty: give up once a process has died
            if any(p.exitcode not in (None, 0) for p in procs):
                for p in procs:
                    p.terminate()
                break
    for p in procs:
        p.join()
    bad = [p.exitcode for p in procs if p.exitcode != 0]
    if bad:
        sys.exit(f"ddp_peer.py: a DDP process failed (exit codes {bad})")
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
