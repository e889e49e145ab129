package dev.llmrt.deploy;

import dev.llmrt.agent.store.ModelArtifact;
import dev.llmrt.agent.store.ModelFiles;
import dev.llmrt.agent.store.ModelReference;
import dev.llmrt.agent.store.RegistryClient;
import dev.llmrt.runtime.spi.GgufParseException;
import java.io.IOException;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code llmrt models pull|push|list|rm|tag}: models from OCI registries, through a gateway's model
 * routes (the ones {@code docker model} uses), or, for {@code push --gguf}, a GGUF file packaged as
 * a model artifact and pushed straight to a registry.
 */
@Command(name = "models", mixinStandardHelpOptions = true, description = "Models from OCI registries, cluster-wide.",
        subcommands = {ModelsCommand.Pull.class, ModelsCommand.Push.class, ModelsCommand.ListModels.class,
                ModelsCommand.Remove.class, ModelsCommand.Tag.class})
final class ModelsCommand {
    @Command(name = "pull", mixinStandardHelpOptions = true,
            description = "Pulls a model from its registry into the cluster (ai/smollm2, localhost:5000/team/model:1).")
    static final class Pull extends OnGateway implements Callable<Integer> {
        @Parameters(index = "0", description = "The model's reference.")
        String reference;

        @Override
        public Integer call() throws Exception {
            String body = JSON.createObjectNode().put("from", reference).toString();
            return progress(request("/models/create").header("Accept", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build());
        }
    }

    @Command(name = "push", mixinStandardHelpOptions = true,
            description = "Pushes a model to the registry its reference names: one the cluster holds (through the gateway), "
                    + "or with --gguf a GGUF file, packaged as model-runner packages it, straight to the registry.")
    static final class Push extends OnGateway implements Callable<Integer> {
        @Parameters(index = "0", description = "The reference to push to (localhost:5000/team/model:1).")
        String reference;

        @Option(names = "--gguf", description = "A GGUF file to package and push (no gateway needed).")
        Path gguf;

        @Option(names = "--registry-token", description = "A token for the registry (default: none).")
        String token;

        @Override
        public Integer call() throws Exception {
            if (gguf == null) {
                return progress(request("/models/" + reference + "/push").header("Accept", "application/json")
                        .POST(HttpRequest.BodyPublishers.noBody()).build());
            }
            ModelReference ref;
            try {
                ref = ModelReference.parse(reference);
            } catch (ModelReference.InvalidReference e) {
                System.err.println("llmrt: " + e.getMessage());
                return 2;
            }
            try {
                ModelArtifact.Built built = ModelFiles.pushFile(new RegistryClient(Duration.ofSeconds(60)), gguf, ref, token,
                        (digest, current, total) -> System.out.printf(Locale.ROOT, "\rUploaded: %.2f MB of %.2f MB    ",
                                current / 1048576.0, total / 1048576.0));
                System.out.println();
                System.out.println("pushed " + ref.familiar() + " (" + built.manifestDigest() + ")");
                return 0;
            } catch (IOException | GgufParseException e) {
                System.err.println("llmrt: push of " + gguf + " failed: " + e.getMessage());
                return 1;
            }
        }
    }

    @Command(name = "list", aliases = "ls", mixinStandardHelpOptions = true, description = "Lists the cluster's models (JSON).")
    static final class ListModels extends OnGateway implements Callable<Integer> {
        @Override
        public Integer call() throws Exception {
            return simple(request("/models").GET().build());
        }
    }

    @Command(name = "rm", mixinStandardHelpOptions = true, description = "Removes a model's reference (by id: all of them, with --force when several).")
    static final class Remove extends OnGateway implements Callable<Integer> {
        @Parameters(index = "0", description = "The model's reference or id.")
        String reference;

        @Option(names = {"-f", "--force"}, description = "Remove every reference of the model's id.")
        boolean force;

        @Override
        public Integer call() throws Exception {
            return simple(request("/models/" + reference + (force ? "?force=true" : "")).DELETE().build());
        }
    }

    @Command(name = "tag", mixinStandardHelpOptions = true, description = "Gives a model another reference.")
    static final class Tag extends OnGateway implements Callable<Integer> {
        @Parameters(index = "0", description = "The model's reference or id.")
        String source;

        @Parameters(index = "1", description = "The new reference (repo:tag).")
        String target;

        @Override
        public Integer call() throws Exception {
            int colon = target.lastIndexOf(':');
            boolean tagged = colon > target.lastIndexOf('/');
            String repo = tagged ? target.substring(0, colon) : target;
            String tag = tagged ? target.substring(colon + 1) : "latest";
            return simple(request("/models/" + source + "/tag?repo=" + URLEncoder.encode(repo, StandardCharsets.UTF_8)
                    + "&tag=" + URLEncoder.encode(tag, StandardCharsets.UTF_8)).POST(HttpRequest.BodyPublishers.noBody()).build());
        }
    }
}
