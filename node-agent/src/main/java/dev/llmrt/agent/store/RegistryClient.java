package dev.llmrt.agent.store;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongConsumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The part of the OCI distribution API that moving models needs, spoken directly over the JDK's
 * HTTP client: manifests (get, put), blobs (get, ranged get, exists, monolithic upload), and the
 * registries' bearer-token challenge. Blocking: callers run it off the actor threads.
 */
public final class RegistryClient {
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(RegistryClient.class);
    private static final String MANIFEST_ACCEPT = String.join(", ", ModelArtifact.MANIFEST_OCI, ModelArtifact.MANIFEST_DOCKER);
    private static final Pattern CHALLENGE_PARAM = Pattern.compile("(\\w+)=\"([^\"]*)\"");

    /** What went wrong talking to a registry, in the classes model-runner answers with 404, 401 and 5xx. */
    public static final class RegistryException extends IOException {
        public enum Kind { NOT_FOUND, UNAUTHORIZED, FAILED }

        private final Kind kind;

        public RegistryException(Kind kind, String message) {
            super(message);
            this.kind = kind;
        }

        public Kind kind() {
            return kind;
        }
    }

    /** A manifest as the registry served it. */
    public record Manifest(String digest, String mediaType, byte[] bytes) {}

    private final HttpClient http;
    private final Duration timeout;
    /** Tokens the registries' auth services gave, by registry and scope. */
    private final Map<String, String> tokens = new ConcurrentHashMap<>();

    /** Redirects followed for one request at most (registries send blob downloads to a CDN: one or two). */
    static final int MAX_REDIRECTS = 5;
    /**
     * Hosts besides a registry's own whose token service ({@code realm}) may be asked, with the
     * caller's credentials: Docker Hub's registry hands out tokens from another host.
     */
    private final java.util.Set<String> allowedAuthHosts;

    /** @param timeout for one request's answer to start (a blob's body may take longer) */
    public RegistryClient(Duration timeout) {
        this(timeout, java.util.Set.of("auth.docker.io"));
    }

    /** @param allowedAuthHosts {@code llmrt.store.allowed-registries}: token services on other hosts that may be asked */
    public RegistryClient(Duration timeout, java.util.Set<String> allowedAuthHosts) {
        // redirects are followed here, not by the client: a redirect to another host must not carry credentials
        this.http = HttpClient.newBuilder().connectTimeout(timeout).followRedirects(HttpClient.Redirect.NEVER)
                .version(HttpClient.Version.HTTP_1_1).build();
        this.timeout = timeout;
        this.allowedAuthHosts = java.util.Set.copyOf(allowedAuthHosts);
    }

    public Manifest manifest(ModelReference ref, String credential) throws IOException {
        HttpResponse<byte[]> r = send(ref, "pull", credential, b -> b.uri(api(ref, "/manifests/" + ref.manifestName()))
                .header("Accept", MANIFEST_ACCEPT).GET(), HttpResponse.BodyHandlers.ofByteArray());
        expect(r, 200, "manifest of " + ref.familiar());
        String digest = Digests.sha256(r.body());
        if (ref.digest() != null && !ref.digest().equals(digest)) {
            throw new ModelStore.DigestMismatch("the manifest served for " + ref.full() + " hashes to " + digest);
        }
        String type = r.headers().firstValue("Content-Type").orElse("").split(";")[0].trim();
        return new Manifest(digest, type, r.body());
    }

    /** The blob's bytes as a stream (the caller verifies its digest and closes it). */
    public InputStream blob(ModelReference ref, String digest, String credential) throws IOException {
        HttpResponse<InputStream> r = send(ref, "pull", credential, b -> b.uri(api(ref, "/blobs/" + digest)).GET(),
                HttpResponse.BodyHandlers.ofInputStream());
        if (r.statusCode() != 200) {
            r.body().close();
            expect(r, 200, "blob " + digest + " of " + ref.familiar());
        }
        return r.body();
    }

    /** The first {@code length} bytes of a blob (a GGUF file's header). */
    public byte[] blobStart(ModelReference ref, String digest, long length, String credential) throws IOException {
        HttpResponse<InputStream> r = send(ref, "pull", credential, b -> b.uri(api(ref, "/blobs/" + digest))
                .header("Range", "bytes=0-" + (length - 1)).GET(), HttpResponse.BodyHandlers.ofInputStream());
        try (InputStream in = r.body()) {
            if (r.statusCode() != 200 && r.statusCode() != 206) {
                expect(r, 206, "the start of blob " + digest);
            }
            return in.readNBytes((int) Math.min(length, Integer.MAX_VALUE - 8));
        }
    }

    public boolean hasBlob(ModelReference ref, String digest, String credential) throws IOException {
        HttpResponse<Void> r = send(ref, "pull", credential, b -> b.uri(api(ref, "/blobs/" + digest))
                .method("HEAD", HttpRequest.BodyPublishers.noBody()), HttpResponse.BodyHandlers.discarding());
        return r.statusCode() == 200;
    }

    /** Uploads a blob in one request (skipped when the registry has it already). */
    public void pushBlob(ModelReference ref, ModelArtifact.Blob blob, Path file, LongConsumer progress, String credential)
            throws IOException {
        if (hasBlob(ref, blob.digest(), credential)) {
            progress.accept(blob.size());
            return;
        }
        String location = startUpload(ref, credential);
        HttpRequest.BodyPublisher body = HttpRequest.BodyPublishers.fromPublisher(HttpRequest.BodyPublishers.ofInputStream(() -> {
            try {
                return new Counting(Files.newInputStream(file), progress);
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }), blob.size());
        finishUpload(ref, location, blob.digest(), body, credential);
    }

    public void pushBlob(ModelReference ref, ModelArtifact.Blob blob, byte[] bytes, String credential) throws IOException {
        if (!hasBlob(ref, blob.digest(), credential)) {
            finishUpload(ref, startUpload(ref, credential), blob.digest(), HttpRequest.BodyPublishers.ofByteArray(bytes), credential);
        }
    }

    public void pushManifest(ModelReference ref, String mediaType, byte[] manifest, String credential) throws IOException {
        HttpResponse<String> r = send(ref, "pull,push", credential, b -> b.uri(api(ref, "/manifests/" + ref.manifestName()))
                .header("Content-Type", mediaType).PUT(HttpRequest.BodyPublishers.ofByteArray(manifest)),
                HttpResponse.BodyHandlers.ofString());
        expect(r, 201, "manifest upload to " + ref.familiar());
    }

    private String startUpload(ModelReference ref, String credential) throws IOException {
        HttpResponse<String> r = send(ref, "pull,push", credential, b -> b.uri(api(ref, "/blobs/uploads/"))
                .POST(HttpRequest.BodyPublishers.noBody()), HttpResponse.BodyHandlers.ofString());
        expect(r, 202, "upload to " + ref.familiar());
        String location = r.headers().firstValue("Location")
                .orElseThrow(() -> new RegistryException(RegistryException.Kind.FAILED, "the registry gave no upload location"));
        return URI.create(base(ref) + "/").resolve(location).toString();
    }

    private void finishUpload(ModelReference ref, String location, String digest, HttpRequest.BodyPublisher body,
                              String credential) throws IOException {
        String uri = location + (location.contains("?") ? "&" : "?") + "digest=" + URLEncoder.encode(digest, StandardCharsets.UTF_8);
        HttpResponse<String> r = send(ref, "pull,push", credential, b -> b.uri(URI.create(uri))
                .header("Content-Type", "application/octet-stream").PUT(body), HttpResponse.BodyHandlers.ofString());
        expect(r, 201, "blob " + digest + " upload to " + ref.familiar());
    }

    private interface Request {
        HttpRequest.Builder build(HttpRequest.Builder b);
    }

    /** Sends, answering one auth challenge: a bearer token from the registry's auth service, or basic. */
    private <T> HttpResponse<T> send(ModelReference ref, String actions, String credential, Request request,
                                     HttpResponse.BodyHandler<T> handler) throws IOException {
        String scope = "repository:" + ref.repository() + ":" + actions;
        String key = ref.apiHost() + " " + scope;
        HttpResponse<T> r = sendOnce(request, tokens.get(key), handler);
        if (r.statusCode() != 401) {
            return r;
        }
        String challenge = r.headers().firstValue("WWW-Authenticate").orElse("");
        closeQuietly(r);
        String authorization = authorize(ref, challenge, scope, credential);
        if (authorization == null) {
            throw new RegistryException(RegistryException.Kind.UNAUTHORIZED, "the registry " + ref.registry()
                    + " asks for credentials" + (credential == null ? " (none were given)" : " and refused the ones given"));
        }
        tokens.put(key, authorization);
        r = sendOnce(request, authorization, handler);
        if (r.statusCode() == 401) {
            closeQuietly(r);
            throw new RegistryException(RegistryException.Kind.UNAUTHORIZED, "the registry " + ref.registry() + " refused access to "
                    + ref.repository());
        }
        return r;
    }

    private <T> HttpResponse<T> sendOnce(Request request, String authorization, HttpResponse.BodyHandler<T> handler)
            throws IOException {
        HttpRequest.Builder b = request.build(HttpRequest.newBuilder().timeout(timeout));
        if (authorization != null) {
            b.header("Authorization", authorization);
        }
        HttpRequest sent = b.build();
        try {
            HttpResponse<T> r = http.send(sent, handler);
            for (int redirects = 0; isRedirect(r.statusCode()) && (sent.method().equals("GET") || sent.method().equals("HEAD"));
                 redirects++) {
                Optional<String> location = r.headers().firstValue("Location");
                if (location.isEmpty()) {
                    return r;
                }
                closeQuietly(r);
                if (redirects == MAX_REDIRECTS) {
                    throw new RegistryException(RegistryException.Kind.FAILED, "the registry redirected " + sent.uri()
                            + " more than " + MAX_REDIRECTS + " times");
                }
                URI next = sent.uri().resolve(location.get());
                if (!"http".equals(next.getScheme()) && !"https".equals(next.getScheme())
                        || ("https".equals(sent.uri().getScheme()) && "http".equals(next.getScheme()))) {
                    throw new RegistryException(RegistryException.Kind.FAILED, "the registry redirected to " + next.getScheme()
                            + ": refused");
                }
                boolean sameHost = sameHost(sent.uri(), next);
                URI from = sent.uri();
                // credentials stay with the host they were given for (a CDN's signed URL needs none)
                sent = HttpRequest.newBuilder(sent, (name, value) -> sameHost || !name.equalsIgnoreCase("Authorization"))
                        .uri(next).build();
                log.debug("registry redirect {} -> {}", from, next);
                r = http.send(sent, handler);
            }
            return r;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }

    private static boolean isRedirect(int status) {
        return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
    }

    private static boolean sameHost(URI a, URI b) {
        return a.getHost() != null && a.getHost().equalsIgnoreCase(b.getHost()) && a.getPort() == b.getPort()
                && a.getScheme().equals(b.getScheme());
    }

    private String authorize(ModelReference ref, String challenge, String scope, String credential) throws IOException {
        if (challenge.regionMatches(true, 0, "Basic", 0, 5)) {
            return credential != null && credential.contains(":")
                    ? "Basic " + Base64.getEncoder().encodeToString(credential.getBytes(StandardCharsets.UTF_8)) : null;
        }
        if (!challenge.regionMatches(true, 0, "Bearer", 0, 6)) {
            return credential == null ? null : "Bearer " + credential;
        }
        Map<String, String> params = new LinkedHashMap<>();
        Matcher m = CHALLENGE_PARAM.matcher(challenge);
        while (m.find()) {
            params.put(m.group(1), m.group(2));
        }
        String realm = params.get("realm");
        if (realm == null) {
            return null;
        }
        URI realmUri;
        try {
            realmUri = URI.create(realm);
        } catch (IllegalArgumentException e) {
            throw new RegistryException(RegistryException.Kind.FAILED, "the registry " + ref.registry() + " named a token service "
                    + "that is not a URL: refused");
        }
        URI registryUri = URI.create(base(ref));
        boolean ownHost = realmUri.getHost() != null && realmUri.getHost().equalsIgnoreCase(registryUri.getHost());
        if (!ownHost && (realmUri.getHost() == null || !allowedAuthHosts.contains(realmUri.getHost().toLowerCase(java.util.Locale.ROOT)))) {
            // a realm may name any URL (a metadata address, a service on loopback): only the registry's own host, or one allowed
            throw new RegistryException(RegistryException.Kind.UNAUTHORIZED, "the registry " + ref.registry()
                    + " sends its token requests to " + realmUri.getHost() + ", which is neither its own host nor in "
                    + "llmrt.store.allowed-registries: refused");
        }
        if (!"https".equals(realmUri.getScheme()) && !("http".equals(realmUri.getScheme()) && ref.plainHttp())) {
            throw new RegistryException(RegistryException.Kind.UNAUTHORIZED, "the registry " + ref.registry()
                    + " sends its token requests over " + realmUri.getScheme() + ": refused");
        }
        StringBuilder uri = new StringBuilder(realm).append(realm.contains("?") ? "&" : "?");
        Optional.ofNullable(params.get("service")).ifPresent(s -> uri.append("service=").append(enc(s)).append('&'));
        uri.append("scope=").append(enc(params.getOrDefault("scope", scope)));
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(uri.toString())).timeout(timeout).GET();
        if (credential != null) {
            b.header("Authorization", credential.contains(":")
                    ? "Basic " + Base64.getEncoder().encodeToString(credential.getBytes(StandardCharsets.UTF_8))
                    : "Bearer " + credential);
        }
        try {
            HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) {
                return null;
            }
            Matcher token = Pattern.compile("\"(?:token|access_token)\"\\s*:\\s*\"([^\"]+)\"").matcher(r.body());
            return token.find() ? "Bearer " + token.group(1) : null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }

    private static void expect(HttpResponse<?> r, int status, String what) throws RegistryException {
        if (r.statusCode() == status) {
            return;
        }
        String body = r.body() instanceof String s ? s : r.body() instanceof byte[] b ? new String(b, StandardCharsets.UTF_8) : "";
        body = body.length() > 300 ? body.substring(0, 300) + "..." : body.strip();
        RegistryException.Kind kind = r.statusCode() == 404 ? RegistryException.Kind.NOT_FOUND
                : r.statusCode() == 401 || r.statusCode() == 403 ? RegistryException.Kind.UNAUTHORIZED
                : RegistryException.Kind.FAILED;
        throw new RegistryException(kind, what + ": the registry answered HTTP " + r.statusCode() + (body.isEmpty() ? "" : " " + body));
    }

    private static void closeQuietly(HttpResponse<?> r) {
        if (r.body() instanceof InputStream in) {
            try {
                in.close();
            } catch (IOException ignored) {
                // the connection is dropped either way
            }
        }
    }

    private static String base(ModelReference ref) {
        return (ref.plainHttp() ? "http://" : "https://") + ref.apiHost();
    }

    private static URI api(ModelReference ref, String path) {
        return URI.create(base(ref) + "/v2/" + ref.repository() + path);
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    /** Counts the bytes read, for upload progress. */
    private static final class Counting extends FilterInputStream {
        private final LongConsumer progress;
        private long count;

        Counting(InputStream in, LongConsumer progress) {
            super(in);
            this.progress = progress;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = super.read(b, off, len);
            if (n > 0) {
                progress.accept(count += n);
            }
            return n;
        }
    }
}
