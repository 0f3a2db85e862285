package dev.tessera.core.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.core.Backend.BinaryOp;
import dev.tessera.core.Backend.UnaryOp;
import dev.tessera.core.DType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.EnumSet;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

/** The per-element rules themselves, against formulas written out in double. */
class ElementsTest {
    private static final float[] POINTS = {-1.7f, -0.3f, 0.4f, 1.3f, 2.2f};
    private static final float[] POSITIVE = {0.3f, 0.9f, 1.6f, 3.1f};

    private static double gelu(double x) {
        return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
    }

    private static double expected(UnaryOp op, double x, float p1, float p2) {
        return switch (op) {
            case NEG -> -x;
            case EXP -> Math.exp(x);
            case LOG -> Math.log(x);
            case SQRT -> Math.sqrt(x);
            case RSQRT -> 1 / Math.sqrt(x);
            case TANH -> Math.tanh(x);
            case ABS -> Math.abs(x);
            case GELU_TANH -> gelu(x);
            case SILU -> x / (1 + Math.exp(-x));
            case SIGMOID -> 1 / (1 + Math.exp(-x));
            case RELU -> Math.max(x, 0);
            case POW_SCALAR -> Math.pow(x, p1);
            case CLAMP -> Math.min(Math.max(x, p1), p2);
            case ADD_SCALAR -> x + p1;
            case MUL_SCALAR -> x * p1;
        };
    }

    private static float p1(UnaryOp op) {
        return switch (op) {
            case POW_SCALAR -> 3f;
            case CLAMP -> -1f;
            case ADD_SCALAR -> 0.75f;
            case MUL_SCALAR -> -2.5f;
            default -> 0f;
        };
    }

    private static float[] points(UnaryOp op) {
        return op == UnaryOp.LOG || op == UnaryOp.SQRT || op == UnaryOp.RSQRT ? POSITIVE : POINTS;
    }

    @Test
    void unaryRulesAndTheirDerivativesMatchTheFormulas() {
        for (UnaryOp op : UnaryOp.values()) {
            float p1 = p1(op), p2 = op == UnaryOp.CLAMP ? 2f : 0f;
            for (float x : points(op)) {
                double value = expected(op, x, p1, p2);
                assertEquals(value, Elements.unaryScalar(op, x, p1, p2), 1e-5 * Math.max(1, Math.abs(value)), op + "(" + x + ")");
                if (Elements.vectorizable(op, p1)) {
                    float vector = Elements.unaryVector(op, FloatVector.broadcast(CpuBackend.F, x), p1, p2).lane(0);
                    assertEquals(value, vector, 1e-5 * Math.max(1, Math.abs(value)), op + " vector (" + x + ")");
                }
                double h = 1e-4;
                double slope = (expected(op, x + h, p1, p2) - expected(op, x - h, p1, p2)) / (2 * h);
                assertEquals(slope, Elements.unaryDerivative(op, x, p1, p2), 1e-4 * Math.max(1, Math.abs(slope)),
                        op + "'(" + x + ")");
            }
        }
    }

    @Test
    void powerTakesItsVectorShortcutsOnlyForExponentsItHas() {
        for (float p : new float[] {2f, 1f, 0.5f, -1f}) {
            assertTrue(Elements.vectorizable(UnaryOp.POW_SCALAR, p), "x^" + p);
            for (float x : POSITIVE) {
                double value = Math.pow(x, p);
                assertEquals(value, Elements.unaryScalar(UnaryOp.POW_SCALAR, x, p, 0), 1e-6 * value, x + "^" + p);
                float vector = Elements.unaryVector(UnaryOp.POW_SCALAR, FloatVector.broadcast(CpuBackend.F, x), p, 0).lane(0);
                assertEquals(value, vector, 1e-6 * value, x + "^" + p + " vector");
                assertEquals(p * Math.pow(x, p - 1), Elements.unaryDerivative(UnaryOp.POW_SCALAR, x, p, 0), 1e-5,
                        "d/dx x^" + p + " at " + x);
            }
        }
        for (float p : new float[] {3f, 0f, -2f, 1.5f}) {
            assertFalse(Elements.vectorizable(UnaryOp.POW_SCALAR, p), "x^" + p);
        }
        assertTrue(Elements.vectorizable(UnaryOp.EXP, 3f), "p1 matters only for POW_SCALAR");
        assertEquals(0f, Elements.unaryDerivative(UnaryOp.POW_SCALAR, 0f, 0f, 0), "x^0 is constant, even at 0");
        assertEquals(0f, Elements.unaryDerivative(UnaryOp.POW_SCALAR, 5f, 0f, 0));
    }

    @Test
    void kinksTakeTheSubgradientPyTorchTakes() {
        assertEquals(0f, Elements.unaryDerivative(UnaryOp.ABS, 0f, 0, 0));
        assertEquals(0f, Elements.unaryDerivative(UnaryOp.RELU, 0f, 0, 0));
        assertEquals(0f, Elements.unaryScalar(UnaryOp.RELU, -0f, 0, 0));
        assertEquals(1f, Elements.unaryDerivative(UnaryOp.CLAMP, -1f, -1f, 2f), "the lower bound is inside");
        assertEquals(1f, Elements.unaryDerivative(UnaryOp.CLAMP, 2f, -1f, 2f), "the upper bound is inside");
        assertEquals(0f, Elements.unaryDerivative(UnaryOp.CLAMP, 2.01f, -1f, 2f));
        assertEquals(0f, Elements.unaryDerivative(UnaryOp.CLAMP, -1.01f, -1f, 2f));
        assertTrue(Float.isNaN(Elements.unaryScalar(UnaryOp.CLAMP, Float.NaN, -1f, 2f)), "clamp keeps NaN");
    }

    @Test
    void vectorGradientsOfTheHotOpsMatchTheScalarDerivatives() {
        FloatVector dy = FloatVector.broadcast(CpuBackend.F, -1.5f);
        for (UnaryOp op : Elements.VECTOR_GRADIENTS) {
            float p1 = p1(op);
            for (float x : POINTS) {
                float got = Elements.unaryGradVector(op, FloatVector.broadcast(CpuBackend.F, x), dy, p1).lane(0);
                assertEquals(-1.5f * Elements.unaryDerivative(op, x, p1, 0), got, 1e-5, op + "'(" + x + ")");
            }
        }
        for (UnaryOp op : UnaryOp.values()) {
            if (!Elements.VECTOR_GRADIENTS.contains(op)) {
                assertThrows(IllegalArgumentException.class, () -> Elements.unaryGradVector(op, dy, dy, 0), op.name());
            }
        }
        assertTrue(Elements.VECTOR_GRADIENTS.containsAll(EnumSet.of(UnaryOp.GELU_TANH, UnaryOp.SILU)),
                "the activations on training's hot path keep their vector gradients");
    }

    @Test
    void binaryRulesMatchTheFormulasAndPropagateNaN() {
        float[][] pairs = {{1.5f, -2.25f}, {-0.5f, 4f}, {3f, 3f}};
        for (float[] p : pairs) {
            float a = p[0], b = p[1];
            FloatVector va = FloatVector.broadcast(CpuBackend.F, a), vb = FloatVector.broadcast(CpuBackend.F, b);
            float[] expected = {a + b, a - b, a * b, a / b, Math.max(a, b), Math.min(a, b)};
            BinaryOp[] ops = {BinaryOp.ADD, BinaryOp.SUB, BinaryOp.MUL, BinaryOp.DIV, BinaryOp.MAXIMUM, BinaryOp.MINIMUM};
            for (int i = 0; i < ops.length; i++) {
                assertTrue(Elements.vectorizable(ops[i]));
                assertEquals(expected[i], Elements.binaryScalar(ops[i], a, b), ops[i] + "(" + a + ", " + b + ")");
                assertEquals(expected[i], Elements.binaryVector(ops[i], va, vb).lane(0), ops[i] + " vector");
            }
        }
        assertEquals(9f, Elements.binaryScalar(BinaryOp.POW, -3f, 2f));
        assertEquals(Math.pow(2.5, 1.5), Elements.binaryScalar(BinaryOp.POW, 2.5f, 1.5f), 1e-6);
        assertTrue(Float.isNaN(Elements.binaryScalar(BinaryOp.MAXIMUM, Float.NaN, 1f)));
        assertTrue(Float.isNaN(Elements.binaryScalar(BinaryOp.MAXIMUM, 1f, Float.NaN)));
        assertTrue(Float.isNaN(Elements.binaryScalar(BinaryOp.MINIMUM, Float.NaN, 1f)));
        assertTrue(Float.isNaN(Elements.binaryScalar(BinaryOp.MINIMUM, 1f, Float.NaN)));
        for (BinaryOp op : new BinaryOp[] {BinaryOp.POW, BinaryOp.EQ, BinaryOp.NE, BinaryOp.LT, BinaryOp.LE, BinaryOp.GT, BinaryOp.GE}) {
            assertFalse(Elements.vectorizable(op), op.name());
        }
        assertThrows(IllegalArgumentException.class, () -> Elements.binaryScalar(BinaryOp.EQ, 1, 1));
        FloatVector one = FloatVector.broadcast(CpuBackend.F, 1f);
        assertThrows(IllegalArgumentException.class, () -> Elements.binaryVector(BinaryOp.POW, one, one));
    }

    @Test
    void comparisonsAreStrictOrNotAsTheirNamesSay() {
        double[][] pairs = {{1, 2}, {2, 2}, {3, 2}};
        boolean[][] expected = {
            // EQ, NE, LT, LE, GT, GE
            {false, true, true, true, false, false},
            {true, false, false, true, false, true},
            {false, true, false, false, true, true},
        };
        BinaryOp[] ops = {BinaryOp.EQ, BinaryOp.NE, BinaryOp.LT, BinaryOp.LE, BinaryOp.GT, BinaryOp.GE};
        for (int p = 0; p < pairs.length; p++) {
            for (int i = 0; i < ops.length; i++) {
                assertEquals(expected[p][i], Elements.compare(ops[i], pairs[p][0], pairs[p][1]),
                        ops[i] + "(" + pairs[p][0] + ", " + pairs[p][1] + ")");
            }
        }
        assertThrows(IllegalArgumentException.class, () -> Elements.compare(BinaryOp.ADD, 1, 1));
    }

    @Test
    void elementsOfEveryDtypeAreReadAndWrittenAtTheirByteOffsets() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(64);
            for (DType t : DType.values()) {
                s.fill((byte) 0);
                Elements.write(s, t, 2, 1.0);
                Elements.write(s, t, 3, 3.0);
                assertEquals(1.0, Elements.read(s, t, 2), t + " element 2");
                assertEquals(t == DType.BOOL ? 1.0 : 3.0, Elements.read(s, t, 3), t + " element 3");
                assertEquals(0.0, Elements.read(s, t, 1), t + " element 1 untouched");
                assertEquals(0.0, Elements.read(s, t, 4), t + " element 4 untouched");
                assertEquals(1L, Elements.readLong(s, t, 2), t + " as long");
                Elements.writeLong(s, t, 1, 1L);
                assertEquals(1.0, Elements.read(s, t, 1), t + " written as long");
            }
        }
    }

    @Test
    void castsToIntegersTruncateTowardZeroAndWrapLikePyTorch() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(16);
            Elements.write(s, DType.I64, 0, -3.7);
            assertEquals(-3L, Elements.readLong(s, DType.I64, 0));
            Elements.write(s, DType.I32, 0, 3.7);
            assertEquals(3L, Elements.readLong(s, DType.I32, 0));
            Elements.write(s, DType.U8, 0, 255);
            assertEquals(255L, Elements.readLong(s, DType.U8, 0), "U8 reads unsigned");
            assertEquals(255.0, Elements.read(s, DType.U8, 0));
            Elements.writeLong(s, DType.U8, 0, 200);
            assertEquals(200L, Elements.readLong(s, DType.U8, 0));
            Elements.write(s, DType.BOOL, 0, -2);
            assertEquals(1L, Elements.readLong(s, DType.BOOL, 0), "any nonzero is true");
            Elements.writeLong(s, DType.BOOL, 0, 5);
            assertEquals(1L, Elements.readLong(s, DType.BOOL, 0));
            assertEquals(1.0, Elements.read(s, DType.BOOL, 0));
            Elements.writeLong(s, DType.I32, 0, 1L << 33 | 7);
            assertEquals(7L, Elements.readLong(s, DType.I32, 0), "I32 keeps the low 32 bits");
            Elements.writeLong(s, DType.F32, 0, 5L);
            assertEquals(5L, Elements.readLong(s, DType.F32, 0), "floating dtypes go through double");
            Elements.write(s, DType.BF16, 0, 1.00390625);          // halfway between BF16 1 and 1.0078125: to even
            assertEquals(1.0, Elements.read(s, DType.BF16, 0));
            Elements.write(s, DType.F16, 0, 1.5);
            assertEquals(1.5, Elements.read(s, DType.F16, 0));
        }
    }
}
