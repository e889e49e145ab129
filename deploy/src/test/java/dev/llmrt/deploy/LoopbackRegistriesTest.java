package dev.llmrt.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.http.HttpResponse;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Where registries on loopback are off (anywhere but the embedded profile), a reference naming one
 * is refused before any request: the "service on loopback" is a sink on 127.0.0.2 that counts what
 * reaches it.
 */
class LoopbackRegistriesTest {
    @Test
    void aReferenceToALoopbackServiceIsRefusedBeforeAnyRequest() throws Exception {
        AtomicInteger reached = new AtomicInteger();
        HttpServer sink = HttpServer.create(new InetSocketAddress(InetAddress.getByName("127.0.0.2"), 0), 8);
        sink.createContext("/", ex -> {
            reached.incrementAndGet();
            ex.sendResponseHeaders(404, -1);
            ex.close();
        });
        sink.start();
        try (InJvmCluster cluster = new InJvmCluster("llmrt.store.allow-loopback-registries = off")) {
            String base = TestHttp.local(cluster.start("").port());
            String ref = "127.0.0.2:" + sink.getAddress().getPort() + "/internal/service:1";
            HttpResponse<String> pull = TestHttp.send(base, "POST", "/models/create", "{\"from\":\"" + ref + "\"}",
                    "Accept", "application/json");
            assertEquals(403, pull.statusCode(), pull.body());
            assertTrue(pull.body().contains("allow-loopback-registries"), pull.body());
            HttpResponse<String> ollama = TestHttp.send(base, "POST", "/api/pull", "{\"model\":\"" + ref + "\",\"stream\":false}");
            assertTrue(ollama.body().contains("loopback"), ollama.statusCode() + " " + ollama.body());
            assertEquals(0, reached.get(), "nothing was sent to the service on loopback");
        } finally {
            sink.stop(0);
        }
    }
}
