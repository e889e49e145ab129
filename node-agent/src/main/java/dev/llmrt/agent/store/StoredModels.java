package dev.llmrt.agent.store;

import dev.llmrt.agent.ReplicatedMap;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Consumer;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.cluster.ddata.Key;
import org.apache.pekko.cluster.ddata.LWWMap;
import org.apache.pekko.cluster.ddata.LWWMapKey;

/**
 * The cluster's models from registries, by reference, and which node holds which blob: both shared
 * through Distributed Data, so a model pulled through one gateway is known to every gateway at once.
 * A deleted model leaves a tombstone ({@link StoredEntry}), so a node that missed the delete can't revive it.
 */
public final class StoredModels {
    public static final Key<LWWMap<String, StoredEntry>> MODELS = LWWMapKey.create("llmrt-stored-models");
    public static final Key<LWWMap<String, BlobHolder>> HOLDERS = LWWMapKey.create("llmrt-blob-holders");

    private StoredModels() {}

    /** The models by reference, tombstones of deleted ones too: the latest written wins each reference. */
    public static Behavior<ReplicatedMap.Command<StoredEntry>> models(Consumer<Map<String, StoredEntry>> changed) {
        return ReplicatedMap.create(MODELS, changed, StoredEntry::writtenAt);
    }

    /** The models that are not deleted. */
    public static Map<String, StoredModel> live(Map<String, StoredEntry> entries) {
        Map<String, StoredModel> live = new HashMap<>();
        entries.forEach((reference, e) -> {
            if (!e.deleted()) {
                live.put(reference, e.model());
            }
        });
        return live;
    }

    public static Behavior<ReplicatedMap.Command<BlobHolder>> holders(Consumer<Map<String, BlobHolder>> changed) {
        return ReplicatedMap.create(HOLDERS, changed);
    }
}
