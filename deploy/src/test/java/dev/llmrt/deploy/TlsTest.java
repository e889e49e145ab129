package dev.llmrt.deploy;

import static dev.llmrt.testing.Eventually.eventually;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmrt.agent.store.PinnedTls;
import dev.llmrt.gateway.security.PemTls;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * TLS with certificates the test makes (openssl, from setup.sh): HTTPS on the gateway from PEM files,
 * checked with the JDK's HTTP client trusting only the test's CA; and two nodes that form their
 * cluster over Artery's TLS transport (Pekko's rotating-keys engine, PEM files), then serve a request
 * that crosses between them.
 */
class TlsTest {
    private static final String MODELS = "llmrt.models = [ { name = \"tiny\", backend = sim, runtime-flags = [\"--max-tokens=3\"] } ]\n";

    @Test
    void httpsOnTheGatewayAndTlsBetweenNodes() throws Exception {
        TestCertificates tls = TestCertificates.make();
        String artery = tls.artery() + MODELS + tls.gatewayTls();
        try (tls; InJvmCluster cluster = new InJvmCluster(artery)) {
            LlmrtNode.Started first = cluster.start("");
            LlmrtNode.Started second = cluster.start("");
            eventually(Duration.ofSeconds(60), () -> assertEquals(2, cluster.membersUp(), "both nodes up over TLS"));

            // the model's one replica runs on one node: the request through the other gateway crosses Artery's TLS
            HttpClient https = tls.trustingClient();
            for (LlmrtNode.Started node : List.of(first, second)) {
                HttpResponse<String> r = https.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + node.port()
                        + "/v1/chat/completions")).timeout(Duration.ofSeconds(30)).POST(HttpRequest.BodyPublishers.ofString(
                        "{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}")).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertEquals(200, r.statusCode(), r.body());
            }
            // peers fetching blobs trust exactly the certificate the cluster announced, not its CA
            String pin = PinnedTls.sha256(PemTls.leaf(tls.dir.resolve("tls.crt")));
            HttpRequest health = HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + first.port() + "/health"))
                    .timeout(Duration.ofSeconds(10)).build();
            assertEquals(200, HttpClient.newBuilder().sslContext(PinnedTls.trusting(pin)).build()
                    .send(health, HttpResponse.BodyHandlers.ofString()).statusCode(), "the pinned certificate is trusted");
            String other = PinnedTls.sha256(PemTls.leaf(tls.dir.resolve("ca.crt")));
            assertThrows(IOException.class, () -> HttpClient.newBuilder().sslContext(PinnedTls.trusting(other)).build()
                    .send(health, HttpResponse.BodyHandlers.ofString()), "a certificate other than the pinned one is refused");
            // plain HTTP on the HTTPS port, and a client that doesn't trust the CA, get nothing
            HttpClient plain = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
            assertThrows(IOException.class, () -> plain.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + first.port()
                    + "/health")).timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString()));
            HttpResponse<String> wrongScheme;
            try {
                wrongScheme = plain.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + first.port() + "/health"))
                        .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
                assertTrue(wrongScheme.statusCode() >= 400, "plain HTTP is not served: " + wrongScheme.statusCode());
            } catch (IOException expected) {
                // the TLS server drops a plain request
            }
        }
    }

    /**
     * Nodes that must not join can't: one whose certificate another CA signed, and one whose subject
     * differs (the engine accepts only peers whose subject matches its own). And keys hold over HTTPS.
     */
    @Test
    void nodesWithTheWrongCertificateCannotJoinAndKeysHoldOverHttps() throws Exception {
        TestCertificates tls = TestCertificates.make();
        TestCertificates otherCa = TestCertificates.make(); // same subject, another CA
        TestCertificates otherSubject = tls.leaf("someone-else");
        try (tls; otherCa; otherSubject; InJvmCluster cluster = new InJvmCluster(MODELS)) {
            LlmrtNode.Started first = cluster.start(tls.artery() + tls.gatewayTls() + "llmrt.gateway.admin-key = \"llmrt-tls-admin\"");
            cluster.start(otherCa.artery());
            cluster.start(otherSubject.artery());
            // they try to join for a while: the handshakes fail, and the first node never sees them up
            long until = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (System.nanoTime() < until) {
                assertEquals(1, cluster.membersUp(), "a node with a certificate the cluster doesn't accept joined");
                Thread.sleep(500);
            }
            assertEquals(1, cluster.members(), "nor is it even joining");

            HttpClient https = tls.trustingClient();
            String chat = "{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
            HttpResponse<String> noKey = https.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + first.port()
                    + "/v1/chat/completions")).timeout(Duration.ofSeconds(30)).POST(HttpRequest.BodyPublishers.ofString(chat)).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(401, noKey.statusCode(), noKey.body());
            HttpResponse<String> withKey = https.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + first.port()
                    + "/v1/chat/completions")).header("Authorization", "Bearer llmrt-tls-admin").timeout(Duration.ofSeconds(60))
                    .POST(HttpRequest.BodyPublishers.ofString(chat)).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, withKey.statusCode(), withKey.body());
        }
    }
}
