package dev.llmrt.agent.store;

import dev.llmrt.agent.ReplicatedMap;
import java.util.Map;
import java.util.function.Consumer;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.cluster.ddata.Key;
import org.apache.pekko.cluster.ddata.LWWMap;
import org.apache.pekko.cluster.ddata.LWWMapKey;

/**
 * The cluster's models from registries, by reference, and which node holds which blob: both shared
 * through Distributed Data, so a model pulled through one gateway is known to every gateway at once.
 */
public final class StoredModels {
    public static final Key<LWWMap<String, StoredModel>> MODELS = LWWMapKey.create("llmrt-stored-models");
    public static final Key<LWWMap<String, BlobHolder>> HOLDERS = LWWMapKey.create("llmrt-blob-holders");

    private StoredModels() {}

    public static Behavior<ReplicatedMap.Command<StoredModel>> models(Consumer<Map<String, StoredModel>> changed) {
        return ReplicatedMap.create(MODELS, changed);
    }

    public static Behavior<ReplicatedMap.Command<BlobHolder>> holders(Consumer<Map<String, BlobHolder>> changed) {
        return ReplicatedMap.create(HOLDERS, changed);
    }
}
