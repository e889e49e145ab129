package dev.llmrt.gateway.security;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import org.apache.pekko.pki.pem.DERPrivateKeyLoader;
import org.apache.pekko.pki.pem.PEMDecoder;

/**
 * The gateway's HTTPS context from PEM files, with Pekko's own PEM support (the same loader Artery's
 * TLS uses): a private key (PKCS#8 or PKCS#1) and a certificate chain, leaf first.
 */
public final class PemTls {
    private PemTls() {}

    public static SSLContext serverContext(Path certFile, Path keyFile) {
        try {
            PrivateKey key = DERPrivateKeyLoader.load(PEMDecoder.decode(Files.readString(keyFile)));
            Certificate[] chain = chain(certFile);
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, null);
            char[] password = new char[0];
            store.setKeyEntry("gateway", key, password, chain);
            KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            keys.init(store, password);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(keys.getKeyManagers(), null, null);
            return context;
        } catch (IOException | GeneralSecurityException | RuntimeException e) {
            throw new IllegalArgumentException("llmrt.gateway.tls: could not load " + certFile + " and " + keyFile + ": " + e, e);
        }
    }

    /** The server's own certificate (the chain's first), which peers pin when they fetch blobs from it. */
    public static Certificate leaf(Path certFile) {
        try {
            return chain(certFile)[0];
        } catch (IOException | GeneralSecurityException | RuntimeException e) {
            throw new IllegalArgumentException("llmrt.gateway.tls: could not load " + certFile + ": " + e, e);
        }
    }

    private static Certificate[] chain(Path certFile) throws IOException, GeneralSecurityException {
        Certificate[] chain;
        try (InputStream in = Files.newInputStream(certFile)) {
            chain = CertificateFactory.getInstance("X.509").generateCertificates(in).toArray(new Certificate[0]);
        }
        if (chain.length == 0) {
            throw new IllegalArgumentException("no certificate in " + certFile);
        }
        return chain;
    }
}
