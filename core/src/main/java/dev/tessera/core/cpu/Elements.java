package dev.tessera.core.cpu;

import dev.tessera.core.Backend.BinaryOp;
import dev.tessera.core.Backend.UnaryOp;
import dev.tessera.core.DType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.EnumSet;
import java.util.Set;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/** Per-element rules of the elementwise ops: scalar forms (the reference) and vector forms. */
final class Elements {
    private static final FloatVector ONE = FloatVector.broadcast(CpuBackend.F, 1f);

    private Elements() {}

    // ---- dtype-generic element access (slow paths: casts, comparisons, odd dtypes)

    static double read(MemorySegment s, DType t, long index) {
        return switch (t) {
            case F32 -> s.get(ValueLayout.JAVA_FLOAT_UNALIGNED, index * 4);
            case BF16 -> DType.bf16ToFloat(s.get(ValueLayout.JAVA_SHORT_UNALIGNED, index * 2));
            case F16 -> DType.f16ToFloat(s.get(ValueLayout.JAVA_SHORT_UNALIGNED, index * 2));
            case I64 -> s.get(ValueLayout.JAVA_LONG_UNALIGNED, index * 8);
            case I32 -> s.get(ValueLayout.JAVA_INT_UNALIGNED, index * 4);
            case U8 -> s.get(ValueLayout.JAVA_BYTE, index) & 0xFF;
            case BOOL -> s.get(ValueLayout.JAVA_BYTE, index) != 0 ? 1 : 0;
        };
    }

    static void write(MemorySegment s, DType t, long index, double v) {
        switch (t) {
            case F32 -> s.set(ValueLayout.JAVA_FLOAT_UNALIGNED, index * 4, (float) v);
            case BF16 -> s.set(ValueLayout.JAVA_SHORT_UNALIGNED, index * 2, DType.floatToBf16((float) v));
            case F16 -> s.set(ValueLayout.JAVA_SHORT_UNALIGNED, index * 2, DType.floatToF16((float) v));
            // float -> integer casts truncate toward zero, as PyTorch
            case I64 -> s.set(ValueLayout.JAVA_LONG_UNALIGNED, index * 8, (long) v);
            case I32 -> s.set(ValueLayout.JAVA_INT_UNALIGNED, index * 4, (int) (long) v);
            case U8 -> s.set(ValueLayout.JAVA_BYTE, index, (byte) (long) v);
            case BOOL -> s.set(ValueLayout.JAVA_BYTE, index, v != 0 ? (byte) 1 : 0);
        }
    }

    static long readLong(MemorySegment s, DType t, long index) {
        return switch (t) {
            case I64 -> s.get(ValueLayout.JAVA_LONG_UNALIGNED, index * 8);
            case I32 -> s.get(ValueLayout.JAVA_INT_UNALIGNED, index * 4);
            case U8 -> s.get(ValueLayout.JAVA_BYTE, index) & 0xFF;
            case BOOL -> s.get(ValueLayout.JAVA_BYTE, index) != 0 ? 1 : 0;
            default -> (long) read(s, t, index);
        };
    }

    static void writeLong(MemorySegment s, DType t, long index, long v) {
        switch (t) {
            case I64 -> s.set(ValueLayout.JAVA_LONG_UNALIGNED, index * 8, v);
            case I32 -> s.set(ValueLayout.JAVA_INT_UNALIGNED, index * 4, (int) v);
            case U8 -> s.set(ValueLayout.JAVA_BYTE, index, (byte) v);
            case BOOL -> s.set(ValueLayout.JAVA_BYTE, index, v != 0 ? (byte) 1 : 0);
            default -> write(s, t, index, v);
        }
    }

    // ---- unary

    static boolean vectorizable(UnaryOp op, float p1) {
        return op != UnaryOp.POW_SCALAR || p1 == 2f || p1 == 1f || p1 == 0.5f || p1 == -1f;
    }

    static float unaryScalar(UnaryOp op, float x, float p1, float p2) {
        return switch (op) {
            case NEG -> -x;
            case EXP -> VecMath.exp(x);
            case LOG -> (float) Math.log(x);
            case SQRT -> (float) Math.sqrt(x);
            case RSQRT -> (float) (1 / Math.sqrt(x));
            case TANH -> VecMath.tanh(x);
            case ABS -> Math.abs(x);
            case GELU_TANH -> CpuBackend.geluScalar(x);
            case SILU -> (float) (x / (1 + Math.exp(-x)));
            case SIGMOID -> (float) (1 / (1 + Math.exp(-x)));
            case RELU -> x > 0 ? x : 0f;
            case POW_SCALAR -> p1 == 2f ? x * x : (float) Math.pow(x, p1);
            case CLAMP -> Float.isNaN(x) ? x : Math.min(Math.max(x, p1), p2);
            case ADD_SCALAR -> x + p1;
            case MUL_SCALAR -> x * p1;
        };
    }

    static FloatVector unaryVector(UnaryOp op, FloatVector x, float p1, float p2) {
        return switch (op) {
            case NEG -> x.neg();
            case EXP -> VecMath.exp(x);
            case LOG -> x.lanewise(VectorOperators.LOG);
            case SQRT -> x.sqrt();
            case RSQRT -> ONE.div(x.sqrt());
            case TANH -> VecMath.tanh(x);
            case ABS -> x.abs();
            case GELU_TANH -> CpuBackend.geluVector(x);
            case SILU -> x.div(VecMath.exp(x.neg()).add(1f));
            case SIGMOID -> ONE.div(VecMath.exp(x.neg()).add(1f));
            case RELU -> x.max(0f);
            case POW_SCALAR -> p1 == 2f ? x.mul(x) : p1 == 1f ? x : p1 == 0.5f ? x.sqrt() : ONE.div(x);
            case CLAMP -> x.max(p1).min(p2);
            case ADD_SCALAR -> x.add(p1);
            case MUL_SCALAR -> x.mul(p1);
        };
    }

    /** d op(x) / dx. */
    static float unaryDerivative(UnaryOp op, float x, float p1, float p2) {
        return switch (op) {
            case NEG -> -1f;
            case EXP -> (float) Math.exp(x);
            case LOG -> 1f / x;
            case SQRT -> (float) (0.5 / Math.sqrt(x));
            case RSQRT -> (float) (-0.5 * Math.pow(x, -1.5));
            case TANH -> {
                float t = (float) Math.tanh(x);
                yield 1f - t * t;
            }
            case ABS -> x > 0 ? 1f : x < 0 ? -1f : 0f;
            case GELU_TANH -> CpuBackend.geluDerivative(x);
            case SILU -> {
                float s = (float) (1 / (1 + Math.exp(-x)));
                yield s * (1f + x * (1f - s));
            }
            case SIGMOID -> {
                float s = (float) (1 / (1 + Math.exp(-x)));
                yield s * (1f - s);
            }
            case RELU -> x > 0 ? 1f : 0f;
            case POW_SCALAR -> p1 == 0f ? 0f : p1 == 2f ? 2f * x : (float) (p1 * Math.pow(x, p1 - 1));
            case CLAMP -> x >= p1 && x <= p2 ? 1f : 0f;
            case ADD_SCALAR -> 1f;
            case MUL_SCALAR -> p1;
        };
    }

    /** The ops whose gradient has a vector form ({@link #unaryGradVector}); the others use {@link #unaryDerivative}. */
    static final Set<UnaryOp> VECTOR_GRADIENTS = EnumSet.of(UnaryOp.GELU_TANH, UnaryOp.SILU, UnaryOp.MUL_SCALAR, UnaryOp.ADD_SCALAR);

    /** dy * op'(x) for the ops on the hot path of training, {@link #VECTOR_GRADIENTS}. */
    static FloatVector unaryGradVector(UnaryOp op, FloatVector x, FloatVector dy, float p1) {
        return switch (op) {
            case GELU_TANH -> dy.mul(CpuBackend.geluDerivativeVector(x));
            case SILU -> {
                FloatVector s = VecMath.exp(x.neg()).add(1f);
                s = ONE.div(s);
                yield dy.mul(s.mul(x.mul(s.neg().add(1f)).add(1f)));
            }
            case MUL_SCALAR -> dy.mul(p1);
            case ADD_SCALAR -> dy;
            default -> throw new IllegalArgumentException(op.name());
        };
    }

    // ---- binary

    static boolean vectorizable(BinaryOp op) {
        return switch (op) {
            case ADD, SUB, MUL, DIV, MAXIMUM, MINIMUM -> true;
            default -> false;
        };
    }

    static float binaryScalar(BinaryOp op, float a, float b) {
        return switch (op) {
            case ADD -> a + b;
            case SUB -> a - b;
            case MUL -> a * b;
            case DIV -> a / b;
            case POW -> b == 2f ? a * a : (float) Math.pow(a, b);
            case MAXIMUM -> Float.isNaN(a) || Float.isNaN(b) ? Float.NaN : Math.max(a, b);
            case MINIMUM -> Float.isNaN(a) || Float.isNaN(b) ? Float.NaN : Math.min(a, b);
            default -> throw new IllegalArgumentException(op.name());
        };
    }

    static FloatVector binaryVector(BinaryOp op, FloatVector a, FloatVector b) {
        return switch (op) {
            case ADD -> a.add(b);
            case SUB -> a.sub(b);
            case MUL -> a.mul(b);
            case DIV -> a.div(b);
            case MAXIMUM -> a.max(b);
            case MINIMUM -> a.min(b);
            default -> throw new IllegalArgumentException(op.name());
        };
    }

    static boolean compare(BinaryOp op, double a, double b) {
        return switch (op) {
            case EQ -> a == b;
            case NE -> a != b;
            case LT -> a < b;
            case LE -> a <= b;
            case GT -> a > b;
            case GE -> a >= b;
            default -> throw new IllegalArgumentException(op.name());
        };
    }
}
