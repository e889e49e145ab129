package dev.llmrt.agent;

/** Marker for every message that may cross nodes; bound to jackson-cbor in reference.conf. */
public interface CborSerializable {}
