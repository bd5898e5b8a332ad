"""A small, safe evaluator for ComfyMathExpression: numbers, variables, + - * / // % **,
unary signs, parentheses and a few functions. It walks Python's `ast` and refuses
every other node (attributes, subscripts, lambdas, strings...), so nothing but
arithmetic can run. Never eval/exec."""
from __future__ import annotations

import ast
import math
import operator

MAX_LENGTH = 1000
MAX_EXPONENT = 1000

BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
          ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
          ast.Pow: operator.pow}
UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos}


def _round(value, digits=0):
    return round(value, int(digits)) if digits else round(value)


FUNCTIONS = {"min": min, "max": max, "abs": abs, "round": _round, "floor": math.floor,
             "ceil": math.ceil, "sqrt": math.sqrt}


class ExpressionError(ValueError):
    pass


def evaluate(expression: str, names: dict):
    """The value of `expression` with `names` bound (numbers only)."""
    if not isinstance(expression, str) or not expression.strip():
        raise ExpressionError("the expression is empty")
    if len(expression) > MAX_LENGTH:
        raise ExpressionError(f"the expression is longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as error:
        raise ExpressionError(f"cannot read {expression!r} ({error.msg})") from None
    return _eval(tree.body, names)


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _eval(node, names):
    if isinstance(node, ast.Constant):
        if not _number(node.value):
            raise ExpressionError(f"only numbers are allowed, got {node.value!r}")
        return node.value
    if isinstance(node, ast.Name):
        if node.id not in names:
            raise ExpressionError(f"unknown name '{node.id}'")
        return names[node.id]
    if isinstance(node, ast.UnaryOp) and type(node.op) in UNARY:
        return UNARY[type(node.op)](_eval(node.operand, names))
    if isinstance(node, ast.BinOp) and type(node.op) in BINARY:
        left, right = _eval(node.left, names), _eval(node.right, names)
        if isinstance(node.op, ast.Pow) and abs(right) > MAX_EXPONENT:
            raise ExpressionError(f"the exponent {right} is larger than {MAX_EXPONENT}")
        try:
            result = BINARY[type(node.op)](left, right)
        except ZeroDivisionError:
            raise ExpressionError("division by zero") from None
        except OverflowError:
            raise ExpressionError("the result is too large") from None
        if isinstance(result, complex):
            raise ExpressionError("the result is not a real number")
        return result
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
        function = FUNCTIONS.get(node.func.id)
        if function is None:
            raise ExpressionError(f"unknown function '{node.func.id}' (allowed: {', '.join(FUNCTIONS)})")
        args = [_eval(arg, names) for arg in node.args]
        try:
            return function(*args)
        except (TypeError, ValueError) as error:
            raise ExpressionError(f"{node.func.id}(): {error}") from None
    raise ExpressionError(f"'{ast.unparse(node)}' is not allowed (numbers, + - * / // % **, "
                          f"parentheses and {', '.join(FUNCTIONS)} only)")
