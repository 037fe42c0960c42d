"""Vectors and matrices: array expressions with numpy semantics, derived entry by entry.

``reader`` reads array expressions into explicit SymPy matrices, ``algebra`` holds the
operations, ``model`` lowers an array problem to the scalar problem every stage of
gradcheck already knows, ``grading`` grades array answers, ``explanation`` explains an
array problem with shapes, ``layers`` checks hand-written layer backward passes.
"""
