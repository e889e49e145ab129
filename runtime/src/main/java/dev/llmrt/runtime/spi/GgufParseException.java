package dev.llmrt.runtime.spi;

/**
 * A GGUF file could not be parsed (Go: {@code ErrGGUFParse}). Placement treats the model's memory
 * requirement as unknown, never as zero.
 */
public class GgufParseException extends Exception {
    public GgufParseException(String message) {
        super(message);
    }

    public GgufParseException(String message, Throwable cause) {
        super(message, cause);
    }

    @Override
    public String getMessage() {
        return "failed to parse GGUF: " + super.getMessage();
    }
}
