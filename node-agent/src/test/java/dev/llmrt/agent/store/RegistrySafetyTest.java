package dev.llmrt.agent.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * What the registry client will fetch: a token realm only on the registry's own host (or one
 * allowed), credentials never sent to another host on a redirect, redirects bounded, and a blob cut
 * at its declared size. The "registry" listens on 127.0.0.1 and the "other host" is a sink on
 * 127.0.0.2 that records what reaches it: no traffic leaves loopback.
 */
class RegistrySafetyTest {
    private final List<HttpServer> servers = new CopyOnWriteArrayList<>();
    /** What reached the other host: "METHOD path Authorization-or-none". */
    private final List<String> sink = new CopyOnWriteArrayList<>();

    @AfterEach
    void stop() {
        servers.forEach(s -> s.stop(0));
    }

    private HttpServer serve(String ip, Consumer<HttpExchange> handler) throws IOException {
        HttpServer s = HttpServer.create(new InetSocketAddress(InetAddress.getByName(ip), 0), 16);
        s.createContext("/", ex -> {
            try {
                handler.accept(ex);
            } finally {
                ex.close();
            }
        });
        s.start();
        servers.add(s);
        return s;
    }

    private static void reply(HttpExchange ex, int status, String header, String value, byte[] body) {
        try {
            if (header != null) {
                ex.getResponseHeaders().add(header, value);
            }
            ex.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
            if (body.length > 0) {
                ex.getResponseBody().write(body);
            }
        } catch (IOException e) {
            throw new RuntimeException(e);
        }
    }

    private HttpServer otherHost() throws IOException {
        return serve("127.0.0.2", ex -> {
            sink.add(ex.getRequestMethod() + " " + ex.getRequestURI().getPath() + " "
                    + (ex.getRequestHeaders().getFirst("Authorization") == null ? "none" : "auth"));
            reply(ex, 200, null, null, "blob from the other host".getBytes(StandardCharsets.UTF_8));
        });
    }

    private static ModelReference at(HttpServer registry) {
        return ModelReference.parse("127.0.0.1:" + registry.getAddress().getPort() + "/test/m:1");
    }

    @Test
    void aTokenRealmOnAnotherHostIsRefusedWithoutARequestToIt() throws Exception {
        HttpServer other = otherHost();
        String realm = "http://127.0.0.2:" + other.getAddress().getPort() + "/token";
        HttpServer registry = serve("127.0.0.1", ex -> reply(ex, 401, "WWW-Authenticate",
                "Bearer realm=\"" + realm + "\",service=\"r\"", new byte[0]));
        RegistryClient client = new RegistryClient(Duration.ofSeconds(5));
        RegistryClient.RegistryException e = assertThrows(RegistryClient.RegistryException.class,
                () -> client.manifest(at(registry), "user:secret"));
        assertEquals(RegistryClient.RegistryException.Kind.UNAUTHORIZED, e.kind());
        assertTrue(e.getMessage().contains("allowed-registries"), e.getMessage());
        assertEquals(List.of(), sink, "nothing was sent to the realm's host");
    }

    @Test
    void aTokenRealmOnTheRegistrysOwnHostIsAsked() throws Exception {
        byte[] manifest = "{\"schemaVersion\":2}".getBytes(StandardCharsets.UTF_8);
        HttpServer[] self = new HttpServer[1];
        self[0] = serve("127.0.0.1", ex -> {
            if (ex.getRequestURI().getPath().equals("/token")) {
                reply(ex, 200, "Content-Type", "application/json", "{\"token\":\"t0k\"}".getBytes(StandardCharsets.UTF_8));
            } else if ("Bearer t0k".equals(ex.getRequestHeaders().getFirst("Authorization"))) {
                reply(ex, 200, "Content-Type", "application/vnd.oci.image.manifest.v1+json", manifest);
            } else {
                reply(ex, 401, "WWW-Authenticate", "Bearer realm=\"http://127.0.0.1:" + self[0].getAddress().getPort()
                        + "/token\"", new byte[0]);
            }
        });
        assertArrayEquals(manifest, new RegistryClient(Duration.ofSeconds(5)).manifest(at(self[0]), null).bytes());
    }

    @Test
    void redirectsCarryNoCredentialsToAnotherHostAndAreBounded() throws Exception {
        HttpServer other = otherHost();
        HttpServer registry = serve("127.0.0.1", ex -> {
            String path = ex.getRequestURI().getPath();
            if (path.endsWith("/blobs/sha256:away")) {
                reply(ex, 307, "Location", "http://127.0.0.2:" + other.getAddress().getPort() + "/cdn/blob", new byte[0]);
            } else {
                reply(ex, 302, "Location", path + "x", new byte[0]); // a loop
            }
        });
        RegistryClient client = new RegistryClient(Duration.ofSeconds(5));
        try (InputStream in = client.blob(at(registry), "sha256:away", "someone:secret")) {
            assertEquals("blob from the other host", new String(in.readAllBytes(), StandardCharsets.UTF_8));
        }
        assertEquals(List.of("GET /cdn/blob none"), sink, "followed, without the credentials");
        RegistryClient.RegistryException loop = assertThrows(RegistryClient.RegistryException.class,
                () -> client.blob(at(registry), "sha256:loop", null).close());
        assertTrue(loop.getMessage().contains("more than " + RegistryClient.MAX_REDIRECTS), loop.getMessage());
    }

    @Test
    void aBlobLongerThanDeclaredIsCutAndHalfDoneDownloadsAreRemovedAtStart() throws Exception {
        Path dir = Files.createTempDirectory("llmrt-store-safety");
        ModelStore store = new ModelStore(dir);
        byte[] endless = new byte[3 << 20];
        String digest = Digests.sha256(new byte[1 << 20]);
        ModelStore.DigestMismatch cut = assertThrows(ModelStore.DigestMismatch.class,
                () -> store.write(digest, 1 << 20, new ByteArrayInputStream(endless), n -> { }));
        assertTrue(cut.getMessage().contains("more than"), cut.getMessage());
        assertFalse(store.has(digest));
        try (var partial = Files.list(dir.resolve("tmp"))) {
            assertEquals(0, partial.count(), "the partial file went with the refusal");
        }
        Path old = dir.resolve("tmp").resolve("left.partial");
        Path fresh = dir.resolve("tmp").resolve("writing.partial");
        Files.write(old, new byte[10]);
        Files.write(fresh, new byte[10]);
        Files.setLastModifiedTime(old, FileTime.from(Instant.now().minus(Duration.ofHours(1))));
        assertEquals(1, store.removePartials(Duration.ofMinutes(10)));
        assertFalse(Files.exists(old));
        assertTrue(Files.exists(fresh), "a download still being written stays");
    }
}
