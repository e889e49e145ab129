package dev.llmrt.gateway.routing;

import dev.llmrt.agent.InferenceProtocol;
import dev.llmrt.agent.runner.RunnerSupervisor;
import dev.llmrt.gateway.metrics.GatewayMetrics;
import dev.llmrt.agent.ReplicatedMap;
import dev.llmrt.agent.model.ModelCatalog;
import dev.llmrt.agent.model.ModelEntity;
import dev.llmrt.agent.placement.CapacityView;
import dev.llmrt.gateway.ModelRouter;
import dev.llmrt.gateway.Routed;
import dev.llmrt.runtime.spi.BackendMode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.actor.Cancellable;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Subscribe;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Sink;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Routes each request to a replica of its model through a {@link ModelLane} per (model, mode), the
 * replicas being Cluster Sharding entities; hears which nodes become unreachable, reachable or
 * removed, and tells the lanes.
 */
public final class ReplicaRouter implements ModelRouter {
    /** The Distributed Data key of the elastic models' replica counts (durable: a restart keeps them). */
    public static final org.apache.pekko.cluster.ddata.Key<org.apache.pekko.cluster.ddata.LWWMap<String, Integer>> COUNTS_KEY =
            ReplicaCounts.KEY;

    private static final Logger log = LoggerFactory.getLogger(ReplicaRouter.class);

    /** One lane as {@code /status} shows it. */
    public record LaneStatus(String model, String mode, long routed, long retried, long queueFull, long queueTimeout,
                             int queued, int active, List<Replica> replicas) {
        public record Replica(int index, String node, boolean ready, boolean down, int outstanding, long routed) {}
    }

    private record LaneKey(String model, BackendMode mode) {}

    private final ActorSystem<?> system;
    private final ClusterSharding sharding;
    private final ModelCatalog catalog;
    private final RoutingSettings settings;
    private final Duration responseTimeout;
    private final Materializer materializer;
    private final Map<LaneKey, ModelLane> lanes = new ConcurrentHashMap<>();
    /** Attempts sent and not yet confirmed received, by id: what to run when a replica accepts one. */
    private final Map<Long, Runnable> acceptances = new ConcurrentHashMap<>();
    private final AtomicLong attempts = new AtomicLong();
    private final ActorRef<InferenceProtocol.Accepted> acceptor;
    private final ActorRef<ReplicatedMap.Command<Integer>> counts;
    private final ActorRef<RunnerWatch.Watch> runnerWatch;
    /** The latest cluster-wide count of replicas in use per elastic model. */
    private volatile Map<String, Integer> activeCounts = Map.of();
    private final CapacityView capacity;
    private final GatewayMetrics metrics;
    /** Node address to its runners' reported queues per model, refreshed every refresh interval. */
    private volatile Map<String, Map<String, Integer>> reportedQueues = Map.of();

    /**
     * @param capacity        every node's published capacity, with its runners' load
     * @param responseTimeout how long a request may take until its answer starts, retries included
     */
    public ReplicaRouter(ActorSystem<?> system, ModelCatalog catalog, CapacityView capacity, RoutingSettings settings,
                         Duration responseTimeout, GatewayMetrics metrics) {
        this.metrics = metrics;
        this.capacity = capacity;
        this.system = system;
        this.sharding = ClusterSharding.get(system);
        this.catalog = catalog;
        this.settings = settings;
        this.responseTimeout = responseTimeout;
        this.materializer = Materializer.matFromSystem(system);
        // a stopped gateway's lanes ask nothing more (an ask of a terminated system fails at once)
        system.getWhenTerminated().thenRun(() -> lanes.values().forEach(ModelLane::close));
        system.systemActorOf(nodeEvents(), "llmrt-routing-node-events", Props.empty());
        this.acceptor = system.systemActorOf(Behaviors.receiveMessage(a -> {
            Runnable accepted = acceptances.remove(a.attempt());
            if (accepted != null) {
                accepted.run();
            }
            return Behaviors.same();
        }), "llmrt-routing-acceptor", Props.empty());
        this.runnerWatch = system.systemActorOf(RunnerWatch.create(), "llmrt-routing-runner-watch", Props.empty());
        this.counts = system.systemActorOf(ReplicaCounts.create(latest -> {
            activeCounts = Map.copyOf(latest);
            lanes.forEach((k, lane) -> {
                Integer n = latest.get(k.model());
                if (n != null) {
                    lane.setActive(n);
                }
            });
        }), "llmrt-routing-replica-counts", Props.empty());
        system.scheduler().scheduleAtFixedRate(settings.refreshInterval(), settings.refreshInterval(), this::scale,
                system.executionContext());
    }

    @Override
    public CompletionStage<Routed> route(String model, BackendMode mode, InferenceProtocol.Request request, String affinity) {
        return lanes.computeIfAbsent(new LaneKey(model, mode), this::lane).submit(request, affinity);
    }

    /** Starts the runner of (model, mode) for its first replica, where placement puts it; true once it is ready. */
    public CompletionStage<Boolean> preload(String model, BackendMode mode) {
        return sharding.entityRefFor(ModelEntity.KEY, ModelCatalog.replicaId(model, 0))
                .<InferenceProtocol.Warmed>ask(replyTo -> new ModelEntity.Warm(mode, replyTo), responseTimeout)
                .thenApplyAsync(InferenceProtocol.Warmed::ready, system.executionContext());
    }

    /**
     * The reply as the lane takes it: a whole answer that crossed nodes in parts is read into one
     * {@link InferenceProtocol.Completed} first (its parts come with back-pressure; a cut transfer
     * is the backend's failure, 502).
     */
    private CompletionStage<InferenceProtocol.Reply> whole(CompletionStage<InferenceProtocol.Reply> reply) {
        return reply.thenComposeAsync(r -> {
            if (!(r instanceof InferenceProtocol.CompletedInParts parts)) {
                return java.util.concurrent.CompletableFuture.completedFuture(r);
            }
            return parts.body().getSource()
                    .runWith(org.apache.pekko.stream.javadsl.Sink.fold(new org.apache.pekko.util.ByteStringBuilder(),
                            (b, chunk) -> b.append(chunk)), materializer)
                    .<InferenceProtocol.Reply>thenApplyAsync(b -> new InferenceProtocol.Completed(parts.status(),
                            parts.contentType(), b.result().toArrayUnsafe()), Runnable::run)
                    .exceptionally(e -> new InferenceProtocol.Failed(InferenceProtocol.FailureKind.BACKEND_FAILED,
                            "the answer (" + parts.size() + " bytes) was cut while crossing nodes: " + e));
        }, Runnable::run);
    }

        public List<LaneStatus> status() {
        List<LaneStatus> out = new ArrayList<>();
        lanes.forEach((k, lane) -> {
            ModelLane.Counts c = lane.counts();
            out.add(new LaneStatus(k.model(), k.mode().wireName(), c.routed(), c.retried(), c.queueFull(), c.queueTimeout(),
                    c.queued(), lane.active(), lane.replicas().stream().map(r -> new LaneStatus.Replica(r.index(), r.node(), r.ready(),
                    r.down(), r.outstanding(), r.routed())).toList()));
        });
        out.sort(Comparator.comparing(LaneStatus::model).thenComparing(LaneStatus::mode));
        return out;
    }

    /**
     * Every refresh interval: takes the runners' latest reported queues, has each lane check where its
     * replicas live, and asks each elastic lane whether its model needs more or fewer, telling the cluster.
     */
    private void scale() {
        Map<String, Map<String, Integer>> queues = new HashMap<>();
        capacity.nodes().values().forEach(c -> queues.put(c.address(), c.queued()));
        reportedQueues = queues;
        lanes.forEach((k, lane) -> {
            lane.relocate();
            int proposed = lane.proposeActive();
            if (proposed > 0) {
                log.info("model '{}' ({}) now uses {} replica(s)", k.model(), k.mode().wireName(), proposed);
                counts.tell(new ReplicatedMap.Put<>(k.model(), proposed));
            }
        });
    }

    private ModelLane lane(LaneKey key) {
        int count = catalog.replicas(key.model());
        List<EntityRef<ModelEntity.Command>> refs = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            refs.add(sharding.entityRefFor(ModelEntity.KEY, ModelCatalog.replicaId(key.model(), i)));
        }
        BackendMode mode = key.mode();
        ModelLane.Replicas replicas = new ModelLane.Replicas() {
            @Override
            public CompletionStage<InferenceProtocol.Reply> route(int replica, InferenceProtocol.Request request, Duration timeout,
                                                                  Runnable accepted) {
                long attempt = attempts.incrementAndGet();
                acceptances.put(attempt, accepted);
                CompletionStage<InferenceProtocol.Reply> reply = whole(refs.get(replica).ask(
                        replyTo -> new ModelEntity.Route(mode, request, replyTo, acceptor, attempt), timeout));
                // never a plain whenComplete on a stage Pekko returns: Scala's CompletionStage runs it on the
                // common pool, which on 2 cores starts one thread per callback
                reply.whenCompleteAsync((r, e) -> acceptances.remove(attempt), Runnable::run);
                return reply;
            }

            @Override
            public CompletionStage<InferenceProtocol.Reply> direct(ActorRef<RunnerSupervisor.Command> runner,
                                                                   InferenceProtocol.Request request, Duration timeout) {
                return whole(AskPattern.ask(runner, replyTo -> new RunnerSupervisor.Dispatch(request, replyTo), timeout,
                        system.scheduler()));
            }

            @Override
            public void queued(long waitedNanos) {
                metrics.queued(key.model(), waitedNanos);
            }

            @Override
            public void watch(ActorRef<RunnerSupervisor.Command> runner, Runnable gone) {
                runnerWatch.tell(new RunnerWatch.Watch(runner, gone));
            }

            @Override
            public CompletionStage<InferenceProtocol.Located> locate(int replica, Duration timeout) {
                return refs.get(replica).ask(ModelEntity.Locate::new, timeout);
            }

            @Override
            public CompletionStage<InferenceProtocol.Warmed> warm(int replica, Duration timeout) {
                return refs.get(replica).ask(replyTo -> new ModelEntity.Warm(mode, replyTo), timeout);
            }

            @Override
            public Cancellable schedule(Duration delay, Runnable task) {
                return system.scheduler().scheduleOnce(delay, task, system.executionContext());
            }

            @Override
            public int reportedQueue(String node) {
                Map<String, Integer> byModel = node == null ? null : reportedQueues.get(node);
                return byModel == null ? 0 : byModel.getOrDefault(key.model(), 0);
            }

            @Override
            public void retire(int replica) {
                refs.get(replica).tell(ModelEntity.Retire.INSTANCE);
            }

            @Override
            public void discard(InferenceProtocol.Stream stream) {
                stream.discard(materializer);
            }
        };
        int min = catalog.minReplicas(key.model());
        return new ModelLane(key.model(), mode, count, min, activeCounts.getOrDefault(key.model(), min),
                settings.forModel(catalog.entry(key.model())), responseTimeout, replicas, system.executionContext(),
                System::nanoTime);
    }

    /** Tells every lane when a node becomes unreachable, reachable again, or is removed. */
    private Behavior<Object> nodeEvents() {
        return Behaviors.setup(ctx -> {
            Cluster cluster = Cluster.get(ctx.getSystem());
            cluster.subscriptions().tell(Subscribe.create(ctx.getSelf().narrow(), ClusterEvent.ReachabilityEvent.class));
            cluster.subscriptions().tell(Subscribe.create(ctx.getSelf().narrow(), ClusterEvent.MemberRemoved.class));
            return Behaviors.receiveMessage(event -> {
                if (event instanceof ClusterEvent.UnreachableMember u) {
                    String node = u.member().address().toString();
                    ctx.getLog().warn("node {} is unreachable: requests waiting on it go to other replicas", node);
                    lanes.values().forEach(l -> l.nodeUnreachable(node));
                } else if (event instanceof ClusterEvent.ReachableMember r) {
                    String node = r.member().address().toString();
                    lanes.values().forEach(l -> l.nodeReachable(node));
                } else if (event instanceof ClusterEvent.MemberRemoved m) {
                    String node = m.member().address().toString();
                    lanes.values().forEach(l -> l.nodeRemoved(node));
                }
                return Behaviors.same();
            });
        });
    }
}
