package dev.llmrt.agent.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Parsing what nvidia-smi printed on real H100 and H200 machines (fixtures copied from shared/fixtures/gpu). */
class NvidiaSmiTest {
    private static final long MIB = 1024L * 1024L;

    private static String fixture(String path) throws Exception {
        return new String(NvidiaSmiTest.class.getResourceAsStream("/fixtures/" + path).readAllBytes(), StandardCharsets.UTF_8);
    }

    @Test
    void parsesTheH100AndH200() throws Exception {
        GpuDevice h100 = NvidiaSmi.parseGpus(fixture("h100/query-gpu-nounits.csv")).get(0);
        assertEquals(new GpuDevice(0, "GPU-a7596540-3571-3a63-4384-c9a50c98a66e", "NVIDIA H100 80GB HBM3",
                81559 * MIB, 0, 81079 * MIB), h100);
        GpuDevice h200 = NvidiaSmi.parseGpus(fixture("h200/query-gpu-nounits.csv")).get(0);
        assertEquals("NVIDIA H200", h200.name());
        assertEquals(143156 * MIB, h200.free(), "free, not total: the driver reserves some");
    }

    @Test
    void memoryOtherProcessesUseCountsAsUsed() throws Exception {
        // the probe's line after a 20 GiB allocation: index, total, used, free
        String after = fixture("h100/alloc-probe.txt").lines().filter(l -> l.startsWith("after 20GiB")).findFirst().orElseThrow();
        String[] f = after.substring(after.indexOf(':') + 1).split(",\\s*");
        List<GpuDevice> gpus = NvidiaSmi.parseGpus("0, GPU-x, H100, " + f[1].strip() + ", " + f[2].strip() + ", " + f[3].strip());
        assertEquals(60073 * MIB, gpus.get(0).free());
        List<NvidiaSmi.GpuProcess> apps = NvidiaSmi.parseApps("GPU-x, 424, python3, 20998\n");
        assertEquals(new NvidiaSmi.GpuProcess("GPU-x", 424, "python3", 20998 * MIB), apps.get(0));
        assertEquals(List.of(), NvidiaSmi.parseApps("No running processes found\n"));
    }

    @Test
    void withAHeaderColumnsAreFoundByNameAndTheDriverIsRead() throws Exception {
        // the full query as nvidia-smi printed it, units and extra columns included
        GpuDevice h100 = NvidiaSmi.parseGpus(fixture("h100/query-gpu.csv")).get(0);
        assertEquals(new GpuDevice(0, "GPU-a7596540-3571-3a63-4384-c9a50c98a66e", "NVIDIA H100 80GB HBM3",
                81559 * MIB, 0, 81079 * MIB, "580.159.04"), h100);
        GpuDevice h200 = NvidiaSmi.parseGpus(fixture("h200/query-gpu.csv")).get(0);
        assertEquals(new GpuKind("NVIDIA H200", "580.159.04"), h200.kind());
        assertEquals("", NvidiaSmi.parseGpus(fixture("h100/query-gpu-nounits.csv")).get(0).driver(), "no driver column");
    }

    @Test
    void malformedOutputIsRefusedSayingWhy() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> NvidiaSmi.parseGpus("0, GPU-x, H100, 1 %, x, y"));
        assertTrue(e.getMessage().contains("not a number"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> NvidiaSmi.parseGpus("index, uuid, name\n0, GPU-x, H100"));
        assertTrue(e.getMessage().contains("no 'memory.total' column"), e.getMessage());
    }

    @Test
    void declaredGpusComeFromConfig() throws Exception {
        GpuInventory inv = GpuInventory.fromConfig(ConfigFactory.parseString("""
                llmrt.agent { gpu-source = declared, nvidia-smi = nvidia-smi,
                  gpus = [ { name = "L4", memory = 24GiB, count = 2 }, { memory = 80GiB } ] }
                """));
        List<GpuDevice> devices = inv.devices();
        assertEquals(3, devices.size());
        assertEquals(24L << 30, devices.get(1).free());
        assertEquals(2, devices.get(2).index());
    }
}
