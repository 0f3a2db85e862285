package dev.tessera.examples;

import dev.tessera.core.TesseraException;
import dev.tessera.examples.cli.BenchCommand;
import dev.tessera.examples.cli.ConfigFile;
import dev.tessera.examples.cli.DemoCommand;
import dev.tessera.examples.cli.DetokenizeCommand;
import dev.tessera.examples.cli.GenerateCommand;
import dev.tessera.examples.cli.InspectCommand;
import dev.tessera.examples.cli.MemoryCommand;
import dev.tessera.examples.cli.MergeCommand;
import dev.tessera.examples.cli.QuantizeCommand;
import dev.tessera.examples.cli.ScoreCommand;
import dev.tessera.examples.cli.TokenizeCommand;
import dev.tessera.examples.cli.TrainCommand;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine;

/**
 * The {@code tessera} command line (contract: shared/design/CLI.md). Errors print one line on
 * stderr and exit 1 (2 for usage errors); {@code --debug} adds the stack trace.
 */
@Command(name = "tessera", mixinStandardHelpOptions = true, version = "tessera 0.1.0",
        description = "Fine-tune language models in Java: full fine-tuning, LoRA and QLoRA on CPU or GPU.",
        subcommands = {
            DemoCommand.class,
            InspectCommand.class,
            TokenizeCommand.class,
            DetokenizeCommand.class,
            ScoreCommand.class,
            GenerateCommand.class,
            TrainCommand.class,
            MergeCommand.class,
            QuantizeCommand.class,
            MemoryCommand.class,
            BenchCommand.class,
        })
public final class Tessera implements Runnable {
    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the CLI and returns its exit code (tests call this instead of main). */
    public static int run(String... args) {
        boolean debug = Arrays.asList(args).contains("--debug");
        CommandLine cli = new CommandLine(new Tessera());
        try {
            args = withConfigFile(args);
        } catch (TesseraException e) {
            System.err.println("tessera: " + e.getMessage());
            return 1;
        }
        // a value from --config may be given again on the command line, which then wins
        cli.setOverwrittenOptionsAllowed(true);
        cli.setParameterExceptionHandler((ex, argv) -> {
            PrintWriter err = ex.getCommandLine().getErr();
            err.println("tessera: " + ex.getMessage() + " (see '" + ex.getCommandLine().getCommandName() + " --help')");
            return 2;
        });
        cli.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            PrintWriter err = commandLine.getErr();
            if (debug) {
                ex.printStackTrace(err);
            }
            err.println("tessera: " + oneLine(ex));
            err.flush();
            return ex instanceof UsageException ? 2 : 1;
        });
        try {
            return cli.execute(args);
        } catch (OutOfMemoryError e) {
            if (debug) {
                e.printStackTrace();
            }
            System.err.println("tessera: out of memory (" + e.getMessage() + "); use a smaller model, batch or --max-length");
            return 1;
        }
    }

    /** train --config FILE: the file's flags go first so the command line's own override them. */
    private static String[] withConfigFile(String[] args) {
        List<String> list = new ArrayList<>(Arrays.asList(args));
        int at = list.indexOf("--config");
        if (list.isEmpty() || !list.get(0).equals("train") || at < 0 || at + 1 >= list.size()) {
            return args;
        }
        List<String> out = new ArrayList<>();
        out.add("train");
        out.addAll(ConfigFile.arguments(Path.of(list.get(at + 1))));
        out.addAll(list.subList(1, list.size()));
        return out.toArray(String[]::new);
    }

    private static String oneLine(Throwable ex) {
        String msg = ex instanceof TesseraException || ex instanceof UsageException ? ex.getMessage()
                : ex.getClass().getSimpleName() + (ex.getMessage() == null ? "" : ": " + ex.getMessage());
        return msg == null ? ex.getClass().getSimpleName() : msg.replace('\n', ' ');
    }

    /** A bad flag value found after parsing: reported like a usage error (exit 2). */
    public static final class UsageException extends RuntimeException {
        public UsageException(String message) {
            super(message);
        }
    }
}
