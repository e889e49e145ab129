package dev.llmrt.agent.runner;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * A runner's live load, written by its supervisor with every request and read without asking it
 * (by the agent to publish queues, by metrics scrapes).
 */
public final class RunnerLoad {
    /** Requests waiting for the backend (beyond what it runs at once, or while it starts). */
    public final AtomicInteger queued = new AtomicInteger();
    /** Requests sent to the backend and not finished. */
    public final AtomicInteger inFlight = new AtomicInteger();
}
