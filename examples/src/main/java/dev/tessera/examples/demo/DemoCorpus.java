package dev.tessera.examples.demo;

import dev.tessera.core.Rng;
import java.util.ArrayList;
import java.util.List;

/**
 * The demo's generated data: short English-like sentences about a few people, colours and
 * things for pre-training, and Alpaca rows of three instructions on such sentences for
 * instruction tuning. All drawn from a seeded {@link Rng}, so a run is repeatable.
 */
public final class DemoCorpus {
    static final String[] COLOURS = {"red", "blue", "green", "yellow", "black", "white"};
    static final String[] THINGS = {"fox", "cat", "dog", "bird", "car", "boat", "house", "apple"};
    static final String[] NAMES = {"anna", "ben", "cara", "dan", "eve", "finn"};
    static final String[] VERBS = {"sees", "likes", "has", "finds"};

    /** One instruction-tuning row, as an Alpaca file holds it. */
    public record Row(String instruction, String input, String output) {
        public String json() {
            return "{\"instruction\": \"" + instruction + "\", \"input\": \"" + input + "\", \"output\": \"" + output + "\"}";
        }
    }

    private final Rng rng;

    public DemoCorpus(long seed) {
        this.rng = new Rng(seed);
    }

    private String pick(String[] words) {
        return words[(int) Math.floorMod(rng.nextLong(), words.length)];
    }

    /**
     * Two sentences, the second echoing a word of the first ("anna sees the red fox. the fox is
     * red."): pre-training then teaches the model to look back and copy, which instruction
     * tuning only has to point at the right word.
     */
    String sentence() {
        String name = pick(NAMES), colour = pick(COLOURS), thing = pick(THINGS);
        return switch ((int) Math.floorMod(rng.nextLong(), 3)) {
            case 0 -> name + " " + pick(VERBS) + " the " + colour + " " + thing + ". the " + thing + " is " + colour + ".";
            case 1 -> "the " + colour + " " + thing + " is near " + name + ". " + name + " is near the " + thing + ".";
            default -> name + " says " + colour + " " + thing + ", " + colour + " " + thing + ".";
        };
    }

    /** Pre-training text: paragraphs of two sentence pairs. */
    public List<String> paragraphs(int count) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            out.add(sentence() + " " + sentence());
        }
        return out;
    }

    /** Instruction rows, the three tasks in turn: name the colour, name the person, repeat two words twice. */
    public List<Row> rows(int count) {
        List<Row> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            out.add(row(i % 3));
        }
        return out;
    }

    Row row(int task) {
        String name = pick(NAMES), colour = pick(COLOURS), thing = pick(THINGS);
        return switch (task) {
            case 0 -> new Row("Name the color.", name + " " + pick(VERBS) + " the " + colour + " " + thing + ".", colour);
            case 1 -> new Row("Name the person.", "the " + colour + " " + thing + " is near " + name + ".", name);
            default -> new Row("Repeat the words twice.", colour + " " + thing, colour + " " + thing + " " + colour + " " + thing);
        };
    }
}
