package dev.llmrt.runtime.process;

import static dev.llmrt.testing.Eventually.eventually;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmrt.runtime.spi.BackendException;
import dev.llmrt.runtime.spi.RunContext;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProcessRunnerTest {
    @TempDir
    Path dir;

    private final ProcessRunner runner = new ProcessRunner("test", new ProcessRunner.Limits(Duration.ofSeconds(2), 64),
            tail -> tail.contains("cudaMalloc failed: out of memory") ? "not enough GPU memory to load the model (CUDA)" : tail);

    @Test
    void exitIsAFailureQuotingTheOutputTail() {
        BackendException e = assertThrows(BackendException.class, () -> runner.run(RunContext.create(),
                List.of("sh", "-c", "echo starting; echo 'model file is corrupt' >&2; exit 3"), Map.of(), dir.resolve("a.sock")));
        assertEquals("test terminated unexpectedly (exit code 3): starting\nmodel file is corrupt", e.getMessage());
    }

    @Test
    void knownPatternsBecomePlainReasons() {
        BackendException e = assertThrows(BackendException.class, () -> runner.run(RunContext.create(),
                List.of("sh", "-c", "echo 'ggml_cuda: cudaMalloc failed: out of memory'; exit 1"), Map.of(), dir.resolve("b.sock")));
        assertTrue(e.getMessage().endsWith("not enough GPU memory to load the model (CUDA)"), e.getMessage());
    }

    @Test
    void tailKeepsOnlyTheLastBytesFromALineStart() {
        OutputTail tail = new OutputTail(16);
        byte[] text = "first line\nsecond line\nthird\n".getBytes();
        tail.append(text, 0, text.length);
        assertEquals("third", tail.text());
    }

    @Test
    void cancellationReapsTheProcessAndReturnsNormally() throws Exception {
        AtomicReference<ProcessHandle> started = new AtomicReference<>();
        RunContext ctx = new RunContext(started::set);
        Path socket = dir.resolve("c.sock");
        Files.writeString(socket, "stale");
        CompletableFuture<Void> run = CompletableFuture.runAsync(() -> {
            try {
                runner.run(ctx, List.of("sleep", "600"), Map.of(), socket);
            } catch (BackendException e) {
                throw new IllegalStateException(e);
            }
        });
        eventually(Duration.ofSeconds(10), "the process started", () -> started.get() != null);
        assertTrue(started.get().isAlive());
        assertFalse(Files.exists(socket), "a stale socket file is removed before start");
        ctx.cancel();
        run.get(10, TimeUnit.SECONDS); // returns normally
        assertFalse(started.get().isAlive(), "the process is reaped when run returns");
    }

    @Test
    void aProcessIgnoringSigtermGetsTheWholeGraceThenIsKilled() throws Exception {
        AtomicReference<ProcessHandle> started = new AtomicReference<>();
        RunContext ctx = new RunContext(started::set);
        Duration grace = Duration.ofMillis(600);
        ProcessRunner quick = new ProcessRunner("stubborn", new ProcessRunner.Limits(grace, 64), t -> t);
        Path trapped = dir.resolve("trapped");
        CompletableFuture<Void> run = CompletableFuture.runAsync(() -> {
            try {
                quick.run(ctx, List.of("sh", "-c", "trap '' TERM; touch " + trapped + "; while true; do sleep 0.05; done"),
                        Map.of(), dir.resolve("d.sock"));
            } catch (BackendException e) {
                throw new IllegalStateException(e);
            }
        });
        eventually(Duration.ofSeconds(10), "the shell ignores SIGTERM", () -> Files.exists(trapped));
        long cancelled = System.nanoTime();
        ctx.cancel();
        // SIGTERM is ignored: the process lives on through the grace period...
        Thread.sleep(grace.toMillis() / 2);
        assertTrue(started.get().isAlive(), "killed before its grace period was over");
        // ...and SIGKILL ends it once the grace is over
        run.get(10, TimeUnit.SECONDS);
        long stoppedAfterMs = (System.nanoTime() - cancelled) / 1_000_000;
        assertFalse(started.get().isAlive());
        assertTrue(stoppedAfterMs >= grace.toMillis(), "stopped after " + stoppedAfterMs + " ms, before the grace");
    }
}
