package dev.kiln.dsl.parse;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class UnitsTest {
  @Test
  void durationsReadShortFormsAndIso8601() {
    assertThat(Units.parseDuration("30s")).isEqualTo(Duration.ofSeconds(30));
    assertThat(Units.parseDuration("5m")).isEqualTo(Duration.ofMinutes(5));
    assertThat(Units.parseDuration("2h")).isEqualTo(Duration.ofHours(2));
    assertThat(Units.parseDuration("1h30m")).isEqualTo(Duration.ofMinutes(90));
    assertThat(Units.parseDuration("500ms")).isEqualTo(Duration.ofMillis(500));
    assertThat(Units.parseDuration("1m30s500ms")).isEqualTo(Duration.ofMillis(90_500));
    assertThat(Units.parseDuration("1d")).isEqualTo(Duration.ofDays(1));
    assertThat(Units.parseDuration("PT5M")).isEqualTo(Duration.ofMinutes(5));
    assertThat(Units.parseDuration("pt0.5s")).isEqualTo(Duration.ofMillis(500));
  }

  @Test
  void durationsRefuseEverythingElse() {
    for (String bad :
        new String[] {
          "", "30", "5 m", "1.5h", "m", "30m1h", "forever", "PT", "-5s", "99999999999s"
        }) {
      assertThat(Units.parseDuration(bad)).as(bad).isNull();
    }
  }

  @Test
  void sizesArePowersOf1024() {
    assertThat(Units.parseSize("1024")).isEqualTo(1024L);
    assertThat(Units.parseSize("1024k")).isEqualTo(1L << 20);
    assertThat(Units.parseSize("512m")).isEqualTo(512L << 20);
    assertThat(Units.parseSize("2g")).isEqualTo(2L << 30);
    assertThat(Units.parseSize("2Gi")).isEqualTo(2L << 30);
    assertThat(Units.parseSize("2GB")).isEqualTo(2L << 30);
    assertThat(Units.parseSize("1.5g")).isEqualTo(3L << 29);
    assertThat(Units.parseSize("1t")).isEqualTo(1L << 40);
  }

  @Test
  void sizesRefuseEverythingElse() {
    for (String bad : new String[] {"", "g", "-5", "2x", "1i", "two", "99999999999999t"}) {
      assertThat(Units.parseSize(bad)).as(bad).isNull();
    }
  }
}
