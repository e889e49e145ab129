package dev.llmrt.agent.model;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import dev.llmrt.agent.store.ModelReference;
import dev.llmrt.runtime.spi.BackendConfiguration;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** The models this deployment serves, read from {@code llmrt.models} (the same on every node). */
public final class ModelCatalog {
    private final Map<String, ModelSpec> models;

    public ModelCatalog(Collection<ModelSpec> specs) {
        this(specs, Map.of());
    }

    /** @param replicas model name to its replica count (1 when absent) */
    public ModelCatalog(Collection<ModelSpec> specs, Map<String, Integer> replicas) {
        this(specs, replicas, Map.of(), Map.of());
    }

    /**
     * @param replicas    model name to its replica count, the most it may have (1 when absent)
     * @param minReplicas model name to the fewest replicas it keeps (its replica count when absent)
     * @param entries     model name to its catalog entry (for settings other modules read, e.g. queue limits)
     */
    public ModelCatalog(Collection<ModelSpec> specs, Map<String, Integer> replicas, Map<String, Integer> minReplicas,
                        Map<String, Config> entries) {
        this.replicas = Map.copyOf(replicas);
        this.minReplicas = Map.copyOf(minReplicas);
        this.entries = Map.copyOf(entries);
        Map<String, ModelSpec> byName = new LinkedHashMap<>();
        for (ModelSpec spec : specs) {
            if (byName.put(spec.name(), spec) != null) {
                throw new IllegalArgumentException("model '" + spec.name() + "' is listed twice in llmrt.models");
            }
        }
        this.models = Collections.unmodifiableMap(byName);
        this.effective = this.models;
    }

    /**
     * The configured specs, then the models from registries, with the cluster's run-time
     * configurations applied; replaced whole on each change.
     */
    private volatile Map<String, ModelSpec> effective;
    private volatile Map<String, ModelConfiguration> configurations = Map.of();
    private volatile Map<String, ModelSpec> stored = Map.of();

    /**
     * Applies the cluster's run-time configurations (model name to configuration): from now on
     * {@link #find} and {@link #all} return the models as configured. Configurations of models
     * not in the catalog are kept for {@link #configurations} but change nothing.
     */
    public synchronized void configure(Map<String, ModelConfiguration> byModel) {
        configurations = Map.copyOf(byModel);
        recompute();
    }

    /**
     * Sets the models pulled from registries (reference to spec, the file's path on this node): they
     * are served alongside the configured ones; a configured model of the same name wins.
     */
    public synchronized void stored(Map<String, ModelSpec> byReference) {
        stored = Map.copyOf(byReference);
        recompute();
    }

    private void recompute() {
        Map<String, ModelSpec> next = new LinkedHashMap<>(models);
        stored.keySet().stream().sorted().forEach(name -> next.putIfAbsent(name, stored.get(name)));
        configurations.forEach((name, c) -> next.computeIfPresent(name, (n, spec) -> c.applyTo(spec)));
        effective = Collections.unmodifiableMap(next);
    }

    /** The run-time configurations in force, by model name. */
    public Map<String, ModelConfiguration> configurations() {
        return configurations;
    }

    private final Map<String, Integer> replicas;
    private final Map<String, Integer> minReplicas;
    private final Map<String, Config> entries;

    /**
     * Reads {@code llmrt.models}: each entry has {@code name}, {@code backend}, and optionally
     * {@code model} (defaults to the name), {@code context-size}, {@code runtime-flags},
     * {@code keep-alive} (a duration, {@code 0}, or {@code -1} for never) and {@code replicas}
     * (copies placed on different nodes where they fit; requests are spread over them), or
     * {@code min-replicas} and {@code max-replicas} (gateways add replicas up to the maximum while
     * the model is overloaded, and remove idle ones down to the minimum).
     */
    public static ModelCatalog fromConfig(Config config, Duration defaultKeepAlive) {
        List<ModelSpec> specs = new ArrayList<>();
        Map<String, Integer> replicas = new LinkedHashMap<>();
        Map<String, Config> entries = new LinkedHashMap<>();
        Map<String, Integer> minReplicas = new LinkedHashMap<>();
        for (Config entry : config.getConfigList("llmrt.models")) {
            String name = entry.getString("name");
            if (name.contains(REPLICA_SEPARATOR)) {
                throw new IllegalArgumentException("llmrt.models: model name '" + name + "' may not contain '" + REPLICA_SEPARATOR + "'");
            }
            try {
                int n = entry.hasPath("replicas") ? entry.getInt("replicas") : 1;
                int min = entry.hasPath("min-replicas") ? entry.getInt("min-replicas") : n;
                int max = entry.hasPath("max-replicas") ? entry.getInt("max-replicas") : Math.max(n, min);
                if (min < 1 || max < min) {
                    throw new IllegalArgumentException("replicas must be at least 1, and max-replicas at least min-replicas");
                }
                replicas.put(name, max);
                minReplicas.put(name, min);
                entries.put(name, entry);
                Long contextSize = entry.hasPath("context-size") ? entry.getLong("context-size") : null;
                List<String> flags = entry.hasPath("runtime-flags") ? entry.getStringList("runtime-flags") : List.of();
                long keepAlive = entry.hasPath("keep-alive") ? keepAliveMillis(entry.getString("keep-alive"))
                        : defaultKeepAlive.toMillis();
                specs.add(new ModelSpec(name, entry.getString("backend"),
                        entry.hasPath("model") ? entry.getString("model") : name,
                        new BackendConfiguration(contextSize, flags, null), keepAlive));
            } catch (ConfigException | IllegalArgumentException e) {
                throw new IllegalArgumentException("llmrt.models entry '" + name + "': " + e.getMessage(), e);
            }
        }
        return new ModelCatalog(specs, replicas, minReplicas, entries);
    }

    /** The model's catalog entry as configured (empty for a model built in code). */
    public Config entry(String model) {
        return entries.getOrDefault(model, ConfigFactory.empty());
    }

    /** Separates a model's name from its replica number in entity and shard ids ({@code name#1}). */
    public static final String REPLICA_SEPARATOR = "#";

    /** How many replicas the model may have: its replica count, or its max-replicas. */
    public int replicas(String model) {
        return replicas.getOrDefault(model, 1);
    }

    /** The fewest replicas the model keeps; below {@link #replicas} when gateways may add some under load. */
    public int minReplicas(String model) {
        return minReplicas.getOrDefault(model, replicas(model));
    }

    /** The entity (and shard) id of a model's replica: the name for the first, {@code name#i} for the others. */
    public static String replicaId(String model, int replica) {
        return replica == 0 ? model : model + REPLICA_SEPARATOR + replica;
    }

    /** Which replica of its model an entity id is: 0 for the name alone, i for {@code name#i}. */
    public static int replicaOf(String replicaId) {
        int i = replicaId.lastIndexOf(REPLICA_SEPARATOR);
        if (i < 0) {
            return 0;
        }
        try {
            return Integer.parseInt(replicaId.substring(i + 1));
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    /** The model a replica's entity id belongs to. */
    public static String modelOf(String replicaId) {
        int i = replicaId.lastIndexOf(REPLICA_SEPARATOR);
        return i < 0 ? replicaId : replicaId.substring(0, i);
    }

    /** A keep-alive in milliseconds, negative = never: see {@link KeepAlive#parseMillis}. */
    public static long keepAliveMillis(String value) {
        return KeepAlive.parseMillis(value);
    }

    /**
     * The model clients call {@code name}: a configured name, or a pulled model's reference in any
     * of its forms ({@code smollm2}, {@code ai/smollm2}, {@code docker.io/ai/smollm2:latest}).
     */
    public Optional<ModelSpec> find(String name) {
        Map<String, ModelSpec> now = effective;
        ModelSpec spec = now.get(name);
        if (spec == null && !stored.isEmpty()) {
            return ModelReference.tryParse(name).map(r -> now.get(r.familiar()));
        }
        return Optional.ofNullable(spec);
    }

    /** Models in the order they were configured, then the pulled ones by reference. */
    public List<ModelSpec> all() {
        return List.copyOf(effective.values());
    }
}
