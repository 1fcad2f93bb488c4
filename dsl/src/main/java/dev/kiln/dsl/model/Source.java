package dev.kiln.dsl.model;

/**
 * The text a pipeline was parsed from. {@code version} is the sha256 (hex) of its canonical form:
 * the parsed document with map keys sorted, written as compact JSON, so comments, key order and
 * formatting do not change the version.
 */
public record Source(String file, String text, String version) {}
