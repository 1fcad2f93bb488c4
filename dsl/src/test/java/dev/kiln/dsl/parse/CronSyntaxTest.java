package dev.kiln.dsl.parse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.util.Date;
import org.junit.jupiter.api.Test;

class CronSyntaxTest {
  @Test
  void unixFiveFieldsGainSecondsAndAQuestionMark() {
    assertThat(CronSyntax.toQuartz("0 3 * * *")).isEqualTo("0 0 3 * * ?");
    assertThat(CronSyntax.toQuartz("*/5 * 1 * *")).isEqualTo("0 */5 * 1 * ?");
  }

  @Test
  void unixWeekdayNumbersShiftToQuartzWhereSundayIsOne() {
    assertThat(CronSyntax.toQuartz("0 9 * * 1-5")).isEqualTo("0 0 9 ? * 2-6");
    assertThat(CronSyntax.toQuartz("0 9 * * 0,7")).isEqualTo("0 0 9 ? * 1,1");
    assertThat(CronSyntax.toQuartz("0 9 * * MON")).isEqualTo("0 0 9 ? * MON");
  }

  @Test
  void unixMondayFiresOnAMonday() {
    var cron = CronSyntax.parse("30 9 * * 1", "UTC");
    Date next = cron.getNextValidTimeAfter(Date.from(Instant.parse("2026-11-26T00:00:00Z")));
    assertThat(next.toInstant()).isEqualTo(Instant.parse("2026-11-30T09:30:00Z"));
  }

  @Test
  void quartzExpressionsPassUnchanged() {
    assertThat(CronSyntax.toQuartz("* * * * * ?")).isEqualTo("* * * * * ?");
  }

  @Test
  void quartzRejectsAnOutOfRangeMinute() {
    assertThatThrownBy(() -> CronSyntax.toQuartz("61 * * * *"))
        .hasMessageStartingWith("invalid cron expression '61 * * * *'");
  }
}
