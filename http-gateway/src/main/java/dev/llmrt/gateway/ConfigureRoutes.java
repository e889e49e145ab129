package dev.llmrt.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmrt.agent.NodeAgent;
import dev.llmrt.agent.model.KeepAlive;
import dev.llmrt.agent.model.ModelCatalog;
import dev.llmrt.agent.model.ModelConfiguration;
import dev.llmrt.agent.model.ModelSpec;
import dev.llmrt.agent.runner.RunnerStatus;
import dev.llmrt.runtime.flags.RuntimeFlags;
import dev.llmrt.runtime.spi.Backend;
import dev.llmrt.runtime.spi.BackendConfiguration;
import dev.llmrt.runtime.spi.BackendMode;
import dev.llmrt.runtime.spi.SpeculativeDecodingConfig;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.unmarshalling.Unmarshaller;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * model-runner's run-time model configuration, for the whole cluster: {@code POST
 * /engines[/{backend}]/_configure} sets a model's context size, runtime flags (the backend's
 * allowlist applies), speculative decoding and keep-alive; {@code GET /engines/_configure} lists what
 * is set. A configuration is written to a majority of the nodes before the 202, so it outlives the
 * node that took it; the model's idle runners stop so that the next start uses it, and a preload
 * starts in the background. While a runner of the model is serving requests the answer is 409 and
 * nothing changes.
 */
public final class ConfigureRoutes extends AllDirectives {
    private static final Logger log = LoggerFactory.getLogger(ConfigureRoutes.class);

    /** What configuring needs from the cluster. */
    public interface Cluster {
        /** Every node's runners. */
        CompletionStage<List<NodeAgent.Runners>> runners();

        /** Stops the model's idle runners on every node. */
        CompletionStage<Integer> unload(String model);

        /** Writes the configuration to a majority of the nodes; true once it is there. */
        CompletionStage<Boolean> store(ModelConfiguration configuration);

        /** Starts the model's runner in {@code mode} where placement puts it; completes when it is ready. */
        CompletionStage<Boolean> preload(String model, BackendMode mode);
    }

    private final ModelCatalog catalog;
    private final Map<String, Backend> backends;
    private final Cluster cluster;
    private final ObjectMapper json;
    private final Executor callbacks;

    public ConfigureRoutes(ModelCatalog catalog, Map<String, Backend> backends, Cluster cluster, ObjectMapper json,
                           Executor callbacks) {
        this.catalog = catalog;
        this.backends = backends;
        this.cluster = cluster;
        this.json = json;
        this.callbacks = callbacks;
    }

    /** The routes under {@code /engines}; the caller mounts them at the root and under /exp/vDD4.40. */
    public Route route() {
        return concat(
                path(PathMatchers.segment("engines").slash("_configure"), () -> concat(
                        get(() -> parameterOptional("model", model -> complete(list(model.orElse(null))))),
                        post(() -> entity(Unmarshaller.entityToString(), body -> completeWithFuture(configure(null, body)))))),
                path(PathMatchers.segment("engines").slash(PathMatchers.segment()).slash("_configure"), backend ->
                        post(() -> entity(Unmarshaller.entityToString(), body -> completeWithFuture(configure(backend, body))))));
    }

    /** model-runner's {@code ModelConfigEntry} list: {@code [{Backend, Model, ModelID, Mode, Config}]}. */
    private HttpResponse list(String model) {
        ArrayNode out = json.createArrayNode();
        catalog.configurations().values().stream()
                .filter(c -> model == null || c.model().equals(model))
                .sorted(Comparator.comparing(ModelConfiguration::model))
                .forEach(c -> {
                    ObjectNode config = configJson(c.model());
                    String id = catalog.find(c.model()).map(ModelSpec::model).orElse(c.model());
                    out.addObject().put("Backend", c.backend()).put("Model", c.model()).put("ModelID", id)
                            .put("Mode", c.mode()).set("Config", config);
                });
        return HttpResponse.create().withEntity(ContentTypes.APPLICATION_JSON, out.toString());
    }

    /**
     * Sets the model's context size and keep-alive (null: as they are) as a client's request asks
     * (Ollama's {@code keep_alive} and {@code num_ctx}): written cluster-wide when they differ, the
     * model's idle runners then stop so the next one runs with them; never a 409 (a busy runner keeps
     * its settings until it is next started).
     */
    public CompletionStage<Void> adjust(String model, Long contextSize, Long keepAliveMillis) {
        Optional<ModelSpec> spec = catalog.find(model);
        if (spec.isEmpty()) {
            return CompletableFuture.completedFuture(null);
        }
        ModelConfiguration current = catalog.configurations().get(model);
        BackendConfiguration base = current != null ? current.config() : BackendConfiguration.EMPTY;
        ModelConfiguration wanted = new ModelConfiguration(model, spec.get().backend(),
                current != null ? current.mode() : BackendMode.COMPLETION.wireName(),
                new BackendConfiguration(contextSize != null ? contextSize : base.contextSize(), base.runtimeFlags(), base.speculative()),
                keepAliveMillis != null ? keepAliveMillis : current != null ? current.keepAliveMillis() : null,
                System.currentTimeMillis());
        if (wanted.sameAs(current) || (current == null && contextSize == null
                && keepAliveMillis != null && keepAliveMillis == spec.get().keepAliveMillis())) {
            return CompletableFuture.completedFuture(null); // nothing would change
        }
        return cluster.store(wanted).thenComposeAsync(stored -> {
            log.info("model '{}' configured by a client's request: {}", model, wanted);
            return cluster.unload(model).<Void>thenApply(n -> null);
        }, callbacks);
    }

    /** A model's run-time configuration as model-runner writes a {@code BackendConfiguration}; {@code {}} when none. */
    public ObjectNode configJson(String model) {
        ModelConfiguration c = catalog.configurations().get(model);
        if (c == null) {
            return json.createObjectNode();
        }
        ObjectNode config = json.valueToTree(c.config());
        if (c.keepAliveMillis() != null) {
            config.put("keep_alive", KeepAlive.format(c.keepAliveMillis()));
        }
        return config;
    }

    private CompletionStage<HttpResponse> configure(String pathBackend, String text) {
        ModelConfiguration wanted;
        try {
            wanted = parse(pathBackend, text);
        } catch (Refusal r) {
            return CompletableFuture.completedFuture(r.response);
        }
        BackendMode mode = BackendMode.fromWire(wanted.mode());
        if (wanted.sameAs(catalog.configurations().get(wanted.model()))) {
            preloadInBackground(wanted.model(), mode);
            return CompletableFuture.completedFuture(HttpResponse.create().withStatus(StatusCodes.ACCEPTED));
        }
        return cluster.runners().thenComposeAsync(nodes -> {
            List<String> busy = new ArrayList<>();
            for (NodeAgent.Runners n : nodes) {
                for (RunnerStatus r : n.runners()) {
                    if (r.model().equals(wanted.model()) && r.inFlight() > 0) {
                        busy.add(n.node());
                    }
                }
            }
            if (!busy.isEmpty()) {
                return CompletableFuture.completedFuture(OpenAiErrors.error(409, "invalid_request_error", "runner_active",
                        "model '" + wanted.model() + "' is serving requests on " + String.join(", ", busy)
                                + "; configure it when it is idle"));
            }
            return cluster.store(wanted).thenComposeAsync(stored -> {
                if (!stored) {
                    return CompletableFuture.completedFuture(OpenAiErrors.unavailable(
                            "the configuration could not be written to a majority of the nodes in time; try again"));
                }
                log.info("model '{}' configured: {}", wanted.model(), wanted);
                return cluster.unload(wanted.model()).handleAsync((n, e) -> {
                    preloadInBackground(wanted.model(), mode);
                    return HttpResponse.create().withStatus(StatusCodes.ACCEPTED);
                }, callbacks);
            }, callbacks);
        }, callbacks);
    }

    private void preloadInBackground(String model, BackendMode mode) {
        cluster.preload(model, mode).whenCompleteAsync((ready, e) -> {
            if (e != null || !Boolean.TRUE.equals(ready)) {
                log.warn("background preload of '{}' after _configure failed: {}", model, e != null ? e.toString() : "not ready");
            }
        }, callbacks);
    }

    /** model-runner's {@code ConfigureRequest}, checked as it checks it; a refusal carries its response. */
    private ModelConfiguration parse(String pathBackend, String text) throws Refusal {
        if (pathBackend != null && !backends.containsKey(pathBackend)) {
            throw new Refusal(OpenAiErrors.notFound("backend_not_found", "backend '" + pathBackend + "' not found"));
        }
        JsonNode body;
        try {
            body = json.readTree(text);
        } catch (IOException e) {
            throw new Refusal(OpenAiErrors.badRequest("request body is not valid JSON"));
        }
        if (body == null || !body.isObject()) {
            throw new Refusal(OpenAiErrors.badRequest("request body must be a JSON object"));
        }
        String model = body.path("model").asText("");
        if (model.isEmpty()) {
            throw new Refusal(OpenAiErrors.badRequest("'model' is required"));
        }
        ModelSpec spec = catalog.find(model).orElseThrow(() -> new Refusal(
                OpenAiErrors.notFound("model_not_found", "model '" + model + "' not found")));
        if (pathBackend != null && !pathBackend.equals(spec.backend())) {
            throw new Refusal(OpenAiErrors.badRequest("model '" + model + "' runs on backend '" + spec.backend()
                    + "', not '" + pathBackend + "'"));
        }
        Backend backend = backends.get(spec.backend());
        try {
            List<String> flags = new ArrayList<>();
            body.path("runtime-flags").forEach(f -> flags.add(f.asText()));
            if (flags.isEmpty() && body.hasNonNull("raw-runtime-flags")) {
                flags.addAll(RuntimeFlags.splitShellWords(body.get("raw-runtime-flags").asText()));
            }
            backendSpecific(body, flags);
            if (backend != null) {
                backend.checkRuntimeFlags(flags);
            }
            Long contextSize = null;
            if (body.hasNonNull("context-size")) {
                long c = contextSize(body.get("context-size"), "context-size");
                if (c == -1 || c > 0) {
                    contextSize = c; // model-runner ignores 0
                }
            }
            SpeculativeDecodingConfig speculative = body.hasNonNull("speculative")
                    ? json.treeToValue(body.get("speculative"), SpeculativeDecodingConfig.class) : null;
            if (speculative != null && speculative.draftModel() != null && catalog.find(speculative.draftModel()).isEmpty()) {
                throw new IllegalArgumentException("draft model '" + speculative.draftModel() + "' not found");
            }
            Long keepAlive = body.hasNonNull("keep_alive") ? KeepAlive.parseMillis(body.get("keep_alive").asText()) : null;
            String mode = body.hasNonNull("mode") ? BackendMode.fromWire(body.get("mode").asText()).wireName()
                    : flags.contains("--embeddings") ? BackendMode.EMBEDDING.wireName() : BackendMode.COMPLETION.wireName();
            return new ModelConfiguration(model, spec.backend(), mode, new BackendConfiguration(contextSize, flags, speculative),
                    keepAlive, System.currentTimeMillis());
        } catch (InvalidField e) {
            throw new Refusal(OpenAiErrors.invalid(e.param, e.getMessage()));
        } catch (IllegalArgumentException | IOException e) {
            throw new Refusal(OpenAiErrors.badRequest(e.getMessage()));
        }
    }

    /** A refused field of a configuration, named in the error's {@code param}. */
    public static final class InvalidField extends IllegalArgumentException {
        final String param;

        InvalidField(String param, String message) {
            super(message);
            this.param = param;
        }
    }

    /** The largest context a configuration may ask for (llama.cpp's largest trained contexts are 1M tokens). */
    public static final long MAX_CONTEXT_SIZE = 1L << 20;

    /**
     * A context size as a client gave it: a whole number, -1 (the model's own), 0 (ignored, as
     * model-runner does) or 1 to {@link #MAX_CONTEXT_SIZE}; anything else is refused, naming {@code field}.
     */
    public static long contextSize(JsonNode value, String field) {
        if (!value.isIntegralNumber() || !value.canConvertToLong()) {
            throw new InvalidField(field, "'" + field + "' must be a whole number of tokens, not " + value);
        }
        long c = value.asLong();
        if (c < -1 || c > MAX_CONTEXT_SIZE) {
            throw new InvalidField(field, "'" + field + "' must be -1 (the model's own) or from 1 to " + MAX_CONTEXT_SIZE
                    + ", not " + c);
        }
        return c;
    }

    /**
     * model-runner's backend-specific settings, as the flags they stand for: {@code llamacpp.reasoning-budget}
     * ({@code --reasoning-budget}), {@code vllm.gpu-memory-utilization} (within [0, 1]; placement's
     * share still caps it); {@code vllm.hf-overrides} is refused (not supported yet), never ignored.
     */
    private static void backendSpecific(JsonNode body, List<String> flags) {
        JsonNode budget = body.path("llamacpp").path("reasoning-budget");
        if (!budget.isMissingNode() && !budget.isNull()) {
            if (!budget.canConvertToInt()) {
                throw new IllegalArgumentException("llamacpp.reasoning-budget must be an integer");
            }
            flags.addAll(List.of("--reasoning-budget", Integer.toString(budget.asInt())));
        }
        JsonNode utilization = body.path("vllm").path("gpu-memory-utilization");
        if (!utilization.isMissingNode() && !utilization.isNull()) {
            double u = utilization.asDouble(-1);
            if (!utilization.isNumber() || u < 0 || u > 1) {
                throw new IllegalArgumentException("vllm.gpu-memory-utilization must be a number within [0, 1]");
            }
            flags.add("--gpu-memory-utilization=" + u);
        }
        if (!body.path("vllm").path("hf-overrides").isMissingNode()) {
            throw new IllegalArgumentException("vllm.hf-overrides is not supported here yet");
        }
    }

    private static final class Refusal extends Exception {
        final transient HttpResponse response;

        Refusal(HttpResponse response) {
            super(null, null, false, false);
            this.response = response;
        }
    }
}
