package dev.tessera.nn.io;

import static dev.tessera.nn.io.StBytes.assertRejects;
import static dev.tessera.nn.io.StBytes.file;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Files no honest writer produces: each is refused with one line naming the file, the tensor and the rule. */
class SafeTensorsHostileTest {
    @TempDir
    Path dir;

    private Path write(byte[] bytes) {
        return StBytes.write(dir.resolve("bad.safetensors"), bytes);
    }

    private void rejects(byte[] bytes, String... phrases) {
        Path p = write(bytes);
        assertRejects(p, () -> SafeTensors.open(p).close(), phrases);
    }

    private static String entry(String name, String dtype, String shape, long begin, long end) {
        return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":[" + begin + "," + end + "]}";
    }

    @Test
    void fileShorterThanTheLengthField() {
        rejects(new byte[] {1, 0, 0}, "3 bytes", "too short");
        rejects(new byte[0], "0 bytes", "too short");
    }

    @Test
    void absurdHeaderLength() {
        rejects(StBytes.withLength(1L << 62, "{}".getBytes(StandardCharsets.UTF_8)), "header length 4611686018427387904", "exceeds the limit");
        rejects(StBytes.withLength(-1L, new byte[8]), "header length 18446744073709551615", "exceeds the limit");
        rejects(StBytes.withLength(100_000_001L, new byte[8]), "exceeds the limit of 100000000 bytes");
    }

    @Test
    void headerLongerThanTheFile() {
        rejects(StBytes.withLength(100, "{}".getBytes(StandardCharsets.UTF_8)), "header length 100", "runs past the end of the file");
    }

    @Test
    void headerNotUtf8() {
        rejects(StBytes.withLength(4, new byte[] {'{', (byte) 0xC3, (byte) 0x28, '}'}), "not valid UTF-8");
    }

    @Test
    void headerNotJson() {
        rejects(file("{\"a\": ", 0), "not valid JSON");
        rejects(file("", 0), "not a JSON object");
        rejects(file("{} {}", 0), "not valid JSON");
        rejects(file("{\"a\":1,\"a\":2}", 0), "not valid JSON", "Duplicate field 'a'");
    }

    @Test
    void deeplyNestedOrHugeNumbersHitTheParserLimitsNotTheStack() {
        rejects(file("{\"w\":" + "[".repeat(200_000), 0), "not valid JSON");
        rejects(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[" + "9".repeat(5_000) + "],\"data_offsets\":[0,0]}}", 0), "not valid JSON");
    }

    @Test
    void headerNotAnObject() {
        rejects(file("[1, 2]", 0), "header is not a JSON object");
        rejects(file("\"text\"", 0), "header is not a JSON object");
    }

    @Test
    void entryNotAnObjectOrMissingFields() {
        rejects(file("{\"w\":[1]}", 0), "tensor 'w'", "not a JSON object");
        rejects(file("{\"w\":{\"shape\":[],\"data_offsets\":[0,4]}}", 4), "tensor 'w'", "dtype is missing");
        rejects(file("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4), "tensor 'w'", "shape is missing");
        rejects(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[]}}", 4), "tensor 'w'", "data_offsets is missing");
        rejects(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4,8]}}", 8), "tensor 'w'", "[begin, end] pair");
    }

    @Test
    void unknownDtype() {
        rejects(file("{" + entry("w", "F128", "[1]", 0, 16) + "}", 16), "tensor 'w'", "unknown dtype 'F128'", "known: I64 F64");
    }

    @Test
    void negativeOrFractionalShape() {
        rejects(file("{" + entry("w", "F32", "[-1]", 0, 0) + "}", 0), "tensor 'w'", "shape dimension 0 is negative");
        rejects(file("{" + entry("w", "F32", "[2, 1.5]", 0, 12) + "}", 12), "tensor 'w'", "shape dimension 1 is not an integer");
        rejects(file("{" + entry("w", "F32", "[\"2\"]", 0, 8) + "}", 8), "tensor 'w'", "not an integer");
        rejects(file("{" + entry("w", "F32", "[-99999999999999999999999]", 0, 0) + "}", 0), "tensor 'w'", "negative");
    }

    @Test
    void overflowingShape() {
        rejects(file("{" + entry("w", "F64", "[2147483647,2147483647,2147483647]", 0, 8) + "}", 8), "tensor 'w'", "overflows");
        rejects(file("{" + entry("w", "U8", "[4294967296]", 0, 8) + "}", 8), "tensor 'w'", "exceeds Tessera's limit");
        rejects(file("{" + entry("w", "U8", "[18446744073709551617]", 0, 8) + "}", 8), "tensor 'w'", "exceeds Tessera's limit");
    }

    @Test
    void offsetsOutOfRange() {
        rejects(file("{" + entry("w", "F32", "[250]", 0, 1000) + "}", 8), "tensor 'w'", "run past the data buffer of 8 bytes");
        rejects(file("{" + entry("w", "F32", "[1]", 8, 4) + "}", 8), "tensor 'w'", "end before they begin");
        rejects(file("{" + entry("w", "F32", "[1]", -4, 0) + "}", 8), "tensor 'w'", "out of range");
        rejects(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,18446744073709551620]}}", 4), "tensor 'w'", "out of range");
        rejects(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4.0]}}", 4), "tensor 'w'", "must be integers");
    }

    @Test
    void overlappingEntries() {
        rejects(file("{" + entry("a", "F32", "[2]", 0, 8) + "," + entry("b", "F32", "[2]", 4, 12) + "}", 12),
                "tensor 'b'", "overlap tensor 'a' [0, 8]");
        rejects(file("{" + entry("a", "F32", "[2]", 0, 8) + "," + entry("b", "F32", "[2]", 0, 8) + "}", 8), "overlap");
    }

    @Test
    void holesBetweenOrAfterEntries() {
        rejects(file("{" + entry("a", "F32", "[1]", 0, 4) + "," + entry("b", "F32", "[1]", 8, 12) + "}", 12),
                "tensor 'b'", "leave a hole", "bytes [4, 8)");
        rejects(file("{" + entry("b", "F32", "[1]", 4, 8) + "}", 8), "tensor 'b'", "bytes [0, 4)");
        rejects(file("{" + entry("a", "F32", "[1]", 0, 4) + "}", 12), "8 bytes after tensor 'a'", "belong to no tensor");
        rejects(file("{}", 4), "data buffer has 4 bytes", "belong to no tensor");
    }

    @Test
    void sizeDisagreesWithShape() {
        rejects(file("{" + entry("w", "F32", "[3]", 0, 8) + "}", 8), "tensor 'w'", "hold 8 bytes but F32 [3] needs 12");
        rejects(file("{" + entry("w", "BF16", "[]", 0, 4) + "}", 4), "tensor 'w'", "hold 4 bytes but BF16 [] needs 2");
    }

    @Test
    void metadataMustBeStrings() {
        rejects(file("{\"__metadata__\":{\"format\":1}}", 0), "__metadata__ value for 'format' is not a string");
        rejects(file("{\"__metadata__\":[\"pt\"]}", 0), "__metadata__ is not a JSON object");
    }

    @Test
    void controlCharactersInNamesDoNotBreakTheOneLineMessage() {
        rejects(file("{\"evil\\nname\":{\"dtype\":\"X\",\"shape\":[],\"data_offsets\":[0,0]}}", 0), "tensor 'evil\\u000aname'", "unknown dtype");
    }

    @Test
    void emptyHeaderWithEmptyBufferIsAValidEmptyFile() {
        Path p = write(file("{}      ", 0));
        try (SafeTensorsFile f = SafeTensors.open(p)) {
            assertEquals(List.of(), f.names());
        }
    }
}
