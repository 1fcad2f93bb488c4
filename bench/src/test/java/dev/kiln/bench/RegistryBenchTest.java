package dev.kiln.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RegistryBenchTest {
  @TempDir Path home;
  @TempDir Path dir;

  @Test
  void comparesWithSha256sumAndReportsLookupPercentiles() throws Exception {
    var r =
        new KilnCli(home, dir)
            .run("bench", "registry", "--mib", "8", "--rounds", "1", "--lookups", "200");
    assertThat(r.exit()).as("%s\n%s", r.out(), r.err()).isZero();
    assertThat(r.out())
        .containsPattern("speed vs sha256sum \\d+\\.\\d\\dx")
        .containsPattern("alias lookup\\s+median \\d+\\.\\d+ ms, p99 \\d+\\.\\d+ ms")
        .contains("over 200 lookups");
    try (var dirs = Files.list(home)) {
      assertThat(dirs.map(p -> p.getFileName().toString()))
          .noneMatch(n -> n.startsWith("bench-registry-"));
    }
  }
}
