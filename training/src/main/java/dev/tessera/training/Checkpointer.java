package dev.tessera.training;

import dev.tessera.core.Autograd;
import dev.tessera.core.Tensor;
import dev.tessera.core.TesseraException;
import dev.tessera.nn.io.AtomicFiles;
import dev.tessera.nn.io.SafeTensors;
import dev.tessera.nn.io.SafeTensorsFile;
import dev.tessera.training.optim.Optimizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Trainer checkpoints. {@code OUTPUT/checkpoint-N} holds {@code trainable.safetensors} (the
 * trained parameters), {@code optimizer.safetensors} (the optimizer's state dict) and
 * {@code trainer_state.json} ({@link TrainerState}). A checkpoint is written into a temporary
 * folder that is renamed when complete, so a killed run leaves whole checkpoints only; the
 * oldest are deleted beyond {@code saveTotalLimit} (0 keeps all).
 */
final class Checkpointer {
    private static final String PREFIX = "checkpoint-";

    private final Path outputDir;
    private final int saveTotalLimit;

    Checkpointer(Path outputDir, int saveTotalLimit) {
        this.outputDir = outputDir;
        this.saveTotalLimit = saveTotalLimit;
    }

    /** Writes {@code checkpoint-<state.globalStep>}, replacing one of the same step. */
    void save(Map<String, Tensor> trainable, Optimizer optimizer, TrainerState state) {
        Path target = outputDir.resolve(PREFIX + state.globalStep());
        Path tmp = outputDir.resolve(".tmp-" + PREFIX + state.globalStep());
        try {
            deleteRecursively(tmp);
            Files.createDirectories(tmp);
            SafeTensors.write(tmp.resolve("trainable.safetensors"), trainable);
            SafeTensors.write(tmp.resolve("optimizer.safetensors"), optimizer.stateDict());
            AtomicFiles.writeString(tmp.resolve(TrainerState.FILE), state.toJson());
            deleteRecursively(target);
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new TesseraException(target + ": cannot write checkpoint: " + e.getMessage(), e);
        }
        prune();
    }

    /**
     * Reads {@code dir}'s state, then copies its parameters into {@code trainable} and its state
     * into {@code optimizer}; the state is read first, so a damaged checkpoint changes nothing.
     */
    static TrainerState restore(Path dir, Map<String, Tensor> trainable, Optimizer optimizer) {
        TrainerState state = TrainerState.read(dir);
        try (SafeTensorsFile weights = SafeTensors.open(dir.resolve("trainable.safetensors"));
             SafeTensorsFile opt = SafeTensors.open(dir.resolve("optimizer.safetensors"))) {
            for (String name : trainable.keySet()) {
                if (!weights.contains(name)) {
                    throw new TesseraException(dir + ": checkpoint lacks trainable parameter " + name);
                }
            }
            try (var ng = Autograd.noGrad()) {
                for (var e : trainable.entrySet()) {
                    e.getValue().copyFrom(weights.tensor(e.getKey()));
                }
            }
            Map<String, Tensor> optState = new HashMap<>();
            for (String name : opt.names()) {
                optState.put(name, opt.tensor(name));
            }
            optimizer.loadStateDict(optState);
        }
        return state;
    }

    private void prune() {
        if (saveTotalLimit <= 0) {
            return;
        }
        try (var list = Files.list(outputDir)) {
            List<Path> checkpoints = list.filter(p -> p.getFileName().toString().matches(PREFIX + "\\d+"))
                    .sorted(Comparator.comparingLong(p -> Long.parseLong(p.getFileName().toString().substring(PREFIX.length()))))
                    .toList();
            for (int i = 0; i < checkpoints.size() - saveTotalLimit; i++) {
                deleteRecursively(checkpoints.get(i));
            }
        } catch (IOException e) {
            throw new TesseraException(outputDir + ": cannot delete old checkpoints: " + e.getMessage(), e);
        }
    }

    private static void deleteRecursively(Path p) throws IOException {
        if (!Files.exists(p)) {
            return;
        }
        try (var walk = Files.walk(p)) {
            for (Path q : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(q);
            }
        }
    }
}
