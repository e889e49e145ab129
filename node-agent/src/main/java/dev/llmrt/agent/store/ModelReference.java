package dev.llmrt.agent.store;

import java.util.Locale;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * A model's OCI reference, normalised as model-runner does: {@code smollm2} is
 * {@code docker.io/ai/smollm2:latest}, a name without an organisation gets {@code ai/}, a name
 * without a tag gets {@code :latest}, and any registry host is allowed ({@code localhost:5000/x/y:1}).
 * {@link #familiar()} is the short form model-runner lists and clients request
 * ({@code ai/smollm2:latest}: the default registry left out).
 *
 * @param registry   the registry's host[:port] ({@code docker.io} by default)
 * @param repository the repository path ({@code ai/smollm2})
 * @param tag        the tag, or null when {@code digest} names the manifest
 * @param digest     {@code sha256:...} when the reference is by digest, else null
 */
public record ModelReference(String registry, String repository, String tag, String digest) {
    public static final String DEFAULT_REGISTRY = "docker.io";
    public static final String DEFAULT_ORG = "ai";
    public static final String DEFAULT_TAG = "latest";

    private static final Pattern COMPONENT = Pattern.compile("[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*");
    private static final Pattern TAG = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}");
    private static final Pattern DIGEST = Pattern.compile("sha256:[a-f0-9]{64}");
    private static final Pattern HOST = Pattern.compile("(?:[A-Za-z0-9.-]+|\\[[0-9a-fA-F:]+\\])(?::[0-9]{1,5})?");

    /** Why a reference could not be parsed; model-runner answers it with 400 "Invalid model reference". */
    public static final class InvalidReference extends IllegalArgumentException {
        public InvalidReference(String message) {
            super(message);
        }
    }

    public static ModelReference parse(String text) {
        if (text == null || text.isBlank()) {
            throw new InvalidReference("invalid reference: empty");
        }
        String s = text.trim();
        if (s.length() > 512) {
            throw new InvalidReference("invalid reference: longer than 512 characters");
        }
        String digest = null;
        int at = s.indexOf('@');
        if (at >= 0) {
            digest = s.substring(at + 1);
            s = s.substring(0, at);
            if (!DIGEST.matcher(digest).matches()) {
                throw new InvalidReference("invalid reference '" + text + "': the digest must be sha256:<64 hex digits>");
            }
        }
        String registry = DEFAULT_REGISTRY;
        int slash = s.indexOf('/');
        if (slash > 0) {
            String first = s.substring(0, slash);
            if (first.contains(".") || first.contains(":") || first.equals("localhost")) {
                registry = first;
                s = s.substring(slash + 1);
                if (!HOST.matcher(registry).matches()) {
                    throw new InvalidReference("invalid reference '" + text + "': bad registry host '" + registry + "'");
                }
            }
        }
        String tag = null;
        int colon = s.lastIndexOf(':');
        if (colon >= 0) {
            tag = s.substring(colon + 1);
            s = s.substring(0, colon);
            if (tag.isEmpty()) {
                tag = null; // "model:" as model-runner takes it: the default tag
            } else if (!TAG.matcher(tag).matches()) {
                throw new InvalidReference("invalid reference '" + text + "': bad tag '" + tag + "'");
            }
        }
        String repository = s.toLowerCase(Locale.ROOT);
        if (repository.isEmpty()) {
            throw new InvalidReference("invalid reference '" + text + "': no repository name");
        }
        for (String component : repository.split("/", -1)) {
            if (!COMPONENT.matcher(component).matches()) {
                throw new InvalidReference("invalid reference '" + text + "': bad repository component '" + component + "'");
            }
        }
        if (!repository.contains("/") && registry.equals(DEFAULT_REGISTRY)) {
            repository = DEFAULT_ORG + "/" + repository;
        }
        if (tag == null && digest == null) {
            tag = DEFAULT_TAG;
        }
        return new ModelReference(registry, repository, tag, digest);
    }

    /** {@code text} as a reference, or empty when it isn't one. */
    public static Optional<ModelReference> tryParse(String text) {
        try {
            return Optional.of(parse(text));
        } catch (InvalidReference e) {
            return Optional.empty();
        }
    }

    /** The short form clients use: {@code ai/smollm2:latest}, the registry named unless it is the default. */
    public String familiar() {
        String name = registry.equals(DEFAULT_REGISTRY) ? repository : registry + "/" + repository;
        return name + (digest != null ? "@" + digest : ":" + tag);
    }

    /** The whole reference: {@code docker.io/ai/smollm2:latest}. */
    public String full() {
        return registry + "/" + repository + (digest != null ? "@" + digest : ":" + tag);
    }

    /** What names the manifest in the registry's API: the digest when given, else the tag. */
    public String manifestName() {
        return digest != null ? digest : tag;
    }

    /** The host the registry's API is on: Docker Hub's API is not on docker.io itself. */
    public String apiHost() {
        return registry.equals(DEFAULT_REGISTRY) ? "registry-1.docker.io" : registry;
    }

    /**
     * Plain HTTP for loopback and {@code .local} registries (as model-runner does for localhost and
     * .local), HTTPS for every other one.
     */
    /** Whether the registry is on this host's loopback (a service there is not a registry's to reach by default). */
    public boolean onLoopback() {
        String host = registry.startsWith("[") ? registry.substring(1, registry.indexOf(']'))
                : registry.contains(":") ? registry.substring(0, registry.lastIndexOf(':')) : registry;
        return host.equalsIgnoreCase("localhost") || host.startsWith("127.") || host.equals("::1");
    }

    public boolean plainHttp() {
        String host = registry.startsWith("[") ? registry.substring(1, registry.indexOf(']'))
                : registry.contains(":") ? registry.substring(0, registry.lastIndexOf(':')) : registry;
        return host.equals("localhost") || host.endsWith(".local") || host.startsWith("127.") || host.equals("::1");
    }

    @Override
    public String toString() {
        return familiar();
    }
}
