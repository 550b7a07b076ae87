"""Pictures of graphs: DOT and SVG drawings, the backprop player, JSON export, gradient flow.

A room built on the engine: it reads graphs through the engine's public names and watches
the backward pass through ``compgraph.gradients``' observer, never re-running it.
"""
