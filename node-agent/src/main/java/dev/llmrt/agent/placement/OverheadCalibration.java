package dev.llmrt.agent.placement;

import dev.llmrt.agent.CborSerializable;
import dev.llmrt.agent.gpu.GpuKind;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Learns what a backend's process costs on a GPU beyond what the model's files predict (the CUDA
 * context, the driver, a mode's extras): per (backend, mode, GPU kind), from each ready runner's
 * measured use minus its estimate's predicted part. It was 587 MiB per process on an H100 and about
 * 690 MiB on an H200 with the same driver, so no constant fits every GPU.
 *
 * <p>The learned value is the largest of the last {@code window} runners' samples: planning on a
 * value that runs short is how GPUs get overcommitted. A runner measured again replaces its own
 * sample. Pure: the node agent owns one and shares {@link #learned()} with the cluster.
 */
public final class OverheadCalibration {

    /** A learned overhead, as shared with the cluster and shown in {@code /status}. */
    public record Learned(String backend, String mode, GpuKind gpu, long overhead, int samples) implements CborSerializable {}

    private record Key(String backend, String mode, GpuKind gpu) {}

    private final int window;
    /** Per key, runner id to its sample, oldest first. */
    private final Map<Key, LinkedHashMap<String, Long>> samples = new HashMap<>();

    /** @param window how many recent runners' samples count per key */
    public OverheadCalibration(int window) {
        if (window < 1) {
            throw new IllegalArgumentException("the calibration window must hold at least one sample");
        }
        this.window = window;
    }

    /**
     * A runner was measured. Its sample is the measured use beyond the predicted part, per GPU it runs
     * on (each GPU pays the overhead once); a runner split over GPUs of different kinds teaches nothing.
     *
     * @param gpus      the kinds of the GPUs it runs on, one entry per GPU
     * @param measured  bytes its processes use over all its GPUs (nvidia-smi per process)
     * @param predicted bytes of its estimate that the model's files predict (the VRAM without overhead)
     */
    public void measured(String runnerId, String backend, String mode, List<GpuKind> gpus, long measured, long predicted) {
        if (gpus.isEmpty() || gpus.stream().distinct().count() > 1) {
            return;
        }
        long sample = Math.max(0, (measured - predicted) / gpus.size());
        LinkedHashMap<String, Long> window = samples.computeIfAbsent(new Key(backend, mode, gpus.get(0)), k -> new LinkedHashMap<>());
        window.remove(runnerId); // re-inserted as the newest
        window.put(runnerId, sample);
        while (window.size() > this.window) {
            window.remove(window.keySet().iterator().next());
        }
    }

    /** What this node has learned, one entry per (backend, mode, GPU kind). */
    public List<Learned> learned() {
        List<Learned> out = new ArrayList<>();
        samples.forEach((k, s) -> out.add(new Learned(k.backend(), k.mode(), k.gpu(),
                s.values().stream().mapToLong(Long::longValue).max().orElseThrow(), s.size())));
        out.sort(Comparator.comparing((Learned l) -> l.backend()).thenComparing(Learned::mode)
                .thenComparing(l -> l.gpu().toString()));
        return out;
    }

    /**
     * The overhead per GPU kind to plan a {@code backend} runner in {@code mode} with: what this node
     * measured, else the largest that any node of the cluster measured on that kind.
     */
    public static Map<GpuKind, Long> forRunner(String backend, String mode, Collection<Learned> own, Collection<Learned> cluster) {
        Map<GpuKind, Long> out = new HashMap<>();
        for (Learned l : cluster) {
            if (l.backend().equals(backend) && l.mode().equals(mode)) {
                out.merge(l.gpu(), l.overhead(), Math::max);
            }
        }
        for (Learned l : own) {
            if (l.backend().equals(backend) && l.mode().equals(mode)) {
                out.put(l.gpu(), l.overhead());
            }
        }
        return out;
    }
}
