package dev.llmrt.agent.store;

import dev.llmrt.agent.CborSerializable;

/**
 * A reference's entry in the cluster's map of stored models: the model, or a tombstone saying it was
 * deleted, and when that was written. The map keeps the entry written last by {@code writtenAt}, not
 * by when a write reached it, so a node that was down while a model was deleted can't bring the model
 * back when it restarts with its old copy: the tombstone is newer. A tombstone stays (in the map and
 * in every node's saved copy) so that this holds after a restart of the whole cluster too.
 *
 * @param model     the model, or null once deleted
 * @param writtenAt when this entry was written (milliseconds since the epoch), always after the
 *                  entry it replaced, whatever the writer's clock says
 */
public record StoredEntry(StoredModel model, long writtenAt) implements CborSerializable {

    public boolean deleted() {
        return model == null;
    }

    /** The model, replacing {@code previous} (null if the reference is new here). */
    public static StoredEntry of(StoredModel model, StoredEntry previous) {
        return new StoredEntry(model, after(previous));
    }

    /** A tombstone for the reference, replacing {@code previous}. */
    public static StoredEntry tombstone(StoredEntry previous) {
        return new StoredEntry(null, after(previous));
    }

    private static long after(StoredEntry previous) {
        long now = System.currentTimeMillis();
        return previous == null ? now : Math.max(now, previous.writtenAt + 1);
    }
}
