package dev.llmrt.agent.runner;

import dev.llmrt.agent.model.ModelSpec;
import dev.llmrt.runtime.spi.BackendMode;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * Every runner of a node, one entry each: its id, its (model, mode), its last reported status, and
 * whether it takes requests (a stopping runner stays registered until its process is reaped, but
 * takes none). At most one runner per (model, mode) takes requests. Pure: the node agent owns one.
 */
public final class RunnerRegistry {

    /**
     * What a runner serves: one runner per (model, mode, replica) takes requests. Two replicas of a
     * model placed on one node are two runners, each with its own process and GPU room.
     */
    public record Key(String model, BackendMode mode, int replica) {
        public Key(String model, BackendMode mode) {
            this(model, mode, 0);
        }
    }

    /**
     * One runner of {@code spec}; {@code status} is null until it first reports; {@code load} is its
     * requests waiting for and in flight to the backend, kept current by the runner.
     */
    public record Entry(ActorRef<RunnerSupervisor.Command> ref, String runnerId, ModelSpec spec, Key key,
                        RunnerStatus status, boolean accepting, RunnerLoad load) {
        Entry with(RunnerStatus s, boolean stillAccepting) {
            return new Entry(ref, runnerId, spec, key, s, stillAccepting, load);
        }
    }

    private final Map<ActorRef<RunnerSupervisor.Command>, Entry> runners = new LinkedHashMap<>();
    /** The accepting runner of each key: an index over {@link #runners}, kept in step with it. */
    private final Map<Key, ActorRef<RunnerSupervisor.Command>> accepting = new HashMap<>();

    public void add(ActorRef<RunnerSupervisor.Command> ref, String runnerId, ModelSpec spec, BackendMode mode,
                    RunnerLoad load) {
        add(ref, runnerId, spec, mode, 0, load);
    }

    public void add(ActorRef<RunnerSupervisor.Command> ref, String runnerId, ModelSpec spec, BackendMode mode, int replica,
                    RunnerLoad load) {
        Key key = new Key(spec.name(), mode, replica);
        runners.put(ref, new Entry(ref, runnerId, spec, key, null, true, load));
        accepting.put(key, ref);
    }

    /** The runner that takes requests for {@code key}, if one is loaded. */
    public Optional<ActorRef<RunnerSupervisor.Command>> accepting(Key key) {
        return Optional.ofNullable(accepting.get(key));
    }

    /** Records a runner's report; a stopping runner takes no more requests. False for a runner not registered. */
    public boolean reported(ActorRef<RunnerSupervisor.Command> ref, RunnerStatus status) {
        Entry e = runners.get(ref);
        if (e == null) {
            return false;
        }
        boolean stillAccepting = e.accepting() && status.phase() != RunnerStatus.Phase.STOPPING;
        runners.put(ref, e.with(status, stillAccepting));
        if (!stillAccepting) {
            accepting.remove(e.key(), ref);
        }
        return true;
    }

    /** The runner is being unloaded: it takes no more requests. */
    public void stopAccepting(ActorRef<RunnerSupervisor.Command> ref) {
        Entry e = runners.get(ref);
        if (e != null && e.accepting()) {
            runners.put(ref, e.with(e.status(), false));
            accepting.remove(e.key(), ref);
        }
    }

    /** The runner's actor stopped. */
    public Optional<Entry> remove(ActorRef<RunnerSupervisor.Command> ref) {
        Entry e = runners.remove(ref);
        if (e != null) {
            accepting.remove(e.key(), ref);
        }
        return Optional.ofNullable(e);
    }

    public boolean isEmpty() {
        return runners.isEmpty();
    }

    /** Every runner, in the order they were started. */
    public List<Entry> all() {
        return List.copyOf(runners.values());
    }

    /** Runners taking requests whose entries match. */
    public List<Entry> acceptingWhere(Predicate<Entry> filter) {
        return runners.values().stream().filter(Entry::accepting).filter(filter).toList();
    }

    /** Runners that could be evicted now: accepting, idle, allowed to unload; least recently used first. */
    public List<Entry> evictable() {
        return runners.values().stream()
                .filter(e -> e.accepting() && e.status() != null && e.status().idle() && e.status().keepAlive() >= 0)
                .sorted(Comparator.comparingLong(e -> e.status().lastUsed()))
                .toList();
    }

    /** Requests waiting for a backend per model, over its runners (all modes). */
    public Map<String, Integer> queuedPerModel() {
        Map<String, Integer> out = new TreeMap<>();
        runners.values().forEach(e -> out.merge(e.key().model(), e.load().queued.get(), Integer::sum));
        return out;
    }

    /** Each runner that has reported, with its last status. */
    public Map<ActorRef<RunnerSupervisor.Command>, RunnerStatus> lastStatuses() {
        Map<ActorRef<RunnerSupervisor.Command>, RunnerStatus> out = new LinkedHashMap<>();
        runners.forEach((ref, e) -> {
            if (e.status() != null) {
                out.put(ref, e.status());
            }
        });
        return out;
    }
}
