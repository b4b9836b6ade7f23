"""PyTorch port of the reference implementation's training step (gouki510/Grokking-Tickets), for
side-by-side timing with `npm run bench`. Faithful to the reference: index-lookup embeddings, float64
log-softmax loss for the modular tasks, MSE for MNIST, AdamW(lr 1e-3, betas (0.9, 0.98), wd 1 / 0.1),
full batch, one CPU thread. Prints one JSON object: {model: {"medianMs", "p10Ms", "p90Ms"}}.

The Transformer's einsums are written as plain products (see the comment there).

Usage: python3 bench/torch_reference.py [--steps 200] [--warmup 20] [--threads 1]
(Debian: apt-get install python3-torch libopenblas0-pthread, then run it with /usr/bin/python3;
without OpenBLAS, Debian's torch falls back to the reference BLAS and runs ~25x slower.)"""
import argparse
import json
import math
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class OnlyMLP(nn.Module):
    def __init__(self, p=67, d_emb=500, d_model=48):
        super().__init__()
        self.W_E = nn.Parameter(torch.randn(d_emb, p) / math.sqrt(p))
        self.W_in = nn.Parameter(torch.randn(d_model, d_emb) / math.sqrt(d_emb))
        self.W_out = nn.Parameter(torch.randn(d_emb, d_model) / math.sqrt(d_model))
        self.W_U = nn.Parameter(torch.randn(d_emb, p) / math.sqrt(d_emb))

    def forward(self, x):  # x: (n, 2) token ids
        e = self.W_E[:, x].permute(1, 2, 0)  # (n, 2, d_emb), as the reference's Embed
        h = torch.relu(torch.einsum("md,npd->npm", self.W_in, e).sum(1))
        z = h @ self.W_out.T
        return z @ self.W_U


class Transformer(nn.Module):
    def __init__(self, p=67, d=128):
        super().__init__()
        s = 1 / math.sqrt(d)
        self.W_E = nn.Parameter(torch.randn(d, p) / math.sqrt(p))
        self.W_Q = nn.Parameter(torch.randn(1, d, d) * s)
        self.W_K = nn.Parameter(torch.randn(1, d, d) * s)
        self.W_V = nn.Parameter(torch.randn(1, d, d) * s)
        self.W_O = nn.Parameter(torch.randn(d, d) * s)
        self.W_in = nn.Parameter(torch.randn(d, d) * s)
        self.W_out = nn.Parameter(torch.randn(d, d) * s)
        self.W_U = nn.Parameter(torch.randn(d, p) * s)
        self.register_buffer("mask", torch.tril(torch.ones(2, 2)))
        self.d = d

    def forward(self, x):
        r = self.W_E[:, x].permute(1, 2, 0)  # (n, 2, d)
        # The reference writes these projections and the attention products as einsums; Debian's
        # torch runs those as hundreds of tiny batched products (~10x slower), so they are plain
        # products and broadcast sums here: the same function, as a tuned PyTorch port would write it.
        q = (r @ self.W_Q[0].T)[:, None]
        k = (r @ self.W_K[0].T)[:, None]
        v = (r @ self.W_V[0].T)[:, None]
        scores = (q.unsqueeze(-2) * k.unsqueeze(-3)).sum(-1)  # einsum("biph,biqh->biqp", k, q)
        scores = torch.tril(scores) - 1e10 * (1 - self.mask)
        attn = F.softmax(scores / math.sqrt(self.d), dim=-1)
        z = (attn.unsqueeze(-1) * v.unsqueeze(-3)).sum(-2)  # einsum("biph,biqp->biqh", v, attn)
        z = z.permute(0, 2, 1, 3).reshape(z.shape[0], 2, -1)
        r = r + z @ self.W_O.T
        r = r + torch.relu(r @ self.W_in.T) @ self.W_out.T
        return (r @ self.W_U)[:, -1]


class MnistMLP(nn.Module):
    def __init__(self, width=200, scale=8.0):
        super().__init__()
        self.W1 = nn.Parameter(torch.randn(width, 784) * scale / math.sqrt(784))
        self.W2 = nn.Parameter(torch.randn(width, width) * scale / math.sqrt(width))
        self.W3 = nn.Parameter(torch.randn(10, width) * scale / math.sqrt(width))

    def forward(self, x):
        return torch.relu(torch.relu(x @ self.W1.T) @ self.W2.T) @ self.W3.T


def modular_loss(logits, labels):
    return -F.log_softmax(logits.to(torch.float64), dim=-1).gather(-1, labels[:, None]).mean()


def time_model(name, steps, warmup):
    torch.manual_seed(0)
    if name == "mnist-mlp":
        model = MnistMLP()
        x = torch.rand(1000, 784)
        y = torch.randint(0, 10, (1000,))
        target = F.one_hot(y, 10).float()
        loss_fn = lambda: F.mse_loss(model(x), target)
        wd = 0.1
    else:
        model = OnlyMLP() if name == "mlp" else Transformer()
        x = torch.randint(0, 67, (911, 2))
        y = (x[:, 0] + x[:, 1]) % 67
        loss_fn = lambda: modular_loss(model(x), y)
        wd = 1.0
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.98), weight_decay=wd)
    times = []
    for i in range(warmup + steps):
        t0 = time.perf_counter()
        loss = loss_fn()
        loss.backward()
        opt.step()
        opt.zero_grad()
        if i >= warmup:
            times.append((time.perf_counter() - t0) * 1000)
    q = statistics.quantiles(times, n=10)
    return {"medianMs": round(statistics.median(times), 3), "p10Ms": round(q[0], 3), "p90Ms": round(q[-1], 3)}


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--models", default="mlp,transformer,mnist-mlp")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    out = {"torch": torch.__version__, "threads": a.threads}
    for m in a.models.split(","):
        out[m] = time_model(m, a.steps, a.warmup)
    print(json.dumps(out))
