package dev.llmrt.testing;

import java.time.Duration;
import java.util.function.BooleanSupplier;

/**
 * Waits in tests for something that happens asynchronously: retries an assertion until it passes
 * or the time is up, then fails with the assertion's own last message. The one way tests wait;
 * no test writes its own sleep loop.
 */
public final class Eventually {
    private static final Duration POLL = Duration.ofMillis(20);

    /** An assertion that may throw (a checked exception counts as not yet). */
    @FunctionalInterface
    public interface Check {
        void run() throws Exception;
    }

    /** A value that may not be ready yet: null or an exception means not yet. */
    @FunctionalInterface
    public interface Probe<T> {
        T get() throws Exception;
    }

    private Eventually() {}

    /** Runs {@code check} until it passes; after {@code timeout}, fails with its last failure. */
    public static void eventually(Duration timeout, Check check) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            try {
                check.run();
                return;
            } catch (AssertionError | Exception e) {
                if (System.nanoTime() >= deadline) {
                    AssertionError failed = new AssertionError("not true within " + timeout + ": " + e.getMessage(), e);
                    throw failed;
                }
            }
            pause();
        }
    }

    /** Waits until {@code condition} holds; {@code what} says what was awaited when it never does. */
    public static void eventually(Duration timeout, String what, BooleanSupplier condition) {
        eventually(timeout, () -> {
            if (!condition.getAsBoolean()) {
                throw new AssertionError(what);
            }
        });
    }

    /** The first non-null value {@code probe} gives within {@code timeout}. */
    public static <T> T eventuallyGet(Duration timeout, String what, Probe<T> probe) {
        long deadline = System.nanoTime() + timeout.toNanos();
        Exception last = null;
        while (true) {
            try {
                T value = probe.get();
                if (value != null) {
                    return value;
                }
            } catch (Exception e) {
                last = e;
            }
            if (System.nanoTime() >= deadline) {
                throw new AssertionError("no " + what + " within " + timeout + (last == null ? "" : ": " + last), last);
            }
            pause();
        }
    }

    private static void pause() {
        try {
            Thread.sleep(POLL.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while waiting", e);
        }
    }
}
