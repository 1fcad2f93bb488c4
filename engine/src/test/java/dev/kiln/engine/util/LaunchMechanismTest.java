package dev.kiln.engine.util;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class LaunchMechanismTest {
  @Test
  void vforkOnlyOnLinuxJdksBefore21AndNeverOverAUsersChoice() {
    assertThat(LaunchMechanism.choose(17, "Linux", null)).isEqualTo("VFORK");
    assertThat(LaunchMechanism.choose(21, "Linux", null)).isNull(); // deprecated there
    assertThat(LaunchMechanism.choose(25, "Linux", null)).isNull(); // and warns from 23 on
    assertThat(LaunchMechanism.choose(17, "Mac OS X", null)).isNull();
    assertThat(LaunchMechanism.choose(17, "Linux", "POSIX_SPAWN")).isNull();
  }

  @Test
  void thisJvmStartsItsChildrenAsChosen() {
    LaunchMechanism.preferVfork();
    String expected =
        LaunchMechanism.choose(Runtime.version().feature(), System.getProperty("os.name"), null);
    String set = System.getProperty(LaunchMechanism.PROPERTY);
    if (expected != null) {
      assertThat(set).isEqualTo(expected);
    } else {
      assertThat(set).isNotEqualTo("VFORK");
    }
  }
}
