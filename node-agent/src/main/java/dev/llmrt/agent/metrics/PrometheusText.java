package dev.llmrt.agent.metrics;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads Prometheus' text exposition format (0.0.4), as llama-server, vLLM and the sim write it, into
 * metric families: each {@code # TYPE} starts one, and a sample joins the family whose name it carries
 * (with {@code _bucket}, {@code _sum}, {@code _count}, {@code _total} or {@code _created} for the kinds
 * that have them); a sample with no {@code # TYPE} before it is a family of its own, untyped.
 */
public final class PrometheusText {
    /** One line's sample: its full name, labels in order, value. */
    public record Sample(String name, Map<String, String> labels, double value) {}

    /** @param type counter, gauge, histogram, summary or untyped */
    public record Family(String name, String type, String help, List<Sample> samples) {}

    private PrometheusText() {}

    /** Families in the order they appear; lines it can't read are skipped. */
    public static List<Family> parse(String text) {
        Map<String, Family> families = new LinkedHashMap<>();
        Map<String, String> helps = new LinkedHashMap<>();
        Family current = null;
        for (String raw : text.split("\n")) {
            String line = raw.strip();
            if (line.isEmpty()) {
                continue;
            }
            if (line.startsWith("#")) {
                String[] parts = line.substring(1).strip().split("\\s+", 3);
                if (parts.length >= 3 && parts[0].equals("HELP")) {
                    helps.put(parts[1], unescapeHelp(parts[2]));
                } else if (parts.length >= 3 && parts[0].equals("TYPE")) {
                    current = families.computeIfAbsent(parts[1], n -> new Family(n, parts[2], "", new ArrayList<>()));
                }
                continue;
            }
            Sample s = sample(line);
            if (s == null) {
                continue;
            }
            if (current == null || !belongs(s.name(), current)) {
                Family f = families.get(s.name());
                current = f != null ? f : families.computeIfAbsent(s.name(), n -> new Family(n, "untyped", "", new ArrayList<>()));
            }
            current.samples().add(s);
        }
        List<Family> out = new ArrayList<>();
        families.values().forEach(f -> out.add(new Family(f.name(), f.type(), helps.getOrDefault(f.name(), ""), List.copyOf(f.samples()))));
        return out;
    }

    private static boolean belongs(String sample, Family f) {
        if (sample.equals(f.name())) {
            return true;
        }
        if (!sample.startsWith(f.name())) {
            return false;
        }
        String suffix = sample.substring(f.name().length());
        return switch (f.type()) {
            case "histogram" -> suffix.equals("_bucket") || suffix.equals("_sum") || suffix.equals("_count") || suffix.equals("_created");
            case "summary" -> suffix.equals("_sum") || suffix.equals("_count") || suffix.equals("_created");
            case "counter" -> suffix.equals("_total") || suffix.equals("_created");
            default -> false;
        };
    }

    /** {@code name{a="x",b="y"} value [timestamp]}; null when the line isn't one. */
    static Sample sample(String line) {
        int i = 0;
        while (i < line.length() && line.charAt(i) != '{' && !Character.isWhitespace(line.charAt(i))) {
            i++;
        }
        String name = line.substring(0, i);
        if (name.isEmpty()) {
            return null;
        }
        Map<String, String> labels = new LinkedHashMap<>();
        if (i < line.length() && line.charAt(i) == '{') {
            i++;
            while (true) {
                while (i < line.length() && (line.charAt(i) == ',' || line.charAt(i) == ' ')) {
                    i++;
                }
                if (i >= line.length()) {
                    return null;
                }
                if (line.charAt(i) == '}') {
                    i++;
                    break;
                }
                int eq = line.indexOf('=', i);
                if (eq < 0 || eq + 1 >= line.length() || line.charAt(eq + 1) != '"') {
                    return null;
                }
                String key = line.substring(i, eq).strip();
                StringBuilder value = new StringBuilder();
                int j = eq + 2;
                while (j < line.length() && line.charAt(j) != '"') {
                    char c = line.charAt(j);
                    if (c == '\\' && j + 1 < line.length()) {
                        char next = line.charAt(++j);
                        value.append(next == 'n' ? '\n' : next);
                    } else {
                        value.append(c);
                    }
                    j++;
                }
                if (j >= line.length()) {
                    return null;
                }
                labels.put(key, value.toString());
                i = j + 1;
            }
        }
        String[] rest = line.substring(i).strip().split("\\s+");
        if (rest.length == 0 || rest[0].isEmpty()) {
            return null;
        }
        try {
            return new Sample(name, labels, value(rest[0]));
        } catch (NumberFormatException e) {
            return null;
        }
    }

    private static double value(String v) {
        return switch (v) {
            case "+Inf", "Inf" -> Double.POSITIVE_INFINITY;
            case "-Inf" -> Double.NEGATIVE_INFINITY;
            case "NaN" -> Double.NaN;
            default -> Double.parseDouble(v);
        };
    }

    private static String unescapeHelp(String help) {
        return help.replace("\\n", "\n").replace("\\\\", "\\");
    }
}
