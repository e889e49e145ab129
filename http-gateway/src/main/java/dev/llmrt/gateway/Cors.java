package dev.llmrt.gateway;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.regex.Pattern;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpMethods;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.japi.function.Function;

/**
 * Cross-origin requests as model-runner answers them: a request whose {@code Origin} isn't allowed
 * gets 403; an allowed one gets {@code Access-Control-Allow-Origin} back, and its preflight
 * ({@code OPTIONS}) a 204 allowing GET, POST and DELETE with any header. Allowed by default: pages
 * served from localhost, 127.0.0.1 and 0.0.0.0 (http or https, any port); {@code *} allows every
 * origin. Requests without an {@code Origin} (API clients) pass untouched.
 */
public final class Cors {
    private final boolean any;
    private final List<Pattern> allowed = new ArrayList<>();
    private final Executor callbacks;

    /**
     * @param origins   allowed origins besides the local ones ({@code http://host:port}; a port of
     *                  {@code *} means any), or {@code *}
     * @param callbacks where the response's headers are added
     */
    public Cors(List<String> origins, Executor callbacks) {
        this.callbacks = callbacks;
        List<String> all = new ArrayList<>(origins);
        for (String host : List.of("localhost", "127.0.0.1", "0.0.0.0")) {
            for (String scheme : List.of("http", "https")) {
                all.add(scheme + "://" + host);
                all.add(scheme + "://" + host + ":*");
            }
        }
        this.any = origins.contains("*");
        for (String o : all) {
            allowed.add(Pattern.compile(Pattern.quote(o).replace(":*", ":\\E[0-9]+\\Q")));
        }
    }

    public boolean allows(String origin) {
        return any || allowed.stream().anyMatch(p -> p.matcher(origin).matches());
    }

    /** {@code handler} behind the CORS rules. */
    public Function<HttpRequest, CompletionStage<HttpResponse>> wrap(Function<HttpRequest, CompletionStage<HttpResponse>> handler) {
        return request -> {
            Optional<HttpHeader> header = request.getHeader("Origin");
            if (header.isEmpty()) {
                return handler.apply(request);
            }
            String origin = header.get().value();
            if (!allows(origin)) {
                return CompletableFuture.completedFuture(HttpResponse.create().withStatus(StatusCodes.FORBIDDEN)
                        .withEntity(ContentTypes.TEXT_PLAIN_UTF8, "Origin not allowed"));
            }
            RawHeader allowOrigin = RawHeader.create("Access-Control-Allow-Origin", origin);
            if (request.method().equals(HttpMethods.OPTIONS)) {
                return CompletableFuture.completedFuture(HttpResponse.create().withStatus(StatusCodes.NO_CONTENT)
                        .addHeader(allowOrigin).addHeader(RawHeader.create("Access-Control-Allow-Credentials", "true"))
                        .addHeader(RawHeader.create("Access-Control-Allow-Methods", "GET, POST, DELETE"))
                        .addHeader(RawHeader.create("Access-Control-Allow-Headers", "*"))
                        .addHeader(RawHeader.create("Vary", "Origin")));
            }
            return handler.apply(request).thenApplyAsync(r -> r.addHeader(allowOrigin).addHeader(RawHeader.create("Vary", "Origin")),
                    callbacks);
        };
    }
}
