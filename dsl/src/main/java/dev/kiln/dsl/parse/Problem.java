package dev.kiln.dsl.parse;

import dev.kiln.dsl.model.Location;

/** One thing wrong with a pipeline, printed as {@code FILE:LINE:COL: message}. */
public record Problem(Location location, String message) {

  /** A problem about the file as a whole (no line): printed as {@code FILE: message}. */
  public static Problem ofFile(String file, String message) {
    return new Problem(new Location(file, 0, 0), message);
  }

  @Override
  public String toString() {
    if (location.line() <= 0) {
      return location.file() + ": " + message;
    }
    return location + ": " + message;
  }
}
