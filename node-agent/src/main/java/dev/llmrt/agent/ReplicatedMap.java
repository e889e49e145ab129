package dev.llmrt.agent;

import java.time.Duration;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.ToLongFunction;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.ddata.Key;
import org.apache.pekko.cluster.ddata.LWWMap;
import org.apache.pekko.cluster.ddata.LWWRegister;
import org.apache.pekko.cluster.ddata.SelfUniqueAddress;
import org.apache.pekko.cluster.ddata.typed.javadsl.DistributedData;
import org.apache.pekko.cluster.ddata.typed.javadsl.Replicator;
import org.apache.pekko.cluster.ddata.typed.javadsl.ReplicatorMessageAdapter;
import scala.Option;

/**
 * A last-writer-wins map shared by every node through Distributed Data: a node puts entries (written
 * locally, gossiped to the others), and every node hears the whole map whenever it changes (a node
 * that writes on a majority hears its own write before the writer's answer). Entries of nodes that
 * left stay until overwritten. Each map hears the whole map once at start too, empty or not, as soon
 * as the local replica has it (for a durable key: once it has been read from the node's state
 * directory), so a listener can tell "nothing yet" from "read, and empty".
 */
public final class ReplicatedMap {
    private ReplicatedMap() {}

    /** What the map's actor takes. */
    public interface Command<V> {}

    /** Sets {@code key} to {@code value} cluster-wide. */
    public record Put<V>(String key, V value) implements Command<V> {}

    /**
     * Sets {@code key} to {@code value} on a majority of the nodes before answering true (false if
     * that didn't happen within {@code timeout}; the value may still spread): for what must outlive
     * the node that took it.
     */
    public record PutOnMajority<V>(String key, V value, Duration timeout, ActorRef<Boolean> replyTo) implements Command<V> {}

    /** Removes {@code key} cluster-wide. */
    public record Remove<V>(String key) implements Command<V> {}

    /**
     * Removes {@code key} on a majority of the nodes before answering true (false if that didn't
     * happen within {@code timeout}).
     */
    public record RemoveOnMajority<V>(String key, Duration timeout, ActorRef<Boolean> replyTo) implements Command<V> {}

    private record Confirmed<V>(Replicator.UpdateResponse<LWWMap<String, V>> response, ActorRef<Boolean> replyTo)
            implements Command<V> {}

    private record ReadAfterWrite<V>(Replicator.GetResponse<LWWMap<String, V>> response, boolean confirmed,
                                     ActorRef<Boolean> replyTo) implements Command<V> {}

    private record Updated<V>(Replicator.UpdateResponse<LWWMap<String, V>> response) implements Command<V> {}

    private record Changed<V>(Replicator.SubscribeResponse<LWWMap<String, V>> response) implements Command<V> {}

    private record Loaded<V>(Replicator.GetResponse<LWWMap<String, V>> response) implements Command<V> {}

    /** @param changed hears the whole map after every change */
    public static <V> Behavior<Command<V>> create(Key<LWWMap<String, V>> key, Consumer<Map<String, V>> changed) {
        return create(key, changed, null);
    }

    /**
     * @param changed   hears the whole map after every change
     * @param writtenAt the time each value carries as written: the later one wins a key, whichever
     *                  reached the map last (null: the time a node puts it)
     */
    @SuppressWarnings("unchecked")
    public static <V> Behavior<Command<V>> create(Key<LWWMap<String, V>> key, Consumer<Map<String, V>> changed,
                                                  ToLongFunction<V> writtenAt) {
        Class<Command<V>> commands = (Class<Command<V>>) (Class<?>) Command.class;
        LWWRegister.Clock<V> clock = writtenAt == null ? LWWRegister.defaultClock() : (current, value) -> writtenAt.applyAsLong(value);
        return Behaviors.setup(ctx -> DistributedData.<Command<V>, LWWMap<String, V>>withReplicatorMessageAdapter(adapter -> {
            SelfUniqueAddress self = DistributedData.get(ctx.getSystem()).selfUniqueAddress();
            adapter.subscribe(key, Changed::new);
            // the replicator answers once its durable entries are loaded
            adapter.askGet(replyTo -> new Replicator.Get<>(key, Replicator.readLocal(), replyTo), Loaded::new);
            return Behaviors.receive(commands)
                    .onMessage(Loaded.class, l -> {
                        Replicator.GetResponse<LWWMap<String, V>> response = ((Loaded<V>) l).response();
                        if (response instanceof Replicator.GetSuccess<LWWMap<String, V>> got) {
                            changed.accept(got.get(key).getEntries());
                        } else if (response instanceof Replicator.NotFound) {
                            changed.accept(Map.of());
                        }
                        return Behaviors.same();
                    })
                    .onMessage(Put.class, p -> {
                        Put<V> put = (Put<V>) p;
                        write(adapter, key, Replicator.writeLocal(), map -> put(map, self, put.key(), put.value(), clock, writtenAt), null);
                        return Behaviors.same();
                    })
                    .onMessage(PutOnMajority.class, p -> {
                        PutOnMajority<V> put = (PutOnMajority<V>) p;
                        write(adapter, key, new Replicator.WriteMajority(put.timeout()),
                                map -> put(map, self, put.key(), put.value(), clock, writtenAt), put.replyTo());
                        return Behaviors.same();
                    })
                    .onMessage(Remove.class, r -> {
                        Remove<V> remove = (Remove<V>) r;
                        write(adapter, key, Replicator.writeLocal(), map -> map.remove(self, remove.key()), null);
                        return Behaviors.same();
                    })
                    .onMessage(RemoveOnMajority.class, r -> {
                        RemoveOnMajority<V> remove = (RemoveOnMajority<V>) r;
                        write(adapter, key, new Replicator.WriteMajority(remove.timeout()),
                                map -> map.remove(self, remove.key()), remove.replyTo());
                        return Behaviors.same();
                    })
                    .onMessage(Confirmed.class, c -> {
                        // this node hears the change before the writer's answer: what it wrote, it reads next
                        Confirmed<V> confirmed = (Confirmed<V>) c;
                        boolean ok = confirmed.response() instanceof Replicator.UpdateSuccess;
                        adapter.askGet(replyTo -> new Replicator.Get<>(key, Replicator.readLocal(), replyTo),
                                response -> new ReadAfterWrite<>(response, ok, confirmed.replyTo()));
                        return Behaviors.same();
                    })
                    .onMessage(ReadAfterWrite.class, r -> {
                        ReadAfterWrite<V> read = (ReadAfterWrite<V>) r;
                        if (read.response() instanceof Replicator.GetSuccess<LWWMap<String, V>> got) {
                            changed.accept(got.get(key).getEntries());
                        }
                        read.replyTo().tell(read.confirmed());
                        return Behaviors.same();
                    })
                    .onMessage(Updated.class, u -> Behaviors.same())
                    .onMessage(Changed.class, c -> {
                        if (((Changed<V>) c).response() instanceof Replicator.Changed<LWWMap<String, V>> ch) {
                            changed.accept(ch.get(key).getEntries());
                        }
                        return Behaviors.same();
                    })
                    .build();
        }));
    }

    /** Puts the value, unless the map holds one written later (when values carry their time). */
    private static <V> LWWMap<String, V> put(LWWMap<String, V> map, SelfUniqueAddress self, String key, V value,
                                             LWWRegister.Clock<V> clock, ToLongFunction<V> writtenAt) {
        if (writtenAt != null) {
            Option<V> current = map.get(key);
            if (current.isDefined() && writtenAt.applyAsLong(current.get()) > writtenAt.applyAsLong(value)) {
                return map;
            }
        }
        return map.put(self, key, value, clock);
    }

    /** One change to the map, written locally (no answer) or on a majority (answering {@code replyTo}). */
    private static <V> void write(ReplicatorMessageAdapter<Command<V>, LWWMap<String, V>> adapter, Key<LWWMap<String, V>> key,
                                  Replicator.WriteConsistency consistency, Function<LWWMap<String, V>, LWWMap<String, V>> change,
                                  ActorRef<Boolean> replyTo) {
        Function<Replicator.UpdateResponse<LWWMap<String, V>>, Command<V>> answer = replyTo == null
                ? Updated::new : response -> new Confirmed<>(response, replyTo);
        adapter.askUpdate(r -> new Replicator.Update<>(key, LWWMap.empty(), consistency, r, change), answer);
    }
}
