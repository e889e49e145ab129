package dev.llmrt.agent.runner.io;

import java.util.ArrayDeque;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.pekko.NotUsed;
import org.apache.pekko.stream.Attributes;
import org.apache.pekko.stream.Outlet;
import org.apache.pekko.stream.SourceShape;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.stage.AbstractOutHandler;
import org.apache.pekko.stream.stage.AsyncCallback;
import org.apache.pekko.stream.stage.GraphStage;
import org.apache.pekko.stream.stage.GraphStageLogic;
import org.apache.pekko.util.ByteString;

/**
 * A response body that arrives in parts (SSE), between the I/O loop that reads it and the Pekko
 * stream that sends it on. Back-pressure: once more than {@code highWater} bytes wait, the
 * connection stops reading (the runner's socket buffer fills, and the runner slows); it reads again
 * when the stream has taken them below {@code lowWater}. Cancelling the stream closes the
 * connection, which tells the runner to stop generating.
 */
public final class StreamBody {
    /** What the connection does when the stream asks. */
    interface Control {
        void resume();

        void cancel();
    }

    private final long highWater;
    private final long lowWater;
    private final Control control;
    private final ArrayDeque<ByteString> queue = new ArrayDeque<>();
    private final AtomicBoolean materialized = new AtomicBoolean();
    private long buffered;
    private boolean paused;
    private boolean ended;
    private Throwable failure;
    private Runnable wake;

    StreamBody(long highWater, long lowWater, Control control) {
        this.highWater = highWater;
        this.lowWater = lowWater;
        this.control = control;
    }

    // ---- the connection's side (I/O loop) ----

    /** Adds a part; false when the reader should pause until {@link Control#resume()}. */
    boolean offer(ByteString part) {
        Runnable w;
        synchronized (this) {
            queue.add(part);
            buffered += part.size();
            w = queue.size() == 1 ? wake : null;
            if (buffered > highWater) {
                paused = true;
            }
        }
        if (w != null) {
            w.run();
        }
        return !paused;
    }

    void end() {
        finish(null);
    }

    void fail(Throwable e) {
        finish(e);
    }

    private void finish(Throwable e) {
        Runnable w;
        synchronized (this) {
            if (ended) {
                return;
            }
            ended = true;
            failure = e;
            w = wake;
        }
        if (w != null) {
            w.run();
        }
    }

    // ---- the stream's side ----

    /** The body as a source; it can be run once. */
    public Source<ByteString, NotUsed> source() {
        return Source.fromGraph(new Stage());
    }

    /** Nobody will read this body: closes its connection. */
    public void discard() {
        if (materialized.compareAndSet(false, true)) {
            control.cancel();
        }
    }

    private final class Stage extends GraphStage<SourceShape<ByteString>> {
        private final Outlet<ByteString> out = Outlet.create("StreamBody.out");
        private final SourceShape<ByteString> shape = SourceShape.of(out);

        @Override
        public SourceShape<ByteString> shape() {
            return shape;
        }

        @Override
        public GraphStageLogic createLogic(Attributes attributes) {
            return new GraphStageLogic(shape) {
                private boolean done;

                {
                    setHandler(out, new AbstractOutHandler() {
                        @Override
                        public void onPull() {
                            deliver();
                        }

                        @Override
                        public void onDownstreamFinish(Throwable cause) {
                            done = true;
                            control.cancel();
                            completeStage();
                        }
                    });
                }

                @Override
                public void preStart() {
                    if (!materialized.compareAndSet(false, true)) {
                        failStage(new IllegalStateException("a runner's response body can be read once"));
                        return;
                    }
                    AsyncCallback<NotUsed> callback = createAsyncCallback(x -> deliver());
                    synchronized (StreamBody.this) {
                        wake = () -> callback.invoke(NotUsed.getInstance());
                    }
                }

                private void deliver() {
                    if (done || !isAvailable(out)) {
                        return;
                    }
                    ByteString next;
                    boolean resume = false;
                    boolean finished;
                    Throwable failed;
                    synchronized (StreamBody.this) {
                        next = queue.poll();
                        if (next != null) {
                            buffered -= next.size();
                            if (paused && buffered < lowWater) {
                                paused = false;
                                resume = true;
                            }
                        }
                        finished = next == null && ended;
                        failed = failure;
                    }
                    if (resume) {
                        control.resume();
                    }
                    if (next != null) {
                        push(out, next);
                    } else if (finished) {
                        done = true;
                        if (failed != null) {
                            failStage(failed);
                        } else {
                            completeStage();
                        }
                    }
                }
            };
        }
    }
}
