package dev.llmrt.runtime.llamacpp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmrt.runtime.gguf.GgufFile;
import dev.llmrt.runtime.gguf.GgufReader;
import dev.llmrt.runtime.spi.BackendConfiguration;
import dev.llmrt.runtime.spi.BackendMode;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The llama.cpp estimate against what llama-server really used on an H100, per run of the
 * fixture (copied from shared/fixtures/gpu/h100/llama-server-memory): the total within 5% or
 * 64 MiB of nvidia-smi's per-process figure, and each buffer close to llama-server's own report.
 */
class MemoryEstimateFixtureTest {
    private static final long MIB = 1024 * 1024;
    private static final String DIR = "/fixtures/h100/llama-server-memory/";

    record Run(String name, String model, List<String> args, long smiProcessMiB, double modelBufferMiB,
               double kvBufferMiB, double computeBufferMiB) {
        @Override
        public String toString() {
            return name + " " + String.join(" ", args);
        }
    }

    static Stream<Run> runs() throws Exception {
        String tsv = new String(MemoryEstimateFixtureTest.class.getResourceAsStream(DIR + "results.tsv").readAllBytes(),
                StandardCharsets.UTF_8);
        List<Run> runs = new ArrayList<>();
        for (String line : tsv.lines().skip(1).toList()) {
            String[] f = line.split("\t");
            runs.add(new Run(f[0], f[1], Arrays.asList(f[2].split(" ")), Long.parseLong(f[4]),
                    buffer(f[6], "CUDA0 model buffer size"), buffer(f[6], "CUDA0 KV buffer size"),
                    buffer(f[6], "CUDA0 compute buffer size")));
        }
        assertEquals(7, runs.size());
        return runs.stream();
    }

    private static double buffer(String buffers, String label) {
        Matcher m = Pattern.compile(Pattern.quote(label) + " = +([0-9.]+) MiB").matcher(buffers);
        assertTrue(m.find(), label + " in " + buffers);
        return Double.parseDouble(m.group(1));
    }

    private static GgufFile header(String model) throws Exception {
        String file = model.replace(".gguf", ".hdr");
        try (InputStream in = MemoryEstimateFixtureTest.class.getResourceAsStream(DIR + "headers/" + file)) {
            byte[] bytes = in.readAllBytes();
            return GgufReader.read(new java.io.ByteArrayInputStream(bytes), bytes.length);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("runs")
    void estimateMatchesWhatLlamaServerUsed(Run run) throws Exception {
        GgufFile model = header(run.model());
        // the fixture ran with -ngl 999; --embeddings/--pooling are mode flags the backend adds itself
        List<String> flags = run.args().stream().filter(a -> !a.equals("--embeddings")).toList();
        List<String> runtimeFlags = new ArrayList<>();
        for (int i = 0; i < flags.size(); i++) {
            if (flags.get(i).equals("--pooling")) {
                i++;
            } else {
                runtimeFlags.add(flags.get(i));
            }
        }
        BackendMode mode = run.args().contains("--embeddings") ? BackendMode.EMBEDDING : BackendMode.COMPLETION;
        LlamaServerParams params = LlamaServerParams.resolve(model, new BackendConfiguration(null, runtimeFlags, null), mode);
        LlamaCppMemoryEstimator.Estimate e = new LlamaCppMemoryEstimator(LlamaCppMemoryEstimator.Settings.DEFAULT)
                .estimate(model, params);

        assertEquals(run.modelBufferMiB(), e.weightsDevice() / (double) MIB, 0.01, "weights on the GPU");
        assertEquals(run.kvBufferMiB(), e.kvDevice() / (double) MIB, 0.01, "KV cache");
        assertEquals(run.computeBufferMiB(), e.computeDevice() / (double) MIB, 1.0, "compute buffer");

        long actual = run.smiProcessMiB() * MIB;
        long tolerance = Math.max(actual / 20, 64 * MIB);
        long error = Math.abs(e.vram() - actual);
        System.out.printf("%-14s estimate %7.1f MiB, nvidia-smi %5d MiB, error %5.1f MiB%n", run.name(),
                e.vram() / (double) MIB, run.smiProcessMiB(), error / (double) MIB);
        assertTrue(error <= tolerance, run + ": estimate " + e.vram() / MIB + " MiB vs " + run.smiProcessMiB()
                + " MiB used (tolerance " + tolerance / MIB + " MiB)");
    }
}
