package dev.llmrt.runtime.process;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/** Finding backend binaries. */
public final class Executables {
    private Executables() {}

    /** {@code command} in a directory of the PATH, if it is there and executable. */
    public static Optional<Path> onPath(String command) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            Path p = Path.of(dir, command);
            if (!dir.isEmpty() && Files.isExecutable(p)) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }

    public static boolean usable(Optional<Path> binary) {
        return binary.isPresent() && Files.isExecutable(binary.get());
    }
}
