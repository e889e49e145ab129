package dev.llmrt.deploy;

import static dev.llmrt.testing.Eventually.eventually;
import static dev.llmrt.testing.Eventually.eventuallyGet;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llmrt.agent.store.Digests;
import dev.llmrt.agent.store.ModelArtifact;
import dev.llmrt.agent.store.ModelReference;
import dev.llmrt.agent.store.RegistryClient;
import dev.llmrt.runtime.gguf.TinyLlamaModel;
import dev.llmrt.runtime.llamacpp.LlamaCppBackend;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Models as OCI artifacts through a real registry (Debian's docker-registry on loopback): a GGUF
 * pushed with {@code llmrt models push --gguf}, pulled through {@code POST /models/create}, run by
 * llama-server; a second node placed to run it gets the file from its peer, not the registry; a
 * corrupted blob, an unsupported media type and a malformed reference are refused with the reason.
 */
class ModelRegistryTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** The nodes with HTTPS in {@link #aSecondNodeGetsTheFileFromItsPeerNotTheRegistry} have keys on: this one is theirs. */
    private static final String ADMIN_KEY = "sk-llmrt-registry-test-admin";
    private static HttpClient https;
    private static OciRegistry registry;
    private static Path work;

    @BeforeAll
    static void start() throws Exception {
        Optional<Path> binary = LlamaCppBackend.locate("");
        assertTrue(binary.isPresent() && Files.isExecutable(binary.get()), "llama-server not found: " + LlamaCppBackend.INSTALL_HINT);
        registry = OciRegistry.start();
        work = Files.createTempDirectory("llmrt-models-test");
    }

    @AfterAll
    static void stop() throws Exception {
        if (registry != null) {
            registry.close();
        }
        if (work != null) {
            try (Stream<Path> files = Files.walk(work)) {
                files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }

    /** A tiny llama GGUF, different per seed. */
    private static Path gguf(String name, long seed) throws Exception {
        Path file = work.resolve(name + ".gguf");
        TinyLlamaModel.Shape d = TinyLlamaModel.Shape.DEFAULT;
        Files.write(file, TinyLlamaModel.generate(new TinyLlamaModel.Shape(d.nEmbd(), d.nLayer(), d.nHead(), d.nHeadKv(),
                d.nFf(), d.contextLength(), seed)).toBytes());
        return file;
    }

    /** {@code llmrt models push --gguf FILE REF}, as a user runs it. */
    private static String pushWithCli(Path file, String ref) {
        String[] run = cli("models", "push", "--gguf", file.toString(), ref);
        assertEquals("0", run[0], run[1] + run[2]);
        return run[1];
    }

    /** Runs the CLI as a user does: {exit code, stdout, stderr}. */
    private static String[] cli(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream savedOut = System.out;
        PrintStream savedErr = System.err;
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        int rc;
        try {
            rc = Main.commandLine().execute(args);
        } finally {
            System.setOut(savedOut);
            System.setErr(savedErr);
        }
        return new String[] {Integer.toString(rc), out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8)};
    }

    private static final String NODE = """
            llmrt.store.dir = "%s"
            llmrt.agent.model-ram = 0
            llmrt.store.backend = "llama.cpp"
            llmrt.models = [ { name = "sim-model", backend = "sim" } ]
            """;

    /** A node's settings, with its own store under the test's directory (no RAM for models: placement picks GPUs). */
    private static String node(String store) {
        return NODE.formatted(work.resolve(store));
    }

    /** Starts a node with its own store: its gateway's base URL. */
    private static String start(InJvmCluster cluster, String store) throws Exception {
        return TestHttp.local(cluster.start(node(store)).port());
    }

    /** Over HTTPS, with the test's admin key (the HTTPS nodes have keys on). */
    private static HttpResponse<String> send(String base, String method, String path, String body, String accept) throws Exception {
        boolean secure = base.startsWith("https://");
        HttpRequest request = TestHttp.request(base, method, path, body, "Accept", accept,
                "Authorization", secure ? "Bearer " + ADMIN_KEY : null).build();
        return (secure ? https : TestHttp.CLIENT).send(request, HttpResponse.BodyHandlers.ofString());
    }

    private static HttpResponse<String> pull(String base, String ref, String accept) throws Exception {
        return send(base, "POST", "/models/create", "{\"from\":\"" + ref + "\"}", accept);
    }

    private static HttpResponse<String> chat(String base, String model) throws Exception {
        return send(base, "POST", "/v1/chat/completions", "{\"model\":\"" + model + "\",\"max_tokens\":4,\"temperature\":0,"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}", null);
    }

    /** The node's {@code llmrt_model_fetches_total} from {@code source} (peer or registry). */
    private static double fetches(String base, String source) throws Exception {
        String text = send(base, "GET", "/metrics", null, null).body();
        Matcher m = Pattern.compile("(?m)^llmrt_model_fetches_total\\{[^}]*source=\"" + source + "\"[^}]*\\} ([0-9.eE+-]+)$").matcher(text);
        return m.find() ? Double.parseDouble(m.group(1)) : -1;
    }

    @Test
    void pushPullRunTagPushDeleteThroughTheGateway() throws Exception {
        String ref = registry.ref("test/tiny:1");
        String printed = pushWithCli(gguf("tiny", 42), ref);
        assertTrue(printed.contains("pushed " + ref), printed);

        try (InJvmCluster cluster = new InJvmCluster("")) {
            String base = start(cluster, "store-one");

            // progress as NDJSON, in model-runner's message shape, ending in success
            HttpResponse<String> pulled = pull(base, ref, "application/json");
            assertEquals(200, pulled.statusCode(), pulled.body());
            List<JsonNode> lines = new ArrayList<>();
            for (String l : pulled.body().split("\n")) {
                lines.add(JSON.readTree(l));
            }
            assertEquals("success", lines.get(lines.size() - 1).get("type").asText(), pulled.body());
            assertTrue(lines.stream().anyMatch(l -> l.path("type").asText().equals("progress")
                    && l.at("/layer/current").asLong() == l.at("/layer/size").asLong() && l.at("/layer/size").asLong() > 0), pulled.body());
            assertEquals(1.0, fetches(base, "registry"));
            assertEquals(0.0, fetches(base, "peer"));

            // listed and shown as model-runner lists them
            JsonNode list = JSON.readTree(send(base, "GET", "/models", null, null).body());
            JsonNode mine = null;
            for (JsonNode m : list) {
                if (m.path("tags").toString().contains(ref)) {
                    mine = m;
                }
            }
            assertTrue(mine != null, list.toString());
            assertTrue(mine.get("id").asText().startsWith("sha256:"), mine.toString());
            assertEquals("gguf", mine.at("/config/format").asText());
            assertEquals("llama", mine.at("/config/architecture").asText());
            assertEquals(200, send(base, "GET", "/models/" + ref, null, null).statusCode());
            assertEquals(404, send(base, "GET", "/models/" + registry.ref("test/none:1"), null, null).statusCode());
            JsonNode openAiEntry = null;
            for (JsonNode m : JSON.readTree(send(base, "GET", "/v1/models", null, null).body()).get("data")) {
                if (m.get("id").asText().equals(ref)) {
                    openAiEntry = m;
                }
            }
            assertTrue(openAiEntry != null, "listed by OpenAI's route");
            assertEquals("llama", openAiEntry.at("/dmr/architecture").asText(), "dmr from the model's config: " + openAiEntry);
            assertTrue(openAiEntry.at("/dmr/context_window").asLong() > 0, openAiEntry.toString());

            // the store counts in model-runner's disk usage
            eventually(Duration.ofSeconds(10), () -> { // once the gateway has found the node's agent
                long onDisk = JSON.readTree(send(base, "GET", "/engines/df", null, null).body()).get("models_disk_usage").asLong();
                assertTrue(onDisk >= Files.size(work.resolve("tiny.gguf")), "df counts the pulled file: " + onDisk);
            });

            // run by llama-server, by its reference
            HttpResponse<String> answer = chat(base, ref);
            assertEquals(200, answer.statusCode(), answer.body());
            assertEquals(4, JSON.readTree(answer.body()).at("/usage/completion_tokens").asInt(), answer.body());

            // tag, then push the new reference; the registry serves it
            String tagged = registry.ref("test/tiny-copy:2");
            HttpResponse<String> tag = send(base, "POST", "/models/" + ref + "/tag?repo=" + registry.ref("test/tiny-copy") + "&tag=2",
                    null, null);
            assertEquals(201, tag.statusCode(), tag.body());
            assertEquals(tagged, JSON.readTree(tag.body()).get("target").asText());
            HttpResponse<String> pushed = send(base, "POST", "/models/" + tagged + "/push", null, null);
            assertEquals(200, pushed.statusCode(), pushed.body());
            RegistryClient client = new RegistryClient(Duration.ofSeconds(10));
            assertEquals(mine.get("id").asText(), client.manifest(ModelReference.parse(tagged), null).digest(),
                    "the pushed manifest is the pulled one, byte for byte");

            // the CLI pulls through the gateway, reading its progress lines; a model that isn't there fails with the reason
            String[] cliPull = cli("models", "pull", "--host", base, tagged);
            assertEquals("0", cliPull[0], cliPull[2]);
            assertTrue(cliPull[1].contains("Model pulled successfully"), cliPull[1]);
            String[] missing = cli("models", "pull", "--host", base, registry.ref("test/none:1"));
            assertEquals("1", missing[0], missing[1]);
            assertTrue(missing[2].startsWith("llmrt: ") && missing[2].contains("404"), missing[2]);

            // delete: a reference, then by id (the last reference: the file goes from the store)
            HttpResponse<String> untag = send(base, "DELETE", "/models/" + tagged, null, null);
            assertEquals(200, untag.statusCode(), untag.body());
            assertEquals(tagged, JSON.readTree(untag.body()).get(0).get("Untagged").asText());
            HttpResponse<String> gone = send(base, "DELETE", "/models/" + mine.get("id").asText(), null, null);
            assertEquals(200, gone.statusCode(), gone.body());
            assertEquals(mine.get("id").asText(), JSON.readTree(gone.body()).get(1).get("Deleted").asText());
            assertEquals(404, chat(base, ref).statusCode());
            eventually(Duration.ofSeconds(10), () -> {
                try (Stream<Path> blobs = Files.walk(work.resolve("store-one/blobs"))) {
                    assertEquals(0, blobs.filter(Files::isRegularFile).count(), "the deleted model's file left the store");
                }
            });
        }
    }

    @Test
    void refusesWhatItCannotUseWithTheReasonAndKeepsNoHalfFile() throws Exception {
        RegistryClient client = new RegistryClient(Duration.ofSeconds(10));
        // a container image's config media type, not a model's
        byte[] imageConfig = "{\"architecture\":\"amd64\",\"os\":\"linux\"}".getBytes(StandardCharsets.UTF_8);
        ModelArtifact.Blob config = new ModelArtifact.Blob("application/vnd.oci.image.config.v1+json", Digests.sha256(imageConfig),
                imageConfig.length);
        ModelReference image = ModelReference.parse(registry.ref("test/image:1"));
        client.pushBlob(image, config, imageConfig, null);
        client.pushManifest(image, ModelArtifact.MANIFEST_OCI, ("{\"schemaVersion\":2,\"mediaType\":\"" + ModelArtifact.MANIFEST_OCI
                + "\",\"config\":{\"mediaType\":\"" + config.mediaType() + "\",\"digest\":\"" + config.digest() + "\",\"size\":"
                + config.size() + "},\"layers\":[]}").getBytes(StandardCharsets.UTF_8), null);
        // a model whose GGUF blob the registry now serves corrupted (same length, other bytes)
        String corrupt = registry.ref("test/corrupt:1");
        pushWithCli(gguf("corrupt", 7), corrupt);
        ModelArtifact.Layers layers = ModelArtifact.layers(client.manifest(ModelReference.parse(corrupt), null).bytes());
        Path data = registry.blobData(layers.gguf().digest());
        byte[] bytes = Files.readAllBytes(data);
        bytes[bytes.length - 1] ^= 0x5a;
        Files.write(data, bytes);

        try (InJvmCluster cluster = new InJvmCluster("")) {
            Path store = work.resolve("store-refusals");
            String base = start(cluster, "store-refusals");
            HttpResponse<String> malformed = pull(base, "Not A/valid ref!!", "*/*");
            assertEquals(400, malformed.statusCode(), malformed.body());
            assertTrue(malformed.body().startsWith("Invalid model reference"), malformed.body());
            HttpResponse<String> missing = pull(base, registry.ref("test/none:1"), null); // found out before any progress
            assertEquals(404, missing.statusCode(), missing.body());
            HttpResponse<String> unsupported = pull(base, image.familiar(), "application/json");
            assertEquals(422, unsupported.statusCode(), unsupported.body());
            assertTrue(unsupported.body().contains("application/vnd.oci.image.config.v1+json"), unsupported.body());
            HttpResponse<String> refused = pull(base, corrupt, "*/*"); // as curl asks: one answer, its status says how it went
            assertEquals(502, refused.statusCode(), refused.body());
            assertTrue(refused.body().contains("refused") && refused.body().contains(layers.gguf().digest()), refused.body());
            // with progress asked for, the refusal is the stream's last line
            HttpResponse<String> streamed = pull(base, corrupt, "application/json");
            String last = streamed.body().strip().substring(streamed.body().strip().lastIndexOf('\n') + 1);
            assertEquals("error", JSON.readTree(last).get("type").asText(), streamed.body());
            assertFalse(Files.exists(store.resolve("blobs/sha256").resolve(layers.gguf().digest().substring(7))),
                    "a blob that failed its digest is not stored");
            try (Stream<Path> tmp = Files.list(store.resolve("tmp"))) {
                assertEquals(0, tmp.count(), "no partial download is left behind");
            }
            assertEquals(404, chat(base, corrupt).statusCode(), "a refused model is not in the catalog");
            // Ollama's pull says why in its own shape
            HttpResponse<String> ollama = send(base, "POST", "/api/pull", "{\"model\":\"" + corrupt + "\",\"stream\":false}", null);
            assertEquals(502, ollama.statusCode(), ollama.body());
            assertTrue(JSON.readTree(ollama.body()).get("error").asText().contains("refused"), ollama.body());
        }
    }

    @Test
    void concurrentPullsShareOneDownloadAndOllamaPullsAndDeletes() throws Exception {
        String ref = registry.ref("test/shared:1");
        pushWithCli(gguf("shared", 11), ref);
        try (InJvmCluster cluster = new InJvmCluster("")) {
            String base = start(cluster, "store-shared");
            List<CompletableFuture<HttpResponse<String>>> pulls = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                pulls.add(CompletableFuture.supplyAsync(() -> {
                    try {
                        return pull(base, ref, null);
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                }));
            }
            for (CompletableFuture<HttpResponse<String>> p : pulls) {
                assertEquals(200, p.get().statusCode(), p.get().body());
            }
            assertEquals(1.0, fetches(base, "registry"), "four pulls of one model, one download");

            // Ollama's pull streams its statuses; its delete removes the reference
            String other = registry.ref("test/ollama:1");
            pushWithCli(gguf("ollama", 12), other);
            HttpResponse<String> pulled = send(base, "POST", "/api/pull", "{\"model\":\"" + other + "\"}", null);
            assertEquals(200, pulled.statusCode(), pulled.body());
            List<String> statuses = pulled.body().lines().map(l -> {
                try {
                    return JSON.readTree(l).path("status").asText();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }).toList();
            assertEquals("pulling manifest", statuses.get(0), pulled.body());
            assertEquals("success", statuses.get(statuses.size() - 1), pulled.body());
            assertTrue(JSON.readTree(send(base, "GET", "/api/tags", null, null).body()).toString().contains(other));
            assertEquals(200, send(base, "DELETE", "/api/delete", "{\"model\":\"" + other + "\"}", null).statusCode());
            assertEquals(404, send(base, "DELETE", "/api/delete", "{\"model\":\"" + other + "\"}", null).statusCode());
            assertFalse(JSON.readTree(send(base, "GET", "/api/tags", null, null).body()).toString().contains(other));
        }
    }

    /**
     * A node that was down while a model was deleted comes back with its saved copy of the models: the
     * delete's tombstone is newer than that copy's entry, so the model stays deleted everywhere.
     */
    @Test
    void aModelDeletedWhileANodeWasDownStaysDeletedWhenItReturns() throws Exception {
        String ref = registry.ref("test/zombie:1");
        pushWithCli(gguf("zombie", 33), ref);
        try (InJvmCluster cluster = new InJvmCluster("")) {
            String first = start(cluster, "store-z1");
            String storeB = node("store-z2");
            cluster.start(storeB);
            assertEquals(200, pull(first, ref, null).statusCode());
            Path savedOnB = work.resolve("store-z2").resolve("models.json");
            eventually(Duration.ofSeconds(20), () -> assertTrue(Files.isRegularFile(savedOnB)
                    && Files.readString(savedOnB).contains(ref), "the second node saved the model"));

            cluster.nodes.get(1).stop().toCompletableFuture().get(60, TimeUnit.SECONDS);
            eventually(Duration.ofSeconds(30), () -> assertEquals(1, cluster.members(), "the second node left"));
            HttpResponse<String> deleted = send(first, "DELETE", "/models/" + ref, null, null);
            assertEquals(200, deleted.statusCode(), deleted.body());

            String second = TestHttp.local(cluster.start(storeB).port()); // with its copy from before the delete
            eventually(Duration.ofSeconds(30), () -> assertEquals(2, cluster.membersUp(), "the second node is back"));
            Thread.sleep(3_000); // Distributed Data gossips every 200 ms here: its copy and the delete meet
            for (String gateway : List.of(first, second)) {
                assertEquals(404, send(gateway, "GET", "/models/" + ref, null, null).statusCode(), gateway + " has it again");
                assertFalse(send(gateway, "GET", "/models", null, null).body().contains(ref), gateway + " lists it again");
            }
            JsonNode savedEntry = JSON.readTree(Files.readString(savedOnB)).path(ref);
            assertTrue(savedEntry.path("model").isNull() && savedEntry.path("writtenAt").asLong() > 0,
                    "the returning node saved the tombstone: " + savedEntry);
        }
    }

    /**
     * With HTTPS and API keys on (as a cluster outside loopback runs): the peer fetch pins the holder's
     * certificate and presents its token, learnt through the cluster; a client with no token, or even
     * with an admin API key, gets nothing from the blob route.
     */
    @Test
    void aSecondNodeGetsTheFileFromItsPeerNotTheRegistry() throws Exception {
        String ref = registry.ref("test/peer:1");
        pushWithCli(gguf("peer", 21), ref);
        try (TestCertificates tls = TestCertificates.make();
             InJvmCluster cluster = new InJvmCluster(tls.gatewayTls() + "llmrt.gateway.api-keys = [ { name = \"ops\", sha256 = \""
                     + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(ADMIN_KEY.getBytes(StandardCharsets.UTF_8)))
                     + "\", admin = true } ]\n")) {
            https = tls.trustingClient();
            // only the second node has a GPU (declared; llama-server's CPU build ignores it): the replica goes there
            String first = "https://127.0.0.1:" + cluster.start(node("store-a")).port();
            String second = "https://127.0.0.1:" + cluster.start(node("store-b")
                    + "llmrt.agent.gpus = [ { name = \"L4\", memory = 24GiB, count = 1 } ]\n").port();
            HttpResponse<String> pulled = pull(first, ref, null);
            assertEquals(200, pulled.statusCode(), pulled.body());
            assertEquals(1.0, fetches(first, "registry"));
            // the second gateway knows the model at once, and the replica placed on its node fetches it from the first
            HttpResponse<String> answer = eventuallyGet(Duration.ofSeconds(30), "answer from the second gateway", () -> {
                HttpResponse<String> r = chat(second, ref);
                return r.statusCode() == 200 ? r : null;
            });
            assertEquals(4, JSON.readTree(answer.body()).at("/usage/completion_tokens").asInt(), answer.body());
            assertEquals(1.0, fetches(second, "peer"), "the file came from the peer");
            assertEquals(0.0, fetches(second, "registry"), "not from the registry");
            assertEquals(200, chat(first, ref).statusCode(), "the first gateway routes to it too");

            // the blob route is for peers: an admin key doesn't open it, and an absent blob looks the same
            String digest;
            try (Stream<Path> blobs = Files.list(work.resolve("store-a").resolve("blobs").resolve("sha256"))) {
                digest = "sha256:" + blobs.findFirst().orElseThrow().getFileName();
            }
            for (String path : List.of("/store/blobs/" + digest, "/store/blobs/sha256:" + "0".repeat(64))) {
                HttpResponse<String> withKey = send(first, "GET", path, null, null);
                assertEquals(401, withKey.statusCode(), path + " with an admin key: " + withKey.body());
                HttpResponse<String> bare = https.send(HttpRequest.newBuilder(URI.create(first + path)).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertEquals(401, bare.statusCode(), path + " with no token: " + bare.body());
            }
        } finally {
            https = null;
        }
    }

    /**
     * The requests the docker model CLI makes (from its source, cmd/cli/desktop; the CLI itself can't
     * be installed here): status, run (inspect, 404, then pull with progress it reads as HTML-escaped
     * JSON lines, then chat), ls, inspect, ps, rm.
     */
    @Test
    void theDockerModelCliSequence() throws Exception {
        String ref = registry.ref("test/cli:1");
        pushWithCli(gguf("cli", 31), ref);
        try (InJvmCluster cluster = new InJvmCluster("")) {
            String base = start(cluster, "store-cli");
            // docker model status
            assertEquals(200, send(base, "GET", "/models", null, null).statusCode());
            assertEquals(200, send(base, "GET", "/engines/status", null, null).statusCode());
            // docker model run: inspect, then pull on a 404; the CLI sends no Accept header
            assertEquals(404, send(base, "GET", "/models/" + ref, null, null).statusCode());
            HttpResponse<String> pulled = TestHttp.send(base, "POST", "/models/create", "{\"from\":\"" + ref + "\"}",
                    "User-Agent", "docker-model-cli/test");
            assertEquals(200, pulled.statusCode(), pulled.body());
            assertTrue(pulled.headers().firstValue("Content-Type").orElse("").startsWith("text/plain"), pulled.headers().toString());
            assertTrue(pulled.body().contains("&#34;type&#34;"), "model-runner's escaped progress: " + pulled.body());
            List<String> types = new ArrayList<>();
            for (String line : pulled.body().split("\n")) {
                types.add(JSON.readTree(line.replace("&#34;", "\"").replace("&#39;", "'").replace("&lt;", "<").replace("&gt;", ">")
                        .replace("&amp;", "&")).get("type").asText());
            }
            assertTrue(types.contains("progress"), types.toString());
            assertEquals("success", types.get(types.size() - 1));
            HttpResponse<String> answer = send(base, "POST", "/engines/v1/chat/completions", "{\"model\":\"" + ref
                    + "\",\"max_tokens\":3,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", null);
            assertEquals(200, answer.statusCode(), answer.body());
            // docker model ls, inspect, ps
            assertTrue(send(base, "GET", "/models", null, null).body().contains(ref));
            assertTrue(send(base, "GET", "/engines/v1/models", null, null).body().contains(ref));
            JsonNode inspect = JSON.readTree(send(base, "GET", "/models/" + ref, null, null).body());
            assertEquals(ref, inspect.at("/tags/0").asText(), inspect.toString());
            assertEquals("gguf", inspect.at("/config/format").asText(), inspect.toString());
            HttpResponse<String> ps = send(base, "GET", "/engines/ps", null, null);
            assertTrue(ps.body().contains(ref), ps.body());
            // docker model rm
            HttpResponse<String> removed = send(base, "DELETE", "/models/" + ref, null, null);
            assertEquals(200, removed.statusCode(), removed.body());
            assertEquals(ref, JSON.readTree(removed.body()).get(0).get("Untagged").asText(), removed.body());
            assertEquals(404, send(base, "GET", "/models/" + ref, null, null).statusCode());
        }
    }
}
