package dev.kiln.dsl.expr;

import java.util.List;

/**
 * The syntax tree of one {@code ${{ }}} expression. Evaluation never calls out except through the
 * {@link Resolver}, so an expression can read data but cannot do anything.
 */
public sealed interface Expr {
  Object eval(Resolver resolver) throws EvalException;

  /** A string, number (Long or Double), boolean or null written in the expression. */
  record Literal(Object value) implements Expr {
    @Override
    public Object eval(Resolver resolver) {
      return value;
    }
  }

  /** A dotted reference such as {@code steps.train.outputs.model}; column is its 0-based offset. */
  record Ref(List<String> path, int column) implements Expr {
    public Ref {
      path = List.copyOf(path);
    }

    @Override
    public Object eval(Resolver resolver) throws EvalException {
      return resolver.resolve(path);
    }

    public String dotted() {
      return String.join(".", path);
    }
  }

  record Not(Expr operand) implements Expr {
    @Override
    public Object eval(Resolver resolver) throws EvalException {
      return !Values.truthy(operand.eval(resolver));
    }
  }

  /** {@code a && b && c} kept flat, so long chains evaluate without deep recursion. */
  record And(List<Expr> operands) implements Expr {
    public And {
      operands = List.copyOf(operands);
    }

    @Override
    public Object eval(Resolver resolver) throws EvalException {
      for (Expr e : operands) {
        if (!Values.truthy(e.eval(resolver))) {
          return false;
        }
      }
      return true;
    }
  }

  record Or(List<Expr> operands) implements Expr {
    public Or {
      operands = List.copyOf(operands);
    }

    @Override
    public Object eval(Resolver resolver) throws EvalException {
      for (Expr e : operands) {
        if (Values.truthy(e.eval(resolver))) {
          return true;
        }
      }
      return false;
    }
  }

  record Compare(Op op, Expr left, Expr right) implements Expr {
    @Override
    public Object eval(Resolver resolver) throws EvalException {
      Object a = left.eval(resolver);
      Object b = right.eval(resolver);
      return switch (op) {
        case EQ -> Values.equal(a, b);
        case NE -> !Values.equal(a, b);
        case LT -> Values.compare(a, b) < 0;
        case LE -> Values.compare(a, b) <= 0;
        case GT -> Values.compare(a, b) > 0;
        case GE -> Values.compare(a, b) >= 0;
      };
    }
  }

  enum Op {
    EQ("=="),
    NE("!="),
    LT("<"),
    LE("<="),
    GT(">"),
    GE(">=");

    private final String symbol;

    Op(String symbol) {
      this.symbol = symbol;
    }

    public String symbol() {
      return symbol;
    }
  }
}
