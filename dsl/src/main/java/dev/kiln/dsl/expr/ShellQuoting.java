package dev.kiln.dsl.expr;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * Follows the quoting of POSIX sh text, character by character, so that a reference to an
 * environment variable can be inserted anywhere and expand to exactly the variable's value, as one
 * word. Whatever the lexer gets wrong, the inserted text is a parameter expansion, whose result the
 * shell never parses again: a wrong state costs word splitting, never code execution.
 *
 * <p>Tracked: backslash escapes (outside quotes and inside double quotes), '...', "...", $'...'
 * (treated as single-quoted, with its backslash escapes), comments, $( ... ) (a fresh quoting
 * context inside, also within double quotes) and here-documents (unquoted: expanded like double
 * quotes; quoted: no expansion at all, so no reference can work there).
 */
final class ShellQuoting {
  private enum Mode {
    OUT,
    DOUBLE,
    SINGLE,
    DOLLAR_SINGLE,
    COMMENT,
    HEREDOC,
    ARITHMETIC
  }

  /** One quoting context; {@code $(} starts a new one, its {@code )} returns to the outer one. */
  private static final class Context {
    Mode mode = Mode.OUT;
    int parens; // open '(' inside a $( ... ) context, so ')' of a subshell does not end it
  }

  private record Heredoc(String delimiter, boolean quoted, boolean stripTabs) {}

  private final Deque<Context> stack = new ArrayDeque<>();
  private boolean escaped;
  private boolean skipNext; // the second character of "$(" or "$'", already acted upon
  private boolean skipSecond; // and the third of "$(("
  private char previous = '\n';
  private final List<Heredoc> pendingHeredocs = new ArrayList<>();
  private Heredoc heredoc; // the here-document whose body is being read
  private final StringBuilder line = new StringBuilder();
  private boolean lineHasReference;

  ShellQuoting() {
    stack.push(new Context());
  }

  /** Advances over literal shell text. */
  void feed(String text) {
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      step(c, i + 1 < text.length() ? text.charAt(i + 1) : '\0', text, i);
      previous = c;
    }
  }

  /**
   * The text to insert here so that {@code $var} expands to its value as one word.
   *
   * @throws EvalException where no reference can be inserted safely
   */
  String reference(String var) throws EvalException {
    if (escaped) {
      throw new EvalException(
          "a backslash right before ${{ }} in 'run' would escape the quoting Kiln adds; remove it");
    }
    Context ctx = stack.peek();
    String ref = "${" + var + "}";
    if (heredoc != null) {
      if (heredoc.quoted()) {
        throw new EvalException(
            "${{ }} inside the quoted here-document <<'"
                + heredoc.delimiter()
                + "' cannot be expanded by the shell; use an unquoted delimiter (<<"
                + heredoc.delimiter()
                + ") or pass the value through env:");
      }
      lineHasReference = true;
      return ref;
    }
    previous = 'x'; // a reference is a word character for what follows ('#' is then no comment)
    return switch (ctx.mode) {
      case OUT -> "\"" + ref + "\"";
      case DOUBLE -> ref;
      case SINGLE -> "'\"" + ref + "\"'";
      case DOLLAR_SINGLE -> "'\"" + ref + "\"$'";
      case COMMENT, HEREDOC, ARITHMETIC -> ref;
    };
  }

  /**
   * True inside {@code $(( ))}: the shell evaluates a variable's value there as an arithmetic
   * expression (in bash that can run commands), so the caller must pass a number only.
   */
  boolean arithmetic() {
    return heredoc == null && stack.peek().mode == Mode.ARITHMETIC;
  }

  private void step(char c, char next, String text, int i) {
    if (heredoc != null) {
      heredocChar(c);
      return;
    }
    Context ctx = stack.peek();
    if (skipNext) {
      skipNext = skipSecond;
      skipSecond = false;
      return;
    }
    if (escaped) {
      escaped = false;
      return;
    }
    switch (ctx.mode) {
      case OUT -> outside(ctx, c, next, text, i);
      case DOUBLE -> {
        if (c == '\\') {
          escaped = true;
        } else if (c == '"') {
          ctx.mode = Mode.OUT;
        } else if (c == '$' && next == '(') {
          openSubstitution(text, i);
        }
      }
      case ARITHMETIC -> {
        if (c == '(') {
          ctx.parens++;
        } else if (c == ')') {
          if (ctx.parens > 0) {
            ctx.parens--;
          } else {
            stack.pop();
            skipNext = true; // the second ')' of '))'
          }
        }
      }
      case SINGLE -> {
        if (c == '\'') {
          ctx.mode = Mode.OUT;
        }
      }
      case DOLLAR_SINGLE -> {
        if (c == '\\') {
          escaped = true;
        } else if (c == '\'') {
          ctx.mode = Mode.OUT;
        }
      }
      case COMMENT -> {
        if (c == '\n') {
          ctx.mode = Mode.OUT;
          newline();
        }
      }
      case HEREDOC -> {}
    }
  }

  private void outside(Context ctx, char c, char next, String text, int i) {
    switch (c) {
      case '\\' -> escaped = true;
      case '\'' -> ctx.mode = Mode.SINGLE;
      case '"' -> ctx.mode = Mode.DOUBLE;
      case '$' -> {
        if (next == '\'') {
          ctx.mode = Mode.DOLLAR_SINGLE;
          skipNext = true;
        } else if (next == '(') {
          openSubstitution(text, i);
        }
      }
      case '(' -> ctx.parens++;
      case ')' -> {
        if (ctx.parens > 0) {
          ctx.parens--;
        } else if (stack.size() > 1) {
          stack.pop();
        }
      }
      case '#' -> {
        if (isWordStart(previous)) {
          ctx.mode = Mode.COMMENT;
        }
      }
      case '<' -> {
        boolean hereString = i + 2 < text.length() && text.charAt(i + 2) == '<';
        if (next == '<' && previous != '<' && !hereString) {
          readHeredocOperator(text, i + 2);
        }
      }
      case '\n' -> newline();
      default -> {}
    }
  }

  /** {@code $(} starts a command substitution, {@code $((} an arithmetic expansion. */
  private void openSubstitution(String text, int i) {
    Context inner = new Context();
    skipNext = true;
    if (i + 2 < text.length() && text.charAt(i + 2) == '(') {
      inner.mode = Mode.ARITHMETIC;
      skipSecond = true;
    }
    stack.push(inner);
  }

  /** Records the delimiter of {@code <<WORD}, {@code <<-WORD}, {@code <<'WORD'}, {@code <<"W"}. */
  private void readHeredocOperator(String text, int from) {
    int j = from;
    boolean strip = false;
    if (j < text.length() && text.charAt(j) == '-') {
      strip = true;
      j++;
    }
    while (j < text.length() && (text.charAt(j) == ' ' || text.charAt(j) == '\t')) {
      j++;
    }
    StringBuilder word = new StringBuilder();
    boolean quoted = false;
    while (j < text.length()) {
      char w = text.charAt(j);
      if (w == '\'' || w == '"' || w == '\\') {
        quoted = true;
      } else if (Character.isWhitespace(w) || ";&|<>()".indexOf(w) >= 0) {
        break;
      } else {
        word.append(w);
      }
      j++;
    }
    if (!word.isEmpty()) {
      pendingHeredocs.add(new Heredoc(word.toString(), quoted, strip));
    }
  }

  private void newline() {
    if (!pendingHeredocs.isEmpty()) {
      heredoc = pendingHeredocs.remove(0);
      line.setLength(0);
      lineHasReference = false;
    }
  }

  private void heredocChar(char c) {
    if (c != '\n') {
      line.append(c);
      return;
    }
    String l = heredoc.stripTabs() ? line.toString().replaceFirst("^\t+", "") : line.toString();
    line.setLength(0);
    boolean end = !lineHasReference && l.equals(heredoc.delimiter());
    lineHasReference = false;
    if (end) {
      heredoc = null;
      newline(); // the next pending here-document, if the line had several
    }
  }

  private static boolean isWordStart(char previous) {
    return Character.isWhitespace(previous) || ";&|()".indexOf(previous) >= 0;
  }
}
