package dev.tessera.nn.tokenizer;

import java.util.ArrayList;
import java.util.List;

/** Text for training fixture vocabularies and for comparing against Hugging Face's tokenizers. */
final class Corpus {
    private Corpus() {}

    /** Training text for the small fixture vocabularies. */
    static final String TRAINING = """
            The quick brown fox jumps over the lazy dog. The dog sleeps; the fox runs away.
            I'm sure they're here, we'll see. You've got it, he'd know, she's done, it'll rain.
            Tokenizers split text into tokens, and tokens into ids. Fine-tuning a language model
            needs a tokenizer that matches the one used in pre-training, token for token.
            public static int[] encode(String text) { return tokenizer.encode(text); }
            def train(model, data, lr=1e-4):
                for step, batch in enumerate(data):
                    loss = model(batch).loss
                    loss.backward()
            Numbers: 0 1 2 3 4 5 6 7 8 9 10 42 100 2024 3.14159 1,000,000 65536.
            The the THE tHe there these those their then than that this with within without.
            Hello world! Hello, World? hello... "quoted" 'single' (parens) [brackets] {braces}.
            """;

    /** Hand-picked strings that exercise each part of the pipeline. */
    static List<String> handPicked() {
        List<String> s = new ArrayList<>(List.of(
                "",
                "Hello world",
                "Hello, world! How are you today?",
                "The quick brown fox jumps over the lazy dog.",
                "I'm sure they're here, we'll see. You've got it, he'd know.",
                "I'M SURE THEY'RE HERE, WE'LL SEE. YOU'VE GOT IT, HE'D KNOW.",
                "don't can't won't shouldn't y'all o'clock rock'n'roll",
                "public static void main(String[] args) {\n    System.out.println(\"hi\");\n}\n",
                "def f(x):\n\treturn x ** 2  # square\n\n\nprint(f(3))",
                "for (int i = 0; i < n; i++) { sum += a[i] * b[i]; }",
                "0 1 12 123 1234 12345 123456 1234567 12345678901234567890",
                "3.14159 2.71828 -1e-10 +6.022e23 1,000,000 0x1F 0b1011 ½ ² ³ ٣ 四",
                "Version 2.0.1-beta+build.123 released on 2024-12-31 at 23:59:59",
                "😀 🎉 👍🏽 👨‍👩‍👧‍👦 🇫🇷 🏳️‍🌈 ❤️ ✨",
                "emoji😀inside😀words",
                "日本語のテキストを分割します。",
                "中文分词测试，标点符号！",
                "한국어 텍스트 토큰화",
                "مرحبا بالعالم",
                "नमस्ते दुनिया",
                "Привет, мир! Ёлка.",
                "Ελληνικά: ΟΔΥΣΣΕΥΣ οδυσσευς",
                "ภาษาไทย ไม่มีช่องว่าง",
                "e\u0301 n\u0303 a\u0308 combining marks",
                "Ünïcödé çàfé naïve résumé",
                "a    b",
                "a\n\nb",
                "\n\n\n",
                "   leading spaces",
                "trailing spaces   ",
                "\t\t\ttabs",
                " \n \n \n ",
                "line one\r\nline two\r\n",
                "\u00a0non-breaking\u00a0space \u2003em\u2003space \u3000ideographic",
                "\u0085next line\u2028line sep\u2029para sep",
                "\u0000\u0001\u0002\u001f\u007f control",
                "\u200b\u200c\u200d\ufeff zero width",
                " ".repeat(100),
                "\n".repeat(50) + "x",
                "x" + " \t".repeat(40),
                "a".repeat(1000),
                "supercalifragilisticexpialidocious antidisestablishmentarianism",
                "https://example.com/path?query=value&other=1#fragment",
                "{\"key\": [1, 2, {\"nested\": true}], \"s\": \"v\\n\"}",
                "<html><body class=\"x\">text &amp; more</body></html>",
                "$$\\int_0^\\infty e^{-x^2} dx = \\frac{\\sqrt{\\pi}}{2}$$",
                "!!!???...,,,;;;:::---___===+++",
                "'s 't 're 've 'm 'll 'd ''s '''",
                "A" + "'".repeat(10) + "s"));
        for (String special : List.of("<|endoftext|>", "<|begin_of_text|>", "<|im_start|>", "<s>", "</s>")) {
            s.add(special);
            s.add("a" + special + "b");
            s.add("Hello " + special + " world");
            s.add(special + special);
            s.add(" " + special + "\n");
            s.add(special.substring(0, special.length() - 1));
            s.add(special + ">");
        }
        s.addAll(List.of("x <mask> y", "x   <mask>", "<mask><mask>  <mask>", " [R]  z", "[R]\n\n[R]",
                "word words sword word. (word) word_x 1word", "caf\u00e9 cafe\u0301 CAF\u00c9",
                "abab cab ab  ab\tab", "a <mask> [R] ab word"));
        s.add("<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n4<|im_end|>");
        s.add("<s>[INST] Hi [/INST] Hello</s>");
        return s;
    }
}
