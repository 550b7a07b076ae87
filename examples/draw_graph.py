"""Draw the lecture's graph J = 3(a + bc) with its values and gradients, as an SVG picture.

Run: python examples/draw_graph.py [output.svg]    (default: computation_graph.svg)
"""

import sys

import compgraph as cg


def main() -> None:
    path = sys.argv[1] if len(sys.argv) > 1 else "computation_graph.svg"
    a, b, c = cg.Node(5.0, name="a"), cg.Node(3.0, name="b"), cg.Node(2.0, name="c")
    u = b * c
    u.name = "u = bc"
    v = a + u
    v.name = "v = a + u"
    J = 3 * v
    J.name = "J = 3v"
    J.backward()  # so the picture shows dJ/d(every node) next to each value
    print(f"wrote {cg.render(J, path, title='J = 3(a + bc)')}")


if __name__ == "__main__":
    main()
