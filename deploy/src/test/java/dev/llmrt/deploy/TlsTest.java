package dev.llmrt.deploy;

import static dev.llmrt.testing.Eventually.eventually;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.junit.jupiter.api.Test;

/**
 * TLS with certificates the test makes (openssl, from setup.sh): HTTPS on the gateway from PEM files,
 * checked with the JDK's HTTP client trusting only the test's CA; and two nodes that form their
 * cluster over Artery's TLS transport (Pekko's rotating-keys engine, PEM files), then serve a request
 * that crosses between them.
 */
class TlsTest {
    private static final String OPENSSL = "/usr/bin/openssl";

    private static void openssl(Path dir, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(OPENSSL));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0, "openssl " + String.join(" ", args) + ": " + out);
    }

    /** A CA, and a certificate it signed for 127.0.0.1 and localhost: ca.crt, tls.crt, tls.key. */
    private static Path certificates() throws Exception {
        assertTrue(Files.isExecutable(Path.of(OPENSSL)), OPENSSL + " not found: run deploy/scripts/setup.sh (it installs openssl)");
        Path dir = Files.createTempDirectory("llmrt-tls");
        openssl(dir, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
                "-subj", "/CN=llmrt test CA");
        Files.writeString(dir.resolve("san.ext"), "subjectAltName = IP:127.0.0.1, DNS:localhost\n"
                + "extendedKeyUsage = serverAuth, clientAuth\n");
        openssl(dir, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "tls.key", "-out", "tls.csr", "-subj", "/CN=llmrt-node");
        openssl(dir, "x509", "-req", "-in", "tls.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "tls.crt",
                "-days", "2", "-extfile", "san.ext");
        return dir;
    }

    private static HttpClient trusting(Path caFile) throws Exception {
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        try (InputStream in = Files.newInputStream(caFile)) {
            trust.setCertificateEntry("ca", CertificateFactory.getInstance("X.509").generateCertificate(in));
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext ssl = SSLContext.getInstance("TLS");
        ssl.init(null, tmf.getTrustManagers(), null);
        return HttpClient.newBuilder().sslContext(ssl).version(HttpClient.Version.HTTP_1_1).build();
    }

    @Test
    void httpsOnTheGatewayAndTlsBetweenNodes() throws Exception {
        Path certs = certificates();
        String artery = """
                pekko.remote.artery.transport = tls-tcp
                pekko.remote.artery.ssl.ssl-engine-provider = "org.apache.pekko.remote.artery.tcp.ssl.RotatingKeysSSLEngineProvider"
                pekko.remote.artery.ssl.rotating-keys-engine {
                  key-file = "%1$s/tls.key"
                  cert-file = "%1$s/tls.crt"
                  ca-cert-file = "%1$s/ca.crt"
                }
                llmrt.gateway.tls { cert-file = "%1$s/tls.crt", key-file = "%1$s/tls.key" }
                llmrt.models = [ { name = "tiny", backend = sim, runtime-flags = ["--max-tokens=3"] } ]
                """.formatted(certs);
        try (InJvmCluster cluster = new InJvmCluster(artery)) {
            LlmrtNode.Started first = cluster.start("");
            LlmrtNode.Started second = cluster.start("");
            eventually(Duration.ofSeconds(60), () -> assertEquals(2, StreamSupport.stream(Cluster.get(cluster.nodes.get(0).system())
                    .state().getMembers().spliterator(), false).filter(m -> m.status() == MemberStatus.up()).count(),
                    "both nodes up over TLS"));

            // the model's one replica runs on one node: the request through the other gateway crosses Artery's TLS
            HttpClient https = trusting(certs.resolve("ca.crt"));
            for (LlmrtNode.Started node : List.of(first, second)) {
                HttpResponse<String> r = https.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + node.port()
                        + "/v1/chat/completions")).timeout(Duration.ofSeconds(30)).POST(HttpRequest.BodyPublishers.ofString(
                        "{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}")).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertEquals(200, r.statusCode(), r.body());
            }
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
        } finally {
            try (Stream<Path> files = Files.walk(certs)) {
                files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }
}
