package dev.llmrt.agent.placement;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import org.apache.pekko.actor.ActorRef;
import org.apache.pekko.actor.Address;
import org.apache.pekko.cluster.sharding.ShardCoordinator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.collection.immutable.IndexedSeq;
import scala.concurrent.Future;

/**
 * Places each model's shard (one per model replica) on the node whose GPUs fit it best, from the
 * cluster-wide {@link CapacityView}, minus what this strategy promised recently and the node has not
 * reported yet (so two allocations in a row can't both count the same free memory). If no node has
 * room, nodes whose idle runners could be evicted come next; failing that, the node with the most
 * room, whose agent then refuses with what the model needs and where the room is. It runs inside
 * the shard coordinator, one allocation at a time.
 */
public final class GpuAllocationStrategy extends ShardCoordinator.AbstractShardAllocationStrategy {
    private static final Logger log = LoggerFactory.getLogger(GpuAllocationStrategy.class);

    private final CapacityView view;
    private final Function<String, PlacementPlanner.Demand> demandOf;
    private final Address selfAddress;
    /** Shard to where it was promised, until the node reports hosting it (or the promise expires). */
    private final Map<String, Promise> promises = new HashMap<>();
    private final Map<String, Long> unhostedSince = new HashMap<>();
    private final Map<String, Long> waitingForRegion = new HashMap<>();
    /** Loaded replicas moved to make room, and when: they stay put for the move cooldown. */
    private final Map<String, Long> movedAt = new HashMap<>();
    private final PlacementSettings settings;

    private record Promise(String node, PlacementPlanner.Placed placed, long ram, long at) {}

    /**
     * @param demandOf    what a shard's model needs (shard id = model name), with the overheads learned so far
     * @param selfAddress this node's address: local regions have none of their own
     */
    public GpuAllocationStrategy(CapacityView view, Function<String, PlacementPlanner.Demand> demandOf, Address selfAddress,
                                 PlacementSettings settings) {
        this.settings = settings;
        this.view = view;
        this.demandOf = demandOf;
        this.selfAddress = selfAddress;
    }

    @Override
    public Future<ActorRef> allocateShard(ActorRef requester, String shardId, Map<ActorRef, IndexedSeq<String>> current) {
        try {
            return Future.successful(choose(requester, shardId, current.keySet()));
        } catch (RegionNotYetRegistered e) {
            return scala.concurrent.Future$.MODULE$.failed(e); // the requesting region asks again after its retry interval
        }
    }

    /** A node that would fit has published its capacity but its shard region hasn't registered yet. */
    static final class RegionNotYetRegistered extends RuntimeException {
        RegionNotYetRegistered(String message) {
            super(message, null, false, false);
        }
    }

    ActorRef choose(ActorRef requester, String shardId, Set<ActorRef> regions) {
        Map<String, ActorRef> regionByNode = new HashMap<>();
        for (ActorRef region : regions) {
            regionByNode.put(nodeOf(region), region);
        }
        String node = chooseNode(shardId, regionByNode.keySet());
        return node == null ? requester : regionByNode.get(node);
    }

    /** The node (of those with a shard region) for the shard, or null when no capacity is known yet. */
    String chooseNode(String shardId, Set<String> regionNodes) {
        Map<String, NodeCapacity> capacity = view.nodes();
        expirePromises(capacity);
        List<PlacementPlanner.NodeView> nodes = new ArrayList<>();
        List<PlacementPlanner.NodeView> withEvictable = new ArrayList<>();
        for (String node : regionNodes) {
            NodeCapacity c = capacity.get(node);
            if (c != null) {
                nodes.add(minusPromises(c.view(false)));
                withEvictable.add(minusPromises(c.view(true)));
            }
        }
        if (nodes.isEmpty()) {
            return null; // no capacity known yet (cluster starting): the requester takes it, its agent checks
        }
        PlacementPlanner.Demand demand = demandOf.apply(shardId);
        // replicas of one model go to different nodes where they fit (a node runs one runner per model)
        String model = modelOf(shardId);
        Set<String> holding = new HashSet<>();
        capacity.values().forEach(c -> {
            if (c.hosted().contains(model)) {
                holding.add(c.node());
            }
        });
        promises.forEach((shard, p) -> {
            if (modelOf(shard).equals(model)) {
                holding.add(p.node());
            }
        });
        List<PlacementPlanner.NodeView> spread = nodes.stream().filter(n -> !holding.contains(n.node())).toList();
        // nodes that already hold the model's file come first: nothing to fetch or copy
        List<PlacementPlanner.NodeView> withFile = spread.stream().filter(n -> capacity.containsKey(n.node())
                && capacity.get(n.node()).modelFiles().contains(model)).toList();
        PlacementPlanner.Decision decision = PlacementPlanner.place(withFile, demand);
        if (!(decision instanceof PlacementPlanner.Placed)) {
            decision = PlacementPlanner.place(spread, demand);
        }
        if (!(decision instanceof PlacementPlanner.Placed)) {
            decision = PlacementPlanner.place(nodes, demand);
        }
        if (!(decision instanceof PlacementPlanner.Placed)) {
            decision = PlacementPlanner.place(withEvictable, demand);
        }
        if (decision instanceof PlacementPlanner.Placed placed) {
            waitingForRegion.remove(shardId);
            promises.put(shardId, new Promise(placed.node(), placed, demand.ram(), System.nanoTime()));
            log.info("model '{}' placed on {} GPU(s) {}", shardId, placed.node(), placed.devices());
            return placed.node();
        }
        // a node that joined may fit but its region isn't registered with the coordinator yet: wait a little
        List<PlacementPlanner.NodeView> joining = capacity.values().stream()
                .filter(c -> !regionNodes.contains(c.node())).map(c -> c.view(false)).toList();
        if (!joining.isEmpty() && PlacementPlanner.place(joining, demand) instanceof PlacementPlanner.Placed p) {
            long since = waitingForRegion.computeIfAbsent(shardId, k -> System.nanoTime());
            if (System.nanoTime() - since < settings.regionWait().toNanos()) {
                throw new RegionNotYetRegistered("model '" + shardId + "' fits on " + p.node()
                        + ", whose shard region has not registered yet");
            }
        }
        waitingForRegion.remove(shardId);
        // nowhere: the node with the most room answers, and its agent explains the refusal
        String roomiest = nodes.stream().max(Comparator.comparingLong(n -> n.devices().stream()
                .mapToLong(PlacementPlanner.Device::available).max().orElse(0))).orElseThrow().node();
        log.warn("model '{}' fits on no node ({}); routing to {}", shardId,
                ((PlacementPlanner.Refused) decision).reason(), roomiest);
        return roomiest;
    }

    private PlacementPlanner.NodeView minusPromises(PlacementPlanner.NodeView n) {
        List<PlacementPlanner.Device> room = new ArrayList<>();
        for (PlacementPlanner.Device g : n.devices()) {
            long promised = 0;
            for (Promise p : promises.values()) {
                if (p.node().equals(n.node())) {
                    for (int i = 0; i < p.placed().devices().size(); i++) {
                        if (p.placed().devices().get(i) == g.index()) {
                            promised += p.placed().perDevice().get(i);
                        }
                    }
                }
            }
            room.add(new PlacementPlanner.Device(g.index(), g.kind(), Math.max(0, g.available() - promised)));
        }
        long ram = promises.values().stream().filter(p -> p.node().equals(n.node())).mapToLong(Promise::ram).sum();
        return new PlacementPlanner.NodeView(n.node(), Math.max(0, n.ramAvailable() - ram), room);
    }

    /** A promise ends when its node reports hosting the model (its reservation is then in the report). */
    private void expirePromises(Map<String, NodeCapacity> capacity) {
        long now = System.nanoTime();
        promises.entrySet().removeIf(e -> now - e.getValue().at() > settings.promiseTtl().toNanos()
                || (capacity.containsKey(e.getValue().node())
                        && capacity.get(e.getValue().node()).hosted().contains(modelOf(e.getKey()))));
    }

    /** Shard ids are model names, with {@code #i} for further replicas. */
    private static String modelOf(String shardId) {
        int i = shardId.lastIndexOf('#');
        return i < 0 ? shardId : shardId.substring(0, i);
    }

    private String nodeOf(ActorRef region) {
        Address a = region.path().address();
        return (a.hasLocalScope() ? selfAddress : a).hostPort();
    }

    /**
     * Releases shards whose model has not been loaded on their node for {@code unhostedGrace}: a
     * model its node refused, or one unloaded after its keep-alive. The next request places it
     * afresh, on the capacity of the moment (a node that joined meanwhile included). Loaded models
     * never move.
     */
    @Override
    public Future<Set<String>> rebalance(Map<ActorRef, IndexedSeq<String>> current, Set<String> inProgress) {
        Map<String, NodeCapacity> capacity = view.nodes();
        long now = System.nanoTime();
        Set<String> release = new HashSet<>();
        Set<String> allocated = new HashSet<>();
        for (Map.Entry<ActorRef, IndexedSeq<String>> e : current.entrySet()) {
            NodeCapacity c = capacity.get(nodeOf(e.getKey()));
            for (String shard : scala.jdk.javaapi.CollectionConverters.asJava(e.getValue())) {
                allocated.add(shard);
                boolean hosted = c == null || c.hosted().contains(modelOf(shard)) || promises.containsKey(shard);
                if (hosted || inProgress.contains(shard)) {
                    unhostedSince.remove(shard);
                } else if (now - unhostedSince.computeIfAbsent(shard, s -> now) >= settings.unhostedGrace().toNanos()
                        && release.size() < settings.maxReleasesPerRound()) {
                    release.add(shard);
                    unhostedSince.remove(shard);
                }
            }
        }
        unhostedSince.keySet().retainAll(allocated);
        if (!release.isEmpty()) {
            log.info("releasing shards of models not loaded on their node, to be placed afresh: {}", release);
        } else {
            String move = replicaToMove(current, capacity, inProgress, now);
            if (move == null) {
                move = replicaToSpread(current, capacity, inProgress, now);
            }
            if (move != null) {
                release.add(move);
            }
        }
        return Future.successful(release);
    }

    /**
     * A loaded replica whose move makes room for a model that fits nowhere now: a replica on node X
     * that another node fits, where X then fits the waiting model once the replica's memory is free
     * (for example when a node joins with a GPU too small for the waiting model but big enough for the
     * replica). One per round; a replica moved recently stays put, so nothing moves back and forth.
     */
    private String replicaToMove(Map<ActorRef, IndexedSeq<String>> current, Map<String, NodeCapacity> capacity,
                                 Set<String> inProgress, long now) {
        movedAt.values().removeIf(t -> now - t > settings.moveCooldown().toNanos());
        Map<String, String> nodeOfShard = new HashMap<>();
        current.forEach((region, shards) -> scala.jdk.javaapi.CollectionConverters.asJava(shards)
                .forEach(s -> nodeOfShard.put(s, nodeOf(region))));
        List<PlacementPlanner.NodeView> everywhere = capacity.values().stream().map(c -> minusPromises(c.view(false))).toList();
        for (String waiting : unhostedSince.keySet()) {
            PlacementPlanner.Demand need = demandOf.apply(waiting);
            if (inProgress.contains(waiting) || PlacementPlanner.place(everywhere, need) instanceof PlacementPlanner.Placed) {
                continue; // it fits somewhere as things are: it is placed when released
            }
            for (NodeCapacity x : capacity.values()) {
                for (Map.Entry<String, Map<Integer, Long>> held : x.held().entrySet()) {
                    String model = held.getKey();
                    String shard = nodeOfShard.entrySet().stream()
                            .filter(s -> s.getValue().equals(x.node()) && modelOf(s.getKey()).equals(model))
                            .map(Map.Entry::getKey)
                            .filter(s -> !inProgress.contains(s) && !movedAt.containsKey(s))
                            .findFirst().orElse(null);
                    if (shard == null || model.equals(modelOf(waiting))
                            || !(PlacementPlanner.place(List.of(freed(x.view(false), held.getValue())), need)
                                    instanceof PlacementPlanner.Placed)) {
                        continue;
                    }
                    List<PlacementPlanner.NodeView> elsewhere = capacity.values().stream()
                            .filter(c -> !c.node().equals(x.node()) && !c.hosted().contains(model))
                            .map(c -> minusPromises(c.view(false))).toList();
                    if (PlacementPlanner.place(elsewhere, demandOf.apply(shard)) instanceof PlacementPlanner.Placed to) {
                        movedAt.put(shard, now);
                        log.info("moving loaded replica '{}' from {} to {}, to make room on {} for '{}'", shard, x.node(),
                                to.node(), x.node(), waiting);
                        return shard;
                    }
                }
            }
        }
        return null;
    }

    /**
     * A loaded replica that shares its node with another replica of its model (they were placed
     * while no other node was up) while another node, holding no replica of the model, fits it: it
     * is handed off (its runner drains, then it starts there), one per round, and stays put for the
     * move cooldown.
     */
    private String replicaToSpread(Map<ActorRef, IndexedSeq<String>> current, Map<String, NodeCapacity> capacity,
                                   Set<String> inProgress, long now) {
        Map<String, Map<String, List<String>>> shardsByNodeAndModel = new HashMap<>();
        current.forEach((region, shards) -> scala.jdk.javaapi.CollectionConverters.asJava(shards).forEach(s ->
                shardsByNodeAndModel.computeIfAbsent(nodeOf(region), n -> new HashMap<>())
                        .computeIfAbsent(modelOf(s), m -> new ArrayList<>()).add(s)));
        for (Map.Entry<String, Map<String, List<String>>> node : shardsByNodeAndModel.entrySet()) {
            NodeCapacity here = capacity.get(node.getKey());
            for (Map.Entry<String, List<String>> model : node.getValue().entrySet()) {
                if (model.getValue().size() < 2 || here == null || !here.hosted().contains(model.getKey())) {
                    continue;
                }
                String shard = model.getValue().stream().filter(s -> !inProgress.contains(s) && !movedAt.containsKey(s))
                        .max(Comparator.naturalOrder()).orElse(null);
                if (shard == null) {
                    continue;
                }
                List<PlacementPlanner.NodeView> free = capacity.values().stream()
                        .filter(c -> !c.node().equals(node.getKey()) && !c.hosted().contains(model.getKey()))
                        .filter(c -> shardsByNodeAndModel.containsKey(c.node())
                                ? !shardsByNodeAndModel.get(c.node()).containsKey(model.getKey())
                                : current.keySet().stream().anyMatch(r -> nodeOf(r).equals(c.node())))
                        .filter(c -> promises.entrySet().stream().noneMatch(p -> p.getValue().node().equals(c.node())
                                && modelOf(p.getKey()).equals(model.getKey())))
                        .map(c -> minusPromises(c.view(false))).toList();
                if (PlacementPlanner.place(free, demandOf.apply(shard)) instanceof PlacementPlanner.Placed to) {
                    movedAt.put(shard, now);
                    log.info("moving replica '{}' from {}, where another replica of '{}' runs, to {}", shard, node.getKey(),
                            model.getKey(), to.node());
                    return shard;
                }
            }
        }
        return null;
    }

    /** The node's room as if {@code held} (GPU index to bytes) were free. */
    private static PlacementPlanner.NodeView freed(PlacementPlanner.NodeView n, Map<Integer, Long> held) {
        return new PlacementPlanner.NodeView(n.node(), n.ramAvailable(), n.devices().stream()
                .map(g -> new PlacementPlanner.Device(g.index(), g.kind(), g.available() + held.getOrDefault(g.index(), 0L)))
                .toList());
    }
}
