package dev.kiln.engine.artifact;

import dev.kiln.engine.config.ConfigException;
import dev.kiln.engine.config.S3Settings;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsSessionCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.http.apache.ApacheHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3ClientBuilder;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Exception;

/**
 * Artifacts in an S3-compatible object store, under {@code PREFIX/sha256/AB/ABCD...} as in the
 * local layout. The local folder is this host's copy: {@link #put} keeps one there and uploads what
 * the bucket lacks; {@link #local} downloads what this host lacks, verifying the sha256 as it
 * streams. A folder is one object holding its listing (whose sha256 is the folder's address, so it
 * verifies like any blob) plus one object per file, uploaded before the listing.
 */
public final class S3ArtifactStore implements ArtifactStore {
  /** Attempts of one download (resumed where it broke off) before the step fails. */
  static final int DOWNLOAD_ATTEMPTS = 5;

  private static final String KIND = "kiln-kind";

  private final S3Client client;
  private final S3Settings settings;
  private final LocalArtifactStore cache;
  private final S3Upload upload;

  S3ArtifactStore(S3Client client, S3Settings settings, LocalArtifactStore cache) {
    this.client = client;
    this.settings = settings;
    this.cache = cache;
    this.upload = new S3Upload(client, settings.bucket());
  }

  /** Connects and checks bucket and credentials now, so a wrong setting fails at start. */
  public static S3ArtifactStore open(S3Settings settings, LocalArtifactStore cache) {
    S3Client client = client(settings);
    try {
      client.headBucket(b -> b.bucket(settings.bucket()));
    } catch (SdkException e) {
      client.close();
      throw new ConfigException(openProblem(settings, e), e);
    }
    return new S3ArtifactStore(client, settings, cache);
  }

  static S3Client client(S3Settings s) {
    S3ClientBuilder b =
        S3Client.builder()
            .region(Region.of(s.region()))
            .httpClientBuilder(
                ApacheHttpClient.builder()
                    .maxConnections(16)
                    .connectionTimeout(Duration.ofSeconds(10))
                    .socketTimeout(Duration.ofSeconds(60)))
            // The SDK itself retries throttling, 5xx and broken connections, with backoff.
            .overrideConfiguration(o -> o.retryStrategy(r -> r.maxAttempts(5)));
    if (s.endpoint() != null) {
      b.endpointOverride(s.endpoint()).forcePathStyle(true);
    }
    if (s.accessKey() != null) {
      b.credentialsProvider(
          StaticCredentialsProvider.create(
              s.sessionToken() == null
                  ? AwsBasicCredentials.create(s.accessKey(), s.secretKey())
                  : AwsSessionCredentials.create(s.accessKey(), s.secretKey(), s.sessionToken())));
    }
    return b.build();
  }

  private static String openProblem(S3Settings s, SdkException e) {
    String where = "KILN_ARTIFACTS=" + s.url();
    if (e instanceof S3Exception se) {
      return switch (se.statusCode()) {
        case 403 ->
            where
                + ": access denied (check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, and that"
                + " they may read and write the bucket)";
        case 404 -> where + ": bucket '" + s.bucket() + "' does not exist";
        case 301 -> where + ": the bucket is in another region than AWS_REGION=" + s.region();
        default -> where + ": the store refused (HTTP " + se.statusCode() + "): " + oneLine(se);
      };
    }
    return where
        + ": cannot reach the store"
        + (s.endpoint() == null ? "" : " at KILN_S3_ENDPOINT=" + s.endpoint())
        + ": "
        + oneLine(e);
  }

  /** Where this store keeps its objects (a Kubernetes step's pod is given the same). */
  public S3Settings settings() {
    return settings;
  }

  @Override
  public Path path(String sha256) {
    return cache.path(sha256);
  }

  @Override
  public Stored put(Path source) throws IOException {
    Stored stored = cache.put(source);
    try {
      if (!remoteExists(stored.sha256())) {
        if ("dir".equals(stored.kind())) {
          putDir(stored);
        } else {
          upload.file(stored.path(), key(stored.sha256()), Map.of());
        }
      }
    } catch (SdkException e) {
      throw new IOException(
          "cannot store artifact "
              + source.getFileName()
              + " in "
              + settings.url()
              + ": "
              + oneLine(e),
          e);
    }
    return stored;
  }

  private void putDir(Stored stored) throws IOException {
    Digests.Listing listing = Digests.listing(stored.path());
    for (Digests.Entry e : listing.entries()) {
      if (!remoteExists(e.sha256())) {
        upload.file(stored.path().resolve(e.path()), key(e.sha256()), Map.of());
      }
    }
    // The listing last: a folder object is there only once every file it names is.
    upload.bytes(listing.text(), key(stored.sha256()), Map.of(KIND, "dir"));
  }

  @Override
  public boolean exists(String sha256) throws IOException {
    try {
      return remoteExists(sha256);
    } catch (SdkException e) {
      throw new IOException("cannot reach " + settings.url() + ": " + oneLine(e), e);
    }
  }

  private boolean remoteExists(String sha256) {
    try {
      client.headObject(h -> h.bucket(settings.bucket()).key(key(sha256)));
      return true;
    } catch (NoSuchKeyException e) {
      return false;
    } catch (S3Exception e) {
      if (e.statusCode() == 404) {
        return false;
      }
      throw e;
    }
  }

  @Override
  public Path local(String sha256) throws IOException {
    Path target = cache.path(sha256);
    if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
      return target;
    }
    Path tmp = cache.temporary(sha256);
    try {
      download(sha256, tmp, true);
      LocalArtifactStore.moveIntoPlace(tmp, target);
    } finally {
      ArtifactStore.deleteTree(tmp);
    }
    return target;
  }

  /**
   * Streams the object for {@code sha256} into {@code target}, hashing as it goes; resumes a broken
   * transfer from where it stopped. A folder (allowed only at the top) becomes a folder of files.
   */
  private void download(String sha256, Path target, boolean folderAllowed) throws IOException {
    MessageDigest md = Digests.digest();
    long have = 0;
    for (int attempt = 1; ; attempt++) {
      String range = have == 0 ? null : "bytes=" + have + "-";
      GetObjectRequest req =
          GetObjectRequest.builder()
              .bucket(settings.bucket())
              .key(key(sha256))
              .range(range)
              .build();
      try (ResponseInputStream<GetObjectResponse> in = client.getObject(req)) {
        if (have == 0 && "dir".equals(in.response().metadata().get(KIND))) {
          if (!folderAllowed) {
            throw new IOException("artifact sha256 " + sha256 + " is a folder inside a folder");
          }
          downloadDir(sha256, in.readAllBytes(), target);
          return;
        }
        if (have > 0 && in.response().contentRange() == null) {
          // The store ignored the range and sent everything: start the file over.
          md.reset();
          have = 0;
        }
        have += copy(in, target, md, have > 0);
        break;
      } catch (PartialRead e) {
        have += e.bytes;
        if (attempt >= DOWNLOAD_ATTEMPTS) {
          throw new IOException(cannotDownload(sha256, e.getCause()), e.getCause());
        }
        backOff(attempt);
      } catch (NoSuchKeyException e) {
        throw new IOException("artifact sha256 " + sha256 + " is not in " + settings.url(), e);
      } catch (SdkClientException e) {
        if (attempt >= DOWNLOAD_ATTEMPTS) {
          throw new IOException(cannotDownload(sha256, e), e);
        }
        backOff(attempt);
      } catch (S3Exception e) {
        throw new IOException(cannotDownload(sha256, e), e);
      }
    }
    String got = Digests.hex(md);
    if (!got.equals(sha256)) {
      throw corrupt(sha256, got);
    }
  }

  private void downloadDir(String sha256, byte[] listing, Path target) throws IOException {
    MessageDigest md = Digests.digest();
    md.update(listing);
    String got = Digests.hex(md);
    if (!got.equals(sha256)) {
      throw corrupt(sha256, got);
    }
    List<Digests.Entry> entries = Digests.parse(listing);
    Files.createDirectories(target);
    for (Digests.Entry e : entries) {
      Path to = target.resolve(e.path());
      Files.createDirectories(to.getParent());
      download(e.sha256(), to, false);
    }
  }

  private String cannotDownload(String sha256, Throwable e) {
    return "cannot download artifact sha256 "
        + sha256
        + " from "
        + settings.url()
        + ": "
        + oneLine(e);
  }

  /** A transfer broke off after {@code bytes} were written and hashed. */
  private static final class PartialRead extends IOException {
    final long bytes;

    PartialRead(long bytes, IOException cause) {
      super(cause.getMessage(), cause);
      this.bytes = bytes;
    }
  }

  private IOException corrupt(String sha256, String got) {
    return new IOException(
        "artifact "
            + describe(sha256)
            + " is corrupt: its content has sha256 "
            + got
            + " (the stored copy was changed or damaged)");
  }

  private static long copy(InputStream in, Path to, MessageDigest md, boolean append)
      throws IOException {
    byte[] buf = new byte[Digests.BUFFER];
    long n = 0;
    try (OutputStream out =
        append ? Files.newOutputStream(to, StandardOpenOption.APPEND) : Files.newOutputStream(to)) {
      for (int r; (r = in.read(buf)) > 0; ) {
        out.write(buf, 0, r);
        // Hashed only once written: a broken read resumes after exactly what is in the file.
        md.update(buf, 0, r);
        n += r;
      }
    } catch (IOException e) {
      throw new PartialRead(n, e);
    }
    return n;
  }

  /**
   * Removes the object (a folder: its listing; the objects of its files may be shared with other
   * content and stay) and this host's copy, unless either was stored after {@code notSince}.
   */
  @Override
  public boolean delete(String sha256, Instant notSince) throws IOException {
    try {
      Instant stored;
      try {
        stored =
            client.headObject(h -> h.bucket(settings.bucket()).key(key(sha256))).lastModified();
      } catch (S3Exception e) {
        if (e.statusCode() != 404) {
          throw e;
        }
        return cache.delete(sha256, notSince);
      }
      if (stored.isAfter(notSince) || (cache.exists(sha256) && !cache.stale(sha256, notSince))) {
        return false;
      }
      client.deleteObject(d -> d.bucket(settings.bucket()).key(key(sha256)));
      cache.delete(sha256, notSince);
      return true;
    } catch (SdkException e) {
      throw new IOException("cannot delete " + describe(sha256) + ": " + oneLine(e), e);
    }
  }

  @Override
  public String describe(String sha256) {
    return "s3://" + settings.bucket() + "/" + key(sha256);
  }

  String key(String sha256) {
    String k = "sha256/" + sha256.substring(0, 2) + "/" + sha256;
    return settings.prefix().isEmpty() ? k : settings.prefix() + "/" + k;
  }

  @Override
  public void close() {
    upload.close();
    client.close();
  }

  private static void backOff(int attempt) throws IOException {
    try {
      Thread.sleep(Math.min(200L << attempt, 5_000L));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while retrying a download", e);
    }
  }

  static String oneLine(Throwable e) {
    String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    int nl = m.indexOf('\n');
    return nl < 0 ? m : m.substring(0, nl);
  }
}
