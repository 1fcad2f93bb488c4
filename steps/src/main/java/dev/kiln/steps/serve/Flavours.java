package dev.kiln.steps.serve;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/** Which runtime serves a model artifact, told from its content. */
final class Flavours {
  private Flavours() {}

  /** A model the packager cannot serve: unknown or not yet supported flavour. */
  static final class Unsupported extends Exception {
    Unsupported(String message) {
      super(message);
    }
  }

  /** The flavour of a model file: tribuo, or sklearn (a pickle); anything else is refused. */
  static String detect(Path artifact) throws Unsupported, IOException {
    if (!Files.isRegularFile(artifact)) {
      throw new Unsupported(
          "the artifact is a folder; only single-file models (Tribuo, scikit-learn) are served");
    }
    byte[] head = new byte[2];
    try (InputStream in = Files.newInputStream(artifact)) {
      int n = in.readNBytes(head, 0, 2);
      if (n == 2 && (head[0] & 0xff) == 0x80 && head[1] >= 2 && head[1] <= 5) {
        return "sklearn";
      }
    }
    try {
      TribuoModel.load(artifact);
      return TribuoModel.FLAVOUR;
    } catch (IOException e) {
      throw new Unsupported("unknown model flavour: not a Tribuo model nor a Python pickle");
    }
  }

  static ServedModel load(String flavour, Path artifact) throws IOException {
    if (TribuoModel.FLAVOUR.equals(flavour)) {
      return TribuoModel.load(artifact);
    }
    throw new IOException("flavour '" + flavour + "' cannot be served by the JVM predict server");
  }
}
