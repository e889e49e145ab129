package dev.llmrt.agent.runner.io;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SelectableChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.util.Iterator;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One thread and one selector: every runner connection assigned to it is read, written and parsed
 * here, without blocking, so the thread count does not grow with connections or streams. Other
 * threads hand work over with {@link #execute}.
 */
public final class IoLoop implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(IoLoop.class);

    /** What a registered channel does when it is ready. */
    interface Handler {
        void ready(SelectionKey key);

        /** The loop is closing: release what is held, fail what waits. */
        void closed();
    }

    private final Selector selector;
    private final Thread thread;
    private final ConcurrentLinkedQueue<Runnable> tasks = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean wakeupPending = new AtomicBoolean();
    private volatile boolean running = true;

    public IoLoop(String name) {
        try {
            selector = Selector.open();
        } catch (IOException e) {
            throw new UncheckedIOException("can't open a selector", e);
        }
        thread = new Thread(this::run, name);
        thread.setDaemon(true);
        thread.start();
    }

    /** Runs {@code task} on the loop's thread: at once when called there, else soon. */
    public void execute(Runnable task) {
        if (Thread.currentThread() == thread) {
            task.run();
            return;
        }
        tasks.add(task);
        if (wakeupPending.compareAndSet(false, true)) {
            selector.wakeup();
        }
    }

    boolean inLoop() {
        return Thread.currentThread() == thread;
    }

    /** Registers {@code channel} (non-blocking) on this loop's thread. */
    SelectionKey register(SelectableChannel channel, int ops, Handler handler) throws ClosedChannelException {
        return channel.register(selector, ops, handler);
    }

    private void run() {
        while (running) {
            try {
                selector.select();
                wakeupPending.set(false);
                Runnable task;
                while ((task = tasks.poll()) != null) {
                    runSafely(task);
                }
                Iterator<SelectionKey> keys = selector.selectedKeys().iterator();
                while (keys.hasNext()) {
                    SelectionKey key = keys.next();
                    keys.remove();
                    if (key.isValid()) {
                        Handler h = (Handler) key.attachment();
                        runSafely(() -> h.ready(key));
                    }
                }
            } catch (IOException | RuntimeException e) {
                log.error("runner I/O loop error", e);
            }
        }
        for (SelectionKey key : selector.keys()) {
            runSafely(((Handler) key.attachment())::closed);
        }
        Runnable task;
        while ((task = tasks.poll()) != null) {
            runSafely(task);
        }
        try {
            selector.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }

    private static void runSafely(Runnable task) {
        try {
            task.run();
        } catch (RuntimeException e) {
            log.error("runner I/O task failed", e);
        }
    }

    @Override
    public void close() {
        running = false;
        selector.wakeup();
    }
}
