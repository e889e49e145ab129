package dev.llmrt.deploy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.llmrt.gateway.security.ApiKeys;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code llmrt keys create|list|revoke}: API keys the cluster keeps (through a gateway's admin
 * {@code /keys} routes; a change holds on every gateway at once), or with {@code create
 * --print-config} an entry for {@code llmrt.gateway.api-keys}.
 */
@Command(name = "keys", mixinStandardHelpOptions = true, description = "API keys.",
        subcommands = {KeysCommand.Create.class, KeysCommand.ListKeys.class, KeysCommand.Revoke.class})
final class KeysCommand {
    /** A HOCON quoted string (the same as JSON's). */
    static String quoted(String text) {
        return TextNode.valueOf(text).toString();
    }


    @Command(name = "create", mixinStandardHelpOptions = true,
            description = "Makes a random key and prints it once. The cluster keeps its SHA-256 (never the key); "
                    + "with --print-config, prints the llmrt.gateway.api-keys entry instead.")
    static final class Create extends OnGateway implements Callable<Integer> {
        @Option(names = "--name", required = true, description = "What the key is for (shown in logs and errors, never the key).")
        String name;

        @Option(names = "--models", split = ",", description = "Models it may use (default: all).")
        List<String> models = List.of();

        @Option(names = "--admin", description = "It may change the cluster: unload, _configure, /models, /keys.")
        boolean admin;

        @Option(names = "--rpm", description = "Requests per minute (default 0: no limit).")
        int rpm;

        @Option(names = "--tpm", description = "Tokens per minute (default 0: no limit).")
        long tpm;

        @Option(names = "--max-concurrent", description = "Requests at once (default 0: no limit).")
        int maxConcurrent;

        @Option(names = "--max-streams", description = "Streamed answers at once (default 0: no limit).")
        int maxStreams;

        @Option(names = "--print-config", description = "Print a configuration entry; talk to no gateway.")
        boolean printConfig;

        @Override
        public Integer call() throws Exception {
            if (!printConfig) {
                ObjectNode body = JSON.createObjectNode().put("name", name).put("admin", admin);
                models.forEach(body.putArray("models")::add);
                body.put("rpm", rpm).put("tpm", tpm).put("max_concurrent", maxConcurrent).put("max_streams", maxStreams);
                return simple(request("/keys").header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(body.toString())).build());
            }
            String key = ApiKeys.newKey();
            String hash = HexFormat.of().formatHex(ApiKeys.sha256(key));
            System.out.println("key: " + key);
            System.out.println("# add to llmrt.gateway.api-keys on every gateway (the key itself is not stored anywhere):");
            System.out.println("{ name = " + quoted(name) + ", sha256 = \"" + hash + "\", models = ["
                    + models.stream().map(KeysCommand::quoted).collect(Collectors.joining(", ")) + "], admin = " + admin
                    + ", rpm = " + rpm + ", tpm = " + tpm + ", max-concurrent = " + maxConcurrent + ", max-streams = " + maxStreams + " }");
            return 0;
        }
    }

    @Command(name = "list", aliases = "ls", mixinStandardHelpOptions = true,
            description = "Lists every key (configured and made in the cluster): names, models, limits; never the keys.")
    static final class ListKeys extends OnGateway implements Callable<Integer> {
        @Override
        public Integer call() throws Exception {
            return simple(request("/keys").GET().build());
        }
    }

    @Command(name = "revoke", mixinStandardHelpOptions = true, description = "Revokes a key made in the cluster, on every gateway.")
    static final class Revoke extends OnGateway implements Callable<Integer> {
        @Parameters(index = "0", description = "The key's name.")
        String name;

        @Override
        public Integer call() throws Exception {
            return simple(request("/keys/" + URLEncoder.encode(name, StandardCharsets.UTF_8)).DELETE().build());
        }
    }
}
