package dev.kiln.engine.store;

import dev.kiln.dsl.model.ParamSpec;
import dev.kiln.engine.config.ConfigException;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.task.TaskSpec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import javax.crypto.Cipher;
import javax.crypto.Mac;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Values of {@code secret: true} params, sealed where they are stored ({@code runs.params}, the
 * strings of {@code tasks.spec} that hold them) with AES-256-GCM from the JDK, and opened where
 * they are read back. The key is {@code KILN_SECRET_KEY} (base64 of 32 bytes: the same on every
 * host of a shared database) or else {@code $KILN_HOME/secret-key}, generated once, mode 0600.
 *
 * <p>The nonce is derived from the value (HMAC-SHA256 under a second key derived from the same
 * key), so the same value seals to the same text: equal params still compare equal in SQL (a run
 * taken over by its params) and cache keys stay stable. What that reveals is only whether two
 * sealed values are equal.
 */
public final class SecretBox {
  private static final Logger log = LoggerFactory.getLogger(SecretBox.class);
  static final String PREFIX = "kiln:sealed:v1:";
  static final String FILE = "secret-key";
  private static volatile SecretBox process;

  private final SecretKeySpec aes;
  private final SecretKeySpec nonces;

  private SecretBox(byte[] key) {
    this.aes = new SecretKeySpec(derive(key, "kiln aes-gcm"), "AES");
    this.nonces = new SecretKeySpec(derive(key, "kiln nonce"), "HmacSHA256");
  }

  /** This process's box: the key of the first configuration that opened a store, else the env's. */
  public static SecretBox process() {
    SecretBox b = process;
    return b != null ? b : use(KilnConfig.fromEnvironment().home(), System.getenv());
  }

  /** Sets this process's key from {@code env}'s KILN_SECRET_KEY or {@code home}, once. */
  public static synchronized SecretBox use(Path home, Map<String, String> env) {
    if (process == null) {
      process = load(home, env.get("KILN_SECRET_KEY"));
    }
    return process;
  }

  static SecretBox load(Path home, String envKey) {
    if (envKey != null && !envKey.isBlank()) {
      byte[] key;
      try {
        key = Base64.getDecoder().decode(envKey.trim());
      } catch (IllegalArgumentException e) {
        key = new byte[0];
      }
      if (key.length != 32) {
        throw new ConfigException(
            "KILN_SECRET_KEY must be 32 bytes in base64 (e.g. from 'head -c 32 /dev/urandom |"
                + " base64'), got "
                + key.length
                + " bytes");
      }
      return new SecretBox(key);
    }
    Path file = home.resolve(FILE);
    try {
      if (!Files.exists(file)) {
        byte[] key = new byte[32];
        new SecureRandom().nextBytes(key);
        OwnerOnlyFile.create(file, Base64.getEncoder().encodeToString(key) + "\n");
      }
      return new SecretBox(Base64.getDecoder().decode(OwnerOnlyFile.read(file)));
    } catch (IOException | IllegalArgumentException e) {
      throw new ConfigException("cannot read the secret key " + file + ": " + e.getMessage(), e);
    }
  }

  public String seal(String plain) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(nonces);
      byte[] nonce = Arrays.copyOf(mac.doFinal(plain.getBytes(StandardCharsets.UTF_8)), 12);
      Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
      c.init(Cipher.ENCRYPT_MODE, aes, new GCMParameterSpec(128, nonce));
      byte[] ct = c.doFinal(plain.getBytes(StandardCharsets.UTF_8));
      return PREFIX
          + Base64.getUrlEncoder()
              .withoutPadding()
              .encodeToString(ByteBuffer.allocate(12 + ct.length).put(nonce).put(ct).array());
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM is not available in this JDK", e);
    }
  }

  /** The value sealed in {@code text}; any other text as it is. */
  public String open(String text) {
    if (text == null || !text.startsWith(PREFIX)) {
      return text;
    }
    try {
      byte[] all = Base64.getUrlDecoder().decode(text.substring(PREFIX.length()));
      Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
      c.init(Cipher.DECRYPT_MODE, aes, new GCMParameterSpec(128, all, 0, 12));
      return new String(c.doFinal(all, 12, all.length - 12), StandardCharsets.UTF_8);
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      // Sealed under another key (a host without the shared KILN_SECRET_KEY), or not ours.
      log.warn(
          "a sealed value cannot be opened with this process's key: set the same"
              + " KILN_SECRET_KEY on every host that shares the database");
      return text;
    }
  }

  /** The params with the values of {@code secret: true} ones sealed. */
  public Map<String, Object> sealParams(Map<String, Object> params, Map<String, ParamSpec> specs) {
    Map<String, Object> out = new LinkedHashMap<>(params);
    params.forEach(
        (k, v) -> {
          ParamSpec s = specs.get(k);
          if (s != null && s.secret() && v != null) {
            out.put(k, seal(String.valueOf(v)));
          }
        });
    return out;
  }

  /** The params with sealed values opened (their type comes back from the pipeline's spec). */
  public Map<String, Object> openParams(Map<String, Object> params) {
    Map<String, Object> out = new LinkedHashMap<>(params);
    params.forEach(
        (k, v) -> {
          if (v instanceof String s && s.startsWith(PREFIX)) {
            out.put(k, open(s));
          }
        });
    return out;
  }

  /**
   * The spec with every string of its env and {@code with:} that holds one of {@code values} (the
   * run's secret param values) sealed whole.
   */
  public TaskSpec sealSpec(TaskSpec spec, List<String> values) {
    List<String> present = values.stream().filter(v -> v != null && !v.isEmpty()).toList();
    if (present.isEmpty()) {
      return spec;
    }
    return mapStrings(
        spec, s -> present.stream().anyMatch(s::contains) && !s.startsWith(PREFIX) ? seal(s) : s);
  }

  public TaskSpec openSpec(TaskSpec spec) {
    return mapStrings(spec, this::open);
  }

  private static TaskSpec mapStrings(TaskSpec s, UnaryOperator<String> f) {
    Map<String, String> env = null;
    if (s.env() != null) {
      env = new LinkedHashMap<>();
      for (Map.Entry<String, String> e : s.env().entrySet()) {
        env.put(e.getKey(), e.getValue() == null ? null : f.apply(e.getValue()));
      }
    }
    @SuppressWarnings("unchecked")
    Map<String, Object> with = s.with() == null ? null : (Map<String, Object>) walk(s.with(), f);
    return new TaskSpec(
        s.kind(),
        s.command(),
        s.uses(),
        with,
        s.image(),
        env,
        s.timeoutMs(),
        s.cpus(),
        s.memoryBytes(),
        s.user(),
        s.network(),
        s.inputs(),
        s.pipelineDir(),
        s.baseDir(),
        s.cache(),
        s.capabilities(),
        s.executor());
  }

  private static Object walk(Object v, UnaryOperator<String> f) {
    if (v instanceof String s) {
      return f.apply(s);
    }
    if (v instanceof Map<?, ?> m) {
      Map<Object, Object> out = new LinkedHashMap<>();
      m.forEach((k, x) -> out.put(k, walk(x, f)));
      return out;
    }
    if (v instanceof List<?> l) {
      List<Object> out = new ArrayList<>();
      l.forEach(x -> out.add(walk(x, f)));
      return out;
    }
    return v;
  }

  private static byte[] derive(byte[] key, String purpose) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
      return mac.doFinal(purpose.getBytes(StandardCharsets.UTF_8));
    } catch (GeneralSecurityException e) {
      throw new UncheckedIOException(new IOException("HMAC-SHA256 is not available", e));
    }
  }
}
