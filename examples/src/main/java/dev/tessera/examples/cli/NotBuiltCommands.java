package dev.tessera.examples.cli;

import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** Commands of the CLI contract whose implementation has not landed yet: they say so and exit 2. */
public final class NotBuiltCommands {
    private NotBuiltCommands() {}

    abstract static class Pending implements Callable<Integer> {
        @Parameters(hidden = true)
        List<String> ignored;

        abstract String issue();

        @Override
        public Integer call() {
            String name = getClass().getAnnotation(Command.class).name();
            System.err.println("tessera " + name + ": not built yet (" + issue() + ")");
            return 2;
        }
    }

    @Command(name = "memory", description = "Memory tables: full fine-tuning vs LoRA vs QLoRA (not built yet).")
    public static final class Memory extends Pending {
        String issue() {
            return "issue 5, quant";
        }
    }
}
