package dev.llmrt.gateway.metrics;

import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.Supplier;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * {@code GET /metrics}: the node's registry in Prometheus' text format, on every node (gateway or
 * agent), with each of its runners' own metrics read just before.
 */
public final class MetricsRoutes extends AllDirectives {
    private static final ContentType TEXT = ContentTypes.parse(PrometheusTextFormatWriter.CONTENT_TYPE);
    private final PrometheusRegistry registry;
    private final PrometheusTextFormatWriter writer = PrometheusTextFormatWriter.create();
    private final Supplier<CompletionStage<Void>> beforeScrape;
    private final Executor callbacks;

    public MetricsRoutes(PrometheusRegistry registry) {
        this(registry, () -> CompletableFuture.completedFuture(null), Runnable::run);
    }

    /**
     * @param beforeScrape what brings the registry up to date first (reading the runners' own metrics);
     *                     the scrape goes on whether it succeeded or not
     */
    public MetricsRoutes(PrometheusRegistry registry, Supplier<CompletionStage<Void>> beforeScrape, Executor callbacks) {
        this.registry = registry;
        this.beforeScrape = beforeScrape;
        this.callbacks = callbacks;
    }

    public Route route() {
        return path("metrics", () -> get(() -> completeWithFuture(
                beforeScrape.get().handleAsync((ok, e) -> scrape(), callbacks))));
    }

    private HttpResponse scrape() {
        ByteArrayOutputStream out = new ByteArrayOutputStream(16 * 1024);
        try {
            writer.write(out, registry.scrape());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return HttpResponse.create().withEntity(TEXT, out.toByteArray());
    }
}
