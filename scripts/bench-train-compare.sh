#!/usr/bin/env bash
# `tessera bench train` on the CPU for two checkouts, side by side in one session (runs alternate, so
# load from other processes hits both alike): per method the median tokens/s of each and the ratio.
# Usage: scripts/bench-train-compare.sh BASE_ROOT NEW_ROOT MODEL_DIR [REPEATS] [methods...]
# e.g.   scripts/bench-train-compare.sh /tmp/base . /tmp/model 3 full lora qlora
set -euo pipefail
base="$1"; new="$2"; model="$3"; repeats="${4:-3}"; shift $(( $# < 4 ? $# : 4 ))
methods=("${@:-full lora qlora}")
[ "$#" -eq 0 ] && methods=(full lora qlora)
args=(--batch-size 4 --seq-len 128 --steps 5 --warmup 2 --device cpu)
declare -A runs
for m in "${methods[@]}"; do
    for ((i = 0; i < repeats; i++)); do
        for side in base new; do
            root="$base"; [ "$side" = new ] && root="$new"
            tps="$("$root/tessera" bench train --model "$model" --method "$m" "${args[@]}" 2>/dev/null \
                | sed -nE 's/.*"tokens_per_s": *([0-9.]+).*/\1/p')"
            runs[$m.$side]="${runs[$m.$side]:-} $tps"
        done
    done
    median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
    b="$(median <<< "${runs[$m.base]}")"; n="$(median <<< "${runs[$m.new]}")"
    echo "$m: base tokens/s [${runs[$m.base]# }] median $b; new [${runs[$m.new]# }] median $n; new/base $(awk -v n="$n" -v b="$b" 'BEGIN {printf "%.3f", n / b}')"
done
