package dev.tessera.examples;

import dev.tessera.core.TesseraException;
import dev.tessera.examples.cli.BenchCommand;
import dev.tessera.examples.cli.ConfigFile;
import dev.tessera.examples.cli.DemoCommand;
import dev.tessera.examples.cli.DetokenizeCommand;
import dev.tessera.examples.cli.ExampleCommand;
import dev.tessera.examples.cli.GenerateCommand;
import dev.tessera.examples.cli.InspectCommand;
import dev.tessera.examples.cli.MemoryCommand;
import dev.tessera.examples.cli.MergeCommand;
import dev.tessera.examples.cli.QuantizeCommand;
import dev.tessera.examples.cli.ScoreCommand;
import dev.tessera.examples.cli.TokenizeCommand;
import dev.tessera.examples.cli.TrainCommand;
import dev.tessera.training.data.DataException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
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
        description = {"Fine-tune language models in Java: full fine-tuning, LoRA, QLoRA, IA3 and more, with Hugging Face's file formats.",
            "GPU support today: --device cuda runs train, score, generate and bench on the CUDA backend (cuBLAS and "
                + "Tessera's kernels), which is tested on an emulated device but has not yet run on a real GPU; "
                + "without a usable GPU the commands run on the CPU (pure Java, Vector API)."},
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
            ExampleCommand.class,
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
        ConfigFile.Arguments config;
        try {
            config = withConfigFile(args);
        } catch (RuntimeException e) {
            System.err.println("tessera: " + oneLine(e));
            return e instanceof UsageException ? 2 : 1;
        }
        args = config.all();
        // a value from --config may be given again on the command line, which then wins
        cli.setOverwrittenOptionsAllowed(true);
        cli.setParameterExceptionHandler((ex, argv) -> {
            PrintWriter err = ex.getCommandLine().getErr();
            err.println("tessera: " + usageMessage(ex, config) + " (see 'tessera " + commandPath(ex.getCommandLine()) + "--help')");
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

    private static String commandPath(CommandLine c) {
        StringBuilder sb = new StringBuilder();
        for (CommandLine p = c; p != null && p.getParent() != null; p = p.getParent()) {
            sb.insert(0, p.getCommandName() + " ");
        }
        return sb.toString();
    }

    /** A parse error in the user's words: the unknown flag or command with picocli's nearest matches, the config key that set a bad value. */
    static String usageMessage(CommandLine.ParameterException ex, ConfigFile.Arguments config) {
        List<String> unmatched = ex.getCommandLine().getUnmatchedArguments();
        if (!(ex instanceof CommandLine.UnmatchedArgumentException) && !unmatched.isEmpty()) {
            // a mistyped flag explains a "missing" one better than the other way round
            ex = new CommandLine.UnmatchedArgumentException(ex.getCommandLine(), unmatched);
        }
        if (ex instanceof CommandLine.UnmatchedArgumentException u && !u.getUnmatched().isEmpty()) {
            String arg = u.getUnmatched().get(0);
            String what = arg.startsWith("-") ? "unknown option" : "unexpected argument";
            if (!arg.startsWith("-") && ex.getCommandLine().getParent() == null) {
                what = "unknown command";
            }
            List<String> suggestions = u.getSuggestions();
            String hint = suggestions.isEmpty() ? "" : "; did you mean " + String.join(" or ", suggestions.subList(0, Math.min(3, suggestions.size()))) + "?";
            return what + " '" + arg + "'" + hint;
        }
        String msg = ex.getMessage() == null ? "bad arguments" : ex.getMessage().replace('\n', ' ').strip();
        if (ex.getCause() instanceof CommandLine.TypeConversionException bad && ex.getArgSpec() instanceof CommandLine.Model.OptionSpec o) {
            msg = o.longestName() + ": " + bad.getMessage(); // a named value's converter says what it expected, in the flag's words
        }
        if (ex.getArgSpec() instanceof CommandLine.Model.OptionSpec o) {
            String key = config.keyOf(o.longestName());
            if (key != null) {
                msg += " (from '" + key + "' in " + config.file() + ")";
            }
        }
        return msg;
    }

    /** train --config FILE: the file's flags go first so the command line's own override them. */
    private static ConfigFile.Arguments withConfigFile(String[] args) {
        List<String> list = new ArrayList<>(Arrays.asList(args));
        int at = list.indexOf("--config");
        if (list.isEmpty() || !list.get(0).equals("train") || at < 0 || at + 1 >= list.size()) {
            return ConfigFile.Arguments.none(args);
        }
        Path file = Path.of(list.get(at + 1));
        var known = new CommandLine(new TrainCommand()).getCommandSpec().optionsMap().keySet();
        ConfigFile.Arguments fromFile = ConfigFile.arguments(file, known);
        List<String> out = new ArrayList<>();
        out.add("train");
        out.addAll(fromFile.fromFile());
        out.addAll(list.subList(1, list.size()));
        return fromFile.withAll(out.toArray(String[]::new), list.subList(1, list.size()));
    }

    /** The one line an error prints: the message of a user-facing error, never a Java class name. */
    static String oneLine(Throwable ex) {
        for (Throwable t = ex; t != null; t = t.getCause()) {
            if (t instanceof TesseraException || t instanceof UsageException || t instanceof DataException) {
                return clean(t.getMessage(), "error");
            }
            if (t instanceof NoSuchFileException f) {
                return "no such file: " + f.getFile();
            }
            if (t instanceof AccessDeniedException f) {
                return "permission denied: " + f.getFile();
            }
            if (t instanceof FileSystemException f) {
                return clean(f.getMessage(), "file system error");
            }
        }
        Throwable root = ex;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return "unexpected error" + (root.getMessage() == null ? "" : ": " + clean(root.getMessage(), ""))
                + " (rerun with --debug for the stack trace, and please report it)";
    }

    private static String clean(String msg, String fallback) {
        return msg == null ? fallback : msg.replace('\n', ' ').strip();
    }

    /** A bad flag value found after parsing: reported like a usage error (exit 2). */
    public static final class UsageException extends RuntimeException {
        public UsageException(String message) {
            super(message);
        }
    }
}
