package dev.tessera.examples.cli;

import dev.tessera.nn.io.WeightFolderReader;
import dev.tessera.nn.io.WeightFolders;
import dev.tessera.nn.io.SafeTensors;
import dev.tessera.nn.io.SafeTensorsFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/** {@code tessera inspect FILE|DIR}: one line per tensor, NAME TAB DTYPE TAB [shape], sorted by name. */
@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = "List the tensors of a .safetensors file or a model folder (sharded or not).")
public final class InspectCommand implements Callable<Integer> {
    @Mixin
    CommonOptions common;

    @Parameters(paramLabel = "FILE|DIR", description = "A .safetensors file or a Hugging Face model folder.")
    Path target;

    @Override
    public Integer call() {
        common.apply();
        StringBuilder out = new StringBuilder();
        if (Files.isDirectory(target)) {
            try (WeightFolderReader reader = WeightFolders.open(target)) {
                for (String name : reader.names().stream().sorted().toList()) {
                    out.append(line(name, reader.dtypeName(name), reader.shape(name)));
                }
            }
        } else {
            try (SafeTensorsFile file = SafeTensors.open(target)) {
                for (String name : file.names().stream().sorted().toList()) {
                    out.append(line(name, file.dtypeName(name), file.shape(name)));
                }
            }
        }
        System.out.print(out);
        return 0;
    }

    private static String line(String name, String dtype, int[] shape) {
        return name + "\t" + dtype + "\t" + Arrays.stream(shape).mapToObj(Integer::toString).collect(Collectors.joining(", ", "[", "]")) + "\n";
    }
}
