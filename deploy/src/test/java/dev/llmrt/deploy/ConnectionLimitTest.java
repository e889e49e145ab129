package dev.llmrt.deploy;

import static dev.llmrt.testing.Eventually.eventually;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@code llmrt.gateway.max-connections-per-client}: one client address holds at most that many open
 * connections; one more is answered 429 in OpenAI's shape and closed, and a connection frees its
 * place when it closes. The HTTP layer's own limits (URI length, header count) answer 4xx.
 */
class ConnectionLimitTest {

    /** One keep-alive request on an open socket; the response's head and body as text. */
    private static String get(Socket socket, String path) throws IOException {
        OutputStream out = socket.getOutputStream();
        out.write(("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
        InputStream in = socket.getInputStream();
        StringBuilder text = new StringBuilder();
        int contentLength = -1;
        while (true) { // the head
            int c = in.read();
            if (c < 0) {
                return text.toString();
            }
            text.append((char) c);
            if (text.toString().endsWith("\r\n\r\n")) {
                for (String line : text.toString().split("\r\n")) {
                    if (line.toLowerCase().startsWith("content-length:")) {
                        contentLength = Integer.parseInt(line.substring(15).trim());
                    }
                }
                break;
            }
        }
        text.append(new String(in.readNBytes(Math.max(0, contentLength)), StandardCharsets.UTF_8));
        return text.toString();
    }

    @Test
    void aClientAddressHoldsAtMostItsConnections() throws Exception {
        try (InJvmCluster cluster = new InJvmCluster("llmrt.gateway.max-connections-per-client = 3\n"
                + "llmrt.models = [ { name = \"tiny\", backend = sim } ]")) {
            int port = cluster.start("").port();
            List<Socket> open = new ArrayList<>();
            try {
                for (int i = 0; i < 3; i++) {
                    Socket s = new Socket("127.0.0.1", port);
                    s.setSoTimeout(10_000);
                    open.add(s);
                    assertTrue(get(s, "/health").startsWith("HTTP/1.1 200"), "connection " + (i + 1) + " is served");
                }
                try (Socket fourth = new Socket("127.0.0.1", port)) {
                    fourth.setSoTimeout(10_000);
                    String refused = get(fourth, "/health");
                    assertTrue(refused.startsWith("HTTP/1.1 429"), refused);
                    assertTrue(refused.contains("\"code\":\"too_many_connections\""), refused);
                    assertEquals(-1, fourth.getInputStream().read(), "then closed");
                }
                assertTrue(get(open.get(0), "/health").startsWith("HTTP/1.1 200"), "the admitted ones still work");
                open.remove(0).close();
                eventually(Duration.ofSeconds(10), () -> {
                    try (Socket again = new Socket("127.0.0.1", port)) {
                        again.setSoTimeout(10_000);
                        assertTrue(get(again, "/health").startsWith("HTTP/1.1 200"), "a closed connection frees its place");
                    }
                });
                // the HTTP layer's own limits: a request line past max-uri-length, more than max-header-count headers
                try (Socket s = new Socket("127.0.0.1", port)) {
                    s.setSoTimeout(10_000);
                    assertTrue(get(s, "/v1/models/" + "x".repeat(3000)).startsWith("HTTP/1.1 414"));
                }
            } finally {
                for (Socket s : open) {
                    s.close();
                }
            }
        }
    }
}
