package dev.llmrt.deploy;

import dev.llmrt.gateway.security.ApiKeys;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code llmrt keys create}: a new API key, and the entry that makes gateways accept it. */
@Command(name = "keys", mixinStandardHelpOptions = true, description = "API keys.", subcommands = KeysCommand.Create.class)
final class KeysCommand {

    @Command(name = "create", mixinStandardHelpOptions = true,
            description = "Makes a random key and prints it once, with the llmrt.gateway.api-keys entry (its SHA-256, "
                    + "never the key) to add to every gateway's configuration.")
    static final class Create implements Callable<Integer> {
        @Option(names = "--name", required = true, description = "What the key is for (shown in logs and errors, never the key).")
        String name;

        @Option(names = "--models", split = ",", description = "Models it may use (default: all).")
        List<String> models = List.of();

        @Option(names = "--admin", description = "It may change the cluster: unload, _configure.")
        boolean admin;

        @Override
        public Integer call() {
            String key = ApiKeys.newKey();
            String hash = HexFormat.of().formatHex(ApiKeys.sha256(key));
            System.out.println("key: " + key);
            System.out.println("# add to llmrt.gateway.api-keys on every gateway (the key itself is not stored anywhere):");
            System.out.println("{ name = \"" + name.replace("\"", "") + "\", sha256 = \"" + hash + "\", models = ["
                    + models.stream().map(m -> "\"" + m.replace("\"", "") + "\"").collect(Collectors.joining(", "))
                    + "], admin = " + admin + " }");
            return 0;
        }
    }
}
