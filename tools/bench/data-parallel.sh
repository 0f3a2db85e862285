#!/usr/bin/env bash
# Reproduces the data-parallel measurements of issue 14 (run on a quiet machine for clean numbers).
#   tools/bench/data-parallel.sh single BASE_DIR   # this tree against BASE_DIR (a built checkout without
#                                                  # data parallelism): bitwise equality and speed ratio
#   tools/bench/data-parallel.sh ranks             # 2 ranks x batch B/2 against 1 process x batch B:
#                                                  # step time and all-reduce time per step
# Model: a random GPT-2 (n_embd EMBD=256, LAYERS=4: 3.3M parameters) made by tools/bench/MakeGpt2.java;
# EMBD=768 LAYERS=6 makes steps long enough (about 0.3 s) that JVM start-up and JIT stay out of the ratio.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
WORK="${WORK:-/tmp/tessera-dp-bench}"
DATA="examples/src/test/resources/alpaca-tiny.jsonl"
STEPS="${STEPS:-30}"
JAVA="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}/bin/java"
mkdir -p "$WORK"
./tessera --version >/dev/null   # builds this tree if needed
EMBD="${EMBD:-256}"; LAYERS="${LAYERS:-4}"
MODEL="$WORK/gpt2-${EMBD}x${LAYERS}"
[[ -f "$MODEL/model.safetensors" ]] || "$JAVA" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
  -cp "examples/target/lib/*" tools/bench/MakeGpt2.java "$MODEL" "$EMBD" "$LAYERS" nn/src/test/resources/fixtures/gpt2-tiny-bpe 2>/dev/null

# seconds per step: the median over the logged intervals after the first (JIT warm-up)
step_seconds() {
  python3 - "$1" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1] + "/metrics.jsonl") if '"loss"' in l]
tok = [r["tokens_per_s"] for r in rows[1:]]
print(statistics.median(tok))
PY
}

run_tree() { # tree out args...; the process's CPU seconds (user + sys) go to out.cpu
  local tree="$1" out="$2"; shift 2
  rm -rf "$out"
  local TIMEFORMAT='%U %S'
  { time "$JAVA" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Djava.awt.headless=true -Xss4m \
    -cp "$tree/examples/target/tessera-examples-0.1.0-SNAPSHOT.jar:$tree/examples/target/lib/*" dev.tessera.examples.Tessera \
    train --model "$MODEL" --data "$DATA" --output "$out" --max-steps "$STEPS" --logging-steps 1 --lr 1e-4 --batch-size 8 \
    --epochs 100 "$@" >/dev/null 2>"$out.err" || { cat "$out.err" >&2; exit 1; } ; } 2>"$out.cpu"
}

case "${1:-}" in
single)
  BASE="${2:?usage: $0 single BASE_DIR}"
  for method in lora full; do
    rm -rf "$WORK/base-$method-"* "$WORK/new-$method-"*
    for i in $(seq "${PAIRS:-3}"); do   # interleaved ABBA, so that load from elsewhere and run order hit both alike
      if (( i % 2 )); then
        run_tree "$BASE" "$WORK/base-$method-$i" --method "$method"
        run_tree "$ROOT" "$WORK/new-$method-$i" --method "$method"
      else
        run_tree "$ROOT" "$WORK/new-$method-$i" --method "$method"
        run_tree "$BASE" "$WORK/base-$method-$i" --method "$method"
      fi
    done
    python3 - "$WORK" "$method" <<'PY'
import json, statistics, sys, filecmp, glob, os
work, method = sys.argv[1], sys.argv[2]
def rows(d): return [json.loads(l) for l in open(d + "/metrics.jsonl") if '"loss"' in l]
def key(d): return [(r["step"], r["loss"], r["grad_norm"]) for r in rows(d)]
ratios, cpu, same = [], [], True
pairs = sorted(int(d.rsplit("-", 1)[1]) for d in os.listdir(work) if d.startswith(f"base-{method}-") and d[-1].isdigit())
for i in pairs:
    b, n = f"{work}/base-{method}-{i}", f"{work}/new-{method}-{i}"
    same &= key(b) == key(n)
    for f in os.listdir(b):
        if f.endswith(".safetensors"):
            same &= filecmp.cmp(f"{b}/{f}", f"{n}/{f}", shallow=False)
    tb = statistics.median([r["tokens_per_s"] for r in rows(b)[1:]])
    tn = statistics.median([r["tokens_per_s"] for r in rows(n)[1:]])
    ratios.append(tb / tn)
    seconds = lambda d: sum(float(x) for x in open(d + ".cpu").read().split()[-2:])
    cpu.append(seconds(n) / seconds(b))
print(f"{method}: bitwise identical losses, grad norms and weights: {same}; new/base: median step time "
      f"{statistics.median(ratios):.3f} (runs {', '.join(f'{r:.3f}' for r in ratios)}), process CPU time "
      f"{statistics.median(cpu):.3f} (runs {', '.join(f'{r:.3f}' for r in cpu)})")
PY
  done
  ;;
ranks)
  for method in lora full; do
    run_tree "$ROOT" "$WORK/one-$method" --method "$method" --batch-size 8
    ./tessera train --nproc 2 --model "$MODEL" --data "$DATA" --output "$WORK/two-$method" --max-steps "$STEPS" --logging-steps 1 \
      --lr 1e-4 --batch-size 4 --epochs 100 --method "$method" >/dev/null 2>"$WORK/two-$method.err"
    python3 - "$WORK" "$method" <<'PY'
import json, statistics, sys
work, method = sys.argv[1], sys.argv[2]
def rows(d): return [json.loads(l) for l in open(d + "/metrics.jsonl") if '"loss"' in l][2:]
one, two = rows(f"{work}/one-{method}"), rows(f"{work}/two-{method}")
t1 = statistics.median([1 / r["tokens_per_s"] for r in one]); t2 = statistics.median([1 / r["tokens_per_s"] for r in two])
tok = statistics.median([r["tokens_per_s"] for r in one])
ar = statistics.median([r["allreduce_s"] for r in two])
print(f"{method}: global batch 8; 1 process: {1/ t1:.0f} tok/s; 2 ranks x batch 4: {1 / t2:.0f} tok/s "
      f"(2-rank/1-rank step time {t2 / t1:.2f}); all-reduce {ar * 1e3:.2f} ms per step")
PY
  done
  ;;
*) sed -n '2,7p' "$0"; exit 2 ;;
esac
