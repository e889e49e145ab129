package dev.llmrt.agent.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Runners' own metrics re-exported: two runners behind Unix sockets answer {@code /metrics} (one
 * chunked, one with a length) with vLLM-style counters, gauges, a histogram and a summary; the
 * node's text has one family per name with both runners' series, each labelled with node, model,
 * backend and mode, the runner's own labels kept.
 */
class RunnerMetricsTest {
    private static final String VLLM = """
            # HELP vllm:num_requests_running Number of requests in model execution batches.
            # TYPE vllm:num_requests_running gauge
            vllm:num_requests_running{model_name="m"} 2.0
            # HELP vllm:generation_tokens_total Number of generation tokens processed.
            # TYPE vllm:generation_tokens_total counter
            vllm:generation_tokens_total{model_name="m"} 120.0
            vllm:generation_tokens_created{model_name="m"} 1.7e9
            # HELP vllm:time_to_first_token_seconds Histogram of time to first token in seconds.
            # TYPE vllm:time_to_first_token_seconds histogram
            vllm:time_to_first_token_seconds_bucket{le="0.1",model_name="m"} 3.0
            vllm:time_to_first_token_seconds_bucket{le="1.0",model_name="m"} 5.0
            vllm:time_to_first_token_seconds_bucket{le="+Inf",model_name="m"} 6.0
            vllm:time_to_first_token_seconds_count{model_name="m"} 6.0
            vllm:time_to_first_token_seconds_sum{model_name="m"} 4.5
            # TYPE rpc_latency summary
            rpc_latency{quantile="0.5"} 0.2
            rpc_latency_sum 3.0
            rpc_latency_count 10
            untyped_thing{model="clash"} 7
            """;

    /** Answers {@code /metrics} once per connection with {@code body}, chunked in two or with a length. */
    private static void serve(Path socket, String body, boolean chunked) throws IOException {
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
        Thread t = new Thread(() -> {
            try (server; SocketChannel ch = server.accept()) {
                ch.read(ByteBuffer.allocate(4096));
                byte[] b = body.getBytes(StandardCharsets.UTF_8);
                if (chunked) {
                    int half = b.length / 2;
                    write(ch, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
                            + Integer.toHexString(half) + "\r\n");
                    ch.write(ByteBuffer.wrap(b, 0, half));
                    write(ch, "\r\n" + Integer.toHexString(b.length - half) + "\r\n");
                    ch.write(ByteBuffer.wrap(b, half, b.length - half));
                    write(ch, "\r\n0\r\n\r\n");
                } else {
                    write(ch, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + b.length + "\r\n\r\n");
                    ch.write(ByteBuffer.wrap(b));
                }
            } catch (IOException e) {
                // the assertions say what is missing
            }
        });
        t.setDaemon(true);
        t.start();
    }

    private static void write(SocketChannel ch, String s) throws IOException {
        ch.write(ByteBuffer.wrap(s.getBytes(StandardCharsets.US_ASCII)));
    }

    @Test
    void bothRunnersSeriesAreReexportedWithTheirLabels() throws Exception {
        Path dir = Files.createTempDirectory("llmrt-runner-metrics");
        Path a = dir.resolve("a.sock");
        Path b = dir.resolve("b.sock");
        serve(a, VLLM, true);
        serve(b, VLLM.replace("120.0", "30.0"), false);
        PrometheusRegistry registry = new PrometheusRegistry();
        RunnerMetrics metrics = new RunnerMetrics("n1", () -> List.of(
                new RunnerMetrics.Source("m-a", "vllm", "completion", a),
                new RunnerMetrics.Source("m-b", "vllm", "embedding", b),
                new RunnerMetrics.Source("gone", "vllm", "completion", dir.resolve("nothing.sock"))),
                new RunnerMetrics.Settings(Duration.ofSeconds(5), 1 << 20));
        registry.register(metrics);
        ExecutorService io = Executors.newFixedThreadPool(3);
        try {
            metrics.refresh(io).toCompletableFuture().get(10, TimeUnit.SECONDS);
        } finally {
            io.shutdown();
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrometheusTextFormatWriter.create().write(out, registry.scrape());
        String text = out.toString(StandardCharsets.UTF_8);

        String a1 = "{backend=\"vllm\",mode=\"completion\",model=\"m-a\",model_name=\"m\",node=\"n1\"";
        assertTrue(text.contains("vllm:generation_tokens_total" + a1 + "} 120.0\n"), text);
        assertTrue(text.contains("vllm:generation_tokens_total{backend=\"vllm\",mode=\"embedding\",model=\"m-b\",model_name=\"m\",node=\"n1\"} 30.0\n"), text);
        assertEquals(1, text.split("# TYPE vllm:generation_tokens_total counter", -1).length - 1, "one family for both runners");
        assertTrue(text.contains("vllm:num_requests_running" + a1 + "} 2.0\n"), text);
        assertTrue(text.contains("vllm:time_to_first_token_seconds_bucket" + a1 + ",le=\"1.0\"} 5\n"),
                "cumulative buckets as the runner wrote them: " + text);
        assertTrue(text.contains("vllm:time_to_first_token_seconds_count" + a1 + "} 6\n"), text);
        assertTrue(text.contains("vllm:time_to_first_token_seconds_sum" + a1 + "} 4.5\n"), text);
        assertTrue(text.contains("rpc_latency{backend=\"vllm\",mode=\"completion\",model=\"m-a\",node=\"n1\",quantile=\"0.5\"} 0.2\n"), text);
        assertTrue(text.contains("untyped_thing{backend=\"vllm\",exported_model=\"clash\",mode=\"completion\",model=\"m-a\",node=\"n1\"} 7.0\n"),
                "a runner's label that clashes with ours is kept as exported_*: " + text);
        assertFalse(text.contains("model=\"gone\""), "a runner that doesn't answer is left out");
    }
}
