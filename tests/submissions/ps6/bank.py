"""PS6 submission bank: what each kind of submission must score, graded by real nbgrader runs.

Each submission is the RELEASED notebook with every answer cell filled with the model solution
(taken from solutions/ps6/ps6.ipynb), except the answer cells it replaces: so the bank follows
the problem set when it changes, and each entry states only its difference. Small mistakes are
written as a replacement of one line of the model answer (``patched``), which fails loudly if
the model answer no longer contains that line. ``lost`` names the autograded test cells that
must score 0; every other autograded cell must get full marks. ``messages`` maps a lost test
cell to a phrase its failure message must contain: the cause the check names (asserted by
tests/test_grading_pipeline.py through build.missing_phrases). ``{course_root}`` in a source is replaced by
the grading course's folder. Built by tests/submissions/build.py; graded by
tests/test_grading_pipeline.py.
"""

from __future__ import annotations


import attacks  # tests/submissions/attacks.py: attack code shared by every bank
from entry import Bank  # tests/submissions/entry.py: the bank and its entries, every problem set


BANK = Bank("ps6")
add = BANK.add
MODEL, patched = BANK.model, BANK.patched


def replaced_function(grade_id: str, name: str, new: str) -> str:
    """The model answer of ``grade_id`` with the top-level function ``name`` replaced by ``new``."""
    source = MODEL[grade_id]
    start = source.index(f"\ndef {name}(") + 1
    end = source.find("\n\n\n", start)
    return source[:start] + new.strip("\n") + ("" if end < 0 else source[end:])


MLP_AND_TRAIN = ("test_mlp_gradients", "test_training")

# --------------------------------------------------------------------------- correct styles

add("solution", description="the model solution: closures as VJPs, a dict of adjoints")

TABLE_ENGINE = '''
def as_tensor(x):
    return x if isinstance(x, Tensor) else Tensor(x)


FORWARD = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide,
    "matmul": np.matmul, "neg": np.negative, "exp": np.exp, "log": np.log, "tanh": np.tanh,
    "pow": lambda a, p: a**p,
    "sum": lambda a, axis, keepdims: np.sum(a, axis=axis, keepdims=keepdims),
    "mean": lambda a, axis, keepdims: np.mean(a, axis=axis, keepdims=keepdims),
    "reshape": lambda a, shape: np.reshape(a, shape),
    "transpose": lambda a, axes: np.transpose(a, axes),
    "index": lambda a, index: a[index],
}


def _restore_axes(g, a, axis, keepdims):
    if axis is None or keepdims:
        return g
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    for ax in sorted(k % a.ndim for k in axes):
        g = np.expand_dims(g, ax)
    return g


def _scatter(g, a, index):
    full = np.zeros_like(a)
    np.add.at(full, index, g)
    return (full,)


# one VJP rule per operation: (g, output, *input values, **options) -> a share per input
VJP = {
    "add": lambda g, out, a, b: (g, g),
    "sub": lambda g, out, a, b: (g, -g),
    "mul": lambda g, out, a, b: (g * b, g * a),
    "div": lambda g, out, a, b: (g / b, -g * out / b),
    "matmul": lambda g, out, a, b: (g @ b.T, a.T @ g),
    "neg": lambda g, out, a: (-g,),
    "exp": lambda g, out, a: (g * out,),
    "log": lambda g, out, a: (g / a,),
    "tanh": lambda g, out, a: (g * (1 - out**2),),
    "pow": lambda g, out, a, p: (g * p * a ** (p - 1),),
    "sum": lambda g, out, a, axis, keepdims: (
        np.broadcast_to(_restore_axes(g, a, axis, keepdims), a.shape),),
    "mean": lambda g, out, a, axis, keepdims: (
        np.broadcast_to(_restore_axes(g, a, axis, keepdims), a.shape) * (out.size / a.size),),
    "reshape": lambda g, out, a, shape: (np.reshape(g, a.shape),),
    "transpose": lambda g, out, a, axes: (
        np.transpose(g, None if axes is None else np.argsort(axes)),),
    "index": lambda g, out, a, index: _scatter(g, a, index),
}


class Tensor:
    def __init__(self, value, op=None, inputs=(), options=None):
        self.value = np.array(value, dtype=float)
        self.grad = np.zeros(self.value.shape)
        self.op, self.inputs, self.options = op, tuple(inputs), options or {}

    @property
    def shape(self):
        return self.value.shape

    def _apply(self, op, *others, **options):
        inputs = (self,) + tuple(as_tensor(o) for o in others)
        value = FORWARD[op](*(t.value for t in inputs), **options)
        return Tensor(value, op, inputs, options)

    def __add__(self, other): return self._apply("add", other)
    def __sub__(self, other): return self._apply("sub", other)
    def __mul__(self, other): return self._apply("mul", other)
    def __truediv__(self, other): return self._apply("div", other)
    def __matmul__(self, other): return self._apply("matmul", other)
    def __radd__(self, other): return as_tensor(other)._apply("add", self)
    def __rsub__(self, other): return as_tensor(other)._apply("sub", self)
    def __rmul__(self, other): return as_tensor(other)._apply("mul", self)
    def __rtruediv__(self, other): return as_tensor(other)._apply("div", self)
    def __neg__(self): return self._apply("neg")
    def __pow__(self, p): return self._apply("pow", p=p)
    def exp(self): return self._apply("exp")
    def log(self): return self._apply("log")
    def tanh(self): return self._apply("tanh")
    def sum(self, axis=None, keepdims=False): return self._apply("sum", axis=axis, keepdims=keepdims)
    def mean(self, axis=None, keepdims=False): return self._apply("mean", axis=axis, keepdims=keepdims)
    def reshape(self, shape): return self._apply("reshape", shape=shape)
    def transpose(self, axes=None): return self._apply("transpose", axes=axes)
    def __getitem__(self, index): return self._apply("index", index=index)

    @property
    def T(self):
        return self.transpose()

    def backward(self, seed=None):
        """Kahn's algorithm: a tensor is swept once every tensor that reads it has been."""
        waiting = children_counts(self)
        adjoints = {id(self): np.ones(self.shape) if seed is None else np.asarray(seed, float)}
        ready = [self]
        while ready:
            node = ready.pop()
            g = adjoints.pop(id(node))
            node.grad = node.grad + g
            if node.op is None:
                continue
            shares = VJP[node.op](g, node.value, *(t.value for t in node.inputs), **node.options)
            for parent, share in zip(node.inputs, shares):
                share = unbroadcast(share, parent.shape)
                adjoints[id(parent)] = adjoints[id(parent)] + share if id(parent) in adjoints else share
                waiting[id(parent)] -= 1
                if waiting[id(parent)] == 0:
                    ready.append(parent)


def children_counts(output):
    """id(tensor) -> the number of edges into it from tensors that output depends on."""
    counts, stack = {id(output): 0}, [output]
    while stack:
        node = stack.pop()
        for parent in node.inputs:
            if id(parent) not in counts:
                counts[id(parent)] = 0
                stack.append(parent)
            counts[id(parent)] += 1
    return counts


def topological_order(output):
    waiting, order, ready = children_counts(output), [], [output]
    while ready:
        node = ready.pop()
        order.append(node)
        for parent in node.inputs:
            waiting[id(parent)] -= 1
            if waiting[id(parent)] == 0:
                ready.append(parent)
    return order[::-1]
'''

add("alt_table_of_rules", description="correct, another style: a table of forward functions and "
    "a table of VJP rules keyed by operation name (HIPS autograd's defvjp), unbroadcast applied "
    "once in backward for every input, Kahn's algorithm, an unbroadcast written as loops",
    answers={
        "answer_unbroadcast": '''
def unbroadcast(grad, shape):
    grad = np.asarray(grad)
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for axis, length in enumerate(shape):
        if length == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return np.asarray(grad)
''',
        "answer_tensor": TABLE_ENGINE,
    })

SUBCLASS_ENGINE = '''
def as_tensor(x):
    return x if isinstance(x, Tensor) else Tensor(x)


class Tensor:
    """A leaf; every operation is a subclass with its own forward and vjp."""

    parents = ()

    def __init__(self, value):
        self.value = np.array(value, dtype=float)
        self.grad = np.zeros_like(self.value)

    @property
    def shape(self):
        return self.value.shape

    def vjp(self, g):
        return ()

    def __add__(self, other): return Add(self, as_tensor(other))
    def __radd__(self, other): return Add(as_tensor(other), self)
    def __sub__(self, other): return Sub(self, as_tensor(other))
    def __rsub__(self, other): return Sub(as_tensor(other), self)
    def __mul__(self, other): return Mul(self, as_tensor(other))
    def __rmul__(self, other): return Mul(as_tensor(other), self)
    def __truediv__(self, other): return Div(self, as_tensor(other))
    def __rtruediv__(self, other): return Div(as_tensor(other), self)
    def __matmul__(self, other): return MatMul(self, as_tensor(other))
    def __neg__(self): return Neg(self)
    def __pow__(self, p): return Pow(self, p=p)
    def exp(self): return Exp(self)
    def log(self): return Log(self)
    def tanh(self): return Tanh(self)
    def sum(self, axis=None, keepdims=False): return Sum(self, axis=axis, keepdims=keepdims)
    def mean(self, axis=None, keepdims=False):
        total = Sum(self, axis=axis, keepdims=keepdims)
        return total * (total.value.size / self.value.size)
    def reshape(self, shape): return Reshape(self, shape=shape)
    def transpose(self, axes=None): return Transpose(self, axes=axes)
    def __getitem__(self, index): return Index(self, index=index)

    @property
    def T(self):
        return Transpose(self, axes=None)

    def backward(self, seed=None):
        adjoint = {id(self): np.ones(self.shape) if seed is None else np.array(seed, dtype=float)}
        for node in reversed(topological_order(self)):
            g = adjoint.pop(id(node))
            node.grad += g
            for parent, share in zip(node.parents, node.vjp(g)):
                adjoint[id(parent)] = adjoint.get(id(parent), 0.0) + share


class Operation(Tensor):
    def __init__(self, *parents, **options):
        self.parents = parents
        for key, value in options.items():
            setattr(self, key, value)
        super().__init__(self.forward(*(p.value for p in parents)))


class Add(Operation):
    forward = staticmethod(np.add)
    def vjp(self, g):
        a, b = self.parents
        return unbroadcast(g, a.shape), unbroadcast(g, b.shape)


class Sub(Operation):
    forward = staticmethod(np.subtract)
    def vjp(self, g):
        a, b = self.parents
        return unbroadcast(g, a.shape), unbroadcast(-g, b.shape)


class Mul(Operation):
    forward = staticmethod(np.multiply)
    def vjp(self, g):
        a, b = self.parents
        return unbroadcast(g * b.value, a.shape), unbroadcast(g * a.value, b.shape)


class Div(Operation):
    forward = staticmethod(np.divide)
    def vjp(self, g):
        a, b = self.parents
        return (unbroadcast(g / b.value, a.shape),
                unbroadcast(-g * self.value / b.value, b.shape))


class MatMul(Operation):
    forward = staticmethod(np.matmul)
    def vjp(self, g):
        a, b = self.parents
        return g @ b.value.T, a.value.T @ g


class Neg(Operation):
    forward = staticmethod(np.negative)
    def vjp(self, g):
        return (-g,)


class Pow(Operation):
    def forward(self, a):
        return a**self.p
    def vjp(self, g):
        return (g * self.p * self.parents[0].value ** (self.p - 1),)


class Exp(Operation):
    forward = staticmethod(np.exp)
    def vjp(self, g):
        return (g * self.value,)


class Log(Operation):
    forward = staticmethod(np.log)
    def vjp(self, g):
        return (g / self.parents[0].value,)


class Tanh(Operation):
    forward = staticmethod(np.tanh)
    def vjp(self, g):
        return (g * (1 - self.value**2),)


class Sum(Operation):
    def forward(self, a):
        return a.sum(axis=self.axis, keepdims=self.keepdims)
    def vjp(self, g):
        shape = self.parents[0].shape
        if self.axis is not None and not self.keepdims:
            kept = list(shape)
            for ax in (self.axis,) if isinstance(self.axis, int) else self.axis:
                kept[ax] = 1
            g = np.reshape(g, kept)
        return (np.broadcast_to(g, shape) * 1.0,)


class Reshape(Operation):
    def forward(self, a):
        return a.reshape(self.shape_to)
    def __init__(self, parent, shape):
        self.shape_to = shape
        super().__init__(parent)
    def vjp(self, g):
        return (g.reshape(self.parents[0].shape),)


class Transpose(Operation):
    def forward(self, a):
        return np.transpose(a, self.axes)
    def vjp(self, g):
        if self.axes is None:
            return (np.transpose(g),)
        inverse = [0] * len(self.axes)
        for position, axis in enumerate(self.axes):
            inverse[axis] = position
        return (np.transpose(g, inverse),)


class Index(Operation):
    def forward(self, a):
        return a[self.index]
    def vjp(self, g):
        full = np.zeros(self.parents[0].shape)
        np.add.at(full, self.index, g)
        return (full,)


def topological_order(output):
    """Post-order with an explicit stack of (node, expanded?) pairs."""
    order, done, stack = [], set(), [(output, False)]
    while stack:
        node, expanded = stack.pop()
        if id(node) in done:
            continue
        if expanded:
            done.add(id(node))
            order.append(node)
            continue
        stack.append((node, True))
        for parent in node.parents:
            if id(parent) not in done:
                stack.append((parent, False))
    return order
'''

add("alt_subclasses", description="correct, another style: one subclass per operation with "
    "forward and vjp methods (minitorch's Function classes), a post-order with (node, expanded) "
    "pairs, an inverse permutation built by hand, an unbroadcast by reshaping sums",
    answers={
        "answer_unbroadcast": '''
def unbroadcast(grad, shape):
    grad = np.asarray(grad, dtype=float)
    padded = (1,) * (grad.ndim - len(shape)) + tuple(shape)
    axes = tuple(k for k, (n, m) in enumerate(zip(padded, grad.shape)) if n == 1 and m != 1)
    return grad.sum(axis=axes).reshape(shape) if axes else grad.reshape(shape)
''',
        "answer_tensor": SUBCLASS_ENGINE,
        "answer_dropout": '''
def dropout_forward(x, mask, p=0.5):
    return x * mask * (1 / (1 - p))


def dropout_backward(dout, mask, p=0.5):
    return dropout_forward(dout, mask, p)
''',
        "answer_batchnorm": '''
def batchnorm_forward(x, gamma, beta, eps=1e-5):
    centred = x - np.mean(x, axis=0)
    return gamma * centred / np.sqrt(np.mean(centred**2, axis=0) + eps) + beta


def batchnorm_backward(dout, x, gamma, eps=1e-5):
    """CS231n's staged version: through xhat, the variance and the mean, one step at a time."""
    n = x.shape[0]
    mu = x.sum(axis=0) / n
    centred = x - mu
    var = (centred**2).sum(axis=0) / n
    std = np.sqrt(var + eps)
    xhat = centred / std
    dxhat = dout * gamma
    dvar = np.sum(dxhat * centred, axis=0) * -0.5 * std**-3
    dmu = -np.sum(dxhat, axis=0) / std + dvar * np.mean(-2.0 * centred, axis=0)
    dx = dxhat / std + dvar * 2.0 * centred / n + dmu / n
    return dx, np.sum(dout * xhat, axis=0), np.sum(dout, axis=0)
''',
        "answer_softmax": '''
def softmax_cross_entropy(logits, labels):
    n = len(labels)
    z = logits - np.max(logits, axis=1, keepdims=True)
    log_sum = np.log(np.sum(np.exp(z), axis=1))
    probs = np.exp(z - log_sum[:, None])
    one_hot = np.zeros_like(logits)
    one_hot[np.arange(n), labels] = 1.0
    return np.mean(log_sum - z[np.arange(n), labels]), (probs - one_hot) / n
''',
    })

add("deleted_test_cell", description="the solution with two visible test cells deleted, one of "
    "them right after a locked helper cell: RestoreMissingCells puts both back and the grader "
    "grades them",
    delete=("test_graph", "test_elementwise"))

# --------------------------------------------------------------------------- plausible mistakes

add("mistake_no_unbroadcast", description="unbroadcast returns the adjoint unchanged: a broadcast "
    "operand gets a gradient shaped like the result",
    answers={"answer_unbroadcast": '''
def unbroadcast(grad, shape):
    return grad
'''},
    lost=("test_broadcasting", "test_graph") + MLP_AND_TRAIN,
    messages={"test_broadcasting": "summed back to its own shape (unbroadcast",
             "test_mlp_gradients": "gets broadcasting in +: (n, h) + (h,) wrong"})

add("mistake_unbroadcast_wrong_axes", description="unbroadcast sums the extra axes at the END "
    "instead of the leading ones (summing over the wrong axis)",
    answers={"answer_unbroadcast": patched("answer_unbroadcast", "grad.sum(axis=tuple(range(extra)))",
                                           "grad.sum(axis=tuple(range(-extra, 0)))")},
    lost=("test_broadcasting", "test_graph") + MLP_AND_TRAIN,
    messages={"test_broadcasting": "the error is raised inside your unbroadcast",
             "test_graph": "the error is raised inside your unbroadcast"})

add("mistake_sum_keepdims_ignored", description="the VJP of sum(axis) broadcasts g without putting "
    "the summed axes back (keepdims ignored): an error, or a transposed gradient when square",
    answers={"answer_tensor": patched(
        "answer_tensor",
        "            if axis is not None and not keepdims:  # put the summed axes back, with length 1\n"
        "                g = np.expand_dims(g, axis)\n", "")},
    lost=("test_reductions", "test_graph") + MLP_AND_TRAIN,
    messages={"test_reductions": "put them back with length 1",
             "test_graph": "sum(axis=1) wrong",
             "test_mlp_gradients": "gets sum(axis=1) wrong"})

add("mistake_mean_divides_by_size", description="mean divides by the total number of entries, "
    "whatever the axis",
    answers={"answer_tensor": patched("answer_tensor",
                                      "return total * (total.value.size / self.value.size)",
                                      "return total * (1.0 / self.value.size)")},
    lost=("test_reductions", "test_graph"),
    messages={"test_reductions": "the forward value is wrong",
             "test_graph": "mean(axis=1, keepdims=True) wrong"})

add("mistake_adjoint_overwritten", description="backward assigns a contribution to a parent's "
    "adjoint instead of adding it: a tensor read twice keeps only one share",
    answers={"answer_tensor": patched("answer_tensor",
                                      "adjoint[id(parent)] = adjoint[id(parent)] + share",
                                      "adjoint[id(parent)] = share")},
    lost=("test_shapes", "test_graph") + MLP_AND_TRAIN,
    messages={"test_graph": "must be the SUM of their contributions (+=)",
             "test_mlp_gradients": "gets a tensor read twice (gradients added) wrong"})

add("mistake_breadth_first_order", description="topological_order is a breadth-first search from "
    "the output: a tensor reached by a short path is swept before its other children",
    answers={"answer_tensor": replaced_function("answer_tensor", "topological_order", '''
def topological_order(output):
    """Breadth-first from the output, reversed (WRONG when paths have different lengths)."""
    order, seen, queue = [], {id(output)}, [output]
    while queue:
        node = queue.pop(0)
        order.append(node)
        for parent, _ in node.parents:
            if id(parent) not in seen:
                seen.add(id(parent))
                queue.append(parent)
    return order[::-1]
''')},
    lost=("test_graph",) + MLP_AND_TRAIN,
    messages={"test_graph": "reverse TOPOLOGICAL order",
             "test_mlp_gradients": "a graph whose paths have different lengths"})

add("mistake_recursive_sort", description="a recursive depth-first topological sort: right, until "
    "the graph is deeper than Python's recursion limit",
    answers={"answer_tensor": replaced_function("answer_tensor", "topological_order", '''
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
''')},
    lost=("test_graph",),
    messages={"test_graph": "Use a loop with an explicit stack"})

add("mistake_fancy_index_plus_equals", description="the VJP of indexing uses full[index] += g, "
    "which adds only once at a repeated index",
    answers={"answer_tensor": patched(
        "answer_tensor", "np.add.at(full, index, g)  # a repeated index adds every one of its shares",
        "full[index] += g")},
    lost=("test_indexing",),
    messages={"test_indexing": "use np.add.at(full, index, g)"})

add("mistake_grad_as_sweep_adjoint", description="micrograd's backward: .grad is the sweep's "
    "accumulator and the output's .grad is set to the seed, so a second backward() re-sends the "
    "intermediate tensors' old .grad and does not double the gradients",
    answers={"answer_tensor": patched("answer_tensor", '''        adjoint = {id(self): seed}
        for node in reversed(topological_order(self)):
            g = adjoint.pop(id(node))
            node.grad = node.grad + g
            for parent, vjp in node.parents:
                share = vjp(g)
                if id(parent) in adjoint:
                    adjoint[id(parent)] = adjoint[id(parent)] + share
                else:
                    adjoint[id(parent)] = share''', '''        self.grad = seed
        for node in reversed(topological_order(self)):
            for parent, vjp in node.parents:
                parent.grad = parent.grad + vjp(node.grad)''')},
    lost=("test_graph",),
    messages={"test_graph": "after 2 calls every .grad is 2 times the gradient"})

add("mistake_no_zero_grad", description="train never sets .grad back to zeros: each step uses the "
    "sum of all earlier gradients",
    answers={"answer_train": patched(
        "answer_train",
        "        for w in weights.values():\n"
        "            w.grad = np.zeros_like(w.value)  # backward() adds: start every step from zero\n",
        "")},
    lost=("test_training",),
    messages={"test_training": "set every parameter's .grad to zeros before each step"})

add("mistake_tanh_of_input", description="the VJP of tanh uses 1 - a**2 with the INPUT a instead "
    "of 1 - tanh(a)**2",
    answers={"answer_tensor": patched("answer_tensor",
                                      "return Tensor(t, [(self, lambda g: g * (1.0 - t * t))])",
                                      "return Tensor(t, [(self, lambda g: g * (1.0 - self.value**2))])")},
    lost=("test_elementwise", "test_graph") + MLP_AND_TRAIN,
    messages={"test_elementwise": "d tanh(a) = g * (1 - tanh(a)**2)",
             "test_mlp_gradients": "gets tanh wrong"})

add("mistake_div_denominator", description="the VJP of a / b for b forgets the factor a: -g / b**2",
    answers={"answer_tensor": patched("answer_tensor", "unbroadcast(-g * a / (b * b), b.shape)",
                                      "unbroadcast(-g / (b * b), b.shape)")},
    lost=("test_elementwise", "test_broadcasting"),
    messages={"test_elementwise": "-g * a / b**2 for b"})

add("mistake_matmul_not_transposed", description="the VJP of A @ B uses g @ B and g.T @ A (shapes "
    "only work for square matrices)",
    answers={"answer_tensor": patched("answer_tensor",
                                      "[(self, lambda g: g @ b.T), (other, lambda g: a.T @ g)]",
                                      "[(self, lambda g: g @ b), (other, lambda g: a @ g)]")},
    lost=("test_shapes",) + MLP_AND_TRAIN,
    messages={"test_shapes": "g @ B.T for A, A.T @ g for B",
             "test_mlp_gradients": "gets matmul (A @ B) wrong"})

add("mistake_transpose_same_axes", description="the VJP of transpose(axes) transposes g by the "
    "same axes instead of the inverse permutation (right only when the permutation is its own "
    "inverse)",
    answers={"answer_tensor": patched("answer_tensor",
                                      "inverse = None if axes is None else tuple(np.argsort(axes))",
                                      "inverse = axes")},
    lost=("test_shapes",),
    messages={"test_shapes": "inverse permutation"})

add("mistake_batchnorm_no_mean_term", description="batchnorm_backward leaves out the path through "
    "the batch mean (the mean term)",
    answers={"answer_batchnorm": patched(
        "answer_batchnorm",
        "dx = inv_std * (dxhat - dxhat.mean(axis=0) - xhat * (dxhat * xhat).mean(axis=0))",
        "dx = inv_std * (dxhat - xhat * (dxhat * xhat).mean(axis=0))")},
    lost=("test_batchnorm",),
    messages={"test_batchnorm": "the mean term is missing"})

add("mistake_batchnorm_unbiased", description="batchnorm_forward uses the unbiased variance "
    "(ddof=1) of np.var",
    answers={"answer_batchnorm": patched("answer_batchnorm", "var = ((x - mu) ** 2).mean(axis=0)",
                                         "var = x.var(axis=0, ddof=1)")},
    lost=("test_batchnorm",),
    messages={"test_batchnorm": "the unbiased variance (1/(N-1))"})

add("mistake_dropout_not_rescaled", description="dropout keeps the masked entries without "
    "dividing by 1 - p",
    answers={"answer_dropout": '''
def dropout_forward(x, mask, p=0.5):
    return np.where(mask, x, 0.0)


def dropout_backward(dout, mask, p=0.5):
    return np.where(mask, dout, 0.0)
'''},
    lost=("test_dropout",),
    messages={"test_dropout": "not rescaled"})

add("mistake_dropout_backward_over_p", description="dropout_backward divides by p instead of "
    "1 - p (right at the default p = 0.5 only)",
    answers={"answer_dropout": patched("answer_dropout",
                                       "return np.where(mask, dout, 0.0) / (1.0 - p)",
                                       "return np.where(mask, dout, 0.0) / p")},
    lost=("test_dropout",),
    messages={"test_dropout": "scaled by 1/p instead of 1/(1 - p)"})

add("mistake_softmax_no_shift", description="softmax_cross_entropy exponentiates the logits "
    "without subtracting each row's maximum: overflow at logits near 1000",
    answers={"answer_softmax": patched("answer_softmax",
                                       "shifted = logits - logits.max(axis=1, keepdims=True)",
                                       "shifted = logits")},
    lost=("test_softmax_cross_entropy",),
    messages={"test_softmax_cross_entropy": "subtract each row's maximum"})

add("mistake_softmax_not_averaged", description="dlogits is softmax - one_hot, not divided by N",
    answers={"answer_softmax": patched("answer_softmax", "return float(loss), dlogits / n",
                                       "return float(loss), dlogits")},
    lost=("test_softmax_cross_entropy",),
    messages={"test_softmax_cross_entropy": "yours is N times too large"})

add("mistake_uses_mlpkit_reverse", description="mlp_loss_and_gradients delegates to "
    "mlpkit.reverse (numerically right, but the import is refused while grading)",
    answers={"answer_mlp": replaced_function("answer_mlp", "mlp_loss_and_gradients", '''
def mlp_loss_and_gradients(params, X, y):
    from mlpkit.reverse import gradient

    grads = {name: gradient(lambda w: mlp_loss_numpy({**params, name: w}, X, y), params[name])
             for name in PARAM_NAMES}
    return float(mlp_loss_numpy(params, X, y)), grads
''')},
    lost=("test_mlp_gradients",),
    messages={"test_mlp_gradients": "mlpkit.reverse is not available"})

# --------------------------------------------------------------------------- broken code

add("infinite_loop", description="softmax_cross_entropy never returns",
    answers={"answer_softmax": '''
def softmax_cross_entropy(logits, labels):
    while True:
        pass
'''}, lost=("test_softmax_cross_entropy",),
    messages={"test_softmax_cross_entropy": "did not finish within"})

add("ignores_interrupts", description="a top-level loop in an answer cell that ignores SIGINT "
    "and catches every exception",
    answers={"answer_dropout": MODEL["answer_dropout"] + '''


import signal
import time

signal.signal(signal.SIGINT, signal.SIG_IGN)
while True:
    try:
        time.sleep(0.05)
    except BaseException:
        pass
'''}, lost=("test_dropout",))

add("crash", description="batchnorm_backward crashes the interpreter (segfault)",
    answers={"answer_batchnorm": replaced_function("answer_batchnorm", "batchnorm_backward", '''
def batchnorm_backward(dout, x, gamma, eps=1e-5):
    import ctypes
    return ctypes.string_at(0)
''')}, lost=("test_batchnorm",))

add("os_exit_in_function", description="train calls os._exit",
    answers={"answer_train": '''
def train(params, X, y, steps=20, lr=0.5):
    import os
    os._exit(1)
'''}, lost=("test_training",))

add("os_exit_in_cell", description="the answer cell of softmax_cross_entropy ends with os._exit(0)",
    answers={"answer_softmax": MODEL["answer_softmax"] + '''


import os

os._exit(0)
'''}, lost=("test_softmax_cross_entropy",))

add("kills_own_process", description="dropout_forward sends SIGKILL to its own process",
    answers={"answer_dropout": '''
def dropout_forward(x, mask, p=0.5):
    import os
    import signal
    os.kill(os.getpid(), signal.SIGKILL)


def dropout_backward(dout, mask, p=0.5):
    return np.where(mask, dout, 0.0) / (1.0 - p)
'''}, lost=("test_dropout",))

# --------------------------------------------------------------------------- tampering

add("tamper_numpy", description="wrong softmax_cross_entropy plus patches of np.isclose, "
    "np.allclose, numpy.testing and mlpkit.grading so that comparisons always pass",
    answers={"answer_softmax": attacks.patch_comparisons() + '''

def softmax_cross_entropy(logits, labels):
    return 0.0, np.zeros_like(logits)
'''}, lost=("test_softmax_cross_entropy",))

add("tamper_kernel", description="wrong dropout plus a patch of the kernel's do_execute and "
    "showtraceback so that every cell reports success",
    answers={"answer_dropout": attacks.patch_kernel() + '''\
def dropout_forward(x, mask, p=0.5):
    return x


def dropout_backward(dout, mask, p=0.5):
    return dout
'''}, lost=("test_dropout",))

add("tamper_files", description="wrong batchnorm plus attacks on the grader: overwrite the hidden "
    "checks and the gradebook, delete the config, read the checks, kill the grader",
    needs_landlock_signals=True,
    answers={"answer_batchnorm": attacks.tamper_files("ps6") + '''\


def batchnorm_forward(x, gamma, beta, eps=1e-5):
    return x


def batchnorm_backward(dout, x, gamma, eps=1e-5):
    return dout, gamma, gamma
'''}, lost=("test_batchnorm",))
