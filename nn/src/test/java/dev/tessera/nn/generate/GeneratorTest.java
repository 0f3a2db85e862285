package dev.tessera.nn.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.core.TesseraException;
import dev.tessera.nn.models.CausalLM;
import dev.tessera.nn.tokenizer.Tokenizer;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class GeneratorTest {
    private static final int[] PROMPT = {11, 22, 33, 44, 55};
    private CausalLM model;

    @BeforeEach
    void load() throws URISyntaxException {
        model = CausalLM.load(Path.of(GeneratorTest.class.getResource("/fixtures/llama-tiny/config.json").toURI()).getParent());
    }

    @AfterEach
    void release() {
        model.release();
    }

    /** Decodes id i as the letter 'a' + i % 26. */
    static final class Letters implements Tokenizer {
        @Override
        public int[] encode(String text) {
            return text.chars().map(c -> c - 'a').toArray();
        }

        @Override
        public String decode(int[] ids) {
            StringBuilder sb = new StringBuilder();
            for (int id : ids) {
                sb.append((char) ('a' + id % 26));
            }
            return sb.toString();
        }

        @Override
        public int vocabSize() {
            return 96;
        }
    }

    @Test
    void generationStopsAtEosAndKeepsIt() {
        int[] free = new Generator(model).generate(PROMPT, GenerationConfig.greedy(8).withEosTokenIds());
        int eos = free[2];
        int[] stopped = new Generator(model).generate(PROMPT, GenerationConfig.greedy(8).withEosTokenIds(eos));
        int cut = 0;
        while (free[cut] != eos) {
            cut++;
        }
        assertArrayEquals(java.util.Arrays.copyOf(free, cut + 1), stopped);
    }

    @Test
    void stopStringsEndGenerationWithTheTokenThatCompletesThem() {
        Letters letters = new Letters();
        int[] free = new Generator(model).generate(PROMPT, GenerationConfig.greedy(8).withEosTokenIds());
        String text = letters.decode(free);
        String stop = text.substring(3, 5);
        int[] stopped = new Generator(model, letters).generate(PROMPT, GenerationConfig.greedy(8).withEosTokenIds().withStopStrings(stop));
        int end = text.indexOf(stop) + stop.length();
        assertArrayEquals(java.util.Arrays.copyOf(free, end), stopped);
    }

    @Test
    void seededSamplingIsReproducibleAndStreamsEachToken() {
        GenerationConfig cfg = GenerationConfig.sampling(12, 1.5f, 20, 0.9f, 42).withEosTokenIds();
        List<Integer> streamed = new ArrayList<>();
        int[] a = new Generator(model).generate(PROMPT, cfg, streamed::add);
        int[] b = new Generator(model).generate(PROMPT, cfg);
        assertArrayEquals(a, b);
        assertEquals(12, a.length);
        assertEquals(streamed, java.util.Arrays.stream(a).boxed().toList());
        int[] other = new Generator(model).generate(PROMPT, GenerationConfig.sampling(12, 1.5f, 20, 0.9f, 43).withEosTokenIds());
        assertFalse(java.util.Arrays.equals(a, other));
    }

    @Test
    void generationRunsInEvalModeAndRestoresTraining() {
        model.train();
        new Generator(model).generate(PROMPT, GenerationConfig.greedy(2));
        assertTrue(model.isTraining());
    }

    @Test
    void zeroNewTokensGivesNothing() {
        assertEquals(0, new Generator(model).generate(PROMPT, GenerationConfig.greedy(0)).length);
    }

    @Test
    void badRequestsAreRefusedWithAReason() {
        Generator g = new Generator(model);
        assertThrows(TesseraException.class, () -> g.generate(new int[0], GenerationConfig.greedy(3)));
        TesseraException e = assertThrows(TesseraException.class, () -> g.generate(new int[] {96}, GenerationConfig.greedy(3)));
        assertTrue(e.getMessage().contains("outside the vocabulary"), e.getMessage());
        e = assertThrows(TesseraException.class, () -> g.generate(PROMPT, GenerationConfig.greedy(3).withStopStrings("x")));
        assertTrue(e.getMessage().contains("tokenizer"), e.getMessage());
        assertThrows(TesseraException.class, () -> GenerationConfig.sampling(3, -1f, 0, 1f, 0));
        assertThrows(TesseraException.class, () -> GenerationConfig.sampling(3, 1f, 0, 0f, 0));
    }
}
