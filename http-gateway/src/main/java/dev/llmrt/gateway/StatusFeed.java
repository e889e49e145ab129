package dev.llmrt.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import org.apache.pekko.NotUsed;
import org.apache.pekko.http.javadsl.model.sse.ServerSentEvent;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.OverflowStrategy;
import org.apache.pekko.stream.javadsl.BroadcastHub;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.javadsl.SourceQueueWithComplete;

/**
 * The cluster's status as it changes: every interval it reads the status (every node's runners and
 * capacity), and when it differs from the last reading it publishes the new one and what changed
 * (runners started, changed state or stopped, with their last error; nodes joined or left;
 * placement decisions with their reasons) as
 * server-sent events, keeping the last {@code keep} changes for {@code GET /status}.
 */
final class StatusFeed {
    private final ObjectMapper json;
    private final int keep;
    private final Deque<JsonNode> recent = new ArrayDeque<>();
    private final SourceQueueWithComplete<ServerSentEvent> queue;
    private final Source<ServerSentEvent, NotUsed> hub;
    private volatile JsonNode last;
    private Map<String, String> runnerStates = null;
    private Set<String> nodes = null;
    private Set<String> placements = null;

    /** @param read the status now (as {@code GET /status} shows it, without its events) */
    StatusFeed(Supplier<CompletionStage<ObjectNode>> read, Duration interval, int keep, ObjectMapper json,
               Materializer materializer) {
        this.json = json;
        this.keep = keep;
        Pair<SourceQueueWithComplete<ServerSentEvent>, Source<ServerSentEvent, NotUsed>> pair =
                Source.<ServerSentEvent>queue(256, OverflowStrategy.dropHead())
                        .toMat(BroadcastHub.of(ServerSentEvent.class, 256), Keep.both()).run(materializer);
        this.queue = pair.first();
        this.hub = pair.second();
        hub.runWith(Sink.ignore(), materializer); // the hub drops what no subscriber takes, instead of waiting
        Source.tick(Duration.ZERO, interval, NotUsed.getInstance())
                .mapAsync(1, t -> read.get().exceptionally(e -> null))
                .runWith(Sink.foreach(this::observe), materializer);
    }

    /** The last changes, newest first. */
    synchronized ArrayNode recent() {
        ArrayNode out = json.createArrayNode();
        recent.forEach(out::add);
        return out;
    }

    /** The current status first, then each new status and each change as it happens. */
    Source<ServerSentEvent, NotUsed> events() {
        JsonNode now = last;
        Source<ServerSentEvent, NotUsed> first = now == null ? Source.empty()
                : Source.single(ServerSentEvent.create(now.toString(), "status"));
        return first.concat(hub).keepAlive(Duration.ofSeconds(15), ServerSentEvent::heartbeat);
    }

    private void observe(ObjectNode status) {
        if (status == null) {
            return;
        }
        List<ObjectNode> changes = diff(status);
        boolean changed = !status.equals(last);
        last = status;
        synchronized (this) {
            for (ObjectNode c : changes) {
                recent.addFirst(c);
                while (recent.size() > keep) {
                    recent.removeLast();
                }
            }
        }
        for (ObjectNode c : changes) {
            queue.offer(ServerSentEvent.create(c.toString(), "change"));
        }
        if (changed) {
            queue.offer(ServerSentEvent.create(status.toString(), "status"));
        }
    }

    private List<ObjectNode> diff(ObjectNode status) {
        String time = Instant.now().toString();
        Map<String, String> states = new HashMap<>();
        Map<String, JsonNode> byKey = new HashMap<>();
        status.path("runners").forEach(r -> {
            String key = r.path("node").asText() + "/" + r.path("runner").asText();
            states.put(key, r.path("state").asText());
            byKey.put(key, r);
        });
        Set<String> nodesNow = new HashSet<>();
        status.path("nodes").forEach(n -> nodesNow.add(n.path("node").asText()));
        List<ObjectNode> out = new ArrayList<>();
        if (runnerStates != null) {
            states.forEach((key, state) -> {
                String before = runnerStates.get(key);
                if (!state.equals(before)) {
                    JsonNode r = byKey.get(key);
                    ObjectNode e = event(time, before == null ? "runner_started" : "runner_state", r.path("node").asText())
                            .put("model", r.path("model").asText()).put("runner", r.path("runner").asText())
                            .put("state", state);
                    if (before != null) {
                        e.put("from", before);
                    }
                    if (r.hasNonNull("last_error")) {
                        e.put("error", r.path("last_error").asText());
                    }
                    out.add(e);
                }
            });
            runnerStates.forEach((key, state) -> {
                if (!states.containsKey(key)) {
                    int slash = key.lastIndexOf('/');
                    out.add(event(time, "runner_stopped", key.substring(0, slash)).put("runner", key.substring(slash + 1)));
                }
            });
            nodesNow.stream().filter(n -> !nodes.contains(n)).forEach(n -> out.add(event(time, "node_joined", n)));
            nodes.stream().filter(n -> !nodesNow.contains(n)).forEach(n -> out.add(event(time, "node_left", n)));
        }
        Set<String> placementsNow = new HashSet<>();
        List<JsonNode> newest = new ArrayList<>();
        status.path("placements").forEach(p -> {
            String key = p.path("node").asText() + "|" + p.path("time").asText() + "|" + p.path("model").asText() + "|"
                    + p.path("outcome").asText();
            placementsNow.add(key);
            if (placements != null && !placements.contains(key)) {
                newest.add(p);
            }
        });
        for (int i = newest.size() - 1; i >= 0; i--) { // oldest first, as they happened
            JsonNode p = newest.get(i);
            out.add(event(p.path("time").asText(), "placement", p.path("node").asText()).put("model", p.path("model").asText())
                    .put("mode", p.path("mode").asText()).put("outcome", p.path("outcome").asText())
                    .put("reason", p.path("reason").asText()));
        }
        runnerStates = states;
        nodes = nodesNow;
        placements = placementsNow;
        return out;
    }

    private ObjectNode event(String time, String type, String node) {
        return json.createObjectNode().put("time", time).put("type", type).put("node", node);
    }
}
