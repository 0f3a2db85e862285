package dev.tessera.core;

import java.io.IOException;
import java.io.InputStream;
import java.lang.classfile.ClassFile;
import java.lang.classfile.ClassModel;
import java.lang.classfile.CodeModel;
import java.lang.classfile.MethodModel;
import java.lang.classfile.instruction.InvokeDynamicInstruction;
import java.lang.classfile.instruction.InvokeInstruction;
import java.lang.constant.DirectMethodHandleDesc;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Parameter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.InvocationInterceptor;
import org.junit.jupiter.api.extension.ReflectiveInvocationContext;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs every property test (a test method that reaches QuickTheories' {@code qt()}, directly,
 * through a helper of its class or in a lambda) once with the fixed seed and then again with
 * seeds derived from it, so a failure that depends on the seed shows up in CI, still
 * repeatably. The derived seeds are the first numbers of {@code new SplittableRandom(fixed)};
 * {@code -Dtessera.qt.derivedSeeds=N} sets how many (default 2, 0 turns this off). A failure
 * names the seed to rerun with ({@code ./tessera test -Dqt.seed=SEED}).
 *
 * <p>Registered through JUnit's extension autodetection (the parent pom's Surefire
 * configuration, and core's test jar for the other modules). The extra runs reuse the test
 * instance (no {@code @BeforeEach} runs between them) and its arguments, except that each gets
 * a new empty {@code @TempDir}. Tests that pin their own seed ({@code withFixedSeed}) run once.
 */
public final class DerivedSeeds implements InvocationInterceptor {
    static final String SEED_PROPERTY = "QT_SEED";
    static final String COUNT_PROPERTY = "tessera.qt.derivedSeeds";
    private static final String QUICK_THEORY = "org/quicktheories/QuickTheory";

    /** The {@code count} seeds derived from {@code fixed}. */
    static long[] derived(long fixed, int count) {
        SplittableRandom random = new SplittableRandom(fixed);
        long[] seeds = new long[count];
        for (int i = 0; i < count; i++) {
            seeds[i] = random.nextLong();
        }
        return seeds;
    }

    @Override
    public void interceptTestMethod(Invocation<Void> invocation, ReflectiveInvocationContext<Method> call,
                                    ExtensionContext context) throws Throwable {
        String fixed = System.getProperty(SEED_PROPERTY);
        int count = Integer.getInteger(COUNT_PROPERTY, 2);
        Method method = call.getExecutable();
        if (fixed == null || count <= 0 || !drawsFromTheSeed(method)) {
            invocation.proceed();
            return;
        }
        invocation.proceed();
        method.setAccessible(true);
        Object target = call.getTarget().orElse(null);
        for (long seed : derived(Long.parseLong(fixed), count)) {
            System.setProperty(SEED_PROPERTY, Long.toString(seed));
            List<Path> freshDirs = new ArrayList<>();
            try {
                method.invoke(target, arguments(method, call.getArguments(), freshDirs));
            } catch (InvocationTargetException e) {
                throw new AssertionError("fails with QuickTheories seed " + seed + ", derived from " + fixed
                        + " (rerun: ./tessera test -Dqt.seed=" + seed + "): " + e.getCause(), e.getCause());
            } finally {
                System.setProperty(SEED_PROPERTY, fixed);
                for (Path dir : freshDirs) {
                    deleteTree(dir);
                }
            }
        }
    }

    /** The first run's arguments, with a new empty folder for each {@code @TempDir} one. */
    private static Object[] arguments(Method method, List<Object> first, List<Path> freshDirs) throws IOException {
        Object[] args = first.toArray();
        Parameter[] parameters = method.getParameters();
        for (int i = 0; i < args.length; i++) {
            if (parameters[i].isAnnotationPresent(TempDir.class) && args[i] instanceof Path) {
                Path dir = Files.createTempDirectory("derived-seed");
                freshDirs.add(dir);
                args[i] = dir;
            }
        }
        return args;
    }

    private static void deleteTree(Path dir) throws IOException {
        try (var paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    /** True when the method calls qt() and no withFixedSeed, following calls within its class. */
    static boolean drawsFromTheSeed(Method method) {
        ClassModel model = parse(method.getDeclaringClass());
        if (model == null) {
            return false;
        }
        String owner = model.thisClass().asInternalName();
        boolean qt = false;
        Set<String> seen = new HashSet<>();
        ArrayDeque<String> todo = new ArrayDeque<>();
        todo.add(method.getName() + descriptor(method));
        while (!todo.isEmpty()) {
            String key = todo.poll();
            if (!seen.add(key)) {
                continue;
            }
            for (MethodModel m : model.methods()) {
                if (!key.equals(m.methodName().stringValue() + m.methodType().stringValue()) || m.code().isEmpty()) {
                    continue;
                }
                CodeModel code = m.code().get();
                for (var element : code) {
                    if (element instanceof InvokeInstruction call) {
                        String callee = call.owner().asInternalName();
                        if (callee.equals(QUICK_THEORY) && call.name().equalsString("qt")) {
                            qt = true;
                        } else if (callee.startsWith("org/quicktheories/") && call.name().equalsString("withFixedSeed")) {
                            return false;
                        } else if (callee.equals(owner)) {
                            todo.add(call.name().stringValue() + call.type().stringValue());
                        }
                    } else if (element instanceof InvokeDynamicInstruction indy) {
                        for (var arg : indy.bootstrapArgs()) {
                            if (arg instanceof DirectMethodHandleDesc handle
                                    && handle.owner().descriptorString().equals("L" + owner + ";")) {
                                todo.add(handle.methodName() + handle.lookupDescriptor());
                            }
                        }
                    }
                }
            }
        }
        return qt;
    }

    private static String descriptor(Method method) {
        StringBuilder d = new StringBuilder("(");
        for (Class<?> p : method.getParameterTypes()) {
            d.append(p.descriptorString());
        }
        return d.append(')').append(method.getReturnType().descriptorString()).toString();
    }

    private static ClassModel parse(Class<?> type) {
        String file = type.getName().substring(type.getName().lastIndexOf('.') + 1) + ".class";
        try (InputStream in = type.getResourceAsStream(file)) {
            return in == null ? null : ClassFile.of().parse(in.readAllBytes());
        } catch (IOException e) {
            return null;
        }
    }
}
