package dev.llmrt.agent.placement;

import dev.llmrt.agent.CborSerializable;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.ddata.LWWMap;
import org.apache.pekko.cluster.ddata.LWWMapKey;
import org.apache.pekko.cluster.ddata.SelfUniqueAddress;
import org.apache.pekko.cluster.ddata.typed.javadsl.DistributedData;
import org.apache.pekko.cluster.ddata.typed.javadsl.Replicator;

/**
 * Shares every node's {@link NodeCapacity} through Distributed Data (an LWW map keyed by node), so
 * that the allocation strategy, wherever the shard coordinator runs, and the status API see the
 * same numbers, and a node's loss loses nothing but that node's entry.
 */
public final class CapacityRegistry {
    public static final org.apache.pekko.cluster.ddata.Key<LWWMap<String, NodeCapacity>> KEY = LWWMapKey.create("llmrt-capacity");

    public sealed interface Command extends CborSerializable {}

    public record Publish(NodeCapacity capacity) implements Command {}

    private record Updated(Replicator.UpdateResponse<LWWMap<String, NodeCapacity>> response) implements Command {}

    private record Changed(Replicator.SubscribeResponse<LWWMap<String, NodeCapacity>> response) implements Command {}

    private CapacityRegistry() {}

    public static Behavior<Command> create(CapacityView view) {
        return Behaviors.setup(ctx -> DistributedData.<Command, LWWMap<String, NodeCapacity>>withReplicatorMessageAdapter(adapter -> {
            SelfUniqueAddress self = DistributedData.get(ctx.getSystem()).selfUniqueAddress();
            adapter.subscribe(KEY, Changed::new);
            return Behaviors.receive(Command.class)
                    .onMessage(Publish.class, p -> {
                        adapter.askUpdate(replyTo -> new Replicator.Update<>(KEY, LWWMap.empty(), Replicator.writeLocal(),
                                replyTo, map -> map.put(self, p.capacity().node(), p.capacity())), Updated::new);
                        return Behaviors.same();
                    })
                    .onMessage(Updated.class, u -> Behaviors.same())
                    .onMessage(Changed.class, c -> {
                        if (c.response() instanceof Replicator.Changed<LWWMap<String, NodeCapacity>> changed) {
                            view.update(changed.get(KEY).getEntries());
                        }
                        return Behaviors.same();
                    })
                    .build();
        }));
    }

    /** A listener for the node agent: publishes through the registry. */
    public static java.util.function.Consumer<NodeCapacity> publisher(ActorRef<Command> registry) {
        return c -> registry.tell(new Publish(c));
    }
}
