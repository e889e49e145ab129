package dev.llmrt.gateway.routing;

import java.util.Map;
import java.util.function.Consumer;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.ddata.Key;
import org.apache.pekko.cluster.ddata.LWWMap;
import org.apache.pekko.cluster.ddata.LWWMapKey;
import org.apache.pekko.cluster.ddata.SelfUniqueAddress;
import org.apache.pekko.cluster.ddata.typed.javadsl.DistributedData;
import org.apache.pekko.cluster.ddata.typed.javadsl.Replicator;

/**
 * How many replicas of each elastic model are in use, agreed by every gateway of the cluster
 * through Distributed Data (a last-writer-wins map of model to count): a gateway that finds a model
 * overloaded or a replica idle proposes a new count, and every gateway's lanes follow it.
 */
final class ReplicaCounts {
    static final Key<LWWMap<String, Integer>> KEY = LWWMapKey.create("llmrt-active-replicas");

    interface Command {}

    /** Set the model's count of replicas in use. */
    record Propose(String model, int count) implements Command {}

    private record Updated(Replicator.UpdateResponse<LWWMap<String, Integer>> response) implements Command {}

    private record Changed(Replicator.SubscribeResponse<LWWMap<String, Integer>> response) implements Command {}

    private ReplicaCounts() {}

    /** @param changed hears every model's count whenever one changes */
    static Behavior<Command> create(Consumer<Map<String, Integer>> changed) {
        return Behaviors.setup(ctx -> DistributedData.<Command, LWWMap<String, Integer>>withReplicatorMessageAdapter(adapter -> {
            SelfUniqueAddress self = DistributedData.get(ctx.getSystem()).selfUniqueAddress();
            adapter.subscribe(KEY, Changed::new);
            return Behaviors.receive(Command.class)
                    .onMessage(Propose.class, p -> {
                        ctx.getLog().info("model '{}' now uses {} replica(s)", p.model(), p.count());
                        adapter.askUpdate(replyTo -> new Replicator.Update<>(KEY, LWWMap.empty(), Replicator.writeLocal(),
                                replyTo, map -> map.put(self, p.model(), p.count())), Updated::new);
                        return Behaviors.same();
                    })
                    .onMessage(Updated.class, u -> Behaviors.same())
                    .onMessage(Changed.class, c -> {
                        if (c.response() instanceof Replicator.Changed<LWWMap<String, Integer>> ch) {
                            changed.accept(ch.get(KEY).getEntries());
                        }
                        return Behaviors.same();
                    })
                    .build();
        }));
    }
}
