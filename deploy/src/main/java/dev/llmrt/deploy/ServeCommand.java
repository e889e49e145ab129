package dev.llmrt.deploy;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import dev.llmrt.gateway.GatewaySettings;
import java.io.File;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.cluster.typed.Cluster;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code llmrt serve}: gateway and node agent in one JVM. */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = {"Starts the gateway and a node agent in this JVM and serves the OpenAI API.",
                "With no --config, it serves the embedded catalog of sim models (see 'llmrt serve --help')."})
public final class ServeCommand implements Callable<Integer> {

    @Option(names = "--host", description = "Address the HTTP endpoint binds to (default: ${DEFAULT-VALUE}).",
            defaultValue = "127.0.0.1")
    String host;

    @Option(names = "--port", description = "Port of the HTTP endpoint (default: ${DEFAULT-VALUE}, Docker Model Runner's).",
            defaultValue = "12434")
    int port;

    @Option(names = {"-c", "--config"}, paramLabel = "FILE",
            description = "HOCON file with settings and the model catalog (llmrt.models); it overrides the embedded defaults.")
    File config;

    @Option(names = "--socket-dir", paramLabel = "DIR",
            description = "Directory for backend Unix sockets (default: a fresh temporary directory).")
    String socketDir;

    @Option(names = "--state-dir", paramLabel = "DIR",
            description = {"This node's state directory: API keys, _configure settings, replica counts and pulled models "
                    + "made at run time survive restarts there; one node per directory (default: llmrt.state.dir, "
                    + "$LLMRT_STATE_DIR, else ~/.llmrt/state)."})
    String stateDir;

    @Option(names = "--role", paramLabel = "ROLE", defaultValue = "both",
            description = "gateway (HTTP only), agent (runs models only) or both (default: ${DEFAULT-VALUE}).")
    String role;

    @Option(names = "--cluster-port", paramLabel = "PORT",
            description = "Cluster (Artery) port on --cluster-host; other nodes join through it (default: any free port).")
    Integer clusterPort;

    @Option(names = "--cluster-host", paramLabel = "HOST", defaultValue = "127.0.0.1",
            description = "Address other nodes reach this one at (default: ${DEFAULT-VALUE}).")
    String clusterHost;

    @Option(names = "--seed-node", paramLabel = "pekko://llmrt@HOST:PORT",
            description = "A node to join (repeatable). None: this node forms a cluster of its own.")
    List<String> seedNodes = new ArrayList<>();

    @Option(names = "--exit-when-ready",
            description = "Start, report ready, then stop (to time start-up, or to record a class archive with "
                    + "-XX:ArchiveClassesAtExit, as deploy/scripts/serve.sh does).")
    boolean exitWhenReady;

    @Override
    public Integer call() throws Exception {
        if (port < 0 || port > 65535) {
            System.err.println("llmrt: --port must be within 0..65535, got " + port);
            return 2;
        }
        if (config != null && !config.isFile()) {
            System.err.println("llmrt: --config " + config + ": no such file");
            return 2;
        }
        if (!List.of("gateway", "agent", "both").contains(role)) {
            System.err.println("llmrt: --role must be gateway, agent or both, got '" + role + "'");
            return 2;
        }
        long t0 = System.nanoTime();
        Config loaded = load(config, host, port, socketDir);
        Config cfg = clusterOverrides(loaded).withFallback(loaded).resolve();
        LlmrtNode node = LlmrtNode.start(cfg);
        LlmrtNode.Started started;
        try {
            started = node.started().toCompletableFuture().get(120, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            System.err.println("llmrt: could not start: " + e.getCause().getMessage());
            node.system().terminate();
            return 1;
        }
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        String scheme = GatewaySettings.fromConfig(cfg).https() ? "https://" : "http://";
        String where = started.binding() == null ? "no HTTP (agent role)" : scheme + host + ":" + started.port();
        System.out.printf("llmrt serving on %s, cluster %s, roles %s (models: %s) ready in %d ms%n", where,
                Cluster.get(node.system()).selfMember().address(),
                cfg.getStringList("pekko.cluster.roles"),
                String.join(", ", started.catalog().all().stream().map(m -> m.name()).toList()), ms);
        System.out.flush();
        if (exitWhenReady) {
            node.stop().toCompletableFuture().get(60, TimeUnit.SECONDS);
            return 0;
        }
        // SIGTERM runs the node's coordinated shutdown through Pekko's own JVM hook; a node downed by the
        // cluster (after a pause, a partition) runs it too and exits the JVM (exit-jvm). A hook of ours that
        // waited for that shutdown would wait on the exit it is part of.
        node.system().getWhenTerminated().toCompletableFuture().get();
        return 0;
    }

    /** Cluster options: roles, the Artery address, seed nodes, the state directory; a downed node exits its JVM. */
    private Config clusterOverrides(Config loaded) {
        List<String> roles = role.equals("both") ? List.of("gateway", "agent") : List.of(role);
        Config c = ConfigFactory.empty()
                .withValue("pekko.cluster.roles", ConfigValueFactory.fromIterable(roles))
                .withValue("pekko.remote.artery.canonical.hostname", ConfigValueFactory.fromAnyRef(clusterHost))
                .withValue("pekko.coordinated-shutdown.exit-jvm", ConfigValueFactory.fromAnyRef(true));
        String state = stateDir;
        if (state == null) {
            state = loaded.getString("llmrt.state.dir");
            if (state.isBlank()) {
                state = java.nio.file.Path.of(System.getProperty("user.home"), ".llmrt", "state").toString();
            }
        }
        c = c.withValue("llmrt.state.dir", ConfigValueFactory.fromAnyRef(state));
        if (clusterPort != null) {
            c = c.withValue("pekko.remote.artery.canonical.port", ConfigValueFactory.fromAnyRef(clusterPort));
        }
        if (!seedNodes.isEmpty()) {
            c = c.withValue("pekko.cluster.seed-nodes", ConfigValueFactory.fromIterable(seedNodes));
        }
        return c;
    }

    /** The embedded profile, under the user's file, under the command-line options. */
    public static Config load(File file, String host, int port, String socketDir) {
        Config cfg = ConfigFactory.parseResources("llmrt-serve.conf");
        if (file != null) {
            cfg = ConfigFactory.parseFile(file).withFallback(cfg);
        }
        cfg = cfg.withValue("llmrt.gateway.host", ConfigValueFactory.fromAnyRef(host))
                .withValue("llmrt.gateway.port", ConfigValueFactory.fromAnyRef(port));
        if (socketDir != null) {
            cfg = cfg.withValue("llmrt.agent.socket-dir", ConfigValueFactory.fromAnyRef(socketDir));
        }
        return ConfigFactory.load(cfg);
    }
}
