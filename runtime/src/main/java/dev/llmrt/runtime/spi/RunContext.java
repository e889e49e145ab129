package dev.llmrt.runtime.spi;

import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Consumer;

/**
 * What Go's {@code context.Context} is to {@code Backend.Run}: the caller cancels through it, and
 * the backend reports the processes it starts (so a supervisor can show their pids), and it
 * carries the environment the processes get (the GPUs placement chose).
 */
public final class RunContext {
    private final CompletableFuture<Void> cancelled = new CompletableFuture<>();
    private final Consumer<ProcessHandle> processListener;
    private final Map<String, String> environment;

    public RunContext(Consumer<ProcessHandle> processListener) {
        this(processListener, Map.of());
    }

    /** @param environment set for the backend's processes, e.g. CUDA_VISIBLE_DEVICES of the GPUs it was placed on */
    public RunContext(Consumer<ProcessHandle> processListener, Map<String, String> environment) {
        this.processListener = processListener;
        this.environment = Map.copyOf(environment);
    }

    public static RunContext create() {
        return new RunContext(p -> {});
    }

    public Map<String, String> environment() {
        return environment;
    }

    /** Asks the run to stop; {@code run} then reaps its processes and returns normally. */
    public void cancel() {
        cancelled.complete(null);
    }

    public boolean isCancelled() {
        return cancelled.isDone();
    }

    public CompletionStage<Void> cancellation() {
        return cancelled;
    }

    /** Called by a backend for each process it starts. */
    public void processStarted(ProcessHandle process) {
        processListener.accept(process);
    }
}
