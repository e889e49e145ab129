package dev.llmrt.agent.store;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import java.util.function.LongConsumer;
import java.util.stream.Stream;

/**
 * A node's content-addressed model store: blobs under {@code blobs/sha256/<hex>}, each written to
 * {@code tmp/} first and moved into place only once its digest is verified, so a half-downloaded
 * or corrupted file is never used. {@code headers/} holds the first bytes of GGUF files this node
 * doesn't hold yet (what memory estimates read). {@code models.json} keeps this node's copy of the
 * cluster's stored models, to bring them back when the cluster restarts.
 */
public final class ModelStore {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Path dir;

    /** A blob whose bytes did not hash to its digest (or were not as long as declared). */
    public static final class DigestMismatch extends IOException {
        public DigestMismatch(String message) {
            super(message);
        }
    }

    public ModelStore(Path dir) {
        this.dir = dir.toAbsolutePath();
    }

    public Path dir() {
        return dir;
    }

    /**
     * Removes downloads a node left half-done in {@code tmp/} (it died, or its JVM was killed): those
     * not written to for {@code olderThan} (a download in progress writes every second). Returns how many.
     */
    public int removePartials(java.time.Duration olderThan) {
        Path tmpDir = dir.resolve("tmp");
        if (!Files.isDirectory(tmpDir)) {
            return 0;
        }
        int removed = 0;
        long before = System.currentTimeMillis() - olderThan.toMillis();
        try (java.nio.file.DirectoryStream<Path> files = Files.newDirectoryStream(tmpDir)) {
            for (Path f : files) {
                if (Files.getLastModifiedTime(f).toMillis() < before && Files.deleteIfExists(f)) {
                    removed++;
                }
            }
        } catch (IOException e) {
            // best effort: what is left is removed at a later start
        }
        return removed;
    }

    /** Where the blob is, or would be once written. */
    public Path blob(String digest) {
        return dir.resolve("blobs").resolve("sha256").resolve(Digests.hex(digest));
    }

    public boolean has(String digest) {
        return Files.isRegularFile(blob(digest));
    }

    /** Where the first bytes of a GGUF blob (its header) are kept while the blob itself isn't here. */
    public Path header(String digest) {
        return dir.resolve("headers").resolve("sha256").resolve(Digests.hex(digest));
    }

    /**
     * Writes {@code in} as the blob {@code digest}: the bytes must hash to it (and number
     * {@code size}, unless negative) or nothing is stored. Returns the blob's path.
     */
    public Path write(String digest, long size, InputStream in, LongConsumer progress) throws IOException {
        Path target = blob(digest);
        Path tmp = temp();
        MessageDigest md = Digests.newSha256();
        long written = 0;
        try (OutputStream out = Files.newOutputStream(tmp)) {
            byte[] buf = new byte[1 << 20];
            for (int n; (n = in.read(buf)) > 0; ) {
                if (size >= 0 && written + n > size) {
                    // a source that sends more than the manifest declared is cut here, not when the disk is full
                    throw new DigestMismatch("blob " + digest + " was refused: its source sent more than the " + size
                            + " bytes declared");
                }
                md.update(buf, 0, n);
                out.write(buf, 0, n);
                written += n;
                progress.accept(written);
            }
        } catch (IOException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        String actual = Digests.of(md);
        if (!actual.equals(digest) || (size >= 0 && written != size)) {
            Files.deleteIfExists(tmp);
            throw new DigestMismatch("blob " + digest + " was refused: its " + written + " bytes hash to " + actual
                    + (size >= 0 && written != size ? " and " + size + " were declared" : ""));
        }
        moveIntoPlace(tmp, target);
        return target;
    }

    /** Keeps the first bytes of a GGUF blob this node doesn't hold, for memory estimates. */
    public Path writeHeader(String digest, byte[] bytes) throws IOException {
        Path tmp = temp();
        Files.write(tmp, bytes);
        Path target = header(digest);
        moveIntoPlace(tmp, target);
        return target;
    }

    public void delete(String digest) throws IOException {
        Files.deleteIfExists(blob(digest));
        Files.deleteIfExists(header(digest));
    }

    /** Bytes of every blob this node holds. */
    public long diskUsage() {
        Path blobs = dir.resolve("blobs");
        if (!Files.isDirectory(blobs)) {
            return 0;
        }
        try (Stream<Path> files = Files.walk(blobs)) {
            return files.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
        } catch (IOException e) {
            return 0;
        }
    }

    /** Saves this node's copy of the cluster's stored models, tombstones included. */
    public void saveModels(Map<String, StoredEntry> models) throws IOException {
        Path tmp = temp();
        JSON.writerWithDefaultPrettyPrinter().writeValue(tmp.toFile(), models);
        moveIntoPlace(tmp, dir.resolve("models.json"));
    }

    /**
     * The stored models saved last (empty on a new node). A copy saved before tombstones (each value a
     * model) reads as models written when they were created.
     */
    public Map<String, StoredEntry> loadModels() throws IOException {
        Path file = dir.resolve("models.json");
        if (!Files.isRegularFile(file)) {
            return Map.of();
        }
        Map<String, StoredEntry> out = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : JSON.readTree(file.toFile()).properties()) {
            JsonNode value = e.getValue();
            out.put(e.getKey(), value.has("writtenAt") ? JSON.treeToValue(value, StoredEntry.class)
                    : new StoredEntry(JSON.treeToValue(value, StoredModel.class), value.path("created").asLong() * 1000));
        }
        return out;
    }

    private Path temp() throws IOException {
        Path tmpDir = dir.resolve("tmp");
        Files.createDirectories(tmpDir);
        return tmpDir.resolve(UUID.randomUUID() + ".partial");
    }

    private static void moveIntoPlace(Path tmp, Path target) throws IOException {
        Files.createDirectories(target.getParent());
        try {
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
        }
    }
}
