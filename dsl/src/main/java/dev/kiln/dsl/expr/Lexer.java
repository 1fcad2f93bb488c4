package dev.kiln.dsl.expr;

import java.util.ArrayList;
import java.util.List;

/**
 * Splits expression text into tokens. In a template it starts after {@code ${{} and ends at the
 * {@code }}} that is not inside a string; a bare expression runs to the end of the text. Offsets
 * are into the whole text, so errors point at the right column.
 */
final class Lexer {
  enum Kind {
    PATH,
    LITERAL,
    OP,
    NOT,
    LPAREN,
    RPAREN,
    CLOSE,
    EOF
  }

  /** {@code value}: the path segments, the literal's value, or the operator's symbol. */
  record Token(Kind kind, int start, int end, Object value) {}

  private final String src;
  private final int open; // offset of "${{" in template mode, -1 for a bare expression
  private int pos;

  Lexer(String src, int start, int open) {
    this.src = src;
    this.pos = start;
    this.open = open;
  }

  Token next() throws ExprException {
    int n = src.length();
    while (pos < n && Character.isWhitespace(src.charAt(pos))) {
      pos++;
    }
    if (pos >= n) {
      if (open >= 0) {
        throw new ExprException("'${{' is not closed with '}}'", open);
      }
      return new Token(Kind.EOF, n, n, "");
    }
    int start = pos;
    char c = src.charAt(pos);
    char next = pos + 1 < n ? src.charAt(pos + 1) : '\0';
    switch (c) {
      case '}':
        if (next == '}' && open >= 0) {
          pos += 2;
          return new Token(Kind.CLOSE, start, pos, "}}");
        }
        throw new ExprException("unexpected '" + c + "'", start);
      case '(':
        pos++;
        return new Token(Kind.LPAREN, start, pos, "(");
      case ')':
        pos++;
        return new Token(Kind.RPAREN, start, pos, ")");
      case '=':
        if (next == '=') {
          return op(start, "==");
        }
        throw new ExprException("unexpected '=' (use '==' to compare)", start);
      case '!':
        if (next == '=') {
          return op(start, "!=");
        }
        pos++;
        return new Token(Kind.NOT, start, pos, "!");
      case '<':
      case '>':
        return op(start, next == '=' ? c + "=" : String.valueOf(c));
      case '&':
        if (next == '&') {
          return op(start, "&&");
        }
        throw new ExprException("unexpected '&' (use '&&')", start);
      case '|':
        if (next == '|') {
          return op(start, "||");
        }
        throw new ExprException("unexpected '|' (use '||')", start);
      case '\'':
      case '"':
        return string(start, c);
      default:
        break;
    }
    if (isDigit(c) || ((c == '-' || c == '+' || c == '.') && startsNumber(pos + 1, c))) {
      return number(start);
    }
    if (isIdentStart(c)) {
      return path(start);
    }
    if (c == '-' || c == '+' || c == '*' || c == '/') {
      throw new ExprException("unexpected '" + c + "': expressions have no arithmetic", start);
    }
    throw new ExprException("unexpected character '" + c + "'", start);
  }

  private Token op(int start, String symbol) {
    pos = start + symbol.length();
    return new Token(Kind.OP, start, pos, symbol);
  }

  private boolean startsNumber(int i, char first) {
    int n = src.length();
    if (first == '.') {
      return i < n && isDigit(src.charAt(i));
    }
    return i < n
        && (isDigit(src.charAt(i))
            || (src.charAt(i) == '.' && i + 1 < n && isDigit(src.charAt(i + 1))));
  }

  private Token string(int start, char quote) throws ExprException {
    StringBuilder sb = new StringBuilder();
    int i = start + 1;
    int n = src.length();
    while (i < n) {
      char ch = src.charAt(i);
      if (ch == quote) {
        pos = i + 1;
        return new Token(Kind.LITERAL, start, pos, sb.toString());
      }
      if (ch == '\\' && i + 1 < n) {
        char esc = src.charAt(i + 1);
        sb.append(
            switch (esc) {
              case 'n' -> '\n';
              case 't' -> '\t';
              case 'r' -> '\r';
              default -> esc;
            });
        i += 2;
        continue;
      }
      sb.append(ch);
      i++;
    }
    throw new ExprException("unterminated string (missing " + quote + ")", start);
  }

  private Token number(int start) throws ExprException {
    int n = src.length();
    int i = start;
    if (src.charAt(i) == '-' || src.charAt(i) == '+') {
      i++;
    }
    boolean fractional = false;
    while (i < n && isDigit(src.charAt(i))) {
      i++;
    }
    if (i < n && src.charAt(i) == '.' && i + 1 < n && isDigit(src.charAt(i + 1))) {
      fractional = true;
      i++;
      while (i < n && isDigit(src.charAt(i))) {
        i++;
      }
    }
    if (i < n && (src.charAt(i) == 'e' || src.charAt(i) == 'E')) {
      int j = i + 1;
      if (j < n && (src.charAt(j) == '+' || src.charAt(j) == '-')) {
        j++;
      }
      if (j < n && isDigit(src.charAt(j))) {
        fractional = true;
        i = j;
        while (i < n && isDigit(src.charAt(i))) {
          i++;
        }
      }
    }
    if (i < n && (isIdentPart(src.charAt(i)) || src.charAt(i) == '.')) {
      throw new ExprException("malformed number '" + src.substring(start, i + 1) + "'", start);
    }
    String text = src.substring(start, i);
    pos = i;
    Object value;
    if (fractional) {
      value = Double.parseDouble(text);
    } else {
      try {
        value = Long.parseLong(text.startsWith("+") ? text.substring(1) : text);
      } catch (NumberFormatException e) {
        value = Double.parseDouble(text); // beyond long range: still a number to compare with
      }
    }
    return new Token(Kind.LITERAL, start, pos, value);
  }

  private Token path(int start) throws ExprException {
    int n = src.length();
    List<String> segments = new ArrayList<>();
    int i = start;
    while (i < n && isIdentPart(src.charAt(i))) {
      i++;
    }
    String first = src.substring(start, i);
    if (i >= n || src.charAt(i) != '.') {
      Object literal =
          switch (first) {
            case "true" -> Boolean.TRUE;
            case "false" -> Boolean.FALSE;
            case "null" -> NullValue.NULL;
            default -> null;
          };
      if (literal != null) {
        pos = i;
        return new Token(Kind.LITERAL, start, pos, literal == NullValue.NULL ? null : literal);
      }
    }
    segments.add(first);
    while (i < n && src.charAt(i) == '.') {
      int segStart = ++i;
      while (i < n && isIdentPart(src.charAt(i))) {
        i++;
      }
      if (i == segStart) {
        throw new ExprException("expected a name after '.'", segStart);
      }
      segments.add(src.substring(segStart, i));
    }
    pos = i;
    return new Token(Kind.PATH, start, pos, segments);
  }

  /** Marks the null literal while scanning; tokens carry the plain null. */
  private enum NullValue {
    NULL
  }

  private static boolean isDigit(char c) {
    return c >= '0' && c <= '9';
  }

  private static boolean isIdentStart(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  }

  private static boolean isIdentPart(char c) {
    return isIdentStart(c) || isDigit(c) || c == '-';
  }
}
