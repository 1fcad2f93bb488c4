package dev.kiln.engine.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Where built-in steps may read and write, on real files and symbolic links. */
class StepPathsTest {
  @TempDir Path tmp;
  Path base;
  Path work;
  Path data;
  Path outside;
  StepPaths paths;

  @BeforeEach
  void tree() throws Exception {
    base = Files.createDirectories(tmp.resolve("project/pipelines"));
    work = Files.createDirectories(tmp.resolve("home/work/run-1/a-1"));
    data = Files.createDirectories(tmp.resolve("data"));
    outside = Files.createDirectories(tmp.resolve("outside"));
    Files.writeString(base.resolve("train.csv"), "x\n1\n");
    Files.writeString(data.resolve("big.csv"), "x\n2\n");
    Files.writeString(outside.resolve("secret.txt"), "s");
    paths = new StepPaths(base, List.of(work, data));
  }

  @Test
  void relativePathsResolveAgainstTheRunsFolderAndEveryRootIsAllowed() throws Exception {
    assertThat(paths.read("train.csv")).isEqualTo(base.resolve("train.csv").toRealPath());
    assertThat(paths.read("./sub/../train.csv")).isEqualTo(base.resolve("train.csv").toRealPath());
    assertThat(paths.read(data.resolve("big.csv").toString()))
        .isEqualTo(data.resolve("big.csv").toRealPath());
    assertThat(paths.read("../../data/big.csv")).isEqualTo(data.resolve("big.csv").toRealPath());
    assertThat(paths.write("out.csv")).isEqualTo(base.toRealPath().resolve("out.csv"));
    assertThat(paths.write(work.resolve("new.bin").toString()))
        .isEqualTo(work.toRealPath().resolve("new.bin"));
    // A symbolic link that stays inside the roots is fine (a data root linked from the project).
    Files.createSymbolicLink(base.resolve("data"), data);
    assertThat(paths.read("data/big.csv")).isEqualTo(data.resolve("big.csv").toRealPath());
  }

  @Test
  void dotDotAndAbsolutePathsOutsideTheRootsAreRefused() {
    assertThatThrownBy(() -> paths.read("../../etc/passwd"))
        .isInstanceOf(StepPaths.Refused.class)
        .hasMessageContaining("path '../../etc/passwd'")
        .hasMessageContaining("does not exist");
    String up = "../".repeat(base.getNameCount()) + "etc/passwd";
    assertThatThrownBy(() -> paths.read(up))
        .hasMessageContaining("path '" + up + "' (/etc/passwd) is outside the folders");
    assertThatThrownBy(() -> paths.read("/etc/passwd"))
        .hasMessageContaining("path '/etc/passwd' (/etc/passwd) is outside the folders");
    assertThatThrownBy(() -> paths.read("../../outside/secret.txt"))
        .hasMessageContaining("is outside the folders");
    assertThatThrownBy(() -> paths.write(outside.resolve("new.txt").toString()))
        .hasMessageContaining("is outside the folders");
    assertThatThrownBy(() -> paths.read("a\0b")).hasMessageContaining("NUL");
  }

  @Test
  void globsAreConfinedByTheirFolderBeforeTheFirstWildcard() throws Exception {
    Files.createDirectories(base.resolve("entities"));
    Files.writeString(base.resolve("entities/a.csv"), "x\n1\n");
    assertThat(paths.glob("entities/*.csv"))
        .isEqualTo(base.toRealPath().resolve("entities/*.csv").toString());
    assertThat(paths.glob("*.csv")).isEqualTo(base.toRealPath().resolve("*.csv").toString());
    assertThat(paths.glob("entities/a.csv"))
        .isEqualTo(base.resolve("entities/a.csv").toRealPath().toString());
    assertThatThrownBy(() -> paths.glob("../../outside/*.txt"))
        .hasMessageContaining("is outside the folders");
    assertThatThrownBy(() -> paths.glob("/etc/*")).hasMessageContaining("is outside the folders");
    assertThatThrownBy(() -> paths.glob("entities/*/../../../../outside/*"))
        .hasMessageContaining("climbs out");
    Files.createSymbolicLink(base.resolve("entities/out"), outside);
    assertThatThrownBy(() -> paths.glob("entities/**/*.txt")).hasMessageContaining("symbolic link");
  }

  @Test
  void symbolicLinksLeadingOutAreRefusedWhereverTheySit() throws Exception {
    Files.createSymbolicLink(base.resolve("passwd"), Path.of("/etc/passwd"));
    assertThatThrownBy(() -> paths.read("passwd"))
        .hasMessageContaining("path 'passwd' is or lies under a symbolic link that leads to")
        .hasMessageContaining("/etc/passwd");
    Files.createSymbolicLink(base.resolve("elsewhere"), outside);
    assertThatThrownBy(() -> paths.read("elsewhere/secret.txt"))
        .hasMessageContaining("symbolic link");
    assertThatThrownBy(() -> paths.write("elsewhere/new.txt"))
        .hasMessageContaining("symbolic link");
    // A folder (a model directory artifact) holding a link that leads out.
    Path model = Files.createDirectories(work.resolve("model"));
    Files.writeString(model.resolve("weights.bin"), "w");
    assertThat(paths.read(model.toString())).isEqualTo(model.toRealPath());
    Files.createSymbolicLink(model.resolve("extra"), outside.resolve("secret.txt"));
    assertThatThrownBy(() -> paths.read(model.toString()))
        .hasMessageContaining("holds a symbolic link extra that leads to");
  }
}
