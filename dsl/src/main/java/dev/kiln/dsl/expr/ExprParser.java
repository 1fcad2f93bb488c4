package dev.kiln.dsl.expr;

import dev.kiln.dsl.expr.Lexer.Kind;
import dev.kiln.dsl.expr.Lexer.Token;
import java.util.ArrayList;
import java.util.List;

/**
 * Recursive-descent parser for expressions, one method per precedence level: {@code ||} < {@code
 * &&} < {@code == !=} < {@code < <= > >=} < {@code !} < primary. Comparisons do not chain ({@code a
 * == b == c} is an error) because no reading of it is obvious. Nesting is capped so a hostile
 * {@code ((((...} fails with a message, not a stack overflow.
 */
final class ExprParser {
  static final int MAX_DEPTH = 32;

  /** An expression and the offset just past its closing {@code }}}. */
  record Parsed(Expr expr, int end) {}

  private final String src;
  private final int open; // offset of "${{" in template mode, -1 for a bare expression
  private final Lexer lexer;
  private int depth;
  private Token tok;
  private Token prev;

  private ExprParser(String src, int start, int open) {
    this.src = src;
    this.open = open;
    this.lexer = new Lexer(src, start, open);
  }

  /**
   * Parses the expression after a {@code ${{} at {@code open}, up to and including its {@code }}}.
   */
  static Parsed inTemplate(String src, int open) throws ExprException {
    ExprParser p = new ExprParser(src, open + 3, open);
    Expr e = p.parseWhole();
    return new Parsed(e, p.tok.end());
  }

  /** Parses a whole string as one expression. */
  static Expr bare(String src) throws ExprException {
    return new ExprParser(src, 0, -1).parseWhole();
  }

  private Expr parseWhole() throws ExprException {
    advance();
    if (tok.kind() == Kind.CLOSE || tok.kind() == Kind.EOF) {
      throw new ExprException("empty expression", open >= 0 ? open : tok.start());
    }
    Expr e = parseOr();
    Kind end = open >= 0 ? Kind.CLOSE : Kind.EOF;
    if (tok.kind() != end) {
      throw unexpected(tok);
    }
    return e;
  }

  private Expr parseOr() throws ExprException {
    Expr first = parseAnd();
    if (!isOp("||")) {
      return first;
    }
    List<Expr> operands = new ArrayList<>();
    operands.add(first);
    while (isOp("||")) {
      advance();
      operands.add(parseAnd());
    }
    return new Expr.Or(operands);
  }

  private Expr parseAnd() throws ExprException {
    Expr first = parseEquality();
    if (!isOp("&&")) {
      return first;
    }
    List<Expr> operands = new ArrayList<>();
    operands.add(first);
    while (isOp("&&")) {
      advance();
      operands.add(parseEquality());
    }
    return new Expr.And(operands);
  }

  private Expr parseEquality() throws ExprException {
    Expr left = parseRelational();
    Expr.Op op = equalityOp();
    if (op == null) {
      return left;
    }
    advance();
    Expr result = new Expr.Compare(op, left, parseRelational());
    if (equalityOp() != null) {
      throw new ExprException(
          "comparisons cannot be chained; use parentheses, e.g. (a == b) == c", tok.start());
    }
    return result;
  }

  private Expr parseRelational() throws ExprException {
    Expr left = parseUnary();
    Expr.Op op = relationalOp();
    if (op == null) {
      return left;
    }
    advance();
    Expr result = new Expr.Compare(op, left, parseUnary());
    if (relationalOp() != null) {
      throw new ExprException(
          "comparisons cannot be chained; use '&&', e.g. a < b && b < c", tok.start());
    }
    return result;
  }

  private Expr parseUnary() throws ExprException {
    // A loop rather than recursion: "!!!!...x" costs no stack.
    int nots = 0;
    while (tok.kind() == Kind.NOT) {
      nots++;
      advance();
    }
    Expr e = parsePrimary();
    // "!!!x" is "!x" and "!!!!x" is "!!x" (a boolean): two levels say all, and keep eval shallow.
    if (nots > 0) {
      e = new Expr.Not(e);
    }
    if (nots > 1 && nots % 2 == 0) {
      e = new Expr.Not(e);
    }
    return e;
  }

  private Expr parsePrimary() throws ExprException {
    Token t = tok;
    switch (t.kind()) {
      case LITERAL -> {
        advance();
        return new Expr.Literal(t.value());
      }
      case PATH -> {
        advance();
        @SuppressWarnings("unchecked")
        List<String> path = (List<String>) t.value();
        return new Expr.Ref(path, t.start());
      }
      case LPAREN -> {
        if (++depth > MAX_DEPTH) {
          throw new ExprException(
              "expression nested too deeply (more than " + MAX_DEPTH + " parentheses)", t.start());
        }
        advance();
        Expr inner = parseOr();
        if (tok.kind() != Kind.RPAREN) {
          throw new ExprException("expected ')' to close '('" + describeFound(tok), tok.start());
        }
        depth--;
        advance();
        return inner;
      }
      case CLOSE, EOF -> {
        String after =
            prev != null && (prev.kind() == Kind.OP || prev.kind() == Kind.NOT)
                ? " after '" + text(prev) + "'"
                : "";
        throw new ExprException("expected a value" + after, t.start());
      }
      default -> throw unexpected(t);
    }
  }

  private boolean isOp(String symbol) {
    return tok.kind() == Kind.OP && tok.value().equals(symbol);
  }

  private Expr.Op equalityOp() {
    if (tok.kind() != Kind.OP) {
      return null;
    }
    return switch ((String) tok.value()) {
      case "==" -> Expr.Op.EQ;
      case "!=" -> Expr.Op.NE;
      default -> null;
    };
  }

  private Expr.Op relationalOp() {
    if (tok.kind() != Kind.OP) {
      return null;
    }
    return switch ((String) tok.value()) {
      case "<" -> Expr.Op.LT;
      case "<=" -> Expr.Op.LE;
      case ">" -> Expr.Op.GT;
      case ">=" -> Expr.Op.GE;
      default -> null;
    };
  }

  private ExprException unexpected(Token t) {
    return switch (t.kind()) {
      case EOF -> new ExprException("unexpected end of expression", t.start());
      case CLOSE -> new ExprException("unexpected '}}'", t.start());
      case PATH, LITERAL ->
          new ExprException(
              "unexpected '" + text(t) + "': expected an operator such as '==' or '&&'", t.start());
      default -> new ExprException("unexpected '" + text(t) + "'", t.start());
    };
  }

  private String describeFound(Token t) {
    return t.kind() == Kind.EOF || t.kind() == Kind.CLOSE ? "" : ", found '" + text(t) + "'";
  }

  private String text(Token t) {
    return src.substring(t.start(), t.end());
  }

  private void advance() throws ExprException {
    prev = tok;
    tok = lexer.next();
  }
}
