package dev.llmrt.deploy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.llmrt.agent.AgentSettings;
import dev.llmrt.agent.Backends;
import dev.llmrt.agent.NodeAgent;
import dev.llmrt.agent.metrics.NodeMetrics;
import dev.llmrt.agent.metrics.RunnerMetrics;
import dev.llmrt.agent.gpu.GpuInventory;
import dev.llmrt.agent.ReplicatedMap;
import dev.llmrt.agent.placement.CapacityRegistry;
import dev.llmrt.agent.placement.NodeCapacity;
import dev.llmrt.agent.placement.CapacityView;
import dev.llmrt.agent.placement.Demands;
import dev.llmrt.agent.placement.GpuAllocationStrategy;
import dev.llmrt.agent.placement.OverheadCalibration;
import dev.llmrt.agent.placement.PlacementPlanner;
import dev.llmrt.agent.placement.PlacementSettings;
import dev.llmrt.agent.model.ModelCatalog;
import dev.llmrt.agent.model.ModelConfiguration;
import dev.llmrt.agent.model.ModelConfigurations;
import dev.llmrt.agent.model.ModelEntity;
import dev.llmrt.agent.model.ModelSpec;
import dev.llmrt.agent.state.FileDurableStore;
import dev.llmrt.agent.state.NodeState;
import dev.llmrt.agent.state.RunnerRecords;
import dev.llmrt.agent.store.BlobHolder;
import dev.llmrt.agent.store.ModelFiles;
import dev.llmrt.agent.store.ModelStore;
import dev.llmrt.agent.store.PeerAccess;
import dev.llmrt.agent.store.PinnedTls;
import dev.llmrt.agent.store.RegistryClient;
import dev.llmrt.agent.store.StoredEntry;
import dev.llmrt.agent.store.StoredModel;
import dev.llmrt.agent.store.StoredModels;
import dev.llmrt.gateway.models.BlobRoutes;
import dev.llmrt.gateway.models.ModelDetails;
import dev.llmrt.gateway.models.ModelManager;
import dev.llmrt.gateway.models.ModelsRoutes;
import dev.llmrt.gateway.security.ApiKeys;
import dev.llmrt.gateway.security.KeyCheck;
import dev.llmrt.gateway.security.KeyLimiter;
import dev.llmrt.gateway.security.KeysRoutes;
import dev.llmrt.gateway.security.PemTls;
import dev.llmrt.gateway.security.StoredKey;
import org.apache.pekko.cluster.ddata.Key;
import org.apache.pekko.cluster.ddata.LWWMap;
import org.apache.pekko.cluster.ddata.LWWMapKey;
import org.apache.pekko.cluster.sharding.typed.ClusterShardingSettings;
import org.apache.pekko.cluster.sharding.typed.ShardingEnvelope;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import dev.llmrt.runtime.spi.BackendConfiguration;
import java.io.IOException;
import java.util.HashMap;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.LoggerFactory;
import dev.llmrt.gateway.ClusterStatus;
import dev.llmrt.gateway.ConfigureRoutes;
import dev.llmrt.gateway.GatewayServer;
import dev.llmrt.gateway.HealthRoutes;
import dev.llmrt.gateway.logs.LogRoutes;
import dev.llmrt.gateway.ollama.OllamaRoutes;
import dev.llmrt.gateway.responses.ResponsesRoutes;
import dev.llmrt.gateway.metrics.GatewayMetrics;
import dev.llmrt.gateway.recorder.RecorderRoutes;
import dev.llmrt.gateway.recorder.RequestRecorder;
import dev.llmrt.gateway.metrics.MetricsRoutes;
import dev.llmrt.gateway.StatusRoutes;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import dev.llmrt.gateway.GatewaySettings;
import dev.llmrt.gateway.OpenAiRoutes;
import dev.llmrt.gateway.routing.ReplicaRouter;
import dev.llmrt.gateway.routing.RoutingSettings;
import dev.llmrt.runtime.spi.Backend;
import dev.llmrt.runtime.spi.BackendMode;
import com.sun.management.OperatingSystemMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.BiConsumer;
import java.util.function.Function;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.serialization.jackson.JacksonObjectMapperProvider;
import org.apache.pekko.stream.Materializer;

/**
 * One node of the service: its agent, the sharded model entities, and the HTTP gateway, wired by
 * the guardian. With no seed nodes configured it forms a one-node cluster by joining itself.
 */
public final class LlmrtNode {
    private final ActorSystem<Void> system;
    private final CompletableFuture<Started> started;

    /** What a started node exposes to its CLI and tests. */
    public record Started(ServerBinding binding, ActorRef<NodeAgent.Command> agent, ModelCatalog catalog,
                          CapacityView capacity) {
        public int port() {
            return binding == null ? -1 : binding.localAddress().getPort();
        }
    }

    private LlmrtNode(ActorSystem<Void> system, CompletableFuture<Started> started) {
        this.system = system;
        this.started = started;
    }

    /** What the cluster decided at run time and must survive a restart of every node (Distributed Data's durable keys). */
    static List<String> durableKeys() {
        return List.of(API_KEYS.id(), ModelConfigurations.KEY.id(), ReplicaRouter.COUNTS_KEY.id(), StoredModels.MODELS.id());
    }

    public static LlmrtNode start(Config config) {
        CompletableFuture<Started> started = new CompletableFuture<>();
        // the state directory first: it is this node's alone, and runners a dead run of it left go before anything starts
        NodeState state = NodeState.open(config);
        List<RunnerRecords.Leftover> reaped = state.runners().reapLeftovers();
        if (!reaped.isEmpty()) {
            LoggerFactory.getLogger(LlmrtNode.class).warn("reaped {} runner process(es) left by this node's previous run: {}",
                    reaped.size(), reaped);
        }
        Config withState = ConfigFactory.parseMap(Map.of(
                "pekko.cluster.distributed-data.durable.keys", durableKeys(),
                "pekko.cluster.distributed-data.durable.store-actor-class", FileDurableStore.class.getName(),
                "pekko.cluster.distributed-data.durable.file.dir", state.distributedData().toString())).withFallback(config);
        ActorSystem<Void> system;
        try {
            system = ActorSystem.create(guardian(withState, state, started), "llmrt", withState);
        } catch (RuntimeException e) {
            state.close();
            throw e;
        }
        system.getWhenTerminated().thenRun(() -> {
            state.close();
            started.completeExceptionally(new IllegalStateException("the node stopped while starting (see the log)"));
        });
        return new LlmrtNode(system, started);
    }

    public CompletionStage<Started> started() {
        return started;
    }

    public ActorSystem<Void> system() {
        return system;
    }

    /** Stops the node gracefully: unbinds, stops runners (reaping their processes), leaves the cluster. */
    public CompletionStage<Done> stop() {
        return CoordinatedShutdown.get(system).runAll(CoordinatedShutdown.unknownReason());
    }

    private static Behavior<Void> guardian(Config config, NodeState state, CompletableFuture<Started> started) {
        return Behaviors.setup(ctx -> {
            ActorSystem<Void> system = ctx.getSystem();
            Cluster cluster = Cluster.get(system);
            if (config.getStringList("pekko.cluster.seed-nodes").isEmpty()) {
                cluster.manager().tell(Join.create(cluster.selfMember().address()));
            }
            AgentSettings agentSettings = AgentSettings.fromConfig(config);
            Map<String, Backend> backends = Backends.fromConfig(config);
            ModelCatalog catalog = ModelCatalog.fromConfig(config, agentSettings.defaultKeepAlive());
            String nodeName = config.getString("llmrt.agent.node-name");
            if (nodeName.isEmpty()) {
                nodeName = cluster.selfMember().address().hostPort();
            }
            long ramBudget = config.getBytes("llmrt.agent.model-ram");
            if (ramBudget <= 0) {
                ramBudget = (long) (((OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getTotalMemorySize()
                        * config.getDouble("llmrt.agent.model-ram-share"));
            }
            // one registry per node (tests run several nodes in one JVM); served at /metrics on every node
            PrometheusRegistry prometheus = new PrometheusRegistry();
            JvmMetrics.builder().register(prometheus);
            NodeMetrics nodeMetrics = new NodeMetrics(prometheus, nodeName, new RunnerMetrics.Settings(
                    config.getDuration("llmrt.agent.runner-metrics.timeout"),
                    config.getBytes("llmrt.agent.runner-metrics.max-bytes").intValue()));
            Executor runnerReads = system.dispatchers().lookup(DispatcherSelector.fromConfig("llmrt.agent.runner-probe-dispatcher"));
            MetricsRoutes metrics = new MetricsRoutes(prometheus, () -> nodeMetrics.readRunners(runnerReads), system.executionContext());
            LogRoutes logs = new LogRoutes(system.executionContext());
            List<String> roles = config.getStringList("pekko.cluster.roles");
            boolean agentRole = roles.isEmpty() || roles.contains("agent");
            boolean gatewayRole = roles.isEmpty() || roles.contains("gateway");
            CapacityView capacity = new CapacityView(() -> {
                Set<String> live = new HashSet<>();
                for (Member m : cluster.state().getMembers()) {
                    if (m.status() == MemberStatus.up() || m.status() == MemberStatus.weaklyUp()) {
                        live.add(m.address().hostPort());
                    }
                }
                return live;
            });
            ActorRef<ReplicatedMap.Command<NodeCapacity>> registry = ctx.spawn(CapacityRegistry.create(capacity), "capacity");
            // run-time model configurations (_configure): every node's catalog applies them
            ActorRef<ReplicatedMap.Command<ModelConfiguration>> configurations =
                    ctx.spawn(ModelConfigurations.create(catalog), "model-configurations");
            // models from registries: this node's store, the cluster's map of them, who holds which file
            Executor transfers = system.dispatchers().lookup(DispatcherSelector.fromConfig("llmrt.store.transfer-dispatcher"));
            ModelStore store = new ModelStore(storeDir(config));
            // peers fetch this node's blobs with a token only the cluster learns (and over HTTPS, pinning its certificate)
            String peerToken = PeerAccess.newToken();
            AtomicReference<PeerAccess> selfAccess = new AtomicReference<>(PeerAccess.NONE);
            AtomicReference<ActorRef<ReplicatedMap.Command<BlobHolder>>> holders = new AtomicReference<>();
            Duration registryTimeout = config.getDuration("llmrt.store.registry-timeout");
            Duration writeTimeout = config.getDuration("llmrt.store.write-timeout");
            int partials = store.removePartials(Duration.ofMinutes(10));
            if (partials > 0) {
                ctx.getLog().info("removed {} half-done download(s) an earlier run left in {}", partials, store.dir().resolve("tmp"));
            }
            ModelFiles files = new ModelFiles(store, new RegistryClient(registryTimeout,
                    Set.copyOf(config.getStringList("llmrt.store.allowed-registries"))), registryTimeout, transfers,
                    cluster.selfMember().address().toString(), selfAccess::get,
                    // on a majority, before the model itself is: a node that hears of the model hears of its holder
                    h -> holders.get().tell(new ReplicatedMap.PutOnMajority<>(h.key(), h, writeTimeout, system.ignoreRef())),
                    h -> holders.get().tell(new ReplicatedMap.Remove<>(h.key())),
                    () -> localModelFiles(catalog, backends));
            holders.set(ctx.spawn(StoredModels.holders(files::holdersChanged), "blob-holders"));
            String metricsNode = nodeName;
            CounterWithCallback.builder().name("llmrt_model_fetches").help("Model files this node fetched, by source (peer or registry)")
                    .labelNames("node", "source").callback(cb -> {
                        cb.call(files.fetches().fromPeers(), metricsNode, "peer");
                        cb.call(files.fetches().fromRegistries(), metricsNode, "registry");
                    }).register(prometheus);
            String storeBackend = config.getString("llmrt.store.backend");
            ActorRef<ReplicatedMap.Command<StoredEntry>> storedModels = ctx.spawn(StoredModels.models(map -> {
                files.modelsChanged(map);
                catalog.stored(specsOf(files.models(), files, storeBackend, agentSettings.defaultKeepAlive()));
            }), "stored-models");
            // what this node knew when it stopped, each entry with the time it was written: a model deleted
            // meanwhile stays deleted (its tombstone is newer)
            Map<String, StoredEntry> saved = savedModels(store);
            saved.forEach((reference, m) -> storedModels.tell(new ReplicatedMap.Put<>(reference, m)));
            // one estimate per model for the node's agent and its allocation strategy alike
            Demands demands = new Demands(backends, files);
            // a gateway-only node runs no models: its agent has nothing to place and hosts no shards
            ActorRef<NodeAgent.Command> agent = ctx.spawn(NodeAgent.create(agentSettings,
                    NodeAgent.Setup.local(nodeName, backends).withGpus(GpuInventory.fromConfig(config), ramBudget)
                            .withMetrics(nodeMetrics)
                            .recordingRunners(state.runners())
                            .inCluster(cluster.selfMember().address().toString(), demands, capacity, agentRole ? CapacityRegistry.publisher(registry) : c -> {},
                                    files)), "node-agent");
            if (agentRole) {
                system.receptionist().tell(Receptionist.register(NodeAgent.SERVICE_KEY, agent));
            }
            ModelEntity.init(system, catalog, agent, new GpuAllocationStrategy(capacity, demandsOf(catalog, demands, capacity),
                    cluster.selfMember().address(), PlacementSettings.fromConfig(config)), "agent");
            stopRunnersOnShutdown(system, agent, config.getDuration("llmrt.agent.stop-timeout"));

            GatewaySettings gatewaySettings = GatewaySettings.fromConfig(config);
            if (!gatewayRole) {
                // an agent-only node serves its probes on the HTTP port, for load balancers and Kubernetes
                HealthRoutes health = new HealthRoutes(readiness(system, agent, true, gatewaySettings.statusTimeout()),
                        system.executionContext());
                GatewayServer.serverAt(system, gatewaySettings)
                        .bind(health.route().orElse(metrics.route()).orElse(logs.route()).orElse(new BlobRoutes(store, peerToken).route()))
                        .whenComplete(servesBlobs(cluster, gatewaySettings, peerToken, selfAccess, files, saved))
                        .whenComplete(reportBound(started, system, agent, catalog, capacity));
                return Behaviors.empty();
            }
            ObjectMapper json = JacksonObjectMapperProvider.get(system.classicSystem())
                    .getOrCreate("jackson-json", Optional.empty());
            GatewayMetrics gatewayMetrics = new GatewayMetrics(prometheus);
            ReplicaRouter router = new ReplicaRouter(system, catalog, capacity, RoutingSettings.fromConfig(config),
                    gatewaySettings.responseTimeout(), gatewayMetrics);
            ClusterStatus clusterStatus = new ClusterStatus(system, capacity, backends, router,
                    gatewaySettings.statusTimeout(), catalog.all().stream().map(spec -> spec.model()).toList());
            if (agentRole) {
                clusterStatus.withLocalAgent(agent);
            }
            ConfigureRoutes.Cluster configuring = configureCluster(system, clusterStatus, configurations, router,
                    gatewaySettings.statusTimeout());
            ConfigureRoutes configure = new ConfigureRoutes(catalog, backends, configuring, json, system.executionContext());
            RequestRecorder recorder = new RequestRecorder(gatewaySettings.recordedPerModel(), gatewaySettings.recordedBodyBytes(),
                    json, configure::configJson);
            OpenAiRoutes openAi = new OpenAiRoutes(catalog, backends.keySet(), router, gatewaySettings,
                    Materializer.matFromSystem(system), json, gatewayMetrics, recorder);
            RecorderRoutes recorded = new RecorderRoutes(recorder, Materializer.matFromSystem(system));
            StatusRoutes status = new StatusRoutes(clusterStatus, json, system.executionContext(), Materializer.matFromSystem(system),
                    gatewaySettings.statusEventsInterval(), gatewaySettings.statusEventsKept(),
                    configure.route().orElse(recorded.route()).orElse(logs.route()));
            HealthRoutes health = new HealthRoutes(readiness(system, agent, agentRole, gatewaySettings.statusTimeout()),
                    system.executionContext());
            ModelManager models = new ModelManager(files, storeCluster(system, storedModels, files, clusterStatus, writeTimeout),
                    transfers, system.executionContext(), config.getBoolean("llmrt.store.allow-loopback-registries"));
            // one cache of what each model is, for every API's model list; pulled models described by their config
            openAi.details().storedFrom(name -> Optional.ofNullable(files.models().get(name))
                    .map(m -> new ModelDetails.Stored(m.id(), m.config(), m.ggufSize(), m.created())));
            ModelsRoutes modelRoutes = new ModelsRoutes(models, catalog, openAi.details(), json, Materializer.matFromSystem(system));
            OllamaRoutes ollama = new OllamaRoutes(catalog, openAi::inferIfInference,
                    configuring, configure, models, openAi.details(), json, Materializer.matFromSystem(system),
                    gatewaySettings.bodyReadTimeout());
            ResponsesRoutes responses = new ResponsesRoutes(openAi::inferIfInference, json, Materializer.matFromSystem(system),
                    gatewaySettings.bodyReadTimeout(), config.getInt("llmrt.gateway.responses-kept"),
                    config.getBytes("llmrt.gateway.responses-kept-bytes"));
            // API keys made at run time, shared by every gateway; each key's limits in one sharded entity
            // keys fail closed: unknown until the cluster's are read from durable state; once on, on for good
            gatewaySettings.apiKeys().expectClusterKeys().rememberedIn(keysMemory(state));
            ActorRef<ReplicatedMap.Command<StoredKey>> keyMap = ctx.spawn(
                    ReplicatedMap.create(API_KEYS, gatewaySettings.apiKeys()::clusterChanged), "api-keys");
            KeysRoutes keyRoutes = new KeysRoutes(gatewaySettings.apiKeys(), keysCluster(system, keyMap,
                    config.getDuration("llmrt.gateway.limits.write-timeout")), json, system.executionContext());
            GatewayServer server = new GatewayServer(system, openAi, status, health, metrics, ollama.route().orElse(responses.route())
                    .orElse(modelRoutes.route()).orElse(keyRoutes.route()).orElse(new BlobRoutes(store, peerToken).route()))
                    .withKeyLimits(keyLimits(system, roles, config.getDuration("llmrt.gateway.limits.permit-ttl"),
                            config.getDuration("llmrt.gateway.limits.decision-timeout")));
            // bound once the keys are read from the state directory (milliseconds); if that never happens, bound
            // anyway after a while, refusing with 503 what only those keys could allow
            gatewaySettings.apiKeys().whenClusterRead().toCompletableFuture()
                    .completeOnTimeout(null, 10, java.util.concurrent.TimeUnit.SECONDS)
                    .thenCompose(read -> server.bind(gatewaySettings))
                    .whenComplete(servesBlobs(cluster, gatewaySettings, peerToken, selfAccess, files, saved))
                    .whenComplete(reportBound(started, system, agent, catalog, capacity));
            return Behaviors.empty();
        });
    }

    /** Sets {@code key} in a cluster-wide map on a majority of nodes: true once they have it. */
    private static <V> CompletionStage<Boolean> putOnMajority(ActorSystem<Void> system, ActorRef<ReplicatedMap.Command<V>> map,
                                                              String key, V value, Duration timeout) {
        return AskPattern.<ReplicatedMap.Command<V>, Boolean>ask(map,
                replyTo -> new ReplicatedMap.PutOnMajority<>(key, value, timeout, replyTo), timeout.plus(timeout), system.scheduler());
    }

    private static <V> CompletionStage<Boolean> removeOnMajority(ActorSystem<Void> system, ActorRef<ReplicatedMap.Command<V>> map,
                                                                 String key, Duration timeout) {
        return AskPattern.<ReplicatedMap.Command<V>, Boolean>ask(map,
                replyTo -> new ReplicatedMap.RemoveOnMajority<>(key, timeout, replyTo), timeout.plus(timeout), system.scheduler());
    }

    private static final Key<LWWMap<String, StoredKey>> API_KEYS = LWWMapKey.create("llmrt-api-keys");

    /** The keys made through POST /keys: written to a majority, heard by every gateway's ApiKeys. */
    private static KeysRoutes.Cluster keysCluster(ActorSystem<Void> system, ActorRef<ReplicatedMap.Command<StoredKey>> map,
                                                  Duration timeout) {
        return new KeysRoutes.Cluster() {
            @Override
            public CompletionStage<Boolean> put(StoredKey key) {
                return putOnMajority(system, map, key.name(), key, timeout);
            }

            @Override
            public CompletionStage<Boolean> remove(String name) {
                return removeOnMajority(system, map, name, timeout);
            }
        };
    }

    /** The mark in the state directory that keys were on on this node: from then on they stay on. */
    private static ApiKeys.Memory keysMemory(NodeState state) {
        return new ApiKeys.Memory() {
            @Override
            public boolean keysWereOn() {
                return state.marked("keys-on");
            }

            @Override
            public void keysAreOn() {
                state.mark("keys-on", "API keys were turned on here; they stay on. Remove this file (with the node "
                        + "stopped) only to turn keys off for good.");
            }
        };
    }

        /** Each key's limits in one entity, on the gateway nodes: every gateway asks the same one. */
    private static KeyCheck.Limiter keyLimits(ActorSystem<Void> system, List<String> roles, Duration permitTtl,
                                              Duration timeout) {
        ClusterSharding sharding = ClusterSharding.get(system);
        Entity<KeyLimiter.Command, ShardingEnvelope<KeyLimiter.Command>> entity = Entity.of(KeyLimiter.TYPE,
                        ctx -> KeyLimiter.create(ctx.getEntityId(), permitTtl))
                .withSettings(ClusterShardingSettings.create(system).withNoPassivationStrategy());
        sharding.init(roles.isEmpty() ? entity : entity.withRole("gateway"));
        return new KeyCheck.Limiter() {
            @Override
            public CompletionStage<KeyLimiter.Decision> acquire(ApiKeys.Key key, boolean stream, long tokens) {
                return sharding.entityRefFor(KeyLimiter.TYPE, key.name())
                        .ask(replyTo -> new KeyLimiter.Acquire(key.limits(), stream, tokens, replyTo), timeout);
            }

            @Override
            public void release(ApiKeys.Key key, long permit, long tokens) {
                sharding.entityRefFor(KeyLimiter.TYPE, key.name()).tell(new KeyLimiter.Release(permit, tokens));
            }
        };
    }

    /** Once bound: peers can fetch this node's blobs at its HTTP address; it says which it holds. */
    private static BiConsumer<ServerBinding, Throwable> servesBlobs(Cluster cluster, GatewaySettings settings, String token,
                                                                    AtomicReference<PeerAccess> self, ModelFiles files,
                                                                    Map<String, StoredEntry> saved) {
        return (binding, err) -> {
            if (binding != null) {
                String host = cluster.selfMember().address().getHost().orElse(binding.localAddress().getHostString());
                String hostPort = (host.contains(":") ? "[" + host + "]" : host) + ":" + binding.localAddress().getPort();
                self.set(settings.https()
                        ? new PeerAccess("https://" + hostPort, token, PinnedTls.sha256(PemTls.leaf(Path.of(settings.tlsCertFile()))))
                        : new PeerAccess("http://" + hostPort, token, ""));
                files.announceHeld(StoredModels.live(saved).values());
            }
        };
    }

    /** {@code llmrt.store.dir}, or ~/.llmrt/models. */
    private static Path storeDir(Config config) {
        String dir = config.getString("llmrt.store.dir");
        return dir.isBlank() ? Path.of(System.getProperty("user.home"), ".llmrt", "models") : Path.of(dir);
    }

    /** The stored models this node knew when it stopped: they come back with it. */
    private static Map<String, StoredEntry> savedModels(ModelStore store) {
        try {
            return store.loadModels();
        } catch (IOException e) {
            LoggerFactory.getLogger(LlmrtNode.class).warn("stored models in {} not read: {}", store.dir(), e.toString());
            return Map.of();
        }
    }

    /** The catalog entries of the pulled models: run by the store's backend, from this node's store. */
    private static Map<String, ModelSpec> specsOf(Map<String, StoredModel> stored, ModelFiles files, String backend,
                                                  Duration keepAlive) {
        Map<String, ModelSpec> specs = new HashMap<>();
        stored.forEach((reference, m) -> specs.put(reference, new ModelSpec(reference, backend, files.pathOf(m).toString(),
                new BackendConfiguration(null, List.of(), null), keepAlive.toMillis())));
        return specs;
    }

    /** What the model routes need of the cluster: its map of stored models, and unloading runners. */
    private static ModelManager.Cluster storeCluster(ActorSystem<Void> system, ActorRef<ReplicatedMap.Command<StoredEntry>> map,
                                                     ModelFiles files, ClusterStatus status, Duration timeout) {
        return new ModelManager.Cluster() {
            @Override
            public CompletionStage<Boolean> put(StoredModel model) {
                return putOnMajority(system, map, model.reference(), StoredEntry.of(model, files.entry(model.reference())), timeout);
            }

            @Override
            public CompletionStage<Boolean> remove(String reference) {
                // a tombstone, not a removal: a node that missed this can't bring the model back
                return putOnMajority(system, map, reference, StoredEntry.tombstone(files.entry(reference)), timeout);
            }

            @Override
            public CompletionStage<Integer> unload(String model) {
                return status.unload(false, "", List.of(model));
            }
        };
    }

    /** Once bound: the node has started, or (the port taken) it stops and says why. */
    private static BiConsumer<ServerBinding, Throwable> reportBound(CompletableFuture<Started> started, ActorSystem<Void> system,
                                                                    ActorRef<NodeAgent.Command> agent, ModelCatalog catalog,
                                                                    CapacityView capacity) {
        return (binding, err) -> {
            if (err != null) {
                started.completeExceptionally(err);
                system.terminate();
            } else {
                started.complete(new Started(binding, agent, catalog, capacity));
            }
        };
    }

    /**
     * What a shard's model needs, for the allocation strategy: its completion runner with the
     * overheads any node learned (the strategy places across nodes, so across GPU kinds).
     */
    private static Function<String, PlacementPlanner.Demand> demandsOf(ModelCatalog catalog, Demands demands,
                                                                       CapacityView capacity) {
        return shard -> catalog.find(ModelCatalog.modelOf(shard))
                .map(spec -> demands.onGpus(spec, OverheadCalibration.forRunner(spec.backend(),
                        BackendMode.COMPLETION.wireName(), List.of(), capacity.overheads())))
                .orElse(PlacementPlanner.Demand.unknown(0));
    }

    /**
     * What this node waits for before it can do its work: to be an Up member of the cluster; as a
     * gateway, an agent node to route to; as an agent, its first GPU reading.
     */
    private static HealthRoutes.Readiness readiness(ActorSystem<Void> system, ActorRef<NodeAgent.Command> agent,
                                                    boolean agentRole, Duration timeout) {
        Cluster cluster = Cluster.get(system);
        return () -> {
            List<String> waiting = new ArrayList<>();
            if (cluster.selfMember().status() != MemberStatus.up()) {
                waiting.add("joining the cluster (now " + cluster.selfMember().status() + ")");
            }
            boolean anyAgent = false;
            for (Member m : cluster.state().getMembers()) {
                anyAgent |= m.status() == MemberStatus.up() && m.hasRole("agent");
            }
            if (!anyAgent) {
                waiting.add("an agent node to run models");
            }
            if (!agentRole) {
                return CompletableFuture.completedFuture(waiting);
            }
            return AskPattern.<NodeAgent.Command, NodeAgent.Capacity>ask(agent, NodeAgent.GetCapacity::new, timeout,
                    system.scheduler()).handle((c, e) -> {
                        if (e != null || !c.gpusRead()) {
                            waiting.add("this node's GPU inventory");
                        }
                        return waiting;
                    });
        };
    }

    /** Catalog models whose files are on this node (backends with a model store; sim models are names). */
    private static List<String> localModelFiles(ModelCatalog catalog, Map<String, Backend> backends) {
        return catalog.all().stream()
                .filter(spec -> backends.containsKey(spec.backend()) && !backends.get(spec.backend()).usesExternalModelManagement())
                .filter(spec -> Files.exists(Path.of(spec.model())))
                .map(spec -> spec.name()).toList();
    }

    /** What _configure does in the cluster: ask the agents, write to a majority, preload through the router. */
    private static ConfigureRoutes.Cluster configureCluster(ActorSystem<Void> system, ClusterStatus status,
                                                           ActorRef<ReplicatedMap.Command<ModelConfiguration>> configurations,
                                                           ReplicaRouter router, Duration timeout) {
        return new ConfigureRoutes.Cluster() {
            @Override
            public CompletionStage<List<NodeAgent.Runners>> runners() {
                return status.runners();
            }

            @Override
            public CompletionStage<Integer> unload(String model) {
                return status.unload(false, "", List.of(model));
            }

            @Override
            public CompletionStage<Boolean> store(ModelConfiguration c) {
                return putOnMajority(system, configurations, c.model(), c, timeout);
            }

            @Override
            public CompletionStage<Boolean> preload(String model, BackendMode mode) {
                return router.preload(model, mode);
            }
        };
    }

    private static void stopRunnersOnShutdown(ActorSystem<Void> system, ActorRef<NodeAgent.Command> agent, Duration timeout) {
        CoordinatedShutdown.get(system).addTask(CoordinatedShutdown.PhaseServiceStop(), "stop-runners",
                () -> AskPattern.<NodeAgent.Command, NodeAgent.Done>ask(agent, NodeAgent.StopAll::new,
                                timeout, system.scheduler())
                        .handle((ok, e) -> Done.getInstance()));
    }
}
