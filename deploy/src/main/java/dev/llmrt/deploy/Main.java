package dev.llmrt.deploy;

import dev.llmrt.deploy.bench.BenchCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code llmrt} command line. */
@Command(name = "llmrt", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "A distributed LLM inference runtime on Apache Pekko: one OpenAI-compatible endpoint "
                + "in front of a cluster of GPU machines.",
        subcommands = {ServeCommand.class, BenchCommand.class, BenchLoadCommand.class, EstimateCommand.class, GgufCommand.class, KeysCommand.class, ModelsCommand.class,
                CommandLine.HelpCommand.class})
public final class Main {

    public static void main(String[] args) {
        // CompletableFuture's default executor is the common pool, or, where that has fewer than two
        // threads (a 2-core machine), a new thread per task; any default-async callback (Scala's
        // CompletionStage makes thenApply one) would start a thread per request. Two at least.
        if (System.getProperty("java.util.concurrent.ForkJoinPool.common.parallelism") == null) {
            System.setProperty("java.util.concurrent.ForkJoinPool.common.parallelism",
                    String.valueOf(Math.max(2, Runtime.getRuntime().availableProcessors() - 1)));
        }
        System.exit(commandLine().execute(args));
    }

    public static CommandLine commandLine() {
        CommandLine cli = new CommandLine(new Main());
        // bad options: one line saying what is wrong, and where to look
        cli.setParameterExceptionHandler((ex, a) -> {
            CommandLine c = ex.getCommandLine();
            c.getErr().println("llmrt: " + ex.getMessage() + " (see '" + c.getCommandSpec().qualifiedName() + " --help')");
            return 2;
        });
        return cli;
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"llmrt " + (v == null ? "development build" : v)};
        }
    }
}
