package dev.llmrt.agent;

import dev.llmrt.agent.InferenceProtocol.FailureKind;
import dev.llmrt.agent.model.ModelSpec;
import dev.llmrt.agent.runner.RunnerStatus;
import dev.llmrt.agent.runner.RunnerSupervisor;
import dev.llmrt.runtime.spi.Backend;
import dev.llmrt.runtime.spi.BackendException;
import dev.llmrt.runtime.spi.BackendMode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;

/**
 * The agent of one node: owns one {@link RunnerSupervisor} per loaded (model, mode), starts one on
 * the first request for it, routes requests to it, and knows every runner's status.
 */
public final class NodeAgent extends AbstractBehavior<NodeAgent.Command> {

    public sealed interface Command extends CborSerializable {}

    /** Serve {@code request} for {@code spec} in {@code mode}, starting a runner if none is loaded. */
    public record Dispatch(ModelSpec spec, BackendMode mode, InferenceProtocol.Request request,
                           ActorRef<InferenceProtocol.Reply> replyTo) implements Command {}

    /** Every runner on this node, as last reported. */
    public record ListRunners(ActorRef<Runners> replyTo) implements Command {}

    public record Runners(List<RunnerStatus> runners) implements CborSerializable {}

    /** Unload runners: all of them, or those of the named models. Replies with how many were told to stop. */
    public record Unload(boolean all, List<String> models, ActorRef<Unloaded> replyTo) implements Command {}

    public record Unloaded(int unloadedRunners) implements CborSerializable {}

    /** Stop every runner and reply once all processes are reaped (for shutdown). */
    public record StopAll(ActorRef<Done> replyTo) implements Command {}

    public enum Done implements CborSerializable { INSTANCE }

    private record RunnerChanged(ActorRef<RunnerSupervisor.Command> runner, RunnerStatus status) implements Command {}

    private record RunnerTerminated(ActorRef<RunnerSupervisor.Command> runner) implements Command {}

    private record RunnerKey(String model, BackendMode mode) {}

    private final AgentSettings settings;
    private final Map<String, Backend> backends;
    /** Runners that take requests; a stopping runner leaves this map at once. */
    private final Map<RunnerKey, ActorRef<RunnerSupervisor.Command>> active = new HashMap<>();
    /** Every runner alive, stopping ones included, with its last status. */
    private final Map<ActorRef<RunnerSupervisor.Command>, RunnerStatus> statuses = new HashMap<>();
    private final List<ActorRef<Done>> stopAllWaiters = new ArrayList<>();
    private long runnerSeq;

    public static Behavior<Command> create(AgentSettings settings, Map<String, Backend> backends) {
        return Behaviors.setup(ctx -> new NodeAgent(ctx, settings, backends));
    }

    private NodeAgent(ActorContext<Command> context, AgentSettings settings, Map<String, Backend> backends) {
        super(context);
        this.settings = settings;
        this.backends = Map.copyOf(backends);
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(Dispatch.class, this::onDispatch)
                .onMessage(RunnerChanged.class, this::onRunnerChanged)
                .onMessage(ListRunners.class, this::onListRunners)
                .onMessage(Unload.class, this::onUnload)
                .onMessage(StopAll.class, this::onStopAll)
                .onMessage(RunnerTerminated.class, this::onRunnerTerminated)
                .build();
    }

    private Behavior<Command> onDispatch(Dispatch d) {
        RunnerKey key = new RunnerKey(d.spec().name(), d.mode());
        ActorRef<RunnerSupervisor.Command> runner = active.get(key);
        if (runner == null) {
            Backend backend = backends.get(d.spec().backend());
            if (backend == null) {
                d.replyTo().tell(new InferenceProtocol.Failed(FailureKind.MODEL_NOT_FOUND,
                        "backend '" + d.spec().backend() + "' of model '" + d.spec().name() + "' is not available on this node"));
                return this;
            }
            try {
                backend.install(null); // only checks: backends here install through the project's scripts
            } catch (BackendException e) {
                d.replyTo().tell(new InferenceProtocol.Failed(FailureKind.BACKEND_NOT_INSTALLED, e.getMessage()));
                return this;
            }
            runner = spawnRunner(d.spec(), d.mode(), backend);
            active.put(key, runner);
        }
        runner.tell(new RunnerSupervisor.Dispatch(d.request(), d.replyTo()));
        return this;
    }

    private ActorRef<RunnerSupervisor.Command> spawnRunner(ModelSpec spec, BackendMode mode, Backend backend) {
        long n = ++runnerSeq;
        String runnerId = backend.name() + "-" + n;
        // short names: a Unix socket path is limited to 107 bytes
        Path socket = settings.socketDir().resolve(runnerId + ".sock");
        ActorRef<Command> self = getContext().getSelf();
        ActorRef<RunnerSupervisor.Command> runner = getContext().spawn(
                RunnerSupervisor.create(runnerId, spec, mode, backend, socket, settings,
                        (ref, status) -> self.tell(new RunnerChanged(ref, status))),
                "runner-" + n);
        getContext().watchWith(runner, new RunnerTerminated(runner));
        return runner;
    }

    private Behavior<Command> onRunnerChanged(RunnerChanged m) {
        if (!statuses.containsKey(m.runner()) && !isActive(m.runner())) {
            return this; // a late report from a runner already gone
        }
        statuses.put(m.runner(), m.status());
        if (m.status().phase().equals("stopping")) {
            active.values().remove(m.runner());
        }
        return this;
    }

    private boolean isActive(ActorRef<RunnerSupervisor.Command> runner) {
        return active.containsValue(runner);
    }

    private Behavior<Command> onRunnerTerminated(RunnerTerminated t) {
        ActorRef<RunnerSupervisor.Command> runner = t.runner();
        active.values().remove(runner);
        statuses.remove(runner);
        if (statuses.isEmpty() && !stopAllWaiters.isEmpty()) {
            stopAllWaiters.forEach(w -> w.tell(Done.INSTANCE));
            stopAllWaiters.clear();
        }
        return this;
    }

    /** Asks every runner for its live status; a runner that doesn't answer in time is shown as last reported. */
    private Behavior<Command> onListRunners(ListRunners m) {
        if (statuses.isEmpty()) {
            m.replyTo().tell(new Runners(List.of()));
        } else {
            getContext().spawnAnonymous(collectStatuses(Map.copyOf(statuses), m.replyTo()));
        }
        return this;
    }

    private interface Collect extends CborSerializable {}

    private record Got(RunnerStatus status) implements Collect {}

    private enum CollectTimeout implements Collect { INSTANCE }

    private static Behavior<Collect> collectStatuses(Map<ActorRef<RunnerSupervisor.Command>, RunnerStatus> known,
                                                     ActorRef<Runners> replyTo) {
        return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
            ActorRef<RunnerStatus> adapter = ctx.messageAdapter(RunnerStatus.class, Got::new);
            known.keySet().forEach(r -> r.tell(new RunnerSupervisor.GetStatus(adapter)));
            timers.startSingleTimer(CollectTimeout.INSTANCE, Duration.ofSeconds(2));
            Map<String, RunnerStatus> live = new HashMap<>();
            known.values().forEach(s -> live.put(s.runnerId(), s));
            java.util.Set<String> answered = new java.util.HashSet<>();
            return Behaviors.receive(Collect.class)
                    .onMessage(Got.class, g -> {
                        live.put(g.status().runnerId(), g.status());
                        answered.add(g.status().runnerId());
                        if (answered.size() < known.size()) {
                            return Behaviors.same();
                        }
                        replyTo.tell(new Runners(List.copyOf(live.values())));
                        return Behaviors.stopped();
                    })
                    .onMessageEquals(CollectTimeout.INSTANCE, () -> {
                        replyTo.tell(new Runners(List.copyOf(live.values())));
                        return Behaviors.stopped();
                    })
                    .build();
        }));
    }

    private Behavior<Command> onUnload(Unload m) {
        Set<String> names = Set.copyOf(m.models() == null ? List.of() : m.models());
        int n = 0;
        for (Map.Entry<RunnerKey, ActorRef<RunnerSupervisor.Command>> e : List.copyOf(active.entrySet())) {
            if (m.all() || names.contains(e.getKey().model())) {
                e.getValue().tell(RunnerSupervisor.Unload.INSTANCE);
                active.remove(e.getKey());
                n++;
            }
        }
        m.replyTo().tell(new Unloaded(n));
        return this;
    }

    private Behavior<Command> onStopAll(StopAll m) {
        active.clear();
        statuses.keySet().forEach(r -> r.tell(RunnerSupervisor.Unload.INSTANCE));
        if (statuses.isEmpty()) {
            m.replyTo().tell(Done.INSTANCE);
        } else {
            stopAllWaiters.add(m.replyTo());
        }
        return this;
    }
}
