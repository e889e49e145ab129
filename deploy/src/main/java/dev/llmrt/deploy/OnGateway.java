package dev.llmrt.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import picocli.CommandLine.Option;

/**
 * A command that talks to a gateway: --host, else MODEL_RUNNER_HOST (as docker model), else the
 * embedded default; with --api-key or LLMRT_API_KEY when keys are on.
 */
abstract class OnGateway {
    static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10)).build();

    @Option(names = "--host", description = "The gateway (default: $MODEL_RUNNER_HOST, else http://127.0.0.1:12434).")
    String host;

    @Option(names = "--api-key", description = "An admin API key, when the gateway has keys (default: $LLMRT_API_KEY).")
    String apiKey;

    String base() {
        String h = host != null ? host : System.getenv().getOrDefault("MODEL_RUNNER_HOST", "http://127.0.0.1:12434");
        return h.endsWith("/") ? h.substring(0, h.length() - 1) : h;
    }

    HttpRequest.Builder request(String path) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base() + path));
        String key = apiKey != null ? apiKey : System.getenv("LLMRT_API_KEY");
        if (key != null && !key.isBlank()) {
            b.header("Authorization", "Bearer " + key);
        }
        return b;
    }

    /** Prints a response that streams progress lines as they come; 0 when it ended well. */
    int progress(HttpRequest request) throws IOException, InterruptedException {
        HttpResponse<InputStream> r = HTTP.send(request, HttpResponse.BodyHandlers.ofInputStream());
        try (BufferedReader lines = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
            if (r.statusCode() >= 300) {
                System.err.println("llmrt: HTTP " + r.statusCode() + ": " + String.join(" ", lines.lines().toList()).strip());
                return 1;
            }
            int rc = 0;
            for (String line; (line = lines.readLine()) != null; ) {
                if (line.isBlank()) {
                    continue;
                }
                JsonNode event = JSON.readTree(line);
                String type = event.path("type").asText();
                if (type.equals("error")) {
                    System.err.println("llmrt: " + event.path("message").asText(line));
                    rc = 1;
                } else if (type.equals("success")) {
                    System.out.println(event.path("message").asText());
                } else {
                    System.out.print("\r" + event.path("message").asText() + "    ");
                }
            }
            return rc;
        }
    }

    int simple(HttpRequest request) throws IOException, InterruptedException {
        HttpResponse<String> r = HTTP.send(request, HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() >= 300) {
            System.err.println("llmrt: HTTP " + r.statusCode() + ": " + r.body().strip());
            return 1;
        }
        System.out.println(r.body().strip());
        return 0;
    }
}
