package dev.kiln.engine.artifact;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What every {@link ArtifactStore} does, run against each implementation: a subclass says how to
 * open the store as seen from one host (with its own local folder) and from another.
 */
abstract class ArtifactStoreContract {
  @TempDir Path tmp;

  private ArtifactStore here;
  private ArtifactStore there;

  /** The store as a process whose local folder is {@code localDir} sees it. */
  abstract ArtifactStore open(Path localDir) throws Exception;

  ArtifactStore here() throws Exception {
    if (here == null) {
      here = open(tmp.resolve("host-a"));
    }
    return here;
  }

  ArtifactStore there() throws Exception {
    if (there == null) {
      there = open(tmp.resolve("host-b"));
    }
    return there;
  }

  @AfterEach
  void closeStores() {
    if (here != null) {
      here.close();
    }
    if (there != null) {
      there.close();
    }
  }

  @Test
  void aFileIsStoredUnderItsSha256AndReadableFromAnotherHost() throws Exception {
    Path f = write("model.bin", "weights");
    ArtifactStore.Stored s = here().put(f);

    assertThat(s.sha256()).isEqualTo(sha256("weights".getBytes(StandardCharsets.UTF_8)));
    assertThat(s.kind()).isEqualTo("file");
    assertThat(s.size()).isEqualTo(7);
    assertThat(there().exists(s.sha256())).isTrue();
    Path got = there().local(s.sha256());
    assertThat(got).isEqualTo(there().path(s.sha256()));
    assertThat(Files.readString(got)).isEqualTo("weights");
  }

  @Test
  void deleteRemovesContentOnlyWhenStoredBeforeTheGivenTime() throws Exception {
    ArtifactStore.Stored s = here().put(write("old.bin", "old weights"));

    assertThat(here().delete(s.sha256(), Instant.now().minus(Duration.ofHours(1)))).isFalse();
    assertThat(there().exists(s.sha256())).isTrue();
    assertThat(here().delete(s.sha256(), Instant.now().plus(Duration.ofMinutes(1)))).isTrue();
    assertThat(here().exists(s.sha256())).isFalse();
    assertThat(there().exists(s.sha256())).isFalse();
    assertThat(Files.exists(here().path(s.sha256()))).isFalse();
    assertThat(here().delete(s.sha256(), Instant.now().plus(Duration.ofMinutes(1)))).isFalse();
  }

  @Test
  void aFolderIsOneAddressAndComesBackWholeOnAnotherHost() throws Exception {
    Path dir = tmp.resolve("report");
    Files.createDirectories(dir.resolve("sub"));
    Files.writeString(dir.resolve("index.html"), "<p>hi</p>");
    Files.writeString(dir.resolve("sub/data.csv"), "a,b\n1,2\n");
    ArtifactStore.Stored s = here().put(dir);

    String listing =
        "index.html\0"
            + sha256("<p>hi</p>".getBytes(StandardCharsets.UTF_8))
            + "\n"
            + "sub/data.csv\0"
            + sha256("a,b\n1,2\n".getBytes(StandardCharsets.UTF_8))
            + "\n";
    assertThat(s.sha256()).isEqualTo(sha256(listing.getBytes(StandardCharsets.UTF_8)));
    assertThat(s.kind()).isEqualTo("dir");
    Path got = there().local(s.sha256());
    assertThat(Files.readString(got.resolve("index.html"))).isEqualTo("<p>hi</p>");
    assertThat(Files.readString(got.resolve("sub/data.csv"))).isEqualTo("a,b\n1,2\n");
  }

  @Test
  void storingTheSameContentTwiceGivesTheSameAddress() throws Exception {
    ArtifactStore.Stored a = here().put(write("a.txt", "same"));
    ArtifactStore.Stored b = there().put(write("b.txt", "same"));
    assertThat(b.sha256()).isEqualTo(a.sha256());
    assertThat(Files.readString(here().local(a.sha256()))).isEqualTo("same");
  }

  @Test
  void contentNeverStoredIsNotThereAndSaysWhich() throws Exception {
    String sha = sha256("never stored".getBytes(StandardCharsets.UTF_8));
    assertThat(here().exists(sha)).isFalse();
    assertThatThrownBy(() -> here().local(sha))
        .isInstanceOf(IOException.class)
        .hasMessageContaining(sha);
  }

  @Test
  void aLinkIsRefused() throws Exception {
    Path target = write("real.txt", "x");
    Path link = Files.createSymbolicLink(tmp.resolve("link.txt"), target);
    assertThatThrownBy(() -> here().put(link)).hasMessageContaining("symbolic link");
  }

  @Test
  void aPathHandedOutByOneHostIsFetchedByAnother() throws Exception {
    ArtifactStore.Stored s = here().put(write("in.txt", "input"));
    // A run hands steps the path where the content lives on the host that planned them.
    Path got = there().local(here().path(s.sha256()));
    assertThat(Files.readString(got)).isEqualTo("input");
  }

  @Test
  void aBigFileIsStreamedBothWaysIntact() throws Exception {
    // Past the multipart threshold of the S3 store: five parts, the last one short.
    long size = S3Upload.MULTIPART_FROM + 3 * S3Upload.PART / 2 + 12_345;
    Path f = tmp.resolve("big.bin");
    MessageDigest md = MessageDigest.getInstance("SHA-256");
    Random random = new Random(17);
    byte[] buf = new byte[1 << 20];
    try (OutputStream out = Files.newOutputStream(f)) {
      for (long left = size; left > 0; ) {
        random.nextBytes(buf);
        int n = (int) Math.min(buf.length, left);
        out.write(buf, 0, n);
        md.update(buf, 0, n);
        left -= n;
      }
    }
    String expected = HexFormat.of().formatHex(md.digest());

    ArtifactStore.Stored s = here().put(f);
    assertThat(s.sha256()).isEqualTo(expected);
    Path got = there().local(expected);
    assertThat(Files.size(got)).isEqualTo(size);
    assertThat(ArtifactStore.sha256(got)).isEqualTo(expected);
  }

  Path write(String name, String content) throws IOException {
    Path p = tmp.resolve("src").resolve(name);
    Files.createDirectories(p.getParent());
    return Files.writeString(p, content);
  }

  static String sha256(byte[] b) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
  }
}
