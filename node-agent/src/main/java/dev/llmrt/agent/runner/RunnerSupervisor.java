package dev.llmrt.agent.runner;

import dev.llmrt.agent.AgentSettings;
import dev.llmrt.agent.CborSerializable;
import dev.llmrt.agent.InferenceProtocol;
import dev.llmrt.agent.InferenceProtocol.FailureKind;
import dev.llmrt.agent.model.ModelSpec;
import dev.llmrt.agent.store.LocalFiles;
import dev.llmrt.agent.runner.RunnerStatus.Phase;
import dev.llmrt.agent.runner.io.RunnerHttpClient;
import dev.llmrt.agent.runner.io.StreamBody;
import dev.llmrt.runtime.spi.Backend;
import dev.llmrt.runtime.spi.BackendException;
import dev.llmrt.runtime.spi.BackendMode;
import dev.llmrt.runtime.spi.RunContext;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.SourceRef;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.javadsl.StreamRefs;
import org.apache.pekko.util.ByteString;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Owns one backend process for one (model, mode): runs {@link Backend#run} on a blocking
 * dispatcher, polls {@code /health} until ready, forwards requests and counts them, restarts a
 * process that exits (exponential backoff), and unloads after its keep-alive.
 */
public final class RunnerSupervisor extends AbstractBehavior<RunnerSupervisor.Command> {
    /** For the I/O threads, where the actor's own logger may not be used. */
    private static final Logger RELAY_LOG = LoggerFactory.getLogger(RunnerSupervisor.class);

    public sealed interface Command extends CborSerializable {}

    /** Serve this request on this runner (queued while it starts). */
    public record Dispatch(InferenceProtocol.Request request, ActorRef<InferenceProtocol.Reply> replyTo)
            implements Command {}

    public record GetStatus(ActorRef<RunnerStatus> replyTo) implements Command {}

    /** Answer once the runner is ready, or with why it is not (its start failed, it is unloading). */
    public record AwaitReady(String node, ActorRef<InferenceProtocol.Warmed> replyTo) implements Command {}

    /** Stop the process and this actor; queued requests get 503. */
    public enum Unload implements Command { INSTANCE }

    /**
     * Take no new requests, let those in flight finish, then stop like {@link Unload} (a runner that
     * isn't ready yet stops at once).
     */
    public enum Drain implements Command { INSTANCE }

    private record ProcessStarted(int attempt, long pid) implements Command {}

    /** Backend.run returned: {@code error} is null when it was cancelled. */
    private record RunExited(int attempt, String error) implements Command {}

    private record HealthTick(int attempt) implements Command {}

    private record HealthChecked(int attempt, int status, String error) implements Command {}

    /** Time to ask a ready runner whether it still answers. */
    private record LivenessTick(int attempt) implements Command {}

    private record LivenessChecked(int attempt, int status) implements Command {}

    /** A stream of this runner went silent: check it now rather than at the next tick. */
    private enum CheckNow implements Command { INSTANCE }

    private enum Restart implements Command { INSTANCE }

    private enum IdleTimeout implements Command { INSTANCE }

    private enum RequestFinished implements Command { INSTANCE }

    /**
     * Hears every lifecycle change (phase, pid), including stopping. Request counts change too
     * often to publish: {@link GetStatus} reads them live.
     */
    public interface Listener {
        void statusChanged(ActorRef<Command> runner, RunnerStatus status);
    }

    private final String runnerId;
    private final ModelSpec spec;
    private final BackendMode mode;
    private final Backend backend;
    private final Path socket;
    private final AgentSettings settings;
    private final LocalFiles files;
    private final dev.llmrt.agent.state.RunnerRecords records;
    private final TimerScheduler<Command> timers;
    private final Listener listener;
    private final RunnerClient client;
    private final Executor runExecutor;
    private final Materializer materializer;
    /**
     * Runs callbacks of futures from Pekko's Java API. Their non-async callbacks run on the common
     * ForkJoinPool, which on a 2-core machine starts a new thread per callback.
     */
    private final Executor callbacks;
    private final Deque<Dispatch> pending = new ArrayDeque<>();
    private final List<AwaitReady> readyWaiters = new ArrayList<>();
    private final Placement placement;

    private Phase phase = Phase.STARTING;
    private int attempt;
    private RunContext run;
    private boolean runActive;
    private boolean readinessTimedOut;
    private long attemptStartNanos;
    private Duration healthInterval;
    private int consecutiveFailures;
    private int restarts;
    private String lastError;
    private long pid = -1;
    private boolean draining;
    /** Liveness checks failed in a row while ready. */
    private int livenessFailures;
    private boolean livenessInFlight;
    /** The process was killed because it stopped answering: its exit is a crash of a ready runner. */
    private boolean killedAsHung;
    /** Requests sent to the backend whose relay hasn't answered yet (the I/O threads remove them). */
    private final java.util.Set<Relay> relays = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /** Requests sent to the backend and not finished (kept in {@link RunnerLoad}, which others read). */
    private int inFlight() {
        return load.inFlight.get();
    }
    /**
     * Requests waiting for the backend (beyond what it runs at once), for the node agent to publish
     * without asking: it changes with every request.
     */
    private final RunnerLoad load;
    private long lastUsed;
    private long startedAt;
    private long readyAt;

    /**
     * Where placement put a runner: its GPUs with the bytes reserved on each, and the devices its
     * processes see ({@code CUDA_VISIBLE_DEVICES}, null on a CPU).
     */
    public record Placement(List<RunContext.Gpu> gpus, String visibleDevices) {
        public static final Placement CPU = new Placement(List.of(), null);

        public Placement {
            gpus = List.copyOf(gpus);
        }

        public List<Integer> indices() {
            return gpus.stream().map(RunContext.Gpu::index).toList();
        }

        public long vram() {
            return gpus.stream().mapToLong(RunContext.Gpu::reservedBytes).sum();
        }

        RunContext context(Consumer<ProcessHandle> started) {
            return new RunContext(started, visibleDevices == null ? Map.of() : Map.of("CUDA_VISIBLE_DEVICES", visibleDevices), gpus);
        }
    }

    /** @param load kept equal to its requests waiting for the backend and in flight to it */
    public static Behavior<Command> create(String runnerId, ModelSpec spec, BackendMode mode, Backend backend,
                                           Path socket, AgentSettings settings, LocalFiles files,
                                           dev.llmrt.agent.state.RunnerRecords records, Listener listener,
                                           Placement placement, RunnerLoad load) {
        return Behaviors.setup(ctx -> Behaviors.withTimers(timers ->
                new RunnerSupervisor(ctx, timers, runnerId, spec, mode, backend, socket, settings, files, records, listener,
                        placement, load)));
    }

    private RunnerSupervisor(ActorContext<Command> context, TimerScheduler<Command> timers, String runnerId,
                             ModelSpec spec, BackendMode mode, Backend backend, Path socket, AgentSettings settings,
                             LocalFiles files, dev.llmrt.agent.state.RunnerRecords records, Listener listener,
                             Placement placement, RunnerLoad load) {
        super(context);
        this.files = files;
        this.records = records;
        this.load = load;
        this.placement = placement;
        this.timers = timers;
        this.runnerId = runnerId;
        this.spec = spec;
        this.mode = mode;
        this.backend = backend;
        this.socket = socket;
        this.settings = settings;
        this.listener = listener;
        this.client = new RunnerClient(context.getSystem(), socket, settings.client());
        this.runExecutor = context.getSystem().dispatchers()
                .lookup(DispatcherSelector.fromConfig(settings.backendRunDispatcher()));
        this.materializer = Materializer.matFromSystem(context.getSystem());
        this.callbacks = context.getExecutionContext();
        context.setLoggerName(RunnerSupervisor.class);
        startProcess();
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(Dispatch.class, this::onDispatch)
                .onMessage(GetStatus.class, this::onGetStatus)
                .onMessage(AwaitReady.class, this::onAwaitReady)
                .onMessageEquals(Unload.INSTANCE, this::onUnload)
                .onMessageEquals(Drain.INSTANCE, this::onDrain)
                .onMessage(ProcessStarted.class, this::onProcessStarted)
                .onMessage(RunExited.class, this::onRunExited)
                .onMessage(HealthTick.class, this::onHealthTick)
                .onMessage(HealthChecked.class, this::onHealthChecked)
                .onMessage(LivenessTick.class, this::onLivenessTick)
                .onMessage(LivenessChecked.class, this::onLivenessChecked)
                .onMessageEquals(CheckNow.INSTANCE, this::onCheckNow)
                .onMessageEquals(Restart.INSTANCE, this::onRestart)
                .onMessageEquals(IdleTimeout.INSTANCE, this::onIdleTimeout)
                .onMessageEquals(RequestFinished.INSTANCE, this::onRequestFinished)
                .onSignal(PostStop.class, s -> onPostStop())
                .build();
    }

    // ---- process lifecycle ----

    private void startProcess() {
        attempt++;
        int thisAttempt = attempt;
        phase = Phase.STARTING;
        readinessTimedOut = false;
        pid = -1;
        startedAt = System.currentTimeMillis();
        attemptStartNanos = System.nanoTime();
        healthInterval = settings.readiness().initialInterval();
        ActorRef<Command> self = getContext().getSelf();
        java.util.concurrent.atomic.AtomicLong started = new java.util.concurrent.atomic.AtomicLong(-1);
        RunContext ctx = placement.context(p -> {
            // on the thread that runs it: recorded before anyone hears of it, so a node that dies now reaps it next start
            records.started(p, backend.name() + " " + spec.name() + " " + runnerId);
            started.set(p.pid());
            self.tell(new ProcessStarted(thisAttempt, p.pid()));
        });
        run = ctx;
        runActive = true;
        CompletableFuture.runAsync(() -> {
            String error = null;
            try {
                // a model pulled through another node may have to come here first (from a peer or its registry)
                String model = files.ensure(spec.model());
                backend.run(ctx, socket, model, spec.name(), mode, spec.config());
                if (!ctx.isCancelled()) {
                    error = backend.name() + " returned without being cancelled";
                }
            } catch (BackendException e) {
                error = e.getMessage();
            } catch (RuntimeException e) {
                error = backend.name() + " failed: " + e;
            } finally {
                if (started.get() > 0) {
                    records.reaped(started.get()); // Backend.run returns once its process is gone
                }
            }
            self.tell(new RunExited(thisAttempt, error));
        }, runExecutor);
        timers.startSingleTimer("health", new HealthTick(thisAttempt), healthInterval);
        publish();
    }

    private Behavior<Command> onProcessStarted(ProcessStarted m) {
        if (m.attempt() == attempt) {
            pid = m.pid();
            publish();
        }
        return this;
    }

    private Behavior<Command> onHealthTick(HealthTick tick) {
        if (tick.attempt() != attempt || phase != Phase.STARTING || !runActive) {
            return this;
        }
        getContext().pipeToSelf(client.health(settings.healthCheck().timeout()), (status, err) -> new HealthChecked(tick.attempt(),
                status == null ? -1 : status, err == null ? null : err.getMessage()));
        return this;
    }

    private Behavior<Command> onHealthChecked(HealthChecked m) {
        if (m.attempt() != attempt || phase != Phase.STARTING || !runActive) {
            return this;
        }
        if (m.status() == 200) {
            phase = Phase.READY;
            readyAt = System.currentTimeMillis();
            consecutiveFailures = 0;
            getContext().getLog().info("runner {} ({} {} {}) ready in {} ms, pid {}", runnerId, backend.name(),
                    spec.name(), mode, readyAt - startedAt, pid);
            while (!pending.isEmpty()) {
                forward(pending.poll());
            }
            answerReadyWaiters(true, null);
            publish();
            scheduleIdleIfUnused();
            livenessFailures = 0;
            timers.startSingleTimer("liveness", new LivenessTick(attempt), settings.healthCheck().interval());
            return this;
        }
        Duration elapsed = Duration.ofNanos(System.nanoTime() - attemptStartNanos);
        if (elapsed.compareTo(settings.readiness().timeout()) >= 0) {
            readinessTimedOut = true;
            lastError = backend.name() + " did not become ready within " + settings.readiness().timeout()
                    + " (last /health: " + (m.error() != null ? m.error() : "HTTP " + m.status()) + ")";
            run.cancel();
            return this;
        }
        healthInterval = settings.readiness().next(healthInterval);
        timers.startSingleTimer("health", new HealthTick(attempt), healthInterval);
        return this;
    }

    // ---- liveness of a ready runner ----

    private Behavior<Command> onLivenessTick(LivenessTick tick) {
        if (tick.attempt() != attempt || phase != Phase.READY || !runActive || livenessInFlight) {
            return this;
        }
        livenessInFlight = true;
        getContext().pipeToSelf(client.health(settings.healthCheck().timeout()),
                (status, err) -> new LivenessChecked(tick.attempt(), status == null ? -1 : status));
        return this;
    }

    private Behavior<Command> onCheckNow() {
        if (phase == Phase.READY) {
            timers.cancel("liveness");
            getContext().getSelf().tell(new LivenessTick(attempt));
        }
        return this;
    }

    private Behavior<Command> onLivenessChecked(LivenessChecked m) {
        livenessInFlight = false;
        if (m.attempt() != attempt || phase != Phase.READY || !runActive) {
            return this;
        }
        if (m.status() == 200) {
            livenessFailures = 0;
            timers.startSingleTimer("liveness", new LivenessTick(attempt), settings.healthCheck().interval());
            return this;
        }
        livenessFailures++;
        AgentSettings.HealthCheck check = settings.healthCheck();
        if (livenessFailures < check.failures()) {
            getContext().getLog().warn("runner {} ({} {}) did not answer /health within {} ms ({} of {})", runnerId,
                    backend.name(), spec.name(), check.timeout().toMillis(), livenessFailures, check.failures());
            getContext().getSelf().tell(new LivenessTick(attempt)); // a failing runner is asked again at once
            return this;
        }
        return killHung();
    }

    /**
     * The runner stopped answering: kill its process (a hung process may ignore SIGTERM, a stopped
     * one can't act on it), send again what it hadn't started answering, and queue new requests for
     * the restart, which follows when the process has exited.
     */
    private Behavior<Command> killHung() {
        AgentSettings.HealthCheck check = settings.healthCheck();
        lastError = backend.name() + " runner stopped answering (/health not answered within " + check.timeout().toMillis()
                + " ms, " + check.failures() + " times in a row): killed";
        getContext().getLog().warn("runner {} ({} {}) is hung: killing pid {}; {} request(s) not yet answered go again",
                runnerId, backend.name(), spec.name(), pid, relays.stream().filter(r -> !r.started).count());
        killedAsHung = true;
        phase = Phase.BACKOFF;
        for (Relay r : relays) {
            r.resendUnlessStarted("runner for model '" + spec.name() + "' stopped answering; sent again");
        }
        ProcessHandle.of(pid).ifPresent(p -> {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        });
        publish();
        return this;
    }

    private Behavior<Command> onRunExited(RunExited m) {
        if (m.attempt() != attempt) {
            return this;
        }
        runActive = false;
        pid = -1;
        timers.cancel("health");
        timers.cancel("liveness");
        boolean hung = killedAsHung;
        killedAsHung = false;
        if (phase == Phase.STOPPING) {
            return Behaviors.stopped();
        }
        String error = hung ? lastError : m.error() != null ? m.error() : readinessTimedOut ? lastError : null;
        if (error == null) {
            return this; // cancelled for a reason handled elsewhere
        }
        boolean wasReady = phase == Phase.READY || hung;
        lastError = error;
        consecutiveFailures++;
        restarts++;
        Duration delay = settings.restartBackoff().delay(consecutiveFailures);
        getContext().getLog().warn("runner {} ({} {}) exited{}; restarting in {} ms: {}", runnerId, backend.name(),
                spec.name(), wasReady ? "" : " before it was ready", delay.toMillis(), error);
        if (wasReady) {
            phase = Phase.BACKOFF; // a crash of a working runner: queue requests for the restart
        } else {
            phase = Phase.FAILED; // it could not start: tell waiting clients why, now
            failPending(FailureKind.RUNNER_UNAVAILABLE, "runner for model '" + spec.name() + "' failed to start: " + error);
            answerReadyWaiters(false, error);
        }
        timers.startSingleTimer("restart", Restart.INSTANCE, delay);
        publish();
        scheduleIdleIfUnused();
        return this;
    }

    private Behavior<Command> onRestart() {
        if (phase == Phase.BACKOFF || phase == Phase.FAILED) {
            startProcess();
        }
        return this;
    }

    // ---- requests ----

    private Behavior<Command> onDispatch(Dispatch d) {
        if (draining) {
            // sent straight here by a gateway that doesn't know yet: it sends again through the replica
            d.replyTo().tell(new InferenceProtocol.Failed(FailureKind.RUNNER_GONE,
                    "runner for model '" + spec.name() + "' is draining before it unloads"));
            return this;
        }
        timers.cancel("idle");
        lastUsed = System.currentTimeMillis();
        switch (phase) {
            case READY -> forward(d);
            case STARTING, BACKOFF -> {
                if (pending.size() >= settings.maxPendingRequests()) {
                    d.replyTo().tell(new InferenceProtocol.Failed(FailureKind.RUNNER_UNAVAILABLE,
                            "runner for model '" + spec.name() + "' is starting and its queue is full ("
                                    + settings.maxPendingRequests() + ")"));
                } else {
                    pending.add(d);
                    updateQueued();
                }
            }
            case FAILED -> d.replyTo().tell(new InferenceProtocol.Failed(FailureKind.RUNNER_UNAVAILABLE,
                    "runner for model '" + spec.name() + "' failed to start: " + lastError));
            case STOPPING -> d.replyTo().tell(new InferenceProtocol.Failed(FailureKind.RUNNER_GONE,
                    "runner for model '" + spec.name() + "' is being unloaded; retry"));
        }
        return this;
    }

    private void forward(Dispatch d) {
        if (load.inFlight.getAndIncrement() == 0) {
            publish(); // busy: the agent must not evict it
        }
        updateQueued();
        Relay relay = new Relay(d.replyTo(), d.request().requestId());
        relays.add(relay);
        client.post(d.request().path(), d.request().body(), d.request().origin(), d.request().requestId(), relay);
    }

    /**
     * Passes a backend response on, from the I/O thread: whole for JSON; for SSE and other chunked
     * bodies, the body itself to a gateway in this JVM, else a stream ref. Tells this supervisor
     * when the request is over.
     */
    private final class Relay implements RunnerHttpClient.ResponseHandler {
        private final ActorRef<InferenceProtocol.Reply> replyTo;
        private final ActorRef<Command> self = getContext().getSelf();
        private final String requestId;
        /** The backend's answer has begun (a stream) or come (whole): it can no longer be sent again. */
        volatile boolean started;
        /** The gateway got its one reply (the answer, a failure, or "sent again"). */
        private final java.util.concurrent.atomic.AtomicBoolean replied = new java.util.concurrent.atomic.AtomicBoolean();

        Relay(ActorRef<InferenceProtocol.Reply> replyTo, String requestId) {
            this.replyTo = replyTo;
            this.requestId = requestId;
        }

        /** The runner hung: a request it hadn't begun to answer goes to the gateway as RUNNER_GONE, to be sent again. */
        void resendUnlessStarted(String why) {
            if (!started && replied.compareAndSet(false, true)) {
                replyTo.tell(new InferenceProtocol.Failed(FailureKind.RUNNER_GONE, why));
            }
        }

        private void reply(InferenceProtocol.Reply reply) {
            if (replied.compareAndSet(false, true)) {
                replyTo.tell(reply);
            }
        }

        private void finished() {
            relays.remove(this);
            self.tell(RequestFinished.INSTANCE);
        }

        @Override
        public void whole(int status, String contentType, byte[] body) {
            started = true;
            if (body.length > InferenceProtocol.IN_PARTS_ABOVE && !replyTo.path().address().hasLocalScope()) {
                inParts(status, contentType, body);
            } else {
                reply(new InferenceProtocol.Completed(status, contentType, body));
            }
            finished();
        }

        /** To another node, a large body goes as a stream of parts: any size crosses, none as one message. */
        private void inParts(int status, String contentType, byte[] body) {
            try {
                SourceRef<ByteString> ref = Source.range(0, (body.length - 1) / InferenceProtocol.PART_BYTES)
                        .map(i -> ByteString.fromArray(body, i * InferenceProtocol.PART_BYTES,
                                Math.min(InferenceProtocol.PART_BYTES, body.length - i * InferenceProtocol.PART_BYTES)))
                        .runWith(StreamRefs.sourceRef(), materializer);
                reply(new InferenceProtocol.CompletedInParts(status, contentType, body.length, ref));
            } catch (RuntimeException e) {
                reply(new InferenceProtocol.Failed(FailureKind.BACKEND_FAILED, "the answer of " + backend.name()
                        + " runner for model '" + spec.name() + "' (" + body.length + " bytes) could not be sent: " + rootMessage(e)));
            }
        }

        @Override
        public void stream(int status, String contentType, StreamBody body) {
            started = true;
            Duration idle = settings.healthCheck().streamIdle();
            Source<ByteString, NotUsed> source = body.source()
                    .idleTimeout(idle)
                    .mapError(org.apache.pekko.stream.StreamIdleTimeoutException.class, e -> {
                        self.tell(CheckNow.INSTANCE);
                        RELAY_LOG.warn("request {} to runner {} ({} '{}'): stream sent nothing for {} ms; ended", requestId,
                                runnerId, backend.name(), spec.name(), idle.toMillis());
                        return e;
                    })
                    .watchTermination((mat, done) -> {
                        done.whenCompleteAsync((ok, e) -> finished(), Runnable::run);
                        return mat;
                    });
            if (!replied.compareAndSet(false, true)) {
                source.runWith(org.apache.pekko.stream.javadsl.Sink.cancelled(), materializer);
                return;
            }
            if (replyTo.path().address().hasLocalScope()) {
                replyTo.tell(new InferenceProtocol.StreamedLocally(status, contentType, source));
                return;
            }
            try {
                SourceRef<ByteString> ref = source.runWith(StreamRefs.sourceRef(), materializer);
                replyTo.tell(new InferenceProtocol.Streamed(status, contentType, ref));
            } catch (RuntimeException e) {
                body.discard();
                replyTo.tell(new InferenceProtocol.Failed(FailureKind.BACKEND_FAILED, backend.name() + " runner for model '"
                        + spec.name() + "' failed while answering: " + rootMessage(e)));
                finished();
            }
        }

        @Override
        public void failed(Throwable error) {
            if (replied.get()) {
                finished(); // already sent again (its runner hung): the connection's end is no news
                return;
            }
            RELAY_LOG.warn("request {} to runner {} ({} '{}') failed: {}", requestId, runnerId, backend.name(), spec.name(),
                    rootMessage(error));
            reply(new InferenceProtocol.Failed(FailureKind.BACKEND_FAILED, backend.name() + " runner for model '"
                    + spec.name() + "' failed while answering: " + rootMessage(error)));
            finished();
        }
    }

    private Behavior<Command> onRequestFinished() {
        int inFlight = load.inFlight.decrementAndGet();
        updateQueued();
        lastUsed = System.currentTimeMillis();
        if (draining && inFlight == 0) {
            return stop();
        }
        if (inFlight == 0) {
            publish(); // idle again: evictable
        }
        scheduleIdleIfUnused();
        return this;
    }

    /** Keep-alive: 0 unloads right after the last request, negative never, otherwise after that idle time. */
    private void scheduleIdleIfUnused() {
        if (inFlight() > 0 || !pending.isEmpty() || phase == Phase.STOPPING || spec.keepAliveMillis() < 0) {
            return;
        }
        if (spec.keepAliveMillis() == 0) {
            getContext().getSelf().tell(IdleTimeout.INSTANCE);
        } else {
            timers.startSingleTimer("idle", IdleTimeout.INSTANCE, Duration.ofMillis(spec.keepAliveMillis()));
        }
    }

    private Behavior<Command> onIdleTimeout() {
        if (inFlight() > 0 || !pending.isEmpty() || phase == Phase.STOPPING) {
            return this;
        }
        getContext().getLog().info("runner {} ({} {}) idle for its keep-alive of {} ms: unloading", runnerId,
                backend.name(), spec.name(), spec.keepAliveMillis());
        return stop();
    }

    private Behavior<Command> onDrain() {
        if (phase != Phase.READY || inFlight() == 0) {
            return onUnload();
        }
        getContext().getLog().info("runner {} ({} {}) draining {} request(s) before it stops", runnerId, backend.name(),
                spec.name(), inFlight());
        draining = true;
        phase = Phase.STOPPING; // takes nothing new; the process runs until the last request ends
        timers.cancelAll();
        publish();
        return this;
    }

    private Behavior<Command> onUnload() {
        failPending(FailureKind.RUNNER_UNAVAILABLE, "model '" + spec.name() + "' was unloaded");
        return stop();
    }

    private Behavior<Command> stop() {
        phase = Phase.STOPPING;
        timers.cancelAll();
        publish();
        if (!runActive) {
            return Behaviors.stopped();
        }
        run.cancel(); // Backend.run reaps the process, then RunExited stops us
        return this;
    }

    private Behavior<Command> onGetStatus(GetStatus m) {
        m.replyTo().tell(status());
        return this;
    }

    private Behavior<Command> onPostStop() {
        if (runActive) {
            run.cancel();
        }
        failPending(FailureKind.RUNNER_UNAVAILABLE, "runner for model '" + spec.name() + "' stopped");
        client.close();
        return this;
    }

    private void failPending(FailureKind kind, String message) {
        while (!pending.isEmpty()) {
            pending.poll().replyTo().tell(new InferenceProtocol.Failed(kind, message));
        }
        updateQueued();
        answerReadyWaiters(false, message);
    }

    private Behavior<Command> onAwaitReady(AwaitReady m) {
        switch (phase) {
            case READY -> m.replyTo().tell(new InferenceProtocol.Warmed(m.node(), !draining,
                    draining ? "runner for model '" + spec.name() + "' is draining" : null,
                    draining ? null : getContext().getSelf()));
            case STARTING, BACKOFF -> readyWaiters.add(m);
            case FAILED -> m.replyTo().tell(new InferenceProtocol.Warmed(m.node(), false,
                    "runner for model '" + spec.name() + "' failed to start: " + lastError));
            case STOPPING -> m.replyTo().tell(new InferenceProtocol.Warmed(m.node(), false,
                    "runner for model '" + spec.name() + "' is being unloaded"));
        }
        return this;
    }

    private void answerReadyWaiters(boolean ready, String error) {
        ActorRef<Command> self = ready ? getContext().getSelf() : null;
        readyWaiters.forEach(w -> w.replyTo().tell(new InferenceProtocol.Warmed(w.node(), ready, error, self)));
        readyWaiters.clear();
    }

    private void updateQueued() {
        load.queued.set(pending.size());
    }

    private void publish() {
        listener.statusChanged(getContext().getSelf(), status());
    }

    private RunnerStatus status() {
        return new RunnerStatus(runnerId, backend.name(), spec.name(), mode.wireName(), phase, pid, restarts, lastError,
                inFlight(), pending.size(), lastUsed, spec.keepAliveMillis(), startedAt, readyAt, socket.toString(),
                placement.indices(), placement.vram(), -1);
    }

    private static String rootMessage(Throwable t) {
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String msg = root.getMessage();
        return msg == null ? root.getClass().getSimpleName() : msg;
    }
}
