package dev.llmrt.deploy;

import dev.llmrt.runtime.gguf.TinyLlamaModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code llmrt gguf generate}: writes a small random-weight llama model that llama-server runs. */
@Command(name = "gguf", mixinStandardHelpOptions = true, description = "GGUF model tools.",
        subcommands = GgufCommand.Generate.class)
final class GgufCommand {

    @Command(name = "generate", mixinStandardHelpOptions = true,
            description = "Writes a small random-weight llama-architecture GGUF that llama-server loads and "
                    + "answers with printable text (for tests and demos).")
    static final class Generate implements Callable<Integer> {
        @Parameters(paramLabel = "OUT.gguf", description = "Where to write the model.")
        Path out;

        @Option(names = "--embedding-length", defaultValue = "64", description = "n_embd (default: ${DEFAULT-VALUE}).")
        int nEmbd;

        @Option(names = "--layers", defaultValue = "2", description = "Blocks (default: ${DEFAULT-VALUE}).")
        int layers;

        @Option(names = "--heads", defaultValue = "4", description = "Attention heads (default: ${DEFAULT-VALUE}).")
        int heads;

        @Option(names = "--kv-heads", defaultValue = "4", description = "KV heads (default: ${DEFAULT-VALUE}).")
        int kvHeads;

        @Option(names = "--feed-forward-length", defaultValue = "128", description = "n_ff (default: ${DEFAULT-VALUE}).")
        int nFf;

        @Option(names = "--context-length", defaultValue = "2048", description = "Trained context (caps -c; default: ${DEFAULT-VALUE}).")
        int context;

        @Option(names = "--seed", defaultValue = "42", description = "Random seed (default: ${DEFAULT-VALUE}).")
        long seed;

        @Override
        public Integer call() throws Exception {
            if (nEmbd % heads != 0 || heads % kvHeads != 0 || nEmbd < 8) {
                System.err.println("llmrt gguf generate: --embedding-length must be a multiple of --heads, and --heads of --kv-heads");
                return 2;
            }
            byte[] bytes = TinyLlamaModel.generate(new TinyLlamaModel.Shape(nEmbd, layers, heads, kvHeads, nFf, context, seed))
                    .toBytes();
            Files.write(out, bytes);
            System.out.printf("wrote %s (%d bytes)%n", out, bytes.length);
            return 0;
        }
    }
}
