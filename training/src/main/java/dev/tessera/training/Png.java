package dev.tessera.training;

import dev.tessera.core.TesseraException;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import javax.imageio.ImageIO;

/** Writes charts: a temporary PNG beside the target, renamed over it, so a reader never sees half a file. */
final class Png {
    private Png() {}

    static void writeAtomically(BufferedImage image, Path file) {
        try {
            Path dir = file.toAbsolutePath().getParent();
            Files.createDirectories(dir);
            Path tmp = Files.createTempFile(dir, ".tmp-", ".png");
            try {
                ImageIO.write(image, "png", tmp.toFile());
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            throw new TesseraException(file + ": cannot write chart: " + e.getMessage(), e);
        }
    }
}
