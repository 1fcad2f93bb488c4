package dev.kiln.dsl.parse;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The examples in docs/dsl.md are real: every complete pipeline there must validate. */
class DocsTest {
  static final Path DOC = Path.of("../docs/dsl.md");

  @Test
  void everyCompletePipelineInTheReferenceIsValid() throws IOException {
    Matcher m = Pattern.compile("```yaml\n(.*?)```", Pattern.DOTALL).matcher(Files.readString(DOC));
    List<String> pipelines = new ArrayList<>();
    while (m.find()) {
      String block = m.group(1);
      if (block.startsWith("name:") && block.contains("\nsteps:")) {
        pipelines.add(block);
      }
    }

    assertThat(pipelines).isNotEmpty();
    for (String yaml : pipelines) {
      assertThat(PipelineParser.parse("dsl.md", yaml).problems()).as(yaml).isEmpty();
    }
  }

  @Test
  void theFragmentsInTheReferenceAreValidInsideAPipeline() throws IOException {
    Matcher m = Pattern.compile("```yaml\n(.*?)```", Pattern.DOTALL).matcher(Files.readString(DOC));
    int checked = 0;
    while (m.find()) {
      String block = m.group(1);
      if (block.startsWith("params:") || block.startsWith("triggers:")) {
        // The trigger example sets the param 'data', so it needs it declared.
        String params = block.startsWith("params:") ? "" : "params: { data: { type: string } }\n";
        String yaml = "name: fragment\n" + params + block + "steps:\n  a: { run: echo }\n";
        assertThat(PipelineParser.parse("dsl.md", yaml).problems()).as(block).isEmpty();
        checked++;
      }
    }
    assertThat(checked).isEqualTo(2);
  }
}
