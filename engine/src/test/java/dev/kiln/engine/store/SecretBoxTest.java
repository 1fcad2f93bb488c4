package dev.kiln.engine.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.dsl.model.ParamSpec;
import dev.kiln.dsl.model.ParamType;
import dev.kiln.engine.config.ConfigException;
import dev.kiln.engine.task.TaskSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Secret param values sealed with AES-GCM under a key kept 0600 or given by KILN_SECRET_KEY. */
class SecretBoxTest {
  @TempDir Path home;

  @Test
  void aValueSealsToTheSameTextAndOpensOnlyUnderItsKey() throws Exception {
    SecretBox box = SecretBox.load(home, null);
    String sealed = box.seal("hunter2-value");
    assertThat(sealed).startsWith(SecretBox.PREFIX).doesNotContain("hunter2");
    assertThat(box.seal("hunter2-value")).isEqualTo(sealed);
    assertThat(box.seal("other-value")).isNotEqualTo(sealed);
    assertThat(box.open(sealed)).isEqualTo("hunter2-value");
    assertThat(box.open("plain text")).isEqualTo("plain text");
    assertThat(SecretBox.load(home, null).open(sealed)).isEqualTo("hunter2-value");
    assertThat(
            PosixFilePermissions.toString(
                Files.getPosixFilePermissions(home.resolve("secret-key"))))
        .isEqualTo("rw-------");

    String other = Base64.getEncoder().encodeToString(new byte[32]);
    SecretBox elsewhere = SecretBox.load(home, other);
    assertThat(elsewhere.open(sealed)).isEqualTo(sealed);
    // A forged or altered text is not opened (GCM authenticates it).
    String altered = sealed.substring(0, sealed.length() - 2) + "AA";
    assertThat(box.open(altered)).isEqualTo(altered);
  }

  @Test
  void onlySecretParamsAndTheSpecStringsHoldingThemAreSealed() {
    SecretBox box = SecretBox.load(home, null);
    Map<String, Object> params =
        box.sealParams(
            Map.of("key", "k-123456", "who", "world"),
            Map.of(
                "key", new ParamSpec("key", ParamType.STRING, null, null, null, true),
                "who", new ParamSpec("who", ParamType.STRING, null, null, null, false)));
    assertThat(params.get("who")).isEqualTo("world");
    assertThat((String) params.get("key")).startsWith(SecretBox.PREFIX);
    assertThat(box.openParams(params)).containsEntry("key", "k-123456");

    TaskSpec spec =
        new TaskSpec(
            "uses",
            null,
            "notify/webhook",
            Map.of("url", "https://x/?t=k-123456", "n", 3, "list", List.of("a", "k-123456")),
            null,
            Map.of("KILN_EXPR_1", "k-123456", "PLAIN", "world"),
            null,
            null,
            null,
            null,
            null,
            Map.of(),
            null,
            null,
            false,
            List.of(),
            null);
    TaskSpec sealed = box.sealSpec(spec, List.of("k-123456"));
    assertThat(Json.write(sealed)).doesNotContain("k-123456").contains("world");
    assertThat(box.openSpec(sealed)).isEqualTo(spec);
  }

  @Test
  void aBadKeyOrAKeyFileOthersCanReadIsRefused() throws Exception {
    assertThatThrownBy(() -> SecretBox.load(home, "c2hvcnQ="))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("KILN_SECRET_KEY must be 32 bytes in base64");
    SecretBox.load(home, null);
    Files.setPosixFilePermissions(
        home.resolve("secret-key"), PosixFilePermissions.fromString("rw-r--r--"));
    assertThatThrownBy(() -> SecretBox.load(home, null)).hasMessageContaining("chmod 600");
  }
}
