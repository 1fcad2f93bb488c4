package dev.kiln.engine.daemon;

/** A command's exit code and what it printed on stdout and stderr, kept apart. */
public record Answer(int code, byte[] out, byte[] err) {}
