package dev.tessera.examples.cli;

import dev.tessera.quant.QuantType;
import dev.tessera.training.optim.OptimizerType;
import dev.tessera.training.optim.SchedulerType;
import java.util.Arrays;
import java.util.function.Function;
import java.util.stream.Collectors;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * picocli converters for flags that take one of a few names ({@code --method lora},
 * {@code --optimizer paged-adamw8bit}, {@code --quant nf4}): a value outside the list is a
 * one-line usage error naming the choices (exit 2).
 */
final class NamedValues {
    private NamedValues() {}

    /** The choice whose name is {@code value}. */
    static <E> E convert(String value, E[] choices, Function<E, String> name) {
        for (E c : choices) {
            if (name.apply(c).equals(value)) {
                return c;
            }
        }
        throw new TypeConversionException("expected " + Arrays.stream(choices).map(name).collect(Collectors.joining(", "))
                + "; got '" + value + "'");
    }

    static final class Methods implements ITypeConverter<TrainMethod> {
        @Override
        public TrainMethod convert(String value) {
            return NamedValues.convert(value, TrainMethod.values(), TrainMethod::toString);
        }
    }

    /** The methods whose memory and speed are measured ({@code bench train}, {@code memory}): full, lora, qlora. */
    static final class MeasuredMethods implements ITypeConverter<TrainMethod> {
        @Override
        public TrainMethod convert(String value) {
            return NamedValues.convert(value, new TrainMethod[] {TrainMethod.FULL, TrainMethod.LORA, TrainMethod.QLORA},
                    TrainMethod::toString);
        }
    }

    static final class Optimizers implements ITypeConverter<OptimizerType> {
        @Override
        public OptimizerType convert(String value) {
            return NamedValues.convert(value, OptimizerType.values(), OptimizerType::toString);
        }
    }

    static final class Schedulers implements ITypeConverter<SchedulerType> {
        @Override
        public SchedulerType convert(String value) {
            return NamedValues.convert(value, SchedulerType.values(), SchedulerType::toString);
        }
    }

    /** {@code nf4} or {@code fp4}. */
    static final class QuantTypes implements ITypeConverter<QuantType> {
        @Override
        public QuantType convert(String value) {
            return NamedValues.convert(value, QuantType.values(), QuantType::bnbName);
        }
    }
}
