package dev.llmrt.gateway;

import dev.llmrt.agent.NodeAgent;
import dev.llmrt.agent.placement.CapacityView;
import dev.llmrt.agent.placement.NodeCapacity;
import dev.llmrt.gateway.routing.ReplicaRouter;
import dev.llmrt.runtime.spi.Backend;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.stream.Collectors;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.japi.function.Function;

/** Status gathered from the cluster: node agents found through the receptionist, capacity from Distributed Data. */
public final class ClusterStatus implements StatusSource {
    private final ActorSystem<?> system;
    private final CapacityView capacity;
    /** The catalog's model files (paths on the nodes), for the disk usage. */
    private final List<String> modelPaths;
    private final Map<String, Backend> backends;
    private final ReplicaRouter router;
    private final Duration timeout;

    public ClusterStatus(ActorSystem<?> system, CapacityView capacity, Map<String, Backend> backends, ReplicaRouter router,
                         Duration timeout, List<String> modelPaths) {
        this.modelPaths = List.copyOf(modelPaths);
        this.system = system;
        this.capacity = capacity;
        this.backends = backends;
        this.router = router;
        this.timeout = timeout;
    }

    @Override
    public List<ReplicaRouter.LaneStatus> routing() {
        return router.status();
    }

    @Override
    public Map<String, NodeCapacity> capacity() {
        return capacity.nodes();
    }

    @Override
    public CompletionStage<List<NodeAgent.Runners>> runners() {
        return askEveryAgent(NodeAgent.ListRunners::new).thenApply(answers -> answers.stream()
                .sorted(Comparator.comparing(NodeAgent.Runners::node)).toList());
    }

    @Override
    public CompletionStage<NodeAgent.DiskUsed> diskUsage() {
        return this.<NodeAgent.DiskUsed>askEveryAgent(replyTo -> new NodeAgent.DiskUsage(modelPaths, replyTo))
                .thenApply(answers -> new NodeAgent.DiskUsed(answers.stream().mapToLong(NodeAgent.DiskUsed::models).sum(),
                        answers.stream().mapToLong(NodeAgent.DiskUsed::defaultBackend).sum()));
    }

    @Override
    public CompletionStage<Integer> unload(boolean all, String backend, List<String> models) {
        return this.<NodeAgent.Unloaded>askEveryAgent(replyTo -> new NodeAgent.Unload(all, backend, models, replyTo))
                .thenApply(answers -> answers.stream().mapToInt(NodeAgent.Unloaded::unloadedRunners).sum());
    }

    /**
     * Asks every node agent the receptionist knows, at once; the answers of those that answered
     * within the timeout (an agent that didn't is left out).
     */
    private volatile ActorRef<NodeAgent.Command> localAgent;

    /**
     * This node's own agent is always asked, whether or not the receptionist lists it yet (its
     * registration spreads by gossip, so a node that just started may not find itself for a moment).
     */
    public ClusterStatus withLocalAgent(ActorRef<NodeAgent.Command> agent) {
        this.localAgent = agent;
        return this;
    }

    private <T> CompletionStage<List<T>> askEveryAgent(Function<ActorRef<T>, NodeAgent.Command> question) {
        Executor callbacks = system.executionContext();
        return AskPattern.<Receptionist.Command, Receptionist.Listing>ask(system.receptionist(),
                        replyTo -> Receptionist.find(NodeAgent.SERVICE_KEY, replyTo), timeout, system.scheduler())
                .thenComposeAsync(listing -> {
                    List<CompletableFuture<T>> asks = new ArrayList<>();
                    java.util.Set<ActorRef<NodeAgent.Command>> agents = new java.util.LinkedHashSet<>(
                            listing.getServiceInstances(NodeAgent.SERVICE_KEY));
                    if (localAgent != null) {
                        agents.add(localAgent);
                    }
                    for (ActorRef<NodeAgent.Command> agent : agents) {
                        // never a default-executor callback on the stage Pekko returns (see ReplicaRouter)
                        asks.add(AskPattern.<NodeAgent.Command, T>ask(agent, question, timeout, system.scheduler())
                                .toCompletableFuture().handleAsync((answer, e) -> e == null ? answer : null, callbacks));
                    }
                    return CompletableFuture.allOf(asks.toArray(CompletableFuture[]::new)).thenApply(x -> asks.stream()
                            .map(CompletableFuture::join).filter(Objects::nonNull).toList());
                }, callbacks);
    }

    /**
     * The cluster's backends, from what every agent node publishes: one status where all nodes
     * agree, else each node's ({@code node: status; ...}); this node's own when no agent published yet.
     */
    @Override
    public Map<String, String> backends() {
        Map<String, Map<String, String>> byBackend = new TreeMap<>();
        capacity.nodes().values().forEach(c -> c.backends().forEach((name, status) ->
                byBackend.computeIfAbsent(name, k -> new TreeMap<>()).put(c.node(), status)));
        Map<String, String> out = new LinkedHashMap<>();
        if (byBackend.isEmpty()) {
            backends.forEach((name, b) -> out.put(name, b.status()));
            return out;
        }
        byBackend.forEach((name, perNode) -> out.put(name, perNode.values().stream().distinct().count() == 1
                ? perNode.values().iterator().next()
                : perNode.entrySet().stream().map(e -> e.getKey() + ": " + e.getValue()).collect(Collectors.joining("; "))));
        return out;
    }
}
