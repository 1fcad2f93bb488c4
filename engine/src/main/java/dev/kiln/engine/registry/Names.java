package dev.kiln.engine.registry;

import java.util.regex.Pattern;

/** The names the registry accepts, and who is acting. */
public final class Names {
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,127}");
  private static final Pattern ALIAS = Pattern.compile("[a-z0-9][a-z0-9_-]{0,62}");

  private Names() {}

  public static String model(String name) {
    return checked("model name", name);
  }

  public static String dataset(String name) {
    return checked("dataset name", name);
  }

  public static String alias(String alias) {
    if (alias == null || !ALIAS.matcher(alias).matches()) {
      throw new RegistryException(
          "alias '"
              + alias
              + "' is not a valid alias: use lower-case letters, digits, '-' and '_' ([a-z0-9][a-z0-9_-]*)");
    }
    return alias;
  }

  private static String checked(String what, String name) {
    if (name == null || !NAME.matcher(name).matches()) {
      throw new RegistryException(
          what
              + " '"
              + name
              + "' is not valid: use letters, digits, '.', '-' and '_', starting with a letter or digit");
    }
    return name;
  }

  /** Who is acting, for the audit trail: KILN_USER, else the OS user. */
  public static String who() {
    String u = System.getenv("KILN_USER");
    if (u == null || u.isBlank()) {
      u = System.getProperty("user.name", "unknown");
    }
    return u;
  }
}
