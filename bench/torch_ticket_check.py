"""Independent check of the grokking-ticket protocol in PyTorch, from the same θ0 as a TypeScript run.

Reads θ0 from a run folder's checkpoints/init.safetensors (numpy only), rebuilds the reference split
with Python's own `random` (random.seed(seed); random.shuffle(pairs)), trains the dense MLP exactly as
the reference (float32 weights, float64 log-softmax loss, AdamW lr 1e-3, betas (0.9, 0.98), wd 1, full
batch), prunes the final weights by global magnitude at the given rate, rewinds to θ0 and retrains
with the mask, and prints the first steps (every 100) with test accuracy >= 0.95 for both runs.

Usage: /usr/bin/python3 bench/torch_ticket_check.py runs/dense-s1 [--steps 30000] [--rate 0.6]
(needs python3-torch and libopenblas0-pthread from Debian)."""
import argparse, json, random, struct, time
import numpy as np
import torch
import torch.nn.functional as F


def read_safetensors(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    base = 8 + n
    out = {}
    for k, v in header.items():
        if k == "__metadata__" or v["dtype"] != "F32":
            continue
        a, b = v["data_offsets"]
        out[k] = np.frombuffer(raw[base + a:base + b], dtype="<f4").reshape(v["shape"]).copy()
    return out


def split(p, seed, frac=0.4):
    pairs = [(i, j) for i in range(p) for j in range(i, p)]
    random.seed(seed)
    random.shuffle(pairs)
    n = int(frac * len(pairs))
    return pairs[:n], pairs[n:]


def run(theta, masks, train, test, p, steps, wd=1.0, eval_every=100, stop_at_95=False):
    W = {k: torch.tensor(v * masks[k], requires_grad=True) for k, v in theta.items()}
    M = {k: torch.tensor(masks[k]) for k in theta}
    opt = torch.optim.AdamW(W.values(), lr=1e-3, betas=(0.9, 0.98), weight_decay=wd)
    xa, ya = torch.tensor(train), torch.tensor([(a + b) % p for a, b in train])
    xt, yt = torch.tensor(test), torch.tensor([(a + b) % p for a, b in test])

    def logits(x):
        E = W["W_E"] * M["W_E"]
        h = torch.relu((W["W_in"] * M["W_in"]) @ (E[:, x[:, 0]] + E[:, x[:, 1]]))  # dModel × n
        return ((W["W_out"] * M["W_out"]) @ h).T @ (W["W_U"] * M["W_U"])

    first = None
    for step in range(steps + 1):
        if step % eval_every == 0:
            with torch.no_grad():
                acc = (logits(xt).argmax(1) == yt).float().mean().item()
            if first is None and acc >= 0.95:
                first = step
                if stop_at_95:
                    break
        if step == steps:
            break
        loss = -F.log_softmax(logits(xa).double(), -1).gather(1, ya[:, None]).mean()
        opt.zero_grad()
        loss.backward()
        # pruned weights: zero gradient through W*M, and stored as zeros, so they stay zero
        opt.step()
    return first, {k: v.detach().numpy() for k, v in W.items()}


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("run")
    ap.add_argument("--steps", type=int, default=30000)
    ap.add_argument("--rate", type=float, default=0.6)
    ap.add_argument("--mask-from-run", action="store_true", help="prune the run's own checkpoints/final.safetensors instead of a PyTorch dense run")
    a = ap.parse_args()
    torch.set_num_threads(1)
    cfg = json.load(open(f"{a.run}/config.json"))["config"]
    p, seed = cfg["task"]["p"], cfg["seed"]
    theta0 = read_safetensors(f"{a.run}/checkpoints/init.safetensors")
    train, test = split(p, seed)
    ones = {k: np.ones_like(v) for k, v in theta0.items()}
    t0 = time.time()
    if a.mask_from_run:
        dense95, final = None, read_safetensors(f"{a.run}/checkpoints/final.safetensors")
    else:
        # the dense run goes the full length: the ticket is taken from its final weights
        dense95, final = run(theta0, ones, train, test, p, a.steps)
    allw = np.concatenate([np.abs(v).ravel() for v in final.values()])
    k = int(np.floor(a.rate * allw.size))
    tau = np.sort(allw)[k - 1]
    masks = {n: (np.abs(v) > tau).astype(np.float32) for n, v in final.items()}
    ticket95, _ = run(theta0, masks, train, test, p, a.steps, stop_at_95=True)
    print(json.dumps({"run": a.run, "seed": seed, "dense_test95": dense95, "ticket_test95": ticket95,
                      "kept": int(sum(m.sum() for m in masks.values())), "seconds": round(time.time() - t0)}))
