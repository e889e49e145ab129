package dev.llmrt.runtime.spi;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Consumer;

/**
 * What Go's {@code context.Context} is to {@code Backend.Run}: the caller cancels through it, and
 * the backend reports the processes it starts (so a supervisor can show their pids), and it
 * carries what placement decided: the environment the processes get (the GPUs it chose) and the
 * GPU memory reserved for them there.
 */
public final class RunContext {
    /** A GPU the backend's processes were placed on: the bytes reserved for them there, of its total. */
    public record Gpu(int index, long reservedBytes, long totalBytes) {}

    private final CompletableFuture<Void> cancelled = new CompletableFuture<>();
    private final Consumer<ProcessHandle> processListener;
    private final Map<String, String> environment;
    private final List<Gpu> gpus;

    public RunContext(Consumer<ProcessHandle> processListener) {
        this(processListener, Map.of(), List.of());
    }

    /**
     * @param environment set for the backend's processes, e.g. CUDA_VISIBLE_DEVICES of the GPUs it was placed on
     * @param gpus        the GPUs it was placed on and what is reserved for it on each; empty on a CPU
     */
    public RunContext(Consumer<ProcessHandle> processListener, Map<String, String> environment, List<Gpu> gpus) {
        this.processListener = processListener;
        this.environment = Map.copyOf(environment);
        this.gpus = List.copyOf(gpus);
    }

    public static RunContext create() {
        return new RunContext(p -> {});
    }

    public Map<String, String> environment() {
        return environment;
    }

    public List<Gpu> gpus() {
        return gpus;
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
