package dev.llmrt.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.llmrt.agent.model.ModelCatalog;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * What can't run here (Kubernetes, a container build, systemd) is checked against what the code
 * serves: the manifests parse with the expected kinds, their ports are the ones the nodes listen on,
 * their probes are routes a node answers, their configuration is a catalog llmrt accepts, and their
 * command lines are ones the CLI parses.
 */
class DeploymentManifestsTest {
    private static final Path DEPLOY = Path.of(System.getProperty("user.dir"));
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    private static List<JsonNode> documents(String file) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        try (YAMLParser p = new YAMLFactory().createParser(DEPLOY.resolve(file).toFile())) {
            p.setCodec(YAML);
            while (p.nextToken() != null) {
                out.add(p.readValueAsTree());
            }
        }
        return out;
    }

    private static Map<String, JsonNode> byKind(List<JsonNode> docs) {
        Map<String, JsonNode> m = new TreeMap<>();
        docs.forEach(d -> m.put(d.path("kind").asText() + "/" + d.path("metadata").path("name").asText(), d));
        return m;
    }

    @Test
    void theManifestsHoldTheExpectedObjects() throws IOException {
        Map<String, JsonNode> agents = byKind(documents("k8s/agents.yaml"));
        Map<String, JsonNode> gateways = byKind(documents("k8s/gateways.yaml"));
        Map<String, JsonNode> config = byKind(documents("k8s/configmap.yaml"));
        assertEquals(Set.of("Namespace/llmrt", "Service/llmrt-agents", "StatefulSet/llmrt-agent", "PodDisruptionBudget/llmrt-agent"),
                agents.keySet());
        assertEquals(Set.of("Deployment/llmrt-gateway", "Service/llmrt", "PodDisruptionBudget/llmrt-gateway"), gateways.keySet());
        assertEquals(Set.of("ConfigMap/llmrt-config"), config.keySet());

        JsonNode headless = agents.get("Service/llmrt-agents");
        JsonNode sts = agents.get("StatefulSet/llmrt-agent");
        assertEquals("None", headless.at("/spec/clusterIP").asText(), "seed nodes come from a headless Service");
        assertEquals("llmrt-agents", sts.at("/spec/serviceName").asText());
        assertEquals(headless.at("/spec/selector"), sts.at("/spec/template/metadata/labels"));
        JsonNode agent = sts.at("/spec/template/spec/containers/0");
        assertEquals(1, agent.at("/resources/limits/nvidia.com~1gpu").asInt(), "an agent pod asks for a GPU");
        JsonNode gateway = gateways.get("Deployment/llmrt-gateway").at("/spec/template/spec/containers/0");
        assertTrue(gateway.at("/resources/limits/nvidia.com~1gpu").isMissingNode(), "gateways need no GPU");
        assertEquals(gateways.get("Service/llmrt").at("/spec/selector"),
                gateways.get("Deployment/llmrt-gateway").at("/spec/template/metadata/labels"));
        for (JsonNode pdb : List.of(agents.get("PodDisruptionBudget/llmrt-agent"), gateways.get("PodDisruptionBudget/llmrt-gateway"))) {
            assertFalse(pdb.at("/spec/selector/matchLabels").isEmpty());
        }
    }

    @Test
    void portsArgumentsAndConfigurationAreOnesTheCodeServes() throws Exception {
        Config embedded = ServeCommand.load(null, "127.0.0.1", 12434, null);
        int httpPort = embedded.getInt("llmrt.gateway.port");
        String configText = byKind(documents("k8s/configmap.yaml")).get("ConfigMap/llmrt-config").at("/data/llmrt.conf").asText();
        Path configFile = Files.createTempFile("llmrt-k8s-", ".conf");
        Files.writeString(configFile, configText);
        Config deployed = ServeCommand.load(configFile.toFile(), "0.0.0.0", httpPort, null);
        int clusterPort = deployed.getInt("pekko.remote.artery.canonical.port");
        assertFalse(ModelCatalog.fromConfig(deployed, Duration.ofMinutes(5)).all().isEmpty(), "the ConfigMap's catalog parses");

        List<JsonNode> containers = List.of(
                byKind(documents("k8s/agents.yaml")).get("StatefulSet/llmrt-agent").at("/spec/template/spec/containers/0"),
                byKind(documents("k8s/gateways.yaml")).get("Deployment/llmrt-gateway").at("/spec/template/spec/containers/0"));
        Set<String> probePaths = new HashSet<>();
        for (JsonNode c : containers) {
            Map<String, Integer> ports = new TreeMap<>();
            c.path("ports").forEach(p -> ports.put(p.path("name").asText(), p.path("containerPort").asInt()));
            assertEquals(Map.of("cluster", clusterPort, "http", httpPort), ports);
            List<String> args = new ArrayList<>();
            c.path("args").forEach(a -> args.add(a.asText()));
            assertTrue(args.contains("--port=" + httpPort) && args.contains("--cluster-port=" + clusterPort), args.toString());
            assertTrue(args.stream().filter(a -> a.startsWith("--seed-node=")).allMatch(a -> a.endsWith(":" + clusterPort)));
            // the CLI accepts the command line as written (env references stand for the values Kubernetes puts in)
            var parsed = Main.commandLine().parseArgs(args.stream().map(a -> a.replace("$(", "").replace(")", "")).toArray(String[]::new));
            assertTrue(parsed.hasSubcommand(), args.toString());
            for (String probe : List.of("readinessProbe", "livenessProbe")) {
                assertEquals("http", c.at("/" + probe + "/httpGet/port").asText());
                probePaths.add(c.at("/" + probe + "/httpGet/path").asText());
            }
        }
        assertEquals(Set.of("/health", "/ready"), probePaths);

        // the probes are routes a node answers: an agent-only node and a gateway, as in the manifests
        try (InJvmCluster cluster = new InJvmCluster("")) {
            int agentPort = cluster.start("pekko.cluster.roles = [agent]").port();
            int gatewayPort = cluster.start("pekko.cluster.roles = [gateway]").port();
            HttpClient http = HttpClient.newHttpClient();
            for (int port : List.of(agentPort, gatewayPort)) {
                for (String path : probePaths) {
                    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                    int status;
                    do {
                        status = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build(),
                                HttpResponse.BodyHandlers.discarding()).statusCode();
                    } while (status != 200 && System.nanoTime() < deadline && sleep());
                    assertEquals(200, status, path + " on port " + port);
                }
            }
        }
    }

    @Test
    void theImageAndTheUnitRunTheJarTheBuildMakes() throws IOException {
        String dockerfile = Files.readString(DEPLOY.resolve("container/Dockerfile"));
        assertTrue(dockerfile.contains("COPY deploy/target/llmrt.jar /opt/llmrt/llmrt.jar"), "the shaded jar the build makes");
        assertTrue(dockerfile.contains("ENTRYPOINT [\"java\", \"-jar\", \"/opt/llmrt/llmrt.jar\"]"));
        assertTrue(dockerfile.contains("EXPOSE 12434 25520"));
        String unit = Files.readString(DEPLOY.resolve("systemd/llmrt.service"));
        assertTrue(unit.contains("-jar /opt/llmrt/llmrt.jar serve"));
        String execStart = unit.lines().filter(l -> l.startsWith("ExecStart=")).findFirst().orElseThrow();
        String[] args = execStart.substring(execStart.indexOf(" serve ") + 1).split(" ");
        assertTrue(Main.commandLine().parseArgs(args).hasSubcommand(), "the unit's command line parses: " + execStart);
    }

    private static boolean sleep() {
        try {
            Thread.sleep(100);
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
