package dev.llmrt.agent.gpu;

import com.typesafe.config.Config;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Where a node's GPUs come from: nvidia-smi (refreshed periodically), or a list declared in config
 * for CPU-only and test nodes ({@code llmrt.agent.gpus = [{ name, memory }]}).
 */
public interface GpuInventory {
    List<GpuDevice> devices() throws IOException;

    /** Processes using GPU memory and how much (nvidia-smi's per-process view); none for declared GPUs. */
    default List<NvidiaSmi.GpuProcess> processes() throws IOException {
        return List.of();
    }

    /** Declared GPUs are always wholly free: nothing else runs on them. */
    static GpuInventory declared(List<GpuDevice> devices) {
        List<GpuDevice> copy = List.copyOf(devices);
        return () -> copy;
    }

    /** @param timeout how long one nvidia-smi call may take */
    static GpuInventory nvidiaSmi(String binary, Duration timeout) {
        return new GpuInventory() {
            @Override
            public List<GpuDevice> devices() throws IOException {
                return NvidiaSmi.parseGpus(NvidiaSmi.run(binary, NvidiaSmi.QUERY_GPUS, timeout));
            }

            @Override
            public List<NvidiaSmi.GpuProcess> processes() throws IOException {
                return NvidiaSmi.parseApps(NvidiaSmi.run(binary, NvidiaSmi.QUERY_APPS, timeout));
            }
        };
    }

    /** {@code llmrt.agent.gpu-source}: "declared" reads {@code llmrt.agent.gpus}; "nvidia-smi" asks the driver. */
    static GpuInventory fromConfig(Config root) {
        Config c = root.getConfig("llmrt.agent");
        String source = c.getString("gpu-source");
        if (source.equals("nvidia-smi")) {
            return nvidiaSmi(c.getString("nvidia-smi"), c.getDuration("nvidia-smi-timeout"));
        }
        if (!source.equals("declared")) {
            throw new IllegalArgumentException("llmrt.agent.gpu-source must be 'declared' or 'nvidia-smi', got '" + source + "'");
        }
        List<GpuDevice> devices = new ArrayList<>();
        for (Config g : c.getConfigList("gpus")) {
            int count = g.hasPath("count") ? g.getInt("count") : 1;
            for (int i = 0; i < count; i++) {
                long memory = g.getBytes("memory");
                int index = devices.size();
                devices.add(new GpuDevice(index, "declared-" + index, g.hasPath("name") ? g.getString("name") : "declared GPU",
                        memory, 0, memory));
            }
        }
        return declared(devices);
    }
}
