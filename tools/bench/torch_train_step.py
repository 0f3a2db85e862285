"""PyTorch's side of `tessera bench train`: median seconds per training step (forward, backward,
AdamW) of a model folder on random tokens, full fine-tuning or LoRA (peft), float32, on the CPU
or a CUDA GPU (--device cuda: each timed step ends with torch.cuda.synchronize()).

  .venv/bin/python tools/bench/torch_train_step.py --model DIR --method full|lora \
      --batch-size 4 --seq-len 128 --steps 5 [--r 8] [--threads N] [--device cpu|cuda]

Prints one JSON line like Tessera's: {"method","median_step_s","tokens_per_s","peak_rss_bytes","steps"}.
"""
import argparse
import json
import resource
import statistics
import time

import torch
from transformers import AutoModelForCausalLM


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--method", choices=["full", "lora"], required=True)
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--seq-len", type=int, default=128)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--r", type=int, default=8)
    ap.add_argument("--threads", type=int)
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(a.model, dtype=torch.float32)
    if a.method == "lora":
        from peft import LoraConfig, get_peft_model
        model = get_peft_model(model, LoraConfig(r=a.r, lora_alpha=2 * a.r, lora_dropout=0.0))
    model.to(a.device)
    model.train()
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4, weight_decay=0.0)
    vocab = model.config.vocab_size
    times = []
    for s in range(a.warmup + a.steps):
        ids = torch.randint(vocab, (a.batch_size, a.seq_len)).to(a.device)
        t0 = time.perf_counter()
        loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        opt.step()
        opt.zero_grad()
        if a.device != "cpu":
            torch.cuda.synchronize()
        if s >= a.warmup:
            times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    print(json.dumps({"method": a.method, "median_step_s": med, "tokens_per_s": a.batch_size * a.seq_len / med,
                      "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                      "steps": a.steps, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
