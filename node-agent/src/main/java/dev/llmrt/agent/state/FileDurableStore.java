package dev.llmrt.agent.state;

import com.typesafe.config.Config;
import java.io.IOException;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Map;
import org.apache.pekko.actor.AbstractActor;
import org.apache.pekko.cluster.ddata.DurableStore;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.Serializer;
import org.apache.pekko.serialization.Serializers;

/**
 * Distributed Data's durable store ({@code pekko.cluster.distributed-data.durable.store-actor-class}),
 * one file per durable key in {@code durable.file.dir}: each write replaces the key's file atomically
 * (written aside, forced to disk, renamed), each start reads them all back before the replicator
 * serves. It keeps the replicated data itself, with its causal history, so a node that comes back
 * merges correctly: a key revoked while it was down stays revoked.
 *
 * <p>Why not Pekko's LMDB store: it needs {@code --add-opens java.base/java.nio} on every JVM that
 * runs a node, and without it the first write kills the JVM; what it keeps here is a few kilobytes
 * (keys, configurations, counts, model references) written a few times a day.
 *
 * <p>A file that can't be read fails the load: the replicator stops, and what depends on it refuses
 * (API keys answer 503) rather than starting empty.
 */
public final class FileDurableStore extends AbstractActor {
    private static final byte[] MAGIC = "llmrt-ddata-1\n".getBytes(StandardCharsets.US_ASCII);
    private final Path dir;
    private final Serialization serialization;

    public FileDurableStore(Config durable) {
        this.dir = Path.of(durable.getString("file.dir"));
        this.serialization = SerializationExtension.get(getContext().getSystem());
    }

    @Override
    public Receive createReceive() {
        return receiveBuilder()
                .match(DurableStore.LoadAll$.class, m -> loadAll())
                .match(DurableStore.Store.class, this::store)
                .build();
    }

    private void loadAll() {
        Map<String, DurableStore.DurableDataEnvelope> loaded = new HashMap<>();
        try {
            Files.createDirectories(dir);
            try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*.entry")) {
                for (Path file : files) {
                    String name = file.getFileName().toString();
                    String key = URLDecoder.decode(name.substring(0, name.length() - ".entry".length()), StandardCharsets.UTF_8);
                    loaded.put(key, read(file));
                }
            }
        } catch (IOException | RuntimeException e) {
            throw new DurableStore.LoadFailed("can't read Distributed Data's durable entries in " + dir + ": " + e, e);
        }
        if (!loaded.isEmpty()) {
            scala.collection.immutable.Map<String, DurableStore.DurableDataEnvelope> data =
                    scala.collection.immutable.Map.from(scala.jdk.javaapi.CollectionConverters.asScala(loaded));
            getSender().tell(new DurableStore.LoadData(data), getSelf());
        }
        getSender().tell(DurableStore.LoadAllCompleted$.MODULE$, getSelf());
    }

    private DurableStore.DurableDataEnvelope read(Path file) throws IOException {
        ByteBuffer in = ByteBuffer.wrap(Files.readAllBytes(file));
        byte[] magic = new byte[MAGIC.length];
        if (in.remaining() < MAGIC.length + 8) {
            throw new IOException(file + " is too short");
        }
        in.get(magic);
        if (!java.util.Arrays.equals(magic, MAGIC)) {
            throw new IOException(file + " is not a durable entry");
        }
        int serializerId = in.getInt();
        byte[] manifest = new byte[in.getInt()];
        in.get(manifest);
        byte[] bytes = new byte[in.remaining()];
        in.get(bytes);
        return (DurableStore.DurableDataEnvelope) serialization.deserialize(bytes, serializerId,
                new String(manifest, StandardCharsets.UTF_8)).get();
    }

    private void store(DurableStore.Store m) {
        try {
            DurableStore.DurableDataEnvelope envelope = m.data();
            Serializer serializer = serialization.findSerializerFor(envelope);
            byte[] manifest = Serializers.manifestFor(serializer, envelope).getBytes(StandardCharsets.UTF_8);
            byte[] bytes = serializer.toBinary(envelope);
            ByteBuffer out = ByteBuffer.allocate(MAGIC.length + 8 + manifest.length + bytes.length);
            out.put(MAGIC).putInt(serializer.identifier()).putInt(manifest.length).put(manifest).put(bytes).flip();
            Files.createDirectories(dir);
            Path file = dir.resolve(URLEncoder.encode(m.key(), StandardCharsets.UTF_8) + ".entry");
            Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                    StandardOpenOption.WRITE)) {
                while (out.hasRemaining()) {
                    ch.write(out);
                }
                ch.force(true);
            }
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            if (m.reply().isDefined()) {
                m.reply().get().replyTo().tell(m.reply().get().successMsg(), getSelf());
            }
        } catch (IOException | RuntimeException e) {
            getContext().getSystem().log().error(e, "could not store durable entry {} in {}", m.key(), dir);
            if (m.reply().isDefined()) {
                m.reply().get().replyTo().tell(m.reply().get().failureMsg(), getSelf());
            }
        }
    }
}
