package dev.llmrt.gateway.models;

import dev.llmrt.agent.store.ModelArtifact;
import dev.llmrt.agent.store.ModelFiles;
import dev.llmrt.agent.store.ModelReference;
import dev.llmrt.agent.store.ModelStore;
import dev.llmrt.agent.store.RegistryClient;
import dev.llmrt.agent.store.StoredModel;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Models from OCI registries, cluster-wide, for the gateway's model routes (model-runner's
 * {@code /models} and Ollama's pull and delete): pull through this node, tag, push, delete, find.
 * What it stores goes into the cluster's map, so every gateway knows it at once.
 */
public final class ModelManager {
    private static final Logger log = LoggerFactory.getLogger(ModelManager.class);

    /** What the cluster does for the manager. */
    public interface Cluster {
        /** Stores the model under its reference cluster-wide (true once a majority has it). */
        CompletionStage<Boolean> put(StoredModel model);

        /** Removes the reference cluster-wide. */
        CompletionStage<Boolean> remove(String reference);

        /** Unloads the model's runners wherever they run. */
        CompletionStage<Integer> unload(String model);
    }

    /** A failure with the HTTP status model-runner answers it with. */
    public static final class Failure extends RuntimeException {
        private final int status;

        public Failure(int status, String message) {
            super(message);
            this.status = status;
        }

        public int status() {
            return status;
        }
    }

    /** What a delete did, in model-runner's shape: the references untagged, and the id deleted if no reference is left. */
    public record Deleted(List<String> untagged, String deleted) {}

    private final ModelFiles files;
    private final Cluster cluster;
    private final Executor blocking;
    private final Executor callbacks;

    public ModelManager(ModelFiles files, Cluster cluster, Executor blocking, Executor callbacks) {
        this(files, cluster, blocking, callbacks, true);
    }

    /** @param loopbackRegistries whether registries on this host's loopback may be pulled from and pushed to */
    public ModelManager(ModelFiles files, Cluster cluster, Executor blocking, Executor callbacks, boolean loopbackRegistries) {
        this.files = files;
        this.cluster = cluster;
        this.blocking = blocking;
        this.callbacks = callbacks;
        this.loopbackRegistries = loopbackRegistries;
    }

    private final boolean loopbackRegistries;

    /** The refusal of a registry this node may not reach, before any request to it; null when it may. */
    private Failure unreachable(ModelReference ref) {
        return ref.onLoopback() && !loopbackRegistries ? new Failure(403, "the registry " + ref.registry() + " is on this "
                + "host's loopback, which is refused here (llmrt.store.allow-loopback-registries = off): a service on "
                + "loopback is not a registry to reach from the API") : null;
    }

    public Map<String, StoredModel> models() {
        return files.models();
    }

    /**
     * The first part of a pull: the reference parsed, its manifest and config read and checked. Fails
     * with 400 (malformed reference), 401, 404, 422 (not a model this service runs) or 502.
     */
    public CompletionStage<ModelFiles.Resolved> resolve(String from, String credential) {
        ModelReference ref;
        try {
            ref = ModelReference.parse(from);
        } catch (ModelReference.InvalidReference e) {
            return CompletableFuture.failedFuture(new Failure(400, "Invalid model reference: " + e.getMessage()));
        }
        Failure refused = unreachable(ref);
        if (refused != null) {
            return CompletableFuture.failedFuture(refused);
        }
        return CompletableFuture.supplyAsync(() -> {
            try {
                return files.resolve(ref, credential);
            } catch (ModelArtifact.Unsupported e) {
                throw new Failure(422, e.getMessage());
            } catch (IOException e) {
                throw failure(e, ref);
            }
        }, blocking);
    }

    /** The second part: the file downloaded (peer or registry), verified, and the model stored cluster-wide. */
    public CompletionStage<StoredModel> fetch(ModelFiles.Resolved resolved, ModelFiles.Progress progress) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return files.fetchFile(resolved, progress);
            } catch (ModelArtifact.Unsupported e) {
                throw new Failure(422, e.getMessage());
            } catch (IOException e) {
                throw failure(e, resolved.ref());
            }
        }, blocking).thenComposeAsync(m -> cluster.put(m).thenApplyAsync(majority -> {
            if (!majority) {
                log.warn("model {} is stored, but a majority of nodes did not confirm it in time; it spreads by gossip", m.reference());
            }
            log.info("pulled {} ({}, {} bytes)", m.reference(), m.id(), m.ggufSize());
            return m;
        }, callbacks), callbacks);
    }

    private static Failure failure(IOException e, ModelReference ref) {
        if (e instanceof RegistryClient.RegistryException r) {
            return switch (r.kind()) {
                case NOT_FOUND -> new Failure(404, "Model not found: " + ref.familiar() + " (" + e.getMessage() + ")");
                case UNAUTHORIZED -> new Failure(401, "Unauthorized: " + e.getMessage());
                case FAILED -> new Failure(502, e.getMessage());
            };
        }
        if (e instanceof ModelStore.DigestMismatch) {
            return new Failure(502, "download of " + ref.familiar() + " refused: " + e.getMessage());
        }
        return new Failure(502, "registry " + ref.registry() + " could not be read: " + e);
    }

    /** A stored model by reference in any form, by id, or by short id (12 or more hex digits). */
    public Optional<StoredModel> find(String name) {
        Map<String, StoredModel> all = files.models();
        Optional<StoredModel> byRef = ModelReference.tryParse(name).map(r -> all.get(r.familiar()));
        if (byRef.isPresent()) {
            return byRef;
        }
        String id = name.startsWith("sha256:") ? name : "sha256:" + name;
        if (id.length() >= "sha256:".length() + 12) {
            return all.values().stream().filter(m -> m.id().startsWith(id)).findFirst();
        }
        return Optional.empty();
    }

    /** The model with {@code id} under each of its references, sorted by reference. */
    public List<StoredModel> withId(String id) {
        return files.models().values().stream().filter(m -> m.id().equals(id))
                .sorted(Comparator.comparing(StoredModel::reference)).toList();
    }

    /** Models with their references, one entry per id, newest first. */
    public List<List<StoredModel>> byId() {
        Map<String, List<StoredModel>> grouped = new TreeMap<>();
        files.models().values().forEach(m -> grouped.computeIfAbsent(m.id(), k -> new ArrayList<>()).add(m));
        List<List<StoredModel>> out = new ArrayList<>(grouped.values());
        out.forEach(l -> l.sort(Comparator.comparing(StoredModel::reference)));
        out.sort(Comparator.comparingLong((List<StoredModel> l) -> l.get(0).created()).reversed());
        return out;
    }

    /** Adds {@code target} as another reference of {@code source}'s model. */
    public CompletionStage<String> tag(String source, String target) {
        Optional<StoredModel> m = find(source);
        if (m.isEmpty()) {
            return CompletableFuture.failedFuture(new Failure(404, "model not found: " + source));
        }
        ModelReference ref;
        try {
            ref = ModelReference.parse(target);
        } catch (ModelReference.InvalidReference e) {
            return CompletableFuture.failedFuture(new Failure(400, "Invalid model reference: " + e.getMessage()));
        }
        return cluster.put(m.get().as(ref.familiar())).thenApplyAsync(ok -> ref.familiar(), callbacks);
    }

    /**
     * Deletes a reference, or by id every reference of the model (which needs {@code force} when
     * it has several, as model-runner asks). Its runners are unloaded first.
     */
    public CompletionStage<Deleted> delete(String name, boolean force) {
        Optional<StoredModel> m = find(name);
        if (m.isEmpty()) {
            return CompletableFuture.failedFuture(new Failure(404, "model not found: " + name));
        }
        List<String> references = withId(m.get().id()).stream().map(StoredModel::reference).toList();
        Optional<String> asReference = name.startsWith("sha256:") ? Optional.empty()
                : ModelReference.tryParse(name).map(ModelReference::familiar).filter(references::contains);
        boolean byReference = asReference.isPresent();
        List<String> untag = asReference.map(List::of).orElse(references);
        if (!byReference && references.size() > 1 && !force) {
            return CompletableFuture.failedFuture(new Failure(409, "unable to delete " + name + " (must be forced) due to "
                    + "multiple tag references: " + references));
        }
        String deleted = untag.size() == references.size() ? m.get().id() : null;
        CompletionStage<?> chain = CompletableFuture.completedFuture(null);
        for (String reference : untag) {
            chain = chain.thenComposeAsync(x -> cluster.unload(reference), callbacks)
                    .thenComposeAsync(x -> cluster.remove(reference), callbacks);
        }
        return chain.thenApplyAsync(x -> new Deleted(untag, deleted), callbacks);
    }

    /** Pushes the stored model {@code name} to the registry its reference names. */
    public CompletionStage<StoredModel> push(String name, String credential, ModelFiles.Progress progress) {
        ModelReference ref;
        try {
            ref = ModelReference.parse(name);
        } catch (ModelReference.InvalidReference e) {
            return CompletableFuture.failedFuture(new Failure(400, "Invalid model reference: " + e.getMessage()));
        }
        Failure refused = unreachable(ref);
        if (refused != null) {
            return CompletableFuture.failedFuture(refused);
        }
        Optional<StoredModel> m = find(name);
        if (m.isEmpty()) {
            return CompletableFuture.failedFuture(new Failure(404, "Model not found: " + name));
        }
        return CompletableFuture.supplyAsync(() -> {
            try {
                files.push(m.get(), ref, credential, progress);
                return m.get();
            } catch (IOException e) {
                throw failure(e, ref);
            }
        }, blocking);
    }

    /** The failure behind a stage's exception, as a {@link Failure}. */
    public static Failure unwrap(Throwable t) {
        Throwable cause = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
        return cause instanceof Failure f ? f : new Failure(500, String.valueOf(cause.getMessage()));
    }
}
