package dev.llmrt.gateway.models;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmrt.agent.model.ModelCatalog;
import dev.llmrt.agent.model.ModelSpec;
import dev.llmrt.agent.store.ModelFiles;
import dev.llmrt.agent.store.StoredModel;
import dev.llmrt.runtime.gguf.GgufSummary;
import java.io.IOException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.unmarshalling.Unmarshaller;
import org.apache.pekko.stream.Materializer;

/**
 * model-runner's model routes, cluster-wide: {@code POST /models/create} pulls (progress streamed as
 * model-runner streams it, or one answer when done: see {@link #progressFor}), {@code GET /models},
 * {@code GET /models/{name}}, {@code DELETE /models/{name}[?force=true]},
 * {@code POST /models/{name}/tag?repo=&tag=} and {@code POST /models/{name}/push}. Errors are plain
 * text with model-runner's statuses (400 malformed reference, 401, 404, 409, 422 unsupported media
 * type, 502 the registry failed or served a blob that doesn't match its digest). The list also
 * carries the configured catalog's models.
 */
public final class ModelsRoutes extends AllDirectives {
    private static final ContentType.WithCharset TEXT = ContentTypes.TEXT_PLAIN_UTF8;

    private final ModelManager manager;
    private final ModelCatalog catalog;
    private final ObjectMapper json;
    private final Materializer materializer;
    private final Executor callbacks;
    private final ModelDetails details;

    public ModelsRoutes(ModelManager manager, ModelCatalog catalog, ModelDetails details, ObjectMapper json,
                        Materializer materializer) {
        this.manager = manager;
        this.details = details;
        this.catalog = catalog;
        this.json = json;
        this.materializer = materializer;
        this.callbacks = materializer.executionContext();
    }

    public Route route() {
        return pathPrefix("models", () -> concat(
                pathEndOrSingleSlash(() -> get(() -> complete(ok(list())))),
                path("create", () -> post(() -> extractRequest(request -> entity(Unmarshaller.entityToString(),
                        body -> completeWithFuture(create(request, body)))))),
                extractUnmatchedPath(rest -> {
                    String name = URLDecoder.decode(rest.startsWith("/") ? rest.substring(1) : rest, StandardCharsets.UTF_8);
                    if (name.isEmpty()) {
                        return reject();
                    }
                    return concat(
                            get(() -> complete(show(name))),
                            delete(() -> parameterOptional("force", force -> completeWithFuture(
                                    delete(name, force.map(f -> f.equalsIgnoreCase("true") || f.equals("1")).orElse(false))))),
                            post(() -> extractRequest(request -> parameterOptional("repo", repo -> parameterOptional("tag",
                                    tag -> entity(Unmarshaller.entityToString(), body ->
                                            completeWithFuture(action(request, name, repo, tag, body))))))));
                })));
    }

    // ---- pull ----

    private CompletionStage<HttpResponse> create(HttpRequest request, String body) {
        JsonNode req;
        try {
            req = json.readTree(body);
        } catch (IOException e) {
            return done(text(400, "invalid request body"));
        }
        if (req == null || !req.path("from").isTextual()) {
            return done(text(400, "invalid request body: it needs \"from\", the model's reference"));
        }
        String credential = req.path("bearer-token").isTextual() ? req.path("bearer-token").asText() : null;
        Progress progress = progressFor(request);
        return manager.resolve(req.path("from").asText(), credential).handleAsync((resolved, err) -> {
            if (err != null) {
                return done(failed(err));
            }
            if (progress == Progress.NONE) {
                return manager.fetch(resolved, ModelFiles.Progress.NONE).handleAsync((m, e) -> e != null ? failed(e)
                        : text(200, "Model pulled successfully: " + m.reference() + " (" + m.id() + ")\n"), callbacks);
            }
            StoredModel model = resolved.model();
            ProgressLines lines = new ProgressLines(materializer, progress == Progress.ESCAPED_TEXT, (digest, current, total) ->
                    progressLine("pull", String.format(Locale.ROOT, "Downloaded: %.2f MB", current / 1048576.0), model.ggufSize(),
                            digest, total, current));
            manager.fetch(resolved, lines).whenCompleteAsync((m, e) -> lines.finish(e != null
                    ? message("error", ModelManager.unwrap(e).getMessage(), "pull")
                    : message("success", "Model pulled successfully", "pull")), callbacks);
            return done(streamed(progress, lines));
        }, callbacks).thenComposeAsync(r -> r, callbacks);
    }

    /**
     * How progress goes to this client. model-runner always streams it: NDJSON to clients that accept
     * JSON, and the same lines HTML-escaped as text/plain to the others; the docker CLI sends no Accept
     * header and reads those lines. A client that names other types (curl sends *&#47;*) gets one
     * answer when the transfer is done, with a status that says how it went.
     */
    private enum Progress { NDJSON, ESCAPED_TEXT, NONE }

    private static Progress progressFor(HttpRequest request) {
        Optional<String> accept = request.getHeader("Accept").map(HttpHeader::value);
        if (accept.isEmpty()) {
            return Progress.ESCAPED_TEXT;
        }
        return accept.get().contains("application/json") || accept.get().contains("application/x-ndjson")
                ? Progress.NDJSON : Progress.NONE;
    }

    private HttpResponse streamed(Progress progress, ProgressLines lines) {
        return HttpResponse.create().withEntity(HttpEntities.createChunked(
                progress == Progress.NDJSON ? ContentTypes.APPLICATION_JSON : TEXT, lines.source()));
    }

    /** model-runner's progress message: {type, message, total, layer {id, size, current}, mode}. */
    private String progressLine(String mode, String message, long total, String layer, long size, long current) {
        ObjectNode o = json.createObjectNode().put("type", "progress").put("message", message).put("total", total);
        o.putObject("layer").put("id", layer).put("size", size).put("current", current);
        return o.put("mode", mode).toString();
    }

    private String message(String type, String message, String mode) {
        ObjectNode o = json.createObjectNode().put("type", type).put("message", message).put("total", 0);
        o.putObject("layer").put("size", 0).put("current", 0);
        return o.put("mode", mode).toString();
    }

    // ---- list, show ----

    private JsonNode list() {
        ArrayNode out = json.createArrayNode();
        for (List<StoredModel> refs : manager.byId()) {
            out.add(model(refs));
        }
        for (ModelSpec spec : catalog.all()) {
            if (!manager.models().containsKey(spec.name())) {
                out.add(configured(spec));
            }
        }
        return out;
    }

    private HttpResponse show(String name) {
        Optional<StoredModel> m = manager.find(name);
        if (m.isPresent()) {
            return ok(model(manager.withId(m.get().id())));
        }
        return catalog.find(name).filter(s -> !manager.models().containsKey(s.name()))
                .map(spec -> ok(configured(spec)))
                .orElseGet(() -> text(404, "model not found: " + name));
    }

    /** model-runner's Model: {id, tags, created, config}. */
    private ObjectNode model(List<StoredModel> references) {
        StoredModel first = references.get(0);
        ObjectNode o = json.createObjectNode().put("id", first.id());
        ArrayNode tags = o.putArray("tags");
        references.forEach(r -> tags.add(r.reference()));
        o.put("created", first.created());
        try {
            JsonNode config = json.readTree(first.config()).path("config");
            o.set("config", config.isObject() ? config : json.createObjectNode());
        } catch (IOException e) {
            o.putObject("config");
        }
        return o;
    }

    private ObjectNode configured(ModelSpec spec) {
        ModelDetails.Details d = details.of(spec);
        ObjectNode o = json.createObjectNode().put("id", d.digest());
        o.putArray("tags").add(spec.name());
        o.put("created", d.modifiedAt() / 1000);
        ObjectNode config = o.putObject("config").put("format", d.format());
        putIfKnown(config, "architecture", d.family());
        putIfKnown(config, "parameters", d.parameters());
        putIfKnown(config, "quantization", d.quantization());
        if (d.size() > 0) {
            config.put("size", GgufSummary.size(d.size()));
        }
        if (d.contextSize() > 0) {
            config.put("context_size", d.contextSize());
        }
        return o;
    }

    private static void putIfKnown(ObjectNode o, String field, String value) {
        if (value != null && !value.isEmpty()) {
            o.put(field, value);
        }
    }

    // ---- delete, tag, push ----

    private CompletionStage<HttpResponse> delete(String name, boolean force) {
        return manager.delete(name, force).handleAsync((d, e) -> {
            if (e != null) {
                return failed(e);
            }
            ArrayNode out = json.createArrayNode();
            d.untagged().forEach(r -> out.addObject().put("Untagged", r));
            if (d.deleted() != null) {
                out.addObject().put("Deleted", d.deleted());
            }
            return ok(out);
        }, callbacks);
    }

    private CompletionStage<HttpResponse> action(HttpRequest request, String nameAndAction, Optional<String> repo,
                                                 Optional<String> tag, String body) {
        int slash = nameAndAction.lastIndexOf('/');
        String action = slash < 0 ? "" : nameAndAction.substring(slash + 1);
        String name = slash < 0 ? nameAndAction : nameAndAction.substring(0, slash);
        switch (action) {
            case "tag" -> {
                if (repo.isEmpty() || tag.isEmpty()) {
                    return done(text(400, "missing repo or tag query parameter"));
                }
                String target = repo.get() + ":" + tag.get();
                return manager.tag(name, target).handleAsync((t, e) -> e != null ? failed(e)
                        : HttpResponse.create().withStatus(StatusCodes.CREATED).withEntity(ContentTypes.APPLICATION_JSON,
                        json.createObjectNode().put("message", "Model tagged successfully with \"" + t + "\"")
                                .put("target", t).toString()), callbacks);
            }
            case "push" -> {
                String credential = null;
                try {
                    JsonNode req = body.isBlank() ? null : json.readTree(body);
                    credential = req != null && req.path("bearer-token").isTextual() ? req.path("bearer-token").asText() : null;
                } catch (IOException e) {
                    return done(text(400, "invalid request body"));
                }
                Progress progress = progressFor(request);
                if (progress == Progress.NONE) {
                    return manager.push(name, credential, ModelFiles.Progress.NONE).handleAsync((m, e) -> e != null ? failed(e)
                            : text(200, "Model pushed successfully: " + name + "\n"), callbacks);
                }
                ProgressLines lines = new ProgressLines(materializer, progress == Progress.ESCAPED_TEXT, (digest, current, total) -> progressLine("push",
                        String.format(Locale.ROOT, "Uploaded: %.2f MB", current / 1048576.0), total, digest, total, current));
                if (manager.find(name).isEmpty()) {
                    return done(text(404, "Model not found: " + name));
                }
                manager.push(name, credential, lines).whenCompleteAsync((m, e) -> lines.finish(e != null
                        ? message("error", ModelManager.unwrap(e).getMessage(), "push")
                        : message("success", "Model pushed successfully", "push")), callbacks);
                return done(streamed(progress, lines));
            }
            default -> {
                return done(text(404, "unknown action \"" + action + "\""));
            }
        }
    }

    // ---- answers ----

    private static HttpResponse failed(Throwable e) {
        ModelManager.Failure f = ModelManager.unwrap(e);
        return text(f.status(), f.getMessage() + "\n");
    }

    private static HttpResponse ok(JsonNode body) {
        return HttpResponse.create().withEntity(ContentTypes.APPLICATION_JSON, body.toString());
    }

    private static HttpResponse text(int status, String body) {
        return HttpResponse.create().withStatus(StatusCodes.get(status)).withEntity(TEXT, body);
    }

    private static CompletionStage<HttpResponse> done(HttpResponse r) {
        return CompletableFuture.completedFuture(r);
    }
}
