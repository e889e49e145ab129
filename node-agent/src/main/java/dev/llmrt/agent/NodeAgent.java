package dev.llmrt.agent;

import dev.llmrt.agent.InferenceProtocol.FailureKind;
import dev.llmrt.agent.gpu.GpuDevice;
import dev.llmrt.agent.gpu.GpuInventory;
import dev.llmrt.agent.gpu.GpuKind;
import dev.llmrt.agent.gpu.GpuMonitor;
import dev.llmrt.agent.gpu.NvidiaSmi;
import dev.llmrt.agent.metrics.NodeMetrics;
import dev.llmrt.agent.model.ModelSpec;
import dev.llmrt.agent.placement.CapacityView;
import dev.llmrt.agent.placement.Demands;
import dev.llmrt.agent.placement.NodeCapacity;
import dev.llmrt.agent.placement.OverheadCalibration;
import dev.llmrt.agent.placement.PlacementPlanner;
import dev.llmrt.agent.placement.ReservationLedger;
import dev.llmrt.agent.runner.RunnerLoad;
import dev.llmrt.agent.runner.RunnerRegistry;
import dev.llmrt.agent.runner.RunnerStatus;
import dev.llmrt.agent.runner.RunnerSupervisor;
import dev.llmrt.agent.state.RunnerRecords;
import dev.llmrt.agent.runner.StatusCollector;
import dev.llmrt.agent.store.LocalFiles;
import dev.llmrt.runtime.llamacpp.LlamaCppBackend;
import dev.llmrt.runtime.spi.Backend;
import dev.llmrt.runtime.spi.BackendException;
import dev.llmrt.runtime.spi.BackendMode;
import dev.llmrt.runtime.spi.RunContext;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;

/**
 * The agent of one node: places each (model, mode) it is asked to serve on its GPUs, starts one
 * {@link RunnerSupervisor} for it, and passes requests on. Its state lives in pure classes: the
 * {@link RunnerRegistry} (which runners exist and take requests), the {@link ReservationLedger}
 * (what each holds on which GPU) and the {@link OverheadCalibration} (what a process really costs
 * per GPU kind); a {@link GpuMonitor} child reads the GPUs, and a {@link StatusCollector} per
 * question gathers live status. The agent serializes the decisions: no two runners take the same
 * memory.
 */
public final class NodeAgent extends AbstractBehavior<NodeAgent.Command> {

    public sealed interface Command extends CborSerializable {}

    /** Work for the runner of (spec, mode), which is started for it if none is loaded. */
    private sealed interface ForRunner extends Command permits Dispatch, Preload {
        ModelSpec spec();

        BackendMode mode();

        /** Which of the model's replicas it is for: each has a runner of its own. */
        int replica();

        /** The message its runner gets. */
        RunnerSupervisor.Command toRunner();

        /** No runner can take it: tell whoever waits why. */
        void refuse(FailureKind kind, String message);
    }

    /** Serve {@code request} for {@code spec} in {@code mode}, starting a runner if none is loaded. */
    public record Dispatch(ModelSpec spec, BackendMode mode, InferenceProtocol.Request request,
                           ActorRef<InferenceProtocol.Reply> replyTo, int replica) implements ForRunner {
        public Dispatch(ModelSpec spec, BackendMode mode, InferenceProtocol.Request request,
                        ActorRef<InferenceProtocol.Reply> replyTo) {
            this(spec, mode, request, replyTo, 0);
        }

        @Override
        public RunnerSupervisor.Command toRunner() {
            return new RunnerSupervisor.Dispatch(request, replyTo);
        }

        @Override
        public void refuse(FailureKind kind, String message) {
            replyTo.tell(new InferenceProtocol.Failed(kind, message));
        }
    }

    /** Start the runner of (spec, mode) if none is loaded; answer once it is ready, naming {@code node}. */
    public record Preload(ModelSpec spec, BackendMode mode, String node, ActorRef<InferenceProtocol.Warmed> replyTo,
                          int replica) implements ForRunner {
        public Preload(ModelSpec spec, BackendMode mode, String node, ActorRef<InferenceProtocol.Warmed> replyTo) {
            this(spec, mode, node, replyTo, 0);
        }

        @Override
        public RunnerSupervisor.Command toRunner() {
            return new RunnerSupervisor.AwaitReady(node, replyTo);
        }

        @Override
        public void refuse(FailureKind kind, String message) {
            replyTo.tell(new InferenceProtocol.Warmed(node, false, message));
        }
    }

    /** Every runner on this node, as last reported. */
    public record ListRunners(ActorRef<Runners> replyTo) implements Command {}

    public record Runners(String node, List<RunnerStatus> runners, List<PlacementDecision> decisions) implements CborSerializable {
        public Runners(String node, List<RunnerStatus> runners) {
            this(node, runners, List.of());
        }

        public Runners {
            decisions = decisions == null ? List.of() : List.copyOf(decisions);
        }
    }

    /**
     * One of this node's decisions about starting a runner, with its reason: {@code placed} (where,
     * how much), {@code refused} (why it doesn't fit), {@code evicting} (which idle runners make room).
     *
     * @param at epoch milliseconds
     */
    public record PlacementDecision(long at, String model, String mode, String outcome, String reason)
            implements CborSerializable {}

    /** Every node's agent registers under this key, so status can be gathered cluster-wide. */
    public static final ServiceKey<Command> SERVICE_KEY = ServiceKey.create(Command.class, "llmrt-node-agent");

    /** This node's GPUs, what is reserved on each (index to bytes) and the overheads it learned. */
    public record GetCapacity(ActorRef<Capacity> replyTo) implements Command {}

    /**
     * model-runner's {@code /engines/df} on this node: bytes of those of {@code modelPaths} that are
     * here (files, or directories summed) plus its model store, and of the default backend (llama.cpp's
     * llama-server).
     */
    public record DiskUsage(List<String> modelPaths, ActorRef<DiskUsed> replyTo) implements Command {}

    public record DiskUsed(long models, long defaultBackend) implements CborSerializable {}

    /** @param gpusRead whether the first GPU reading came (placement waits for it) */
    public record Capacity(String node, boolean gpusRead, List<GpuDevice> gpus, Map<Integer, Long> reservedPerGpu,
                           List<OverheadCalibration.Learned> overheads) implements CborSerializable {}

    /**
     * Unload runners, as model-runner's {@code POST /engines/unload}: all of them, or those of the
     * named models, of {@code backend} when it is named (null or empty: any). Runners with requests
     * in flight or queued are left alone. Replies with how many were told to stop.
     */
    public record Unload(boolean all, String backend, List<String> models, ActorRef<Unloaded> replyTo) implements Command {
        public Unload(boolean all, List<String> models, ActorRef<Unloaded> replyTo) {
            this(all, null, models, replyTo);
        }
    }

    public record Unloaded(int unloadedRunners) implements CborSerializable {}

    /**
     * The model's replica on this node moved away or was retired: its runners take nothing new, finish
     * what they have, then stop (freeing their GPU memory).
     */
    public record DrainModel(String model, int replica) implements Command {}

    /** Stop every runner and reply once all processes are reaped (for shutdown). */
    public record StopAll(ActorRef<Done> replyTo) implements Command {}

    public enum Done implements CborSerializable { INSTANCE }

    private record RunnerChanged(ActorRef<RunnerSupervisor.Command> runner, RunnerStatus status) implements Command {}

    private record RunnerTerminated(ActorRef<RunnerSupervisor.Command> runner) implements Command {}

    private record GpusRead(GpuMonitor.Reading reading) implements Command {}

    private enum PublishCapacity implements Command { INSTANCE }

    private enum LoadTick implements Command { INSTANCE }

    /**
     * What a node agent works with besides its settings.
     *
     * @param nodeName   how placement and refusals name this node (its cluster address)
     * @param address    its cluster address in full (pekko://...), as gateways know it
     * @param inventory  where its GPUs come from
     * @param ramBudget  RAM models may use on this node
     * @param demands    what each model needs (shared with the node's allocation strategy)
     * @param cluster    every node's published capacity (for the overheads others learned)
     * @param publisher  hears this node's capacity after changes (the cluster-wide registry)
     * @param files      where the models' files are, and which this node holds (placement prefers it for them)
     */
    public record Setup(String nodeName, String address, Map<String, Backend> backends, GpuInventory inventory,
                        long ramBudget, Demands demands, CapacityView cluster, Consumer<NodeCapacity> publisher,
                        LocalFiles files, NodeMetrics metrics, RunnerRecords records) {
        /** A node on its own: no GPUs, no RAM limit, publishing nowhere, metrics nowhere. */
        public static Setup local(String nodeName, Map<String, Backend> backends) {
            return new Setup(nodeName, nodeName, Map.copyOf(backends), GpuInventory.declared(List.of()), Long.MAX_VALUE,
                    new Demands(backends), new CapacityView(), c -> {}, LocalFiles.asConfigured(List::of), NodeMetrics.none(),
                    RunnerRecords.NONE);
        }

        public Setup withGpus(GpuInventory gpus, long ram) {
            return new Setup(nodeName, address, backends, gpus, ram, demands, cluster, publisher, files, metrics, records);
        }

        public Setup inCluster(String clusterAddress, Demands shared, CapacityView view, Consumer<NodeCapacity> publishTo,
                               LocalFiles modelFiles) {
            return new Setup(nodeName, clusterAddress, backends, inventory, ramBudget, shared, view, publishTo, modelFiles, metrics,
                    records);
        }

        public Setup withMetrics(NodeMetrics m) {
            return new Setup(nodeName, address, backends, inventory, ramBudget, demands, cluster, publisher, files, m, records);
        }

        /** Runner processes are recorded in the node's state directory (reaped by its next start if it dies). */
        public Setup recordingRunners(RunnerRecords r) {
            return new Setup(nodeName, address, backends, inventory, ramBudget, demands, cluster, publisher, files, metrics, r);
        }
    }

    private static final int DECISIONS_KEPT = 20;
    private final AgentSettings settings;
    private final Setup setup;
    private final TimerScheduler<Command> timers;
    private final RunnerRegistry runners = new RunnerRegistry();
    private final ReservationLedger ledger = new ReservationLedger();
    private final OverheadCalibration calibration;
    private final List<ActorRef<Done>> stopAllWaiters = new ArrayList<>();
    /** Work that came before the first GPU reading: placement needs to know the GPUs. */
    private final List<ForRunner> beforeInventory = new ArrayList<>();
    /** Work for a model whose runner waits for evicted runners to free their memory. */
    private final List<ForRunner> waitingForRoom = new ArrayList<>();
    /** The last decisions, oldest first, for the status and its events. */
    private final ArrayDeque<PlacementDecision> decisions = new ArrayDeque<>();
    private List<GpuDevice> devices = List.of();
    private boolean inventoryRead;
    /** StopAll came: the node is shutting down and starts no runner (its sharding may still route work here). */
    private boolean stopping;
    private long runnerSeq;
    private Map<String, Integer> publishedQueues = Map.of();

    public static Behavior<Command> create(AgentSettings settings, Setup setup) {
        return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> new NodeAgent(ctx, timers, settings, setup)));
    }

    private NodeAgent(ActorContext<Command> context, TimerScheduler<Command> timers, AgentSettings settings, Setup setup) {
        super(context);
        this.settings = settings;
        this.setup = setup;
        this.timers = timers;
        this.calibration = new OverheadCalibration(settings.calibrationWindow());
        timers.startTimerWithFixedDelay(LoadTick.INSTANCE, settings.loadPublishInterval());
        context.spawn(GpuMonitor.create(setup.inventory(), settings.inventoryRefresh(), settings.backendRunDispatcher(),
                context.getSelf(), GpusRead::new), "gpu-monitor");
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(Dispatch.class, this::onWork)
                .onMessage(Preload.class, this::onWork)
                .onMessage(RunnerChanged.class, this::onRunnerChanged)
                .onMessage(RunnerTerminated.class, this::onRunnerTerminated)
                .onMessage(GpusRead.class, this::onGpusRead)
                .onMessageEquals(PublishCapacity.INSTANCE, this::onPublishCapacity)
                .onMessageEquals(LoadTick.INSTANCE, this::onLoadTick)
                .onMessage(ListRunners.class, this::onListRunners)
                .onMessage(GetCapacity.class, this::onGetCapacity)
                .onMessage(DiskUsage.class, this::onDiskUsage)
                .onMessage(Unload.class, this::onUnload)
                .onMessage(DrainModel.class, this::onDrainModel)
                .onMessage(StopAll.class, this::onStopAll)
                .build();
    }

    // ---- requests and placement ----

    private Behavior<Command> onWork(ForRunner d) {
        if (stopping) {
            d.refuse(FailureKind.RUNNER_UNAVAILABLE, "node " + setup.nodeName() + " is shutting down");
            return this;
        }
        if (!inventoryRead) {
            beforeInventory.add(d);
            return this;
        }
        RunnerRegistry.Key key = new RunnerRegistry.Key(d.spec().name(), d.mode(), d.replica());
        var runner = runners.accepting(key);
        if (runner.isPresent()) {
            runner.get().tell(d.toRunner());
            return this;
        }
        if (waitingForRoom.stream().anyMatch(w -> w.spec().name().equals(d.spec().name()) && w.mode() == d.mode()
                && w.replica() == d.replica())) {
            waitingForRoom.add(d); // its runner starts once eviction frees the room
            return this;
        }
        Backend backend = setup.backends().get(d.spec().backend());
        if (backend == null) {
            d.refuse(FailureKind.MODEL_NOT_FOUND,
                    "backend '" + d.spec().backend() + "' of model '" + d.spec().name() + "' is not available on this node");
            return this;
        }
        try {
            backend.install(null); // only checks: backends here install through the project's scripts
        } catch (BackendException e) {
            d.refuse(FailureKind.BACKEND_NOT_INSTALLED, e.getMessage());
            return this;
        }
        ModelSpec spec = settings.onThisNode(d.spec());
        PlacementPlanner.Demand demand = demand(spec, d.mode());
        PlacementPlanner.NodeView here = room(Set.of());
        PlacementPlanner.Decision decision = PlacementPlanner.place(List.of(here), demand);
        setup.metrics().placed(spec.name(), decision instanceof PlacementPlanner.Placed);
        if (decision instanceof PlacementPlanner.Placed placed) {
            decided(d, "placed", placedWhere(placed, demand, here));
            start(d, spec, backend, placed, demand);
        } else if (!evictToMakeRoom(d, demand)) {
            String reason = ((PlacementPlanner.Refused) decision).reason();
            decided(d, "refused", reason);
            d.refuse(FailureKind.RUNNER_UNAVAILABLE, "model '" + d.spec().name() + "' doesn't fit on "
                    + setup.nodeName() + ": " + reason);
        }
        return this;
    }

    /** What the model needs here: on this node's GPUs with the overheads learned for them, or from RAM. */
    private PlacementPlanner.Demand demand(ModelSpec spec, BackendMode mode) {
        if (devices.isEmpty()) {
            return setup.demands().onCpu(spec);
        }
        return setup.demands().onGpus(spec, OverheadCalibration.forRunner(spec.backend(), mode.wireName(),
                calibration.learned(), setup.cluster().overheads()));
    }

    /**
     * Evicts idle runners, least recently used first (never those whose keep-alive is negative), if
     * that makes room; the request waits until their memory is free. False when eviction can't help.
     */
    private boolean evictToMakeRoom(ForRunner d, PlacementPlanner.Demand demand) {
        List<RunnerRegistry.Entry> idle = runners.evictable();
        List<String> releasing = new ArrayList<>();
        for (int n = 1; n <= idle.size(); n++) {
            releasing.add(idle.get(n - 1).runnerId());
            if (PlacementPlanner.place(List.of(room(releasing)), demand) instanceof PlacementPlanner.Placed) {
                List<RunnerRegistry.Entry> evicted = idle.subList(0, n);
                getContext().getLog().info("evicting {} idle runner(s) to make room for '{}': {}", n, d.spec().name(),
                        evicted.stream().map(e -> e.key().model()).toList());
                decided(d, "evicting", "no room: unloading idle " + evicted.stream().map(e -> e.key().model()).toList()
                        + ", least recently used first");
                evicted.forEach(e -> {
                    setup.metrics().evicted(e.key().model());
                    e.ref().tell(RunnerSupervisor.Unload.INSTANCE);
                    runners.stopAccepting(e.ref());
                });
                waitingForRoom.add(d);
                return true;
            }
        }
        return false;
    }

    private void decided(ForRunner d, String outcome, String reason) {
        decisions.addLast(new PlacementDecision(System.currentTimeMillis(), d.spec().name(), d.mode().wireName(), outcome, reason));
        while (decisions.size() > DECISIONS_KEPT) {
            decisions.removeFirst();
        }
    }

    private String placedWhere(PlacementPlanner.Placed placed, PlacementPlanner.Demand demand, PlacementPlanner.NodeView before) {
        if (placed.devices().isEmpty()) {
            return "in RAM: " + PlacementPlanner.gib(demand.ram()) + " reserved (no GPU on " + setup.nodeName() + ")";
        }
        List<String> where = new ArrayList<>();
        for (int i = 0; i < placed.devices().size(); i++) {
            int index = placed.devices().get(i);
            long free = before.devices().stream().filter(g -> g.index() == index).mapToLong(PlacementPlanner.Device::available)
                    .findFirst().orElse(0L);
            where.add("GPU " + index + ": " + PlacementPlanner.gib(placed.perDevice().get(i)) + " reserved of "
                    + PlacementPlanner.gib(free) + " free");
        }
        return String.join("; ", where) + (placed.devices().size() > 1 ? " (split across GPUs)" : " (best fit)");
    }

    private void start(ForRunner d, ModelSpec spec, Backend backend, PlacementPlanner.Placed placed,
                       PlacementPlanner.Demand demand) {
        Map<Integer, Long> perGpu = new HashMap<>();
        List<RunContext.Gpu> gpus = new ArrayList<>();
        for (int i = 0; i < placed.devices().size(); i++) {
            int index = placed.devices().get(i);
            long bytes = placed.perDevice().get(i);
            perGpu.put(index, bytes);
            gpus.add(new RunContext.Gpu(index, bytes, device(index).map(GpuDevice::total).orElse(0L)));
        }
        String visible = gpus.isEmpty() ? null : placed.devices().stream()
                .map(i -> device(i).map(GpuDevice::uuid).filter(u -> !u.startsWith("declared-")).orElse(Integer.toString(i)))
                .collect(Collectors.joining(","));
        String runnerId = backend.name() + "-" + ++runnerSeq;
        ActorRef<Command> self = getContext().getSelf();
        RunnerLoad load = new RunnerLoad();
        ActorRef<RunnerSupervisor.Command> runner = getContext().spawn(RunnerSupervisor.create(runnerId, spec, d.mode(),
                backend, socketOf(runnerId), settings, setup.files(), setup.records(),
                (ref, status) -> self.tell(new RunnerChanged(ref, status)), new RunnerSupervisor.Placement(gpus, visible), load),
                "runner-" + runnerSeq);
        getContext().watchWith(runner, new RunnerTerminated(runner));
        runners.add(runner, runnerId, spec, d.mode(), d.replica(), load);
        ledger.reserve(runnerId, perGpu, demand.ram());
        runner.tell(d.toRunner());
        publishCapacity();
    }

    /** Where a runner's backend serves HTTP. */
    private Path socketOf(String runnerId) {
        return settings.socketDir().resolve(runnerId + ".sock");
    }

    private Optional<GpuDevice> device(int index) {
        return devices.stream().filter(g -> g.index() == index).findFirst();
    }

    private PlacementPlanner.NodeView room(Collection<String> releasing) {
        return ledger.view(setup.nodeName(), setup.ramBudget(), devices, releasing);
    }

    // ---- runner lifecycle ----

    private Behavior<Command> onRunnerChanged(RunnerChanged m) {
        RunnerStatus before = runners.lastStatuses().get(m.runner());
        RunnerStatus now = m.status();
        if (now.phase() == RunnerStatus.Phase.READY && (before == null || before.phase() != RunnerStatus.Phase.READY)
                && now.readyAt() >= now.startedAt()) {
            setup.metrics().runnerReady(now.model(), now.backend(), now.mode(), now.readyAt() - now.startedAt());
        }
        if (before != null && now.restarts() > before.restarts()) {
            setup.metrics().runnerRestarted(now.model(), now.backend(), now.restarts() - before.restarts());
        }
        if (runners.reported(m.runner(), m.status())) {
            publishCapacity();
        }
        return this;
    }

    private Behavior<Command> onRunnerTerminated(RunnerTerminated t) {
        runners.remove(t.runner()).ifPresent(e -> ledger.release(e.runnerId()));
        publishCapacity();
        if (!waitingForRoom.isEmpty()) {
            List<ForRunner> retry = List.copyOf(waitingForRoom);
            waitingForRoom.clear();
            retry.forEach(d -> getContext().getSelf().tell(d)); // the room an evicted runner held is free now
        }
        if (runners.isEmpty() && !stopAllWaiters.isEmpty()) {
            stopAllWaiters.forEach(w -> w.tell(Done.INSTANCE));
            stopAllWaiters.clear();
        }
        return this;
    }

    // ---- GPUs: readings, truth over estimates, calibration ----

    private Behavior<Command> onGpusRead(GpusRead m) {
        devices = m.reading().devices();
        measureRunners(m.reading().processes());
        publishCapacity();
        if (!inventoryRead) {
            inventoryRead = true;
            beforeInventory.forEach(d -> getContext().getSelf().tell(d));
            beforeInventory.clear();
        }
        return this;
    }

    /**
     * What each ready runner's processes (its process and their children) really use on each GPU
     * replaces its reservation, and teaches the calibration what such a process costs beyond its
     * estimate on that kind of GPU.
     */
    private void measureRunners(List<NvidiaSmi.GpuProcess> processes) {
        if (processes.isEmpty()) {
            return;
        }
        Map<String, Integer> indexByUuid = new HashMap<>();
        devices.forEach(g -> indexByUuid.put(g.uuid(), g.index()));
        for (RunnerRegistry.Entry e : runners.all()) {
            RunnerStatus s = e.status();
            if (s == null || s.pid() <= 0 || s.phase() != RunnerStatus.Phase.READY || !ledger.holds(e.runnerId())) {
                continue;
            }
            Map<Integer, Long> used = NvidiaSmi.usedBy(s.pid(), processes, indexByUuid);
            if (used.isEmpty()) {
                continue;
            }
            ledger.measured(e.runnerId(), used);
            Demands.Estimate estimate = setup.demands().estimate(e.spec());
            if (estimate.memory() != null && estimate.memory().vramOverhead() > 0) {
                List<GpuKind> kinds = used.keySet().stream().map(i -> device(i).map(GpuDevice::kind).orElse(null)).toList();
                if (!kinds.contains(null)) {
                    calibration.measured(e.runnerId(), s.backend(), s.mode(), kinds,
                            used.values().stream().mapToLong(Long::longValue).sum(), estimate.memory().vramWithoutOverhead());
                }
            }
        }
    }

    // ---- capacity for the cluster ----

    /**
     * Tells the cluster what this node has room for, at most once per publish interval: runners
     * flip between busy and idle with every request when traffic is light.
     */
    private void publishCapacity() {
        if (!timers.isTimerActive(PublishCapacity.INSTANCE)) {
            timers.startSingleTimer(PublishCapacity.INSTANCE, settings.capacityPublishInterval());
        }
    }

    private Behavior<Command> onPublishCapacity() {
        PlacementPlanner.NodeView room = room(Set.of());
        List<String> hosted = runners.all().stream().map(e -> e.key().model()).distinct().toList();
        Map<Integer, Long> evictable = ledger.held(runners.evictable().stream().map(RunnerRegistry.Entry::runnerId).toList());
        publishedQueues = runners.queuedPerModel();
        Map<String, Map<Integer, Long>> held = new HashMap<>();
        for (String model : hosted) {
            held.put(model, ledger.held(runners.all().stream().filter(e -> e.key().model().equals(model))
                    .map(RunnerRegistry.Entry::runnerId).toList()));
        }
        setup.publisher().accept(new NodeCapacity(setup.nodeName(), room.ramAvailable(), room.devices(), hosted, evictable,
                setup.files().held(), calibration.learned(), setup.address(), publishedQueues, held, backendStatuses()));
        publishMetrics();
        return this;
    }

    /** Each backend's status on this node, as model-runner words it. */
    private Map<String, String> backendStatuses() {
        Map<String, String> out = new TreeMap<>();
        setup.backends().forEach((name, backend) -> out.put(name, backend.status()));
        return out;
    }

    /** The runners and GPUs as the metrics gauges show them until the next publish. */
    private void publishMetrics() {
        setup.metrics().runners(runners.all().stream().map(e -> new NodeMetrics.Runner(e.key().model(),
                e.spec().backend(), e.key().mode().wireName(), e.load(), socketOf(e.runnerId())))
                .toList());
        Map<Integer, Long> measured = new HashMap<>();
        for (RunnerStatus st : runners.lastStatuses().values()) {
            if (st != null && st.vramActual() > 0 && !st.gpus().isEmpty()) {
                st.gpus().forEach(g -> measured.merge(g, st.vramActual() / st.gpus().size(), Long::sum));
            }
        }
        Map<Integer, Long> reserved = ledger.reservedPerGpu();
        setup.metrics().gpus(devices.stream().map(g -> {
            long ours = measured.getOrDefault(g.index(), 0L);
            return new NodeMetrics.Gpu(g.index(), g.name(), g.total(), Math.max(0, g.used() - ours),
                    reserved.getOrDefault(g.index(), 0L), ours);
        }).toList());
    }

    /** Runners' queues change with every request: published now and then, when they changed. */
    private Behavior<Command> onLoadTick() {
        if (!runners.queuedPerModel().equals(publishedQueues)) {
            publishCapacity();
        }
        return this;
    }

    // ---- operations ----

    /** Sizes files off the actor's thread (a model directory can hold many). */
    private Behavior<Command> onDiskUsage(DiskUsage m) {
        Optional<Path> llamaServer = setup.backends().get("llama.cpp") instanceof LlamaCppBackend l ? l.binary() : Optional.empty();
        Executor blocking = getContext().getSystem().dispatchers().lookup(DispatcherSelector.fromConfig(settings.backendRunDispatcher()));
        CompletableFuture.runAsync(() -> {
            long models = m.modelPaths().stream().distinct().filter(p -> !setup.files().inStore(p))
                    .mapToLong(p -> bytes(Path.of(p))).sum() + setup.files().storeBytes();
            m.replyTo().tell(new DiskUsed(models, llamaServer.map(NodeAgent::bytes).orElse(0L)));
        }, blocking);
        return this;
    }

    /** A file's size, a directory's files' sizes summed; 0 for what isn't there. */
    private static long bytes(Path p) {
        try {
            if (Files.isRegularFile(p)) {
                return Files.size(p);
            }
            if (Files.isDirectory(p)) {
                try (var files = Files.walk(p)) {
                    return files.filter(Files::isRegularFile).mapToLong(f -> f.toFile().length()).sum();
                }
            }
        } catch (IOException | UncheckedIOException e) {
            // unreadable: counted as nothing
        }
        return 0;
    }

    private Behavior<Command> onGetCapacity(GetCapacity m) {
        m.replyTo().tell(new Capacity(setup.nodeName(), inventoryRead, devices, ledger.reservedPerGpu(), calibration.learned()));
        return this;
    }

    /** Asks every runner for its live status; a runner that doesn't answer in time is shown as last reported. */
    private Behavior<Command> onListRunners(ListRunners m) {
        Map<String, Long> measured = new HashMap<>();
        runners.all().forEach(e -> ledger.measuredTotal(e.runnerId()).ifPresent(v -> measured.put(e.runnerId(), v)));
        String node = setup.nodeName();
        List<PlacementDecision> recent = List.copyOf(decisions);
        getContext().spawnAnonymous(StatusCollector.create(runners.lastStatuses(), settings.statusTimeout(),
                s -> s.withVramActual(measured.getOrDefault(s.runnerId(), -1L)),
                statuses -> m.replyTo().tell(new Runners(node, statuses, recent))));
        return this;
    }

    private Behavior<Command> onUnload(Unload m) {
        Set<String> names = Set.copyOf(m.models() == null ? List.of() : m.models());
        List<RunnerRegistry.Entry> unloading = runners.acceptingWhere(e -> (m.all() || names.contains(e.key().model()))
                && (m.backend() == null || m.backend().isEmpty() || m.backend().equals(e.spec().backend()))
                && e.load().inFlight.get() == 0 && e.load().queued.get() == 0);
        unloading.forEach(e -> {
            e.ref().tell(RunnerSupervisor.Unload.INSTANCE);
            runners.stopAccepting(e.ref());
        });
        m.replyTo().tell(new Unloaded(unloading.size()));
        return this;
    }

    private Behavior<Command> onDrainModel(DrainModel m) {
        for (RunnerRegistry.Entry e : runners.acceptingWhere(e -> e.key().model().equals(m.model())
                && e.key().replica() == m.replica())) {
            e.ref().tell(RunnerSupervisor.Drain.INSTANCE);
            runners.stopAccepting(e.ref());
        }
        return this;
    }

    private Behavior<Command> onStopAll(StopAll m) {
        stopping = true;
        String why = "node " + setup.nodeName() + " is shutting down";
        beforeInventory.forEach(d -> d.refuse(FailureKind.RUNNER_UNAVAILABLE, why));
        beforeInventory.clear();
        waitingForRoom.forEach(d -> d.refuse(FailureKind.RUNNER_UNAVAILABLE, why));
        waitingForRoom.clear();
        runners.all().forEach(e -> {
            e.ref().tell(RunnerSupervisor.Unload.INSTANCE);
            runners.stopAccepting(e.ref());
        });
        if (runners.isEmpty()) {
            m.replyTo().tell(Done.INSTANCE);
        } else {
            stopAllWaiters.add(m.replyTo());
        }
        return this;
    }
}
