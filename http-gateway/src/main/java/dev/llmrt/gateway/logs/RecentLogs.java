package dev.llmrt.gateway.logs;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import ch.qos.logback.core.Layout;
import dev.llmrt.runtime.process.ProcessRunner;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * A logback appender that keeps this JVM's last {@code capacity} log lines, the service's and its
 * runners' output ({@value #ENGINES}) alike, for {@code GET /logs}; and tells followers of each new
 * line. Named in {@code logback.xml} with a layout; one buffer per JVM.
 */
public final class RecentLogs extends AppenderBase<ILoggingEvent> {
    /** One kept line, formatted; {@code engine} when it is a runner's output. */
    public record Line(String text, boolean engine) {}

    private static final ArrayDeque<Line> LINES = new ArrayDeque<>();
    private static final List<Consumer<Line>> FOLLOWERS = new CopyOnWriteArrayList<>();
    private static volatile int capacity = 2000;
    private Layout<ILoggingEvent> layout;

    public void setLayout(Layout<ILoggingEvent> layout) {
        this.layout = layout;
    }

    public void setCapacity(int lines) {
        capacity = Math.max(1, lines);
    }

    @Override
    protected void append(ILoggingEvent event) {
        String text = layout != null ? layout.doLayout(event) : event.getFormattedMessage() + "\n";
        Line line = new Line(text, event.getLoggerName().startsWith(ProcessRunner.ENGINE_LOGGER));
        synchronized (LINES) {
            while (LINES.size() >= capacity) {
                LINES.removeFirst();
            }
            LINES.addLast(line);
        }
        FOLLOWERS.forEach(f -> f.accept(line));
    }

    /** The kept lines, oldest first. */
    public static List<Line> lines() {
        synchronized (LINES) {
            return List.copyOf(LINES);
        }
    }

    /** Hears each new line from now on; run the returned action to stop. */
    public static Runnable follow(Consumer<Line> follower) {
        FOLLOWERS.add(follower);
        return () -> FOLLOWERS.remove(follower);
    }
}
