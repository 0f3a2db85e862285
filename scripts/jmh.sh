#!/usr/bin/env bash
# JMH micro-benchmarks of the CPU kernels (core/src/jmh/java): the packed GEMM on GPT-2 shapes, the
# register micro-kernels, NF4 dequantization against a copy, and the fused row kernels / AdamW.
# Not part of the test suite. Arguments go to JMH, e.g.
#   scripts/jmh.sh                       every benchmark (about 6 minutes)
#   scripts/jmh.sh GemmBench -p shape=1024,1024,1024,false,false
#   scripts/jmh.sh MicroKernelBench -wi 3 -i 3
#   scripts/jmh.sh -l                    list them
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if [[ -z "${JAVA_HOME:-}" || ! -x "$JAVA_HOME/bin/java" ]]; then
  JAVA_HOME="$(ls -d /usr/lib/jvm/*25* 2>/dev/null | head -1)"
fi
export JAVA_HOME
CP_FILE="$ROOT/core/target/jmh.classpath"
mvn -B -q -Pjmh -pl core test-compile dependency:build-classpath \
    -Dmdep.outputFile="$CP_FILE" -Dmdep.includeScope=test >&2
exec "$JAVA_HOME/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
    -cp "$ROOT/core/target/test-classes:$ROOT/core/target/classes:$(cat "$CP_FILE")" \
    org.openjdk.jmh.Main "$@"
