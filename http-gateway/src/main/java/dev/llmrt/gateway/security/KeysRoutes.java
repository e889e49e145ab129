package dev.llmrt.gateway.security;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmrt.gateway.OpenAiErrors;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.unmarshalling.Unmarshaller;

/**
 * Keys made and revoked at run time, cluster-wide (admin routes when keys are on):
 * {@code POST /keys {name, models, admin, rpm, tpm, max_concurrent, max_streams}} answers 201 with
 * the key, shown this once; {@code GET /keys} lists every key without its secret or hash;
 * {@code DELETE /keys/{name}} revokes one. The first key made must be an admin's: it turns keys on.
 */
public final class KeysRoutes extends AllDirectives {
    /** Where the cluster keeps the keys made here. */
    public interface Cluster {
        CompletionStage<Boolean> put(StoredKey key);

        CompletionStage<Boolean> remove(String name);
    }

    private final ApiKeys keys;
    private final Cluster cluster;
    private final ObjectMapper json;
    private final Executor callbacks;

    public KeysRoutes(ApiKeys keys, Cluster cluster, ObjectMapper json, Executor callbacks) {
        this.keys = keys;
        this.cluster = cluster;
        this.json = json;
        this.callbacks = callbacks;
    }

    public Route route() {
        return pathPrefix("keys", () -> concat(
                pathEndOrSingleSlash(() -> concat(
                        get(() -> complete(ok(list()))),
                        post(() -> entity(Unmarshaller.entityToString(), body -> completeWithFuture(create(body)))))),
                path(name -> delete(() -> completeWithFuture(revoke(name))))));
    }

    private JsonNode list() {
        ArrayNode out = json.createArrayNode();
        for (ApiKeys.Key k : keys.all()) {
            ObjectNode o = out.addObject().put("name", k.name()).put("source", k.source()).put("admin", k.admin());
            ArrayNode models = o.putArray("models");
            k.models().stream().sorted().forEach(models::add);
            o.put("rpm", k.limits().rpm()).put("tpm", k.limits().tpm()).put("max_concurrent", k.limits().maxConcurrent())
                    .put("max_streams", k.limits().maxStreams()).put("created", k.created());
        }
        return out;
    }

    private CompletionStage<HttpResponse> create(String body) {
        JsonNode req;
        try {
            req = json.readTree(body);
        } catch (IOException e) {
            return done(OpenAiErrors.badRequest("the body must be JSON: {\"name\": ..., \"models\": [...], \"admin\": false, "
                    + "\"rpm\": 0, \"tpm\": 0, \"max_concurrent\": 0, \"max_streams\": 0}"));
        }
        if (req == null || !req.path("name").isTextual() || !req.path("name").asText().matches("[A-Za-z0-9._@-]{1,64}")) {
            return done(OpenAiErrors.invalid("name", "name must be 1 to 64 letters, digits, '.', '_', '@' or '-'"));
        }
        String name = req.path("name").asText();
        if (keys.all().stream().anyMatch(k -> k.name().equals(name))) {
            return done(OpenAiErrors.error(409, "invalid_request_error", "key_exists", "a key named '" + name
                    + "' exists; revoke it first"));
        }
        boolean admin = req.path("admin").asBoolean(false);
        if (keys.none() && !admin) {
            return done(OpenAiErrors.invalid("admin", "the first key turns keys on, so it must be an admin's "
                    + "(\"admin\": true), or nobody could manage keys afterwards"));
        }
        List<String> models = new ArrayList<>();
        req.path("models").forEach(m -> models.add(m.asText()));
        for (String field : List.of("rpm", "tpm", "max_concurrent", "max_streams")) {
            if (req.has(field) && (!req.get(field).canConvertToLong() || req.get(field).asLong() < 0
                    || req.get(field).asLong() > Integer.MAX_VALUE)) {
                return done(OpenAiErrors.invalid(field, field + " must be a whole number from 0 (no limit) to " + Integer.MAX_VALUE));
            }
        }
        String key = ApiKeys.newKey();
        StoredKey stored = new StoredKey(name, HexFormat.of().formatHex(ApiKeys.sha256(key)), List.copyOf(models), admin,
                req.path("rpm").asInt(0), req.path("tpm").asLong(0), req.path("max_concurrent").asInt(0),
                req.path("max_streams").asInt(0), Instant.now().getEpochSecond());
        return cluster.put(stored).exceptionally(e -> false).thenComposeAsync(majority -> {
            if (!majority) {
                // not confirmed: it could be lost (a partition's losing side): take it back, and say so
                return cluster.remove(name).exceptionally(e -> false).thenApply(x -> notConfirmed("key '" + name
                        + "' was not made: a majority of the cluster's nodes did not confirm it in time"));
            }
            return done(HttpResponse.create().withStatus(StatusCodes.CREATED)
                    .withEntity(ContentTypes.APPLICATION_JSON, json.createObjectNode().put("name", name).put("key", key)
                            .put("admin", admin).put("note", "the key is shown this once; the cluster keeps only its SHA-256")
                            .toString()));
        }, callbacks);
    }

    private CompletionStage<HttpResponse> revoke(String name) {
        if (keys.configured(name)) {
            return done(OpenAiErrors.error(409, "invalid_request_error", "key_in_configuration", "key '" + name
                    + "' is in llmrt.gateway.api-keys; remove it there"));
        }
        if (keys.all().stream().noneMatch(k -> k.name().equals(name))) {
            return done(OpenAiErrors.notFound("key_not_found", "no key named '" + name + "'"));
        }
        // revoked here at once (the write is local first); a 503 says the rest of the cluster may not have it yet
        return cluster.remove(name).exceptionally(e -> false).thenApplyAsync(majority -> majority
                ? ok(json.createObjectNode().put("revoked", name)) : notConfirmed("key '" + name
                + "' is revoked on this node, but a majority of the cluster's nodes did not confirm it in time: it may still "
                + "work on others"), callbacks);
    }

    /** A key change a majority of the nodes did not confirm in time, as _configure answers it. */
    private static HttpResponse notConfirmed(String what) {
        return OpenAiErrors.refused(503, "not_confirmed", what + " (a partition, or nodes down); retry",
                java.time.Duration.ofSeconds(1));
    }

    private static HttpResponse ok(JsonNode body) {
        return HttpResponse.create().withEntity(ContentTypes.APPLICATION_JSON, body.toString());
    }

    private static CompletionStage<HttpResponse> done(HttpResponse r) {
        return CompletableFuture.completedFuture(r);
    }
}
