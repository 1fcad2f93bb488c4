package dev.kiln.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** docs/architecture.md's package map names every package of the tree, and nothing else. */
class PackageMapTest {
  private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
  private static final List<String> MODULES =
      List.of("dsl", "engine", "workers", "steps", "web", "bench");
  private static final Pattern ENTRY =
      Pattern.compile("^(dev\\.kiln[a-z.]*)\\s", Pattern.MULTILINE);

  @Test
  void architectureMapListsExactlyThePackagesOfTheTree() throws IOException {
    String doc = Files.readString(ROOT.resolve("docs/architecture.md"));
    int start = doc.indexOf("<!-- package-map:start -->");
    int end = doc.indexOf("<!-- package-map:end -->");
    assertThat(start).as("package map markers in docs/architecture.md").isPositive();
    assertThat(end).isGreaterThan(start);
    Set<String> documented = new TreeSet<>();
    Matcher m = ENTRY.matcher(doc.substring(start, end));
    while (m.find()) {
      documented.add(m.group(1));
    }
    assertThat(documented).isEqualTo(packagesInTree());
  }

  private static Set<String> packagesInTree() throws IOException {
    Set<String> packages = new TreeSet<>();
    for (String module : MODULES) {
      Path src = ROOT.resolve(module).resolve("src/main/java");
      try (Stream<Path> files = Files.walk(src)) {
        files
            .filter(f -> f.toString().endsWith(".java"))
            .map(f -> src.relativize(f.getParent()).toString().replace('/', '.'))
            .forEach(packages::add);
      }
    }
    return packages;
  }
}
