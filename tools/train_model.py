#!/usr/bin/env python3
"""Train the reference model on the tokenized corpus, on CPU, with checkpoints and resume.

  OMP_NUM_THREADS=2 python3 tools/train_model.py --data /tmp/edgespec-corpus --out /tmp/edgespec-train \
      --minutes 80 --seed 1234

Runs until --minutes of wall time or --max-steps, saving ckpt.pt every --ckpt-every steps; rerun the
same command to resume from the checkpoint (the LR schedule is by step, so resuming is seamless).
Reports train loss (running mean) and held-out loss on valid.bin; writes log.jsonl.
"""
import argparse, json, math, os, time
import numpy as np
import torch
from llama import Llama

CONFIG = dict(vocab_size=4096, hidden_size=256, intermediate_size=768, num_hidden_layers=6,
              num_attention_heads=8, num_key_value_heads=4, head_dim=32, rms_norm_eps=1e-5,
              rope_theta=10000.0, max_position_embeddings=1024)

def batches(data, seq, bs, rng):
    while True:
        ix = rng.integers(0, len(data) - seq - 1, size=bs)
        x = np.stack([data[i:i + seq + 1] for i in ix]).astype(np.int64)
        yield torch.from_numpy(x[:, :-1]), torch.from_numpy(x[:, 1:])

def forward_loss(model, x, y):
    b, s = x.shape
    logits, _ = model(x, torch.ones(b, s, dtype=torch.long), torch.arange(s)[None].expand(b, s))
    return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))

@torch.no_grad()
def held_out_loss(model, valid, seq, n=24):
    model.eval()
    starts = np.linspace(0, len(valid) - seq - 2, n).astype(int)  # fixed windows: comparable across runs
    x = torch.from_numpy(np.stack([valid[i:i + seq] for i in starts]).astype(np.int64))
    y = torch.from_numpy(np.stack([valid[i + 1:i + seq + 1] for i in starts]).astype(np.int64))
    loss = forward_loss(model, x, y).item()
    model.train()
    return loss

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--max-steps", type=int, default=6000)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--minutes", type=float, default=80)
    ap.add_argument("--stop-at", type=int, default=None, help="stop (and checkpoint) at this step, schedule unchanged")
    ap.add_argument("--ckpt-every", type=int, default=100)
    ap.add_argument("--eval-every", type=int, default=200)
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    os.makedirs(args.out, exist_ok=True)
    train = np.fromfile(os.path.join(args.data, "train.bin"), dtype=np.uint16)
    valid = np.fromfile(os.path.join(args.data, "valid.bin"), dtype=np.uint16)
    model = Llama(CONFIG)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.95), weight_decay=0.1)
    step, ckpt = 0, os.path.join(args.out, "ckpt.pt")
    if os.path.exists(ckpt):
        state = torch.load(ckpt)
        model.load_state_dict(state["model"]); opt.load_state_dict(state["opt"]); step = state["step"]
        print(f"resumed at step {step}")
    rng = np.random.default_rng(args.seed + step)  # a resumed run draws fresh batches, reproducibly
    it = batches(train, args.seq, args.batch, rng)
    print(f"params {sum(p.numel() for p in model.parameters())/1e6:.2f}M, train tokens {len(train)}")
    log = open(os.path.join(args.out, "log.jsonl"), "a")
    t_end, t0, run = time.time() + args.minutes * 60, time.time(), None
    stop = min(args.max_steps, args.stop_at or args.max_steps)
    while step < stop and time.time() < t_end:
        lr = args.lr * min(1, (step + 1) / args.warmup) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1, step / args.max_steps))))
        for g in opt.param_groups:
            g["lr"] = lr
        x, y = next(it)
        loss = forward_loss(model, x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        run = loss.item() if run is None else 0.98 * run + 0.02 * loss.item()
        if step % 20 == 0:
            print(f"step {step} loss {run:.3f} lr {lr:.2e} {(time.time()-t0)/60:.1f}min", flush=True)
        rec = None
        if step % args.eval_every == 0:
            rec = {"step": step, "train_loss": round(run, 4), "valid_loss": round(held_out_loss(model, valid, args.seq), 4)}
            print(rec, flush=True); log.write(json.dumps(rec) + "\n"); log.flush()
        if step % args.ckpt_every == 0:
            torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "config": CONFIG}, ckpt + ".tmp")
            os.replace(ckpt + ".tmp", ckpt)
    rec = {"step": step, "train_loss": round(run or 0, 4), "valid_loss": round(held_out_loss(model, valid, args.seq), 4), "final": True}
    print(rec); log.write(json.dumps(rec) + "\n")
    torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "config": CONFIG}, ckpt)

if __name__ == "__main__":
    main()
