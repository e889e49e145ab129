package dev.llmrt.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpMethods;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.japi.function.Function;
import org.junit.jupiter.api.Test;

/** Cross-origin requests as model-runner answers them. */
class CorsTest {
    private static final Function<HttpRequest, java.util.concurrent.CompletionStage<HttpResponse>> OK =
            r -> CompletableFuture.completedFuture(HttpResponse.create());

    private static HttpResponse call(Cors cors, HttpRequest request) throws Exception {
        return cors.wrap(OK).apply(request).toCompletableFuture().get(5, TimeUnit.SECONDS);
    }

    private static String header(HttpResponse r, String name) {
        return r.getHeader(name).map(HttpHeader::value).orElse(null);
    }

    @Test
    void localPagesOnAnyPortAreAllowedOthersGet403AndApiClientsPass() throws Exception {
        Cors cors = new Cors(List.of("https://chat.example.com"), Runnable::run);
        assertTrue(cors.allows("http://localhost:3000"));
        assertTrue(cors.allows("https://127.0.0.1"));
        assertTrue(cors.allows("https://chat.example.com"));
        assertFalse(cors.allows("https://chat.example.com.evil.net"));
        assertFalse(cors.allows("http://localhost:3000.evil.net"));

        HttpResponse fromPage = call(cors, HttpRequest.GET("/v1/models").addHeader(RawHeader.create("Origin", "http://localhost:3000")));
        assertEquals(200, fromPage.status().intValue());
        assertEquals("http://localhost:3000", header(fromPage, "Access-Control-Allow-Origin"));

        HttpResponse preflight = call(cors, HttpRequest.create("/v1/chat/completions").withMethod(HttpMethods.OPTIONS)
                .addHeader(RawHeader.create("Origin", "https://chat.example.com")));
        assertEquals(204, preflight.status().intValue());
        assertEquals("https://chat.example.com", header(preflight, "Access-Control-Allow-Origin"));
        assertEquals("GET, POST, DELETE", header(preflight, "Access-Control-Allow-Methods"));
        assertEquals("*", header(preflight, "Access-Control-Allow-Headers"));
        assertEquals("true", header(preflight, "Access-Control-Allow-Credentials"));

        HttpResponse other = call(cors, HttpRequest.GET("/v1/models").addHeader(RawHeader.create("Origin", "https://evil.net")));
        assertEquals(403, other.status().intValue());

        HttpResponse api = call(cors, HttpRequest.GET("/v1/models"));
        assertEquals(200, api.status().intValue());
        assertEquals(null, header(api, "Access-Control-Allow-Origin"), "no Origin, no CORS headers");

        assertTrue(new Cors(List.of("*"), Runnable::run).allows("https://anything.example"));
    }
}
