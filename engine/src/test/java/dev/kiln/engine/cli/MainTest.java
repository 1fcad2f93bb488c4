package dev.kiln.engine.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** The command tree: one command's branch when the first argument names it, else all of it. */
class MainTest {
  @Test
  void aNamedCommandBuildsOnlyItsBranch() {
    CommandLine runs = Main.commandLine("runs");
    assertThat(runs.getSubcommands().keySet()).containsExactlyInAnyOrder("runs", "help");
    assertThat(runs.getSubcommands().get("runs").getSubcommands()).containsKeys("show", "tag");
  }

  @Test
  void helpAndUnknownCommandsGetTheWholeTreeWithoutHiddenOnesListed() {
    for (String first : new String[] {null, "--help", "help", "rnus"}) {
      assertThat(Main.commandLine(first).getSubcommands())
          .as(String.valueOf(first))
          .containsKeys("validate", "run", "runs", "logs", "models", "tokens", "warm-up");
    }
    StringWriter usage = new StringWriter();
    Main.commandLine(null).usage(new PrintWriter(usage));
    assertThat(usage.toString()).contains("validate", "tokens").doesNotContain("warm-up");
  }

  @Test
  void aMisspeltCommandIsABadInputWithASuggestion() {
    StringWriter err = new StringWriter();
    CommandLine cl = Main.commandLine("rnus");
    cl.setErr(new PrintWriter(err));
    assertThat(cl.execute("rnus")).isEqualTo(Main.USAGE);
    assertThat(err.toString()).contains("rnus").contains("runs");
  }

  @Test
  void onlyCommandsThatReadAndEndAreReadOnly() {
    for (String call :
        new String[] {
          "",
          "--help",
          "help run",
          "validate a.yaml",
          "runs",
          "runs --json",
          "runs show 1",
          "runs compare 1 2",
          "logs 1",
          "logs 1 train",
          "models list",
          "models show m",
          "datasets",
          "datasets show d",
          "lineage m@1",
          "run --help",
          "logs 1 --follow --help"
        }) {
      assertThat(Main.readOnly(args(call))).as(call).isTrue();
    }
    for (String call :
        new String[] {
          "run a.yaml",
          "server",
          "worker",
          "logs 1 --follow",
          "logs 1 -f",
          "runs tag 1 a=b",
          "models promote m 1 --alias p",
          "models rollback m --alias p",
          "db stop",
          "cancel 1",
          "daemon stop",
          "tokens list",
          "runs --limit x",
          "rnus"
        }) {
      assertThat(Main.readOnly(args(call))).as(call).isFalse();
    }
  }

  private static List<String> args(String call) {
    return call.isEmpty() ? List.of() : List.of(call.split(" "));
  }
}
