#!/usr/bin/env python3
"""The peer of `--suite peer`: greedy generation with a plain PyTorch eager KV-cache loop, in the style of
Hugging Face's `generate` (prefill the prompts, then one token a step, keys and values concatenated to a cache),
over a Qwen2/Llama checkpoint in Hugging Face layout (config.json + one model.safetensors); and, with "train" in the
request, supervised steps in the style of a plain PyTorch training loop (logits at every position, cross-entropy on
the response positions, backward, gradient clipping at 1.0, torch.optim.AdamW).

Install its one Debian package:  sudo apt-get install --no-install-recommends python3-torch

Usage: torch_generate.py CHECKPOINT REQUEST.json RESULT.json
REQUEST: {"prompts": [[ids...], ...] (all of one length), "max_new_tokens": N, "threads": T, "repeats": R}
RESULT:  {"tokens": [[ids...], ...], "seconds": best of R, "torch": version}
TRAIN REQUEST: {"train": {"batches": [[[ids...] x B] x S], "response_start": P, "lr": LR, "weight_decay": WD}, "threads": T, "repeats": R}
TRAIN RESULT:  {"seconds": best of R for the S steps, "losses": [first run's loss per step], "torch": version}
BANDWIDTH REQUEST: {"bandwidth": {"rows": [M, ...]}, "threads": T, "repeats": R}   (the layer matrices' products, see bandwidth())
BANDWIDTH RESULT:  {"cycling": [µs a pass per M], "hot": [µs per M], "torch": version}
Exit code 3 with a line on stderr when torch is missing (the benchmark then reports "peer not available").
"""
import json
import struct
import sys
import time

try:
    import torch
except ImportError:
    print("peer not available: python3 cannot import torch (apt-get install python3-torch)", file=sys.stderr)
    sys.exit(3)

DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}


def load_safetensors(path):
    with open(path, "rb") as f:
        header_len = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(header_len))
        data = f.read()
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        t = torch.frombuffer(bytearray(data[start:end]), dtype=DTYPES[info["dtype"]])
        tensors[name] = t.reshape(info["shape"]).float()
    return tensors


class Model:
    def __init__(self, directory):
        with open(f"{directory}/config.json") as f:
            self.c = json.load(f)
        self.w = load_safetensors(f"{directory}/model.safetensors")
        c = self.c
        self.layers = c["num_hidden_layers"]
        self.heads = c["num_attention_heads"]
        self.kv_heads = c.get("num_key_value_heads", self.heads)
        self.head_dim = c["hidden_size"] // self.heads
        self.eps = c["rms_norm_eps"]
        theta = c.get("rope_theta", 10000.0)
        self.inv_freq = 1.0 / (theta ** (torch.arange(0, self.head_dim, 2).float() / self.head_dim))
        self.lm_head = self.w.get("lm_head.weight", self.w["model.embed_tokens.weight"])

    def rms(self, x, weight):
        return weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))

    def rope(self, x, positions):
        freqs = positions[:, None].float() * self.inv_freq[None, :]
        emb = torch.cat([freqs, freqs], dim=-1)
        cos, sin = emb.cos()[None, None], emb.sin()[None, None]
        half = x.shape[-1] // 2
        rotated = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
        return x * cos + rotated * sin

    def linear(self, x, name):
        bias = self.w.get(name + ".bias")
        return torch.nn.functional.linear(x, self.w[name + ".weight"], bias)

    def forward(self, ids, cache, start, every_position=False):
        """ids (B, T) at positions start..start+T-1; cache: list of (k, v) per layer or None. Returns the last
        position's logits (or every position's with every_position) and the new cache."""
        b, t = ids.shape
        x = self.w["model.embed_tokens.weight"][ids]
        positions = torch.arange(start, start + t)
        new_cache = []
        for i in range(self.layers):
            p = f"model.layers.{i}"
            h = self.rms(x, self.w[p + ".input_layernorm.weight"])
            q = self.linear(h, p + ".self_attn.q_proj").view(b, t, self.heads, self.head_dim).transpose(1, 2)
            k = self.linear(h, p + ".self_attn.k_proj").view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
            v = self.linear(h, p + ".self_attn.v_proj").view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
            q, k = self.rope(q, positions), self.rope(k, positions)
            if cache is not None:
                k = torch.cat([cache[i][0], k], dim=2)
                v = torch.cat([cache[i][1], v], dim=2)
            new_cache.append((k, v))
            groups = self.heads // self.kv_heads
            kk, vv = k.repeat_interleave(groups, dim=1), v.repeat_interleave(groups, dim=1)
            scores = q @ kk.transpose(-1, -2) / self.head_dim ** 0.5
            if t > 1:
                mask = torch.full((t, kk.shape[2]), float("-inf")).triu(kk.shape[2] - t + 1)
                scores = scores + mask
            attn = torch.softmax(scores, dim=-1) @ vv
            x = x + self.linear(attn.transpose(1, 2).reshape(b, t, -1), p + ".self_attn.o_proj")
            h = self.rms(x, self.w[p + ".post_attention_layernorm.weight"])
            gate = torch.nn.functional.silu(self.linear(h, p + ".mlp.gate_proj"))
            x = x + self.linear(gate * self.linear(h, p + ".mlp.up_proj"), p + ".mlp.down_proj")
        x = self.rms(x if every_position else x[:, -1], self.w["model.norm.weight"])
        return x @ self.lm_head.T, new_cache


def generate(model, prompts, max_new):
    ids = torch.tensor(prompts, dtype=torch.long)
    out = []
    with torch.no_grad():
        logits, cache = model.forward(ids, None, 0)
        position = ids.shape[1]
        for _ in range(max_new):
            nxt = logits.argmax(-1)
            out.append(nxt)
            logits, cache = model.forward(nxt[:, None], cache, position)
            position += 1
    return torch.stack(out, dim=1).tolist()


def train(model, spec, repeats):
    """Times len(batches) supervised steps from the same starting weights, best of `repeats`."""
    start_weights = {k: v.clone() for k, v in model.w.items()}
    batches = [torch.tensor(b, dtype=torch.long) for b in spec["batches"]]
    p = spec["response_start"]
    best, losses = None, None
    for r in range(repeats + 1):                       # the first run warms up
        model.w = {k: v.clone().requires_grad_(True) for k, v in start_weights.items()}
        model.lm_head = model.w.get("lm_head.weight", model.w["model.embed_tokens.weight"])
        params = list(model.w.values())
        optimizer = torch.optim.AdamW(params, lr=spec["lr"], weight_decay=spec["weight_decay"])
        run_losses = []
        start = time.perf_counter()
        for ids in batches:
            optimizer.zero_grad()
            logits, _ = model.forward(ids, None, 0, every_position=True)          # (B, T, V)
            # Position t predicts token t + 1; the loss covers the response tokens.
            loss = torch.nn.functional.cross_entropy(logits[:, p - 1:-1].reshape(-1, logits.shape[-1]), ids[:, p:].reshape(-1))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            run_losses.append(loss.item())
        seconds = time.perf_counter() - start
        if r == 0:
            losses = run_losses
            continue
        best = seconds if best is None else min(best, seconds)
    return best, losses


def bandwidth(model, rows_list, repeats, passes=20, repeat=16):
    """The layer matrices of one decode step, in order, on M-row inputs: microseconds of a pass cycling through them
    (each read once, as decode reads them) and of the same products with each matrix's products back to back (hot)."""
    weights = [w for name, w in model.w.items() if ".layers." in name and w.dim() == 2]
    cycling, hot = [], []

    def timed(action):
        """Seconds of the best of `repeats` runs after one warm-up run."""
        action()
        best = None
        for _ in range(repeats):
            start = time.perf_counter()
            action()
            seconds = time.perf_counter() - start
            best = seconds if best is None else min(best, seconds)
        return best

    with torch.no_grad():
        for m in rows_list:
            inputs = [torch.randn(m, w.shape[1]) for w in weights]

            def cycle():
                for _ in range(passes):
                    for x, w in zip(inputs, weights):
                        torch.nn.functional.linear(x, w)
            cycling.append(1e6 * timed(cycle) / passes)
            total = 0.0
            for x, w in zip(inputs, weights):
                def again(x=x, w=w):
                    for _ in range(repeat):
                        torch.nn.functional.linear(x, w)
                total += 1e6 * timed(again) / repeat
            hot.append(total)
    return cycling, hot


def main():
    checkpoint, request_path, result_path = sys.argv[1:4]
    with open(request_path) as f:
        request = json.load(f)
    torch.set_num_threads(request["threads"])
    model = Model(checkpoint)
    if "bandwidth" in request:
        cycling, hot = bandwidth(model, request["bandwidth"]["rows"], request.get("repeats", 3))
        with open(result_path, "w") as f:
            json.dump({"cycling": cycling, "hot": hot, "torch": torch.__version__}, f)
        return
    if "train" in request:
        seconds, losses = train(model, request["train"], request.get("repeats", 3))
        with open(result_path, "w") as f:
            json.dump({"seconds": seconds, "losses": losses, "torch": torch.__version__}, f)
        return
    best, tokens = None, None
    generate(model, request["prompts"][:1], 4)  # warm-up
    for _ in range(request.get("repeats", 3)):
        start = time.perf_counter()
        tokens = generate(model, request["prompts"], request["max_new_tokens"])
        seconds = time.perf_counter() - start
        best = seconds if best is None else min(best, seconds)
    with open(result_path, "w") as f:
        json.dump({"tokens": tokens, "seconds": best, "torch": torch.__version__}, f)


if __name__ == "__main__":
    main()
