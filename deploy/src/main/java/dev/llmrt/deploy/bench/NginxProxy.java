package dev.llmrt.deploy.bench;

import java.io.IOException;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * nginx as an operator would put it in front of a backend: {@code proxy_pass} to the runner's Unix
 * socket with keep-alive upstream connections, unbuffered (so SSE flows), on a loopback port. Started
 * in the foreground by the benchmark, ended by its PID.
 */
final class NginxProxy implements AutoCloseable {
    private final Process process;
    final int port;

    private NginxProxy(Process process, int port) {
        this.process = process;
        this.port = port;
    }

    /** CPU time nginx has used so far (its one process, user and system), from /proc. */
    long cpuNanos() {
        return Cpu.ofProcess(process.pid());
    }

    static boolean available() {
        return Tools.onPath("nginx") != null;
    }

    static NginxProxy start(Path workDir, Path socket) throws IOException, InterruptedException {
        int port = Tools.freePort();
        Path dir = Files.createDirectories(workDir.resolve("nginx"));
        Files.createDirectories(dir.resolve("logs"));
        Path conf = dir.resolve("nginx.conf");
        Files.writeString(conf, """
                daemon off;
                master_process off;
                worker_processes 1;
                pid %1$s/nginx.pid;
                error_log %1$s/logs/error.log warn;
                events { worker_connections 4096; }
                http {
                  access_log off;
                  client_body_temp_path %1$s/body;
                  proxy_temp_path %1$s/proxy;
                  fastcgi_temp_path %1$s/fastcgi;
                  uwsgi_temp_path %1$s/uwsgi;
                  scgi_temp_path %1$s/scgi;
                  upstream runner { server unix:%2$s; keepalive 512; }
                  server {
                    listen 127.0.0.1:%3$d;
                    location / {
                      proxy_pass http://runner;
                      proxy_http_version 1.1;
                      proxy_set_header Connection "";
                      proxy_buffering off;
                    }
                  }
                }
                """.formatted(dir, socket, port));
        Process p = new ProcessBuilder(List.of(Tools.onPath("nginx").toString(), "-c", conf.toString(), "-p", dir.toString()))
                .redirectErrorStream(true).redirectOutput(dir.resolve("logs/stdout.log").toFile()).start();
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (System.nanoTime() < deadline) {
            try (Socket s = new Socket("127.0.0.1", port)) {
                return new NginxProxy(p, port);
            } catch (IOException notYet) {
                if (!p.isAlive()) {
                    throw new IOException("nginx exited: " + Files.readString(dir.resolve("logs/stdout.log"))
                            + Files.readString(dir.resolve("logs/error.log")));
                }
                Thread.sleep(20);
            }
        }
        p.destroy();
        throw new IOException("nginx did not listen on " + port + " within 10 s");
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(5, TimeUnit.SECONDS)) {
            process.destroyForcibly();
        }
    }
}
