package dev.llmrt.agent.runner;

import dev.llmrt.agent.CborSerializable;
import java.util.List;

/**
 * A runner's state as operators see it. {@code phase} is starting, ready, backoff (restarting
 * after a crash), failed (its last start failed; requests get 503 until the next try) or stopping.
 *
 * @param pid        the backend process, or -1 when none runs
 * @param lastUsed   epoch millis of the last request, 0 if none yet
 * @param keepAlive  milliseconds idle before unload; negative never
 * @param gpus       the GPUs placement gave it (CUDA_VISIBLE_DEVICES); empty on CPU
 * @param vramEstimate bytes of GPU memory its backend's estimate reserved for it
 * @param vramActual   bytes its processes really use (nvidia-smi), -1 when unknown
 */
public record RunnerStatus(String runnerId, String backend, String model, String mode, String phase, long pid,
                           int restarts, String lastError, int inFlight, int pending, long lastUsed,
                           long keepAlive, long startedAt, long readyAt, String socket, List<Integer> gpus,
                           long vramEstimate, long vramActual) implements CborSerializable {

    public RunnerStatus {
        gpus = gpus == null ? List.of() : List.copyOf(gpus);
    }

    public RunnerStatus withVramActual(long actual) {
        return new RunnerStatus(runnerId, backend, model, mode, phase, pid, restarts, lastError, inFlight, pending, lastUsed,
                keepAlive, startedAt, readyAt, socket, gpus, vramEstimate, actual);
    }

    /** No request in flight or queued: a candidate for eviction (unless it must never unload). */
    public boolean idle() {
        return inFlight == 0 && pending == 0 && !phase.equals("starting") && !phase.equals("stopping");
    }
}
