package dev.llmrt.agent.state;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The runner processes a node started, one file each ({@code <pid>}: its start time and command),
 * written when a process starts and removed when it has been reaped. A node whose JVM died without
 * stopping them (SIGKILL, the OOM killer) finds the files at its next start, and kills any process
 * still alive that is the same process (same pid and start time, so a reused pid is left alone)
 * before it publishes capacity: a left-over {@code llama-server} would keep GPU memory that
 * placement counts as free.
 */
public final class RunnerRecords {
    private static final Logger log = LoggerFactory.getLogger(RunnerRecords.class);
    /** Records nothing (a node without a state directory, tests of one runner). */
    public static final RunnerRecords NONE = new RunnerRecords(null);
    private final Path dir;

    RunnerRecords(Path dir) {
        this.dir = dir;
    }

    /** Notes a process this node started. */
    public void started(ProcessHandle process, String what) {
        if (dir == null) {
            return;
        }
        long start = process.info().startInstant().map(Instant::toEpochMilli).orElse(0L);
        try {
            Files.createDirectories(dir);
            Path tmp = dir.resolve(process.pid() + ".tmp");
            Files.writeString(tmp, start + "\n" + what.replace('\n', ' ') + "\n");
            Files.move(tmp, dir.resolve(Long.toString(process.pid())), java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            log.warn("could not record runner pid {} in {}: {}", process.pid(), dir, e.toString());
        }
    }

    /** The process has been reaped: forget it. */
    public void reaped(long pid) {
        if (dir == null) {
            return;
        }
        try {
            Files.deleteIfExists(dir.resolve(Long.toString(pid)));
        } catch (IOException e) {
            log.warn("could not remove runner record {} in {}: {}", pid, dir, e.toString());
        }
    }

    /** A process recorded here that is still running. */
    public record Leftover(long pid, String what) {}

    /**
     * Kills the recorded processes that are still alive (SIGKILL: a node that starts owns none yet),
     * waits for them to exit, and forgets every record. Returns those it killed.
     */
    public List<Leftover> reapLeftovers() {
        List<Leftover> killed = new ArrayList<>();
        if (dir == null || !Files.isDirectory(dir)) {
            return killed;
        }
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
            for (Path file : files) {
                String name = file.getFileName().toString();
                if (!name.matches("\\d+")) {
                    Files.deleteIfExists(file);
                    continue;
                }
                long pid = Long.parseLong(name);
                List<String> lines = Files.readAllLines(file);
                long start = lines.isEmpty() ? 0 : Long.parseLong(lines.get(0).trim());
                String what = lines.size() > 1 ? lines.get(1) : "?";
                Optional<ProcessHandle> p = ProcessHandle.of(pid).filter(ProcessHandle::isAlive)
                        .filter(h -> sameStart(h, start));
                if (p.isPresent()) {
                    log.warn("killing runner pid {} left running by this node's previous run: {}", pid, what);
                    p.get().destroyForcibly();
                    try {
                        p.get().onExit().get(10, TimeUnit.SECONDS);
                    } catch (Exception e) {
                        log.error("runner pid {} did not exit after SIGKILL: {}", pid, e.toString());
                    }
                    killed.add(new Leftover(pid, what));
                }
                Files.deleteIfExists(file);
            }
        } catch (IOException | RuntimeException e) {
            log.error("could not read the runner records in {}: {}", dir, e.toString());
        }
        return killed;
    }

    /** Start times are read from /proc with a clock tick's precision: within a second is the same process. */
    private static boolean sameStart(ProcessHandle h, long recorded) {
        if (recorded == 0) {
            return false; // unknown start: can't tell it from a reused pid
        }
        return h.info().startInstant().map(i -> Math.abs(i.toEpochMilli() - recorded) < 1000).orElse(false);
    }
}
