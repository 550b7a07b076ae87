"""The lecture's computation graph J = 3(a + bc): values forward, derivatives back.

Run: python examples/computation_graph.py
"""

import compgraph as cg


def main() -> None:
    a, b, c = cg.Node(5.0, name="a"), cg.Node(3.0, name="b"), cg.Node(2.0, name="c")
    u = b * c  # u = bc
    v = a + u  # v = a + u
    J = 3 * v  # J = 3v
    J.backward()

    print(f"forward:   u = bc = {u.item():g},  v = a + u = {v.item():g},  J = 3v = {J.item():g}")
    print(f"backward:  dJ/dv = {v.grad.item():g},  dJ/du = {u.grad.item():g}")
    print(
        f"           dJ/da = {a.grad.item():g},  dJ/db = {b.grad.item():g},"
        f"  dJ/dc = {c.grad.item():g}"
    )


if __name__ == "__main__":
    main()
