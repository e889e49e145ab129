package dev.llmrt.agent.runner;

import dev.llmrt.agent.CborSerializable;
import java.util.List;
import java.util.Locale;

/**
 * A runner's state as operators see it.
 *
 * @param pid          the backend process, or -1 when none runs
 * @param lastUsed     epoch millis of the last request, 0 if none yet
 * @param keepAlive    milliseconds idle before unload; negative never
 * @param gpus         the GPUs placement gave it (CUDA_VISIBLE_DEVICES); empty on CPU
 * @param vramEstimate bytes of GPU memory its backend's estimate reserved for it
 * @param vramActual   bytes its processes really use (nvidia-smi), -1 when unknown
 */
public record RunnerStatus(String runnerId, String backend, String model, String mode, Phase phase, long pid,
                           int restarts, String lastError, int inFlight, int pending, long lastUsed,
                           long keepAlive, long startedAt, long readyAt, String socket, List<Integer> gpus,
                           long vramEstimate, long vramActual) implements CborSerializable {

    /** Where a runner is in its life. */
    public enum Phase {
        /** Its process was spawned; {@code /health} is polled until it answers 200. */
        STARTING,
        /** It serves requests. */
        READY,
        /** Its process crashed after it had been ready; requests queue for the restart. */
        BACKOFF,
        /** Its last start failed; requests get 503 with the reason until the next try. */
        FAILED,
        /** It is being unloaded: its process is being reaped, and it takes no requests. */
        STOPPING;

        /** As operators see it: starting, ready, backoff, failed, stopping. */
        public String wireName() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public RunnerStatus {
        gpus = gpus == null ? List.of() : List.copyOf(gpus);
    }

    public RunnerStatus withVramActual(long actual) {
        return new RunnerStatus(runnerId, backend, model, mode, phase, pid, restarts, lastError, inFlight, pending, lastUsed,
                keepAlive, startedAt, readyAt, socket, gpus, vramEstimate, actual);
    }

    /** No request in flight or queued: a candidate for eviction (unless it must never unload). */
    public boolean idle() {
        return inFlight == 0 && pending == 0 && phase != Phase.STARTING && phase != Phase.STOPPING;
    }
}
