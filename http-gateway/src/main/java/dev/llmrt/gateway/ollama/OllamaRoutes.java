package dev.llmrt.gateway.ollama;

import dev.llmrt.gateway.security.KeyCheck;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmrt.agent.NodeAgent;
import dev.llmrt.agent.model.KeepAlive;
import dev.llmrt.agent.model.ModelCatalog;
import dev.llmrt.agent.model.ModelSpec;
import dev.llmrt.agent.runner.RunnerStatus;
import dev.llmrt.agent.store.ModelFiles;
import dev.llmrt.gateway.ConfigureRoutes;
import dev.llmrt.gateway.Forwarded;
import dev.llmrt.gateway.StrictBody;
import dev.llmrt.gateway.models.ModelDetails;
import dev.llmrt.gateway.models.ModelManager;
import dev.llmrt.gateway.models.ProgressLines;
import dev.llmrt.runtime.spi.BackendMode;
import dev.llmrt.runtime.spi.Inference;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.Function;
import org.apache.pekko.NotUsed;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.MediaTypes;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.unmarshalling.Unmarshaller;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Framing;
import org.apache.pekko.stream.javadsl.FramingTruncation;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;

/**
 * Ollama's API, translated as model-runner translates it: {@code /api/chat} and {@code /api/generate}
 * (NDJSON streaming by default, {@code stream:false}, options mapped; {@code keep_alive} and
 * {@code options.num_ctx} configure the model cluster-wide; an empty prompt preloads, and with a zero
 * keep-alive unloads), {@code /api/embed} and {@code /api/embeddings}, {@code /api/tags}, {@code /api/ps},
 * {@code /api/show}, {@code /api/version}, {@code /api/pull} and {@code /api/delete} (models from
 * registries, cluster-wide). Inference goes through the OpenAI path (its metrics,
 * recorder and routing), with model-runner's {@code ollama/completion} origin.
 */
public final class OllamaRoutes extends AllDirectives {
    private static final ContentType NDJSON = ContentTypes.create(MediaTypes.applicationWithOpenCharset("x-ndjson"),
            org.apache.pekko.http.javadsl.model.HttpCharsets.UTF_8);

    private final ModelCatalog catalog;
    private final ModelManager models;
    private final Function<HttpRequest, CompletionStage<HttpResponse>> infer;
    private final ConfigureRoutes.Cluster cluster;
    private final ConfigureRoutes configure;
    private final ObjectMapper json;
    private final OllamaTranslation translate;
    private final ModelDetails details;
    private final Materializer materializer;
    private final Executor callbacks;
    private final Duration bodyTimeout;

    /**
     * @param infer     the OpenAI request path: takes an inference POST, answers as OpenAI does
     * @param cluster   runners, unload and preload, as {@code _configure} uses them
     * @param configure where {@code keep_alive} and {@code num_ctx} are held cluster-wide
     * @param models    pull and delete, through the cluster's model store
     */
    public OllamaRoutes(ModelCatalog catalog, Function<HttpRequest, CompletionStage<HttpResponse>> infer,
                        ConfigureRoutes.Cluster cluster, ConfigureRoutes configure, ModelManager models, ModelDetails details,
                        ObjectMapper json, Materializer materializer, Duration bodyTimeout) {
        this.models = models;
        this.details = details;
        this.configure = configure;
        this.catalog = catalog;
        this.infer = infer;
        this.cluster = cluster;
        this.json = json;
        this.translate = new OllamaTranslation(json);
        this.materializer = materializer;
        this.callbacks = materializer.executionContext();
        this.bodyTimeout = bodyTimeout;
    }

    public Route route() {
        return pathPrefix("api", () -> concat(
                path("version", () -> get(() -> complete(ok(json.createObjectNode().put("version", "0.1.0"))))),
                path("tags", () -> get(() -> complete(ok(tags())))),
                path("ps", () -> get(() -> extractRequest(req -> completeWithFuture(cluster.runners().thenApplyAsync(
                        nodes -> ps(dev.llmrt.gateway.StatusRoutes.visibleTo(req, nodes)), callbacks))))),
                path("show", () -> post(() -> body(request -> CompletableFuture.completedFuture(show(request))))),
                path("chat", () -> post(() -> extractRequest(original -> body(request -> chat(original, request, true))))),
                path("generate", () -> post(() -> extractRequest(original -> body(request -> generate(original, request))))),
                path("embed", () -> post(() -> extractRequest(original -> body(request -> embed(original, request, false))))),
                path("embeddings", () -> post(() -> extractRequest(original -> body(request -> embed(original, request, true))))),
                path("pull", () -> post(() -> body(this::pull))),
                path("delete", () -> delete(() -> body(this::deleteModel)))));
    }

    /** Ollama's pull: NDJSON progress by default ({@code stream:false}: one answer), through the cluster's model store. */
    private CompletionStage<HttpResponse> pull(JsonNode request) {
        String name = OllamaTranslation.model(request);
        boolean stream = OllamaTranslation.streams(request);
        return models.resolve(name, null).handleAsync((resolved, err) -> {
            if (err != null) {
                ModelManager.Failure f = ModelManager.unwrap(err);
                return done(error(f.status(), f.getMessage()));
            }
            if (!stream) {
                return models.fetch(resolved, ModelFiles.Progress.NONE).handleAsync((m, e) -> e != null
                        ? error(ModelManager.unwrap(e).status(), ModelManager.unwrap(e).getMessage())
                        : ok(json.createObjectNode().put("status", "success")), callbacks);
            }
            ProgressLines lines = new ProgressLines(materializer, false, (digest, current, total) -> json.createObjectNode()
                    .put("status", "pulling " + digest.substring("sha256:".length(), "sha256:".length() + 12))
                    .put("digest", digest).put("total", total).put("completed", current).toString());
            lines.send(json.createObjectNode().put("status", "pulling manifest").toString());
            models.fetch(resolved, lines).whenCompleteAsync((m, e) -> {
                if (e != null) {
                    lines.finish(json.createObjectNode().put("error", ModelManager.unwrap(e).getMessage()).toString());
                } else {
                    lines.send(json.createObjectNode().put("status", "verifying sha256 digest").toString());
                    lines.send(json.createObjectNode().put("status", "writing manifest").toString());
                    lines.finish(json.createObjectNode().put("status", "success").toString());
                }
            }, callbacks);
            return done(HttpResponse.create().withEntity(HttpEntities.createChunked(NDJSON, lines.source())));
        }, callbacks).thenComposeAsync(r -> r, callbacks);
    }

    /** Ollama's delete: the named reference goes; 404 for a model not pulled from a registry. */
    private CompletionStage<HttpResponse> deleteModel(JsonNode request) {
        String name = OllamaTranslation.model(request);
        return models.delete(name, false).handleAsync((d, e) -> {
            if (e == null) {
                return HttpResponse.create();
            }
            ModelManager.Failure f = ModelManager.unwrap(e);
            return error(f.status(), f.status() == 404 ? "model '" + name + "' not found" : f.getMessage());
        }, callbacks);
    }

    /** The body as JSON, or a 400 in Ollama's shape. */
    private Route body(Function<JsonNode, CompletionStage<HttpResponse>> handle) {
        return entity(Unmarshaller.entityToString(), text -> {
            JsonNode request;
            try {
                request = json.readTree(text);
            } catch (IOException e) {
                String why = e.getMessage() == null ? "not JSON" : e.getMessage().lines().findFirst().orElse("not JSON");
                return complete(error(400, "invalid request: " + why));
            }
            if (request == null || !request.isObject()) {
                return complete(error(400, "invalid request: the body must be a JSON object"));
            }
            return completeWithFuture(handle.apply(request));
        });
    }

    /** The catalog model an Ollama name means: the name itself, or without a {@code :latest} tag. */
    private Optional<ModelSpec> find(String name) {
        Optional<ModelSpec> spec = catalog.find(name);
        if (spec.isEmpty() && name.endsWith(":latest")) {
            spec = catalog.find(name.substring(0, name.length() - ":latest".length()));
        }
        return spec;
    }

    /**
     * Before anything happens: the caller's key may use the model, and only an admin's (or keys off)
     * may change it for everyone through {@code keep_alive} and {@code options.num_ctx}.
     */
    private Optional<HttpResponse> refusal(HttpRequest original, JsonNode request, String model) {
        if (KeyCheck.modelRefusal(original, model).isPresent()) {
            return Optional.of(error(403, "this API key may not use model '" + model + "'"));
        }
        String malformed = malformed(request);
        if (malformed != null) {
            return Optional.of(error(400, "invalid request: " + malformed));
        }
        boolean changes = request.has("keep_alive") || request.path("options").has("keep_alive")
                || request.path("options").has("num_ctx");
        if (changes && !KeyCheck.mayChangeTheCluster(original)) {
            return Optional.of(error(403, "keep_alive and options.num_ctx configure model '" + model
                    + "' for every client of the cluster: they need an admin key; leave them out"));
        }
        if (request.path("options").hasNonNull("num_ctx")) {
            try {
                dev.llmrt.gateway.ConfigureRoutes.contextSize(request.path("options").get("num_ctx"), "options.num_ctx");
            } catch (IllegalArgumentException e) {
                return Optional.of(error(400, e.getMessage()));
            }
        }
        return Optional.empty();
    }

    private static final java.util.Set<String> OLLAMA_ROLES = java.util.Set.of("system", "user", "assistant", "tool");

    /** What in an Ollama body its translation would pass on broken, said as Ollama would; null when nothing. */
    static String malformed(JsonNode request) {
        JsonNode messages = request.path("messages");
        if (!messages.isMissingNode() && !messages.isNull()) {
            if (!messages.isArray()) {
                return "'messages' must be an array";
            }
            for (int i = 0; i < messages.size(); i++) {
                JsonNode m = messages.get(i);
                String at = "messages[" + i + "]";
                if (!m.isObject()) {
                    return "'" + at + "' must be an object with a 'role'";
                }
                if (!m.path("role").isTextual() || !OLLAMA_ROLES.contains(m.path("role").asText())) {
                    return "'" + at + ".role' must be one of " + new java.util.TreeSet<>(OLLAMA_ROLES);
                }
                if (m.has("content") && !m.get("content").isTextual() && !m.get("content").isNull()) {
                    return "'" + at + ".content' must be a string";
                }
                String images = images(m.path("images"), at + ".images");
                if (images != null) {
                    return images;
                }
                if (m.has("tool_calls") && !m.get("tool_calls").isArray() && !m.get("tool_calls").isNull()) {
                    return "'" + at + ".tool_calls' must be an array";
                }
            }
        }
        for (String text : new String[] {"prompt", "system", "suffix", "template"}) {
            if (request.has(text) && !request.get(text).isTextual() && !request.get(text).isNull()) {
                return "'" + text + "' must be a string";
            }
        }
        String images = images(request.path("images"), "images");
        if (images != null) {
            return images;
        }
        if (request.has("options") && !request.get("options").isObject() && !request.get("options").isNull()) {
            return "'options' must be an object";
        }
        if (request.has("stream") && !request.get("stream").isBoolean() && !request.get("stream").isNull()) {
            return "'stream' must be a boolean";
        }
        if (request.has("format") && !request.get("format").isTextual() && !request.get("format").isObject()
                && !request.get("format").isNull()) {
            return "'format' must be \"json\" or a JSON schema";
        }
        if (request.has("keep_alive") && !request.get("keep_alive").isTextual() && !request.get("keep_alive").isNumber()) {
            return "'keep_alive' must be a duration (\"5m\") or a number of seconds";
        }
        if (request.has("tools") && !request.get("tools").isArray() && !request.get("tools").isNull()) {
            return "'tools' must be an array";
        }
        return null;
    }

    private static String images(JsonNode images, String at) {
        if (images.isMissingNode() || images.isNull()) {
            return null;
        }
        if (!images.isArray()) {
            return "'" + at + "' must be an array of base64 strings";
        }
        for (JsonNode i : images) {
            if (!i.isTextual()) {
                return "'" + at + "' must be an array of base64 strings";
            }
        }
        return null;
    }

    private CompletionStage<HttpResponse> chat(HttpRequest original, JsonNode request, boolean chat) {
        if (chat && request.path("messages").isArray() && request.path("messages").isEmpty()) {
            return generate(original, request); // Ollama: a chat with no messages loads (or, keep_alive 0, unloads) the model
        }
        Optional<ModelSpec> spec = find(OllamaTranslation.model(request));
        if (spec.isEmpty()) {
            return done(error(404, "model '" + OllamaTranslation.model(request) + "' not found"));
        }
        String model = spec.get().name();
        Optional<HttpResponse> refused = refusal(original, request, model);
        if (refused.isPresent()) {
            return done(refused.get());
        }
        ObjectNode openAi = chat ? translate.chat(request) : translate.generate(request);
        openAi.put("model", model);
        boolean stream = OllamaTranslation.streams(request);
        return configure(request, model).thenComposeAsync(x -> infer.apply(Forwarded.request(original, "/v1/chat/completions", openAi.toString(), Inference.ORIGIN_OLLAMA_COMPLETION)), callbacks)
                .thenComposeAsync(response -> answer(response, model, chat, stream), callbacks);
    }

    private CompletionStage<HttpResponse> generate(HttpRequest original, JsonNode request) {
        String prompt = request.path("prompt").asText("");
        if (!prompt.isEmpty()) {
            return chat(original, request, false);
        }
        Optional<ModelSpec> spec = find(OllamaTranslation.model(request));
        if (spec.isEmpty()) {
            return done(error(404, "model '" + OllamaTranslation.model(request) + "' not found"));
        }
        String model = spec.get().name();
        Optional<HttpResponse> refused = refusal(original, request, model);
        if (refused.isPresent()) {
            return done(refused.get());
        }
        String keepAlive = request.path("keep_alive").asText("");
        if (keepAlive.isEmpty() || keepAlive.equals("0") || keepAlive.equals("0s") || keepAlive.equals("0m")) {
            if (!KeyCheck.mayChangeTheCluster(original)) {
                return done(error(403, "an empty prompt unloads model '" + model + "' on every node: that needs an admin key"));
            }
            // model-runner's reading of Ollama's "empty prompt, keep_alive 0": unload the model
            return cluster.unload(model).thenApplyAsync(n -> ok(json.createObjectNode()), callbacks);
        }
        return configure(request, model).thenApplyAsync(x -> {
            cluster.preload(model, BackendMode.COMPLETION); // an empty prompt loads the model
            return ok(json.createObjectNode());
        }, callbacks);
    }

    /** {@code keep_alive} and {@code options.num_ctx}, held cluster-wide as _configure holds them. */
    private CompletionStage<Void> configure(JsonNode request, String model) {
        String keepAlive = request.path("keep_alive").asText(request.path("options").path("keep_alive").asText(""));
        if (request.path("keep_alive").isNumber()) {
            keepAlive = request.get("keep_alive").asLong() + "s"; // Ollama takes a number as seconds
        }
        Long keepAliveMillis = null;
        if (!keepAlive.isEmpty()) {
            try {
                keepAliveMillis = KeepAlive.parseMillis(keepAlive);
            } catch (IllegalArgumentException e) {
                keepAliveMillis = null; // model-runner logs and goes on without it
            }
        }
        Long contextSize = request.path("options").hasNonNull("num_ctx") ? request.path("options").get("num_ctx").asLong() : null;
        if (keepAliveMillis == null && contextSize == null) {
            return CompletableFuture.completedFuture(null);
        }
        return configure.adjust(model, contextSize, keepAliveMillis).exceptionally(e -> null);
    }

    private CompletionStage<HttpResponse> embed(HttpRequest original, JsonNode request, boolean legacy) {
        Optional<ModelSpec> spec = find(OllamaTranslation.model(request));
        if (spec.isEmpty()) {
            return done(error(404, "model '" + OllamaTranslation.model(request) + "' not found"));
        }
        String model = spec.get().name();
        Optional<HttpResponse> refused = refusal(original, request, model);
        if (refused.isPresent()) {
            return done(refused.get());
        }
        ObjectNode openAi = json.createObjectNode().put("model", model);
        openAi.set("input", legacy ? request.path("prompt") : request.path("input"));
        return configure(request, model).thenComposeAsync(x -> infer.apply(Forwarded.request(original, "/v1/embeddings", openAi.toString(), Inference.ORIGIN_OLLAMA_COMPLETION)), callbacks)
                .thenComposeAsync(response -> StrictBody.of(response, bodyTimeout, materializer, callbacks).thenApplyAsync(bytes -> {
                    if (response.status().intValue() != 200) {
                        return HttpResponse.create().withStatus(response.status())
                                .withEntity(ContentTypes.APPLICATION_JSON, translate.error(bytes).toString());
                    }
                    try {
                        JsonNode root = json.readTree(bytes);
                        ObjectNode out = json.createObjectNode();
                        if (legacy) {
                            out.set("embedding", root.path("data").path(0).path("embedding"));
                        } else {
                            out.put("model", model);
                            ArrayNode vectors = out.putArray("embeddings");
                            root.path("data").forEach(d -> vectors.add(d.path("embedding")));
                            out.put("prompt_eval_count", root.path("usage").path("prompt_tokens").asLong());
                        }
                        return ok(out);
                    } catch (IOException e) {
                        return error(502, "the backend's answer is not JSON");
                    }
                }, callbacks), callbacks);
    }

    /** The OpenAI answer in Ollama's shape: an NDJSON stream, one JSON object, or {@code {"error"}}. */
    private CompletionStage<HttpResponse> answer(HttpResponse response, String model, boolean chat, boolean stream) {
        boolean sse = response.entity().getContentType().mediaType().toString().startsWith("text/event-stream");
        if (response.status().intValue() == 200 && sse) {
            Source<ByteString, NotUsed> lines = response.entity().getDataBytes()
                    .via(Framing.delimiter(ByteString.fromString("\n"), 1 << 20, FramingTruncation.ALLOW))
                    .map(line -> Optional.ofNullable(translate.chunk(model, line.utf8String().strip(), chat)))
                    .filter(Optional::isPresent).map(Optional::get)
                    .statefulMap(() -> new boolean[] {false}, (doneSent, line) -> {
                        doneSent[0] |= line.contains("\"done\":true");
                        return Pair.create(doneSent, ByteString.fromString(line));
                    }, doneSent -> doneSent[0] ? Optional.empty()
                            : Optional.of(ByteString.fromString(translate.done(model, chat))))
                    .mapMaterializedValue(m -> NotUsed.getInstance());
            return done(withId(response, HttpResponse.create().withEntity(HttpEntities.createChunked(NDJSON, lines))));
        }
        return StrictBody.of(response, bodyTimeout, materializer, callbacks).thenApplyAsync(bytes -> {
            if (response.status().intValue() != 200) {
                return withId(response, HttpResponse.create().withStatus(response.status())
                        .withEntity(ContentTypes.APPLICATION_JSON, translate.error(bytes).toString()));
            }
            try {
                return withId(response, ok(translate.answer(model, bytes, chat)));
            } catch (IOException e) {
                return error(502, "the backend's answer is not JSON");
            }
        }, callbacks);
    }

    private static HttpResponse withId(HttpResponse from, HttpResponse to) {
        return from.getHeader("X-Request-Id").map(h -> to.addHeader(RawHeader.create("X-Request-Id", h.value()))).orElse(to);
    }


    /** {@code GET /api/tags}: the catalog, with what each model's file says it is. */
    private ObjectNode tags() {
        ObjectNode root = json.createObjectNode();
        ArrayNode models = root.putArray("models");
        for (ModelSpec spec : catalog.all()) {
            ModelDetails.Details d = details.of(spec);
            ObjectNode m = models.addObject().put("name", spec.name()).put("model", spec.name())
                    .put("modified_at", Instant.ofEpochMilli(d.modifiedAt()).toString()).put("size", d.size())
                    .put("digest", d.digest());
            m.set("details", detailsJson(d));
        }
        return root;
    }

    private ObjectNode detailsJson(ModelDetails.Details d) {
        ObjectNode o = json.createObjectNode().put("format", d.format()).put("family", d.family());
        ArrayNode families = o.putArray("families");
        if (!d.family().isEmpty()) {
            families.add(d.family());
        }
        return o.put("parameter_size", d.parameters()).put("quantization_level", d.quantization());
    }

    /** {@code POST /api/show}: the model's details. */
    private HttpResponse show(JsonNode request) {
        Optional<ModelSpec> spec = find(OllamaTranslation.model(request));
        if (spec.isEmpty()) {
            return error(404, "model '" + OllamaTranslation.model(request) + "' not found");
        }
        ModelDetails.Details d = details.of(spec.get());
        ObjectNode root = json.createObjectNode();
        root.set("details", detailsJson(d));
        ObjectNode info = root.putObject("model_info").put("general.architecture", d.family());
        if (d.contextSize() > 0) {
            info.put(d.family() + ".context_length", d.contextSize());
        }
        return ok(root);
    }

    /** {@code GET /api/ps}: the runners in the cluster, one entry per runner. */
    private HttpResponse ps(List<NodeAgent.Runners> nodes) {
        ArrayNode models = json.createArrayNode();
        for (NodeAgent.Runners n : nodes) {
            for (RunnerStatus r : n.runners()) {
                ModelDetails.Details d = catalog.find(r.model()).map(details::of).orElse(null);
                ObjectNode m = models.addObject().put("name", r.model()).put("model", r.model())
                        .put("size", Math.max(0, r.vramEstimate())).put("digest", d != null ? d.digest() : "");
                long idleSince = r.lastUsed() > 0 ? r.lastUsed() : r.readyAt() > 0 ? r.readyAt() : r.startedAt();
                if (r.inFlight() == 0 && idleSince > 0 && r.keepAlive() >= 0) {
                    m.put("expires_at", Instant.ofEpochMilli(idleSince + r.keepAlive()).toString());
                }
                m.put("size_vram", Math.max(0, r.vramActual() >= 0 ? r.vramActual() : r.vramEstimate()));
                if (d != null) {
                    m.set("details", detailsJson(d));
                }
            }
        }
        ObjectNode root = json.createObjectNode();
        root.set("models", models);
        return ok(root);
    }

    private static HttpResponse ok(JsonNode body) {
        return HttpResponse.create().withEntity(ContentTypes.APPLICATION_JSON, body.toString());
    }

    /** Ollama's error shape: {@code {"error": message}}. */
    private HttpResponse error(int status, String message) {
        return HttpResponse.create().withStatus(StatusCodes.get(status))
                .withEntity(ContentTypes.APPLICATION_JSON, json.createObjectNode().put("error", message).toString());
    }

    private static CompletionStage<HttpResponse> done(HttpResponse r) {
        return CompletableFuture.completedFuture(r);
    }
}
