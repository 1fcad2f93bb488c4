package dev.kiln.engine.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
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
}
