package dev.tessera.examples;

import static dev.tessera.examples.CliTest.run;
import static dev.tessera.examples.FirstHourTest.assertOneLineError;
import static dev.tessera.examples.FirstHourTest.train;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tessera.examples.CliTest.Run;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** train --resume through the CLI: a damaged checkpoint is one line, a good one continues the metrics log without repeats. */
class TrainResumeCliTest {
    @Test
    void aTruncatedTrainerStateIsOneLineAndExitOne(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("out");
        Run first = run(train(out, "--max-steps", "3", "--save-steps", "2"));
        assertEquals(0, first.code(), first.err());
        Path state = out.resolve("checkpoint-2").resolve("trainer_state.json");
        String text = Files.readString(state);
        Files.writeString(state, text.substring(0, text.length() / 3));
        assertOneLineError(run(train(out, "--max-steps", "3", "--resume", state.getParent().toString())), 1,
                state.toString(), "not valid JSON");
    }

    @Test
    void aResumedRunLogsEachStepOnce(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("out");
        assertEquals(0, run(train(out, "--max-steps", "4", "--save-steps", "2")).code());
        // as if the run had been killed after step 4 and restarted from its last checkpoint
        Run resumed = run(train(out, "--max-steps", "4", "--resume", out.resolve("checkpoint-2").toString()));
        assertEquals(0, resumed.code(), resumed.err());
        List<Long> steps = new ArrayList<>();
        ObjectMapper json = new ObjectMapper();
        for (String line : Files.readAllLines(out.resolve("metrics.jsonl"))) {
            steps.add(json.readTree(line).get("step").asLong());
        }
        assertEquals(List.of(1L, 2L, 3L, 4L), steps);
    }
}
