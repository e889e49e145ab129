package dev.llmrt.runtime.flags;

import dev.llmrt.runtime.spi.BackendException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Validates user-supplied runtime flags against a backend's allowlist, with model-runner's rules:
 * each flag's key ({@code --k} of {@code --k=v}) must be allowed; a token containing a path
 * separator is refused (flags must not read or write host files); a value after {@code =} may
 * start with {@code -} only as a negative number. Tokens not starting with {@code -} are values.
 */
public final class RuntimeFlags {
    private static final Pattern NEGATIVE_NUMBER = Pattern.compile("-[0-9]+(\\.[0-9]+)?([eE][-+]?[0-9]+)?");

    private RuntimeFlags() {}

    /** Returns the flags unchanged when valid; otherwise throws, naming the flag, the backend and why. */
    public static List<String> validate(String backend, Set<String> allowed, List<String> flags) {
        for (String token : flags) {
            if (token.contains("/") || token.contains("\\")) {
                throw refused(token, backend, "it contains a path separator (runtime flags can't name host files)");
            }
            if (!token.startsWith("-")) {
                continue; // a value of the previous flag
            }
            int eq = token.indexOf('=');
            String key = eq > 0 ? token.substring(0, eq) : token;
            if (!allowed.contains(key)) {
                throw refused(key, backend, "it is not on the backend's allowlist");
            }
            if (eq > 0) {
                String value = token.substring(eq + 1);
                if (value.startsWith("-") && !NEGATIVE_NUMBER.matcher(value).matches()) {
                    throw refused(token, backend, "its value starts with '-' and is not a negative number");
                }
            }
        }
        return List.copyOf(flags);
    }

    /**
     * Splits a shell-style string into flags (model-runner's {@code raw-runtime-flags}): words split
     * on blanks, single and double quotes group, a backslash escapes the next character. Nothing is
     * expanded. Throws on an unclosed quote.
     */
    public static List<String> splitShellWords(String raw) {
        List<String> words = new ArrayList<>();
        StringBuilder word = new StringBuilder();
        boolean inWord = false;
        char quote = 0;
        for (int i = 0; i < raw.length(); i++) {
            char c = raw.charAt(i);
            if (quote != 0) {
                if (c == quote) {
                    quote = 0;
                } else if (c == '\\' && quote == '"' && i + 1 < raw.length()) {
                    word.append(raw.charAt(++i));
                } else {
                    word.append(c);
                }
            } else if (c == '\'' || c == '"') {
                quote = c;
                inWord = true;
            } else if (c == '\\' && i + 1 < raw.length()) {
                word.append(raw.charAt(++i));
                inWord = true;
            } else if (Character.isWhitespace(c)) {
                if (inWord) {
                    words.add(word.toString());
                    word.setLength(0);
                    inWord = false;
                }
            } else {
                word.append(c);
                inWord = true;
            }
        }
        if (quote != 0) {
            throw new IllegalArgumentException("runtime flags have an unclosed " + quote + " quote");
        }
        if (inWord) {
            words.add(word.toString());
        }
        return List.copyOf(words);
    }

    /** {@link #validate}, for a backend: a refusal is the {@link BackendException} the backend reports. */
    public static List<String> validated(String backend, Set<String> allowed, List<String> flags) throws BackendException {
        try {
            return validate(backend, allowed, flags);
        } catch (IllegalArgumentException e) {
            throw new BackendException(e.getMessage(), e);
        }
    }

    private static IllegalArgumentException refused(String flag, String backend, String why) {
        return new IllegalArgumentException("runtime flag '" + flag + "' is not allowed for backend " + backend + ": " + why);
    }

    /** llama-server flags a user may set; every flag that takes a file path is deliberately absent. */
    public static final Set<String> LLAMA_CPP = Set.of(
            // threads and CPU
            "-t", "--threads", "-tb", "--threads-batch", "-C", "--cpu-mask", "--cpu-strict", "--prio", "--poll",
            "--no-mmap", "--mlock", "--numa",
            // context and batching
            "-c", "--ctx-size", "-n", "--predict", "--n-predict", "-b", "--batch-size", "-ub", "--ubatch-size",
            "--keep", "--swa-full", "-kvu", "--kv-unified", "--no-kv-offload", "-nkvo", "--context-shift",
            "--no-context-shift", "-cram", "--cache-ram",
            // sampling
            "--samplers", "-s", "--seed", "--temp", "--top-k", "--top-p", "--min-p", "--typical", "--repeat-last-n",
            "--repeat-penalty", "--presence-penalty", "--frequency-penalty", "--dry-multiplier", "--dry-base",
            "--dry-allowed-length", "--dry-penalty-last-n", "--mirostat", "--mirostat-lr", "--mirostat-ent",
            "--dynatemp-range", "--dynatemp-exp", "--xtc-probability", "--xtc-threshold", "--top-nsigma",
            // GPU split and offload
            "-ngl", "--gpu-layers", "--n-gpu-layers", "-dev", "--device", "-sm", "--split-mode", "-ts",
            "--tensor-split", "-mg", "--main-gpu", "-fa", "--flash-attn", "-fit", "--fit",
            // KV types, RoPE
            "-ctk", "--cache-type-k", "-ctv", "--cache-type-v", "--rope-scaling", "--rope-scale", "--rope-freq-base",
            "--rope-freq-scale", "--yarn-orig-ctx", "--yarn-ext-factor", "--yarn-attn-factor", "--yarn-beta-slow",
            "--yarn-beta-fast", "-dt", "--defrag-thold",
            // server
            "-np", "--parallel", "--threads-http", "--cache-reuse", "--timeout", "-to", "--cont-batching", "-cb",
            "--no-cont-batching", "-nocb", "--slot-prompt-similarity", "-sps", "--cache-prompt", "--no-cache-prompt",
            "--metrics", "--embeddings", "--embedding", "--reranking", "--rerank", "--pooling", "--no-webui",
            // speculative
            "--draft", "--draft-max", "--draft-n", "--draft-min", "--draft-p-min", "--spec-draft-n-max",
            "--spec-draft-n-min", "--spec-draft-p-min", "-ngld", "--gpu-layers-draft", "-cd", "--ctx-size-draft",
            // templates and reasoning
            "--jinja", "--no-jinja", "--chat-template", "--reasoning-format", "--reasoning-budget",
            // logging to stderr only
            "-v", "--verbose", "-lv", "--verbosity", "--log-verbosity", "--log-colors", "--log-prefix", "--log-timestamps");

    /** vLLM serve flags a user may set ({@code --trust-remote-code} is absent: it runs code from the model). */
    public static final Set<String> VLLM = Set.of(
            "--tensor-parallel-size", "-tp", "--pipeline-parallel-size", "-pp", "--data-parallel-size", "-dp",
            "--max-model-len", "--max-num-batched-tokens", "--max-num-seqs", "--block-size", "--swap-space",
            "--seed", "--dtype", "--quantization", "-q", "--kv-cache-dtype", "--enforce-eager",
            "--enable-prefix-caching", "--no-enable-prefix-caching", "--enable-chunked-prefill",
            "--no-enable-chunked-prefill", "--served-model-name", "--gpu-memory-utilization", "--max-logprobs",
            "--disable-log-stats", "--disable-log-requests", "--cpu-offload-gb", "--max-seq-len-to-capture",
            "--disable-custom-all-reduce", "--enable-auto-tool-choice", "--tool-call-parser", "--reasoning-parser");
}
