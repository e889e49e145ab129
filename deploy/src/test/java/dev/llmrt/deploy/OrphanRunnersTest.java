package dev.llmrt.deploy;

import static dev.llmrt.testing.Eventually.eventually;
import static dev.llmrt.testing.Eventually.eventuallyGet;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llmrt.runtime.gguf.TinyLlamaModel;
import dev.llmrt.runtime.llamacpp.LlamaCppBackend;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * No runner outlives its node: SIGKILL of the agent's JVM alone (as the OOM killer does it, not its
 * process group) leaves no llama-server and no sim running. llama-server doesn't watch its parent:
 * only the parent-death signal the node sets on each runner ends it. (A node restarted also reaps
 * runners recorded in its state directory: StateAcrossRestartsTest.)
 */
class OrphanRunnersTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void runnersDieWithTheirJvm() throws Exception {
        Optional<Path> binary = LlamaCppBackend.locate("");
        assertTrue(binary.isPresent() && Files.isExecutable(binary.get()), "llama-server not found: " + LlamaCppBackend.INSTALL_HINT);
        Path dir = Files.createTempDirectory("llmrt-orphans");
        Path model = dir.resolve("tiny.gguf");
        Files.write(model, TinyLlamaModel.generate(TinyLlamaModel.Shape.DEFAULT).toBytes());
        String config = """
                llmrt.backends.llama-cpp.binary = "%s"
                llmrt.models = [
                  { name = "tiny", backend = "llama.cpp", model = "%s", context-size = 512, runtime-flags = ["-np", "1", "-t", "1"] }
                  { name = "s", backend = sim, runtime-flags = ["--max-tokens=2"] }
                ]
                """.formatted(binary.get(), model);
        try (ServeJvm node = ServeJvm.start(dir, "node", config, null)) {
            for (String m : List.of("tiny", "s")) {
                String chat = "{\"model\":\"" + m + "\",\"max_tokens\":2,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
                eventually(Duration.ofSeconds(120), () -> assertEquals(200,
                        TestHttp.send(node.base(), "POST", "/v1/chat/completions", chat).statusCode(), "log in " + node.log));
            }
            // the status lists the node's agent once the receptionist has told the gateway of it
            List<ProcessHandle> runners = eventuallyGet(Duration.ofSeconds(30), "a llama-server and a sim in /status", () -> {
                List<ProcessHandle> found = new ArrayList<>();
                for (JsonNode r : JSON.readTree(TestHttp.send(node.base(), "GET", "/status", null).body()).path("runners")) {
                    ProcessHandle.of(r.path("pid").asLong()).ifPresent(found::add);
                }
                return found.size() == 2 ? found : null;
            });
            long t0 = System.nanoTime();
            node.process.destroyForcibly(); // SIGKILL to the JVM alone
            assertTrue(node.process.waitFor(30, TimeUnit.SECONDS));
            eventually(Duration.ofSeconds(10), "the runners died with their JVM: " + runners,
                    () -> runners.stream().noneMatch(ProcessHandle::isAlive));
            System.out.printf("orphans: SIGKILL of the node's JVM alone; its %d runners (llama-server, sim) were gone %d ms later%n",
                    runners.size(), (System.nanoTime() - t0) / 1_000_000);
        }
    }
}
