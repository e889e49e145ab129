package dev.llmrt.runtime.spi;

import java.net.http.HttpClient;
import java.nio.file.Path;
import java.util.List;

/**
 * An inference engine backend: the Java form of model-runner's Go {@code inference.Backend}.
 * Implementations need not be safe for concurrent calls of these methods; the servers they start
 * must serve concurrent API requests.
 */
public interface Backend {

    /** Lowercase, usable as a URL path segment and in a Unix socket file name. */
    String name();

    /** True when the backend manages its own models instead of the shared model store. */
    boolean usesExternalModelManagement();

    /** Makes sure the backend is installed; returns normally if it already is. */
    void install(HttpClient httpClient) throws BackendException;

    /**
     * Serves the OpenAI API on the Unix socket {@code socket} for {@code model} only (requests for
     * another model get HTTP 421). Blocks until the backend's process fails (throws, with the
     * process's reason) or {@code ctx} is cancelled (returns normally). One-shot: never restarts
     * anything. Every process it started has terminated when it returns.
     *
     * @param model    the model's identity (for files, the path of its weights)
     * @param modelRef the name the user asked for, which the server answers to
     */
    void run(RunContext ctx, Path socket, String model, String modelRef, BackendMode mode,
             BackendConfiguration config) throws BackendException;

    /** {@code Running}, {@code Error}, {@code Not Installed} or {@code Installing}, optionally {@code ": details"}. */
    String status();

    /** Bytes the backend's installation uses on disk. */
    long diskUsage();

    /**
     * Checks runtime flags a user asks for (model-runner's allowlist rules) as {@code run} would,
     * without starting anything. Returns them; throws {@link IllegalArgumentException} naming the
     * refused flag. A backend that takes no flags refuses any.
     */
    default List<String> checkRuntimeFlags(List<String> flags) {
        if (!flags.isEmpty()) {
            throw new IllegalArgumentException("backend " + name() + " takes no runtime flags");
        }
        return flags;
    }

    /** Working memory the model needs with this configuration. */
    RequiredMemory requiredMemoryForModel(String model, BackendConfiguration config)
            throws GgufParseException, BackendException;
}
