package dev.kiln.engine.artifact;

import dev.kiln.engine.util.DaemonThreads;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.CompletedPart;

/**
 * Uploads from files without holding them in memory: one PUT up to {@link #MULTIPART_FROM}, else a
 * multipart upload of {@link #PART} slices, a few at a time. Each body is a provider that reopens
 * its slice of the file, so the SDK's retries resend a part instead of failing it; an upload that
 * fails for good is aborted, leaving no parts behind.
 */
final class S3Upload implements AutoCloseable {
  static final long MULTIPART_FROM = 64L << 20;
  static final long PART = 16L << 20;
  private static final int PARALLEL = 4;

  private final S3Client client;
  private final String bucket;
  private final ExecutorService parts;

  S3Upload(S3Client client, String bucket) {
    this.client = client;
    this.bucket = bucket;
    this.parts = Executors.newFixedThreadPool(PARALLEL, DaemonThreads.named("kiln-s3-upload"));
  }

  void bytes(byte[] content, String key, Map<String, String> metadata) {
    client.putObject(
        p -> p.bucket(bucket).key(key).contentLength((long) content.length).metadata(metadata),
        RequestBody.fromBytes(content));
  }

  void file(Path file, String key, Map<String, String> metadata) throws IOException {
    long size = Files.size(file);
    if (size < MULTIPART_FROM) {
      client.putObject(
          p -> p.bucket(bucket).key(key).contentLength(size).metadata(metadata),
          RequestBody.fromContentProvider(
              () -> slice(file, 0, size), size, "application/octet-stream"));
      return;
    }
    String id =
        client.createMultipartUpload(c -> c.bucket(bucket).key(key).metadata(metadata)).uploadId();
    try {
      List<Future<CompletedPart>> futures = new ArrayList<>();
      int number = 1;
      for (long off = 0; off < size; off += PART, number++) {
        long offset = off;
        long len = Math.min(PART, size - off);
        int n = number;
        futures.add(
            parts.submit(
                () -> {
                  String etag =
                      client
                          .uploadPart(
                              u ->
                                  u.bucket(bucket)
                                      .key(key)
                                      .uploadId(id)
                                      .partNumber(n)
                                      .contentLength(len),
                              RequestBody.fromContentProvider(
                                  () -> slice(file, offset, len), len, "application/octet-stream"))
                          .eTag();
                  return CompletedPart.builder().partNumber(n).eTag(etag).build();
                }));
      }
      List<CompletedPart> done = new ArrayList<>();
      for (Future<CompletedPart> f : futures) {
        done.add(f.get());
      }
      client.completeMultipartUpload(
          c -> c.bucket(bucket).key(key).uploadId(id).multipartUpload(m -> m.parts(done)));
    } catch (InterruptedException e) {
      abort(key, id);
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while uploading " + key, e);
    } catch (ExecutionException e) {
      abort(key, id);
      if (e.getCause() instanceof SdkException se) {
        throw se;
      }
      throw new IOException(
          "upload of " + key + " failed: " + S3ArtifactStore.oneLine(e.getCause()), e.getCause());
    } catch (SdkException e) {
      abort(key, id);
      throw e;
    }
  }

  private void abort(String key, String id) {
    try {
      client.abortMultipartUpload(a -> a.bucket(bucket).key(key).uploadId(id));
    } catch (SdkException e) {
      // The bucket's lifecycle rule for incomplete uploads is the backstop; say what was left.
      System.getLogger(S3Upload.class.getName())
          .log(
              System.Logger.Level.WARNING,
              "could not abort multipart upload " + id + " of " + key + ": " + e.getMessage());
    }
  }

  /** A stream over {@code len} bytes of {@code file} from {@code offset}; opened per attempt. */
  private static InputStream slice(Path file, long offset, long len) {
    try {
      FileChannel ch = FileChannel.open(file, StandardOpenOption.READ);
      return new InputStream() {
        private long pos = offset;
        private final long end = offset + len;

        @Override
        public int read() throws IOException {
          byte[] one = new byte[1];
          return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int n) throws IOException {
          if (pos >= end) {
            return -1;
          }
          int r = ch.read(ByteBuffer.wrap(b, off, (int) Math.min(n, end - pos)), pos);
          if (r > 0) {
            pos += r;
          }
          return r;
        }

        @Override
        public void close() throws IOException {
          ch.close();
        }
      };
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public void close() {
    parts.shutdownNow();
  }
}
