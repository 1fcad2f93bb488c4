package dev.kiln.workers;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.engine.store.Json;
import dev.kiln.engine.testing.TestDb;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * docs/security.md, "Values never become code": hostile params given to {@code kiln run -p}, the
 * step outputs made of them and hostile matrix values are printed literally from every quoting
 * context, and none of them runs anything.
 */
class InjectionTest {
  @TempDir Path home;
  @TempDir Path dir;

  @Test
  void hostileParamsOutputsAndMatrixValuesAreDataInEveryQuotingContext() throws Exception {
    TestDb.Url db = TestDb.freshUrl();
    Kiln kiln =
        new Kiln(
            Map.of(
                "KILN_HOME", home.toString(), "KILN_DB_URL", db.url(), "KILN_DB_USER", db.user()),
            dir);
    Path pwned = dir.resolve("pwned");
    List<String> values = Hostile.values(pwned);
    Path file = dir.resolve("inject.yaml");
    Files.writeString(file, Hostile.pipeline("inject", values));
    List<String> args = new ArrayList<>(List.of("run", file.toString(), "--json"));
    for (int i = 0; i < values.size(); i++) {
      args.add("-p");
      args.add("p" + i + "=" + values.get(i));
    }

    var r = kiln.run(args.toArray(String[]::new));

    assertThat(r.exit()).as(r.err()).isEqualTo(0);
    long run = Json.MAPPER.readTree(r.out()).get("run_id").asLong();
    assertThat(Hostile.stdout(db, run))
        .containsExactlyInAnyOrderElementsOf(Hostile.expectedLines(values));
    assertThat(pwned).doesNotExist();
  }

  @Test
  void aValidateErrorExplainsWhereNoValueCanBePassedSafely() throws Exception {
    Kiln kiln = new Kiln(Map.of("KILN_HOME", home.toString()), dir);
    Path file = dir.resolve("heredoc.yaml");
    Files.writeString(
        file,
        """
        name: heredoc
        params: { v: { type: string, default: x } }
        steps:
          a:
            run: |
              cat <<'EOF'
              ${{ params.v }}
              EOF
        """);

    var r = kiln.run("validate", file.toString());

    assertThat(r.exit()).isEqualTo(2);
    assertThat(r.err())
        .contains("heredoc.yaml:5:10: 'run': ${{ }} inside the quoted here-document");
  }
}
