package dev.llmrt.runtime.spi;

/** A backend failed: its process exited, could not start, or could not be installed. */
public class BackendException extends Exception {
    public BackendException(String message) {
        super(message);
    }

    public BackendException(String message, Throwable cause) {
        super(message, cause);
    }
}
