package dev.llmrt.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmrt.agent.NodeAgent;
import dev.llmrt.agent.placement.NodeCapacity;
import dev.llmrt.agent.placement.OverheadCalibration;
import dev.llmrt.agent.placement.PlacementPlanner;
import dev.llmrt.agent.runner.RunnerStatus;
import dev.llmrt.gateway.routing.ReplicaRouter;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import org.apache.pekko.http.javadsl.marshalling.sse.EventStreamMarshalling;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.unmarshalling.Unmarshaller;
import org.apache.pekko.stream.Materializer;

/**
 * Operations views in JSON: model-runner's {@code GET /engines/status} and {@code GET /engines/ps},
 * {@code GET /status} with every node's GPUs and every runner, estimate and actual side by side, and
 * the last changes; {@code GET /status/events} streams the status and its changes (server-sent
 * events); {@code GET /dashboard} is the page that shows them live.
 */
public final class StatusRoutes extends AllDirectives {
    private final StatusSource source;
    private final ObjectMapper json;
    private final Executor callbacks;

    private final StatusFeed feed;
    private final Route moreEngines;
    private static final String VERSION = versionOf(StatusRoutes.class);

    private static String versionOf(Class<?> c) {
        String v = c.getPackage().getImplementationVersion();
        return v == null ? "development build" : v;
    }

    /**
     * @param eventsInterval how often the status is read for {@code /status/events}
     * @param keepEvents     how many of the last changes {@code /status} shows
     */
    public StatusRoutes(StatusSource source, ObjectMapper json, Executor callbacks, Materializer materializer,
                        Duration eventsInterval, int keepEvents) {
        this(source, json, callbacks, materializer, eventsInterval, keepEvents, null);
    }

    /** @param moreEngines further routes under {@code /engines} (served under /exp/vDD4.40 too), or null */
    public StatusRoutes(StatusSource source, ObjectMapper json, Executor callbacks, Materializer materializer,
                        Duration eventsInterval, int keepEvents, Route moreEngines) {
        this.moreEngines = moreEngines;
        this.source = source;
        this.json = json;
        this.callbacks = callbacks;
        this.feed = new StatusFeed(() -> source.runners().thenApplyAsync(this::statusJson, callbacks), eventsInterval,
                keepEvents, json, materializer);
    }

    /** Each path first, then its method: another method on these paths is a 405, on other paths no match. */
    public Route route() {
        return concat(engines(), pathPrefix(PathMatchers.segment("exp").slash("vDD4.40"), this::engines),
                path("version", () -> get(() -> complete(json(json.createObjectNode().put("version", VERSION))))),
                path("status", () -> get(() -> completeWithFuture(source.runners().thenApplyAsync(this::status, callbacks)))),
                path(PathMatchers.segment("status").slash("events"), () -> get(() ->
                        completeOK(feed.events(), EventStreamMarshalling.toEventStream()))),
                pathPrefix("dashboard", () -> get(() -> concat(
                        pathEndOrSingleSlash(() -> getFromResource("dashboard/index.html", ContentTypes.TEXT_HTML_UTF8)),
                        getFromResourceDirectory("dashboard")))));
    }

    /** model-runner's ops routes, also served under /exp/vDD4.40. */
    private Route engines() {
        return concat(moreEngines != null ? moreEngines : reject(),
                path(PathMatchers.segment("engines").slash("unload"), () -> post(() -> entity(Unmarshaller.entityToString(),
                        body -> completeWithFuture(unload(body))))),
                path(PathMatchers.segment("engines").slash("df"), () -> get(() -> completeWithFuture(source.diskUsage()
                        .thenApply(d -> json(json.createObjectNode().put("models_disk_usage", d.models())
                                .put("default_backend_disk_usage", d.defaultBackend())))))),
                path(PathMatchers.segment("engines").slash("status"), () -> get(() -> complete(json(json.valueToTree(source.backends()))))),
                path(PathMatchers.segment("engines").slash("ps"), () -> get(() -> extractRequest(req -> completeWithFuture(source.runners().thenApplyAsync(
                        nodes -> ps(visibleTo(req, nodes)), callbacks))))));
    }

    /** {@code {all, backend, models[]}} → {@code {unloaded_runners}}; runners busy with requests stay. */
    private CompletionStage<HttpResponse> unload(String text) {
        JsonNode body;
        try {
            body = text.isBlank() ? json.createObjectNode() : json.readTree(text);
        } catch (IOException e) {
            return CompletableFuture.completedFuture(OpenAiErrors.badRequest("request body is not valid JSON"));
        }
        List<String> models = new ArrayList<>();
        body.path("models").forEach(m -> models.add(m.asText()));
        boolean all = body.path("all").asBoolean(false);
        if (!all && models.isEmpty()) {
            return CompletableFuture.completedFuture(OpenAiErrors.badRequest("say which runners to unload: \"all\": true, or \"models\""));
        }
        String backend = body.path("backend").asText("");
        return source.unload(all, backend, models).thenApply(n -> json(json.createObjectNode().put("unloaded_runners", n)));
    }

    /** Only the runners of models the caller's key may use (an admin's, or keys off: all). */
    public static List<NodeAgent.Runners> visibleTo(HttpRequest request, List<NodeAgent.Runners> nodes) {
        return nodes.stream().map(n -> new NodeAgent.Runners(n.node(), n.runners().stream()
                .filter(r -> dev.llmrt.gateway.security.KeyCheck.maySee(request, r.model())).toList(), n.decisions())).toList();
    }

    private HttpResponse ps(List<NodeAgent.Runners> nodes) {
        ArrayNode out = json.createArrayNode();
        for (NodeAgent.Runners n : nodes) {
            for (RunnerStatus r : n.runners()) {
                ObjectNode o = out.addObject().put("backend_name", r.backend()).put("model_name", r.model())
                        .put("mode", r.mode()).put("in_use", r.inFlight() > 0).put("loading", r.phase() == RunnerStatus.Phase.STARTING)
                        .put("node", n.node());
                if (r.lastUsed() > 0) {
                    o.put("last_used", Instant.ofEpochMilli(r.lastUsed()).toString());
                }
                o.put("keep_alive", r.keepAlive() < 0 ? "-1" : (r.keepAlive() / 1000) + "s");
            }
        }
        return json(out);
    }

    private HttpResponse status(List<NodeAgent.Runners> nodes) {
        ObjectNode root = statusJson(nodes);
        root.set("events", feed.recent());
        return json(root);
    }

    private ObjectNode statusJson(List<NodeAgent.Runners> nodes) {
        ObjectNode root = json.createObjectNode();
        ArrayNode capacity = root.putArray("nodes");
        for (NodeCapacity c : source.capacity().values().stream()
                .sorted(Comparator.comparing(NodeCapacity::node)).toList()) {
            ObjectNode n = capacity.addObject().put("node", c.node()).put("ram_available_bytes", c.ramAvailable());
            ArrayNode gpus = n.putArray("gpus");
            for (PlacementPlanner.Device g : c.gpus()) {
                gpus.addObject().put("index", g.index()).put("name", g.kind().model()).put("driver", g.kind().driver())
                        .put("available_bytes", g.available())
                        .put("evictable_bytes", c.evictablePerGpu().getOrDefault(g.index(), 0L));
            }
            n.set("models", json.valueToTree(c.hosted()));
            // what a process was measured to cost per GPU kind beyond its estimate's predicted part
            ArrayNode overheads = n.putArray("learned_overheads");
            for (OverheadCalibration.Learned l : c.overheads()) {
                overheads.addObject().put("backend", l.backend()).put("mode", l.mode()).put("gpu", l.gpu().model())
                        .put("driver", l.gpu().driver()).put("overhead_bytes", l.overhead()).put("samples", l.samples());
            }
        }
        ArrayNode routing = root.putArray("routing");
        for (ReplicaRouter.LaneStatus lane : source.routing()) {
            ObjectNode l = routing.addObject().put("model", lane.model()).put("mode", lane.mode())
                    .put("routed", lane.routed()).put("retried", lane.retried()).put("queue_full", lane.queueFull())
                    .put("queue_timeout", lane.queueTimeout()).put("queued", lane.queued())
                    .put("replicas_in_use", lane.active());
            ArrayNode replicas = l.putArray("replicas");
            for (ReplicaRouter.LaneStatus.Replica r : lane.replicas()) {
                replicas.addObject().put("replica", r.index()).put("node", r.node()).put("ready", r.ready())
                        .put("unreachable", r.down()).put("outstanding", r.outstanding()).put("routed", r.routed());
            }
        }
        ArrayNode placements = root.putArray("placements");
        nodes.stream().flatMap(n -> n.decisions().stream().map(d -> Map.entry(n.node(), d)))
                .sorted(Comparator.comparingLong((Map.Entry<String, NodeAgent.PlacementDecision> e) -> e.getValue().at()).reversed())
                .forEach(e -> placements.addObject().put("time", Instant.ofEpochMilli(e.getValue().at()).toString())
                        .put("node", e.getKey()).put("model", e.getValue().model()).put("mode", e.getValue().mode())
                        .put("outcome", e.getValue().outcome()).put("reason", e.getValue().reason()));
        ArrayNode runners = root.putArray("runners");
        for (NodeAgent.Runners n : nodes) {
            for (RunnerStatus r : n.runners()) {
                ObjectNode o = runners.addObject().put("node", n.node()).put("runner", r.runnerId())
                        .put("backend", r.backend()).put("model", r.model()).put("mode", r.mode()).put("state", r.phase().wireName())
                        .put("pid", r.pid()).put("restarts", r.restarts()).put("in_flight", r.inFlight())
                        .put("queued", r.pending()).put("keep_alive_ms", r.keepAlive())
                        .put("vram_estimate_bytes", r.vramEstimate());
                if (r.vramActual() >= 0) {
                    o.put("vram_actual_bytes", r.vramActual());
                } else {
                    o.putNull("vram_actual_bytes");
                }
                o.set("gpus", json.valueToTree(r.gpus()));
                if (r.lastError() != null) {
                    o.put("last_error", r.lastError());
                }
            }
        }
        return root;
    }

    private static HttpResponse json(JsonNode node) {
        return HttpResponse.create().withEntity(ContentTypes.APPLICATION_JSON, node.toString());
    }
}
