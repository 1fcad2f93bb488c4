package dev.kiln.engine.registry;

import java.time.Instant;

/** One move of an alias; fromVersion is null when the alias was new. */
public record AliasEvent(
    long id,
    String name,
    String alias,
    Integer fromVersion,
    int toVersion,
    String who,
    String why,
    Instant at) {}
