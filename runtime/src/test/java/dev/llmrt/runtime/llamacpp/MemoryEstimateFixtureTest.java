package dev.llmrt.runtime.llamacpp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmrt.testing.H100LlamaServerRuns;
import dev.llmrt.testing.H100LlamaServerRuns.Run;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The llama.cpp estimate against what llama-server really used on an H100, per run of the
 * fixture (copied from shared/fixtures/gpu/h100/llama-server-memory): the total within 5% or
 * 64 MiB of nvidia-smi's per-process figure, and each buffer close to llama-server's own report.
 */
class MemoryEstimateFixtureTest {
    private static final long MIB = 1024 * 1024;

    static List<Run> runs() {
        List<Run> runs = H100LlamaServerRuns.all();
        assertEquals(7, runs.size());
        return runs;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("runs")
    void estimateMatchesWhatLlamaServerUsed(Run run) {
        // the fixture ran with -ngl 999; --embeddings/--pooling are mode flags the backend adds itself
        LlamaCppMemoryEstimator.Estimate e = run.estimate(LlamaCppMemoryEstimator.Settings.DEFAULT);

        assertEquals(run.bufferMiB("CUDA0 model buffer size"), e.weightsDevice() / (double) MIB, 0.01, "weights on the GPU");
        assertEquals(run.bufferMiB("CUDA0 KV buffer size"), e.kvDevice() / (double) MIB, 0.01, "KV cache");
        assertEquals(run.bufferMiB("CUDA0 compute buffer size"), e.computeDevice() / (double) MIB, 1.0, "compute buffer");
        assertEquals(e.overheadDevice(), e.required().vramOverhead(), "the overhead is the part placement learns");

        long actual = run.smiProcessMiB() * MIB;
        long tolerance = Math.max(actual / 20, 64 * MIB);
        long error = Math.abs(e.vram() - actual);
        System.out.printf("%-14s estimate %7.1f MiB, nvidia-smi %5d MiB, error %5.1f MiB%n", run.name(),
                e.vram() / (double) MIB, run.smiProcessMiB(), error / (double) MIB);
        assertTrue(error <= tolerance, run + ": estimate " + e.vram() / MIB + " MiB vs " + run.smiProcessMiB()
                + " MiB used (tolerance " + tolerance / MIB + " MiB)");
    }
}
