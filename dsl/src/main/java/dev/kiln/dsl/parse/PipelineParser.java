package dev.kiln.dsl.parse;

import dev.kiln.dsl.model.Pipeline;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;

/**
 * YAML text to a validated {@link Pipeline}, or every problem with it. Never throws for bad input:
 * unreadable, binary, empty, oversized and malicious files all come back as problems.
 */
public final class PipelineParser {
  /** Pipelines are small; anything larger is a mistake or an attack, refused before parsing. */
  public static final int MAX_BYTES = 2 * 1024 * 1024;

  static final int MAX_CHARS = MAX_BYTES;

  private PipelineParser() {}

  public static ParseResult parse(Path file) {
    return parse(file, Catalogue.NONE);
  }

  /** {@link #parse(Path)}, checking {@code uses:} and {@code with:} against the built-ins. */
  public static ParseResult parse(Path file, Catalogue builtins) {
    return parse(file, file.toString(), builtins);
  }

  /** {@link #parse(Path, Catalogue)} of {@code file}, reported as {@code name}. */
  public static ParseResult parse(Path file, String name, Catalogue builtins) {
    byte[] bytes;
    try {
      if (Files.isDirectory(file)) {
        return fileProblem(name, "not a file but a directory");
      }
      long size = Files.size(file);
      if (size > MAX_BYTES) {
        return fileProblem(name, tooLarge(size));
      }
      bytes = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      return fileProblem(name, "no such file");
    } catch (AccessDeniedException e) {
      return fileProblem(name, "permission denied");
    } catch (IOException e) {
      return fileProblem(name, "cannot read the file: " + e.getMessage());
    }
    if (bytes.length > MAX_BYTES) { // the file grew between size() and the read
      return fileProblem(name, tooLarge(bytes.length));
    }
    for (int i = 0; i < bytes.length; i++) {
      if (bytes[i] == 0) {
        return fileProblem(name, binary());
      }
    }
    String text;
    try {
      text =
          StandardCharsets.UTF_8
              .newDecoder()
              .onMalformedInput(CodingErrorAction.REPORT)
              .onUnmappableCharacter(CodingErrorAction.REPORT)
              .decode(ByteBuffer.wrap(bytes))
              .toString();
    } catch (CharacterCodingException e) {
      return fileProblem(name, "not UTF-8 text (a binary file?); a pipeline is YAML text in UTF-8");
    }
    return parse(name, text, builtins);
  }

  public static ParseResult parse(String fileName, String text) {
    return parse(fileName, text, Catalogue.NONE);
  }

  /** {@link #parse(String, String)}, checking {@code uses:} and {@code with:} against built-ins. */
  public static ParseResult parse(String fileName, String text, Catalogue builtins) {
    if (fileName == null) {
      fileName = "<input>";
    }
    Problems problems = new Problems(fileName);
    if (text == null || text.isBlank()) {
      return fileProblem(fileName, "empty file: a pipeline needs at least 'name' and 'steps'");
    }
    if (text.length() > MAX_CHARS) {
      return fileProblem(fileName, tooLarge(text.length()));
    }
    if (text.indexOf('\0') >= 0) {
      return fileProblem(fileName, binary());
    }
    String body = text.charAt(0) == '\uFEFF' ? text.substring(1) : text;
    YNode root = YamlLoader.load(body, problems);
    Pipeline pipeline =
        root == null ? null : PipelineBinder.bind(fileName, body, root, problems, builtins);
    if (pipeline == null || !problems.isEmpty()) {
      return ParseResult.failed(problems.sorted());
    }
    return ParseResult.of(pipeline);
  }

  private static ParseResult fileProblem(String file, String message) {
    return ParseResult.failed(List.of(Problem.ofFile(file, message)));
  }

  private static String tooLarge(long size) {
    return "file too large ("
        + size
        + " bytes); the limit is "
        + (MAX_BYTES / 1024 / 1024)
        + " MiB";
  }

  private static String binary() {
    return "binary file (contains NUL bytes); a pipeline is YAML text in UTF-8";
  }
}
