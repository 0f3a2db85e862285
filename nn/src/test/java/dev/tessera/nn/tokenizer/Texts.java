package dev.tessera.nn.tokenizer;

import static org.quicktheories.generators.SourceDSL.lists;

import java.util.List;
import org.quicktheories.api.Pair;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.Generate;

/** QuickTheories generators of awkward text: all of Unicode, control characters, whitespace runs. */
final class Texts {
    private Texts() {}

    private static final List<Integer> WHITESPACE = List.of(
            (int) ' ', (int) '\t', (int) '\n', (int) '\r', 0x0B, 0x0C, 0x85, 0xA0, 0x1680, 0x2003, 0x2028, 0x2029, 0x202F, 0x3000);

    private static final List<String> WORDS = List.of(
            "the", "Hello", " world", "'s", "'LL", "123", "4567", "3.14", "<|endoftext|>", "<|im_start|>",
            "<s>", "</s>", "▁", "e\u0301", "👨‍👩‍👧", "日本", "ÿ", "\r\n", "<0x41>", "Ġ", "<mask>", "[R]", "word", "cafe\u0301", "ab", " ");

    /** A code point that is not a surrogate: ASCII, controls, every plane, emoji and CJK often. */
    static Gen<Integer> codePoints() {
        return Generate.frequency(List.of(
                Pair.of(4, Generate.range(0x20, 0x7E)),
                Pair.of(2, Generate.pick(WHITESPACE)),
                Pair.of(1, Generate.range(0x00, 0x1F)),
                Pair.of(2, Generate.range(0x80, 0xD7FF)),
                Pair.of(1, Generate.range(0xE000, 0xFFFF)),
                Pair.of(1, Generate.range(0x10000, 0x10FFFF)),
                Pair.of(1, Generate.range(0x1F300, 0x1FAFF)),
                Pair.of(1, Generate.range(0x4E00, 0x9FFF))));
    }

    /** Strings built from single code points, whitespace runs and tricky fragments. */
    static Gen<String> text() {
        Gen<String> single = codePoints().map(Character::toString);
        Gen<String> run = Generate.pick(WHITESPACE).zip(Generate.range(2, 40), (cp, n) -> Character.toString(cp).repeat(n));
        Gen<String> fragment = Generate.frequency(List.of(
                Pair.of(6, single), Pair.of(1, run), Pair.of(2, Generate.pick(WORDS))));
        return lists().of(fragment).ofSizeBetween(0, 40).map(parts -> String.join("", parts));
    }
}
