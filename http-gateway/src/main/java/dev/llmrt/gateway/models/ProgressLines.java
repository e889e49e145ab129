package dev.llmrt.gateway.models;

import dev.llmrt.agent.store.ModelFiles;
import java.nio.charset.StandardCharsets;
import org.apache.pekko.NotUsed;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.BoundedSourceQueue;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;

/**
 * A transfer's progress as a stream of lines (NDJSON) for a chunked response: at most one line per
 * 100 ms or per MiB, plus the last one; closed by {@link #finish}.
 */
public final class ProgressLines implements ModelFiles.Progress {
    private static final long INTERVAL_NANOS = 100_000_000L;
    private static final long BYTES = 1 << 20;

    private final BoundedSourceQueue<ByteString> queue;
    private final Source<ByteString, NotUsed> source;
    private final Line line;
    private final boolean escape;
    private long lastNanos;
    private long lastBytes = -1;

    /** Renders one progress update: the blob's digest, bytes done, bytes in all. */
    public interface Line {
        String render(String digest, long current, long total);
    }

    /** @param escape HTML-escape each line (model-runner's text/plain progress, which the docker CLI unescapes) */
    public ProgressLines(Materializer materializer, boolean escape, Line line) {
        this.escape = escape;
        Pair<BoundedSourceQueue<ByteString>, Source<ByteString, NotUsed>> q = Source.<ByteString>queue(1024).preMaterialize(materializer);
        this.queue = q.first();
        this.source = q.second();
        this.line = line;
    }

    public Source<ByteString, NotUsed> source() {
        return source;
    }

    @Override
    public synchronized void update(String digest, long current, long total) {
        long now = System.nanoTime();
        if (current == total || current - lastBytes >= BYTES || now - lastNanos >= INTERVAL_NANOS) {
            lastNanos = now;
            lastBytes = current;
            send(line.render(digest, current, total));
        }
    }

    /** Sends one line now. */
    public void send(String text) {
        String out = escape ? text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&#34;")
                .replace("'", "&#39;") : text;
        queue.offer(ByteString.fromString(out + "\n", StandardCharsets.UTF_8));
    }

    /** Sends the last line and ends the stream. */
    public void finish(String last) {
        send(last);
        queue.complete();
    }
}
