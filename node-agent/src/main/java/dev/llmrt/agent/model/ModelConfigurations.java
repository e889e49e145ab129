package dev.llmrt.agent.model;

import dev.llmrt.agent.ReplicatedMap;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.cluster.ddata.Key;
import org.apache.pekko.cluster.ddata.LWWMap;
import org.apache.pekko.cluster.ddata.LWWMapKey;

/**
 * The cluster's run-time model configurations, shared through Distributed Data (a map keyed by
 * model): every node's catalog applies them as they change, so every gateway routes and every agent
 * starts runners with the same settings, and a configuration outlives the node that took it.
 */
public final class ModelConfigurations {
    public static final Key<LWWMap<String, ModelConfiguration>> KEY = LWWMapKey.create("llmrt-model-configurations");

    private ModelConfigurations() {}

    /** Keeps {@code catalog} configured as the cluster says; takes puts from the gateway's _configure. */
    public static Behavior<ReplicatedMap.Command<ModelConfiguration>> create(ModelCatalog catalog) {
        return ReplicatedMap.create(KEY, catalog::configure);
    }
}
