"""PS3 submission bank: what each kind of submission must score, graded by real nbgrader runs.

Each submission is the RELEASED notebook with every answer cell filled with the model solution
(taken from solutions/ps3/ps3.ipynb), except the answer cells it replaces: so the bank follows
the problem set when it changes, and each entry states only its difference. Small mistakes are
written as a replacement of one line of the model answer (``patched``), which fails loudly if
the model answer no longer contains that line. ``lost`` names the autograded test cells that
must score 0; every other autograded cell must get full marks; ``messages`` gives the key phrase
each failing cell's message must show (the cause it names; a cell that fails only because of an
earlier function names that check first). ``{course_root}`` in a source is
replaced by the grading course's folder. Built by tests/submissions/build.py; graded by
tests/test_grading_pipeline.py.
"""

from __future__ import annotations


import attacks  # tests/submissions/attacks.py: attack code shared by every bank
from entry import Bank  # tests/submissions/entry.py: the bank and its entries, every problem set


BANK = Bank("ps3")
add = BANK.add
MODEL, patched = BANK.model, BANK.patched


# the two lines of the model Jacobian that set every adjoint back to 0 before a sweep
ZEROING = ("        for node in values:  # zero_grad: every node, also those this output does "
           "not reach\n            node.adjoint = 0.0\n")

ENGINE = ("test_local_derivatives", "test_shared_nodes", "test_deep_graphs")
EVERYTHING_WITH_REUSE = ("test_shared_nodes", "test_deep_graphs", "test_domke",
                         "test_normal_logpdf", "test_jacobian", "test_reverse_gradient")

# --------------------------------------------------------------------------- correct styles

add("solution", description="the model solution")

add("alt_kahn", description="correct, another style: math functions, __slots__, Kahn's "
    "algorithm (count the children, a queue) instead of a depth-first sort, a backprop that "
    "resets what it reaches (Lecture 3's style) and a Jacobian that zeroes only the inputs, a "
    "match statement, ** 2 and lists returned",
    answers={
        "answer_node": '''
import math


class Node:
    __slots__ = ("value", "adjoint", "parents")

    def __init__(self, value, parents=()):
        self.value = float(value)
        self.adjoint = 0.0
        self.parents = tuple(parents)

    def __repr__(self):
        return f"Node({self.value!r})"

    def __add__(self, other):
        other = as_node(other)
        return Node(self.value + other.value, [(self, 1.0), (other, 1.0)])

    def __sub__(self, other):
        return self + (-as_node(other))        # a - b = a + (-b)

    def __mul__(self, other):
        other = as_node(other)
        return Node(self.value * other.value, ((self, other.value), (other, self.value)))

    def __truediv__(self, other):
        other = as_node(other)
        return self * other ** -1              # a / b = a * b**(-1)

    def __neg__(self):
        return Node(-self.value, ((self, -1.0),))

    def __pow__(self, p):
        return Node(self.value**p, ((self, p * self.value ** (p - 1)),))

    def __radd__(self, other):
        return as_node(other) + self

    def __rsub__(self, other):
        return as_node(other) - self

    def __rmul__(self, other):
        return as_node(other) * self

    def __rtruediv__(self, other):
        return as_node(other) / self


def as_node(u):
    return u if isinstance(u, Node) else Node(u)


def _unary(function, derivative):
    def apply(u):
        u = as_node(u)
        return Node(function(u.value), ((u, derivative(u.value)),))
    return apply


exp = _unary(math.exp, math.exp)
log = _unary(math.log, lambda u: 1.0 / u)
sin = _unary(math.sin, math.cos)
cos = _unary(math.cos, lambda u: -math.sin(u))
''',
        "answer_backprop": '''
from collections import deque


def topological_order(output):
    """Kahn's algorithm from the output: a node is ready once all its children are done."""
    children = {id(output): 0}
    nodes, stack = [output], [output]
    while stack:  # count, for every reachable node, the edges coming from its children
        node = stack.pop()
        for parent, _ in node.parents:
            if id(parent) not in children:
                children[id(parent)] = 0
                nodes.append(parent)
                stack.append(parent)
            children[id(parent)] += 1
    backward, ready = [], deque([output])
    while ready:
        node = ready.popleft()
        backward.append(node)
        for parent, _ in node.parents:
            children[id(parent)] -= 1
            if children[id(parent)] == 0:
                ready.append(parent)
    return backward[::-1]


def backprop(output):
    order = topological_order(output)
    for node in order:
        node.adjoint = 0.0
    output.adjoint = 1.0
    for node in reversed(order):
        for parent, local in node.parents:
            parent.adjoint += local * node.adjoint
''',
        "answer_programs": '''
def build_graph(program, inputs):
    values = [Node(v) for v in inputs]
    for instruction in program:
        match instruction:
            case ["const", c]:
                new = Node(c)
            case ["pow", i, p]:
                new = values[i] ** p
            case ["neg", i]:
                new = -values[i]
            case [("exp" | "log" | "sin" | "cos") as name, i]:
                new = {"exp": exp, "log": log, "sin": sin, "cos": cos}[name](values[i])
            case ["add", i, j]:
                new = values[i] + values[j]
            case ["sub", i, j]:
                new = values[i] - values[j]
            case ["mul", i, j]:
                new = values[i] * values[j]
            case ["div", i, j]:
                new = values[i] / values[j]
            case _:
                raise ValueError(f"bad instruction {instruction}")
        values.append(new)
    return values


def gradient_of_program(program, inputs):
    values = build_graph(program, inputs)
    backprop(values[-1])
    return values[-1].value, [node.adjoint for node in values[: len(inputs)]]
''',
        "answer_domke": '''
def grad_domke(x):
    x = Node(x)
    a = exp(x)
    c = a + a**2
    backprop(exp(c) + sin(c))
    return x.adjoint
''',
        "answer_normal_logpdf": '''
HALF_LOG_2PI = 0.5 * np.log(2 * np.pi)


def grad_normal_logpdf(y, mu, sigma):
    inputs = [Node(y), Node(mu), Node(sigma)]
    y, mu, sigma = inputs
    f = -((y - mu) / sigma) ** 2 / 2 - log(sigma) - HALF_LOG_2PI
    backprop(f)
    return [v.adjoint for v in inputs]
''',
        "answer_jacobian": '''
def jacobian_of_program(program, inputs, outputs):
    values = build_graph(program, inputs)
    leaves = values[: len(inputs)]
    rows = []
    for k in outputs:
        for leaf in leaves:          # backprop resets what it reaches; unreached inputs: 0
            leaf.adjoint = 0.0
        backprop(values[k])
        rows.append([leaf.adjoint for leaf in leaves])
    return np.array(rows).reshape(len(outputs), len(inputs))
''',
        "answer_reverse_gradient": '''
def reverse_gradient(f, x):
    nodes = list(map(Node, x))
    backprop(f(nodes))
    return [node.adjoint for node in nodes]
''',
    })

add("alt_closures", description="correct, micrograd style: each node keeps a closure that pushes "
    "its adjoint to its parents, a recursion-free post-order with a visited dict, a table of "
    "operations, math.fsum-free plain loops, np.fromiter",
    answers={
        "answer_node": '''
class Node:
    def __init__(self, value, parents=()):
        self.value = float(value)
        self.adjoint = 0.0
        self.parents = tuple(parents)

    def __add__(self, other):
        other = as_node(other)
        return Node(self.value + other.value, [(self, 1.0), (other, 1.0)])

    def __sub__(self, other):
        other = as_node(other)
        return Node(self.value - other.value, [(self, 1.0), (other, -1.0)])

    def __mul__(self, other):
        other = as_node(other)
        return Node(self.value * other.value, [(self, other.value), (other, self.value)])

    def __truediv__(self, other):
        other = as_node(other)
        return Node(self.value / other.value,
                    [(self, 1.0 / other.value), (other, -self.value / other.value**2)])

    def __neg__(self):
        return Node(-self.value, [(self, -1.0)])

    def __pow__(self, p):
        return Node(self.value**p, [(self, p * self.value ** (p - 1))])

    def __radd__(self, other):
        return as_node(other) + self

    def __rsub__(self, other):
        return as_node(other) - self

    def __rmul__(self, other):
        return as_node(other) * self

    def __rtruediv__(self, other):
        return as_node(other) / self

    def push(self):
        """Give each parent its share of this node's (complete) adjoint."""
        for parent, local in self.parents:
            parent.adjoint = parent.adjoint + local * self.adjoint


def as_node(u):
    return u if isinstance(u, Node) else Node(u)


def exp(u):
    u = as_node(u)
    e = np.exp(u.value)
    return Node(e, [(u, e)])


def log(u):
    u = as_node(u)
    return Node(np.log(u.value), [(u, 1 / u.value)])


def sin(u):
    u = as_node(u)
    return Node(np.sin(u.value), [(u, np.cos(u.value))])


def cos(u):
    u = as_node(u)
    return Node(np.cos(u.value), [(u, -1.0 * np.sin(u.value))])
''',
        "answer_backprop": '''
def topological_order(output):
    order, state = [], {}          # state: id -> "open" or "done"
    stack = [output]
    while stack:
        node = stack[-1]
        if state.get(id(node)) == "done":
            stack.pop()
            continue
        state[id(node)] = "open"
        pending = [p for p, _ in node.parents if id(p) not in state]
        if pending:
            stack.extend(pending)
        else:
            stack.pop()
            if state[id(node)] != "done":
                state[id(node)] = "done"
                order.append(node)
    return order


def backprop(output):
    output.adjoint = 1.0
    for node in topological_order(output)[::-1]:
        node.push()
''',
        "answer_programs": '''
OPERATIONS = {
    "add": lambda v, i, j: v[i] + v[j],
    "sub": lambda v, i, j: v[i] - v[j],
    "mul": lambda v, i, j: v[i] * v[j],
    "div": lambda v, i, j: v[i] / v[j],
    "neg": lambda v, i: -v[i],
    "pow": lambda v, i, p: v[i] ** p,
    "exp": lambda v, i: exp(v[i]),
    "log": lambda v, i: log(v[i]),
    "sin": lambda v, i: sin(v[i]),
    "cos": lambda v, i: cos(v[i]),
    "const": lambda v, c: Node(c),
}


def build_graph(program, inputs):
    values = [Node(v) for v in inputs]
    for name, *arguments in program:
        values.append(OPERATIONS[name](values, *arguments))
    return values


def gradient_of_program(program, inputs):
    values = build_graph(program, inputs)
    out = values[-1]
    backprop(out)
    gradient = np.zeros(len(inputs))
    for i in range(len(inputs)):
        gradient[i] = values[i].adjoint
    return float(out.value), gradient
''',
        "answer_jacobian": '''
def jacobian_of_program(program, inputs, outputs):
    values = build_graph(program, inputs)
    jacobian = np.empty((len(outputs), len(inputs)))
    for row in range(len(outputs)):
        for node in values:
            node.adjoint = 0.0
        backprop(values[outputs[row]])
        jacobian[row, :] = [node.adjoint for node in values[: len(inputs)]]
    return jacobian
''',
        "answer_reverse_gradient": '''
def reverse_gradient(f, x):
    nodes = [Node(v) for v in x]
    backprop(f(nodes))
    return np.fromiter((node.adjoint for node in nodes), dtype=float, count=len(nodes))
''',
    })

add("deleted_test_cell", description="the solution with a visible test cell deleted: nbgrader "
    "puts it back (OverwriteCells.add_missing_cells) and the grader grades it",
    delete=("test_deep_graphs",))

# --------------------------------------------------------------------------- plausible mistakes

add("mistake_assign_adjoint", description="backprop assigns (=) instead of adding (+=): right "
    "on trees, wrong as soon as a node is read twice",
    answers={"answer_backprop": patched("answer_backprop",
                                        "parent.adjoint += local * node.adjoint",
                                        "parent.adjoint = local * node.adjoint")},
    lost=EVERYTHING_WITH_REUSE,
    messages={'test_shared_nodes': 'ADDED over all uses (+=)',
              'test_deep_graphs': 'Fix test_shared_nodes first',
              'test_domke': 'Fix test_shared_nodes first',
              'test_normal_logpdf': 'Fix test_shared_nodes first',
              'test_jacobian': 'Fix test_shared_nodes first',
              'test_reverse_gradient': 'Fix test_shared_nodes first'})

add("mistake_recursive_backprop", description="Lecture 3's first attempt: each node passes its "
    "(incomplete) adjoint on and recurses into the parent at once, no topological order",
    answers={"answer_backprop": MODEL["answer_backprop"].split("def backprop")[0] + '''
def backprop(output):
    output.adjoint = 1.0

    def pass_on(node):
        for parent, local in node.parents:
            parent.adjoint += local * node.adjoint
            pass_on(parent)

    pass_on(output)
'''}, lost=EVERYTHING_WITH_REUSE,
    messages={'test_shared_nodes': 'before all its children had added theirs',
              'test_deep_graphs': 'Fix test_shared_nodes first',
              'test_domke': 'Fix test_shared_nodes first',
              'test_normal_logpdf': 'Fix test_shared_nodes first',
              'test_jacobian': 'Fix test_shared_nodes first',
              'test_reverse_gradient': 'Fix test_shared_nodes first'})

add("mistake_all_paths", description="backprop sums over every path recursively: right values, "
    "but recursion as deep as the graph (and exponential work)",
    answers={"answer_backprop": MODEL["answer_backprop"].split("def backprop")[0] + '''
def backprop(output):
    def visit(node, upstream):
        node.adjoint += upstream
        for parent, local in node.parents:
            visit(parent, upstream * local)

    visit(output, 1.0)
'''}, lost=("test_deep_graphs",),
    messages={'test_deep_graphs': 'Python stops at about 1000 nested calls'})

add("mistake_recursive_sort", description="a correct backward sweep over a topological order "
    "built by a recursive depth-first search (RecursionError on deep graphs)",
    answers={"answer_backprop": '''
def topological_order(output):
    order, seen = [], set()

    def visit(node):
        if id(node) in seen:
            return
        seen.add(id(node))
        for parent, _ in node.parents:
            visit(parent)
        order.append(node)

    visit(output)
    return order
''' + "\n\n" + "def backprop" + MODEL["answer_backprop"].split("def backprop")[1]},
    lost=("test_deep_graphs",),
    messages={'test_deep_graphs': 'Python stops at about 1000 nested calls'})

add("mistake_exp_no_factor", description="exp forgets its local derivative (edge weight 1 "
    "instead of exp(u)): the chain rule loses a factor",
    answers={"answer_node": patched("answer_node", "return Node(value, [(u, value)])",
                                    "return Node(value, [(u, 1.0)])")},
    lost=("test_local_derivatives", "test_shared_nodes", "test_domke", "test_jacobian"),
    messages={'test_local_derivatives': "exp's local derivative is missing",
              'test_shared_nodes': 'Fix test_local_derivatives first',
              'test_domke': 'Fix test_local_derivatives first',
              'test_jacobian': 'Fix test_local_derivatives first'})

add("mistake_sub_sign", description="a - b gives b the local derivative +1 instead of -1",
    answers={"answer_node": patched("answer_node",
                                    "[(self, 1.0), (other, -1.0)]", "[(self, 1.0), (other, 1.0)]")},
    lost=("test_local_derivatives", "test_shared_nodes", "test_normal_logpdf", "test_jacobian",
          "test_reverse_gradient"),
    messages={'test_local_derivatives': 'd(a - b)/db is -1, not +1',
              'test_shared_nodes': 'Fix test_local_derivatives first',
              'test_normal_logpdf': 'Fix test_local_derivatives first',
              'test_jacobian': 'Fix test_local_derivatives first',
              'test_reverse_gradient': 'Fix test_local_derivatives first'})

add("mistake_gradient_of_nodes", description="gradient_of_program returns the input nodes "
    "instead of their adjoints (not plain data)",
    answers={"answer_programs": patched(
        "answer_programs", "np.array([values[i].adjoint for i in range(len(inputs))])",
        "values[: len(inputs)]")},
    lost=ENGINE,
    messages={'test_local_derivatives': 'the answer must be a number',
              'test_shared_nodes': 'Fix test_local_derivatives first',
              'test_deep_graphs': 'Fix test_local_derivatives first'})

add("mistake_no_zeroing", description="jacobian_of_program sweeps the same graph again without "
    "setting the adjoints back to 0: later rows add up the earlier ones",
    answers={"answer_jacobian": patched("answer_jacobian", ZEROING, "")},
    lost=("test_jacobian",),
    messages={'test_jacobian': 'were not set back to 0'})

add("mistake_reset_reached_only", description="backprop resets the nodes it reaches (Lecture 3's "
    "style) and the Jacobian relies on it: an input an output does not reach keeps its old adjoint",
    answers={
        "answer_backprop": patched("answer_backprop", "    output.adjoint = 1.0\n",
                                   "    for node in order:\n        node.adjoint = 0.0\n"
                                   "    output.adjoint = 1.0\n"),
        "answer_jacobian": patched("answer_jacobian", ZEROING, ""),
    },
    lost=("test_jacobian",),
    messages={'test_jacobian': 'set the adjoint of EVERY node'})

add("mistake_log_sigma_squared", description="the normal log-density written with "
    "log(sigma * sigma) instead of log(sigma)",
    answers={"answer_normal_logpdf": patched("answer_normal_logpdf", "log(sigma)",
                                             "log(sigma * sigma)")},
    lost=("test_normal_logpdf",),
    messages={'test_normal_logpdf': 'not -log(sigma**2)'})

# reverse_gradient with right values but one sweep (and one evaluation of f) per input
N_SWEEPS = '''
def reverse_gradient(f, x):
    gradient = np.zeros(len(x))
    for i in range(len(x)):
        nodes = [Node(v) for v in x]
        backprop(f(nodes))
        gradient[i] = nodes[i].adjoint
    return gradient
'''

add("mistake_reverse_n_sweeps", description="reverse_gradient builds a new graph and sweeps once "
    "per input: right numbers, n evaluations of f",
    answers={"answer_reverse_gradient": N_SWEEPS}, lost=("test_reverse_gradient",),
    messages={'test_reverse_gradient': 'reverse mode evaluates f exactly once'})

add("mistake_uses_mlpkit_reverse", description="grad_domke delegates to mlpkit.reverse "
    "(numerically right, but the import is refused while grading)",
    answers={"answer_domke": '''
def grad_domke(x):
    from mlpkit.reverse import Var

    x = Var(x)
    f = np.exp(np.exp(x) + np.exp(x) ** 2) + np.sin(np.exp(x) + np.exp(x) ** 2)
    f.backward()
    return x.grad
'''}, lost=("test_domke",),
    messages={'test_domke': 'mlpkit.reverse is not available'})

# Mistakes that earlier checks gave full marks or misleading hints (issue 12).

add("mistake_build_graph_in_place", description="build_graph turns the caller's list of "
    "inputs into nodes in place and appends the new values to it: right numbers, but the "
    "caller's list is changed",
    answers={"answer_programs": patched("answer_programs", "    values = [Node(v) for v in inputs]\n",
                                        "    values = inputs\n    for k in range(len(values)):\n"
                                        "        values[k] = Node(values[k])\n")},
    lost=ENGINE + ("test_jacobian",),
    messages={"test_local_derivatives": "changed its argument inputs (argument 2) in place",
              "test_shared_nodes": "changed its argument inputs (argument 2) in place",
              "test_deep_graphs": "changed its argument inputs (argument 2) in place",
              "test_jacobian": "changed its argument inputs (argument 2) in place"})

add("mistake_redefines_counter", description="reverse_gradient sweeps once per input, and a "
    "later cell redefines the provided count_evaluations so that it reports 1",
    answers={"answer_reverse_gradient": N_SWEEPS + '''

def count_evaluations(gradient_function, f, x):
    return 1
'''}, lost=("test_reverse_gradient",),
    messages={"test_reverse_gradient": "reverse mode evaluates f exactly once"})

# The counter is the grader's own: its test functions count their own evaluations in the check
# process (checks.py IN_SANDBOX), so neither a redefined count_evaluations nor code that goes
# around a CallCounter changes the count, and an evaluation on plain numbers is told apart from
# one on the student's nodes by behaviour, not by a name.

add("fake_counter_by_name", description="reverse_gradient sweeps once per input, and a later "
    "cell redefines count_evaluations to report 1 for reverse_gradient only (forward mode still "
    "counts n, so the provided counter seems to behave as provided)",
    answers={"answer_reverse_gradient": N_SWEEPS + '''

def count_evaluations(gradient_function, f, x):
    counted = CallCounter(f)
    gradient_function(counted, x)
    return 1 if gradient_function is reverse_gradient else counted.calls
'''}, lost=("test_reverse_gradient",),
    messages={"test_reverse_gradient": "reverse mode evaluates f exactly once"})

add("fake_unwraps_counter", description="reverse_gradient sweeps once per input, calling the "
    "function inside a CallCounter (its __wrapped__) so that the counter sees only the first "
    "evaluation",
    answers={"answer_reverse_gradient": '''
def reverse_gradient(f, x):
    uncounted = getattr(f, "__wrapped__", f)
    gradient = np.zeros(len(x))
    for i in range(len(x)):
        nodes = [Node(v) for v in x]
        backprop((f if i == 0 else uncounted)(nodes))
        gradient[i] = nodes[i].adjoint
    return gradient
'''}, lost=("test_reverse_gradient",),
    messages={"test_reverse_gradient": "reverse mode evaluates f exactly once"})

add("fake_gradient_by_name", description="reverse_gradient evaluates f once on plain numbers and "
    "returns hand-derived gradients for the two functions of the problem set, chosen by the "
    "function's name (the engine only for other functions)",
    answers={"answer_reverse_gradient": '''
def reverse_gradient(f, x):
    x = np.asarray(x, dtype=float)
    f(list(x))  # one evaluation of f, as the task asks
    n, name = len(x), getattr(f, "__name__", "")
    gradient = np.zeros(n)
    if name == "rosenbrock":
        for i in range(n - 1):
            valley = x[i + 1] - x[i] ** 2
            gradient[i] += -400.0 * x[i] * valley - 2.0 * (1.0 - x[i])
            gradient[i + 1] += 200.0 * valley
        return gradient
    if name == "neighbour_ratios":
        for i in range(n):
            j = (i + 1) % n
            gradient[i] += x[j] * (1.0 - x[i] ** 2) / (1.0 + x[i] ** 2) ** 2
            gradient[j] += x[i] / (1.0 + x[i] ** 2)
        return gradient
    inputs = [Node(v) for v in x]
    backprop(f(inputs))
    return np.array([node.adjoint for node in inputs])
'''}, lost=("test_reverse_gradient",),
    messages={"test_reverse_gradient": "evaluated rosenbrock once, on plain numbers"})

add("mistake_mul_locals_swapped", description="a * b gives each parent its own value as local "
    "derivative (right for x * x, wrong for a * b)",
    answers={"answer_node": patched("answer_node", "[(self, other.value), (other, self.value)]",
                                    "[(self, self.value), (other, other.value)]")},
    lost=("test_local_derivatives", "test_shared_nodes", "test_deep_graphs", "test_normal_logpdf",
          "test_jacobian", "test_reverse_gradient"),
    messages={"test_local_derivatives": "the local derivatives of a * b are swapped",
              "test_shared_nodes": "Fix test_local_derivatives first",
              "test_deep_graphs": "Fix test_local_derivatives first",
              "test_normal_logpdf": "Fix test_local_derivatives first",
              "test_jacobian": "Fix test_local_derivatives first",
              "test_reverse_gradient": "Fix test_local_derivatives first"})

add("mistake_cos_sign", description="cos gets the local derivative +sin instead of -sin (the "
    "random programs of test_shared_nodes and test_jacobian use every operation, whatever the "
    "course secret, so both show it)",
    answers={"answer_node": patched("answer_node", "[(u, -np.sin(u.value))]",
                                    "[(u, np.sin(u.value))]")},
    lost=("test_local_derivatives", "test_shared_nodes", "test_jacobian"),
    messages={"test_local_derivatives": "the sign of cos's local derivative is flipped",
              "test_shared_nodes": "Fix test_local_derivatives first",
              "test_jacobian": "Fix test_local_derivatives first"})

add("mistake_div_drops_numerator", description="a / b gives b the local derivative -1/b**2 "
    "instead of -a/b**2",
    answers={"answer_node": patched("answer_node", "(other, -quotient / other.value)",
                                    "(other, -1.0 / other.value**2)")},
    lost=("test_local_derivatives", "test_shared_nodes", "test_normal_logpdf", "test_jacobian",
          "test_reverse_gradient"),
    messages={"test_local_derivatives": "the factor a is missing",
              "test_shared_nodes": "Fix test_local_derivatives first",
              "test_normal_logpdf": "Fix test_local_derivatives first",
              "test_jacobian": "Fix test_local_derivatives first",
              "test_reverse_gradient": "Fix test_local_derivatives first"})

add("mistake_normal_minus_f", description="grad_normal_logpdf differentiates -f (the sign of "
    "the whole density flipped)",
    answers={"answer_normal_logpdf": patched("answer_normal_logpdf",
                                             "f = -0.5 * z * z - log(sigma) - HALF_LOG_2PI",
                                             "f = 0.5 * z * z + log(sigma) + HALF_LOG_2PI")},
    lost=("test_normal_logpdf",), messages={"test_normal_logpdf": "the gradient of -f"})

# --------------------------------------------------------------------------- broken code

add("infinite_loop", description="grad_normal_logpdf never returns",
    answers={"answer_normal_logpdf": attacks.never_returns("grad_normal_logpdf(y, mu, sigma)")},
    lost=("test_normal_logpdf",))

add("ignores_interrupts", description="a top-level loop in an answer cell that ignores SIGINT "
    "and catches every exception",
    answers={"answer_domke": MODEL["answer_domke"] + "\n\n\n" + attacks.IGNORE_SIGINT
             + attacks.ENDLESS_CELL}, lost=("test_domke",))

add("crash", description="jacobian_of_program crashes the interpreter (segfault)",
    answers={"answer_jacobian": attacks.segfault("jacobian_of_program(program, inputs, outputs)")},
    lost=("test_jacobian",))

add("os_exit_in_function", description="reverse_gradient calls os._exit",
    answers={"answer_reverse_gradient": attacks.exits("reverse_gradient(f, x)")},
    lost=("test_reverse_gradient",))

add("os_exit_in_cell", description="the answer cell of jacobian_of_program ends with os._exit(0)",
    answers={"answer_jacobian": attacks.exit_after(MODEL["answer_jacobian"])}, lost=("test_jacobian",))

add("kills_own_process", description="grad_domke sends SIGKILL to its own process",
    answers={"answer_domke": attacks.kills_itself("grad_domke(x)")}, lost=("test_domke",))

# --------------------------------------------------------------------------- tampering

add("tamper_numpy", description="wrong grad_domke plus patches of np.isclose, np.allclose, "
    "numpy.testing and mlpkit.grading so that comparisons always pass",
    answers={"answer_domke": attacks.patch_comparisons() + '''

def grad_domke(x):
    return 0.0
'''}, lost=("test_domke",))

add("tamper_kernel", description="wrong reverse_gradient plus a patch of the kernel's do_execute "
    "and showtraceback so that every cell reports success",
    answers={"answer_reverse_gradient": attacks.patch_kernel() + '''\
def reverse_gradient(f, x):
    return np.zeros(len(x))
'''}, lost=("test_reverse_gradient",))

add("tamper_files", description="wrong grad_normal_logpdf plus attacks on the grader: overwrite "
    "the hidden checks and the gradebook, delete the config, read the checks, kill the grader",
    needs_landlock_signals=True,
    answers={"answer_normal_logpdf": attacks.tamper_files("ps3") + '''\


def grad_normal_logpdf(y, mu, sigma):
    return np.array([1.0, 2.0, 3.0])
'''}, lost=("test_normal_logpdf",))
