package dev.kiln.dsl.model;

import java.util.Map;

/** What starts a run on its own. */
public sealed interface Trigger {
  Location location();

  /**
   * {@code cron:} Quartz (6-7 fields) or Unix (5 fields) cron; timezone an IANA id or null (UTC).
   */
  record Cron(String expression, String timezone, String catchup, Location location)
      implements Trigger {}

  /**
   * {@code webhook:} POST /hooks/{path}; the secret or token is read from the named env variable.
   * Neither means {@code auth: none} was written. {@code requireTimestamp}: the signature covers
   * {@code X-Kiln-Timestamp}, which must be within 5 minutes of the server's clock.
   */
  record Webhook(
      String path,
      String secretEnv,
      String tokenEnv,
      boolean requireTimestamp,
      Map<String, String> params,
      Location location)
      implements Trigger {}

  /** {@code files:} a run per new file matching glob in dir, passed as the param 'file'. */
  record Files(String dir, String glob, Location location) implements Trigger {}
}
