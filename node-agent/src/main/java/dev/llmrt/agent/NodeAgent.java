package dev.llmrt.agent;

import dev.llmrt.agent.InferenceProtocol.FailureKind;
import dev.llmrt.agent.model.ModelSpec;
import dev.llmrt.agent.runner.RunnerStatus;
import dev.llmrt.agent.runner.RunnerSupervisor;
import dev.llmrt.runtime.spi.Backend;
import dev.llmrt.runtime.spi.BackendException;
import dev.llmrt.runtime.spi.GgufParseException;
import dev.llmrt.runtime.spi.RequiredMemory;
import dev.llmrt.agent.gpu.GpuDevice;
import dev.llmrt.agent.gpu.GpuInventory;
import dev.llmrt.agent.gpu.NvidiaSmi;
import dev.llmrt.agent.placement.Demands;
import dev.llmrt.agent.placement.NodeCapacity;
import dev.llmrt.agent.placement.PlacementPlanner;
import java.util.function.Consumer;
import java.util.concurrent.CompletableFuture;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
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

    public record Runners(String node, List<RunnerStatus> runners) implements CborSerializable {}

    /** Every node's agent registers under this key, so status can be gathered cluster-wide. */
    public static final org.apache.pekko.actor.typed.receptionist.ServiceKey<Command> SERVICE_KEY =
            org.apache.pekko.actor.typed.receptionist.ServiceKey.create(Command.class, "llmrt-node-agent");

    /** This node's GPUs and what is reserved on each (index to bytes). */
    public record GetCapacity(ActorRef<Capacity> replyTo) implements Command {}

    public record Capacity(String node, List<GpuDevice> gpus, Map<Integer, Long> reservedPerGpu) implements CborSerializable {}

    /** Unload runners: all of them, or those of the named models. Replies with how many were told to stop. */
    public record Unload(boolean all, List<String> models, ActorRef<Unloaded> replyTo) implements Command {}

    public record Unloaded(int unloadedRunners) implements CborSerializable {}

    /** Stop every runner and reply once all processes are reaped (for shutdown). */
    public record StopAll(ActorRef<Done> replyTo) implements Command {}

    public enum Done implements CborSerializable { INSTANCE }

    private record RunnerChanged(ActorRef<RunnerSupervisor.Command> runner, RunnerStatus status) implements Command {}

    private record RunnerTerminated(ActorRef<RunnerSupervisor.Command> runner) implements Command {}

    private record RunnerKey(String model, BackendMode mode) {}

    private enum RefreshInventory implements Command { INSTANCE }

    private enum PublishCapacity implements Command { INSTANCE }

    private record InventoryRead(List<GpuDevice> devices, List<NvidiaSmi.GpuProcess> processes, String error)
            implements Command {}

    /** What a runner holds: its GPUs and bytes on each, and RAM. Released when the runner terminates. */
    private record Reservation(List<Integer> gpus, List<Long> perGpu, long ram) {}

    private final AgentSettings settings;
    private final Map<String, Backend> backends;
    /** Runners that take requests; a stopping runner leaves this map at once. */
    private final Map<RunnerKey, ActorRef<RunnerSupervisor.Command>> active = new HashMap<>();
    /** Every runner alive, stopping ones included, with its last status. */
    private final Map<ActorRef<RunnerSupervisor.Command>, RunnerStatus> statuses = new HashMap<>();
    private final List<ActorRef<Done>> stopAllWaiters = new ArrayList<>();
    private final GpuInventory inventory;
    private final Consumer<NodeCapacity> capacityListener;
    private final List<String> modelFiles;
    private final TimerScheduler<Command> timers;
    private final String nodeName;
    private final long ramBudget;
    private List<GpuDevice> devices = List.of();
    /** Runner id to the GPU memory its processes really use, when nvidia-smi tells. */
    private final Map<String, Long> actualVram = new HashMap<>();
    /** Per runner, GPU index to bytes the driver already counts as used (so not free) for it. */
    private final Map<ActorRef<RunnerSupervisor.Command>, Map<Integer, Long>> inDriverUse = new HashMap<>();
    private boolean inventoryRead;
    private final List<Dispatch> beforeInventory = new ArrayList<>();
    private final Map<ActorRef<RunnerSupervisor.Command>, Reservation> reservations = new HashMap<>();
    /** Requests for a model whose runner waits for evicted runners to free their memory. */
    private final List<Dispatch> waitingForRoom = new ArrayList<>();
    private final Map<ModelSpec, java.util.Optional<PlacementPlanner.Demand>> demands = new HashMap<>();
    private long runnerSeq;

    public static Behavior<Command> create(AgentSettings settings, Map<String, Backend> backends) {
        return create(settings, backends, GpuInventory.declared(List.of()), "local", Long.MAX_VALUE, c -> {});
    }

    public static Behavior<Command> create(AgentSettings settings, Map<String, Backend> backends, GpuInventory inventory,
                                           String nodeName, long ramBudget) {
        return create(settings, backends, inventory, nodeName, ramBudget, c -> {});
    }

    public static Behavior<Command> create(AgentSettings settings, Map<String, Backend> backends, GpuInventory inventory,
                                           String nodeName, long ramBudget, Consumer<NodeCapacity> capacityListener) {
        return create(settings, backends, inventory, nodeName, ramBudget, capacityListener, List.of());
    }

    /**
     * @param nodeName         how placement and refusals name this node (its cluster address)
     * @param ramBudget        RAM models may use on this node
     * @param capacityListener hears this node's capacity after changes (the cluster-wide registry)
     * @param modelFiles       the catalog models whose files this node holds (placement prefers it for them)
     */
    public static Behavior<Command> create(AgentSettings settings, Map<String, Backend> backends, GpuInventory inventory,
                                           String nodeName, long ramBudget, Consumer<NodeCapacity> capacityListener,
                                           List<String> modelFiles) {
        return Behaviors.setup(ctx -> Behaviors.withTimers(timers ->
                new NodeAgent(ctx, timers, settings, backends, inventory, nodeName, ramBudget, capacityListener, modelFiles)));
    }

    private NodeAgent(ActorContext<Command> context, TimerScheduler<Command> timers, AgentSettings settings,
                      Map<String, Backend> backends, GpuInventory inventory, String nodeName, long ramBudget,
                      Consumer<NodeCapacity> capacityListener, List<String> modelFiles) {
        super(context);
        this.modelFiles = List.copyOf(modelFiles);
        this.capacityListener = capacityListener;
        this.timers = timers;
        this.settings = settings;
        this.backends = Map.copyOf(backends);
        this.inventory = inventory;
        this.nodeName = nodeName;
        this.ramBudget = ramBudget;
        refreshInventory();
        timers.startTimerWithFixedDelay(RefreshInventory.INSTANCE, settings.inventoryRefresh());
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(Dispatch.class, this::onDispatch)
                .onMessage(RunnerChanged.class, this::onRunnerChanged)
                .onMessage(ListRunners.class, this::onListRunners)
                .onMessage(GetCapacity.class, m -> {
                    m.replyTo().tell(new Capacity(nodeName, devices, reservedPerGpu()));
                    return this;
                })
                .onMessage(Unload.class, this::onUnload)
                .onMessage(StopAll.class, this::onStopAll)
                .onMessage(RunnerTerminated.class, this::onRunnerTerminated)
                .onMessageEquals(RefreshInventory.INSTANCE, () -> {
                    refreshInventory();
                    return this;
                })
                .onMessage(InventoryRead.class, this::onInventoryRead)
                .onMessageEquals(PublishCapacity.INSTANCE, () -> {
                    publishNow();
                    return this;
                })
                .build();
    }

    private Behavior<Command> onDispatch(Dispatch d) {
        if (!inventoryRead) {
            beforeInventory.add(d); // placement needs to know the GPUs first
            return this;
        }
        RunnerKey key = new RunnerKey(d.spec().name(), d.mode());
        ActorRef<RunnerSupervisor.Command> runner = active.get(key);
        if (runner != null) {
            runner.tell(new RunnerSupervisor.Dispatch(d.request(), d.replyTo()));
            return this;
        }
        if (waitingForRoom.stream().anyMatch(w -> w.spec().name().equals(d.spec().name()) && w.mode() == d.mode())) {
            waitingForRoom.add(d); // its runner starts once eviction frees the room
            return this;
        }
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
        PlacementPlanner.Demand demand = demand(d.spec(), d.mode(), backend);
        PlacementPlanner.Decision decision = PlacementPlanner.place(List.of(view(Map.of())), demand);
        if (decision instanceof PlacementPlanner.Placed placed) {
            start(d, backend, placed, demand);
            return this;
        }
        // evict idle runners, least recently used first, never those that must stay loaded
        List<Map.Entry<ActorRef<RunnerSupervisor.Command>, RunnerStatus>> idle = statuses.entrySet().stream()
                .filter(e -> e.getValue().idle() && e.getValue().keepAlive() >= 0 && reservations.containsKey(e.getKey()))
                .sorted(java.util.Comparator.comparingLong(e -> e.getValue().lastUsed()))
                .toList();
        Map<ActorRef<RunnerSupervisor.Command>, Reservation> released = new HashMap<>();
        for (Map.Entry<ActorRef<RunnerSupervisor.Command>, RunnerStatus> e : idle) {
            released.put(e.getKey(), reservations.get(e.getKey()));
            if (PlacementPlanner.place(List.of(view(released)), demand) instanceof PlacementPlanner.Placed) {
                getContext().getLog().info("evicting {} idle runner(s) to make room for '{}': {}", released.size(),
                        d.spec().name(), released.keySet().stream().map(r -> statuses.get(r).model()).toList());
                released.keySet().forEach(r -> {
                    r.tell(RunnerSupervisor.Unload.INSTANCE);
                    active.values().remove(r);
                });
                waitingForRoom.add(d);
                return this;
            }
        }
        d.replyTo().tell(new InferenceProtocol.Failed(FailureKind.RUNNER_UNAVAILABLE, "model '" + d.spec().name()
                + "' doesn't fit on " + nodeName + ": " + ((PlacementPlanner.Refused) decision).reason()));
        return this;
    }

    private void start(Dispatch d, Backend backend, PlacementPlanner.Placed placed, PlacementPlanner.Demand demand) {
        String visible = placed.devices().isEmpty() ? null : placed.devices().stream()
                .map(i -> devices.stream().filter(g -> g.index() == i).findFirst().map(GpuDevice::uuid)
                        .filter(u -> !u.startsWith("declared-")).orElse(Integer.toString(i)))
                .collect(java.util.stream.Collectors.joining(","));
        long vram = placed.perDevice().stream().mapToLong(Long::longValue).sum();
        ActorRef<RunnerSupervisor.Command> runner = spawnRunner(d.spec(), d.mode(), backend,
                new RunnerSupervisor.Placement(placed.devices(), visible, vram));
        reservations.put(runner, new Reservation(placed.devices(), placed.perDevice(), demand.ram()));
        active.put(new RunnerKey(d.spec().name(), d.mode()), runner);
        runner.tell(new RunnerSupervisor.Dispatch(d.request(), d.replyTo()));
        publishCapacity();
    }

    /**
     * What the model needs, from its backend's estimate. An unparsable model's need is unknown, not
     * zero: it gets a whole GPU (the largest) where there is one.
     */
    private PlacementPlanner.Demand demand(ModelSpec spec, BackendMode mode, Backend backend) {
        // the estimate reads the model's header: once per model is enough
        return demands.computeIfAbsent(spec, s -> Demands.of(s, backend, settings.perGpuOverhead()))
                .map(d -> devices.isEmpty() // a node without GPUs runs it on the CPU
                        ? new PlacementPlanner.Demand(0, d.ram() + d.vram(), false, 0) : d)
                .orElseGet(() -> {
                    getContext().getLog().warn("memory requirement of '{}' unknown: reserving a whole GPU", spec.name());
                    long largest = devices.stream().mapToLong(GpuDevice::total).max().orElse(0);
                    return new PlacementPlanner.Demand(largest, 0, false, 0);
                });
    }

    /**
     * Truth over estimates: once a runner is ready, what its processes really use on each GPU
     * (nvidia-smi per process, the runner's process and its children) replaces the estimate in
     * its reservation. The status shows both.
     */
    private void correctReservations(List<NvidiaSmi.GpuProcess> processes) {
        if (processes.isEmpty()) {
            return;
        }
        Map<String, Integer> indexByUuid = new HashMap<>();
        devices.forEach(g -> indexByUuid.put(g.uuid(), g.index()));
        for (Map.Entry<ActorRef<RunnerSupervisor.Command>, RunnerStatus> e : statuses.entrySet()) {
            RunnerStatus s = e.getValue();
            Reservation r = reservations.get(e.getKey());
            if (r == null || s.pid() <= 0 || !s.phase().equals("ready")) {
                continue;
            }
            java.util.Set<Long> pids = new java.util.HashSet<>();
            pids.add(s.pid());
            ProcessHandle.of(s.pid()).ifPresent(p -> p.descendants().forEach(d -> pids.add(d.pid())));
            Map<Integer, Long> used = new java.util.TreeMap<>();
            for (NvidiaSmi.GpuProcess p : processes) {
                Integer index = indexByUuid.get(p.gpuUuid());
                if (pids.contains(p.pid()) && index != null) {
                    used.merge(index, p.used(), Long::sum);
                }
            }
            if (used.isEmpty()) {
                continue;
            }
            actualVram.put(s.runnerId(), used.values().stream().mapToLong(Long::longValue).sum());
            inDriverUse.put(e.getKey(), used);
            reservations.put(e.getKey(), new Reservation(List.copyOf(used.keySet()), List.copyOf(used.values()), r.ram()));
        }
    }

    /**
     * Tells the cluster what this node has room for, at most once per publish interval: runners
     * flip between busy and idle with every request when traffic is light.
     */
    private void publishCapacity() {
        if (!timers.isTimerActive(PublishCapacity.INSTANCE)) {
            timers.startSingleTimer(PublishCapacity.INSTANCE, settings.capacityPublishInterval());
        }
    }

    private void publishNow() {
        PlacementPlanner.NodeView room = view(Map.of());
        Map<Integer, Long> evictable = new java.util.TreeMap<>();
        List<String> hosted = new ArrayList<>();
        for (Map.Entry<ActorRef<RunnerSupervisor.Command>, RunnerStatus> e : statuses.entrySet()) {
            hosted.add(e.getValue().model());
            Reservation r = reservations.get(e.getKey());
            if (r != null && e.getValue().idle() && e.getValue().keepAlive() >= 0) {
                for (int i = 0; i < r.gpus().size(); i++) {
                    evictable.merge(r.gpus().get(i), r.perGpu().get(i), Long::sum);
                }
            }
        }
        capacityListener.accept(new NodeCapacity(nodeName, room.ramAvailable(), room.devices(), hosted, evictable, modelFiles));
    }

    /** This node's room: free GPU memory minus reservations (except those being released), and RAM. */
    private PlacementPlanner.NodeView view(Map<ActorRef<RunnerSupervisor.Command>, Reservation> releasing) {
        List<PlacementPlanner.Device> room = new ArrayList<>();
        for (GpuDevice g : devices) {
            long reserved = 0;
            for (Map.Entry<ActorRef<RunnerSupervisor.Command>, Reservation> e : reservations.entrySet()) {
                if (releasing.containsKey(e.getKey())) {
                    continue;
                }
                Reservation r = e.getValue();
                // the driver's free memory already excludes what the runner's processes use
                long counted = inDriverUse.getOrDefault(e.getKey(), Map.of()).getOrDefault(g.index(), 0L);
                for (int i = 0; i < r.gpus().size(); i++) {
                    if (r.gpus().get(i) == g.index()) {
                        reserved += Math.max(0, r.perGpu().get(i) - counted);
                    }
                }
            }
            room.add(new PlacementPlanner.Device(g.index(), g.name(), Math.max(0, g.free() - reserved)));
        }
        long ramUsed = reservations.entrySet().stream().filter(e -> !releasing.containsKey(e.getKey()))
                .mapToLong(e -> e.getValue().ram()).sum();
        return new PlacementPlanner.NodeView(nodeName, Math.max(0, ramBudget - ramUsed), room);
    }

    /** GPU memory each device has reserved, for tests and status: index to bytes. */
    private Map<Integer, Long> reservedPerGpu() {
        Map<Integer, Long> out = new java.util.TreeMap<>();
        for (Reservation r : reservations.values()) {
            for (int i = 0; i < r.gpus().size(); i++) {
                out.merge(r.gpus().get(i), r.perGpu().get(i), Long::sum);
            }
        }
        return out;
    }

    private void refreshInventory() {
        getContext().pipeToSelf(CompletableFuture.supplyAsync(() -> {
            try {
                return new InventoryRead(inventory.devices(), inventory.processes(), null);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }, getContext().getSystem().dispatchers().lookup(DispatcherSelector.fromConfig(settings.backendRunDispatcher()))),
                (read, err) -> err == null ? read : new InventoryRead(List.of(), List.of(), err.getMessage()));
    }

    private Behavior<Command> onInventoryRead(InventoryRead m) {
        if (m.error() != null) {
            getContext().getLog().warn("GPU inventory failed, keeping the last one: {}", m.error());
        } else {
            devices = m.devices();
            correctReservations(m.processes());
        }
        publishCapacity();
        if (!inventoryRead) {
            inventoryRead = true;
            beforeInventory.forEach(d -> getContext().getSelf().tell(d));
            beforeInventory.clear();
        }
        return this;
    }

    private ActorRef<RunnerSupervisor.Command> spawnRunner(ModelSpec spec, BackendMode mode, Backend backend,
                                                           RunnerSupervisor.Placement placement) {
        long n = ++runnerSeq;
        String runnerId = backend.name() + "-" + n;
        // short names: a Unix socket path is limited to 107 bytes
        Path socket = settings.socketDir().resolve(runnerId + ".sock");
        ActorRef<Command> self = getContext().getSelf();
        ActorRef<RunnerSupervisor.Command> runner = getContext().spawn(
                RunnerSupervisor.create(runnerId, spec, mode, backend, socket, settings,
                        (ref, status) -> self.tell(new RunnerChanged(ref, status)), placement),
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
        publishCapacity();
        return this;
    }

    private boolean isActive(ActorRef<RunnerSupervisor.Command> runner) {
        return active.containsValue(runner);
    }

    private Behavior<Command> onRunnerTerminated(RunnerTerminated t) {
        ActorRef<RunnerSupervisor.Command> runner = t.runner();
        active.values().remove(runner);
        RunnerStatus gone = statuses.remove(runner);
        reservations.remove(runner);
        inDriverUse.remove(runner);
        if (gone != null) {
            actualVram.remove(gone.runnerId());
        }
        publishCapacity();
        if (!waitingForRoom.isEmpty()) {
            List<Dispatch> retry = List.copyOf(waitingForRoom);
            waitingForRoom.clear();
            retry.forEach(d -> getContext().getSelf().tell(d)); // the room an evicted runner held is free now
        }
        if (statuses.isEmpty() && !stopAllWaiters.isEmpty()) {
            stopAllWaiters.forEach(w -> w.tell(Done.INSTANCE));
            stopAllWaiters.clear();
        }
        return this;
    }

    /** Asks every runner for its live status; a runner that doesn't answer in time is shown as last reported. */
    private Behavior<Command> onListRunners(ListRunners m) {
        if (statuses.isEmpty()) {
            m.replyTo().tell(new Runners(nodeName, List.of()));
        } else {
            getContext().spawnAnonymous(collectStatuses(nodeName, Map.copyOf(statuses), Map.copyOf(actualVram), m.replyTo()));
        }
        return this;
    }

    private interface Collect extends CborSerializable {}

    private record Got(RunnerStatus status) implements Collect {}

    private enum CollectTimeout implements Collect { INSTANCE }

    private static Behavior<Collect> collectStatuses(String nodeName, Map<ActorRef<RunnerSupervisor.Command>, RunnerStatus> known,
                                                     Map<String, Long> actual, ActorRef<Runners> replyTo) {
        return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
            ActorRef<RunnerStatus> adapter = ctx.messageAdapter(RunnerStatus.class, Got::new);
            known.keySet().forEach(r -> r.tell(new RunnerSupervisor.GetStatus(adapter)));
            timers.startSingleTimer(CollectTimeout.INSTANCE, Duration.ofSeconds(2));
            Map<String, RunnerStatus> live = new HashMap<>();
            known.values().forEach(s -> live.put(s.runnerId(), s));
            java.util.Set<String> answered = new java.util.HashSet<>();
            return Behaviors.receive(Collect.class)
                    .onMessage(Got.class, g -> {
                        live.put(g.status().runnerId(), g.status().withVramActual(actual.getOrDefault(g.status().runnerId(), -1L)));
                        answered.add(g.status().runnerId());
                        if (answered.size() < known.size()) {
                            return Behaviors.same();
                        }
                        replyTo.tell(new Runners(nodeName, List.copyOf(live.values())));
                        return Behaviors.stopped();
                    })
                    .onMessageEquals(CollectTimeout.INSTANCE, () -> {
                        replyTo.tell(new Runners(nodeName, List.copyOf(live.values())));
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
