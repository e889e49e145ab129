package dev.llmrt.agent.placement;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmrt.agent.gpu.GpuKind;
import dev.llmrt.agent.placement.PlacementPlanner.Demand;
import dev.llmrt.agent.placement.PlacementPlanner.Overhead;
import dev.llmrt.runtime.gguf.GgufFile;
import dev.llmrt.runtime.llamacpp.LlamaCppMemoryEstimator;
import dev.llmrt.runtime.llamacpp.LlamaServerParams;
import dev.llmrt.runtime.spi.BackendConfiguration;
import dev.llmrt.runtime.spi.BackendMode;
import dev.llmrt.runtime.spi.RequiredMemory;
import dev.llmrt.testing.H100LlamaServerRuns;
import dev.llmrt.testing.H100LlamaServerRuns.Run;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Learning the per-process overhead from measured runners, checked on what llama-server really used
 * on an H100: the estimator is given a prior 100 MiB short (as the H100's 587 MiB is on an H200),
 * learns from one run, and must then predict the other runs on that GPU kind.
 */
class OverheadCalibrationTest {
    private static final long MIB = 1024L * 1024L;
    private static final GpuKind H100 = new GpuKind("NVIDIA H100 80GB HBM3", "580.159.04");
    private static final GpuKind H200 = new GpuKind("NVIDIA H200", "580.159.04");
    private static final LlamaCppMemoryEstimator.Settings SHORT_PRIOR =
            new LlamaCppMemoryEstimator.Settings(487 * MIB, 100 * MIB, 64 * MIB);
    private static final String LLAMA = "llama.cpp";
    private static final String COMPLETION = BackendMode.COMPLETION.wireName();

    private static Demand demand(RequiredMemory m, Map<GpuKind, Long> learned) {
        return new Demand(m.vramWithoutOverhead(), m.ram(), true, new Overhead(m.vramOverhead(), learned));
    }

    /** The estimate of the fixture's F16 model with these runtime flags. */
    private static RequiredMemory f16(String... flags) {
        GgufFile header = H100LlamaServerRuns.header("a-f16.gguf");
        LlamaServerParams p = LlamaServerParams.resolve(header, new BackendConfiguration(4096L, List.of(flags), null),
                BackendMode.COMPLETION);
        return new LlamaCppMemoryEstimator(SHORT_PRIOR).estimate(header, p).required();
    }

    private static Map<GpuKind, Long> learnFrom(OverheadCalibration c, String runName) {
        Run run = H100LlamaServerRuns.named(runName);
        RequiredMemory m = run.estimate(SHORT_PRIOR).required();
        c.measured("runner-" + runName, LLAMA, run.mode().wireName(), List.of(H100), run.smiProcessMiB() * MIB,
                m.vramWithoutOverhead());
        return OverheadCalibration.forRunner(LLAMA, run.mode().wireName(), c.learned(), List.of());
    }

    @Test
    void oneMeasuredRunnerCorrectsTheNextEstimatesOnThatGpuKindAndNoOther() {
        OverheadCalibration calibration = new OverheadCalibration(8);
        Map<GpuKind, Long> learned = learnFrom(calibration, "a16-c4k");
        System.out.printf("learned overhead on %s: %.1f MiB (prior %d MiB)%n", H100, learned.get(H100) / (double) MIB,
                SHORT_PRIOR.cudaOverhead() / MIB);
        int checked = 0;
        for (Run run : H100LlamaServerRuns.all()) {
            if (run.mode() != BackendMode.COMPLETION || run.name().equals("a16-c4k")) {
                continue;
            }
            RequiredMemory m = run.estimate(SHORT_PRIOR).required();
            long actual = run.smiProcessMiB() * MIB;
            long withPrior = demand(m, Map.of()).on(H100);
            long calibrated = demand(m, learned).on(H100);
            System.out.printf("%-14s nvidia-smi %5d MiB, prior %7.1f MiB (%+6.1f), calibrated %7.1f MiB (%+5.1f)%n",
                    run.name(), run.smiProcessMiB(), withPrior / (double) MIB, (withPrior - actual) / (double) MIB,
                    calibrated / (double) MIB, (calibrated - actual) / (double) MIB);
            assertTrue(actual - withPrior > 90 * MIB, run + ": the short prior runs ~100 MiB short");
            assertTrue(Math.abs(calibrated - actual) <= 8 * MIB, run + ": calibrated " + calibrated / MIB
                    + " MiB vs " + run.smiProcessMiB() + " MiB used");
            assertEquals(m.vramWithoutOverhead() + SHORT_PRIOR.cudaOverhead(), demand(m, learned).on(H200),
                    "nothing was measured on an H200: the prior stands there");
            checked++;
        }
        assertEquals(5, checked, "context sizes, flash attention off, 4 slots, Q8 weights");
    }

    @Test
    void embeddingRunnersLearnTheirOwnOverhead() {
        OverheadCalibration calibration = new OverheadCalibration(8);
        learnFrom(calibration, "a16-c4k");
        Map<GpuKind, Long> embedding = learnFrom(calibration, "a16-emb");
        Map<GpuKind, Long> completion = OverheadCalibration.forRunner(LLAMA, COMPLETION, calibration.learned(), List.of());
        assertTrue(embedding.get(H100) - completion.get(H100) > 90 * MIB,
                "embedding mode costs ~100 MiB more than completion: " + embedding + " vs " + completion);
        assertEquals(2, calibration.learned().size());
    }

    @Test
    void partialOffloadAndQuantizedKvPayTheLearnedOverheadOnceAndACpuRunNone() {
        OverheadCalibration calibration = new OverheadCalibration(8);
        Map<GpuKind, Long> learned = learnFrom(calibration, "a16-c4k");
        long overhead = learned.get(H100);
        RequiredMemory full = f16();
        RequiredMemory partial = f16("-ngl", "12");
        RequiredMemory q8kv = f16("-ctk", "q8_0", "-ctv", "q8_0");
        assertTrue(partial.vramWithoutOverhead() < full.vramWithoutOverhead(), "half the layers stay on the CPU");
        assertTrue(q8kv.vramWithoutOverhead() < full.vramWithoutOverhead(), "a Q8 KV cache is smaller");
        for (RequiredMemory m : List.of(full, partial, q8kv)) {
            assertEquals(m.vramWithoutOverhead() + overhead, demand(m, learned).on(H100));
        }
        RequiredMemory cpu = f16("-ngl", "0");
        assertEquals(0, cpu.vramOverhead(), "nothing on a GPU: no CUDA context");
        assertTrue(demand(cpu, learned).cpuOnly(), "so no learned overhead makes it a GPU model");
    }

    @Test
    void theLargestRecentSampleCountsAndARunnerMeasuredAgainReplacesItsOwn() {
        OverheadCalibration c = new OverheadCalibration(2);
        c.measured("a", LLAMA, COMPLETION, List.of(H200), 1000 * MIB + 690 * MIB, 1000 * MIB);
        c.measured("b", LLAMA, COMPLETION, List.of(H200), 2000 * MIB + 680 * MIB, 2000 * MIB);
        assertEquals(690 * MIB, c.learned().get(0).overhead(), "the largest: planning short overcommits");
        c.measured("a", LLAMA, COMPLETION, List.of(H200), 1000 * MIB + 695 * MIB, 1000 * MIB);
        assertEquals(695 * MIB, c.learned().get(0).overhead());
        assertEquals(2, c.learned().get(0).samples(), "a's new reading replaced its old one");
        c.measured("c", LLAMA, COMPLETION, List.of(H200), 500 * MIB + 600 * MIB, 500 * MIB);
        assertEquals(695 * MIB, c.learned().get(0).overhead(), "window of 2: b's 680 fell out, a's 695 and c's 600 remain");
        c.measured("d", LLAMA, COMPLETION, List.of(H200), 500 * MIB + 610 * MIB, 500 * MIB);
        assertEquals(610 * MIB, c.learned().get(0).overhead(), "a fell out too");
    }

    @Test
    void aSplitRunnerTeachesPerGpuAndOnlyWhenItsGpusAreAlike() {
        OverheadCalibration c = new OverheadCalibration(8);
        c.measured("split", LLAMA, COMPLETION, List.of(H100, H100), 40_000 * MIB + 2 * 590 * MIB, 40_000 * MIB);
        assertEquals(590 * MIB, c.learned().get(0).overhead(), "each GPU pays one overhead");
        c.measured("mixed", LLAMA, COMPLETION, List.of(H100, H200), 40_000 * MIB + 1300 * MIB, 40_000 * MIB);
        assertEquals(1, c.learned().size(), "which GPU paid what is unknown: nothing learned for the H200");
    }

    @Test
    void aNodePlansWithWhatItMeasuredElseWithTheLargestAnyNodeMeasured() {
        List<OverheadCalibration.Learned> cluster = List.of(
                new OverheadCalibration.Learned(LLAMA, COMPLETION, H200, 690 * MIB, 3),
                new OverheadCalibration.Learned(LLAMA, COMPLETION, H200, 700 * MIB, 1),
                new OverheadCalibration.Learned(LLAMA, COMPLETION, H100, 587 * MIB, 1),
                new OverheadCalibration.Learned("vllm", COMPLETION, H200, 1900 * MIB, 1));
        assertEquals(Map.of(H200, 700 * MIB, H100, 587 * MIB), OverheadCalibration.forRunner(LLAMA, COMPLETION, List.of(), cluster));
        List<OverheadCalibration.Learned> own = List.of(new OverheadCalibration.Learned(LLAMA, COMPLETION, H200, 688 * MIB, 2));
        assertEquals(Map.of(H200, 688 * MIB, H100, 587 * MIB), OverheadCalibration.forRunner(LLAMA, COMPLETION, own, cluster));
        assertEquals(Map.of(), OverheadCalibration.forRunner(LLAMA, BackendMode.EMBEDDING.wireName(), own, cluster));
    }
}
