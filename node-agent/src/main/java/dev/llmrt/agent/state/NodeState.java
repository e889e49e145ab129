package dev.llmrt.agent.state;

import com.typesafe.config.Config;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A node's state directory ({@code llmrt.state.dir}): what the cluster decided at run time and must
 * survive a restart of every node (Distributed Data's durable entries, one file per key under
 * {@code distributed-data/}), the runners this node started ({@code runners/}, see
 * {@link RunnerRecords}), and markers such as "keys were turned on". One node owns a directory at a
 * time: it holds {@code lock} while it runs, and a second node given the same directory refuses to
 * start rather than share it.
 */
public final class NodeState implements AutoCloseable {
    private final Path dir;
    private final FileChannel lockChannel;
    private final FileLock lock;
    /** A temporary directory, removed at close: nothing is kept. */
    private final boolean ephemeral;

    private NodeState(Path dir, FileChannel lockChannel, FileLock lock, boolean ephemeral) {
        this.dir = dir;
        this.lockChannel = lockChannel;
        this.lock = lock;
        this.ephemeral = ephemeral;
    }

    /** {@code llmrt.state.dir}, created, then locked for this node; none: a temporary one, removed at close. */
    public static NodeState open(Config root) {
        String configured = root.getString("llmrt.state.dir");
        if (configured.isBlank()) {
            try {
                return open(Files.createTempDirectory("llmrt-state-"), true);
            } catch (IOException e) {
                throw new UncheckedIOException("can't make a temporary state directory: " + e.getMessage(), e);
            }
        }
        return open(Path.of(configured).toAbsolutePath(), false);
    }

    public static NodeState open(Path dir, boolean ephemeral) {
        FileChannel channel = null;
        try {
            Files.createDirectories(dir);
            channel = FileChannel.open(dir.resolve("lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            FileLock lock = channel.tryLock();
            if (lock == null) {
                throw new IllegalStateException("llmrt.state.dir " + dir + " is in use by another node (" + holder(dir)
                        + "): give each node its own");
            }
            channel.truncate(0).write(java.nio.ByteBuffer.wrap(Long.toString(ProcessHandle.current().pid())
                    .getBytes(StandardCharsets.US_ASCII)));
            return new NodeState(dir, channel, lock, ephemeral);
        } catch (OverlappingFileLockException e) {
            closeQuietly(channel);
            throw new IllegalStateException("llmrt.state.dir " + dir + " is in use by another node in this JVM: give each node its own");
        } catch (IOException e) {
            closeQuietly(channel);
            throw new UncheckedIOException("llmrt.state.dir " + dir + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            closeQuietly(channel);
            throw e;
        }
    }

    private static String holder(Path dir) {
        try {
            return "pid " + Files.readString(dir.resolve("lock")).trim();
        } catch (IOException e) {
            return "pid unknown";
        }
    }

    public Path dir() {
        return dir;
    }

    /** Where Distributed Data keeps its durable entries ({@link FileDurableStore}). */
    public Path distributedData() {
        return dir.resolve("distributed-data");
    }

    public RunnerRecords runners() {
        return new RunnerRecords(dir.resolve("runners"));
    }

    /** Whether the marker {@code name} was set here, in this run or an earlier one. */
    public boolean marked(String name) {
        return Files.exists(dir.resolve(name));
    }

    /** Sets the marker {@code name}; it stays until someone removes the file. */
    public void mark(String name, String why) {
        try {
            Path file = dir.resolve(name);
            if (!Files.exists(file)) {
                Files.writeString(file.resolveSibling(name + ".tmp"), why + "\n");
                Files.move(file.resolveSibling(name + ".tmp"), file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("can't write " + dir.resolve(name) + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        try {
            lock.release();
        } catch (IOException ignored) {
            // closing the channel releases it too
        }
        closeQuietly(lockChannel);
        if (ephemeral) {
            try (java.util.stream.Stream<Path> all = Files.walk(dir)) {
                all.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            } catch (IOException ignored) {
                // a temporary directory: the system cleans it eventually
            }
        }
    }

    /** Whether nothing here outlives the node (no llmrt.state.dir was given). */
    public boolean ephemeral() {
        return ephemeral;
    }

    private static void closeQuietly(FileChannel channel) {
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException ignored) {
                // nothing more to do
            }
        }
    }
}
