package dev.llmrt.deploy;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One node as its own JVM, started the way users start it ('llmrt serve' with a config file, its own
 * state directory and log), for tests that kill, pause or separate JVMs. Closing stops it (SIGTERM,
 * then SIGKILL with its descendants).
 */
final class ServeJvm implements AutoCloseable {
    final Process process;
    final int httpPort;
    final int clusterPort;
    final Path log;

    private ServeJvm(Process process, int httpPort, int clusterPort, Path log) {
        this.process = process;
        this.httpPort = httpPort;
        this.clusterPort = clusterPort;
        this.log = log;
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /**
     * @param seed a node to join ("pekko://llmrt@127.0.0.1:PORT"), or null to form a cluster
     * @param args more 'serve' options (--role ...)
     */
    static ServeJvm start(Path dir, String name, String config, String seed, String... args) throws Exception {
        Path conf = dir.resolve(name + ".conf");
        Files.writeString(conf, config);
        int http = freePort();
        int cluster = freePort();
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:TieredStopAtLevel=1", "-Xmx384m", "-cp", System.getProperty("java.class.path"), Main.class.getName(),
                "serve", "--port", Integer.toString(http), "--cluster-port", Integer.toString(cluster),
                "--config", conf.toString(), "--state-dir", dir.resolve(name + "-state").toString()));
        if (seed != null) {
            cmd.addAll(List.of("--seed-node", seed));
        }
        cmd.addAll(List.of(args));
        Path log = dir.resolve(name + ".log");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        return new ServeJvm(p, http, cluster, log);
    }

    String base() {
        return TestHttp.local(httpPort);
    }

    String address() {
        return "pekko://llmrt@127.0.0.1:" + clusterPort;
    }

    @Override
    public void close() throws Exception {
        List<ProcessHandle> descendants = process.descendants().toList();
        process.destroy(); // SIGTERM: leave the cluster, reap runners
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
        descendants.forEach(ProcessHandle::destroyForcibly);
    }


    /** Sends {@code sig} (STOP, CONT, ...) to a process the test started. */
    static void signal(String sig, long pid) throws Exception {
        Process kill = new ProcessBuilder("kill", "-" + sig, Long.toString(pid)).inheritIO().start();
        if (!kill.waitFor(10, TimeUnit.SECONDS) || kill.exitValue() != 0) {
            throw new AssertionError("kill -" + sig + " " + pid + " failed");
        }
    }
}
