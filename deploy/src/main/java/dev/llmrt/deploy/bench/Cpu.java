package dev.llmrt.deploy.bench;

import com.sun.management.OperatingSystemMXBean;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * CPU time used by a process: the figure that stays put when a shared machine is noisy, where
 * throughput and latency move with whatever else runs.
 */
final class Cpu {
    private Cpu() {}

    /** This JVM's CPU time (every thread: the gateway, the agent, and whatever else the bench runs here). */
    static long ofThisJvm() {
        return ((OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    /** Another process's CPU time, user and system, from /proc (Linux; 0 elsewhere). */
    static long ofProcess(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            long ticks = Long.parseLong(f[11]) + Long.parseLong(f[12]); // utime, stime (fields 14 and 15)
            return ticks * 10_000_000L; // USER_HZ = 100 on Linux
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }
}
