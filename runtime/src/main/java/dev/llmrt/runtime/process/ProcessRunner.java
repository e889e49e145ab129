package dev.llmrt.runtime.process;

import dev.llmrt.runtime.spi.BackendException;
import dev.llmrt.runtime.spi.RunContext;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one backend process the way model-runner's process runner does: removes a stale socket,
 * starts the process, keeps the tail of its output, and either returns after reaping it on
 * cancellation or throws "{@code <backend> terminated unexpectedly: <reason>}".
 */
public final class ProcessRunner {
    private static final Logger log = LoggerFactory.getLogger(ProcessRunner.class);
    /** Runners' output is logged line by line under this logger, one child per backend. */
    public static final String ENGINE_LOGGER = "dev.llmrt.engines";
    private static final int MAX_LOGGED_LINE = 8192;

    /**
     * How a backend's processes are handled (each backend's {@code stop-grace} and {@code output-tail}).
     *
     * @param stopGrace       how long a cancelled process gets after SIGTERM before SIGKILL
     * @param outputTailBytes how much of the process's output to keep for error messages
     */
    public record Limits(Duration stopGrace, int outputTailBytes) {}

    private final String backendName;
    private final Duration stopGrace;
    private final int tailBytes;
    private final UnaryOperator<String> errorTransformer;

    /** @param errorTransformer turns known failure patterns in the output tail into a plain reason */
    public ProcessRunner(String backendName, Limits limits, UnaryOperator<String> errorTransformer) {
        this.backendName = backendName;
        this.stopGrace = limits.stopGrace();
        this.tailBytes = limits.outputTailBytes();
        this.errorTransformer = errorTransformer;
    }

    /** Runs {@code binary} with {@code arguments}: the common case of a backend's {@code run}. */
    public void run(RunContext ctx, Path binary, List<String> arguments, Path socket) throws BackendException {
        List<String> command = new ArrayList<>();
        command.add(binary.toString());
        command.addAll(arguments);
        run(ctx, command, Map.of(), socket);
    }

    public void run(RunContext ctx, List<String> command, Map<String, String> environment, Path socket)
            throws BackendException {
        if (ctx.isCancelled()) {
            return;
        }
        try {
            Files.deleteIfExists(socket);
            Files.createDirectories(socket.toAbsolutePath().getParent());
        } catch (IOException e) {
            throw new BackendException(backendName + ": can't prepare socket " + socket + ": " + e.getMessage(), e);
        }
        ProcessBuilder builder = new ProcessBuilder(diesWithThisThread(command)).redirectErrorStream(true);
        builder.environment().putAll(environment);
        builder.environment().putAll(ctx.environment());
        Process process;
        try {
            process = builder.start();
        } catch (IOException e) {
            throw new BackendException(backendName + " failed to start: " + e.getMessage(), e);
        }
        log.debug("{} started pid {}: {}", backendName, process.pid(), command);
        OutputTail tail = new OutputTail(tailBytes);
        Logger output = LoggerFactory.getLogger(ENGINE_LOGGER + "." + backendName);
        String prefix = "[" + backendName + " " + process.pid() + "] ";
        Thread pump = new Thread(() -> pump(process.getInputStream(), tail, output, prefix), backendName + "-output-" + process.pid());
        pump.setDaemon(true);
        pump.start();
        ctx.processStarted(process.toHandle());

        CompletableFuture<Object> exitOrCancel = CompletableFuture.anyOf(
                process.onExit(), ctx.cancellation().toCompletableFuture());
        boolean interrupted = false;
        while (true) {
            try {
                exitOrCancel.get();
                break;
            } catch (InterruptedException e) {
                interrupted = true; // treat like cancellation: never leave the process behind
                ctx.cancel();
            } catch (ExecutionException e) {
                break;
            }
        }
        try {
            if (ctx.isCancelled()) {
                terminate(process);
                return;
            }
            joinQuietly(pump);
            String raw = tail.text();
            String reason = errorTransformer.apply(raw);
            int code = process.exitValue();
            String how = code > 128 ? "killed by signal " + (code - 128) : "exit code " + code;
            throw new BackendException(backendName + " terminated unexpectedly (" + how + "): "
                    + (reason.isEmpty() ? "no output" : reason));
        } finally {
            cleanupSocket(socket);
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** util-linux's setpriv, which sets the parent-death signal and then runs the command (Debian has it everywhere). */
    private static final String SETPRIV = java.util.stream.Stream.of("/usr/bin/setpriv", "/bin/setpriv")
            .filter(p -> Files.isExecutable(Path.of(p))).findFirst().orElse(null);

    /**
     * The command, run so that the kernel SIGKILLs it when the thread that starts it dies: with the JVM
     * (SIGKILL, the OOM killer), which can then neither stop it nor reap it. Linux sends the parent-death
     * signal when the forking <em>thread</em> exits, not the process: the thread that starts it here
     * blocks in {@link #run} for the life of the process, so the two end together.
     */
    static List<String> diesWithThisThread(List<String> command) {
        if (SETPRIV == null) {
            return command;
        }
        List<String> wrapped = new ArrayList<>(List.of(SETPRIV, "--pdeathsig", "KILL", "--"));
        wrapped.addAll(command);
        return wrapped;
    }

    /** SIGTERM, a grace period, then SIGKILL; descendants too. Returns once all have exited. */
    private void terminate(Process process) {
        List<ProcessHandle> descendants = process.descendants().toList();
        process.destroy();
        descendants.forEach(ProcessHandle::destroy);
        try {
            if (!process.waitFor(stopGrace.toMillis(), TimeUnit.MILLISECONDS)) {
                log.warn("{} pid {} ignored SIGTERM for {}; killing it", backendName, process.pid(), stopGrace);
                process.destroyForcibly();
            }
            for (ProcessHandle d : descendants) {
                d.destroyForcibly();
            }
            process.onExit().get(30, TimeUnit.SECONDS);
            for (ProcessHandle d : descendants) {
                d.onExit().get(30, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            log.error("{} pid {} could not be reaped: {}", backendName, process.pid(), e.toString());
        }
    }

    /**
     * Keeps the output's tail for the exit reason, and logs it line by line to {@code output} (the
     * node's {@code GET /logs} shows these lines as the engines' log).
     */
    private static void pump(InputStream in, OutputTail tail, Logger output, String prefix) {
        byte[] buf = new byte[4096];
        ByteArrayOutputStream line = new ByteArrayOutputStream(256);
        try (in) {
            int n;
            while ((n = in.read(buf)) >= 0) {
                tail.append(buf, 0, n);
                if (!output.isInfoEnabled()) {
                    continue;
                }
                for (int i = 0; i < n; i++) {
                    if (buf[i] == '\n') {
                        output.info("{}{}", prefix, line.toString(StandardCharsets.UTF_8).stripTrailing());
                        line.reset();
                    } else if (line.size() < MAX_LOGGED_LINE) {
                        line.write(buf[i]);
                    }
                }
            }
        } catch (IOException ignored) {
            // the process is gone; what we have is the tail
        }
        if (line.size() > 0) {
            output.info("{}{}", prefix, line.toString(StandardCharsets.UTF_8).stripTrailing());
        }
    }

    private static void joinQuietly(Thread t) {
        try {
            t.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void cleanupSocket(Path socket) {
        try {
            Files.deleteIfExists(socket);
        } catch (IOException ignored) {
            // best effort
        }
    }
}
