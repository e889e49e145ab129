package dev.llmrt.gateway;

import dev.llmrt.agent.InferenceProtocol;
import dev.llmrt.agent.model.ModelCatalog;
import dev.llmrt.agent.model.ModelEntity;
import dev.llmrt.runtime.spi.BackendMode;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;

/** Routes to the model's {@link ModelEntity}, wherever Cluster Sharding placed it. */
public final class ShardedModelRouter implements ModelRouter {
    private final ClusterSharding sharding;
    private final Duration timeout;

    private final ModelCatalog catalog;
    private final java.util.concurrent.ConcurrentHashMap<String, java.util.concurrent.atomic.AtomicInteger> turns =
            new java.util.concurrent.ConcurrentHashMap<>();

    public ShardedModelRouter(ActorSystem<?> system, Duration timeout) {
        this(system, timeout, new ModelCatalog(java.util.List.of()));
    }

    public ShardedModelRouter(ActorSystem<?> system, Duration timeout, ModelCatalog catalog) {
        this.sharding = ClusterSharding.get(system);
        this.timeout = timeout;
        this.catalog = catalog;
    }

    /** Requests take the model's replicas in turn. */
    @Override
    public CompletionStage<InferenceProtocol.Reply> route(String model, BackendMode mode, InferenceProtocol.Request request) {
        int replicas = catalog.replicas(model);
        int replica = replicas == 1 ? 0
                : Math.floorMod(turns.computeIfAbsent(model, m -> new java.util.concurrent.atomic.AtomicInteger()).getAndIncrement(), replicas);
        return sharding.entityRefFor(ModelEntity.KEY, ModelCatalog.replicaId(model, replica))
                .ask(replyTo -> new ModelEntity.Route(mode, request, replyTo), timeout);
    }
}
