package dev.llmrt.deploy;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** The tests' HTTP calls to a gateway: one client, requests with a JSON body (or none) and any headers. */
final class TestHttp {
    static final HttpClient CLIENT = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10)).build();
    /** Long enough for a model to load on a loaded machine before it answers. */
    private static final Duration TIMEOUT = Duration.ofSeconds(120);

    private TestHttp() {}

    static String local(int port) {
        return "http://127.0.0.1:" + port;
    }

    /**
     * @param body    sent as {@code application/json}; null: no body
     * @param headers names and values in turn; a null value leaves its header out
     */
    static HttpRequest.Builder request(String base, String method, String path, String body, String... headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(TIMEOUT)
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (body != null) {
            b.header("Content-Type", "application/json");
        }
        for (int i = 0; i + 1 < headers.length; i += 2) {
            if (headers[i + 1] != null) {
                b.header(headers[i], headers[i + 1]);
            }
        }
        return b;
    }

    static HttpResponse<String> send(String base, String method, String path, String body, String... headers) throws Exception {
        return CLIENT.send(request(base, method, path, body, headers).build(), HttpResponse.BodyHandlers.ofString());
    }
}
