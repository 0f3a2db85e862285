#!/usr/bin/env bash
# Tessera against PyTorch 2.13 (+ PEFT) on this machine, side by side in one session: training
# steps (full, LoRA, QLoRA; PyTorch full and LoRA) on a model folder, and the 1024^3 GEMM
# (Tessera with --repeat 5 and --repeat 200, torch.matmul). Runs alternate, so load from other
# processes hits both alike; each figure is the median over the runs of each run's median
# step after WARMUP (default 5) untimed steps.
# Needs .venv (tools/setup-python.sh). The README's "Performance" table comes from this script.
#   scripts/bench-vs-torch.sh MODEL_DIR [RUNS] [BATCH] [SEQ] [STEPS]
#   e.g. scripts/bench-vs-torch.sh /tmp/gpt2-124m 3 4 64 5
# BASE=DIR (a built checkout of an earlier commit) adds its full and LoRA steps, alternating too,
# and prints this tree's step time over the base's (the no-regression check of a change).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
model="$1"; runs="${2:-3}"; batch="${3:-4}"; seq="${4:-64}"; steps="${5:-5}"
warmup="${WARMUP:-5}"   # untimed steps before each run's timed ones, the same for Tessera and PyTorch
PY="$ROOT/.venv/bin/python"
[ -x "$PY" ] || { echo "bench-vs-torch: no $PY (run tools/setup-python.sh)" >&2; exit 1; }
threads="$(nproc)"
field() { sed -nE "s/.*\"$1\": *([0-9.eE+-]+).*/\1/p"; }
median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
declare -A t
for ((i = 1; i <= runs; i++)); do
  for m in full lora qlora; do
    out="$("$ROOT/tessera" bench train --model "$model" --method "$m" --batch-size "$batch" --seq-len "$seq" \
        --steps "$steps" --warmup "$warmup" --device cpu 2>/dev/null | tail -1)"
    t[tessera.$m]="${t[tessera.$m]:-} $(field median_step_s <<< "$out")"
    [ "$m" = full ] && t[gflops.full]="${t[gflops.full]:-} $(field achieved_gflops <<< "$out")"
    [ "$m" = full ] && t[share.full]="${t[share.full]:-} $(field share_of_peak <<< "$out")"
    echo "run $i tessera $m: $out" >&2
    if [ -n "${BASE:-}" ] && [ "$m" != qlora ]; then
      out="$("$BASE/tessera" bench train --model "$model" --method "$m" --batch-size "$batch" --seq-len "$seq" \
          --steps "$steps" --warmup "$warmup" --device cpu 2>/dev/null | tail -1)"
      t[base.$m]="${t[base.$m]:-} $(field median_step_s <<< "$out")"
      echo "run $i base $m: $out" >&2
    fi
    if [ "$m" != qlora ]; then
      out="$("$PY" "$ROOT/tools/bench/torch_train_step.py" --model "$model" --method "$m" --batch-size "$batch" \
          --seq-len "$seq" --steps "$steps" --warmup "$warmup" --threads "$threads" 2>/dev/null | tail -1)"
      t[torch.$m]="${t[torch.$m]:-} $(field median_step_s <<< "$out")"
      echo "run $i torch $m: $out" >&2
    fi
  done
  for r in 5 200; do
    out="$("$ROOT/tessera" bench gemm --m 1024 --n 1024 --k 1024 --repeat "$r" --device cpu 2>/dev/null | tail -1)"
    t[gemm.$r]="${t[gemm.$r]:-} $(field gflops <<< "$out")"
    t[peak]="${t[peak]:-} $(field peak_gflops <<< "$out")"
    echo "run $i tessera gemm --repeat $r: $out" >&2
  done
  out="$("$PY" "$ROOT/tools/bench/torch_matmul.py" --threads "$threads" 1024x1024x1024 2>/dev/null | tail -1)"
  t[gemm.torch]="${t[gemm.torch]:-} $(field gflops <<< "$out")"
  echo "run $i torch matmul: $out" >&2
done
M() { median <<< "${t[$1]}"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a / b}'; }
echo "| step (batch $batch x $seq, $threads threads, medians of $runs runs) | Tessera s | PyTorch s | Tessera / PyTorch |"
echo "|---|---|---|---|"
echo "| full fine-tuning | $(M tessera.full) | $(M torch.full) | $(ratio "$(M tessera.full)" "$(M torch.full)") |"
echo "| LoRA r 8 | $(M tessera.lora) | $(M torch.lora) | $(ratio "$(M tessera.lora)" "$(M torch.lora)") |"
echo "| QLoRA (NF4, double quant) r 8 | $(M tessera.qlora) | - | - |"
echo
echo "LoRA / own full step: $(ratio "$(M tessera.lora)" "$(M tessera.full)");  QLoRA / own LoRA step: $(ratio "$(M tessera.qlora)" "$(M tessera.lora)")"
echo "full step achieved $(M gflops.full) GFLOP/s = $(M share.full) of the measured FMA peak ($(M peak) GFLOP/s)"
echo "GEMM 1024^3: --repeat 5 $(M gemm.5) GFLOP/s, --repeat 200 $(M gemm.200) (ratio $(ratio "$(M gemm.5)" "$(M gemm.200)")), torch.matmul $(M gemm.torch) (Tessera/torch $(ratio "$(M gemm.5)" "$(M gemm.torch)"))"
if [ -n "${BASE:-}" ]; then
  echo "this tree / base ($BASE): full $(ratio "$(M tessera.full)" "$(M base.full)"), LoRA $(ratio "$(M tessera.lora)" "$(M base.lora)")"
fi
