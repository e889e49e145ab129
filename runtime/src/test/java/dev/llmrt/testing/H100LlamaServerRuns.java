package dev.llmrt.testing;

import dev.llmrt.runtime.gguf.GgufFile;
import dev.llmrt.runtime.gguf.GgufReader;
import dev.llmrt.runtime.llamacpp.LlamaCppMemoryEstimator;
import dev.llmrt.runtime.llamacpp.LlamaServerParams;
import dev.llmrt.runtime.spi.BackendConfiguration;
import dev.llmrt.runtime.spi.BackendMode;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What llama-server really allocated on an H100 (shared/fixtures/gpu/h100/llama-server-memory,
 * copied to the test resources): one {@link Run} per row of {@code results.tsv}, with the model's
 * GGUF header and the runtime flags and mode it ran with.
 */
public final class H100LlamaServerRuns {
    private static final String DIR = "/fixtures/h100/llama-server-memory/";

    /** One run: its arguments as llama-server got them, nvidia-smi's per-process MiB, and its buffer lines. */
    public record Run(String name, String model, List<String> args, long smiProcessMiB, String buffers) {
        /** The mode the backend would run it in: --embeddings is a mode flag, not a runtime flag. */
        public BackendMode mode() {
            return args.contains("--embeddings") ? BackendMode.EMBEDDING : BackendMode.COMPLETION;
        }

        /** Its runtime flags, without the flags the backend adds itself for the mode. */
        public List<String> runtimeFlags() {
            List<String> out = new ArrayList<>();
            for (int i = 0; i < args.size(); i++) {
                if (args.get(i).equals("--pooling")) {
                    i++;
                } else if (!args.get(i).equals("--embeddings")) {
                    out.add(args.get(i));
                }
            }
            return out;
        }

        /** The MiB of a buffer line llama-server printed, e.g. "CUDA0 model buffer size". */
        public double bufferMiB(String label) {
            Matcher m = Pattern.compile(Pattern.quote(label) + " = +([0-9.]+) MiB").matcher(buffers);
            if (!m.find()) {
                throw new AssertionError(label + " not in " + buffers);
            }
            return Double.parseDouble(m.group(1));
        }

        /** The estimate of this run with these estimator settings. */
        public LlamaCppMemoryEstimator.Estimate estimate(LlamaCppMemoryEstimator.Settings settings) {
            GgufFile header = header(model);
            LlamaServerParams params = LlamaServerParams.resolve(header, new BackendConfiguration(null, runtimeFlags(), null), mode());
            return new LlamaCppMemoryEstimator(settings).estimate(header, params);
        }

        @Override
        public String toString() {
            return name + " " + String.join(" ", args);
        }
    }

    private H100LlamaServerRuns() {}

    public static List<Run> all() {
        List<Run> runs = new ArrayList<>();
        for (String line : resource("results.tsv").lines().skip(1).toList()) {
            String[] f = line.split("\t");
            runs.add(new Run(f[0], f[1], Arrays.asList(f[2].split(" ")), Long.parseLong(f[4]), f[6]));
        }
        return runs;
    }

    public static Run named(String name) {
        return all().stream().filter(r -> r.name().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no run " + name + " in the fixture"));
    }

    /** The model's GGUF header (the file cut where its tensor data starts). */
    public static GgufFile header(String model) {
        String file = "headers/" + model.replace(".gguf", ".hdr");
        try (InputStream in = H100LlamaServerRuns.class.getResourceAsStream(DIR + file)) {
            if (in == null) {
                throw new AssertionError("fixture " + DIR + file + " is missing");
            }
            byte[] bytes = in.readAllBytes();
            return GgufReader.read(new ByteArrayInputStream(bytes), bytes.length);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (Exception e) {
            throw new AssertionError("can't read " + file + ": " + e, e);
        }
    }

    private static String resource(String name) {
        try (InputStream in = H100LlamaServerRuns.class.getResourceAsStream(DIR + name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
