package dev.llmrt.agent.gpu;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Reads GPUs from {@code nvidia-smi}: {@code --query-gpu=index,uuid,name,memory.total,memory.used,
 * memory.free --format=csv,noheader,nounits} (MiB) and per-process use from
 * {@code --query-compute-apps=gpu_uuid,pid,process_name,used_memory}.
 */
public final class NvidiaSmi {
    public static final List<String> QUERY_GPUS = List.of("--query-gpu=index,uuid,name,memory.total,memory.used,memory.free",
            "--format=csv,noheader,nounits");
    public static final List<String> QUERY_APPS = List.of("--query-compute-apps=gpu_uuid,pid,process_name,used_memory",
            "--format=csv,noheader,nounits");
    private static final long MIB = 1024L * 1024L;

    /** A process using GPU memory. */
    public record GpuProcess(String gpuUuid, long pid, String name, long used) {}

    private NvidiaSmi() {}

    public static List<GpuDevice> parseGpus(String csv) {
        List<GpuDevice> out = new ArrayList<>();
        for (String line : csv.lines().map(String::strip).filter(l -> !l.isEmpty()).toList()) {
            String[] f = line.split(",\\s*");
            if (f.length < 6) {
                throw new IllegalArgumentException("nvidia-smi: expected 6 fields, got: " + line);
            }
            try {
                out.add(new GpuDevice(Integer.parseInt(f[0].strip()), f[1].strip(), f[2].strip(), mib(f[3]), mib(f[4]), mib(f[5])));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("nvidia-smi: not a number in: " + line + " (use --format=csv,noheader,nounits)");
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

    private static long mib(String field) {
        return Long.parseLong(field.replace("MiB", "").strip()) * MIB;
    }

    /** Runs nvidia-smi with these arguments; its output, or an exception saying why not. */
    public static String run(String binary, List<String> args) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(binary);
        cmd.addAll(args);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        try {
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException("nvidia-smi did not answer within 10 s");
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
