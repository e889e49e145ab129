package dev.llmrt.gateway;

import dev.llmrt.agent.InferenceProtocol;
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

    public ShardedModelRouter(ActorSystem<?> system, Duration timeout) {
        this.sharding = ClusterSharding.get(system);
        this.timeout = timeout;
    }

    @Override
    public CompletionStage<InferenceProtocol.Reply> route(String model, BackendMode mode, InferenceProtocol.Request request) {
        return sharding.entityRefFor(ModelEntity.KEY, model)
                .ask(replyTo -> new ModelEntity.Route(mode, request, replyTo), timeout);
    }
}
