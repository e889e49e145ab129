package dev.llmrt.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Each API the gateway speaks, driven by its ecosystem's official client library, unchanged:
 * Ollama's JavaScript library (chat, stream, generate, list, embed), Anthropic's TypeScript SDK
 * (message, stream, count_tokens) and OpenAI's (chat completions, the Responses API with a
 * continued conversation, its stream and retrieve). {@code deploy/src/test/clients/clients-check.mjs}.
 */
class ClientLibrariesTest {
    private static final Path SCRIPT_DIR = Path.of(System.getProperty("user.dir"), "src", "test", "clients");

    @Test
    void ollamaAnthropicAndOpenAiLibrariesWorkAgainstTheGateway() throws Exception {
        for (String lib : new String[] {"ollama", "@anthropic-ai/sdk", "openai"}) {
            assertTrue(Files.isDirectory(SCRIPT_DIR.resolve("node_modules").resolve(lib)),
                    lib + " is not installed: run deploy/scripts/setup.sh (npm install in deploy/src/test/clients)");
        }
        Path log = Files.createTempFile("llmrt-clients", ".log");
        try (InJvmCluster cluster = new InJvmCluster("")) {
            int port = cluster.start("").port();
            Process check = new ProcessBuilder("node", "clients-check.mjs", "http://127.0.0.1:" + port, "sim/fast")
                    .directory(SCRIPT_DIR.toFile()).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            boolean finished = check.waitFor(120, TimeUnit.SECONDS);
            if (!finished) {
                check.destroyForcibly();
            }
            String out = Files.readString(log);
            assertTrue(finished, "the client libraries' checks did not finish in 120 s: " + out);
            assertEquals(0, check.exitValue(), out);
            assertTrue(out.contains("all 13 checks passed"), out);
        } finally {
            Files.deleteIfExists(log);
        }
    }
}
