package dev.llmrt.deploy.bench;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/** The bench's figures, printed at the end as Markdown tables (what docs/BENCHMARKS.md holds). */
final class Report {
    private final List<String> sections = new ArrayList<>();

    static double pct(long[] sorted, double p) {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        return sorted[Math.min(sorted.length - 1, Math.max(0, (int) Math.ceil(p * sorted.length) - 1))];
    }

    static String brief(Map<String, Wrk.Figures> r) {
        return r.entrySet().stream().map(e -> String.format("%s %.0f req/s p50 %.2f ms%s%s", e.getKey(), e.getValue().rps(),
                e.getValue().p50Ms(), Double.isNaN(e.getValue().cpuMicros()) ? "" : String.format(" %.0f us CPU/req", e.getValue().cpuMicros()),
                e.getValue().errors() > 0 ? " (" + e.getValue().errors() + " errors)" : ""))
                .collect(Collectors.joining(", "));
    }

    /** Over the measured rounds: mean throughput, median p50 and p99, errors summed. */
    private static Wrk.Figures combine(List<Wrk.Figures> rounds) {
        return new Wrk.Figures(rounds.stream().mapToDouble(Wrk.Figures::rps).average().orElse(Double.NaN),
                median(rounds.stream().mapToDouble(Wrk.Figures::p50Ms).toArray()),
                median(rounds.stream().mapToDouble(Wrk.Figures::p99Ms).toArray()),
                rounds.stream().mapToLong(Wrk.Figures::errors).sum(),
                median(rounds.stream().mapToDouble(Wrk.Figures::cpuMicros).toArray()));
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length == 0 ? Double.NaN : s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    void throughput(int c, Map<String, List<Wrk.Figures>> byTarget) {
        StringBuilder b = new StringBuilder();
        b.append(String.format("### Non-streaming chat, concurrency %d%n%n", c));
        b.append("| path | req/s | p50 ms | p99 ms | proxy CPU us/request | errors |\n|---|---:|---:|---:|---:|---:|\n");
        Map<String, Wrk.Figures> f = new LinkedHashMap<>();
        byTarget.forEach((k, v) -> f.put(k, combine(v)));
        f.forEach((k, v) -> b.append(String.format("| %s | %.0f | %.2f | %.2f | %s | %d |%n", label(k), v.rps(), v.p50Ms(),
                v.p99Ms(), Double.isNaN(v.cpuMicros()) ? "" : String.format("%.0f", v.cpuMicros()), v.errors())));
        Wrk.Figures g = f.get("gateway");
        Wrk.Figures n = f.get("nginx");
        if (g != null && n != null) {
            b.append(String.format("%ngateway vs nginx: throughput %.2fx, p50 %+.2f ms, p99 %+.2f ms, CPU per request %.1fx%n",
                    g.rps() / n.rps(), g.p50Ms() - n.p50Ms(), g.p99Ms() - n.p99Ms(), g.cpuMicros() / n.cpuMicros()));
        }
        sections.add(b.toString());
    }

    void keys(Map<String, List<Wrk.Figures>> byTarget) {
        StringBuilder b = new StringBuilder();
        b.append(String.format("### API keys, non-streaming chat, concurrency 32%n%n"));
        b.append("| keys | req/s | p50 ms | p99 ms | errors |\n|---|---:|---:|---:|---:|\n");
        Map<String, Wrk.Figures> f = new LinkedHashMap<>();
        byTarget.forEach((k, v) -> f.put(k, combine(v)));
        f.forEach((k, v) -> b.append(String.format("| %s | %.0f | %.2f | %.2f | %d |%n", k, v.rps(), v.p50Ms(), v.p99Ms(), v.errors())));
        Wrk.Figures off = f.get("keys off");
        Wrk.Figures on = f.get("key");
        Wrk.Figures limited = f.get("key with limits");
        if (off != null && on != null && limited != null) {
            b.append(String.format("%nthroughput with a key %.2fx of keys off, with a key's limits %.2fx%n",
                    on.rps() / off.rps(), limited.rps() / off.rps()));
        }
        sections.add(b.toString());
    }

    private static String label(String target) {
        return switch (target) {
            case "direct" -> "runner socket, direct (bench client)";
            case "gateway" -> "gateway -> runner socket";
            case "nginx" -> "nginx -> runner socket";
            default -> target;
        };
    }

    void streaming(String model, Map<String, List<RawHttp.Timing>> timings) {
        StringBuilder b = new StringBuilder();
        b.append(String.format("### Streaming, one at a time (%s)%n%n", model));
        b.append("| path | streams | first part p50 ms | p99 ms | gap per token p50 ms |\n|---|---:|---:|---:|---:|\n");
        double[] ttft = new double[3];
        double[] gap = new double[3];
        int i = 0;
        for (String k : List.of("direct", "gateway", "nginx")) {
            List<RawHttp.Timing> t = timings.get(k);
            if (t == null) {
                i++;
                continue;
            }
            long[] first = t.stream().mapToLong(RawHttp.Timing::firstPartNanos).sorted().toArray();
            long[] gaps = t.stream().flatMapToLong(x -> Arrays.stream(x.gapNanos())).sorted().toArray();
            ttft[i] = pct(first, 0.5) / 1e6;
            gap[i] = pct(gaps, 0.5) / 1e6;
            b.append(String.format("| %s | %d | %.2f | %.2f | %.3f |%n", label(k), t.size(), ttft[i], pct(first, 0.99) / 1e6, gap[i]));
            i++;
        }
        b.append(String.format("%ngateway adds to the first part: %+.2f ms over direct, %+.2f ms over nginx; "
                + "to the gap per token: %+.3f ms over direct%n", ttft[1] - ttft[0], ttft[1] - ttft[2], gap[1] - gap[0]));
        sections.add(b.toString());
    }

    void crossNode(Map<String, List<Wrk.Figures>> load, Map<String, List<RawHttp.Timing>> single) {
        StringBuilder b = new StringBuilder("### Cross-node: gateway in a second JVM, agent in this one (Artery)\n\n");
        b.append("| path | req/s at c=32 | p50 ms | p99 ms | one at a time p50 ms |\n|---|---:|---:|---:|---:|\n");
        double[] one = new double[2];
        int i = 0;
        for (String k : List.of("same node", "cross-node")) {
            Wrk.Figures f = combine(load.get(k));
            long[] lat = single.get(k).stream().mapToLong(RawHttp.Timing::totalNanos).sorted().toArray();
            one[i] = pct(lat, 0.5) / 1e6;
            b.append(String.format("| %s | %.0f | %.2f | %.2f | %.3f |%n", k, f.rps(), f.p50Ms(), f.p99Ms(), one[i++]));
        }
        b.append(String.format("%ncross-node adds %+.3f ms at p50 (one at a time)%n", one[1] - one[0]));
        sections.add(b.toString());
    }

    void cold(List<long[]> samples) {
        StringBuilder b = new StringBuilder("### Cold load (sim runner, streaming request)\n\n");
        b.append("| first request to first part ms | runner start to healthy ms | overhead ms |\n|---:|---:|---:|\n");
        double[] overhead = new double[samples.size()];
        int i = 0;
        for (long[] s : samples) {
            overhead[i] = (s[0] - s[1]) / 1e6;
            b.append(String.format("| %.1f | %.1f | %.1f |%n", s[0] / 1e6, s[1] / 1e6, overhead[i++]));
        }
        b.append(String.format("%ncold-load overhead, median: %.1f ms%n", median(overhead)));
        sections.add(b.toString());
    }

    void streams(int n, int got, double seconds, long heap, long rss, int threadsBefore, int threadsAfter) {
        sections.add(String.format("### %d streams open at once on one runner%n%n"
                        + "| streams with a first token | seconds until all had one | heap used MiB (after GC) | RSS MiB | "
                        + "threads before | threads with them open |%n|---:|---:|---:|---:|---:|---:|%n"
                        + "| %d / %d | %.2f | %.0f | %.0f | %d | %d |%n%n(one JVM: gateway, agent and the bench's client)%n",
                n, got, n, seconds, heap / 1048576.0, rss / 1048576.0, threadsBefore, threadsAfter));
    }

    void startup(Map<String, Double> ms, String note) {
        StringBuilder b = new StringBuilder("### `serve` start-up: JVM start to /ready answering 200 (the best of the runs)\n\n| JVM | ms |\n|---|---:|\n");
        ms.forEach((k, v) -> b.append(String.format("| %s | %.0f |%n", k, v)));
        if (note != null) {
            b.append("\n(").append(note).append(")\n");
        }
        sections.add(b.toString());
    }

    void print(PrintStream out) {
        sections.forEach(s -> out.println(s));
    }
}
