package dev.tessera.examples;

import static dev.tessera.examples.CliTest.run;
import static dev.tessera.examples.FirstHourTest.assertOneLineError;
import static dev.tessera.examples.FirstHourTest.train;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Flags that take one of a few names (converted by picocli): a bad value is one usage line in the flag's words, exit 2. */
class NamedValuesCliTest {
    @Test
    void aBadNameIsOneLineListingTheChoices(@TempDir Path dir) {
        Path out = dir.resolve("o");
        assertOneLineError(run(train(out, "--optimizer", "adam")), 2,
                "--optimizer: expected adamw, sgd, adamw8bit, paged-adamw, paged-adamw8bit; got 'adam'");
        assertOneLineError(run(train(out, "--method", "qlora4")), 2, "--method: expected full, lora, qlora", "got 'qlora4'");
        assertOneLineError(run(train(out, "--scheduler", "step")), 2, "--scheduler: expected constant, linear, cosine; got 'step'");
        assertOneLineError(run(train(out, "--quant", "int4")), 2, "--quant: expected nf4, fp4; got 'int4'");
        assertOneLineError(run(train(out, "--format", "csv")), 2, "--format: expected auto, tokens");
        assertOneLineError(run(train(out, "--torch-dtype", "int8")), 2, "--torch-dtype: expected auto, bfloat16");
        assertOneLineError(run(train(out, "--betas", "0.9,x")), 2, "--betas");
        assertOneLineError(run(train(out, "--betas", "0.9")), 2, "--betas: expected b1,b2");
        assertOneLineError(run("quantize", "--model", dir.toString(), "--output", out.toString(), "--quant", "q4"), 2, "--quant: expected nf4, fp4");
    }
}
