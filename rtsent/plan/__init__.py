"""What to run: the profiles (model, data, grid, a recipe per method), sweeps, accuracy floors, and the
configuration of one case with the grid built from them (cases).

May import: rtsent.methods, rtsent.engine, rtsent.data, rtsent.schema.
"""
