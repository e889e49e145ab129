package dev.llmrt.runtime.spi;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Consumer;

/**
 * What Go's {@code context.Context} is to {@code Backend.Run}: the caller cancels through it, and
 * the backend reports the processes it starts (so a supervisor can show their pids).
 */
public final class RunContext {
    private final CompletableFuture<Void> cancelled = new CompletableFuture<>();
    private final Consumer<ProcessHandle> processListener;

    public RunContext(Consumer<ProcessHandle> processListener) {
        this.processListener = processListener;
    }

    public static RunContext create() {
        return new RunContext(p -> {});
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
