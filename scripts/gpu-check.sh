#!/usr/bin/env bash
# The whole GPU check of Tessera's CUDA backend, for a GPU machine that has no Java.
#
# 1. On a build machine (JDK 25 + Maven), make the payload: a jlink'd Java runtime and the jars.
#        scripts/gpu-check.sh package [DIR]          # DIR defaults to target-gpu-check (git-ignored)
#    which runs
#        mvn -Dtessera.target=target-gpu -pl cuda-bindings -am -DskipTests package \
#            dependency:copy-dependencies -DincludeScope=test -DoutputDirectory=DIR/lib
#        cp cuda-bindings/target-gpu/*.jar DIR/lib/
#        jlink --add-modules java.base,java.logging,java.management,jdk.incubator.vector,jdk.zipfs \
#              --strip-debug --no-man-pages --no-header-files --compress=zip-9 --output DIR/jre
#    (jdeps finds java.base and the Vector API; JUnit needs java.logging and java.management, and jdk.zipfs
#    to scan the test jar for tests) and
#    copies this script to DIR/. The payload is about 48 MiB, under the 64 MiB a device run carries.
#
# 2. On the GPU machine, from the repository root or from inside DIR:
#        scripts/gpu-check.sh [--no-bench]          # or DIR/gpu-check.sh
#    It runs dev.tessera.cuda.check.GpuCheck from the test jar: every test of cuda-bindings through
#    the JUnit Platform launcher (the op-by-op CUDA-vs-CPU tests among them, one PASS/FAIL/SKIP line
#    each), then the cuBLAS SGEMM benchmark (4096^3 and GPT-2's shapes, GPU vs CPU GFLOP/s; a shape
#    runs only if it fits in 90% of the free memory cuMemGetInfo reports), then one summary ending in
#    "gpu-check: N passed, N failed, N skipped". Exit status 0 only when CUDA was usable and nothing
#    failed. libcuda.so.1 comes from the driver; cuBLAS and NVRTC are found on the loader path,
#    under /usr/local/cuda, or in pip's nvidia-* wheels (-Dtessera.cuda.libpath=DIR via JAVA_OPTS).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

if [ "${1:-}" = "package" ]; then
    root="$(cd "$here/.." && pwd)"
    out="${2:-$root/target-gpu-check}"
    java_home="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
    rm -rf "$out"
    mkdir -p "$out/lib"
    (cd "$root" && JAVA_HOME="$java_home" mvn -q -Dtessera.target=target-gpu -pl cuda-bindings -am -DskipTests package \
        dependency:copy-dependencies -DincludeScope=test -DoutputDirectory="$out/lib")
    cp "$root"/cuda-bindings/target-gpu/tessera-cuda-bindings-*.jar "$out/lib/"
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

# shellcheck disable=SC2086
exec timeout "${GPU_CHECK_TIMEOUT:-540}" "$java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
    -Xss4m -Xmx${GPU_CHECK_HEAP:-16g} ${JAVA_OPTS:-} -cp "$payload/lib/*" dev.tessera.cuda.check.GpuCheck "$@"
