package dev.llmrt.agent.model;

import dev.llmrt.agent.CborSerializable;
import dev.llmrt.agent.InferenceProtocol;
import dev.llmrt.agent.InferenceProtocol.FailureKind;
import dev.llmrt.agent.NodeAgent;
import dev.llmrt.runtime.spi.BackendMode;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.cluster.sharding.ShardCoordinator;
import org.apache.pekko.cluster.sharding.typed.ClusterShardingSettings;
import org.apache.pekko.cluster.sharding.typed.ShardingEnvelope;
import org.apache.pekko.cluster.sharding.typed.ShardingMessageExtractor;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.cluster.typed.Cluster;

/**
 * One replica of a model, placed on a node by Cluster Sharding (entity id = model name, or
 * {@code name#i} for further replicas). It routes each request to the node agent of the node it
 * lives on, which runs the model.
 */
public final class ModelEntity extends AbstractBehavior<ModelEntity.Command> {

    public static final EntityTypeKey<Command> KEY = EntityTypeKey.create(Command.class, "model");

    public sealed interface Command extends CborSerializable {}

    /**
     * Serve one inference request for this model, first telling {@code acceptedBy} (if any) that
     * attempt {@code attempt} arrived.
     */
    public record Route(BackendMode mode, InferenceProtocol.Request request, ActorRef<InferenceProtocol.Reply> replyTo,
                        ActorRef<InferenceProtocol.Accepted> acceptedBy, long attempt) implements Command {}

    /**
     * This replica is no longer needed (its model has more than it needs): its runner drains and
     * unloads, which frees its GPU, and its shard is released once unhosted.
     */
    public enum Retire implements Command { INSTANCE }

    /**
     * Cluster Sharding hands this replica to another node (placement moves it, or this node leaves):
     * the runner here drains and unloads; the replica starts afresh where it goes.
     */
    public enum HandOff implements Command { INSTANCE }

    /** Say at once on which node this replica lives (placing it, if it has no node yet). */
    public record Locate(ActorRef<InferenceProtocol.Located> replyTo) implements Command {}

    /**
     * Start this replica's runner if it isn't loaded, and answer once it is ready (or failed to
     * start), saying on which node: how a gateway learns where a replica lives and that it may take
     * traffic.
     */
    public record Warm(BackendMode mode, ActorRef<InferenceProtocol.Warmed> replyTo) implements Command {}

    private final String entityId;
    private final String modelName;
    /** Which replica of the model this entity is (0 for the first): its runner is its own. */
    private final int replica;
    private final ModelCatalog catalog;
    private final ActorRef<NodeAgent.Command> agent;

    /**
     * Registers the entity type with its own shard per model replica (shard id = entity id), placed
     * by {@code strategy} on nodes with {@code role}; entities on this node use {@code localAgent}.
     */
    public static void init(ActorSystem<?> system, ModelCatalog catalog, ActorRef<NodeAgent.Command> localAgent,
                            ShardCoordinator.ShardAllocationStrategy strategy, String role) {
        ClusterSharding.get(system).init(entity(catalog, localAgent)
                .withMessageExtractor(new OneShardPerModel())
                .withAllocationStrategy(strategy)
                // a replica stops only when it moves (its runner then drains); never for being idle,
                // which the runner's keep-alive governs
                .withStopMessage(HandOff.INSTANCE)
                .withSettings(ClusterShardingSettings.create(system).withNoPassivationStrategy())
                .withRole(role)); // nodes without the role only route (a proxy)
    }

    private static Entity<Command, ShardingEnvelope<Command>> entity(ModelCatalog catalog, ActorRef<NodeAgent.Command> agent) {
        return Entity.of(KEY, ctx -> create(ctx.getEntityId(), catalog, agent));
    }

    /** Each model is its own shard, so placement decides per model. */
    private static final class OneShardPerModel extends ShardingMessageExtractor<ShardingEnvelope<Command>, Command> {
        @Override
        public String entityId(ShardingEnvelope<Command> envelope) {
            return envelope.entityId();
        }

        @Override
        public String shardId(String entityId) {
            return entityId;
        }

        @Override
        public Command unwrapMessage(ShardingEnvelope<Command> envelope) {
            return envelope.message();
        }
    }

    /** @param entityId the replica: its model's name, or {@code name#i} */
    public static Behavior<Command> create(String entityId, ModelCatalog catalog, ActorRef<NodeAgent.Command> agent) {
        return Behaviors.setup(ctx -> new ModelEntity(ctx, entityId, catalog, agent));
    }

    private ModelEntity(ActorContext<Command> context, String entityId, ModelCatalog catalog,
                        ActorRef<NodeAgent.Command> agent) {
        super(context);
        this.entityId = entityId;
        this.modelName = ModelCatalog.modelOf(entityId);
        this.replica = ModelCatalog.replicaOf(entityId);
        this.catalog = catalog;
        this.agent = agent;
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder().onMessage(Route.class, this::onRoute).onMessage(Warm.class, this::onWarm)
                .onMessageEquals(Retire.INSTANCE, () -> {
                    getContext().getLog().info("replica {} of '{}' retired: its runner drains and unloads", entityId, modelName);
                    agent.tell(new NodeAgent.DrainModel(modelName, replica));
                    return this;
                })
                .onMessageEquals(HandOff.INSTANCE, () -> {
                    agent.tell(new NodeAgent.DrainModel(modelName, replica));
                    return Behaviors.stopped();
                })
                .onMessage(Locate.class, l -> {
                    l.replyTo().tell(new InferenceProtocol.Located(selfAddress()));
                    return this;
                })
                .build();
    }

    private String selfAddress() {
        return Cluster.get(getContext().getSystem()).selfMember().address().toString();
    }

    private Behavior<Command> onWarm(Warm w) {
        String node = selfAddress();
        catalog.find(modelName).ifPresentOrElse(
                spec -> agent.tell(new NodeAgent.Preload(spec, w.mode(), node, w.replyTo(), replica)),
                () -> w.replyTo().tell(new InferenceProtocol.Warmed(node, false, "model '" + modelName + "' not found")));
        return this;
    }

    private Behavior<Command> onRoute(Route r) {
        if (r.acceptedBy() != null) {
            r.acceptedBy().tell(new InferenceProtocol.Accepted(r.attempt()));
        }
        catalog.find(modelName).ifPresentOrElse(
                spec -> agent.tell(new NodeAgent.Dispatch(spec, r.mode(), r.request(), r.replyTo(), replica)),
                () -> r.replyTo().tell(new InferenceProtocol.Failed(FailureKind.MODEL_NOT_FOUND,
                        "model '" + modelName + "' not found")));
        return this;
    }
}
