package dev.llmrt.agent.gpu;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * Reads GPUs from {@code nvidia-smi}: {@code --query-gpu=index,uuid,name,memory.total,memory.used,
 * memory.free,driver_version --format=csv,nounits} (MiB) and per-process use from
 * {@code --query-compute-apps=gpu_uuid,pid,process_name,used_memory}. With a header line, columns are
 * found by their names, so any {@code --query-gpu} output that has these fields parses (with or
 * without units); without one, they are taken in the order above.
 */
public final class NvidiaSmi {
    public static final List<String> QUERY_GPUS = List.of(
            "--query-gpu=index,uuid,name,memory.total,memory.used,memory.free,driver_version", "--format=csv,nounits");
    private static final List<String> GPU_FIELDS = List.of("index", "uuid", "name", "memory.total", "memory.used",
            "memory.free", "driver_version");
    public static final List<String> QUERY_APPS = List.of("--query-compute-apps=gpu_uuid,pid,process_name,used_memory",
            "--format=csv,noheader,nounits");
    private static final long MIB = 1024L * 1024L;

    /** A process using GPU memory. */
    public record GpuProcess(String gpuUuid, long pid, String name, long used) {}

    private NvidiaSmi() {}

    public static List<GpuDevice> parseGpus(String csv) {
        List<String> lines = csv.lines().map(String::strip).filter(l -> !l.isEmpty()).toList();
        if (lines.isEmpty()) {
            return List.of();
        }
        // column of each field: from the header when there is one, else the order of QUERY_GPUS
        int[] column = new int[GPU_FIELDS.size()];
        boolean header = lines.get(0).startsWith("index");
        if (header) {
            List<String> names = Arrays.stream(lines.get(0).split(",\\s*"))
                    .map(n -> n.replaceAll("\\s*\\[.*]$", "").strip()).toList();
            for (int i = 0; i < column.length; i++) {
                column[i] = names.indexOf(GPU_FIELDS.get(i));
                if (column[i] < 0 && i < 6) {
                    throw new IllegalArgumentException("nvidia-smi: no '" + GPU_FIELDS.get(i) + "' column in: " + lines.get(0));
                }
            }
        } else {
            for (int i = 0; i < column.length; i++) {
                column[i] = i;
            }
        }
        List<GpuDevice> out = new ArrayList<>();
        for (String line : header ? lines.subList(1, lines.size()) : lines) {
            String[] f = line.split(",\\s*");
            if (f.length < 6) {
                throw new IllegalArgumentException("nvidia-smi: expected at least 6 fields, got: " + line);
            }
            String driver = column[6] >= 0 && column[6] < f.length ? f[column[6]].strip() : "";
            try {
                out.add(new GpuDevice(Integer.parseInt(f[column[0]].strip()), f[column[1]].strip(), f[column[2]].strip(),
                        mib(f[column[3]]), mib(f[column[4]]), mib(f[column[5]]), driver));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("nvidia-smi: not a number in: " + line);
            }
        }
        return out;
    }

    public static List<GpuProcess> parseApps(String csv) {
        List<GpuProcess> out = new ArrayList<>();
        for (String line : csv.lines().map(String::strip).filter(l -> !l.isEmpty()).toList()) {
            if (line.startsWith("No running")) {
                continue;
            }
            String[] f = line.split(",\\s*");
            if (f.length >= 4) {
                out.add(new GpuProcess(f[0].strip(), Long.parseLong(f[1].strip()), f[2].strip(), mib(f[3])));
            }
        }
        return out;
    }

    /**
     * GPU index to the bytes that a process and its descendants use (a backend may run its work in
     * child processes), from the per-process view.
     */
    public static Map<Integer, Long> usedBy(long rootPid, List<GpuProcess> processes, Map<String, Integer> indexByUuid) {
        Set<Long> pids = new HashSet<>();
        pids.add(rootPid);
        ProcessHandle.of(rootPid).ifPresent(p -> p.descendants().forEach(d -> pids.add(d.pid())));
        Map<Integer, Long> used = new TreeMap<>();
        for (GpuProcess p : processes) {
            Integer index = indexByUuid.get(p.gpuUuid());
            if (index != null && pids.contains(p.pid())) {
                used.merge(index, p.used(), Long::sum);
            }
        }
        return used;
    }

    private static long mib(String field) {
        return Long.parseLong(field.replace("MiB", "").strip()) * MIB;
    }

    /** Runs nvidia-smi with these arguments; its output, or an exception saying why not within {@code timeout}. */
    public static String run(String binary, List<String> args, Duration timeout) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(binary);
        cmd.addAll(args);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        try {
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                throw new IOException("nvidia-smi did not answer within " + timeout);
            }
            if (p.exitValue() != 0) {
                throw new IOException("nvidia-smi exited " + p.exitValue() + ": " + out.strip());
            }
            return out;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }
}
