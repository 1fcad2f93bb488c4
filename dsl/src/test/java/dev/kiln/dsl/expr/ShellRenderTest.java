package dev.kiln.dsl.expr;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A value in {@code run:} is never shell code, however the YAML quotes it: run with real sh. */
class ShellRenderTest {
  static final List<String> HOSTILE =
      List.of(
          "$(touch PWNED)",
          "`touch PWNED`",
          "a; touch PWNED",
          "a\ntouch PWNED",
          "it's \"quoted\" ' \"",
          "*",
          "  two  spaces  ",
          "${HOME}",
          "\\",
          "${{ secrets.KILN_DB_PASSWORD }}",
          "");

  @TempDir Path dir;

  /** Renders with one variable per expression and returns what sh prints. */
  private String run(String template, String value) throws Exception {
    Map<String, String> env = new LinkedHashMap<>();
    String script =
        Template.parse(template)
            .renderShell(
                (e, number) -> {
                  String name = "KILN_EXPR_" + (env.size() + 1);
                  env.put(name, value);
                  return name;
                });
    ProcessBuilder pb = new ProcessBuilder("sh", "-c", script).directory(dir.toFile());
    pb.environment().putAll(env);
    pb.redirectErrorStream(true);
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    p.waitFor();
    assertThat(Files.exists(dir.resolve("PWNED"))).as("%s with %s", template, value).isFalse();
    return out;
  }

  @Test
  void everyQuotingContextPrintsTheLiteralValue() throws Exception {
    for (String v : HOSTILE) {
      assertThat(run("printf '%s|' ${{ params.v }}", v)).isEqualTo(v + "|");
      assertThat(run("printf '%s|' \"hello, ${{ params.v }}!\"", v))
          .isEqualTo("hello, " + v + "!|");
      assertThat(run("printf '%s|' 'in ${{ params.v }} single'", v))
          .isEqualTo("in " + v + " single|");
      assertThat(run("printf '%s|' a${{ params.v }}b", v)).isEqualTo("a" + v + "b|");
      assertThat(run("printf '%s|' \"$(printf '%s' ${{ params.v }})\"", v))
          .isEqualTo(v.replaceAll("\n+$", "") + "|");
      assertThat(run("# it's a comment ${{ params.v }}\nprintf '%s|' ${{ params.v }}", v))
          .isEqualTo(v + "|");
      assertThat(run("cat <<EOF\n${{ params.v }}\nEOF\nprintf '%s|' ${{ params.v }}", v))
          .isEqualTo(v + "\n" + v + "|");
    }
  }

  @Test
  void rendersEachContextAsDocumented() throws Exception {
    Template.Binding one = (e, n) -> "KILN_EXPR_1";
    assertThat(Template.parse("echo \"hello, ${{ params.who }}\"").renderShell(one))
        .isEqualTo("echo \"hello, ${KILN_EXPR_1}\"");
    assertThat(Template.parse("echo ${{ params.who }}").renderShell(one))
        .isEqualTo("echo \"${KILN_EXPR_1}\"");
    assertThat(Template.parse("echo '${{ params.who }}'").renderShell(one))
        .isEqualTo("echo ''\"${KILN_EXPR_1}\"''");
    assertThat(Template.parse("echo $'a${{ params.who }}'").renderShell(one))
        .isEqualTo("echo $'a'\"${KILN_EXPR_1}\"$''");
    assertThat(Template.parse("echo \"$(cat ${{ params.who }})\"").renderShell(one))
        .isEqualTo("echo \"$(cat \"${KILN_EXPR_1}\")\"");
  }

  @Test
  void refusesPlacesWhereNoReferenceCanWork() {
    Template.Binding one = (e, n) -> "KILN_EXPR_1";
    assertThatThrownBy(() -> Template.parse("cat <<'EOF'\n${{ params.v }}\nEOF").renderShell(one))
        .isInstanceOf(EvalException.class)
        .hasMessageContaining("quoted here-document");
    assertThatThrownBy(() -> Template.parse("echo \\${{ params.v }}").renderShell(one))
        .isInstanceOf(EvalException.class)
        .hasMessageContaining("backslash");
  }

  @Test
  void insideArithmeticTheReferenceIsBareAndTheBindingIsToldToAcceptNumbersOnly() throws Exception {
    List<Boolean> numbers = new java.util.ArrayList<>();
    String script =
        Template.parse("echo $(( ${{ a }} * 2 )) $(echo ${{ b }}) \"$(( (${{ c }}) ))\" ${{ d }}")
            .renderShell(
                (e, number) -> {
                  numbers.add(number);
                  return "V" + numbers.size();
                });
    assertThat(script)
        .isEqualTo("echo $(( ${V1} * 2 )) $(echo \"${V2}\") \"$(( (${V3}) ))\" \"${V4}\"");
    assertThat(numbers).containsExactly(true, false, true, false);
  }

  @Test
  void aHereDocumentEndsAtItsDelimiter() throws Exception {
    assertThat(run("cat <<-END\n\t${{ p.v }} it's\n\tEND\necho '${{ p.v }}'", "x y"))
        .isEqualTo("x y it's\nx y\n");
  }
}
