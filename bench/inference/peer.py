#!/usr/bin/env python3
"""Python peer of `dec serve`: the same model behind the same KServe v2 infer route.

Serves `fmnist-cnn` as DEC's zoo defines it (src/dec/model/zoo_cnn.cc: conv 1->32
3x3 pad 1 + ReLU + max-pool 2, conv 32->64 likewise, fc 3136->128 + ReLU, fc
128->10) with the parameters of a DEC checkpoint exported by `dec export`, with
FastAPI on uvicorn, as a performance-minded user would write it: a plain async
handler that parses the v2 JSON request, runs the model under
torch.inference_mode() with channels-last weights (the layout DEC's zoo uses for
this model), and answers the v2 JSON response.

  POST /v2/models/fmnist-cnn/infer   {"inputs": [{"name": "input", "shape": [N,1,28,28],
                                                   "datatype": "FP32", "data": [...]}]}
  GET  /v2/health/ready              200 once the model is loaded and warmed up
  GET  /v2/models/fmnist-cnn         the model's metadata (dec infer reads the input shape)

Threads: torch.set_num_threads(--threads) in each of --workers uvicorn processes,
OPENBLAS_NUM_THREADS=1; the allocator is the caller's environment (bench/inference/run
gives it DEC's glibc thresholds as GLIBC_TUNABLES). A benchmark peer only: DEC
never depends on Python.
"""
import argparse
import json
import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before torch loads OpenBLAS

import torch  # noqa: E402
from fastapi import FastAPI, Request, Response  # noqa: E402

MODEL_NAME = "fmnist-cnn"


def make_model():
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),   # DEC block conv1
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # DEC block conv2
        nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(),          # DEC block fc1
        nn.Linear(128, 10))                                           # DEC block fc2


def load_exported(model, path):
    """Copies `dec export`'s dict ({"conv1.<layer>.weight": tensor, ...}) into the model."""
    exported = torch.load(path)
    layers = {"conv1": model[0], "conv2": model[3], "fc1": model[7], "fc2": model[9]}
    copied = 0
    for key, value in exported.items():
        block, kind = key.split(".")[0], key.split(".")[-1]
        if block in layers and kind in ("weight", "bias"):
            getattr(layers[block], kind).data.copy_(value.reshape(getattr(layers[block], kind).shape))
            copied += 1
    if copied != 8:
        sys.exit(f"peer.py: {path}: expected 8 weights and biases of conv1, conv2, fc1, fc2, "
                 f"found {copied} in keys {sorted(exported)}")


def build_app(checkpoint, threads):
    torch.set_num_threads(threads)
    model = make_model()
    load_exported(model, checkpoint)
    model = model.eval().to(memory_format=torch.channels_last)
    with torch.inference_mode():
        for _ in range(3):
            model(torch.zeros(1, 1, 28, 28))
    app = FastAPI()

    def error(status, message):
        return Response(json.dumps({"error": message}), status_code=status, media_type="application/json")

    @app.get("/v2/health/ready")
    async def ready():
        return Response(status_code=200)

    @app.get(f"/v2/models/{MODEL_NAME}")
    async def metadata():
        return {"name": MODEL_NAME, "platform": "pytorch_fastapi", "versions": ["1"],
                "inputs": [{"name": "input", "datatype": "FP32", "shape": [-1, 1, 28, 28]}],
                "outputs": [{"name": "logits", "datatype": "FP32", "shape": [-1, 10]}]}

    @app.post(f"/v2/models/{MODEL_NAME}/infer")
    async def infer(request: Request):
        try:
            body = json.loads(await request.body())
            tensor = body["inputs"][0]
            shape = tensor["shape"]
            if tensor.get("datatype") != "FP32" or len(shape) != 4 or shape[1:] != [1, 28, 28]:
                return error(400, "input must be FP32 [N, 1, 28, 28]")
            x = torch.tensor(tensor["data"], dtype=torch.float32).reshape(shape)
        except (ValueError, KeyError, IndexError, TypeError, RuntimeError) as e:
            return error(400, f"bad request: {e}")
        with torch.inference_mode():
            logits = model(x.contiguous(memory_format=torch.channels_last))
        answer = {"model_name": MODEL_NAME, "outputs": [{"name": "logits", "datatype": "FP32",
                                                         "shape": list(logits.shape),
                                                         "data": logits.flatten().tolist()}]}
        if "id" in body:
            answer["id"] = body["id"]
        return Response(json.dumps(answer), media_type="application/json")

    return app


def app_from_env():
    """The app of one uvicorn worker process (uvicorn --factory), configured by the environment."""
    return build_app(os.environ["DEC_PEER_CHECKPOINT"], int(os.environ.get("DEC_PEER_THREADS", "1")))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", required=True, help="`dec export` output (.pt)")
    ap.add_argument("--listen", default="127.0.0.1:8100", help="HOST:PORT")
    ap.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    ap.add_argument("--threads", type=int, default=1, help="torch threads per worker")
    args = ap.parse_args()
    host, port = args.listen.rsplit(":", 1)
    os.environ["DEC_PEER_CHECKPOINT"] = os.path.abspath(args.checkpoint)
    os.environ["DEC_PEER_THREADS"] = str(args.threads)
    import uvicorn
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    uvicorn.run("peer:app_from_env", factory=True, host=host, port=int(port), workers=args.workers,
                log_level="warning", access_log=False, backlog=2048)


if __name__ == "__main__":
    main()
