package dev.llmrt.gateway.routing;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmrt.agent.InferenceProtocol;
import dev.llmrt.agent.runner.RunnerSupervisor;
import dev.llmrt.agent.InferenceProtocol.FailureKind;
import dev.llmrt.gateway.Routed;
import dev.llmrt.runtime.spi.BackendMode;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongSupplier;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.Cancellable;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.japi.pf.PFBuilder;
import org.apache.pekko.stream.KillSwitches;
import org.apache.pekko.stream.SharedKillSwitch;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The requests of one (model, mode) on this gateway: which replica takes each, how many wait, and
 * what happens to them when a replica's node is lost.
 *
 * <p>A request goes to a ready replica with room, the less loaded of two picked at random (this
 * gateway's outstanding requests on it plus its runner's reported queue); a client with an affinity key stays on its replica while
 * that has room. Only while no replica is ready do requests go to one that is placed and loading
 * (its runner queues them). With no room anywhere they wait here, up to a length (then 429) and a
 * time (then 503). A request is only ever sent to a replica whose node is known, so when that node
 * becomes unreachable every request on it whose answer has not started goes to another replica, or
 * waits for the replica to be placed again; streams that had started end with an error event.
 *
 * <p>All state is guarded by the lane's lock; replies and timers come back on {@code callbacks}.
 */
final class ModelLane {
    private static final Logger log = LoggerFactory.getLogger(ModelLane.class);

    /** How the lane reaches its replicas (Cluster Sharding in a node; stubs in tests). */
    interface Replicas {
        /** Sends a request; {@code accepted} runs when the replica says it arrived. */
        CompletionStage<InferenceProtocol.Reply> route(int replica, InferenceProtocol.Request request, Duration timeout,
                                                       Runnable accepted);

        CompletionStage<InferenceProtocol.Located> locate(int replica, Duration timeout);

        CompletionStage<InferenceProtocol.Warmed> warm(int replica, Duration timeout);

        /** The replica is no longer in use: its runner may be unloaded. */
        void retire(int replica);

        /** What the model's runner on {@code node} last reported queued (from every gateway); 0 if unknown. */
        int reportedQueue(String node);

        Cancellable schedule(Duration delay, Runnable task);

        /** Drops a stream that came for a request already sent elsewhere. */
        void discard(InferenceProtocol.Stream stream);

        /** Sends a request straight to a ready runner, past the replica's shard and its node's agent. */
        CompletionStage<InferenceProtocol.Reply> direct(ActorRef<RunnerSupervisor.Command> runner,
                                                        InferenceProtocol.Request request, Duration timeout);

        /** Runs {@code gone} (once) when {@code runner} stops. */
        void watch(ActorRef<RunnerSupervisor.Command> runner, Runnable gone);

        /** A request left the lane for a replica after waiting this long (0: at once); once per request. */
        default void queued(long waitedNanos) {}
    }

    /** For attempts that need no receipt (sent straight to a runner, which is watched instead). */
    private static final Cancellable NO_TIMER = new Cancellable() {
        @Override
        public boolean cancel() {
            return false;
        }

        @Override
        public boolean isCancelled() {
            return true;
        }
    };

    /** A replica as this gateway sees it. */
    record ReplicaView(int index, String node, boolean ready, boolean down, int outstanding, long routed) {}

    /** What the lane has done so far, for status and tests. */
    record Counts(long routed, long retried, long queueFull, long queueTimeout, int queued) {}

    private static final class Replica {
        final int index;
        /** Its node's cluster address; null until it says (locate), and again once that node is removed. */
        String node;
        boolean locating;
        /** Its runner answered or reported ready; cleared when it fails to start or its node is lost. */
        boolean ready;
        boolean warming;
        long warmFailedAt = Long.MIN_VALUE;
        /** Its node is unreachable. */
        boolean down;
        /** Its ready runner, when it said (requests go straight there); null: through the replica's shard. */
        ActorRef<RunnerSupervisor.Command> runner;
        int outstanding;
        long routed;
        /** When it last got a request, or became in use. */
        long lastRoutedAt;
        /** Out of use and told so; placed afresh if it is used again. */
        boolean retired;
        /** Attempts sent to it, oldest first, until it accepts (or they end otherwise). */
        final Deque<Attempt> unaccepted = new ArrayDeque<>();

        /**
         * It hasn't confirmed a request sent {@code suspectAfter} ago: its node may be dead and not
         * yet found unreachable, so new requests avoid it while another ready replica can take them.
         */
        boolean suspect(long now, long suspectAfterNanos) {
            while (!unaccepted.isEmpty() && (unaccepted.peekFirst().accepted || unaccepted.peekFirst().abandoned
                    || unaccepted.peekFirst().answered)) {
                unaccepted.pollFirst();
            }
            return !unaccepted.isEmpty() && now - unaccepted.peekFirst().sentAt > suspectAfterNanos;
        }

        Replica(int index) {
            this.index = index;
        }
    }

    private final class Pending {
        final InferenceProtocol.Request request;
        final String affinity;
        final long deadline;
        final long arrived;
        boolean sent;
        final CompletableFuture<Routed> result = new CompletableFuture<>();
        Cancellable timer;

        Pending(InferenceProtocol.Request request, String affinity, long deadline) {
            this.request = request;
            this.affinity = affinity;
            this.deadline = deadline;
            this.arrived = clock.getAsLong();
        }
    }

    private static final class Attempt {
        final Pending pending;
        final Replica replica;
        final String node;
        long sentAt;
        boolean accepted;
        boolean answered;
        boolean abandoned;
        /** The runner it went to straight, or null if it went through the replica's shard. */
        ActorRef<RunnerSupervisor.Command> direct;
        Cancellable acceptTimer;
        SharedKillSwitch stream;

        Attempt(Pending pending, Replica replica) {
            this.pending = pending;
            this.replica = replica;
            this.node = replica.node;
        }
    }

    private final String model;
    private final BackendMode mode;
    private final RoutingSettings settings;
    private final Duration responseTimeout;
    private final Replicas replicas;
    private final Executor callbacks;
    private final Replica[] replica;
    private final int minReplicas;
    /** Replicas 0 .. active-1 take requests; the others (elastic models) are out of use. */
    private int active;
    private final LongSupplier clock;
    private long overloadedSince = -1;
    private long noScaleUpUntil = Long.MIN_VALUE;
    private final Deque<Pending> queue = new ArrayDeque<>();
    /** Sent and not answered yet. */
    private final Set<Attempt> awaiting = new HashSet<>();
    /** Answered with a stream that is still flowing. */
    private final Set<Attempt> streaming = new HashSet<>();
    private long routed;
    private long retried;
    private long queueFull;
    private long queueTimeout;

    /**
     * @param replicaCount    the most replicas the model may have
     * @param minReplicas     the fewest it keeps in use (equal for a model of fixed size)
     * @param active          how many are in use now
     * @param responseTimeout a request's deadline, from its arrival, for its answer to start
     */
    ModelLane(String model, BackendMode mode, int replicaCount, int minReplicas, int active, RoutingSettings settings,
              Duration responseTimeout, Replicas replicas, Executor callbacks, LongSupplier clock) {
        this.minReplicas = minReplicas;
        this.active = Math.max(minReplicas, Math.min(active, replicaCount));
        this.clock = clock;
        this.model = model;
        this.mode = mode;
        this.settings = settings;
        this.responseTimeout = responseTimeout;
        this.replicas = replicas;
        this.callbacks = callbacks;
        this.replica = new Replica[replicaCount];
        for (int i = 0; i < replicaCount; i++) {
            replica[i] = new Replica(i);
            replica[i].lastRoutedAt = clock.getAsLong();
        }
    }

    // ---- admission and choice ----

    CompletionStage<Routed> submit(InferenceProtocol.Request request, String affinity) {
        Pending p = new Pending(request, affinity, clock.getAsLong() + responseTimeout.toNanos());
        synchronized (this) {
            locateUnknown();
            Replica r = choose(p);
            if (r != null) {
                dispatch(p, r);
            } else if (queue.size() >= settings.maxQueueLength()) {
                queueFull++;
                return CompletableFuture.completedFuture(new Routed.Refused(429, "queue_full", "model '" + model
                        + "' already has " + queue.size() + " waiting for a replica, its limit (max-queue-length = "
                        + settings.maxQueueLength() + "); retry later", settings.retryAfter()));
            } else {
                enqueue(p, false);
            }
        }
        return p.result;
    }

    /**
     * A ready replica with room (affinity first, else the less loaded of two at random); while none
     * is ready at all, a placed one with room that loads. Null: wait.
     */
    private Replica choose(Pending p) {
        List<Replica> open = new ArrayList<>();
        List<Replica> suspect = new ArrayList<>();
        boolean anyReady = false;
        long now = clock.getAsLong();
        for (int i = 0; i < active; i++) {
            Replica r = replica[i];
            if (r.ready && !r.down && r.node != null) {
                anyReady = true;
                if (r.outstanding < settings.maxConcurrencyPerReplica()) {
                    (r.suspect(now, settings.suspectAfter().toNanos()) ? suspect : open).add(r);
                }
            }
        }
        if (open.isEmpty()) {
            open = suspect; // no other choice: try it, its node may yet answer
        }
        if (!anyReady) {
            for (int i = 0; i < active; i++) {
                Replica r = replica[i];
                if (r.node != null && !r.down && r.outstanding < settings.maxConcurrencyPerReplica()) {
                    open.add(r);
                }
            }
        }
        if (open.isEmpty()) {
            return null;
        }
        if (p.affinity != null) {
            Replica preferred = replica[Math.floorMod(p.affinity.hashCode(), active)];
            if (open.contains(preferred)) {
                return preferred;
            }
        }
        if (open.size() == 1) {
            return open.get(0);
        }
        ThreadLocalRandom random = ThreadLocalRandom.current();
        int a = random.nextInt(open.size());
        int b = random.nextInt(open.size() - 1);
        if (b >= a) {
            b++;
        }
        Replica x = open.get(a);
        Replica y = open.get(b);
        return load(x) <= load(y) ? x : y;
    }

    /**
     * A replica's load: what this gateway has outstanding on it, plus what its runner last reported
     * waiting in its queue (every gateway's, up to a publish interval old).
     */
    private int load(Replica r) {
        return r.outstanding + replicas.reportedQueue(r.node);
    }

    /** Waits for a replica: until the queue wait runs out, or (after a lost node) the request's deadline. */
    private void enqueue(Pending p, boolean first) {
        long now = clock.getAsLong();
        long until = first ? p.deadline : Math.min(p.deadline, now + settings.maxQueueWait().toNanos());
        if (first) {
            queue.addFirst(p);
        } else {
            queue.addLast(p);
        }
        if (p.timer != null) {
            p.timer.cancel();
        }
        p.timer = replicas.schedule(Duration.ofNanos(Math.max(0, until - now)), () -> expire(p, first));
    }

    private void expire(Pending p, boolean afterLoss) {
        synchronized (this) {
            if (!queue.remove(p)) {
                return;
            }
            queueTimeout++;
        }
        String message = afterLoss
                ? "model '" + model + "' had no replica to take the request again within its deadline ("
                        + human(responseTimeout) + ") after its node was lost"
                : "model '" + model + "' had no free replica within its queue wait (max-queue-wait = "
                        + human(settings.maxQueueWait()) + "); retry later";
        p.result.complete(new Routed.Refused(503, "queue_timeout", message, settings.retryAfter()));
    }

    /** A duration as written in configuration: 300ms, 60s. */
    static String human(Duration d) {
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + "s" : d.toMillis() + "ms";
    }

    /** Sends the waiting requests that now have a replica, oldest first. */
    private void drain() {
        synchronized (this) {
            while (!queue.isEmpty()) {
                Replica r = choose(queue.peekFirst());
                if (r == null) {
                    return;
                }
                Pending p = queue.pollFirst();
                p.timer.cancel();
                dispatch(p, r);
            }
        }
    }

    // ---- sending and answers ----

    private void dispatch(Pending p, Replica r) {
        if (!p.sent) {
            p.sent = true;
            replicas.queued(clock.getAsLong() - p.arrived);
        }
        r.outstanding++;
        r.routed++;
        r.lastRoutedAt = clock.getAsLong();
        routed++;
        Attempt a = new Attempt(p, r);
        a.sentAt = clock.getAsLong();
        awaiting.add(a);
        Duration left = Duration.ofNanos(Math.max(1, p.deadline - clock.getAsLong()));
        CompletionStage<InferenceProtocol.Reply> reply;
        if (r.runner != null && r.ready && !r.down) {
            // its runner is known and watched: no receipt needed, a lost runner is heard of
            a.direct = r.runner;
            a.accepted = true;
            a.acceptTimer = NO_TIMER;
            reply = replicas.direct(r.runner, p.request, left);
        } else {
            r.unaccepted.addLast(a);
            a.acceptTimer = replicas.schedule(settings.acceptTimeout(), () -> notAccepted(a));
            reply = replicas.route(r.index, p.request, left, () -> accepted(a));
            learnRunner(r);
        }
        // handled on the thread that completes the reply (no hop: what follows is short), but never
        // with a plain whenComplete, which Scala's CompletionStage would run on the common pool
        reply.whenCompleteAsync((answer, err) -> answered(a, answer, err), Runnable::run);
    }

    private void accepted(Attempt a) {
        synchronized (this) {
            a.accepted = true;
        }
        a.acceptTimer.cancel();
    }

    /** The replica never said the request arrived (dropped while its shard was handed off): send it again. */
    private void notAccepted(Attempt a) {
        synchronized (this) {
            if (a.accepted || !awaiting.contains(a)) {
                return;
            }
            sendAgain(a, "was not accepted within " + settings.acceptTimeout());
        }
        drain();
    }

    /** Gives up on an attempt whose answer can't come, and puts its request first in line. */
    private void sendAgain(Attempt a, String why) {
        awaiting.remove(a);
        a.abandoned = true;
        a.acceptTimer.cancel();
        a.replica.outstanding--;
        retried++;
        log.warn("request for '{}' sent to replica {} on {} {}: sending it again", model, a.replica.index, a.node, why);
        enqueue(a.pending, true);
    }

    private void answered(Attempt a, InferenceProtocol.Reply reply, Throwable err) {
        Replica r = a.replica;
        Routed out = null;
        synchronized (this) {
            if (a.abandoned) {
                // it was sent again elsewhere after its node was lost; a stream that still came is dropped
                if (reply instanceof InferenceProtocol.Stream s) {
                    replicas.discard(s);
                }
                return;
            }
            if (reply instanceof InferenceProtocol.Failed f && f.kind() == FailureKind.RUNNER_GONE) {
                forgetRunner(r, a.direct);
                sendAgain(a, "found its runner gone (draining, or hung and killed)");
            } else {
                awaiting.remove(a);
                a.answered = true;
                a.acceptTimer.cancel();
                if (reply instanceof InferenceProtocol.Stream s) {
                    a.stream = KillSwitches.shared("llmrt-" + model);
                    streaming.add(a);
                    out = new Routed.Streaming(s.status(), s.contentType(), stream(a, s));
                } else {
                    r.outstanding--;
                    if (reply instanceof InferenceProtocol.Completed) {
                        r.ready = true;
                    } else if (reply instanceof InferenceProtocol.Failed f && f.kind() == FailureKind.RUNNER_UNAVAILABLE) {
                        r.ready = false; // its runner could not start or is gone: ask it again before trusting it
                        r.runner = null;
                        r.warmFailedAt = clock.getAsLong();
                    }
                    if (reply != null) {
                        out = new Routed.Answered(reply);
                    }
                }
            }
        }
        if (out == null && err == null) {
            drain(); // sent again
            return;
        }
        if (err != null) {
            a.pending.result.completeExceptionally(err);
        } else {
            a.pending.result.complete(out);
        }
        drain();
    }

    /**
     * The replica's runner drains or stopped: requests go through the replica again (its agent finds
     * or starts another runner), whose next request learns the new runner. Callers hold the lock.
     */
    private void forgetRunner(Replica r, ActorRef<RunnerSupervisor.Command> runner) {
        if (runner != null && runner.equals(r.runner)) {
            r.runner = null;
        }
    }

    /** A ready replica whose runner isn't known: a warm-up (answered at once by a ready runner) names it. */
    private void learnRunner(Replica r) {
        if (r.runner == null && r.ready && !r.warming && !r.down && r.node != null) {
            warm(r);
        }
    }

    /** A runner that took requests straight stopped: what it had not answered goes again. */
    private void runnerStopped(ActorRef<RunnerSupervisor.Command> runner) {
        synchronized (this) {
            for (Replica r : replica) {
                forgetRunner(r, runner);
            }
            for (Attempt a : List.copyOf(awaiting)) {
                if (runner.equals(a.direct)) {
                    sendAgain(a, "lost its runner");
                }
            }
        }
        drain();
    }

    /**
     * The stream as the client gets it: the replica's slot is freed when it ends (or, if the HTTP
     * layer never runs it, after the claim timeout), and a failure mid-stream becomes a last SSE error
     * event and a clean end.
     */
    private Source<ByteString, NotUsed> stream(Attempt a, InferenceProtocol.Stream s) {
        AtomicBoolean released = new AtomicBoolean();
        AtomicBoolean started = new AtomicBoolean();
        Runnable release = () -> {
            if (released.compareAndSet(false, true)) {
                synchronized (this) {
                    streaming.remove(a);
                    a.replica.outstanding--;
                }
                drain();
            }
        };
        replicas.schedule(settings.streamClaimTimeout(), () -> {
            if (!started.get()) {
                release.run();
            }
        });
        Source<ByteString, NotUsed> body = s.source()
                .via(a.stream.flow())
                .watchTermination((mat, done) -> {
                    started.set(true);
                    done.whenCompleteAsync((ok, e) -> release.run(), callbacks);
                    return mat;
                });
        if (!s.contentType().startsWith("text/event-stream")) {
            return body;
        }
        return body.recover(new PFBuilder<Throwable, ByteString>().match(Throwable.class, e -> {
            log.warn("stream of '{}' from {} broke off: {}", model, a.node, e.toString());
            return sseError("the stream from model '" + model + "' broke off: " + e.getMessage());
        }).build());
    }

    /** An SSE event in OpenAI's error shape, the last a broken stream sends. */
    static ByteString sseError(String message) {
        ObjectNode root = JsonNodeFactory.instance.objectNode();
        root.putObject("error").put("message", message).put("type", "server_error").put("code", "stream_interrupted");
        return ByteString.fromString("data: " + root + "\n\n");
    }

    // ---- where replicas live, and whether they are ready ----

    /** The gateway's actor system is gone: nothing more is asked or retried. */
    void close() {
        closed = true;
    }

    private volatile boolean closed;

    /** A question about where a replica lives failed at once (not by timing out): asked again after this. */
    private static final Duration LOCATE_RETRY = Duration.ofMillis(100);

    private void locateUnknown() {
        if (closed) {
            return;
        }
        for (int i = 0; i < active; i++) {
            Replica r = replica[i];
            if (r.node == null && !r.locating) {
                r.locating = true;
                replicas.locate(r.index, settings.locateTimeout())
                        .whenCompleteAsync((located, err) -> located(r, located, err), callbacks);
            }
        }
    }

    private void located(Replica r, InferenceProtocol.Located located, Throwable err) {
        synchronized (this) {
            r.locating = false;
            if (err != null || located == null) {
                log.debug("replica {} of '{}' did not say where it lives ({}); asking again", r.index, model, err);
                if (r.node == null && !closed) {
                    // the shard is being placed, or the message went to a node just lost; asked again after a
                    // pause, so that an ask failing at once (a system shutting down) can't spin a thread
                    try {
                        replicas.schedule(LOCATE_RETRY, () -> {
                            synchronized (this) {
                                locateUnknown();
                            }
                        });
                    } catch (IllegalStateException schedulerStopped) {
                        closed = true;
                    }
                }
                return;
            }
            if (r.retired) {
                return; // retired while the answer was on its way: warming it would start a runner nothing retires
            }
            if (!located.node().equals(r.node) && r.node != null) {
                log.info("replica {} of '{}' moved from {} to {}", r.index, model, r.node, located.node());
                r.ready = false; // a new runner there: wait for it
                r.runner = null;
                r.warmFailedAt = Long.MIN_VALUE;
            }
            r.node = located.node();
            r.down = false;
            if (r.index < active) {
                warmIfNeeded(r);
            } else {
                retireUnused(); // out of use before it was known where it lives: its runner may unload now
            }
        }
        drain();
    }

    /**
     * Asks each ready replica where it lives now: a shard can move without its node leaving (placed
     * afresh after it was released), and a request must be sent again if the node it is really on dies.
     */
    void relocate() {
        synchronized (this) {
            for (int i = 0; i < active; i++) {
                Replica r = replica[i];
                if (r.ready && r.node != null && !r.down && !r.locating) {
                    r.locating = true;
                    replicas.locate(r.index, settings.locateTimeout())
                            .whenCompleteAsync((located, err) -> located(r, located, err), callbacks);
                }
            }
        }
    }

    private void warmIfNeeded(Replica r) {
        long now = clock.getAsLong();
        if (r.ready || r.warming || r.node == null || r.down
                || (r.warmFailedAt != Long.MIN_VALUE && now - r.warmFailedAt < settings.warmRetry().toNanos())) {
            return;
        }
        warm(r);
    }

    /** Asks the replica to be ready (placing and loading it if needed); its answer names its runner. Callers hold the lock. */
    private void warm(Replica r) {
        r.warming = true;
        String node = r.node;
        replicas.warm(r.index, responseTimeout).whenCompleteAsync((warmed, err) -> warmed(r, node, warmed, err), callbacks);
    }

    private void warmed(Replica r, String node, InferenceProtocol.Warmed warmed, Throwable err) {
        synchronized (this) {
            r.warming = false;
            if (!node.equals(r.node)) {
                return; // it moved meanwhile
            }
            if (err == null && warmed.ready()) {
                r.ready = true;
                if (warmed.runner() != null && !warmed.runner().equals(r.runner)) {
                    r.runner = warmed.runner();
                    ActorRef<RunnerSupervisor.Command> runner = warmed.runner();
                    log.info("replica {} of '{}' ({}): requests now go straight to its runner {}", r.index, model,
                            mode.wireName(), runner.path());
                    replicas.watch(runner, () -> runnerStopped(runner));
                }
            } else {
                r.ready = false;
                r.runner = null;
                r.warmFailedAt = clock.getAsLong();
                log.warn("replica {} of '{}' on {} is not ready: {}", r.index, model, node,
                        err != null ? err.toString() : warmed.error());
            }
        }
        drain();
    }

    // ---- nodes lost and found ----

    /** A node is unreachable: its replicas take nothing new, and what waited on them goes elsewhere. */
    void nodeUnreachable(String node) {
        List<SharedKillSwitch> broken = new ArrayList<>();
        synchronized (this) {
            boolean hosted = false;
            for (Replica r : replica) {
                if (node.equals(r.node)) {
                    r.down = true;
                    r.ready = false;
                    r.runner = null;
                    hosted = true;
                }
            }
            if (!hosted) {
                return;
            }
            for (Attempt a : List.copyOf(awaiting)) {
                if (node.equals(a.node)) {
                    sendAgain(a, "is unreachable");
                }
            }
            for (Attempt a : streaming) {
                if (node.equals(a.node)) {
                    broken.add(a.stream);
                }
            }
        }
        broken.forEach(ks -> ks.abort(new IllegalStateException("node " + node + " is unreachable")));
        drain();
    }

    /** A node is reachable again: its replicas may be used once they answer again. */
    void nodeReachable(String node) {
        synchronized (this) {
            for (Replica r : replica) {
                if (node.equals(r.node)) {
                    r.down = false;
                    warmIfNeeded(r);
                }
            }
        }
    }

    /** A node left the cluster: its replicas are placed afresh elsewhere; find out where. */
    void nodeRemoved(String node) {
        synchronized (this) {
            for (Replica r : replica) {
                if (node.equals(r.node)) {
                    r.node = null;
                    r.down = false;
                    r.ready = false;
                    r.runner = null;
                    r.warmFailedAt = Long.MIN_VALUE;
                }
            }
            locateUnknown();
        }
    }

    // ---- elastic replicas ----

    /**
     * What this gateway proposes for an elastic model: one more replica while requests wait or its
     * replicas average {@code scale-up-outstanding} for {@code scale-up-after}; one fewer when the last
     * replica in use has had nothing for {@code scale-down-after}. {@code -1}: no change.
     */
    synchronized int proposeActive() {
        long now = clock.getAsLong();
        retireUnused();
        if (replica.length == minReplicas) {
            return -1;
        }
        int outstanding = 0;
        int ready = 0;
        for (int i = 0; i < active; i++) {
            if (replica[i].ready) {
                ready++;
                outstanding += replica[i].outstanding;
            }
        }
        boolean overloaded = !queue.isEmpty() || (ready > 0 && outstanding >= ready * settings.scaleUpOutstanding());
        if (!overloaded) {
            overloadedSince = -1;
        } else if (overloadedSince < 0) {
            overloadedSince = now;
        } else if (now - overloadedSince >= settings.scaleUpAfter().toNanos() && active < replica.length
                && now >= noScaleUpUntil) {
            overloadedSince = -1;
            return active + 1;
        }
        Replica last = replica[active - 1];
        boolean failedToStart = last.warmFailedAt != Long.MIN_VALUE && !last.ready;
        if (active > minReplicas && queue.isEmpty() && last.outstanding == 0
                && (failedToStart || now - last.lastRoutedAt >= settings.scaleDownAfter().toNanos())) {
            if (failedToStart) {
                noScaleUpUntil = now + settings.scaleUpCooldown().toNanos(); // no room for it: don't try again at once
            }
            return active - 1;
        }
        return -1;
    }

    /** The cluster agreed on how many replicas are in use. */
    void setActive(int count) {
        synchronized (this) {
            int n = Math.max(minReplicas, Math.min(count, replica.length));
            if (n == active) {
                return;
            }
            long now = clock.getAsLong();
            for (int i = active; i < n; i++) {
                replica[i].lastRoutedAt = now; // a full idle window before it may go again
                replica[i].retired = false;
            }
            active = n;
            retireUnused();
            locateUnknown();
        }
        drain();
    }

    /**
     * Replicas out of use with nothing outstanding here are retired: their runners may unload, unless
     * a replica in use shares the node (a node runs one runner per model, which both then use).
     */
    private void retireUnused() {
        for (int i = active; i < replica.length; i++) {
            Replica r = replica[i];
            if (!r.retired && r.node != null && r.outstanding == 0) {
                boolean shared = false;
                for (int j = 0; j < active; j++) {
                    shared |= r.node.equals(replica[j].node);
                }
                if (!shared) {
                    replicas.retire(i);
                }
                r.retired = true;
                r.ready = false;
                r.runner = null;
                r.node = null;
            }
        }
    }

    synchronized int active() {
        return active;
    }

    // ---- views ----

    synchronized List<ReplicaView> replicas() {
        List<ReplicaView> out = new ArrayList<>();
        for (Replica r : replica) {
            out.add(new ReplicaView(r.index, r.node, r.ready, r.down, r.outstanding, r.routed));
        }
        return out;
    }

    synchronized Counts counts() {
        return new Counts(routed, retried, queueFull, queueTimeout, queue.size());
    }

    @Override
    public String toString() {
        return model + " (" + mode.wireName() + ")";
    }
}
