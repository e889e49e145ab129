package dev.llmrt.agent.store;

import dev.llmrt.runtime.gguf.GgufReader;
import dev.llmrt.runtime.spi.GgufParseException;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A node's side of models from registries: pulls and pushes them, and brings a model's file to this
 * node before its runner starts: from a peer that holds it when one does (faster than the registry,
 * and it spares the registry's bandwidth), else from the registry. Concurrent needs for one blob
 * share one download. Every blob is verified against its digest before it is used.
 */
public final class ModelFiles implements LocalFiles {
    private static final Logger log = LoggerFactory.getLogger(ModelFiles.class);

    /** Hears how a transfer goes: bytes done of the blob's total. */
    public interface Progress {
        void update(String digest, long current, long total);

        Progress NONE = (d, c, t) -> {};
    }

    /** How many blobs came from where, for tests and the operator. */
    public record Fetches(long fromPeers, long fromRegistries) {}

    private final ModelStore store;
    private final RegistryClient registry;
    private final HttpClient peers;
    /** Peers over HTTPS, one client per pinned certificate. */
    private final Map<String, HttpClient> pinnedPeers = new ConcurrentHashMap<>();
    private final Duration timeout;
    private final Executor blocking;
    private final String node;
    private final Supplier<PeerAccess> self;
    private final Consumer<BlobHolder> announce;
    private final Consumer<BlobHolder> withdraw;
    private final Supplier<List<String>> catalogHeld;
    private final Map<String, CompletableFuture<Path>> downloads = new ConcurrentHashMap<>();
    private final AtomicLong fromPeers = new AtomicLong();
    private final AtomicLong fromRegistries = new AtomicLong();
    private volatile Map<String, StoredEntry> entries = Map.of();
    private volatile Map<String, StoredModel> models = Map.of();
    private volatile Map<String, List<BlobHolder>> holders = Map.of();

    /**
     * @param node        this node's cluster address
     * @param self        how peers fetch blobs from this node (its HTTP server, its token, its certificate)
     * @param announce    tells the cluster that this node holds a blob
     * @param withdraw    tells the cluster it no longer does
     * @param catalogHeld the catalog models (configured and pulled) whose files are on this node
     */
    public ModelFiles(ModelStore store, RegistryClient registry, Duration timeout, Executor blocking, String node,
                      Supplier<PeerAccess> self, Consumer<BlobHolder> announce, Consumer<BlobHolder> withdraw,
                      Supplier<List<String>> catalogHeld) {
        this.store = store;
        this.registry = registry;
        this.timeout = timeout;
        this.peers = HttpClient.newBuilder().connectTimeout(timeout).version(HttpClient.Version.HTTP_1_1).build();
        this.blocking = blocking;
        this.node = node;
        this.self = self;
        this.announce = announce;
        this.withdraw = withdraw;
        this.catalogHeld = catalogHeld;
    }

    public Fetches fetches() {
        return new Fetches(fromPeers.get(), fromRegistries.get());
    }

    /** The cluster's stored models, by reference. */
    public Map<String, StoredModel> models() {
        return models;
    }

    /** The reference's entry in the cluster's map (a model or a tombstone), or null: what a new entry replaces. */
    public StoredEntry entry(String reference) {
        return entries.get(reference);
    }

    /**
     * The cluster's stored models changed: keep this node's copy, tombstones too (to restore after a
     * restart), and delete blobs that a model no longer referenced had here.
     */
    public void modelsChanged(Map<String, StoredEntry> all) {
        Map<String, StoredModel> now = StoredModels.live(all);
        Set<String> before = models.values().stream().map(StoredModel::ggufDigest).collect(Collectors.toSet());
        Set<String> still = now.values().stream().map(StoredModel::ggufDigest).collect(Collectors.toSet());
        entries = Map.copyOf(all);
        models = Map.copyOf(now);
        try {
            store.saveModels(all);
        } catch (IOException e) {
            log.warn("could not save the stored models to {}: {}", store.dir(), e.toString());
        }
        for (String digest : before) {
            if (!still.contains(digest) && store.has(digest)) {
                try {
                    store.delete(digest);
                    withdraw.accept(new BlobHolder(digest, node, PeerAccess.NONE));
                    log.info("deleted blob {}: no stored model uses it any more", digest);
                } catch (IOException e) {
                    log.warn("could not delete blob {}: {}", digest, e.toString());
                }
            }
        }
    }

    /** Which nodes hold which blobs changed. */
    public void holdersChanged(Map<String, BlobHolder> now) {
        holders = now.values().stream().collect(Collectors.groupingBy(BlobHolder::digest));
    }

    /** Tells the cluster which blobs of the stored models this node holds (at start). */
    public void announceHeld(Iterable<StoredModel> saved) {
        for (StoredModel m : saved) {
            if (store.has(m.ggufDigest())) {
                announce.accept(new BlobHolder(m.ggufDigest(), node, self.get()));
            }
        }
    }

    /** The stored model whose file this node keeps at {@code path}, if {@code path} is in the store. */
    public Optional<StoredModel> byPath(String path) {
        for (StoredModel m : models.values()) {
            if (store.blob(m.ggufDigest()).toString().equals(path)) {
                return Optional.of(m);
            }
        }
        return Optional.empty();
    }

    /** Where this node keeps (or will keep) a stored model's file: the path its runner is given. */
    public Path pathOf(StoredModel m) {
        return store.blob(m.ggufDigest());
    }

    @Override
    public String forEstimate(String model) throws Unavailable {
        Optional<StoredModel> stored = byPath(model);
        if (stored.isEmpty() || store.has(stored.get().ggufDigest())) {
            return model;
        }
        StoredModel m = stored.get();
        Path header = store.header(m.ggufDigest());
        if (Files.isRegularFile(header)) {
            return header.toString();
        }
        try {
            byte[] bytes = headerBytes(m);
            return store.writeHeader(m.ggufDigest(), bytes).toString();
        } catch (IOException e) {
            throw new Unavailable("the header of " + m.reference() + " could not be read from a peer or "
                    + m.source() + ": " + e.getMessage());
        }
    }

    private byte[] headerBytes(StoredModel m) throws IOException {
        for (BlobHolder peer : peersHolding(m.ggufDigest())) {
            try {
                HttpResponse<InputStream> r = fromPeer(peer, "bytes=0-" + (m.headerBytes() - 1));
                try (InputStream in = r.body()) {
                    if (r.statusCode() == 206 || r.statusCode() == 200) {
                        return in.readNBytes((int) m.headerBytes());
                    }
                }
            } catch (IOException e) {
                log.debug("header of {} not read from {}: {}", m.ggufDigest(), peer.access().url(), e.toString());
            }
        }
        return registry.blobStart(ModelReference.parse(m.source()), m.ggufDigest(), m.headerBytes(), null);
    }

    /** Over HTTPS, a client that trusts exactly the certificate the peer announced. */
    private HttpClient clientFor(PeerAccess at) {
        if (!at.https()) {
            return peers;
        }
        return pinnedPeers.computeIfAbsent(at.certSha256(), pin -> HttpClient.newBuilder().connectTimeout(timeout)
                .version(HttpClient.Version.HTTP_1_1).sslContext(PinnedTls.trusting(pin)).build());
    }

    /** A GET of the peer's blob ({@code range}: a Range header's value, or null for the whole). */
    private HttpResponse<InputStream> fromPeer(BlobHolder peer, String range) throws IOException {
        PeerAccess at = peer.access();
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(at.url() + "/store/blobs/" + peer.digest())).timeout(timeout)
                .header("Authorization", "Bearer " + at.token()).GET();
        if (range != null) {
            b.header("Range", range);
        }
        try {
            return clientFor(at).send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }

    @Override
    public String ensure(String model) throws Unavailable {
        Optional<StoredModel> stored = byPath(model);
        if (stored.isEmpty() || store.has(stored.get().ggufDigest())) {
            return model;
        }
        try {
            return download(stored.get(), Progress.NONE).join().toString();
        } catch (CompletionException e) {
            throw new Unavailable("the file of " + stored.get().reference() + " could not be fetched: "
                    + (e.getCause() == null ? e : e.getCause()).getMessage());
        }
    }

    @Override
    public long storeBytes() {
        return store.diskUsage();
    }

    @Override
    public boolean inStore(String path) {
        return Path.of(path).toAbsolutePath().startsWith(store.dir());
    }

    @Override
    public List<String> held() {
        return catalogHeld.get(); // the catalog's pulled models have their store paths: held when the blob is here
    }

    /**
     * Brings the model's file to this node (from a peer, else its registry) unless it is here.
     * Concurrent calls for one blob share one download; only the first one's {@code progress} hears it.
     */
    public CompletableFuture<Path> download(StoredModel m, Progress progress) {
        if (store.has(m.ggufDigest())) {
            return CompletableFuture.completedFuture(store.blob(m.ggufDigest()));
        }
        CompletableFuture<Path> mine = new CompletableFuture<>();
        CompletableFuture<Path> running = downloads.putIfAbsent(m.ggufDigest(), mine);
        if (running != null) {
            return running;
        }
        CompletableFuture.runAsync(() -> {
            try {
                mine.complete(fetch(m, progress));
            } catch (IOException | RuntimeException e) {
                mine.completeExceptionally(e);
            } finally {
                downloads.remove(m.ggufDigest(), mine);
            }
        }, blocking);
        return mine;
    }

    private Path fetch(StoredModel m, Progress progress) throws IOException {
        String digest = m.ggufDigest();
        long started = System.nanoTime();
        for (BlobHolder peer : peersHolding(digest)) {
            try {
                HttpResponse<InputStream> r = fromPeer(peer, null);
                try (InputStream in = r.body()) {
                    if (r.statusCode() != 200) {
                        throw new IOException("HTTP " + r.statusCode());
                    }
                    return received(m, in, progress, fromPeers, "peer " + peer.node(), started);
                }
            } catch (IOException e) {
                log.warn("could not fetch {} from peer {} ({}); trying the next source", digest, peer.node(), e.toString());
            }
        }
        ModelReference source = ModelReference.parse(m.source());
        log.debug("no peer could give {}; fetching it from {}", digest, source.registry());
        try (InputStream in = registry.blob(source, digest, null)) {
            return received(m, in, progress, fromRegistries, source.registry(), started);
        }
    }

    /** Stores the model's file from {@code in} (verified), counts where it came from, and says this node holds it. */
    private Path received(StoredModel m, InputStream in, Progress progress, AtomicLong count, String from, long started)
            throws IOException {
        String digest = m.ggufDigest();
        Path path = store.write(digest, m.ggufSize(), in, n -> progress.update(digest, n, m.ggufSize()));
        count.incrementAndGet();
        log.info("fetched {} ({}, {} bytes) from {} in {} ms", m.reference(), digest, m.ggufSize(), from,
                (System.nanoTime() - started) / 1_000_000);
        held(digest);
        return path;
    }

    private void held(String digest) {
        announce.accept(new BlobHolder(digest, node, self.get()));
    }

    private List<BlobHolder> peersHolding(String digest) {
        return holders.getOrDefault(digest, List.of()).stream().filter(h -> !h.node().equals(node) && !h.access().url().isEmpty()).toList();
    }

    /** A model whose manifest and config were read and found runnable, before its file is downloaded. */
    public record Resolved(ModelReference ref, StoredModel model) {}

    /**
     * The first part of a pull: reads {@code ref}'s manifest and config from its registry and checks
     * that this service can run it, downloading nothing big. Throws {@link ModelArtifact.Unsupported}
     * for an artifact this service can't run, {@link RegistryClient.RegistryException} for what the
     * registry refused.
     */
    public Resolved resolve(ModelReference ref, String credential) throws IOException, ModelArtifact.Unsupported {
        RegistryClient.Manifest manifest = registry.manifest(ref, credential);
        ModelArtifact.Layers layers = ModelArtifact.layers(manifest.bytes());
        byte[] config;
        try (InputStream in = registry.blob(ref, layers.config().digest(), credential)) {
            config = in.readNBytes(16 << 20);
        }
        if (!Digests.sha256(config).equals(layers.config().digest())) {
            throw new ModelStore.DigestMismatch("the config blob of " + ref.familiar() + " does not match its digest "
                    + layers.config().digest());
        }
        return new Resolved(ref, new StoredModel(ref.familiar(), ref.registry() + "/" + ref.repository() + "@" + manifest.digest(),
                manifest.digest(), new String(manifest.bytes(), StandardCharsets.UTF_8), new String(config, StandardCharsets.UTF_8),
                layers.gguf().digest(), layers.gguf().size(), 0, ModelArtifact.created(config)));
    }

    /**
     * The second part of a pull: brings the model's GGUF file here (from a peer that holds it, else
     * the registry), verified by digest, and reads where its header ends.
     */
    public StoredModel fetchFile(Resolved resolved, Progress progress) throws IOException, ModelArtifact.Unsupported {
        StoredModel m = resolved.model();
        Path file;
        try {
            file = download(m, progress).join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            throw e;
        }
        try {
            long headerBytes = GgufReader.read(file).dataOffset();
            return new StoredModel(m.reference(), m.source(), m.manifestDigest(), m.manifest(), m.config(), m.ggufDigest(),
                    m.ggufSize(), headerBytes, m.created());
        } catch (GgufParseException e) {
            store.delete(m.ggufDigest());
            throw new ModelArtifact.Unsupported("the layer of media type " + ModelArtifact.GGUF + " is not a GGUF file: "
                    + e.getMessage());
        }
    }

    /** Pushes a stored model to {@code target}'s registry under its tag. */
    public void push(StoredModel m, ModelReference target, String credential, Progress progress) throws IOException {
        Path file;
        try {
            file = download(m, Progress.NONE).join();
        } catch (CompletionException e) {
            throw new IOException("the model's file is not on this node and could not be fetched: " + e.getCause().getMessage(), e);
        }
        byte[] config = m.config().getBytes(StandardCharsets.UTF_8);
        byte[] manifest = m.manifest().getBytes(StandardCharsets.UTF_8);
        ModelArtifact.Layers layers;
        try {
            layers = ModelArtifact.layers(manifest);
        } catch (ModelArtifact.Unsupported e) {
            throw new IOException(e.getMessage(), e);
        }
        registry.pushBlob(target, layers.gguf(), file, n -> progress.update(m.ggufDigest(), n, m.ggufSize()), credential);
        registry.pushBlob(target, layers.config(), config, credential);
        registry.pushManifest(target, ModelArtifact.MANIFEST_OCI, manifest, credential);
    }

    /** Pushes a GGUF file as a new model artifact straight to a registry (no node involved): the CLI's push. */
    public static ModelArtifact.Built pushFile(RegistryClient registry, Path gguf, ModelReference target, String credential,
                                              Progress progress) throws IOException, GgufParseException {
        ModelArtifact.Built built = ModelArtifact.fromGguf(gguf);
        registry.pushBlob(target, built.gguf(), gguf, n -> progress.update(built.gguf().digest(), n, built.gguf().size()), credential);
        registry.pushBlob(target, built.configBlob(), built.config(), credential);
        registry.pushManifest(target, ModelArtifact.MANIFEST_OCI, built.manifest(), credential);
        return built;
    }
}
