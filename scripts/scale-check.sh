#!/usr/bin/env bash
# Issue 9's memory acceptance, end to end, on synthetic Llama checkpoints with the real shapes
# (random BF16 weights, streamed to disk in shards with model.safetensors.index.json):
#   TinyLlama-1.1B shapes: QLoRA <= 1.6 GB, LoRA on the BF16 base <= 3.2 GB
#   Llama-2-7B shapes:     QLoRA <= 6 GB (load + quantize <= 90 s, median step <= 40 s),
#                          LoRA on the BF16 base <= 16 GB, quantize <= 2 GB,
#                          generate and score on the 4-bit folder within the QLoRA budget
# QLoRA = NF4 + double quant, r 8 on q/k/v/o/gate/up/down, gradient checkpointing, paged 8-bit
# AdamW, batch 1 x 128 tokens. Prints one table. Peak resident memory is the process's VmHWM.
#
#   scripts/scale-check.sh                 # everything (needs ~35 GB of disk and ~17 GB of free RAM)
#   SKIP_7B_LORA=1 scripts/scale-check.sh  # without the 16 GB run
#   ONLY_1B=1 scripts/scale-check.sh       # the 1.1B runs only
#   SKIP_TRAIN=1 scripts/scale-check.sh    # the 7B quantize, generate and score only
# Env: SCALE_DIR (default /tmp/tessera-scale; removed at the end unless KEEP=1), STEPS (default 3),
#      TESSERA_JAVA_OPTS (default "-Xmx768m -XX:+UseSerialGC": a modest heap, since tensors live off-heap).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${SCALE_DIR:-/tmp/tessera-scale}"
STEPS="${STEPS:-3}"
export TESSERA_JAVA_OPTS="${TESSERA_JAVA_OPTS:--Xmx768m -XX:+UseSerialGC}"
TARGETS=q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj
GB=1000000000

"$ROOT/tessera" --help >/dev/null # builds the jars when needed
# Run from a copy of the jars, so a rebuild of the tree cannot disturb a long run.
mkdir -p "$DIR/jars"
cp "$ROOT/examples/target/tessera-examples-0.1.0-SNAPSHOT.jar" "$DIR/jars/"
cp -r "$ROOT/examples/target/lib" "$DIR/jars/"
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/java}"
[[ -n "$JAVA" && -x "$JAVA" ]] || JAVA="$(ls -d /usr/lib/jvm/*25*/bin/java | head -1)"
CP="$DIR/jars/tessera-examples-0.1.0-SNAPSHOT.jar:$DIR/jars/lib/*"
# an array, not only a function, so /usr/bin/time can run it too
TESSERA=("$JAVA" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Djava.awt.headless=true -Xss4m
  $TESSERA_JAVA_OPTS -cp "$CP" dev.tessera.examples.Tessera)
tessera() { "${TESSERA[@]}" "$@"; }

checkpoint() { # shape folder
  [[ -f "$DIR/$2/model.safetensors.index.json" ]] && return
  echo "scale-check: writing the synthetic $1 checkpoint to $DIR/$2" >&2
  "$JAVA" --add-modules jdk.incubator.vector -cp "$CP" dev.tessera.examples.bench.SyntheticCheckpoint "$1" "$DIR/$2" 2>&1 \
    | grep -v '^WARNING' >&2
}

# 64 rows of 128 token ids (the checkpoints ship no tokenizer)
awk 'BEGIN { srand(9); for (r = 0; r < 64; r++) { printf "{\"input_ids\": ["; for (i = 0; i < 128; i++) printf "%s%d", (i ? ", " : ""), 3 + int(rand() * 31000); print "]}" } }' \
  >"$DIR/tokens.jsonl"

ROWS=()
row() { # name peak_bytes bound_gb load_s step_s
  local ok; ok=$(awk -v p="$2" -v b="$3" 'BEGIN { print (p > 0 && p <= b * 1e9) ? "yes" : "NO" }')
  ROWS+=("$(printf '%-34s %9.2f %8s %9s %9s %5s' "$1" "$(awk -v p="$2" 'BEGIN { print p / 1e9 }')" "$3" "$4" "$5" "$ok")")
}
json() { sed -n "s/.*\"$1\": \([0-9.eE+-]*\).*/\1/p" | tail -1; }

train() { # name model method bound extra...
  local name=$1 model=$2 method=$3 bound=$4; shift 4
  echo "scale-check: $name" >&2
  local out; out=$(tessera train --model "$DIR/$model" --data "$DIR/tokens.jsonl" --format tokens --method "$method" \
    --r 8 --target-modules "$TARGETS" --gradient-checkpointing --optimizer paged-adamw8bit --batch-size 1 --max-length 128 \
    --max-steps "$STEPS" --logging-steps 1 --no-shuffle --output "$DIR/run-$name" "$@" 2> >(grep -v '^WARNING' >&2))
  echo "$out" >&2
  row "$name" "$(echo "$out" | json peak_rss_bytes)" "$bound" "$(echo "$out" | json load_s)" "$(echo "$out" | json median_step_s)"
}

timed() { # name bound tessera-arguments... : peak RSS from /usr/bin/time
  local name=$1 bound=$2; shift 2
  echo "scale-check: $name" >&2
  local log="$DIR/$name.time"
  /usr/bin/time -v -o "$log" "${TESSERA[@]}" "$@" >"$DIR/$name.out" 2> >(grep -v '^WARNING' >&2)
  local kb; kb=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$log")
  local secs; secs=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$log")
  row "$name" "$((kb * 1024))" "$bound" "$secs" "-"
}

if [[ -z "${SKIP_TRAIN:-}" ]]; then
checkpoint 1.1b tinyllama-1.1b
train "1.1B QLoRA" tinyllama-1.1b qlora 1.6 --double-quant
train "1.1B LoRA (BF16 base)" tinyllama-1.1b lora 3.2
fi
if [[ -z "${ONLY_1B:-}" ]]; then
  checkpoint 7b llama-7b
  if [[ -z "${SKIP_TRAIN:-}" ]]; then
    train "7B QLoRA" llama-7b qlora 6 --double-quant
    if [[ -z "${SKIP_7B_LORA:-}" ]]; then
      train "7B LoRA (BF16 base)" llama-7b lora 16
    fi
  fi
  timed "7B quantize" 2 quantize --model "$DIR/llama-7b" --output "$DIR/llama-7b-nf4" --quant nf4 --double-quant
  timed "7B generate (4-bit folder)" 6 generate --model "$DIR/llama-7b-nf4" --prompt-ids '[1, 450, 4996, 17354]' \
    --max-new-tokens 8 --print-ids
  head -4 "$DIR/tokens.jsonl" >"$DIR/tokens4.jsonl"
  timed "7B score (4-bit folder)" 6 score --model "$DIR/llama-7b-nf4" --data "$DIR/tokens4.jsonl" --format tokens
fi

echo
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB RAM, load average $(cut -d' ' -f1-3 /proc/loadavg); steps $STEPS"
printf '%-34s %9s %8s %9s %9s %5s\n' "run" "peak GB" "bound" "load s" "step s" "ok"   # load s: wall time for quantize/generate/score
printf '%s\n' "${ROWS[@]}"

if [[ -z "${KEEP:-}" ]]; then
  rm -rf "$DIR"
fi
