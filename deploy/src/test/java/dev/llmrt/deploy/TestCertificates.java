package dev.llmrt.deploy;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * Certificates a test makes with openssl (setup.sh installs it) in a directory it deletes after: a CA,
 * and a certificate it signed for 127.0.0.1 and localhost ({@code ca.crt}, {@code tls.crt}, {@code tls.key}).
 */
final class TestCertificates implements AutoCloseable {
    private static final String OPENSSL = "/usr/bin/openssl";
    final Path dir;

    private TestCertificates(Path dir) {
        this.dir = dir;
    }

    static TestCertificates make() throws Exception {
        assertTrue(Files.isExecutable(Path.of(OPENSSL)), OPENSSL + " not found: run deploy/scripts/setup.sh (it installs openssl)");
        Path dir = Files.createTempDirectory("llmrt-tls");
        openssl(dir, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
                "-subj", "/CN=llmrt test CA");
        Files.writeString(dir.resolve("san.ext"), "subjectAltName = IP:127.0.0.1, DNS:localhost\n"
                + "extendedKeyUsage = serverAuth, clientAuth\n");
        openssl(dir, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "tls.key", "-out", "tls.csr", "-subj", "/CN=llmrt-node");
        openssl(dir, "x509", "-req", "-in", "tls.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "tls.crt",
                "-days", "2", "-extfile", "san.ext");
        return new TestCertificates(dir);
    }

    /**
     * Another node's certificate from this CA, with subject {@code cn} and that name alone as its
     * subject alternative name, in a directory of its own (with ca.crt).
     */
    TestCertificates leaf(String cn) throws Exception {
        Path other = Files.createTempDirectory("llmrt-tls-leaf");
        Files.copy(dir.resolve("ca.crt"), other.resolve("ca.crt"));
        // its own names too: Pekko's engine matches a peer's subject names (CN and SANs) against its own
        Files.writeString(other.resolve("san.ext"), "subjectAltName = DNS:" + cn + "\nextendedKeyUsage = serverAuth, clientAuth\n");
        openssl(other, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "tls.key", "-out", "tls.csr", "-subj", "/CN=" + cn);
        openssl(other, "x509", "-req", "-in", "tls.csr", "-CA", dir.resolve("ca.crt").toString(), "-CAkey",
                dir.resolve("ca.key").toString(), "-CAcreateserial", "-out", "tls.crt", "-days", "2", "-extfile", "san.ext");
        return new TestCertificates(other);
    }

    /** Artery's TLS transport with this directory's key, certificate and CA. */
    String artery() {
        return """
                pekko.remote.artery.transport = tls-tcp
                pekko.remote.artery.ssl.ssl-engine-provider = "org.apache.pekko.remote.artery.tcp.ssl.RotatingKeysSSLEngineProvider"
                pekko.remote.artery.ssl.rotating-keys-engine {
                  key-file = "%1$s/tls.key"
                  cert-file = "%1$s/tls.crt"
                  ca-cert-file = "%1$s/ca.crt"
                }
                """.formatted(dir);
    }

    private static void openssl(Path dir, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(OPENSSL));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0, "openssl " + String.join(" ", args) + ": " + out);
    }

    /** The gateway's HTTPS settings with this certificate. */
    String gatewayTls() {
        return "llmrt.gateway.tls { cert-file = \"" + dir.resolve("tls.crt") + "\", key-file = \"" + dir.resolve("tls.key") + "\" }\n";
    }

    /** An HTTP/1.1 client that trusts only the test's CA. */
    HttpClient trustingClient() throws Exception {
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        try (InputStream in = Files.newInputStream(dir.resolve("ca.crt"))) {
            trust.setCertificateEntry("ca", CertificateFactory.getInstance("X.509").generateCertificate(in));
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext ssl = SSLContext.getInstance("TLS");
        ssl.init(null, tmf.getTrustManagers(), null);
        return HttpClient.newBuilder().sslContext(ssl).version(HttpClient.Version.HTTP_1_1).build();
    }

    @Override
    public void close() throws Exception {
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        }
    }
}
