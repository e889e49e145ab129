package dev.llmrt.agent.runner;

import dev.llmrt.agent.CborSerializable;

/**
 * A runner's state as operators see it. {@code phase} is starting, ready, backoff (restarting
 * after a crash), failed (its last start failed; requests get 503 until the next try) or stopping.
 *
 * @param pid        the backend process, or -1 when none runs
 * @param lastUsed   epoch millis of the last request, 0 if none yet
 * @param keepAlive  milliseconds idle before unload; negative never
 */
public record RunnerStatus(String runnerId, String backend, String model, String mode, String phase, long pid,
                           int restarts, String lastError, int inFlight, int pending, long lastUsed,
                           long keepAlive, long startedAt, long readyAt, String socket) implements CborSerializable {}
