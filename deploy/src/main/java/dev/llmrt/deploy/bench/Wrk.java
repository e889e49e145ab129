package dev.llmrt.deploy.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Runs {@code wrk} (the load generator) against a loopback URL with a POST body, and reads its figures. */
final class Wrk {
    private static final Pattern RPS = Pattern.compile("Requests/sec:\\s+([0-9.]+)");
    private static final Pattern PCT = Pattern.compile("^\\s+(50|99)(?:\\.000)?%\\s+([0-9.]+)(us|ms|s)\\s*$", Pattern.MULTILINE);
    private static final Pattern NON2XX = Pattern.compile("Non-2xx or 3xx responses:\\s+(\\d+)");
    private static final Pattern ERRORS = Pattern.compile("Socket errors: connect (\\d+), read (\\d+), write (\\d+), timeout (\\d+)");

    /** What one run measured; {@code cpuMicros}: CPU time the proxy spent per request (NaN if not measured). */
    record Figures(double rps, double p50Ms, double p99Ms, long errors, double cpuMicros) {
        Figures(double rps, double p50Ms, double p99Ms, long errors) {
            this(rps, p50Ms, p99Ms, errors, Double.NaN);
        }

        Figures withCpu(long cpuNanos, double seconds) {
            return new Figures(rps, p50Ms, p99Ms, errors, cpuNanos / 1e3 / Math.max(1, rps * seconds));
        }
    }

    private final Path script;

    /** @param body the JSON every request sends */
    Wrk(Path workDir, byte[] body) throws IOException {
        this(workDir, body, null);
    }

    /** @param apiKey sent as {@code Authorization: Bearer} with every request, or null */
    Wrk(Path workDir, byte[] body, String apiKey) throws IOException {
        script = workDir.resolve(apiKey == null ? "post.lua" : "post-key.lua");
        String json = new String(body, StandardCharsets.UTF_8).replace("\\", "\\\\").replace("'", "\\'");
        Files.writeString(script, "wrk.method = 'POST'\nwrk.body = '" + json + "'\n"
                + "wrk.headers['Content-Type'] = 'application/json'\n"
                + (apiKey == null ? "" : "wrk.headers['Authorization'] = 'Bearer " + apiKey + "'\n"));
    }

    static boolean available() {
        return Tools.onPath("wrk") != null;
    }

    Figures run(String url, int connections, double seconds) throws IOException, InterruptedException {
        int threads = Math.max(1, Math.min(2, connections));
        Process p = new ProcessBuilder(List.of(Tools.onPath("wrk").toString(), "-t" + threads, "-c" + connections,
                "-d" + Math.max(1, Math.round(seconds)) + "s", "--latency", "-s", script.toString(), url))
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor((long) seconds + 30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException("wrk did not finish");
        }
        Matcher rps = RPS.matcher(out);
        if (p.exitValue() != 0 || !rps.find()) {
            throw new IOException("wrk failed (exit " + p.exitValue() + "): " + out);
        }
        double p50 = Double.NaN;
        double p99 = Double.NaN;
        Matcher m = PCT.matcher(out);
        while (m.find()) {
            double v = Double.parseDouble(m.group(2)) * switch (m.group(3)) {
                case "us" -> 0.001;
                case "s" -> 1000.0;
                default -> 1.0;
            };
            if (m.group(1).equals("50")) {
                p50 = v;
            } else {
                p99 = v;
            }
        }
        long errors = 0;
        Matcher n = NON2XX.matcher(out);
        if (n.find()) {
            errors += Long.parseLong(n.group(1));
        }
        Matcher e = ERRORS.matcher(out);
        if (e.find()) {
            for (int i = 1; i <= 4; i++) {
                errors += Long.parseLong(e.group(i));
            }
        }
        return new Figures(Double.parseDouble(rps.group(1)), p50, p99, errors);
    }
}
