package dev.llmrt.gateway.metrics;

import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import io.prometheus.metrics.core.datapoints.DistributionDataPoint;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import org.apache.pekko.NotUsed;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;

/**
 * What the gateway counts, named like vLLM's series where the meaning is the same (prefixed
 * {@code llmrt_}: Prometheus keeps colons for recording rules): requests by model, route, status and
 * origin; end-to-end latency, time to first token, inter-token latency and queue time; prompt and
 * generation tokens from the answers' {@code usage}. Recording costs a label lookup and an add, on
 * the thread that answers.
 */
public final class GatewayMetrics {
    private static final double[] LATENCY = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300};
    private static final double[] TOKEN_GAP = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5};
    /**
     * An origin header becomes a label only in this form, and only the first {@link #MAX_ORIGINS}
     * distinct ones (the runtime's own among them): anything else counts as "other", so a client
     * can't make a series per value.
     */
    private static final Pattern ORIGIN = Pattern.compile("[A-Za-z0-9_./-]{1,32}");
    static final int MAX_ORIGINS = 32;
    private final java.util.Set<String> origins = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private static final byte[] USAGE = "\"usage\"".getBytes(StandardCharsets.US_ASCII);

    private final Counter requests;
    private final Histogram e2e;
    private final Histogram ttft;
    private final Histogram itl;
    private final Histogram queue;
    private final Counter promptTokens;
    private final Counter generationTokens;
    /** Each model's data points, looked up once: recording is then an add. */
    private final Map<String, Series> byModel = new ConcurrentHashMap<>();
    private final Map<RequestKey, CounterDataPoint> byRequest = new ConcurrentHashMap<>();

    private record RequestKey(String model, String route, int status, String origin) {}

    private record Series(DistributionDataPoint e2e, DistributionDataPoint ttft, DistributionDataPoint itl,
                          DistributionDataPoint queue, CounterDataPoint prompt, CounterDataPoint generation) {}

    private Series series(String model) {
        return byModel.computeIfAbsent(model, m -> new Series(e2e.labelValues(m), ttft.labelValues(m), itl.labelValues(m),
                queue.labelValues(m), promptTokens.labelValues(m), generationTokens.labelValues(m)));
    }

    public GatewayMetrics(PrometheusRegistry registry) {
        requests = Counter.builder().name("llmrt_requests_total")
                .help("Inference requests answered by this gateway, by model, route, HTTP status and X-Request-Origin")
                .labelNames("model", "route", "status", "origin").register(registry);
        e2e = histogram(registry, "llmrt_e2e_request_latency_seconds",
                "From the request's arrival to its answer's last byte", LATENCY);
        ttft = histogram(registry, "llmrt_time_to_first_token_seconds",
                "From a streamed request's arrival to its first event", LATENCY);
        itl = histogram(registry, "llmrt_inter_token_latency_seconds", "Between a stream's events", TOKEN_GAP);
        queue = histogram(registry, "llmrt_request_queue_time_seconds",
                "How long a request waited in the gateway for a replica with room", LATENCY);
        promptTokens = Counter.builder().name("llmrt_prompt_tokens_total")
                .help("Prompt tokens, from the answers' usage").labelNames("model").register(registry);
        generationTokens = Counter.builder().name("llmrt_generation_tokens_total")
                .help("Generated tokens, from the answers' usage").labelNames("model").register(registry);
    }

    private static Histogram histogram(PrometheusRegistry registry, String name, String help, double[] bounds) {
        return Histogram.builder().name(name).help(help).labelNames("model").classicOnly().classicUpperBounds(bounds)
                .register(registry);
    }

    /** One answered request (for a stream: once it ended). */
    public void answered(String model, String route, int status, String origin, long startNanos) {
        byRequest.computeIfAbsent(new RequestKey(model, route, status, originLabel(origin)),
                k -> requests.labelValues(k.model(), k.route(), Integer.toString(k.status()), k.origin())).inc();
        series(model).e2e().observe((System.nanoTime() - startNanos) / 1e9);
    }

    public void queued(String model, long waitedNanos) {
        series(model).queue().observe(waitedNanos / 1e9);
    }

    /** Token counts from a whole JSON answer's {@code usage}, if it has one. */
    public void usage(String model, byte[] body) {
        int at = indexOf(body, 0, body.length);
        if (at >= 0) {
            countUsage(model, body, at, body.length - at);
        }
    }

    /**
     * The stream as the client gets it, timed: the first event's delay, each gap, tokens from a
     * {@code usage} in its events, and the request counted when it ends.
     */
    public Source<ByteString, NotUsed> timed(Source<ByteString, NotUsed> body, String model, String route, int status,
                                             String origin, long startNanos) {
        Series series = series(model);
        return body.statefulMap(() -> new long[] {0},
                (last, part) -> {
                    long now = System.nanoTime();
                    if (last[0] == 0) {
                        series.ttft().observe((now - startNanos) / 1e9);
                    } else {
                        series.itl().observe((now - last[0]) / 1e9);
                    }
                    last[0] = now;
                    if (part.size() > USAGE.length && part.indexOf(USAGE[1]) >= 0) {
                        byte[] bytes = part.toArrayUnsafe();
                        int at = indexOf(bytes, 0, bytes.length);
                        if (at >= 0) {
                            countUsage(model, bytes, at, bytes.length - at);
                        }
                    }
                    return Pair.create(last, part);
                },
                last -> {
                    answered(model, route, status, origin, startNanos);
                    return Optional.empty();
                });
    }

    private void countUsage(String model, byte[] bytes, int offset, int length) {
        // "usage": {"prompt_tokens": n, "completion_tokens": m, ...}: read the two numbers in place
        long prompt = number(bytes, offset, length, "\"prompt_tokens\"");
        long completion = number(bytes, offset, length, "\"completion_tokens\"");
        if (prompt < 0 && completion < 0) { // Anthropic's Messages API names them differently
            prompt = number(bytes, offset, length, "\"input_tokens\"");
            completion = number(bytes, offset, length, "\"output_tokens\"");
        }
        if (prompt > 0) {
            series(model).prompt().inc(prompt);
        }
        if (completion > 0) {
            series(model).generation().inc(completion);
        }
    }

    /** The integer after {@code key} and its colon within the range, or -1. */
    private static long number(byte[] b, int offset, int length, String key) {
        byte[] k = key.getBytes(StandardCharsets.US_ASCII);
        int end = offset + length;
        outer:
        for (int i = offset; i + k.length <= end; i++) {
            for (int j = 0; j < k.length; j++) {
                if (b[i + j] != k[j]) {
                    continue outer;
                }
            }
            int p = i + k.length;
            while (p < end && (b[p] == ' ' || b[p] == ':' || b[p] == '\t' || b[p] == '\n' || b[p] == '\r')) {
                p++;
            }
            long v = 0;
            int digits = 0;
            while (p < end && b[p] >= '0' && b[p] <= '9' && digits < 18) {
                v = v * 10 + (b[p++] - '0');
                digits++;
            }
            return digits == 0 ? -1 : v;
        }
        return -1;
    }

    /** Where {@code "usage"} starts in the range, searching from the end (it comes last), or -1. */
    private static int indexOf(byte[] b, int offset, int length) {
        for (int i = offset + length - USAGE.length; i >= offset; i--) {
            if (b[i] == '"' && b[i + 1] == 'u') {
                int j = 2;
                while (j < USAGE.length && b[i + j] == USAGE[j]) {
                    j++;
                }
                if (j == USAGE.length) {
                    return i;
                }
            }
        }
        return -1;
    }

    private String originLabel(String origin) {
        if (origin == null || origin.isEmpty()) {
            return "";
        }
        if (!ORIGIN.matcher(origin).matches()) {
            return "other";
        }
        if (origins.contains(origin)) {
            return origin;
        }
        synchronized (origins) {
            if (origins.size() >= MAX_ORIGINS) {
                return "other";
            }
            origins.add(origin);
            return origin;
        }
    }
}
