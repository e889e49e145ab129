package dev.llmrt.agent.model;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import dev.llmrt.runtime.spi.BackendConfiguration;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
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
        this.models = Map.copyOf(byName);
        this.order = List.copyOf(byName.keySet());
    }

    private final List<String> order;
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

    /** The model a replica's entity id belongs to. */
    public static String modelOf(String replicaId) {
        int i = replicaId.lastIndexOf(REPLICA_SEPARATOR);
        return i < 0 ? replicaId : replicaId.substring(0, i);
    }

    /**
     * model-runner's keep_alive forms: {@code "5m"}, {@code "1h"}, {@code "30s"}, {@code "0"} (unload
     * after the last request), any negative number (never unload). Returns milliseconds, negative = never.
     */
    public static long keepAliveMillis(String value) {
        String v = value.trim();
        if (v.startsWith("-")) {
            return -1;
        }
        if (v.equals("0")) {
            return 0;
        }
        try {
            return com.typesafe.config.ConfigFactory.parseString("d = " + v).getDuration("d").toMillis();
        } catch (ConfigException e) {
            throw new IllegalArgumentException("keep-alive '" + value + "' is not a duration like 5m, 0 or -1");
        }
    }

    public Optional<ModelSpec> find(String name) {
        return Optional.ofNullable(models.get(name));
    }

    /** Models in the order they were configured. */
    public List<ModelSpec> all() {
        return order.stream().map(models::get).toList();
    }
}
