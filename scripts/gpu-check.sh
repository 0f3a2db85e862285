#!/usr/bin/env bash
# The whole GPU check of Tessera's CUDA backend, for a GPU machine that has no Java.
#
# 1. On a build machine (JDK 25 + Maven), make the payload: a jlink'd Java runtime and the jars.
#        scripts/gpu-check.sh package [DIR]          # DIR defaults to target-gpu-check (git-ignored)
#    which runs
#        mvn -Dtessera.target=target-gpu -pl examples -am -DskipTests package \
#            dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory=DIR/lib
#        mvn -Dtessera.target=target-gpu -pl cuda-bindings dependency:copy-dependencies -DincludeScope=test \
#            -DexcludeGroupIds=dev.tessera -DoutputDirectory=DIR/lib      # JUnit for the test jar
#        cp cuda-bindings/target-gpu/*.jar examples/target-gpu/*.jar core/target-gpu/*-tests.jar DIR/lib/
#        cp -r nn/src/test/resources/fixtures/{gpt2-tiny,llama-tiny-bf16} tools/bench/torch_train_step.py DIR/
#        jlink --add-modules java.base,java.logging,java.management,jdk.incubator.vector,jdk.zipfs \
#              --strip-debug --no-man-pages --no-header-files --compress=zip-9 --output DIR/jre
#    (jdeps finds java.base and the Vector API; JUnit needs java.logging and java.management, and jdk.zipfs
#    to scan the test jar for tests) and
#    copies this script to DIR/. The payload is about 50 MiB, under the 64 MiB a device run carries.
#
# 2. On the GPU machine, from the repository root or from inside DIR:
#        scripts/gpu-check.sh [--no-bench]          # or DIR/gpu-check.sh
#    It runs dev.tessera.cuda.check.GpuCheck from the test jar: every test of cuda-bindings through
#    the JUnit Platform launcher (the op-by-op CUDA-vs-CPU tests among them, one PASS/FAIL/SKIP line
#    each), then the cuBLAS SGEMM benchmark (4096^3 and GPT-2's shapes, GPU vs CPU GFLOP/s; a shape
#    runs only if it fits in 90% of the free memory cuMemGetInfo reports), then one summary ending in
#    "gpu-check: N passed, N failed, N skipped" (CudaPagedMemoryTest among them: pages in device memory and
#    pinned host memory against the CPU's tiers). Then the paged optimizers (dev.tessera.examples.bench.
#    PagedOptimizerCheck: paged AdamW and paged 8-bit AdamW on the GPU bitwise equal to unpaged, under a fast
#    tier of 4 pages), models loaded straight to the GPU (dev.tessera.examples.bench.DeviceLoadCheck: bitwise
#    equal to CPU loads moved there, one tensor of host memory at the peak, embedding and rotary ids looked up
#    on the GPU with the CPU's error text), and two model checks:
#      - GPT-2-tiny trained 10 steps with `tessera train` on the GPU and on the CPU, full / LoRA / QLoRA
#        with paged 8-bit AdamW, every loss within 1e-4 relative (dev.tessera.examples.bench.DeviceTrainingCheck);
#      - a GPT-2 (124M, random weights) LoRA training step on the GPU: tokens/s of `tessera bench train
#        --device cuda` against PyTorch + PEFT (tools/bench/torch_train_step.py --device cuda) when python3
#        with torch and peft is there.
#    The whole script stays under 8 minutes (GPU_CHECK_TIMEOUT for the op tests, 120 s per later check).
#    Exit status 0 only when CUDA was usable and nothing failed. libcuda.so.1 comes from the driver; cuBLAS and NVRTC are found on the loader path,
#    under /usr/local/cuda, or in pip's nvidia-* wheels (-Dtessera.cuda.libpath=DIR via JAVA_OPTS).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

if [ "${1:-}" = "package" ]; then
    root="$(cd "$here/.." && pwd)"
    out="${2:-$root/target-gpu-check}"
    java_home="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
    rm -rf "$out"
    mkdir -p "$out/lib"
    (cd "$root" && JAVA_HOME="$java_home" mvn -q -Dtessera.target=target-gpu -pl examples -am -DskipTests package \
        dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$out/lib" \
        && JAVA_HOME="$java_home" mvn -q -Dtessera.target=target-gpu -pl cuda-bindings dependency:copy-dependencies \
        -DincludeScope=test -DexcludeGroupIds=dev.tessera -DoutputDirectory="$out/lib")
    cp "$root"/cuda-bindings/target-gpu/tessera-cuda-bindings-*.jar "$root"/examples/target-gpu/tessera-examples-*.jar \
        "$root"/core/target-gpu/tessera-core-*-tests.jar "$out/lib/"
    cp -r "$root/nn/src/test/resources/fixtures/gpt2-tiny" "$root/nn/src/test/resources/fixtures/llama-tiny-bf16" \
        "$root/tools/bench/torch_train_step.py" "$out/"
    "$java_home/bin/jlink" --add-modules java.base,java.logging,java.management,jdk.incubator.vector,jdk.zipfs \
        --strip-debug --no-man-pages --no-header-files --compress=zip-9 --output "$out/jre"
    cp "$here/gpu-check.sh" "$out/gpu-check.sh"
    echo "gpu-check payload: $out ($(du -sh "$out" | cut -f1))"
    exit 0
fi

# Where the payload is: beside this script (a copy inside DIR), $GPU_CHECK_HOME, or the repo's target-gpu-check.
if [ -d "$here/lib" ]; then
    payload="$here"
elif [ -n "${GPU_CHECK_HOME:-}" ]; then
    payload="$GPU_CHECK_HOME"
else
    payload="$(cd "$here/.." && pwd)/target-gpu-check"
fi
if [ ! -d "$payload/lib" ]; then
    echo "gpu-check: no payload at $payload (build it with: scripts/gpu-check.sh package)" >&2
    exit 2
fi
if [ -x "$payload/jre/bin/java" ]; then
    java="$payload/jre/bin/java"
elif [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then
    java="$JAVA_HOME/bin/java"
else
    java="$(command -v java || true)"
fi
if [ -z "$java" ]; then
    echo "gpu-check: no Java runtime (expected $payload/jre/bin/java)" >&2
    exit 2
fi

if command -v nvidia-smi >/dev/null 2>&1; then
    nvidia-smi --query-gpu=name,driver_version,memory.used,memory.total --format=csv,noheader || true
fi

jvm=("$java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xss4m -Xmx${GPU_CHECK_HEAP:-16g})
status=0
# shellcheck disable=SC2086
timeout "${GPU_CHECK_TIMEOUT:-300}" "${jvm[@]}" ${JAVA_OPTS:-} -cp "$payload/lib/*" dev.tessera.cuda.check.GpuCheck "$@" || status=1

# Paged AdamW and paged 8-bit AdamW on the GPU (device-memory fast tier, pinned slow tier) bitwise equal to unpaged
# shellcheck disable=SC2086
timeout 60 "${jvm[@]}" ${JAVA_OPTS:-} -cp "$payload/lib/*" dev.tessera.examples.bench.PagedOptimizerCheck cuda \
    2>/dev/null || status=1

# Checkpoints straight to the GPU, bitwise equal to CPU loads moved there; ids looked up on the GPU
fixtures="$payload"
[ -d "$fixtures/llama-tiny-bf16" ] || fixtures="$(cd "$here/.." && pwd)/nn/src/test/resources/fixtures"
# shellcheck disable=SC2086
timeout 60 "${jvm[@]}" ${JAVA_OPTS:-} -cp "$payload/lib/*" dev.tessera.examples.bench.DeviceLoadCheck "$fixtures" \
    2>/dev/null || status=1

# GPT-2-tiny, 10 steps, GPU against CPU
model="$fixtures/gpt2-tiny"
# shellcheck disable=SC2086
timeout 120 "${jvm[@]}" ${JAVA_OPTS:-} -cp "$payload/lib/*" dev.tessera.examples.bench.DeviceTrainingCheck "$model" cuda \
    2>/dev/null || status=1

# GPT-2 (124M) LoRA step on the GPU: Tessera against PyTorch + PEFT
if [ "${1:-}" != "--no-bench" ]; then
    big="$(mktemp -d)"
    trap 'rm -rf "$big"' EXIT
    cat > "$big/config.json" <<'JSON'
{"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "activation_function": "gelu_new", "n_embd": 768,
 "n_head": 12, "n_layer": 12, "n_positions": 1024, "n_inner": null, "vocab_size": 50257, "layer_norm_epsilon": 1e-05,
 "attn_pdrop": 0.0, "embd_pdrop": 0.0, "resid_pdrop": 0.0, "bos_token_id": 50256, "eos_token_id": 50256,
 "tie_word_embeddings": true, "scale_attn_weights": true, "dtype": "float32"}
JSON
    bench=(--method lora --r 8 --batch-size 4 --seq-len 512 --steps 10)
    # shellcheck disable=SC2086
    ours="$(timeout 120 "${jvm[@]}" ${JAVA_OPTS:-} -cp "$payload/lib/*" dev.tessera.examples.bench.RandomModelFolder "$big" \
        && timeout 120 "${jvm[@]}" ${JAVA_OPTS:-} -cp "$payload/lib/*" dev.tessera.examples.Tessera bench train \
        --model "$big" "${bench[@]}" --device cuda 2>/dev/null | tail -1)" || status=1
    torch_py="$payload/torch_train_step.py"
    [ -f "$torch_py" ] || torch_py="$(cd "$here/.." && pwd)/tools/bench/torch_train_step.py"
    if python3 -c "import torch, peft, transformers; assert torch.cuda.is_available()" 2>/dev/null; then
        theirs="$(timeout 120 python3 "$torch_py" --model "$big" "${bench[@]}" --device cuda 2>/dev/null | tail -1)" || theirs=""
    else
        theirs=""
    fi
    tps() { sed -nE 's/.*"tokens_per_s": *([0-9.eE+-]+).*/\1/p' <<< "$1"; }
    t_ours="$(tps "$ours")"
    t_theirs="$(tps "$theirs")"
    if [ -n "$t_ours" ] && [ -n "$t_theirs" ]; then
        echo "gpt2-124m lora step on the GPU: tessera ${t_ours} tokens/s, pytorch+peft ${t_theirs} tokens/s, ratio $(python3 -c "print(f'{$t_ours / $t_theirs:.2f}')")"
    else
        echo "gpt2-124m lora step on the GPU: tessera ${t_ours:-failed} tokens/s, pytorch+peft ${t_theirs:-unavailable}"
    fi
fi
exit "$status"
